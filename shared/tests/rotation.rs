//! Re-encrypting stored secrets under a new key: nothing lost, interruptible, rerunnable.

mod common;

use common::*;
use secrecy::{ExposeSecret, SecretString};
use trailport::clock::{Clock, SystemClock};
use trailport::rotation::{RotationReport, rotate};
use trailport::store::{Connection, Store, UserRecord};
use trailport::vault::Vault;

const OLD: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
const NEW: &str = "7Gd6V8wq8H6g1C3kq2Zx0S8m3h9vYt1KzH3yRb1M2no=";

/// A store over a fresh table, holding `count` users whose secrets are under `vault`.
async fn seeded(vault: &Vault, count: usize) -> (Store, Vec<(String, String)>) {
    let sdk = trailport::app::load_sdk_config().await;
    let store = Store::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        create_table("rotation"),
    );
    let mut users = Vec::new();
    for i in 0..count {
        let email = unique_email(&format!("rotate{i}"));
        let secret = format!("{:0>40}", format!("secret{i}"));
        let user = UserRecord {
            email: email.clone(),
            password_hash: "unused".to_owned(),
            created_at: SystemClock.now(),
            external_id: trailport::session::random_id(),
            connection: Some(Connection::AccessKey {
                access_key_id: format!("AKIA{:0>16}", i),
                secret_key_token: vault.encrypt(&SecretString::from(secret.clone())),
                account_id: "123456789012".to_owned(),
                arn: format!("arn:aws:iam::123456789012:user/u{i}"),
                role_arn: None,
                connected_at: SystemClock.now(),
            }),
            bucket: None,
        };
        assert!(store.create_user(&user).await.expect("stored"));
        users.push((email, secret));
    }
    (store, users)
}

async fn token_of(store: &Store, email: &str) -> String {
    match store
        .user(email)
        .await
        .expect("read")
        .expect("user")
        .connection
    {
        Some(Connection::AccessKey {
            secret_key_token, ..
        }) => secret_key_token,
        _ => panic!("an access-key connection"),
    }
}

#[tokio::test]
async fn an_interrupted_rotation_finishes_on_the_next_run_and_loses_nothing() {
    let old = Vault::from_setting(OLD).expect("key");
    let (store, users) = seeded(&old, 5).await;
    let rotating = Vault::from_setting(&format!("{NEW},{OLD}")).expect("keys");

    let first = rotate(&store, &rotating, Some(2)).await.expect("runs");
    assert_eq!((first.seen, first.rotated, first.current), (5, 2, 0));

    let second = rotate(&store, &rotating, None).await.expect("runs");
    assert_eq!((second.rotated, second.current), (3, 2));

    let third = rotate(&store, &rotating, None).await.expect("runs");
    assert_eq!(
        third,
        RotationReport {
            seen: 5,
            current: 5,
            ..RotationReport::default()
        }
    );

    // The old key can now be dropped: the new one alone opens every secret.
    let new_only = Vault::from_setting(NEW).expect("key");
    for (email, secret) in &users {
        let opened = new_only
            .decrypt(&token_of(&store, email).await)
            .expect("under the new key");
        assert_eq!(opened.expose_secret(), secret);
    }
}

#[tokio::test]
async fn a_connection_replaced_during_rotation_is_not_overwritten() {
    let old = Vault::from_setting(OLD).expect("key");
    let (store, users) = seeded(&old, 1).await;
    let (email, _) = &users[0];
    let stale = token_of(&store, email).await;

    // The owner reconnects with other keys after the rotation read the old token.
    let fresh = old.encrypt(&SecretString::from("z".repeat(40)));
    assert!(
        store
            .replace_secret_token(email, &stale, &fresh)
            .await
            .expect("swap")
    );
    assert!(
        !store
            .replace_secret_token(email, &stale, "rotation's late write")
            .await
            .expect("refused")
    );
    assert_eq!(token_of(&store, email).await, fresh);
}

#[tokio::test]
async fn secrets_no_key_opens_are_reported_and_left_alone() {
    let stranger = Vault::from_setting(NEW).expect("key");
    let (store, users) = seeded(&stranger, 1).await;
    let before = token_of(&store, &users[0].0).await;

    let report = rotate(&store, &Vault::from_setting(OLD).expect("key"), None)
        .await
        .expect("runs");
    assert_eq!(
        (report.seen, report.undecryptable, report.rotated),
        (1, 1, 0)
    );
    assert_eq!(token_of(&store, &users[0].0).await, before);
}
