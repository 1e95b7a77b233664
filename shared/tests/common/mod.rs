//! What the integration tests share: an app wired to the local moto stack, request builders,
//! and helpers that create IAM fixtures in the customer's account.
//!
//! The stack is started by `scripts/test.sh`, which exports the same settings and
//! `AWS_ENDPOINT_URL_*` variables the functions get, so these tests take the production path.

#![allow(dead_code, missing_docs)]

use std::process::Command;
use std::sync::Arc;

use lambda_http::http::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use trailport::App;
use trailport::api::HandlerResult;
use trailport::clock::{Clock, ManualClock, SystemClock};
use trailport::config::Settings;
use trailport::runtime::dispatch;

pub const PASSWORD: &str = "correct horse battery staple";

/// The directory `scripts/test.sh` keeps the stack's state in.
pub fn state_dir() -> String {
    std::env::var("TRAILPORT_STATE_DIR")
        .expect("TRAILPORT_STATE_DIR is unset: run these tests through `make test`")
}

pub fn settings() -> Settings {
    Settings::from_env().expect("settings from the stack's env: run through `make test`")
}

pub async fn app_with(settings: Settings, clock: Arc<dyn Clock>) -> Arc<App> {
    let sdk = trailport::app::load_sdk_config().await;
    Arc::new(App::new(settings, &sdk, clock).expect("app"))
}

pub async fn app() -> Arc<App> {
    app_with(settings(), Arc::new(SystemClock)).await
}

/// An app whose clock the test moves, starting at the real time.
pub async fn app_with_clock() -> (Arc<App>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    (app_with(settings(), clock.clone()).await, clock)
}

/// An email no other test uses.
pub fn unique_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", trailport::session::random_id())
}

pub fn post(path: &str, body: &str) -> Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("https://api.example.com{path}"))
        .header(CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request")
}

pub fn get(path: &str) -> Request {
    lambda_http::http::Request::builder()
        .method("GET")
        .uri(format!("https://api.example.com{path}"))
        .body(Body::Empty)
        .expect("request")
}

/// A GET with query string parameters, as API Gateway hands them to the function.
pub fn get_query(path: &str, params: &[(&str, &str)]) -> Request {
    use lambda_http::RequestExt;
    let mut map: std::collections::HashMap<String, Vec<String>> = Default::default();
    for (name, value) in params {
        map.entry((*name).to_owned())
            .or_default()
            .push((*value).to_owned());
    }
    get(path).with_query_string_parameters(map)
}

pub fn with_cookie(mut req: Request, cookie: &str) -> Request {
    req.headers_mut()
        .append(COOKIE, cookie.parse().expect("cookie header"));
    req
}

pub async fn call<F, Fut>(app: &Arc<App>, handler: F, req: Request) -> Response<Body>
where
    F: FnOnce(Arc<App>, Request) -> Fut,
    Fut: std::future::Future<Output = HandlerResult>,
{
    dispatch(Arc::clone(app), "test", req, handler).await
}

pub fn json(response: &Response<Body>) -> Value {
    match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("JSON body"),
        Body::Binary(bytes) => serde_json::from_slice(bytes).expect("JSON body"),
        _ => Value::Null,
    }
}

pub fn error_code(response: &Response<Body>) -> String {
    json(response)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The `name=value` part of the response's session cookie.
pub fn session_cookie(response: &Response<Body>) -> String {
    let header = response
        .headers()
        .get(SET_COOKIE)
        .expect("Set-Cookie")
        .to_str()
        .expect("ascii");
    header.split(';').next().expect("name=value").to_owned()
}

/// The external id Trailport generated for `email`'s account.
pub async fn external_id_of(app: &Arc<App>, email: &str) -> String {
    app.store
        .user(email)
        .await
        .expect("read")
        .expect("user")
        .external_id
}

/// Registers and signs in a new user; returns the email and the `name=value` cookie.
pub async fn signed_in_user(app: &Arc<App>, tag: &str) -> (String, String) {
    let email = unique_email(tag);
    let body = serde_json::json!({"email": email, "password": PASSWORD}).to_string();
    let registered = call(app, trailport::api::register, post("/api/register", &body)).await;
    assert_eq!(registered.status(), 201, "{:?}", json(&registered));
    let login = call(app, trailport::api::login, post("/api/login", &body)).await;
    assert_eq!(login.status(), 200, "{:?}", json(&login));
    (email, session_cookie(&login))
}

fn stack(args: &[&str]) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::new("python")
        .current_dir(root)
        .arg("local/stack.py")
        .args(args)
        .args(["--state", &state_dir()])
        .output()
        .expect("run local/stack.py (is .venv/bin on PATH?)");
    assert!(
        output.status.success(),
        "stack.py {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

/// Creates a role in the customer account that trusts Trailport; with `external_id` it is
/// required as sts:ExternalId, without it anyone trusted may assume the role.
pub fn create_role(external_id: Option<&str>) -> String {
    match external_id {
        Some(id) => stack(&["role", "--external-id", id]),
        None => stack(&["role", "--no-condition"]),
    }
}

/// Creates a role whose trust policy accepts any external id at all (`StringLike "*"`).
pub fn create_role_for_any_external_id() -> String {
    stack(&["role", "--any-external-id"])
}

/// Creates an empty table with Trailport's schema; returns its name.
pub fn create_table(tag: &str) -> String {
    stack(&[
        "table",
        "--name",
        &format!("{tag}-{}", &trailport::session::random_id()[..8]),
    ])
}

/// Creates an IAM user in the customer account; returns its key id and secret.
pub fn create_user(name_tag: &str, s3_permissions: bool) -> (String, String) {
    let name = format!("{name_tag}-{}", &trailport::session::random_id()[..8]);
    let mut args = vec!["user", "--name", name.as_str()];
    if !s3_permissions {
        args.push("--no-permissions");
    }
    let out = stack(&args);
    let (key, secret) = out.split_once(' ').expect("KEY SECRET");
    (key.to_owned(), secret.to_owned())
}

/// Creates a bucket whose one date holds `files` log files of one event each in eu-west-1,
/// and one more in us-east-1 at 19:59; returns its name.
pub fn create_busy_trail(files: usize) -> String {
    let bucket = format!("busy-{}", &trailport::session::random_id()[..8]);
    stack(&[
        "busy-trail",
        "--bucket",
        &bucket,
        "--files",
        &files.to_string(),
    ])
}

/// Creates an IAM user that may read S3 but not describe CloudTrail trails.
pub fn create_user_without_cloudtrail(name_tag: &str) -> (String, String) {
    let name = format!("{name_tag}-{}", &trailport::session::random_id()[..8]);
    let out = stack(&["user", "--name", name.as_str(), "--no-cloudtrail"]);
    let (key, secret) = out.split_once(' ').expect("KEY SECRET");
    (key.to_owned(), secret.to_owned())
}

/// The events the local stack seeded into `bucket`, newest first, as local/trail_fixtures.py
/// made them.
pub fn seeded_events(bucket: &str) -> Vec<Value> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = Command::new("python")
        .current_dir(root)
        .args(["local/trail_fixtures.py", "events", bucket])
        .output()
        .expect("run local/trail_fixtures.py");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

/// The seeded demo user's keys.
pub fn demo_keys() -> (String, String) {
    let path = format!("{}/state.json", state_dir());
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("state.json")).expect("JSON");
    let pair = &state["demo"];
    (
        pair[0].as_str().expect("key").to_owned(),
        pair[1].as_str().expect("secret").to_owned(),
    )
}

/// `POST /api/credentials` with `body` as `cookie`'s user.
pub async fn post_credentials(app: &Arc<App>, cookie: &str, body: Value) -> Response<Body> {
    call(
        app,
        trailport::api::credentials,
        with_cookie(post("/api/credentials", &body.to_string()), cookie),
    )
    .await
}

/// Connects `cookie`'s user with the demo keys.
pub async fn connect_demo_keys(app: &Arc<App>, cookie: &str) {
    let (key, secret) = demo_keys();
    let body = serde_json::json!({"access_key": key, "secret_key": secret});
    let response = post_credentials(app, cookie, body).await;
    assert_eq!(response.status(), 200, "{:?}", json(&response));
}
