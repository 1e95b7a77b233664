//! The session cookie: an HS256 JWT naming the user and a random session id.
//!
//! The token alone never proves a session: its id must also have a live record in the table,
//! which logout deletes. Times are checked here against the service's [`Clock`](crate::clock)
//! rather than inside `jsonwebtoken`, so tests can move time forward.

use cookie::time::Duration;
use cookie::{Cookie, SameSite};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::config::{AppEnv, Settings};
use crate::error::ApiError;

/// The `iss` claim of every session token.
pub const ISSUER: &str = "trailport";
/// The `aud` claim of every session token.
pub const AUDIENCE: &str = "trailport-api";
/// The cookie's name in production; `__Host-` makes browsers insist on Secure, Path=/ and no
/// Domain.
pub const COOKIE_NAME: &str = "__Host-trailport_session";
/// The cookie's name in development, where plain HTTP rules out the `__Host-` prefix.
pub const DEV_COOKIE_NAME: &str = "trailport_session";
/// A session's idle clock is written at most this often, in seconds.
pub const REFRESH_INTERVAL_SECONDS: i64 = 60;
/// How far in the future an `iat` may be before the token is refused, for clock skew.
const ALLOWED_SKEW_SECONDS: i64 = 60;

/// The claims of a session token. Every field is required and typed, so a token with a claim
/// missing or of the wrong type does not decode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user's email.
    pub sub: String,
    /// The session id, which names the session's record.
    pub jti: String,
    /// Always [`ISSUER`].
    pub iss: String,
    /// Always [`AUDIENCE`].
    pub aud: String,
    /// Issued at, in epoch seconds.
    pub iat: i64,
    /// Expires at, in epoch seconds.
    pub exp: i64,
    /// Not before, in epoch seconds; Trailport does not set it but honours it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// Signs and checks session tokens with the one configured key.
pub struct SessionSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for SessionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionSigner { .. }")
    }
}

impl SessionSigner {
    /// Builds a signer; the key's length was already checked with the settings.
    pub fn new(secret: &[u8]) -> Result<Self, jsonwebtoken::errors::Error> {
        // Only HS256, and only tokens for this service; times are checked in `verify`.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;

        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
        })
    }

    /// Issues a token for `email`'s session `jti`, valid for `ttl` seconds from `now`.
    pub fn issue(&self, email: &str, jti: &str, now: i64, ttl: i64) -> Result<String, ApiError> {
        let claims = Claims {
            sub: email.to_owned(),
            jti: jti.to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + ttl,
            nbf: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// Checks signature, algorithm, issuer, audience and times; any failure is a 401.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, ApiError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| ApiError::not_signed_in())?
            .claims;

        let live = claims.exp > now
            && claims.nbf.is_none_or(|nbf| nbf <= now)
            && claims.iat <= now + ALLOWED_SKEW_SECONDS;
        if live {
            Ok(claims)
        } else {
            Err(session_expired())
        }
    }
}

/// The 401 for a session that timed out or passed its lifetime.
pub fn session_expired() -> ApiError {
    ApiError::unauthorized("session_expired", "Your session has ended. Sign in again.")
}

/// A new random id of 128 bits, as 32 hex digits.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The cookie's name under these settings.
pub fn cookie_name(settings: &Settings) -> &'static str {
    match settings.env {
        AppEnv::Production => COOKIE_NAME,
        AppEnv::Development => DEV_COOKIE_NAME,
    }
}

fn base_cookie(settings: &Settings, value: String) -> cookie::CookieBuilder<'static> {
    Cookie::build((cookie_name(settings), value))
        .http_only(true)
        .secure(settings.env == AppEnv::Production)
        .same_site(SameSite::Lax)
        .path("/")
}

/// The `Set-Cookie` value that starts a session.
pub fn set_cookie(settings: &Settings, token: String) -> String {
    let max_age = i64::try_from(settings.session_ttl_seconds).unwrap_or(i64::MAX);
    base_cookie(settings, token)
        .max_age(Duration::seconds(max_age))
        .build()
        .to_string()
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(settings: &Settings) -> String {
    base_cookie(settings, String::new())
        .max_age(Duration::ZERO)
        .build()
        .to_string()
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: i64 = 1_800_000_000;

    fn signer() -> SessionSigner {
        SessionSigner::new(KEY).expect("signer")
    }

    fn token_with(header: serde_json::Value, claims: serde_json::Value, key: &[u8]) -> String {
        let head = URL_SAFE_NO_PAD.encode(header.to_string());
        let body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let alg =
            serde_json::from_value::<Algorithm>(header["alg"].clone()).unwrap_or(Algorithm::HS256);
        let signature = jsonwebtoken::crypto::sign(
            format!("{head}.{body}").as_bytes(),
            &EncodingKey::from_secret(key).expect("key"),
            alg,
        )
        .expect("signs");
        format!("{head}.{body}.{signature}")
    }

    fn good_claims() -> serde_json::Value {
        json!({"sub": "a@example.com", "jti": "abc", "iss": ISSUER, "aud": AUDIENCE,
               "iat": NOW, "exp": NOW + 3600})
    }

    #[test]
    fn an_issued_token_verifies_until_it_expires() {
        let token = signer()
            .issue("a@example.com", "abc", NOW, 3600)
            .expect("issues");
        let claims = signer().verify(&token, NOW + 10).expect("valid");
        assert_eq!(
            (claims.sub.as_str(), claims.jti.as_str()),
            ("a@example.com", "abc")
        );
        assert_eq!(
            signer()
                .verify(&token, NOW + 3600)
                .expect_err("expired")
                .code(),
            "session_expired"
        );
    }

    #[test]
    fn a_hand_made_token_like_ours_verifies() {
        // Guards the helper below: the rejections that follow are about the claims, not it.
        let token = token_with(json!({"alg": "HS256", "typ": "JWT"}), good_claims(), KEY);
        assert!(signer().verify(&token, NOW).is_ok());
    }

    #[test]
    fn tampered_or_foreign_tokens_are_401() {
        let hs = json!({"alg": "HS256", "typ": "JWT"});
        let mut cases = vec![
            (
                "another key",
                token_with(
                    hs.clone(),
                    good_claims(),
                    b"another-key-another-key-another-k",
                ),
            ),
            (
                "HS512",
                token_with(json!({"alg": "HS512"}), good_claims(), KEY),
            ),
        ];
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string()),
            URL_SAFE_NO_PAD.encode(good_claims().to_string())
        );
        cases.push(("alg none", none_alg));
        for (claim, value) in [
            ("aud", json!("someone-else")),
            ("iss", json!("evil")),
            ("exp", json!((NOW + 3600).to_string())),
            ("nbf", json!(NOW.to_string())),
        ] {
            let mut claims = good_claims();
            claims[claim] = value;
            cases.push((claim, token_with(hs.clone(), claims, KEY)));
        }
        for missing in ["exp", "sub", "jti", "aud", "iss", "iat"] {
            let mut claims = good_claims();
            claims.as_object_mut().expect("object").remove(missing);
            cases.push((missing, token_with(hs.clone(), claims, KEY)));
        }

        for (what, token) in cases {
            let err = signer().verify(&token, NOW).expect_err(what);
            assert_eq!(err.status().as_u16(), 401, "{what}");
        }
    }

    #[test]
    fn a_future_nbf_or_iat_is_refused() {
        let hs = json!({"alg": "HS256"});
        let mut claims = good_claims();
        claims["nbf"] = json!(NOW + 100);
        assert!(
            signer()
                .verify(&token_with(hs.clone(), claims, KEY), NOW)
                .is_err()
        );
        let mut claims = good_claims();
        claims["iat"] = json!(NOW + 3000);
        assert!(signer().verify(&token_with(hs, claims, KEY), NOW).is_err());
    }

    #[test]
    fn session_ids_are_128_random_bits() {
        let (a, b) = (random_id(), random_id());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
