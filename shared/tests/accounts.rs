//! Registration, sign-in, sessions and the cross-site rules, against the local moto stack.

mod common;

use std::sync::Arc;

use common::*;
use lambda_http::http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER, SET_COOKIE};
use serde_json::json;
use trailport::api::{login, logout, me, register};
use trailport::clock::{Clock, SystemClock};
use trailport::config::AppEnv;
use trailport::store::UserRecord;

fn credentials_body(email: &str, password: &str) -> String {
    json!({"email": email, "password": password}).to_string()
}

#[tokio::test]
async fn registering_creates_an_account_and_a_second_registration_is_a_conflict() {
    let app = app().await;
    let email = unique_email("Dup");

    let first = call(
        &app,
        register,
        post("/api/register", &credentials_body(&email, PASSWORD)),
    )
    .await;
    assert_eq!(first.status(), 201);
    let body = json(&first);
    assert_eq!(body["email"], email.to_lowercase());
    assert!(
        body["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());

    // The same address in other letter case and with spaces is the same account.
    let again = format!("  {}  ", email.to_uppercase());
    let second = call(
        &app,
        register,
        post("/api/register", &credentials_body(&again, PASSWORD)),
    )
    .await;
    assert_eq!(second.status(), 409);
    assert_eq!(error_code(&second), "email_taken");
}

#[tokio::test]
async fn fifty_concurrent_registrations_of_one_email_create_exactly_one_account() {
    let app = app().await;
    let email = unique_email("race");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (app, body) = (Arc::clone(&app), credentials_body(&email, PASSWORD));
        tasks.spawn(async move {
            call(&app, register, post("/api/register", &body))
                .await
                .status()
                .as_u16()
        });
    }

    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.expect("task"));
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        49,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn the_password_is_stored_only_as_an_argon2id_hash() {
    let app = app().await;
    let email = unique_email("hash");
    call(
        &app,
        register,
        post("/api/register", &credentials_body(&email, PASSWORD)),
    )
    .await;

    let user = app.store.user(&email).await.expect("read").expect("stored");
    assert!(
        user.password_hash
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    assert!(!user.password_hash.contains(PASSWORD));
    assert_eq!(user.external_id.len(), 32, "128-bit external id as hex");
}

#[tokio::test]
async fn bad_registrations_are_refused_with_a_clear_code_and_nothing_is_stored() {
    let app = app().await;
    let email = unique_email("bad");
    let cases = [
        (
            credentials_body("not-an-email", PASSWORD),
            400,
            "invalid_email",
        ),
        (credentials_body(&email, "short"), 400, "weak_password"),
        (
            credentials_body(&email, "passwordpassword"),
            400,
            "weak_password",
        ),
        (
            credentials_body(&email, &format!("trailport {email}")),
            400,
            "weak_password",
        ),
        (json!({"email": email}).to_string(), 400, "invalid_request"),
        (
            json!({"email": email, "password": 1234567890123456_u64}).to_string(),
            400,
            "invalid_request",
        ),
        (
            json!({"email": email, "password": PASSWORD, "admin": true}).to_string(),
            400,
            "unknown_field",
        ),
        ("[1, 2]".to_owned(), 400, "invalid_request"),
        ("{\"email\": ".to_owned(), 400, "invalid_json"),
        (String::new(), 400, "invalid_json"),
    ];
    for (body, status, code) in cases {
        let response = call(&app, register, post("/api/register", &body)).await;
        assert_eq!(
            (response.status().as_u16(), error_code(&response)),
            (status, code.to_owned()),
            "{body}"
        );
        assert!(!format!("{:?}", response.body()).contains("1234567890123456"));
    }
    assert!(app.store.user(&email).await.expect("read").is_none());
}

#[tokio::test]
async fn a_field_sent_twice_is_refused_rather_than_guessed() {
    let app = app().await;
    let (first, second) = (unique_email("first"), unique_email("second"));
    let body = format!(r#"{{"email": "{first}", "email": "{second}", "password": "{PASSWORD}"}}"#);
    let response = call(&app, register, post("/api/register", &body)).await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (400, "invalid_json")
    );
    for email in [first, second] {
        assert!(app.store.user(&email).await.expect("read").is_none());
    }
}

#[tokio::test]
async fn only_utf8_json_is_accepted() {
    let app = app().await;
    for (content_type, status) in [
        ("application/json; charset=latin1", 415),
        ("application/json; charset=\"UTF-8\"", 201),
        ("APPLICATION/JSON;charset=utf-8", 201),
    ] {
        let mut req = post(
            "/api/register",
            &credentials_body(&unique_email("charset"), PASSWORD),
        );
        req.headers_mut()
            .insert(CONTENT_TYPE, content_type.parse().expect("header"));
        assert_eq!(
            call(&app, register, req).await.status(),
            status,
            "{content_type}"
        );
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_any_work() {
    let app = app().await;
    let huge = credentials_body(&unique_email("huge"), &"x".repeat(1_000_000));
    let response = call(&app, register, post("/api/register", &huge)).await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (413, "body_too_large")
    );
    let response = call(&app, login, post("/api/login", &huge)).await;
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn state_changes_must_be_json_from_an_allowed_origin() {
    let app = app().await;
    let body = credentials_body(&unique_email("csrf"), PASSWORD);

    let mut form = post("/api/register", &body);
    form.headers_mut().insert(
        CONTENT_TYPE,
        "application/x-www-form-urlencoded".parse().expect("header"),
    );
    let response = call(&app, register, form).await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (415, "unsupported_media_type")
    );

    let mut foreign = post("/api/register", &body);
    foreign
        .headers_mut()
        .insert("origin", "https://evil.example".parse().expect("header"));
    let response = call(&app, register, foreign).await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (403, "cross_site_request")
    );

    let mut cross = post("/api/register", &body);
    cross
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().expect("header"));
    assert_eq!(call(&app, register, cross).await.status(), 403);

    // A second copy of a header is read too, not only the first.
    let mut doubled = post("/api/register", &body);
    doubled
        .headers_mut()
        .insert("sec-fetch-site", "same-origin".parse().expect("header"));
    doubled
        .headers_mut()
        .append("sec-fetch-site", "cross-site".parse().expect("header"));
    assert_eq!(call(&app, register, doubled).await.status(), 403);
    let mut two_types = post("/api/register", &body);
    two_types
        .headers_mut()
        .append("content-type", "text/plain".parse().expect("header"));
    assert_eq!(call(&app, register, two_types).await.status(), 415);

    let allowed_origin = app
        .settings
        .allowed_origins
        .first()
        .expect("the stack allows its own origin")
        .clone();
    let mut same = post("/api/register", &body);
    same.headers_mut()
        .insert("origin", allowed_origin.parse().expect("header"));
    same.headers_mut()
        .insert("sec-fetch-site", "same-origin".parse().expect("header"));
    assert_eq!(call(&app, register, same).await.status(), 201);
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow_and_changes_nothing() {
    let app = app().await;
    let email = unique_email("get");
    let mut req = post("/api/register", &credentials_body(&email, PASSWORD));
    *req.method_mut() = lambda_http::http::Method::GET;
    let response = call(&app, register, req).await;
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers().get(ALLOW).expect("Allow"), "POST");
    assert!(app.store.user(&email).await.expect("read").is_none());
    assert_eq!(call(&app, me, post("/api/me", "{}")).await.status(), 405);
}

#[tokio::test]
async fn login_sets_a_session_cookie_with_the_documented_attributes() {
    let app = app().await;
    let (email, _) = signed_in_user(&app, "cookie").await;
    let response = call(
        &app,
        login,
        post("/api/login", &credentials_body(&email, PASSWORD)),
    )
    .await;
    let cookie = response
        .headers()
        .get(SET_COOKIE)
        .expect("Set-Cookie")
        .to_str()
        .expect("ascii");

    assert!(cookie.starts_with("trailport_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(
            cookie.contains(attribute),
            "{attribute} missing from {cookie}"
        );
    }
    assert!(
        !cookie.contains("Secure"),
        "development over http drops Secure"
    );
    assert_eq!(json(&response), json!({"email": email}));
}

#[tokio::test]
async fn in_production_the_cookie_is_host_prefixed_and_secure() {
    let mut settings = settings();
    settings.env = AppEnv::Production;
    let app = app_with(settings, Arc::new(SystemClock)).await;
    let (_, cookie) = signed_in_user(&app, "prod").await;
    assert!(cookie.starts_with("__Host-trailport_session="));

    let email = unique_email("prod2");
    call(
        &app,
        register,
        post("/api/register", &credentials_body(&email, PASSWORD)),
    )
    .await;
    let response = call(
        &app,
        login,
        post("/api/login", &credentials_body(&email, PASSWORD)),
    )
    .await;
    let header = response
        .headers()
        .get(SET_COOKIE)
        .expect("Set-Cookie")
        .to_str()
        .expect("ascii");
    assert!(header.contains("; Secure"), "{header}");

    // The development cookie name is not accepted in production.
    let dev_cookie = cookie.replace("__Host-trailport_session", "trailport_session");
    assert_eq!(
        call(&app, me, with_cookie(get("/api/me"), &dev_cookie))
            .await
            .status(),
        401
    );
    assert_eq!(
        call(&app, me, with_cookie(get("/api/me"), &cookie))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer() {
    let app = app().await;
    let (email, _) = signed_in_user(&app, "same").await;

    let unknown = call(
        &app,
        login,
        post(
            "/api/login",
            &credentials_body(&unique_email("nobody"), PASSWORD),
        ),
    )
    .await;
    let wrong = call(
        &app,
        login,
        post(
            "/api/login",
            &credentials_body(&email, "not the right password"),
        ),
    )
    .await;
    assert_eq!(unknown.status(), 401);
    assert_eq!(wrong.status(), 401);
    assert_eq!(json(&unknown), json(&wrong));
    assert_eq!(error_code(&wrong), "invalid_login");
    assert!(wrong.headers().get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn every_login_starts_a_new_session() {
    let app = app().await;
    let (email, first) = signed_in_user(&app, "fresh").await;
    let again = call(
        &app,
        login,
        post("/api/login", &credentials_body(&email, PASSWORD)),
    )
    .await;
    let second = session_cookie(&again);
    assert_ne!(first, second);
    for cookie in [&first, &second] {
        assert_eq!(
            call(&app, me, with_cookie(get("/api/me"), cookie))
                .await
                .status(),
            200
        );
    }
}

#[tokio::test]
async fn logout_revokes_the_session_so_a_replayed_cookie_is_refused() {
    let app = app().await;
    let (_, cookie) = signed_in_user(&app, "logout").await;

    let response = call(&app, logout, with_cookie(post("/api/logout", ""), &cookie)).await;
    assert_eq!(response.status(), 204);
    let cleared = response
        .headers()
        .get(SET_COOKIE)
        .expect("Set-Cookie")
        .to_str()
        .expect("ascii");
    assert!(
        cleared.starts_with("trailport_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );

    let replay = call(&app, me, with_cookie(get("/api/me"), &cookie)).await;
    assert_eq!(
        (replay.status().as_u16(), error_code(&replay).as_str()),
        (401, "not_signed_in")
    );

    // Logout takes no fields, and says so.
    let response = call(
        &app,
        logout,
        with_cookie(post("/api/logout", r#"{"x": 1}"#), &cookie),
    )
    .await;
    assert_eq!(error_code(&response), "unknown_field");
    assert!(
        json(&response)["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no fields"))
    );

    // Logging out again, or with no session at all, is still a clean 204.
    assert_eq!(
        call(&app, logout, with_cookie(post("/api/logout", ""), &cookie))
            .await
            .status(),
        204
    );
    assert_eq!(
        call(&app, logout, post("/api/logout", "")).await.status(),
        204
    );
}

#[tokio::test]
async fn logout_is_a_state_change_and_follows_the_cross_site_rules() {
    let app = app().await;
    let (_, cookie) = signed_in_user(&app, "logoutcsrf").await;
    let mut plain = with_cookie(post("/api/logout", ""), &cookie);
    plain.headers_mut().remove(CONTENT_TYPE);
    assert_eq!(call(&app, logout, plain).await.status(), 415);
    assert_eq!(
        call(&app, me, with_cookie(get("/api/me"), &cookie))
            .await
            .status(),
        200,
        "session kept"
    );
}

#[tokio::test]
async fn me_without_a_valid_session_is_401() {
    let app = app().await;
    for cookie in [
        None,
        Some("trailport_session=garbage"),
        Some("trailport_session=a.b.c"),
        Some("other=1"),
    ] {
        let req = match cookie {
            Some(c) => with_cookie(get("/api/me"), c),
            None => get("/api/me"),
        };
        let response = call(&app, me, req).await;
        assert_eq!(
            (response.status().as_u16(), error_code(&response).as_str()),
            (401, "not_signed_in")
        );
    }
}

#[tokio::test]
async fn a_session_ends_after_the_idle_timeout_but_requests_keep_it_alive() {
    let (app, clock) = app_with_clock().await;
    let (_, cookie) = signed_in_user(&app, "idle").await;

    for _ in 0..3 {
        clock.advance(1_700);
        assert_eq!(
            call(&app, me, with_cookie(get("/api/me"), &cookie))
                .await
                .status(),
            200
        );
    }

    clock.advance(1_800);
    let response = call(&app, me, with_cookie(get("/api/me"), &cookie)).await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (401, "session_expired")
    );

    // An ended session stays ended even if the clock were to allow it again.
    let response = call(&app, me, with_cookie(get("/api/me"), &cookie)).await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn a_session_ends_after_its_absolute_lifetime_however_busy() {
    let (app, clock) = app_with_clock().await;
    let (_, cookie) = signed_in_user(&app, "absolute").await;

    let mut elapsed = 0;
    while elapsed + 1_500 < 43_200 {
        clock.advance(1_500);
        elapsed += 1_500;
        assert_eq!(
            call(&app, me, with_cookie(get("/api/me"), &cookie))
                .await
                .status(),
            200,
            "at {elapsed}s"
        );
    }
    clock.advance(43_200 - elapsed);
    let response = call(&app, me, with_cookie(get("/api/me"), &cookie)).await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (401, "session_expired")
    );
}

#[tokio::test]
async fn the_idle_clock_is_written_at_most_once_a_minute() {
    let (app, clock) = app_with_clock().await;
    let (_, cookie) = signed_in_user(&app, "refresh").await;
    let token = cookie.split_once('=').expect("name=value").1;
    let session_id = app.signer.verify(token, clock.now()).expect("valid").jti;
    let last_seen = || async {
        app.store
            .session(&session_id)
            .await
            .expect("read")
            .expect("stored")
            .last_seen
    };
    let started = last_seen().await;

    clock.advance(30);
    call(&app, me, with_cookie(get("/api/me"), &cookie)).await;
    assert_eq!(last_seen().await, started, "no write within the minute");

    clock.advance(31);
    call(&app, me, with_cookie(get("/api/me"), &cookie)).await;
    assert_eq!(last_seen().await, started + 61);
}

#[tokio::test]
async fn ten_failed_logins_lock_the_account_for_the_window_whatever_the_address() {
    let (app, clock) = app_with_clock().await;
    let (email, _) = signed_in_user(&app, "throttle").await;

    for attempt in 0..10 {
        let mut req = post(
            "/api/login",
            &credentials_body(&email, "a wrong password entirely"),
        );
        req.headers_mut().insert(
            "x-forwarded-for",
            format!("198.51.100.{attempt}").parse().expect("header"),
        );
        assert_eq!(call(&app, login, req).await.status(), 401);
    }

    let mut req = post("/api/login", &credentials_body(&email, PASSWORD));
    req.headers_mut()
        .insert("x-forwarded-for", "203.0.113.99".parse().expect("header"));
    let locked = call(&app, login, req).await;
    assert_eq!(
        (locked.status().as_u16(), error_code(&locked).as_str()),
        (429, "too_many_attempts")
    );
    let retry_after: i64 = locked
        .headers()
        .get(RETRY_AFTER)
        .expect("Retry-After")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");

    clock.advance(retry_after);
    let response = call(
        &app,
        login,
        post("/api/login", &credentials_body(&email, PASSWORD)),
    )
    .await;
    assert_eq!(response.status(), 200, "the window has passed");
    assert!(
        app.store.throttle(&email).await.expect("read").is_none(),
        "success resets the count"
    );
}

#[tokio::test]
async fn concurrent_guesses_cannot_slip_past_the_limit() {
    let app = app().await;
    let (email, _) = signed_in_user(&app, "burst").await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let (app, body) = (
            Arc::clone(&app),
            credentials_body(&email, &format!("guess number {i} is wrong")),
        );
        tasks.spawn(async move {
            call(&app, login, post("/api/login", &body))
                .await
                .status()
                .as_u16()
        });
    }
    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.expect("task"));
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        30,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_password_sent_decomposed_signs_in_as_it_registered() {
    let app = app().await;
    let email = unique_email("nfd");
    // 150 code points, 100 characters once the accents are composed.
    let password: String = "bcdfgh"
        .chars()
        .cycle()
        .take(50)
        .flat_map(|c| [c, 'e', '\u{301}'])
        .collect();
    let body = credentials_body(&email, &password);
    assert_eq!(
        call(&app, register, post("/api/register", &body))
            .await
            .status(),
        201
    );
    assert_eq!(
        call(&app, login, post("/api/login", &body)).await.status(),
        200
    );

    // The composed form of the same characters is the same password.
    let composed: String =
        unicode_normalization::UnicodeNormalization::nfc(password.as_str()).collect();
    assert_eq!(
        call(
            &app,
            login,
            post("/api/login", &credentials_body(&email, &composed))
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn unknown_emails_are_throttled_like_real_ones() {
    let app = app().await;
    let email = unique_email("ghost");
    for _ in 0..10 {
        call(
            &app,
            login,
            post("/api/login", &credentials_body(&email, PASSWORD)),
        )
        .await;
    }
    let response = call(
        &app,
        login,
        post("/api/login", &credentials_body(&email, PASSWORD)),
    )
    .await;
    assert_eq!(response.status(), 429);
}

#[tokio::test]
async fn signing_in_upgrades_a_hash_made_with_weaker_parameters() {
    use argon2::password_hash::PasswordHasher;

    let app = app().await;
    let email = unique_email("rehash");
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8_192, 1, 1, None).expect("params"),
    )
    .hash_password(PASSWORD.as_bytes())
    .expect("hash")
    .to_string();
    let user = UserRecord {
        email: email.clone(),
        password_hash: weak.clone(),
        created_at: SystemClock.now(),
        external_id: trailport::session::random_id(),
        connection: None,
        bucket: None,
    };
    assert!(app.store.create_user(&user).await.expect("stored"));

    let response = call(
        &app,
        login,
        post("/api/login", &credentials_body(&email, PASSWORD)),
    )
    .await;
    assert_eq!(response.status(), 200);
    let stored = app
        .store
        .user(&email)
        .await
        .expect("read")
        .expect("stored")
        .password_hash;
    assert_ne!(stored, weak);
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
}
