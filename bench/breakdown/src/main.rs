//! Times the parts that a sign-in and a `GET /api/me` are made of, in the release profile and
//! against the same table, so the benchmarks can tell Trailport's own time from the hash's and
//! the store's.
//!
//! ```text
//! BENCH_EMAIL=… BENCH_PASSWORD=… bench-breakdown ROUNDS
//! ```
//!
//! The account must exist with that password. Reads the functions' settings from the
//! environment, as they do, and prints one JSON object of per-round timings in milliseconds:
//! `verify` (Argon2id against the stored hash), `verify_unknown` (against the dummy hash),
//! `hash`, `login_store` (the four store calls a successful sign-in makes, in its order),
//! `me_store` (the two reads `GET /api/me` makes) and `me_whole` (`GET /api/me`'s handler
//! called in this process, those two reads included, just after them; both five times a
//! round, in pairs). Nothing secret is printed.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_http::{Body, Request};
use secrecy::SecretString;
use serde_json::json;
use trailport::api::THROTTLE_WINDOW_SECONDS;
use trailport::session::{cookie_name, random_id};
use trailport::store::SessionRecord;
use trailport::{ApiError, App};

/// How many times a round times `GET /api/me`'s reads and then its whole handler.
const ME_PAIRS: usize = 5;

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// `GET /api/me` as the browser sends it, with the session cookie `token`.
fn me_request(app: &App, token: &str) -> Result<Request, ApiError> {
    lambda_http::http::Request::builder()
        .method("GET")
        .uri("http://127.0.0.1/api/me")
        .header("cookie", format!("{}={token}", cookie_name(&app.settings)))
        .body(Body::Empty)
        .map_err(ApiError::internal)
}

async fn measure(
    rounds: usize,
    email: &str,
    password: &str,
) -> Result<serde_json::Value, ApiError> {
    let app = Arc::new(
        App::from_env()
            .await
            .map_err(|e| ApiError::internal(format!("settings: {e}")))?,
    );
    let store = &app.store;
    let secret = || SecretString::from(password.to_owned());
    let stored = store
        .user(email)
        .await?
        .ok_or_else(|| ApiError::internal("the benchmark account does not exist"))?
        .password_hash;

    let (mut verify, mut verify_unknown, mut hash) = (vec![], vec![], vec![]);
    let (mut login_store, mut me_store, mut me_whole) = (vec![], vec![], vec![]);
    // One round more than asked for: the first warms the connection pool and is dropped.
    for round in 0..=rounds {
        let started = Instant::now();
        let verification = trailport::password::verify(secret(), Some(stored.clone())).await?;
        let verify_ms = ms(started);
        if !verification.matches {
            return Err(ApiError::internal("the benchmark password does not match"));
        }

        let started = Instant::now();
        trailport::password::verify(secret(), None).await?;
        let verify_unknown_ms = ms(started);

        let started = Instant::now();
        trailport::password::hash(secret()).await?;
        let hash_ms = ms(started);

        // A successful sign-in's store calls, as `api::login` makes them.
        let now = app.now();
        let session_id = random_id();
        let started = Instant::now();
        store
            .count_login_attempt(email, now, THROTTLE_WINDOW_SECONDS)
            .await?;
        store.user(email).await?;
        store.clear_throttle(email).await?;
        let record = SessionRecord {
            email: email.to_owned(),
            created_at: now,
            last_seen: now,
            expires_at: now + 3600,
        };
        store.put_session(&session_id, &record).await?;
        let login_store_ms = ms(started);

        // `GET /api/me`'s reads (the session, then the user), then its whole handler right
        // after, so that the store's latency falls on both alike and the difference is
        // Trailport's own time: the token, the cookie, the JSON. Several pairs a round, as the
        // store's latency varies far more than that difference.
        let token = app.signer.issue(email, &session_id, now, 3600)?;
        let mut me_pairs = Vec::with_capacity(ME_PAIRS);
        for _ in 0..ME_PAIRS {
            let started = Instant::now();
            store.session(&session_id).await?;
            store.user(email).await?;
            let reads_ms = ms(started);

            let request = me_request(&app, &token)?;
            let started = Instant::now();
            let response = trailport::api::me(Arc::clone(&app), request).await?;
            let whole_ms = ms(started);
            if response.status() != 200 {
                return Err(ApiError::internal("GET /api/me did not answer 200"));
            }
            me_pairs.push((reads_ms, whole_ms));
        }
        store.delete_session(&session_id).await?;

        if round > 0 {
            verify.push(verify_ms);
            verify_unknown.push(verify_unknown_ms);
            hash.push(hash_ms);
            login_store.push(login_store_ms);
            me_store.extend(me_pairs.iter().map(|pair| pair.0));
            me_whole.extend(me_pairs.iter().map(|pair| pair.1));
        }
    }
    Ok(json!({
        "verify": verify,
        "verify_unknown": verify_unknown,
        "hash": hash,
        "login_store": login_store,
        "me_store": me_store,
        "me_whole": me_whole,
    }))
}

fn main() -> ExitCode {
    let rounds = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(50);
    let (Ok(email), Ok(password)) = (
        std::env::var("BENCH_EMAIL"),
        std::env::var("BENCH_PASSWORD"),
    ) else {
        eprintln!("bench-breakdown: set BENCH_EMAIL and BENCH_PASSWORD");
        return ExitCode::from(2);
    };
    // The functions' own runtime shape: one thread for requests, one for hashing.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(1)
        .thread_keep_alive(Duration::from_secs(3600))
        .build();
    let result = match runtime {
        Ok(runtime) => runtime.block_on(measure(rounds, &email, &password)),
        Err(err) => Err(ApiError::internal(err)),
    };
    match result {
        Ok(timings) => {
            println!("{timings}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!(
                "bench-breakdown: {} ({})",
                err.code(),
                err.cause_chain().unwrap_or_default()
            );
            ExitCode::FAILURE
        }
    }
}
