//! Accounts as users see them: email rules, and the JSON views of a user and a connection.

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::store::{Connection, UserRecord};

/// The longest email address accepted, in characters.
pub const MAX_EMAIL_CHARS: usize = 254;

/// Trims, NFKC-normalises and lower-cases an email, then checks it is plausible: one `@`,
/// something before it, a dot inside the domain, no spaces, and no invisible characters
/// (controls, format characters such as zero-width spaces and direction marks, unassigned
/// code points), which would let two accounts look like one address.
pub fn normalise_email(raw: &str) -> Result<String, ApiError> {
    let invalid = || {
        ApiError::bad_request(
            "invalid_email",
            "Enter a valid email address, such as name@example.com.",
        )
    };

    let email: String = raw.trim().nfkc().collect::<String>().to_lowercase();
    if email.is_empty() || email.chars().count() > MAX_EMAIL_CHARS {
        return Err(invalid());
    }
    let invisible =
        |c: char| c.is_whitespace() || c.general_category_group() == GeneralCategoryGroup::Other;
    if email.chars().any(invisible) {
        return Err(invalid());
    }

    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    let domain_ok = !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty() || !domain_ok {
        return Err(invalid());
    }
    Ok(email)
}

/// Shows an access key id as its first and last four characters, such as `AKIA…WXYZ`.
pub fn key_hint(access_key_id: &str) -> String {
    let chars: Vec<char> = access_key_id.chars().collect();
    if chars.len() < 8 {
        return "…".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// A connection as the API shows it: never the secret, and the key id only as a hint.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConnectionView {
    /// Access keys.
    AccessKey {
        /// Such as `AKIA…WXYZ`.
        access_key_id_hint: String,
        /// The account the key belongs to.
        account_id: String,
        /// The key's principal.
        arn: String,
        /// A role ARN kept alongside the keys, if one was sent.
        #[serde(skip_serializing_if = "Option::is_none")]
        role_arn: Option<String>,
        /// When it was connected, RFC 3339.
        connected_at: String,
    },
    /// A role.
    Role {
        /// The role's ARN.
        role_arn: String,
        /// The account in the ARN.
        account_id: String,
        /// When it was connected, RFC 3339.
        connected_at: String,
    },
}

impl From<&Connection> for ConnectionView {
    fn from(connection: &Connection) -> Self {
        match connection {
            Connection::AccessKey {
                access_key_id,
                account_id,
                arn,
                role_arn,
                connected_at,
                ..
            } => ConnectionView::AccessKey {
                access_key_id_hint: key_hint(access_key_id),
                account_id: account_id.clone(),
                arn: arn.clone(),
                role_arn: role_arn.clone(),
                connected_at: rfc3339(*connected_at),
            },
            Connection::Role {
                role_arn,
                account_id,
                connected_at,
            } => ConnectionView::Role {
                role_arn: role_arn.clone(),
                account_id: account_id.clone(),
                connected_at: rfc3339(*connected_at),
            },
        }
    }
}

/// The chosen bucket as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct BucketView {
    /// The bucket's name.
    pub name: String,
    /// Its region.
    pub region: String,
    /// The custom prefix named when choosing it, if any.
    pub prefix: Option<String>,
    /// The CloudTrail prefixes found in it.
    pub trail_prefixes: Vec<String>,
}

/// `GET /api/me`.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// The user's email.
    pub email: String,
    /// When the account was made, RFC 3339.
    pub created_at: String,
    /// What the user's role trust policy must require as `sts:ExternalId`.
    pub external_id: String,
    /// The principal the user's role must trust, when roles are enabled.
    pub service_principal_arn: Option<String>,
    /// Whether a role ARN alone may be used to connect.
    pub role_connections_enabled: bool,
    /// The connection, or null.
    pub connection: Option<ConnectionView>,
    /// The chosen bucket, or null.
    pub cloudtrail_bucket: Option<BucketView>,
}

impl UserView {
    /// The view of `user` under the service's settings.
    pub fn new(
        user: &UserRecord,
        service_principal_arn: Option<&str>,
        roles_enabled: bool,
    ) -> Self {
        Self {
            email: user.email.clone(),
            created_at: rfc3339(user.created_at),
            external_id: user.external_id.clone(),
            service_principal_arn: service_principal_arn.map(str::to_owned),
            role_connections_enabled: roles_enabled,
            connection: user.connection.as_ref().map(ConnectionView::from),
            cloudtrail_bucket: user.bucket.as_ref().map(|b| BucketView {
                name: b.name.clone(),
                region: b.region.clone(),
                prefix: b.prefix.clone(),
                trail_prefixes: b.trail_prefixes.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_normalised() {
        assert_eq!(
            normalise_email("  Alice@Example.COM ").expect("valid"),
            "alice@example.com"
        );
        // "e" followed by a combining acute accent becomes the single character "é".
        assert_eq!(
            normalise_email("Rene\u{301}@example.fr").expect("valid"),
            "ren\u{e9}@example.fr"
        );
    }

    #[test]
    fn invisible_characters_cannot_make_a_look_alike_address() {
        for email in [
            "alice\u{200B}@example.com",
            "alice@example.com\u{200B}",
            "\u{202E}alice@example.com",
            "ali\u{200F}ce@example.com",
            "alice@exam\u{AD}ple.com",
            "alice\u{0}@example.com",
        ] {
            assert_eq!(
                normalise_email(email).expect_err(email).code(),
                "invalid_email",
                "{email:?}"
            );
        }
    }

    #[test]
    fn compatibility_forms_are_the_same_address() {
        assert_eq!(
            normalise_email("\u{FB01}@example.com").expect("valid"),
            "fi@example.com"
        );
        assert_eq!(
            normalise_email("ALICE@EXAMPLE.COM").expect("valid"),
            "alice@example.com"
        );
    }

    #[test]
    fn implausible_emails_are_refused() {
        let long = format!("{}@example.com", "a".repeat(250));
        for email in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "a@b@example.com",
            "alice@example",
            "a b@example.com",
            "alice@.example.com",
            "alice@example..com",
            &long,
        ] {
            assert_eq!(
                normalise_email(email).expect_err(email).code(),
                "invalid_email",
                "{email}"
            );
        }
    }

    #[test]
    fn a_key_hint_shows_only_its_ends() {
        assert_eq!(key_hint("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
        assert_eq!(key_hint("short"), "…");
    }
}
