//! What a function builds once at cold start and lends to every request.

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};
use lambda_http::Request;
use secrecy::ExposeSecret;

use crate::aws_access::{CustomerAws, timeout_config};
use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, Settings};
use crate::error::ApiError;
use crate::http::cookie;
use crate::session::{REFRESH_INTERVAL_SECONDS, SessionSigner, cookie_name, session_expired};
use crate::store::Store;

/// The settings, clients and keys shared by every request a function serves.
pub struct App {
    /// The settings read at cold start.
    pub settings: Settings,
    /// Trailport's table.
    pub store: Store,
    /// Clients for customers' accounts.
    pub aws: CustomerAws,
    /// Signs and checks session tokens.
    pub signer: SessionSigner,
    /// The time source.
    pub clock: Arc<dyn Clock>,
}

/// A request's signed-in user.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The user's email.
    pub email: String,
    /// The session's id.
    pub session_id: String,
}

impl App {
    /// Reads the settings and builds the SDK clients; the error names the setting at fault.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings = Settings::from_env()?;
        let sdk = load_sdk_config().await;
        Self::new(settings, &sdk, Arc::new(SystemClock))
    }

    /// Builds the app from parts, as tests do.
    pub fn new(
        settings: Settings,
        sdk: &SdkConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let signer =
            SessionSigner::new(settings.secret_key.expose_secret()).map_err(|_| ConfigError {
                name: "SECRET_KEY",
                problem: "cannot be used as an HS256 key".to_owned(),
            })?;
        Ok(Self {
            store: Store::new(
                aws_sdk_dynamodb::Client::new(sdk),
                settings.table_name.clone(),
            ),
            aws: CustomerAws::new(sdk),
            signer,
            clock,
            settings,
        })
    }

    /// The current time in epoch seconds.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The signed-in user, or 401. The token must verify and its session must still be stored,
    /// within both the idle and the absolute timeout. The idle clock is written at most once a
    /// minute.
    pub async fn authenticate(&self, req: &Request) -> Result<SignedIn, ApiError> {
        let token = cookie(req, cookie_name(&self.settings)).ok_or_else(ApiError::not_signed_in)?;
        let now = self.now();
        let claims = self.signer.verify(&token, now)?;

        let record = self
            .store
            .session(&claims.jti)
            .await?
            .ok_or_else(ApiError::not_signed_in)?;
        if record.email != claims.sub {
            return Err(ApiError::not_signed_in());
        }

        let idle_limit = i64::try_from(self.settings.session_idle_seconds).unwrap_or(i64::MAX);
        if now >= record.expires_at || now - record.last_seen >= idle_limit {
            self.store.delete_session(&claims.jti).await?;
            return Err(session_expired());
        }
        if now - record.last_seen >= REFRESH_INTERVAL_SECONDS {
            self.store.touch_session(&claims.jti, now).await?;
        }

        tracing::Span::current().record("user", claims.sub.as_str());
        Ok(SignedIn {
            email: claims.sub,
            session_id: claims.jti,
        })
    }
}

/// The SDK configuration every function uses: the standard provider chain (which honours
/// `AWS_ENDPOINT_URL_*` for local runs) plus Trailport's timeouts.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeout_config())
        .load()
        .await
}
