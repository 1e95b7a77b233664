//! The API's one error type and its mapping to a status, a stable code and a JSON body.
//!
//! Client errors explain themselves. Server errors keep their cause for the log and show the
//! client only a code and a fixed sentence.

use std::borrow::Cow;
use std::error::Error as StdError;

use lambda_http::http::StatusCode;

type Cause = Box<dyn StdError + Send + Sync>;

/// An outcome other than success, as the client will see it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: Cow<'static, str>,
    retry_after: Option<u64>,
    allow: Option<&'static str>,
    field: Option<&'static str>,
    cause: Option<Cause>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            allow: None,
            field: None,
            cause: None,
        }
    }

    /// 400: the request is malformed or a value is unacceptable.
    pub fn bad_request(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: not signed in, or the login was wrong.
    pub fn unauthorized(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    /// 401 `not_signed_in`: no usable session.
    pub fn not_signed_in() -> Self {
        Self::unauthorized(
            "not_signed_in",
            "Sign in first: this needs a valid session.",
        )
    }

    /// 403: refused, by Trailport's own rules or by AWS.
    pub fn forbidden(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 404: the thing named does not exist (for this user).
    pub fn not_found(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 405, with the method that is allowed.
    pub fn method_not_allowed(allowed: &'static str) -> Self {
        let mut err = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("This endpoint only accepts {allowed}."),
        );
        err.allow = Some(allowed);
        err
    }

    /// 409: the request conflicts with what exists.
    pub fn conflict(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 413: the body is over the limit.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("The request body is larger than {limit} bytes."),
        )
    }

    /// 415: a state-changing request that is not JSON.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as JSON with Content-Type: application/json.",
        )
    }

    /// 429, telling the client when to try again.
    pub fn too_many_attempts(retry_after: u64) -> Self {
        let mut err = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!(
                "Too many failed sign-ins for this account. Try again in {retry_after} seconds."
            ),
        );
        err.retry_after = Some(retry_after);
        err
    }

    /// 502: AWS answered with something unexpected.
    pub fn bad_gateway(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, code, message)
    }

    /// 503: a dependency could not be reached.
    pub fn unavailable(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// 504: a dependency did not answer in time.
    pub fn timeout(code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT, code, message)
    }

    /// 500: a fault of ours. The cause is logged; the client sees only the code.
    pub fn internal(cause: impl Into<Cause>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Something went wrong on our side. It has been logged.",
        )
        .with_cause(cause)
    }

    /// Keeps the underlying error for the log line.
    pub fn with_cause(mut self, cause: impl Into<Cause>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// Names the query parameter at fault, so that a client can point at it.
    pub fn for_field(mut self, field: &'static str) -> Self {
        self.field = Some(field);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The sentence for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Seconds for `Retry-After`, when there is one.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The request field or query parameter at fault, if one is.
    pub fn field(&self) -> Option<&'static str> {
        self.field
    }

    /// The method for `Allow`, on a 405.
    pub fn allow(&self) -> Option<&'static str> {
        self.allow
    }

    /// The cause chain as one line, for the server's log.
    pub fn cause_chain(&self) -> Option<String> {
        let mut current: Option<&(dyn StdError + 'static)> = match &self.cause {
            Some(cause) => Some(cause.as_ref()),
            None => return None,
        };
        let mut parts = Vec::new();
        while let Some(err) = current {
            parts.push(err.to_string());
            current = err.source();
        }
        Some(parts.join(": "))
    }

    /// The JSON body: `{"error": {"code", "message"}}`, with `field` when one is at fault.
    pub fn body(&self) -> serde_json::Value {
        let mut error = serde_json::json!({ "code": self.code, "message": self.message });
        if let Some(field) = self.field {
            error["field"] = field.into();
        }
        serde_json::json!({ "error": error })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_error_hides_its_cause_from_the_body_but_keeps_it_for_the_log() {
        let err = ApiError::internal("table trailport: connection refused");
        let body = err.body().to_string();
        assert!(!body.contains("connection refused"));
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            err.cause_chain().as_deref(),
            Some("table trailport: connection refused")
        );
    }

    #[test]
    fn the_body_has_the_documented_shape() {
        let err = ApiError::bad_request("invalid_email", "Enter an email address.");
        assert_eq!(
            err.body(),
            serde_json::json!({"error": {
                "code": "invalid_email",
                "message": "Enter an email address."
            }})
        );
    }

    #[test]
    fn a_field_at_fault_is_named_in_the_body() {
        let err =
            ApiError::bad_request("invalid_filter", "limit must be 1 to 200.").for_field("limit");
        assert_eq!(err.body()["error"]["field"], "limit");
    }

    #[test]
    fn throttling_carries_retry_after() {
        let err = ApiError::too_many_attempts(42);
        assert_eq!(err.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(err.retry_after(), Some(42));
    }
}
