//! Password rules and Argon2id hashing.
//!
//! A password is the only factor, so the rules favour length over composition: 15 to 128
//! characters of anything, minus the common ones and ones built from the email address or the
//! product's name. Length is counted on the NFC form (what a person sees as characters); the
//! other rules and the hash use the NFKC form, so the same characters typed on two keyboards
//! give the same hash.
//!
//! Hashing is deliberately slow and so runs on the blocking pool, off the async executor.

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, Version};
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock, PoisonError};

use unicode_normalization::UnicodeNormalization;

use crate::error::ApiError;

/// The fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 15;

/// The most characters a password may have; longer ones are refused, never truncated.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Argon2id memory cost in KiB.
pub const M_COST_KIB: u32 = 19_456;
/// Argon2id iterations.
pub const T_COST: u32 = 2;
/// Argon2id parallelism.
pub const P_COST: u32 = 1;

/// The product's name, which a password must not be built from.
const PRODUCT_NAME: &str = "trailport";

/// A well-formed hash under the current parameters whose password nobody knows (its salt and
/// output are random bytes). Logins for unknown emails verify against it, so they cost the same
/// time as logins with a wrong password.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$ZnCI5vmNxUWn9rE+Lzx2cQ$\
    Q1W2C6d0C7HqWkMGBXn7c4Gq6bV6NpQkqXrQ4hz0vQ8";

/// The shipped list of common and breached passwords, lower case, most common first.
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// How a password compared with a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    /// The password matched.
    pub matches: bool,
    /// The stored hash uses weaker parameters than today's and should be replaced.
    pub needs_rehash: bool,
}

fn normalise(password: &str) -> String {
    password.nfkc().collect()
}

fn current_params() -> Params {
    // These constants are valid Argon2 parameters; a test holds them to that.
    Params::new(M_COST_KIB, T_COST, P_COST, None).unwrap_or_default()
}

/// Checks a new password against the rules; the error says which rule, never the password.
pub fn check_new_password(password: &str, email: &str) -> Result<(), ApiError> {
    // Length counts what the user typed as characters: canonically composed (NFC), so an "é"
    // sent as "e" plus an accent counts once, and a compatibility character such as U+FDFA,
    // which NFKC expands into many, counts once too.
    let length = password.nfc().count();
    let password = normalise(password);
    let weak = |message: &'static str| ApiError::bad_request("weak_password", message);

    if length < MIN_PASSWORD_CHARS {
        return Err(weak(
            "Use at least 15 characters. A few unrelated words make a good password.",
        ));
    }
    if length > MAX_PASSWORD_CHARS {
        return Err(weak("Use at most 128 characters."));
    }

    let lower = password.to_lowercase();
    if is_common(&lower) {
        return Err(weak(
            "This password is on a list of common or breached passwords.",
        ));
    }
    if is_repetitive(&lower) {
        return Err(weak(
            "This password repeats itself; use more varied characters.",
        ));
    }
    if is_built_from(&lower, email) {
        return Err(weak(
            "This password is built from your email address or the product's name.",
        ));
    }

    Ok(())
}

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON_PASSWORDS
            .lines()
            .filter(|line| !line.starts_with('#'))
            .collect()
    })
}

/// True for a common password, or two of them joined (`password` + `12345678`), ignoring
/// symbols at either end (`Password12345678!`).
fn is_common(lower: &str) -> bool {
    let common = common_passwords();
    let core = lower.trim_matches(|c: char| !c.is_alphanumeric());
    [lower, core].into_iter().any(|candidate| {
        common.contains(candidate)
            || candidate
                .char_indices()
                .skip(1)
                .any(|(i, _)| common.contains(&candidate[..i]) && common.contains(&candidate[i..]))
    })
}

/// True for few distinct characters, or one chunk repeated (`abcabcabc…`, `passwordpassword`).
fn is_repetitive(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 5 {
        return true;
    }

    (1..=chars.len() / 2)
        .filter(|period| chars.len().is_multiple_of(*period))
        .any(|period| {
            chars
                .iter()
                .enumerate()
                .all(|(i, c)| *c == chars[i % period])
        })
}

/// True when, after removing the email's parts and the product name, under 8 letters or
/// digits remain.
fn is_built_from(lower: &str, email: &str) -> bool {
    let alnum = |text: &str| {
        text.chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
    };
    let email = email.to_lowercase();
    let (local, domain) = email.split_once('@').unwrap_or((email.as_str(), ""));

    let mut parts: Vec<String> = vec![alnum(local), PRODUCT_NAME.to_owned()];
    parts.extend(local.split(|c: char| !c.is_alphanumeric()).map(alnum));
    parts.extend(domain.split('.').map(alnum));
    parts.retain(|p| p.chars().count() >= 3);
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));

    let letters = alnum(lower);
    let mut rest = letters.clone();
    for part in &parts {
        rest = rest.replace(part.as_str(), "");
    }
    // Only a password that contained those parts is "built from" them; one with few letters
    // or digits to begin with (emoji, say) is judged by the other rules.
    rest.len() < letters.len() && rest.chars().count() < 8
}

/// Argon2's working memory (19 MiB at today's parameters), allocated once and reused by every
/// hash and verification in the process.
///
/// Letting the library allocate it afresh each time looked harmless but was measured to grow a
/// function's resident memory by about 19 MiB per sign-in, up to some 200 MiB: the allocator
/// does not reuse the 64-byte-aligned blocks it is handed back. A 128 MB function would run
/// out of memory. Reusing one buffer keeps every function at one working set.
static WORKSPACE: Mutex<Vec<Block>> = Mutex::new(Vec::new());

/// Runs Argon2 with `argon`'s parameters into `out`, using the shared workspace.
fn compute(
    argon: &Argon2<'_>,
    blocks: usize,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), ApiError> {
    // A panic while holding the lock leaves only scratch memory behind, so a poisoned lock is
    // still safe to use.
    let mut memory = WORKSPACE.lock().unwrap_or_else(PoisonError::into_inner);
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
    argon
        .hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
        .map_err(|e| ApiError::internal(format!("argon2 failed: {e}")))
}

/// Makes a PHC string for `password` under today's parameters.
fn hash_now(password: &[u8]) -> Result<String, ApiError> {
    let phc = |e: &dyn std::fmt::Display| ApiError::internal(format!("PHC encoding failed: {e}"));
    let params = current_params();
    let salt = argon2::password_hash::generate_salt();
    let mut out = [0u8; 32];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    compute(&argon, params.block_count(), password, &salt, &mut out)?;

    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| phc(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| phc(&e))?),
        hash: Some(Output::new(&out).map_err(|e| phc(&e))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC hash `stored`, with the hash's own parameters; the
/// comparison is the library's constant-time one.
fn matches(password: &[u8], stored: &PasswordHash) -> Result<bool, ApiError> {
    let unreadable =
        |what: &str| ApiError::internal(format!("a stored password hash is unreadable: {what}"));
    let algorithm =
        Algorithm::try_from(stored.algorithm.as_str()).map_err(|e| unreadable(&e.to_string()))?;
    let version = match stored.version {
        Some(v) => Version::try_from(v).map_err(|e| unreadable(&e.to_string()))?,
        None => Version::default(),
    };
    let params = Params::try_from(stored).map_err(|e| unreadable(&e.to_string()))?;
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return Err(unreadable("no salt or no hash"));
    };

    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    compute(
        &argon,
        params.block_count(),
        password,
        salt.as_ref(),
        &mut out,
    )?;
    Ok(Output::new(&out).is_ok_and(|computed| computed == *expected))
}

/// Hashes a password with Argon2id on the blocking pool, giving a PHC string.
pub async fn hash(password: SecretString) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let normalised = SecretString::from(normalise(password.expose_secret()));
        hash_now(normalised.expose_secret().as_bytes())
    })
    .await
    .map_err(ApiError::internal)?
}

/// Verifies a password against a stored PHC hash, or against [`DUMMY_HASH`] when there is none,
/// so that both paths cost the same.
pub async fn verify(
    password: SecretString,
    stored: Option<String>,
) -> Result<Verification, ApiError> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let parsed = PasswordHash::new(&stored).map_err(|e| {
            ApiError::internal(format!("a stored password hash is unreadable: {e}"))
        })?;

        let normalised = SecretString::from(normalise(password.expose_secret()));
        let matched = matches(normalised.expose_secret().as_bytes(), &parsed)?;

        Ok(Verification {
            matches: matched && known,
            needs_rehash: known && is_weaker(&parsed),
        })
    })
    .await
    .map_err(ApiError::internal)?
}

/// Whether a stored hash was made with a weaker algorithm or parameters than today's.
fn is_weaker(hash: &PasswordHash) -> bool {
    if hash.algorithm.as_str() != Algorithm::Argon2id.ident().as_str() {
        return true;
    }
    match Params::try_from(hash) {
        Ok(p) => p.m_cost() < M_COST_KIB || p.t_cost() < T_COST || p.p_cost() < P_COST,
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHasher;

    use super::*;

    const EMAIL: &str = "alice.smith@example.com";

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn length_is_counted_in_characters_and_never_truncated() {
        assert!(check_new_password("correct horse battery", EMAIL).is_ok());
        assert_eq!(
            check_new_password("short one", EMAIL)
                .expect_err("short")
                .code(),
            "weak_password"
        );
        // 17 characters in 26 bytes: long enough. 14 characters in 18 bytes: too short.
        assert!(check_new_password("zażółć gęślą jaźń", EMAIL).is_ok());
        assert!(check_new_password("źdźbło trawy x", EMAIL).is_err());
        let long = "a1b2c3d4e5".repeat(13);
        assert_eq!(long.chars().count(), 130);
        assert!(check_new_password(&long, EMAIL).is_err());
    }

    #[test]
    fn the_shipped_list_has_at_least_ten_thousand_entries() {
        let count = COMMON_PASSWORDS
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count();
        assert!(count >= 10_000, "only {count} common passwords shipped");
    }

    #[test]
    fn common_and_repetitive_passwords_are_refused() {
        for password in [
            "1qaz2wsx3edc4rfv",
            "PasswordPassword",
            "aaaaaaaaaaaaaaaa",
            "abcabcabcabcabcabc",
        ] {
            let err = check_new_password(password, EMAIL).expect_err(password);
            assert_eq!(err.code(), "weak_password");
            assert!(!err.message().contains(password));
        }
    }

    #[test]
    fn two_common_passwords_joined_are_still_common() {
        for password in [
            "password12345678",
            "qwertyuiopasdfgh",
            "Password12345678!",
            "iloveyouiloveyou1",
        ] {
            let err = check_new_password(password, EMAIL).expect_err(password);
            assert!(
                err.message().contains("common"),
                "{password}: {}",
                err.message()
            );
        }
    }

    #[test]
    fn length_counts_composed_characters() {
        // 50 consonants each followed by "e" and a combining accent: 150 code points, 100
        // characters once composed, so within the limit.
        let decomposed: String = "bcdfgh"
            .chars()
            .cycle()
            .take(50)
            .flat_map(|c| [c, 'e', '\u{301}'])
            .collect();
        assert_eq!(decomposed.chars().count(), 150);
        assert!(check_new_password(&decomposed, EMAIL).is_ok());
        // U+FDFA is one character, though NFKC expands it to eighteen: eight of them and a
        // few words are well within 128 characters.
        let ligatures = format!("{} and a few words", "\u{FDFA}".repeat(8));
        assert!(normalise(&ligatures).chars().count() > 128);
        assert!(check_new_password(&ligatures, EMAIL).is_ok());
    }

    #[test]
    fn a_password_without_letters_is_not_called_built_from_the_email() {
        let emoji = "🦊🐙🦉🐢🦋🐝🐞🦀🐬🦔🦒🦓🐧🦜🐳";
        assert!(check_new_password(emoji, EMAIL).is_ok());
    }

    #[test]
    fn passwords_built_from_the_email_or_product_are_refused() {
        for password in [
            "alice.smith@example.com",
            "AliceSmith-Example!",
            "Trailport2026!!",
            "trailport.alice",
        ] {
            assert!(
                check_new_password(password, EMAIL).is_err(),
                "{password} should be refused"
            );
        }
        assert!(check_new_password("alice likes quiet mountain trains", EMAIL).is_ok());
    }

    #[test]
    fn the_dummy_hash_uses_todays_parameters() {
        let parsed = PasswordHash::new(DUMMY_HASH).expect("valid PHC string");
        assert!(!is_weaker(&parsed));
        let params = Params::try_from(&parsed).expect("argon2 params");
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (M_COST_KIB, T_COST, P_COST)
        );
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let hash = hash(secret("correct horse battery staple"))
            .await
            .expect("hashes");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));

        let right = verify(secret("correct horse battery staple"), Some(hash.clone()))
            .await
            .expect("ok");
        assert_eq!(
            right,
            Verification {
                matches: true,
                needs_rehash: false
            }
        );
        let wrong = verify(secret("correct horse battery stapler"), Some(hash))
            .await
            .expect("ok");
        assert!(!wrong.matches);
    }

    #[tokio::test]
    async fn an_unknown_account_never_matches_even_the_dummy_password() {
        let result = verify(secret("anything at all, really"), None)
            .await
            .expect("ok");
        assert!(!result.matches);
    }

    #[tokio::test]
    async fn a_weaker_stored_hash_is_flagged_for_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8_192, 1, 1, None).expect("params"),
        )
        .hash_password(b"correct horse battery staple")
        .expect("hashes")
        .to_string();
        let result = verify(secret("correct horse battery staple"), Some(weak))
            .await
            .expect("ok");
        assert_eq!(
            result,
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
    }

    #[tokio::test]
    async fn compatible_characters_are_normalised_before_hashing() {
        // U+FB01 (the "fi" ligature) is NFKC-equivalent to "fi".
        let hash = hash(secret("\u{FB01}ve little ducks swim"))
            .await
            .expect("hashes");
        let result = verify(secret("five little ducks swim"), Some(hash))
            .await
            .expect("ok");
        assert!(result.matches);
    }
}
