//! Reading requests and writing responses: JSON bodies, cookies and the cross-site rules.
//!
//! API Gateway delivers the same request in two shapes (HTTP API payload 2.0 and REST API 1.0);
//! `lambda_http` turns both into one `http::Request`, so nothing here depends on the shape.

use lambda_http::http::StatusCode;
use lambda_http::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, COOKIE, HeaderName, HeaderValue, ORIGIN, RETRY_AFTER,
};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::Settings;
use crate::error::ApiError;

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");
const NOSNIFF: HeaderName = HeaderName::from_static("x-content-type-options");

/// Refuses any method but `expected` (`"GET"` or `"POST"`) with 405.
pub fn require_method(req: &Request, expected: &'static str) -> Result<(), ApiError> {
    if req.method().as_str() == expected {
        Ok(())
    } else {
        Err(ApiError::method_not_allowed(expected))
    }
}

/// Applies the cross-site rules to every request: a browser's `Sec-Fetch-Site: cross-site` is
/// refused, and an `Origin`, when sent, must be one of the allowed origins.
pub fn check_cross_site(req: &Request, settings: &Settings) -> Result<(), ApiError> {
    let refused = || {
        ApiError::forbidden(
            "cross_site_request",
            "Requests from other sites are refused. Use Trailport from an allowed origin.",
        )
    };

    // Every copy of the header counts: a proxy may pass on more than one.
    if req
        .headers()
        .get_all(SEC_FETCH_SITE)
        .iter()
        .any(|site| site.as_bytes().eq_ignore_ascii_case(b"cross-site"))
    {
        return Err(refused());
    }

    for origin in req.headers().get_all(ORIGIN) {
        let origin = origin
            .to_str()
            .map_err(|_| refused())?
            .trim()
            .to_ascii_lowercase();
        if !settings.allowed_origins.contains(&origin) {
            return Err(refused());
        }
    }

    Ok(())
}

/// Whether the request declares a JSON body: `application/json`, with no charset or UTF-8 (the
/// only encoding JSON allows between systems, RFC 8259).
fn is_json(req: &Request) -> bool {
    // Two content types are one too many to guess between.
    let mut types = req.headers().get_all(CONTENT_TYPE).iter();
    let (Some(value), None) = (types.next().and_then(|v| v.to_str().ok()), types.next()) else {
        return false;
    };
    let mut parts = value.split(';').map(str::trim);
    let essence_ok = parts
        .next()
        .is_some_and(|e| e.eq_ignore_ascii_case("application/json"));
    let charset_ok = parts
        .filter_map(|p| p.split_once('='))
        .all(|(name, charset)| {
            !name.trim().eq_ignore_ascii_case("charset")
                || charset
                    .trim()
                    .trim_matches('"')
                    .eq_ignore_ascii_case("utf-8")
        });
    essence_ok && charset_ok
}

/// The raw body bytes, whichever way API Gateway encoded them.
fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        // `Body` may grow variants; an unknown one is treated as no body.
        #[allow(unreachable_patterns)]
        _ => &[],
    }
}

/// Reads a state-changing request's JSON object body, enforcing type, size and shape.
///
/// `empty_ok` lets a body-less request through as `{}` (for logout), still requiring the JSON
/// content type, which a cross-site form cannot send without a preflight.
pub fn json_body(req: &Request, empty_ok: bool) -> Result<JsonObject, ApiError> {
    if !is_json(req) {
        return Err(ApiError::unsupported_media_type());
    }

    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
    }

    if bytes.iter().all(u8::is_ascii_whitespace) {
        if empty_ok {
            return Ok(JsonObject(Map::new()));
        }
        return Err(ApiError::bad_request(
            "invalid_json",
            "The request body is empty; send a JSON object.",
        ));
    }

    // serde_json's messages can quote the input, which may be a password: say only where.
    serde_json::from_slice::<UniqueKeys>(bytes)
        .map(|keys| JsonObject(keys.0))
        .map_err(|e| {
            use serde_json::error::Category;
            match e.classify() {
                Category::Data if e.to_string().starts_with(DUPLICATE_KEY) => {
                    ApiError::bad_request("invalid_json", "The body names a field more than once.")
                }
                Category::Data => {
                    ApiError::bad_request("invalid_request", "The body must be a JSON object.")
                }
                _ => ApiError::bad_request(
                    "invalid_json",
                    format!(
                        "The body is not valid JSON (line {}, column {}).",
                        e.line(),
                        e.column()
                    ),
                ),
            }
        })
}

const DUPLICATE_KEY: &str = "duplicate key";

/// A JSON object whose keys are all different. serde_json keeps the last of repeated keys;
/// refusing them instead means no proxy or log that reads the first one sees other values.
struct UniqueKeys(Map<String, Value>);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;

        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = UniqueKeys;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<UniqueKeys, A::Error> {
                let mut object = Map::new();
                while let Some(key) = map.next_key::<String>()? {
                    if object.contains_key(&key) {
                        return Err(serde::de::Error::custom(DUPLICATE_KEY));
                    }
                    let value = map.next_value::<Value>()?;
                    object.insert(key, value);
                }
                Ok(UniqueKeys(object))
            }
        }

        deserializer.deserialize_map(Keys)
    }
}

/// A parsed JSON object body whose fields are taken one by one, with clear errors.
#[derive(Debug)]
pub struct JsonObject(Map<String, Value>);

impl JsonObject {
    /// Refuses any field not in `allowed`, naming the first one found.
    pub fn allow_only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|key| !allowed.contains(&key.as_str())) {
            None => Ok(()),
            Some(_) if allowed.is_empty() => Err(ApiError::bad_request(
                "unknown_field",
                "This endpoint takes no fields: send an empty body or {}.",
            )),
            Some(unknown) => {
                let shown: String = unknown.chars().take(40).collect();
                Err(ApiError::bad_request(
                    "unknown_field",
                    format!(
                        "Unknown field {shown:?}. Allowed fields: {}.",
                        allowed.join(", ")
                    ),
                ))
            }
        }
    }

    /// Takes an optional string field; `null` counts as absent.
    pub fn optional_string(&mut self, name: &str) -> Result<Option<String>, ApiError> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(ApiError::bad_request(
                "invalid_request",
                format!("The field {name:?} must be a string."),
            )),
        }
    }

    /// Takes a required string field.
    pub fn required_string(&mut self, name: &str) -> Result<String, ApiError> {
        self.optional_string(name)?.ok_or_else(|| {
            ApiError::bad_request(
                "invalid_request",
                format!("The field {name:?} is required."),
            )
        })
    }
}

/// The value of the cookie `name`, from however many `Cookie` headers the request has.
pub fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The caller's address as API Gateway saw it; never from `X-Forwarded-For`, which anyone sets.
pub fn client_address(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx.http.source_ip.clone(),
        RequestContext::ApiGatewayV1(ctx) => ctx.identity.source_ip.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// A JSON response with the headers every API response carries.
pub fn json_response(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
    with_common_headers(Response::builder().status(status))
        .header(CONTENT_TYPE, "application/json")
        .body(Body::Text(body))
        .unwrap_or_else(|_| fallback_response())
}

/// A 204 with no body.
pub fn no_content() -> Response<Body> {
    with_common_headers(Response::builder().status(StatusCode::NO_CONTENT))
        .body(Body::Empty)
        .unwrap_or_else(|_| fallback_response())
}

/// The response for an error, with `Retry-After` or `Allow` where they apply.
pub fn error_response(err: &ApiError) -> Response<Body> {
    let mut response = json_response(err.status(), &err.body());
    let headers = response.headers_mut();
    if let Some(seconds) = err.retry_after() {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    if let Some(allow) = err.allow() {
        headers.insert(
            lambda_http::http::header::ALLOW,
            HeaderValue::from_static(allow),
        );
    }
    response
}

fn with_common_headers(
    builder: lambda_http::http::response::Builder,
) -> lambda_http::http::response::Builder {
    // Responses carry session state and account data: no cache may keep them.
    builder
        .header(CACHE_CONTROL, "no-store")
        .header(NOSNIFF, "nosniff")
}

fn fallback_response() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}
