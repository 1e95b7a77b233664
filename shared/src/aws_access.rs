//! Reaching customers' AWS accounts: checking keys and roles, and building S3 clients from a
//! stored connection.
//!
//! A stored secret key leaves encrypted storage only to become an SDK credentials provider for
//! one request. Every client carries connect and operation timeouts, so a customer endpoint that
//! hangs costs a clear 504, well inside the function's own timeout.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use secrecy::{ExposeSecret, SecretString};

use crate::error::ApiError;
use crate::store::Connection;
use crate::vault::Vault;

/// How long to wait for a TCP and TLS connection to AWS.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long one attempt of one call may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one call may take, retries included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// The role session name Trailport uses; it shows in the customer's CloudTrail, so it names the
/// service and nothing about the user.
pub const ROLE_SESSION_NAME: &str = "trailport";

/// `DurationSeconds` of every assumed-role session: the shortest AWS allows.
const ROLE_SESSION_SECONDS: i32 = 900;

/// The region for calls that are not tied to a bucket's region.
const DEFAULT_REGION: &str = "us-east-1";

/// The timeouts every Trailport SDK client uses.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The principal behind a pair of access keys.
#[derive(Debug, Clone)]
pub struct CallerIdentity {
    /// The 12-digit account id.
    pub account_id: String,
    /// The principal's ARN.
    pub arn: String,
}

/// Which call failed, so an AWS refusal can be told to the user in terms of what they did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Checking newly submitted keys.
    CheckKeys,
    /// Assuming the user's role.
    AssumeRole,
    /// Using a stored connection (listing or reading buckets).
    UseConnection,
}

/// Turns an SDK failure into the API's error. The Rust SDK cannot always read an error body
/// (moto's STS errors, for one), so a missing code falls back to the HTTP status.
pub fn aws_error<E>(err: SdkError<E, HttpResponse>, step: Step) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().unwrap_or_default().to_owned();
    let detail = aws_sdk_sts::error::DisplayErrorContext(&err).to_string();

    match &err {
        SdkError::TimeoutError(_) => {
            return ApiError::timeout("aws_timeout", "AWS did not answer in time. Try again.")
                .with_cause(detail);
        }
        SdkError::DispatchFailure(failure) => {
            return if failure.is_timeout() {
                ApiError::timeout("aws_timeout", "AWS did not answer in time. Try again.")
                    .with_cause(detail)
            } else {
                ApiError::unavailable(
                    "aws_unreachable",
                    "AWS could not be reached. Try again shortly.",
                )
                .with_cause(detail)
            };
        }
        SdkError::ServiceError(_) => {}
        _ => {
            return ApiError::bad_gateway(
                "aws_error",
                "AWS gave an answer Trailport could not read.",
            )
            .with_cause(detail);
        }
    }

    let bad_key = matches!(
        code.as_str(),
        "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "InvalidAccessKeyId"
            | "UnrecognizedClientException"
    );
    let denied = matches!(code.as_str(), "AccessDenied" | "AccessDeniedException")
        || (code.is_empty() && matches!(status, Some(401 | 403)));
    let server_side = status.is_some_and(|s| s >= 500);

    match step {
        _ if server_side => {
            ApiError::bad_gateway("aws_error", "AWS failed to answer the request. Try again.")
                .with_cause(detail)
        }
        Step::CheckKeys if bad_key || denied => ApiError::bad_request(
            "aws_credentials_invalid",
            "AWS did not accept these keys. Check the access key id and secret, and that the key \
                is active.",
        )
        .with_cause(detail),
        Step::AssumeRole if bad_key || denied => ApiError::forbidden(
            "role_not_assumable",
            "Trailport could not assume this role. Its trust policy must name Trailport's \
             principal and require your external id.",
        )
        .with_cause(detail),
        Step::UseConnection if bad_key => ApiError::forbidden(
            "aws_credentials_revoked",
            "AWS no longer accepts the stored credentials. Connect your account again.",
        )
        .with_cause(detail),
        Step::UseConnection if denied => ApiError::forbidden(
            "aws_access_denied",
            "AWS denied Trailport this action. Check the permissions of the connected identity.",
        )
        .with_cause(detail),
        _ => ApiError::bad_gateway("aws_error", "AWS refused the request unexpectedly.")
            .with_cause(detail),
    }
}

/// Builds clients that act in customers' accounts.
#[derive(Clone, Debug)]
pub struct CustomerAws {
    base: SdkConfig,
    sts: aws_sdk_sts::Client,
}

impl CustomerAws {
    /// Uses `base` (endpoints, HTTP client, timeouts) for every client; Trailport's own identity
    /// from `base` assumes roles.
    pub fn new(base: &SdkConfig) -> Self {
        Self::with_service_sts(base, aws_sdk_sts::Client::new(base))
    }

    /// Like [`CustomerAws::new`], with the STS client that acts as Trailport itself given, so
    /// tests can observe which calls Trailport makes under its own identity.
    pub fn with_service_sts(base: &SdkConfig, sts: aws_sdk_sts::Client) -> Self {
        Self {
            base: base.clone(),
            sts,
        }
    }

    /// Asks STS who owns these keys; refused keys are a 400 `aws_credentials_invalid`.
    pub async fn check_keys(
        &self,
        access_key_id: &str,
        secret: &SecretString,
    ) -> Result<CallerIdentity, ApiError> {
        let credentials = static_credentials(access_key_id, secret);
        let config = aws_sdk_sts::config::Builder::from(&self.base)
            .credentials_provider(credentials)
            .region(self.region())
            .build();
        let output = aws_sdk_sts::Client::from_conf(config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| aws_error(e, Step::CheckKeys))?;

        match (output.account, output.arn) {
            (Some(account_id), Some(arn)) => Ok(CallerIdentity { account_id, arn }),
            _ => Err(ApiError::bad_gateway(
                "aws_error",
                "AWS did not say whose keys these are.",
            )),
        }
    }

    /// Assumes `role_arn`, with `external_id` or without one.
    async fn assume(
        &self,
        role_arn: &str,
        external_id: Option<&str>,
    ) -> Result<Credentials, ApiError> {
        let output = self
            .sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(ROLE_SESSION_NAME)
            .duration_seconds(ROLE_SESSION_SECONDS)
            .set_external_id(external_id.map(str::to_owned))
            .send()
            .await
            .map_err(|e| aws_error(e, Step::AssumeRole))?;

        let creds = output.credentials.ok_or_else(|| {
            ApiError::bad_gateway("aws_error", "AWS returned no credentials for the role.")
        })?;
        Ok(Credentials::new(
            creds.access_key_id,
            creds.secret_access_key,
            Some(creds.session_token),
            None,
            "trailport-assumed-role",
        ))
    }

    /// Checks that the role can be assumed with the user's external id, and only with it: a
    /// role that can be assumed without an external id, or with any other one (a trust policy
    /// with `StringLike sts:ExternalId "*"`, say), does not protect against the confused
    /// deputy problem.
    /// The session it returns acts as the role, for what the connection is checked for next.
    pub async fn check_role(
        &self,
        role_arn: &str,
        external_id: &str,
    ) -> Result<CustomerSession, ApiError> {
        let credentials = self.assume(role_arn, Some(external_id)).await?;

        let someone_elses = crate::session::random_id();
        for probe in [None, Some(someone_elses.as_str())] {
            match self.assume(role_arn, probe).await {
                Ok(_) => {
                    return Err(ApiError::bad_request(
                        "role_trust_too_broad",
                        "This role can be assumed without your external id, or with another one. \
                         Require exactly your external id (StringEquals sts:ExternalId) in its \
                         trust policy, then try again.",
                    ));
                }
                Err(err) if err.code() == "role_not_assumable" => {}
                Err(err) => return Err(err),
            }
        }
        Ok(self.session_with(credentials))
    }

    /// Credentials for acting through the stored connection for one request: the stored key,
    /// decrypted, or the role, assumed once with the user's external id.
    pub async fn session(
        &self,
        connection: &Connection,
        vault: &Vault,
        external_id: &str,
    ) -> Result<CustomerSession, ApiError> {
        let credentials = match connection {
            Connection::AccessKey {
                access_key_id,
                secret_key_token,
                ..
            } => {
                let secret = vault
                    .decrypt(secret_key_token)
                    .map_err(ApiError::internal)?;
                static_credentials(access_key_id, &secret)
            }
            Connection::Role { role_arn, .. } => self
                .assume(role_arn, Some(external_id))
                .await
                .map_err(|e| {
                    if e.code() == "role_not_assumable" {
                        role_revoked()
                    } else {
                        e
                    }
                })?,
        };
        Ok(self.session_with(credentials))
    }

    /// A session for keys that were just checked, before they are stored.
    pub fn session_for_keys(&self, access_key_id: &str, secret: &SecretString) -> CustomerSession {
        self.session_with(static_credentials(access_key_id, secret))
    }

    fn session_with(&self, credentials: Credentials) -> CustomerSession {
        CustomerSession {
            base: self.base.clone(),
            credentials,
            default_region: self.region(),
        }
    }

    fn region(&self) -> Region {
        self.base
            .region()
            .cloned()
            .unwrap_or_else(|| Region::new(DEFAULT_REGION))
    }
}

/// Acting in a customer's account for one request, with credentials obtained once: clients for
/// any region share them, so a role is assumed once however many regions are reached.
#[derive(Clone, Debug)]
pub struct CustomerSession {
    base: SdkConfig,
    credentials: Credentials,
    default_region: Region,
}

impl CustomerSession {
    /// An S3 client in `region`, or in the default region for calls not tied to a bucket.
    pub fn s3(&self, region: Option<&str>) -> aws_sdk_s3::Client {
        let region = self.region_or_default(region);
        let config = aws_sdk_s3::config::Builder::from(&self.base)
            .credentials_provider(self.credentials.clone())
            .region(region)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// A CloudTrail client in `region`, or in the default region.
    pub fn cloudtrail(&self, region: Option<&str>) -> aws_sdk_cloudtrail::Client {
        let region = self.region_or_default(region);
        let config = aws_sdk_cloudtrail::config::Builder::from(&self.base)
            .credentials_provider(self.credentials.clone())
            .region(region)
            .build();
        aws_sdk_cloudtrail::Client::from_conf(config)
    }

    fn region_or_default(&self, region: Option<&str>) -> Region {
        region.map_or_else(
            || self.default_region.clone(),
            |r| Region::new(r.to_owned()),
        )
    }

    /// The region of calls that are not tied to a bucket.
    pub fn default_region(&self) -> &str {
        self.default_region.as_ref()
    }
}

fn role_revoked() -> ApiError {
    ApiError::forbidden(
        "aws_credentials_revoked",
        "Trailport can no longer assume the connected role. Check its trust policy, or connect \
            again.",
    )
}

fn static_credentials(access_key_id: &str, secret: &SecretString) -> Credentials {
    Credentials::new(
        access_key_id,
        secret.expose_secret(),
        None,
        None,
        "trailport-stored-key",
    )
}
