//! The vault against the Fernet specification's public test vectors and against Python's
//! `cryptography.fernet`, both ways, and the passphrase KDF against Python's `argon2-cffi`.
//!
//! The vectors come from PyPI's `cryptography-vectors` package and Python from the project's
//! virtualenv, both installed by `scripts/bootstrap.sh`.

use std::path::PathBuf;
use std::process::Command;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use trailport::vault::{PASSPHRASE_SALT, Vault};

const KEY: &str = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

/// Runs a Python snippet with `args`, returning its trimmed standard output.
fn python(code: &str, args: &[&str]) -> String {
    let output = Command::new("python")
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("python from the project's virtualenv (run through `make test`)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

fn vectors(name: &str) -> Vec<Value> {
    let dir = python(
        "import cryptography_vectors, os; print(os.path.dirname(cryptography_vectors.__file__))",
        &[],
    );
    let path = PathBuf::from(dir).join("fernet").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("vector file")).expect("JSON")
}

/// Seconds since the epoch of an RFC 3339 time with an offset, as the vectors write them.
fn epoch(time: &str) -> u64 {
    python(
        "import datetime, sys; \
        print(int(datetime.datetime.fromisoformat(sys.argv[1]).timestamp()))",
        &[time],
    )
    .parse()
    .expect("seconds")
}

#[test]
fn the_verify_vectors_decrypt_to_their_plaintext() {
    for case in vectors("verify.json") {
        let fernet = fernet::Fernet::new(case["secret"].as_str().expect("secret")).expect("key");
        let now = epoch(case["now"].as_str().expect("now"));
        let ttl = case["ttl_sec"].as_u64().expect("ttl");
        let plain = fernet
            .decrypt_at_time(case["token"].as_str().expect("token"), Some(ttl), now)
            .expect("valid token");
        assert_eq!(plain, case["src"].as_str().expect("src").as_bytes());
    }
}

#[test]
fn the_invalid_vectors_are_all_refused() {
    let cases = vectors("invalid.json");
    assert!(cases.len() >= 5);
    for case in cases {
        let fernet = fernet::Fernet::new(case["secret"].as_str().expect("secret")).expect("key");
        let now = epoch(case["now"].as_str().expect("now"));
        let ttl = case["ttl_sec"].as_u64().expect("ttl");
        let result = fernet.decrypt_at_time(case["token"].as_str().expect("token"), Some(ttl), now);
        assert!(result.is_err(), "{} was accepted", case["desc"]);
    }
}

#[test]
fn the_generate_vector_opens_and_our_tokens_have_its_layout() {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE;

    for case in vectors("generate.json") {
        let secret = case["secret"].as_str().expect("secret");
        let vault = Vault::from_setting(secret).expect("key");
        let opened = vault
            .decrypt(case["token"].as_str().expect("token"))
            .expect("opens");
        assert_eq!(opened.expose_secret(), case["src"].as_str().expect("src"));

        // Ours: version 0x80, then the big-endian time, then a 16-byte IV, as in the vector.
        let now = epoch(case["now"].as_str().expect("now"));
        let token = fernet::Fernet::new(secret)
            .expect("key")
            .encrypt_at_time(b"hello", now);
        let ours = URL_SAFE.decode(&token).expect("base64");
        let theirs = URL_SAFE
            .decode(case["token"].as_str().expect("token"))
            .expect("base64");
        assert_eq!(ours[0], 0x80);
        assert_eq!(ours[..9], theirs[..9], "version and timestamp");
        assert_eq!(ours.len(), theirs.len());
    }
}

#[test]
fn tokens_travel_both_ways_between_trailport_and_python() {
    let vault = Vault::from_setting(KEY).expect("key");
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    let ours = vault.encrypt(&SecretString::from(secret.to_owned()));
    let opened_by_python = python(
        "import sys; from cryptography.fernet import Fernet; \
            print(Fernet(sys.argv[1]).decrypt(sys.argv[2].encode()).decode())",
        &[KEY, &ours],
    );
    assert_eq!(opened_by_python, secret);

    let theirs = python(
        "import sys; from cryptography.fernet import Fernet; \
            print(Fernet(sys.argv[1]).encrypt(sys.argv[2].encode()).decode())",
        &[KEY, secret],
    );
    assert_eq!(
        vault.decrypt(&theirs).expect("opens").expose_secret(),
        secret
    );
}

#[test]
fn a_passphrase_key_is_the_documented_argon2id_derivation() {
    let passphrase = "a long and memorable passphrase for trailport";
    let derived = python(
        "import base64, sys\n\
         from argon2.low_level import Type, hash_secret_raw\n\
         key = hash_secret_raw(sys.argv[1].encode(), sys.argv[2].encode(), time_cost=2,\n\
             memory_cost=19456, parallelism=1, hash_len=32, type=Type.ID)\n\
         print(base64.urlsafe_b64encode(key).decode())",
        &[
            passphrase,
            std::str::from_utf8(PASSPHRASE_SALT).expect("ascii salt"),
        ],
    );

    // A token made with Python's derived key opens in a vault given only the passphrase.
    let token = python(
        "import sys; from cryptography.fernet import Fernet; \
            print(Fernet(sys.argv[1]).encrypt(b'same key').decode())",
        &[&derived],
    );
    let vault = Vault::from_setting(passphrase).expect("passphrase");
    assert_eq!(
        vault.decrypt(&token).expect("same key").expose_secret(),
        "same key"
    );
}
