//! A function with a missing or weak setting refuses to start, with one log line that names
//! the setting and never shows its value. Runs the real `me` binary, built by `make test`.

use std::process::Command;

/// The `me` binary, in the target directory cargo built it in (`CARGO_TARGET_DIR` when a
/// checkout shares another's, as worktrees do).
fn binary() -> String {
    let target = std::env::var("CARGO_TARGET_DIR")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").to_owned());
    format!("{target}/debug/me")
}

fn start_with(overrides: &[(&str, &str)]) -> (bool, String) {
    let binary = binary();
    let mut command = Command::new(&binary);
    command
        .env_clear()
        .env("SECRET_KEY", "0123456789abcdef0123456789abcdef")
        .env(
            "CREDENTIALS_ENCRYPTION_KEY",
            "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=",
        )
        .env("TABLE_NAME", "trailport")
        .env("SERVICE_PRINCIPAL_ARN", "arn:aws:iam::111122223333:root")
        .env("AWS_REGION", "us-east-1");
    for (name, value) in overrides {
        command.env(name, value);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("run {binary} (built by `cargo build`): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn a_short_secret_key_stops_the_function_at_cold_start() {
    let (ok, log) = start_with(&[("SECRET_KEY", "short-but-secret-value")]);
    assert!(!ok, "{log}");
    assert!(log.contains("SECRET_KEY"), "{log}");
    assert!(!log.contains("short-but-secret-value"), "{log}");
}

#[test]
fn a_missing_or_unusable_encryption_key_stops_the_function() {
    for value in ["", "not-a-key-and-too-short"] {
        let (ok, log) = start_with(&[("CREDENTIALS_ENCRYPTION_KEY", value)]);
        assert!(!ok, "{log}");
        assert!(log.contains("CREDENTIALS_ENCRYPTION_KEY"), "{log}");
        assert!(value.is_empty() || !log.contains(value), "{log}");
    }
}
