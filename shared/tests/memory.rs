//! Sign-ins do not grow a function's memory: Argon2's working memory is reused, not
//! reallocated per request (which was measured to add about 19 MiB per sign-in).

use secrecy::SecretString;
use trailport::password::{hash, verify};

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS");
    line.split_whitespace()
        .nth(1)
        .expect("value")
        .parse()
        .expect("KiB")
}

#[test]
fn twenty_sign_ins_in_a_row_stay_within_one_working_set() {
    // The same runtime shape as a function's (see trailport::runtime::start).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(1)
        .build()
        .expect("runtime");

    runtime.block_on(async {
        let stored = hash(SecretString::from("the first hash warms up".to_owned()))
            .await
            .expect("hash");
        let before = resident_kib();
        for i in 0..10 {
            let attempt = SecretString::from(format!("attempt number {i} of many"));
            verify(attempt, Some(stored.clone())).await.expect("verify");
            hash(SecretString::from(format!("a new password, number {i}")))
                .await
                .expect("hash");
        }
        let grown = resident_kib().saturating_sub(before);
        assert!(
            grown < 30 * 1024,
            "resident memory grew by {grown} KiB over 20 Argon2 runs"
        );
    });
}
