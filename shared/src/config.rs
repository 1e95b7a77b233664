//! Settings read from the environment once, at cold start.
//!
//! A function refuses to start when a required setting is missing or weak: serving requests
//! with a default signing key would be worse than not serving at all. Errors name the setting,
//! never its value.

use std::fmt;

use secrecy::SecretSlice;

use crate::vault::Vault;

/// The shortest `SECRET_KEY` accepted, in bytes (HS256 wants a key at least as long as its hash).
pub const MIN_SECRET_KEY_BYTES: usize = 32;

/// Which kind of deployment this is; only development may relax cookie rules for plain HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    /// Behind API Gateway over HTTPS. The default.
    Production,
    /// A local run over plain `http://127.0.0.1`.
    Development,
}

/// Everything a function needs to know about its deployment.
pub struct Settings {
    /// Production or development.
    pub env: AppEnv,
    /// The HS256 key that signs session tokens.
    pub secret_key: SecretSlice<u8>,
    /// Encrypts and decrypts stored AWS secret keys.
    pub vault: Vault,
    /// The DynamoDB table that holds users, sessions and throttles.
    pub table_name: String,
    /// Whether a role ARN alone may be used as a connection.
    pub allow_role_arn: bool,
    /// Absolute session lifetime in seconds.
    pub session_ttl_seconds: u64,
    /// Seconds without a request after which a session ends.
    pub session_idle_seconds: u64,
    /// Origins allowed to send requests that carry an `Origin` header.
    pub allowed_origins: Vec<String>,
    /// The principal that customers' roles must trust, shown to users.
    pub service_principal_arn: Option<String>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The keys are left out on purpose; `SecretSlice` would redact them anyway.
        f.debug_struct("Settings")
            .field("env", &self.env)
            .field("table_name", &self.table_name)
            .field("allow_role_arn", &self.allow_role_arn)
            .field("session_ttl_seconds", &self.session_ttl_seconds)
            .field("session_idle_seconds", &self.session_idle_seconds)
            .field("allowed_origins", &self.allowed_origins)
            .field("service_principal_arn", &self.service_principal_arn)
            .finish_non_exhaustive()
    }
}

/// A setting that is missing or unusable. Its text never contains the setting's value.
#[derive(Debug, thiserror::Error)]
#[error("setting {name} {problem}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub name: &'static str,
    /// What is wrong with it, in words that do not quote it.
    pub problem: String,
}

impl ConfigError {
    fn new(name: &'static str, problem: impl Into<String>) -> Self {
        Self {
            name,
            problem: problem.into(),
        }
    }
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests can supply them without touching the
    /// process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };

        let env = match get("APP_ENV").as_deref() {
            None | Some("production") => AppEnv::Production,
            Some("development") => AppEnv::Development,
            Some(_) => {
                return Err(ConfigError::new(
                    "APP_ENV",
                    "must be production or development",
                ));
            }
        };

        let secret_key =
            get("SECRET_KEY").ok_or_else(|| ConfigError::new("SECRET_KEY", "is required"))?;
        if secret_key.len() < MIN_SECRET_KEY_BYTES {
            return Err(ConfigError::new(
                "SECRET_KEY",
                format!("must be at least {MIN_SECRET_KEY_BYTES} bytes"),
            ));
        }

        let vault = get("CREDENTIALS_ENCRYPTION_KEY")
            .ok_or_else(|| ConfigError::new("CREDENTIALS_ENCRYPTION_KEY", "is required"))
            .and_then(|keys| {
                Vault::from_setting(&keys)
                    .map_err(|problem| ConfigError::new("CREDENTIALS_ENCRYPTION_KEY", problem))
            })?;

        let table_name =
            get("TABLE_NAME").ok_or_else(|| ConfigError::new("TABLE_NAME", "is required"))?;

        let allow_role_arn = match get("ALLOW_ROLE_ARN").as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(_) => return Err(ConfigError::new("ALLOW_ROLE_ARN", "must be true or false")),
        };

        let session_ttl_seconds = seconds(&get, "SESSION_TTL_SECONDS", 43_200)?;
        let session_idle_seconds = seconds(&get, "SESSION_IDLE_SECONDS", 1_800)?;

        let allowed_origins = match get("ALLOWED_ORIGINS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(|o| {
                    parse_origin(o).ok_or_else(|| {
                        ConfigError::new(
                            "ALLOWED_ORIGINS",
                            "must list origins such as https://app.example.com, with no path",
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };

        let service_principal_arn = get("SERVICE_PRINCIPAL_ARN");
        if allow_role_arn && service_principal_arn.is_none() {
            return Err(ConfigError::new(
                "SERVICE_PRINCIPAL_ARN",
                "is required while ALLOW_ROLE_ARN is true: users need it for their trust policy",
            ));
        }

        Ok(Self {
            env,
            secret_key: SecretSlice::from(secret_key.into_bytes()),
            vault,
            table_name,
            allow_role_arn,
            session_ttl_seconds,
            session_idle_seconds,
            allowed_origins,
            service_principal_arn,
        })
    }
}

fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|s| (60..=31 * 86_400).contains(s))
            .ok_or_else(|| {
                ConfigError::new(name, "must be a whole number of seconds, 60 to 2678400")
            }),
    }
}

/// Normalises `scheme://host[:port]` to lower case, or refuses anything else.
fn parse_origin(origin: &str) -> Option<String> {
    let lower = origin.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))?;
    let valid = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    valid.then_some(lower)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const FERNET_KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut env: HashMap<&str, &str> = HashMap::from([
            ("SECRET_KEY", "0123456789abcdef0123456789abcdef"),
            ("CREDENTIALS_ENCRYPTION_KEY", FERNET_KEY),
            ("TABLE_NAME", "trailport"),
            (
                "SERVICE_PRINCIPAL_ARN",
                "arn:aws:iam::111122223333:role/trailport",
            ),
        ]);
        for (k, v) in pairs {
            env.insert(k, v);
        }
        Settings::from_lookup(|name| env.get(name).map(|v| v.to_string()))
    }

    #[test]
    fn defaults_follow_the_design() {
        let s = settings(&[]).expect("valid settings");
        assert_eq!(s.env, AppEnv::Production);
        assert!(s.allow_role_arn);
        assert_eq!(s.session_ttl_seconds, 43_200);
        assert_eq!(s.session_idle_seconds, 1_800);
        assert!(s.allowed_origins.is_empty());
    }

    #[test]
    fn a_short_secret_key_stops_the_function_without_quoting_it() {
        let err = settings(&[("SECRET_KEY", "too-short-but-secret")]).expect_err("refused");
        assert_eq!(err.name, "SECRET_KEY");
        assert!(!err.to_string().contains("too-short-but-secret"));
    }

    #[test]
    fn missing_required_settings_are_named() {
        for name in ["SECRET_KEY", "CREDENTIALS_ENCRYPTION_KEY", "TABLE_NAME"] {
            let err = settings(&[(name, "  ")]).expect_err("refused");
            assert_eq!(err.name, name);
        }
    }

    #[test]
    fn roles_need_a_service_principal_only_when_enabled() {
        let err = settings(&[("SERVICE_PRINCIPAL_ARN", "")]).expect_err("refused");
        assert_eq!(err.name, "SERVICE_PRINCIPAL_ARN");
        let s = settings(&[("SERVICE_PRINCIPAL_ARN", ""), ("ALLOW_ROLE_ARN", "false")]);
        assert!(!s.expect("valid").allow_role_arn);
    }

    #[test]
    fn unknown_words_are_refused_rather_than_guessed() {
        assert_eq!(
            settings(&[("APP_ENV", "dev")]).expect_err("refused").name,
            "APP_ENV"
        );
        assert_eq!(
            settings(&[("ALLOW_ROLE_ARN", "yes")])
                .expect_err("refused")
                .name,
            "ALLOW_ROLE_ARN"
        );
        let err = settings(&[("SESSION_IDLE_SECONDS", "ten")]).expect_err("refused");
        assert_eq!(err.name, "SESSION_IDLE_SECONDS");
    }

    #[test]
    fn origins_are_normalised_and_paths_refused() {
        let s = settings(&[(
            "ALLOWED_ORIGINS",
            "https://App.example.com, http://127.0.0.1:9000",
        )]);
        assert_eq!(
            s.expect("valid").allowed_origins,
            ["https://app.example.com", "http://127.0.0.1:9000"]
        );
        let err = settings(&[("ALLOWED_ORIGINS", "https://app.example.com/path")]);
        assert_eq!(err.expect_err("refused").name, "ALLOWED_ORIGINS");
    }
}
