//! Encryption at rest for customers' AWS secret keys, with Fernet.
//!
//! `CREDENTIALS_ENCRYPTION_KEY` holds one or more keys separated by commas. The first encrypts;
//! every one of them decrypts, so a new key can be put in front while old tokens still open.
//! An entry that is a Fernet key (32 bytes, URL-safe base64) is used as it is. Any other entry
//! is taken as a passphrase of at least [`MIN_PASSPHRASE_CHARS`] characters and stretched into
//! a key with Argon2id (m = 19456 KiB, t = 2, p = 1, salt [`PASSPHRASE_SALT`], 32 bytes out),
//! which Python's `argon2-cffi` reproduces with `hash_secret_raw`. Tokens are standard Fernet
//! and open with Python's `cryptography.fernet`.

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use secrecy::{ExposeSecret, SecretString};

/// The shortest passphrase accepted in place of a Fernet key.
pub const MIN_PASSPHRASE_CHARS: usize = 32;

/// The fixed salt of the passphrase KDF. It is public by design: its job is to make the derived
/// key Trailport's own, while the passphrase's length makes guessing it hopeless.
pub const PASSPHRASE_SALT: &[u8] = b"trailport/credentials-encryption/v1";

/// Holds the Fernet keys; prints as the number of keys only.
pub struct Vault {
    fernet: fernet::MultiFernet,
    primary: fernet::Fernet,
    key_count: usize,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Vault {{ keys: {} }}", self.key_count)
    }
}

/// A stored token that no configured key opens.
#[derive(Debug, thiserror::Error)]
#[error("the stored secret cannot be decrypted with any configured key")]
pub struct UndecryptableSecret;

impl Vault {
    /// Builds the vault from the setting's text; the error says what is wrong, never the value.
    pub fn from_setting(setting: &str) -> Result<Self, String> {
        let keys = setting
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .enumerate()
            .map(|(index, entry)| {
                key_from_entry(entry).map_err(|e| format!("entry {}: {e}", index + 1))
            })
            .collect::<Result<Vec<_>, _>>()?;

        let primary = keys.first().ok_or("must hold at least one key")?;
        let primary = fernet::Fernet::new(primary).ok_or("could not build a key")?;
        let fernets = keys
            .iter()
            .map(|k| fernet::Fernet::new(k).ok_or("could not build a key"))
            .collect::<Result<Vec<_>, _>>()?;

        Ok(Self {
            key_count: fernets.len(),
            fernet: fernet::MultiFernet::new(fernets),
            primary,
        })
    }

    /// Encrypts `secret` under the first key.
    pub fn encrypt(&self, secret: &SecretString) -> String {
        self.primary.encrypt(secret.expose_secret().as_bytes())
    }

    /// Decrypts a token made under any configured key.
    pub fn decrypt(&self, token: &str) -> Result<SecretString, UndecryptableSecret> {
        let bytes = self
            .fernet
            .decrypt(token)
            .map_err(|_| UndecryptableSecret)?;
        let text = String::from_utf8(bytes).map_err(|_| UndecryptableSecret)?;
        Ok(SecretString::from(text))
    }

    /// Whether `token` was made under the first key, so rotation can skip it.
    pub fn is_under_primary(&self, token: &str) -> bool {
        self.primary.decrypt(token).is_ok()
    }

    /// How many keys are configured.
    pub fn key_count(&self) -> usize {
        self.key_count
    }
}

/// Turns one entry of the setting into a Fernet key string.
fn key_from_entry(entry: &str) -> Result<String, String> {
    if fernet::Fernet::new(entry).is_some() {
        return Ok(entry.to_owned());
    }

    if entry.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(format!(
            "is neither a Fernet key nor a passphrase of at least {MIN_PASSPHRASE_CHARS} characters"
        ));
    }

    Ok(URL_SAFE.encode(stretch_passphrase(entry)?))
}

/// Derives a 32-byte key from a passphrase with the documented Argon2id parameters.
fn stretch_passphrase(passphrase: &str) -> Result<[u8; 32], String> {
    let params = Params::new(19_456, 2, 1, Some(32)).map_err(|e| e.to_string())?;
    let mut key = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), PASSPHRASE_SALT, &mut key)
        .map_err(|e| e.to_string())?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
    const KEY_B: &str = "7Gd6V8wq8H6g1C3kq2Zx0S8m3h9vYt1KzH3yRb1M2no=";

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn a_secret_survives_a_round_trip() {
        let vault = Vault::from_setting(KEY_A).expect("valid key");
        let token = vault.encrypt(&secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
        assert!(!token.contains("wJalrXUtnFEMI"));
        let back = vault.decrypt(&token).expect("decrypts");
        assert_eq!(
            back.expose_secret(),
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        );
    }

    #[test]
    fn old_tokens_still_open_after_a_new_key_is_put_first() {
        let old = Vault::from_setting(KEY_A).expect("valid key");
        let token = old.encrypt(&secret("stored under the old key"));

        let rotated = Vault::from_setting(&format!("{KEY_B},{KEY_A}")).expect("valid keys");
        assert_eq!(rotated.key_count(), 2);
        assert_eq!(
            rotated.decrypt(&token).expect("decrypts").expose_secret(),
            "stored under the old key"
        );

        let fresh = rotated.encrypt(&secret("new"));
        assert!(old.decrypt(&fresh).is_err(), "new tokens use the first key");
    }

    #[test]
    fn a_passphrase_is_stretched_into_a_stable_key() {
        let phrase = "correct horse battery staple but much longer";
        let first = Vault::from_setting(phrase).expect("valid passphrase");
        let second = Vault::from_setting(phrase).expect("valid passphrase");
        let token = first.encrypt(&secret("s"));
        assert_eq!(
            second.decrypt(&token).expect("same key").expose_secret(),
            "s"
        );
    }

    #[test]
    fn a_short_passphrase_is_refused_without_quoting_it() {
        let err = Vault::from_setting("hunter2hunter2").expect_err("refused");
        assert!(!err.contains("hunter2"));
        assert!(Vault::from_setting(" , ").is_err());
    }

    #[test]
    fn a_foreign_token_is_an_error_not_a_panic() {
        let vault = Vault::from_setting(KEY_A).expect("valid key");
        assert!(vault.decrypt("not-a-token").is_err());
        let other = Vault::from_setting(KEY_B).expect("valid key");
        assert!(vault.decrypt(&other.encrypt(&secret("x"))).is_err());
    }
}
