//! The shape rules for what a user may submit as a connection, checked before AWS is asked.

use crate::error::ApiError;

/// Checks an access key id: `AKIA` and 16 upper-case letters or digits. Temporary `ASIA` keys
/// are refused because they expire within hours and the connection would silently die.
pub fn check_access_key_id(id: &str) -> Result<(), ApiError> {
    if id.starts_with("ASIA") {
        return Err(ApiError::bad_request(
            "temporary_credentials",
            "This is a temporary key (ASIA…), which expires. Use an IAM user's long-term key \
             (AKIA…), or connect with a role.",
        ));
    }
    let rest = id.strip_prefix("AKIA").unwrap_or_default();
    if rest.len() != 16
        || !rest
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(ApiError::bad_request(
            "invalid_access_key",
            "An access key id is AKIA followed by 16 upper-case letters or digits.",
        ));
    }
    Ok(())
}

/// Checks a secret access key's shape: 40 characters of base64's alphabet.
pub fn check_secret_key(secret: &str) -> Result<(), ApiError> {
    let shaped = secret.len() == 40
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+');
    if shaped {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_secret_key",
            "A secret access key is 40 characters of letters, digits, '/' and '+'.",
        ))
    }
}

/// Checks an IAM role ARN and returns its account id. User, assumed-role, wildcard and
/// malformed ARNs are refused.
pub fn parse_role_arn(arn: &str) -> Result<String, ApiError> {
    let invalid = |why: &str| {
        ApiError::bad_request(
            "invalid_role_arn",
            format!(
                "{why} A role ARN looks like arn:aws:iam::123456789012:role/TrailportReadOnly."
            ),
        )
    };

    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid("This is not an IAM ARN."));
    };

    if !matches!(partition, "aws" | "aws-cn" | "aws-us-gov") {
        return Err(invalid("The partition must be aws, aws-cn or aws-us-gov."));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("The account id must be 12 digits."));
    }
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return Err(invalid("This ARN names something other than a role."));
    };

    let segments: Vec<&str> = path_and_name.split('/').collect();
    let name_chars = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    };
    let name = segments.last().copied().unwrap_or_default();
    let well_formed = (1..=64).contains(&name.len())
        && path_and_name.len() <= 512
        && segments.iter().all(|s| !s.is_empty() && name_chars(s));
    if !well_formed {
        return Err(invalid(
            "The role's name or path has characters IAM does not allow.",
        ));
    }
    Ok(account.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_term_keys_pass_and_temporary_ones_are_named() {
        assert!(check_access_key_id("AKIAIOSFODNN7EXAMPLE").is_ok());
        assert_eq!(
            check_access_key_id("ASIAIOSFODNN7EXAMPLE")
                .expect_err("temp")
                .code(),
            "temporary_credentials"
        );
        for bad in [
            "",
            "AKIA",
            "AKIAiosfodnn7example",
            "AKIAIOSFODNN7EXAMPLE1",
            "XKIAIOSFODNN7EXAMPLE",
        ] {
            assert_eq!(
                check_access_key_id(bad).expect_err(bad).code(),
                "invalid_access_key"
            );
        }
    }

    #[test]
    fn secrets_must_have_the_shape_of_an_aws_secret() {
        assert!(check_secret_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").is_ok());
        for bad in [
            "",
            "short",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY1",
            "wJalrXUtnFEMI K7MDENG/bPxRfiCYEXAMPLEKEY",
        ] {
            let err = check_secret_key(bad).expect_err("refused");
            assert!(bad.is_empty() || !err.message().contains(bad));
        }
    }

    #[test]
    fn role_arns_give_their_account() {
        assert_eq!(
            parse_role_arn("arn:aws:iam::123456789012:role/Trailport").expect("ok"),
            "123456789012"
        );
        assert_eq!(
            parse_role_arn("arn:aws-us-gov:iam::123456789012:role/security/readers/Trailport")
                .expect("ok"),
            "123456789012"
        );
    }

    #[test]
    fn user_assumed_role_wildcard_and_malformed_arns_are_refused() {
        for bad in [
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:sts::123456789012:assumed-role/Trailport/session",
            "arn:aws:iam::123456789012:role/*",
            "arn:aws:iam::*:role/Trailport",
            "arn:aws:iam::12345678901:role/Trailport",
            "arn:aws:iam:us-east-1:123456789012:role/Trailport",
            "arn:evil:iam::123456789012:role/Trailport",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role//Trailport",
            "arn:aws:iam::123456789012:role/Trail port",
            "not an arn",
        ] {
            assert_eq!(
                parse_role_arn(bad).expect_err(bad).code(),
                "invalid_role_arn",
                "{bad}"
            );
        }
    }
}
