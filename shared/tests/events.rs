//! The handlers fed real API Gateway events from `events/`: HTTP API payload 2.0 and REST API
//! payload 1.0, and the awkward shapes real clients produce.

mod common;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use lambda_http::Request;
use lambda_http::http::header::SET_COOKIE;
use trailport::App;
use trailport::api::{
    buckets_list, buckets_select, credentials, events, login, logout, me, register,
};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/");

/// Loads `events/<name>`, with the demo email swapped for `email`, the session placeholder for
/// `token`, and the example keys for the demo account's real ones.
fn event(name: &str, email: &str, token: &str) -> Request {
    let (key, secret) = demo_keys();
    let text = std::fs::read_to_string(format!("{ROOT}{name}"))
        .unwrap_or_else(|e| panic!("events/{name}: {e}"))
        .replace("demo@example.com", email)
        .replace("charset@example.com", email)
        .replace("PLACEHOLDER", token)
        .replace("AKIAIOSFODNN7EXAMPLE", &key)
        .replace(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            &secret.replace('/', "\\/"),
        );
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("events/{name} parses: {e}"))
}

/// A registered, signed-in user's email and bare session token.
async fn user_and_token(app: &Arc<App>) -> (String, String) {
    let (email, cookie) = signed_in_user(app, "event").await;
    let token = cookie.split_once('=').expect("name=value").1.to_owned();
    (email, token)
}

#[tokio::test]
async fn register_and_login_events_payload_2_0() {
    let app = app().await;
    let email = unique_email("v2");

    let response = call(&app, register, event("register.json", &email, "")).await;
    assert_eq!(response.status(), 201, "{:?}", json(&response));
    let response = call(&app, login, event("login.json", &email, "")).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get(SET_COOKIE).is_some());
}

#[tokio::test]
async fn login_event_payload_1_0() {
    let app = app().await;
    let (email, _) = user_and_token(&app).await;
    let response = call(&app, login, event("v1/login.json", &email, "")).await;
    assert_eq!(response.status(), 200, "{:?}", json(&response));
}

#[tokio::test]
async fn the_session_cookie_is_found_among_others_in_every_payload_shape() {
    let app = app().await;
    let (email, token) = user_and_token(&app).await;
    for name in [
        "me.json",
        "v1/me.json",
        "edge/cookies-no-space.json",
        "edge/stage-prefix.json",
        "edge/two-cookie-headers-v1.json",
    ] {
        let response = call(&app, me, event(name, &email, &token)).await;
        assert_eq!(response.status(), 200, "{name}: {:?}", json(&response));
        assert_eq!(json(&response)["email"], email, "{name}");
    }
}

#[tokio::test]
async fn a_base64_body_is_decoded() {
    let app = app().await;
    let email = unique_email("b64");
    let text = std::fs::read_to_string(format!("{ROOT}edge/base64-body.json")).expect("fixture");
    let mut fixture: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(fixture["isBase64Encoded"], true);

    // Re-encode the fixture's body with a fresh address, as API Gateway would send it.
    let body = serde_json::json!({"email": email, "password": PASSWORD}).to_string();
    fixture["body"] = STANDARD.encode(body).into();
    let request = lambda_http::request::from_str(&fixture.to_string()).expect("parses");

    let response = call(&app, register, request).await;
    assert_eq!(response.status(), 201, "{:?}", json(&response));
    assert_eq!(json(&response)["email"], email);
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_a_400_not_a_crash() {
    let app = app().await;
    let text = std::fs::read_to_string(format!("{ROOT}edge/base64-body.json")).expect("fixture");
    let mut fixture: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    // API Gateway base64-encodes a body that is not valid text, as here.
    fixture["body"] = STANDARD.encode([b'{', 0xff, 0xfe, b'}']).into();
    let request = lambda_http::request::from_str(&fixture.to_string()).expect("parses");

    let response = call(&app, register, request).await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (400, "invalid_json")
    );
}

#[tokio::test]
async fn content_type_parameters_are_accepted_and_a_missing_type_is_415() {
    let app = app().await;
    let response = call(
        &app,
        register,
        event("edge/json-charset.json", &unique_email("charset"), ""),
    )
    .await;
    assert_eq!(response.status(), 201, "{:?}", json(&response));

    let response = call(
        &app,
        register,
        event("edge/no-content-type.json", &unique_email("notype"), ""),
    )
    .await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (415, "unsupported_media_type")
    );

    let response = call(
        &app,
        register,
        event("edge/empty-body.json", &unique_email("empty"), ""),
    )
    .await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (400, "invalid_json")
    );
}

#[tokio::test]
async fn the_whole_flow_from_events() {
    let app = app().await;
    let (email, token) = user_and_token(&app).await;

    let response = call(&app, credentials, event("credentials.json", &email, &token)).await;
    assert_eq!(response.status(), 200, "{:?}", json(&response));
    let response = call(
        &app,
        credentials,
        event("v1/credentials.json", &email, &token),
    )
    .await;
    assert_eq!(response.status(), 200, "{:?}", json(&response));

    let response = call(
        &app,
        buckets_list,
        event("buckets-list.json", &email, &token),
    )
    .await;
    assert_eq!(response.status(), 200, "{:?}", json(&response));
    let response = call(
        &app,
        buckets_select,
        event("buckets-select.json", &email, &token),
    )
    .await;
    assert_eq!(response.status(), 200, "{:?}", json(&response));
    assert_eq!(json(&response)["cloudtrail"]["found"], true);
    let response = call(&app, events, event("events.json", &email, &token)).await;
    assert_eq!(response.status(), 200, "{:?}", json(&response));
    let page = json(&response);
    let shown = page["events"].as_array().expect("events");
    assert_eq!(shown.len(), 5, "the event's query string asks for five");
    assert!(
        shown.iter().all(|e| e["error_code"].is_string()),
        "and only failures"
    );

    let response = call(&app, logout, event("logout.json", &email, &token)).await;
    assert_eq!(response.status(), 204);
    let response = call(&app, me, event("me.json", &email, &token)).await;
    assert_eq!(response.status(), 401);
}
