//! Failing dependencies: an unreachable table, a customer endpoint that hangs, and a connection
//! that dies under a request. Each test puts a small TCP stand-in on 127.0.0.1 between the SDK
//! and the real local stack (or in place of it), and stops it when the test ends.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
use common::*;
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use trailport::App;
use trailport::api::{credentials, login, me, register};
use trailport::aws_access::CustomerAws;
use trailport::clock::SystemClock;
use trailport::store::Store;

/// A port on 127.0.0.1 with nothing listening on it.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// A server that accepts connections and reads requests but never answers. Its task ends
/// with the test's runtime.
async fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer).await;
            held.push(stream);
        }
    });
    port
}

/// A proxy to `upstream` that cuts the first `drops` connections as soon as a request arrives,
/// as a connection gone stale during a freeze does, and relays the rest.
async fn flaky_proxy(upstream: String, drops: usize) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if n < drops {
                    let mut buffer = [0u8; 4096];
                    let _ = client.read(&mut buffer).await;
                    return;
                }
                if let Ok(mut server) = TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (port, seen)
}

/// The app, with its own table reached at `endpoint` instead of the stack's.
async fn app_with_table_at(endpoint: &str) -> Arc<App> {
    let sdk = trailport::app::load_sdk_config().await;
    let mut app = App::new(settings(), &sdk, Arc::new(SystemClock)).expect("app");
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .endpoint_url(endpoint)
        .build();
    app.store = Store::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        app.settings.table_name.clone(),
    );
    Arc::new(app)
}

/// Points every service's endpoint at one address, in place of the `AWS_ENDPOINT_URL_*`
/// variables, which the SDK would otherwise prefer to an endpoint set in code.
#[derive(Debug)]
struct AllEndpointsAt(String);

impl LoadServiceConfig for AllEndpointsAt {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        (key.profile() == "endpoint_url").then(|| self.0.clone())
    }
}

/// The app, with customers' AWS (STS and S3) reached at `endpoint`.
async fn app_with_customer_aws_at(endpoint: &str) -> Arc<App> {
    let sdk = trailport::app::load_sdk_config().await;
    let mut app = App::new(settings(), &sdk, Arc::new(SystemClock)).expect("app");
    let customer = sdk
        .to_builder()
        .service_config(AllEndpointsAt(endpoint.to_owned()))
        .build();
    app.aws = CustomerAws::new(&customer);
    Arc::new(app)
}

#[tokio::test]
async fn an_unreachable_table_is_a_clear_503_and_nothing_is_half_written() {
    let (_, cookie) = signed_in_user(&app().await, "down").await;
    let down = app_with_table_at(&format!("http://127.0.0.1:{}", closed_port().await)).await;
    let email = unique_email("down");
    let body = json!({"email": email, "password": PASSWORD}).to_string();

    for response in [
        call(&down, register, post("/api/register", &body)).await,
        call(&down, login, post("/api/login", &body)).await,
        call(&down, me, with_cookie(get("/api/me"), &cookie)).await,
    ] {
        assert_eq!(
            (response.status().as_u16(), error_code(&response).as_str()),
            (503, "store_unavailable")
        );
    }
    assert!(
        app()
            .await
            .store
            .user(&email)
            .await
            .expect("read")
            .is_none()
    );
}

#[tokio::test]
async fn a_hanging_customer_endpoint_is_cut_off_with_a_504() {
    let app = app().await;
    let (email, cookie) = signed_in_user(&app, "hang").await;
    let hanging =
        app_with_customer_aws_at(&format!("http://127.0.0.1:{}", silent_server().await)).await;
    let (key, secret) = demo_keys();

    let body = json!({"access_key": key, "secret_key": secret}).to_string();
    let response = call(
        &hanging,
        credentials,
        with_cookie(post("/api/credentials", &body), &cookie),
    )
    .await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (504, "aws_timeout")
    );
    assert!(
        app.store
            .user(&email)
            .await
            .expect("read")
            .expect("user")
            .connection
            .is_none()
    );
}

#[tokio::test]
async fn a_connection_that_dies_under_a_request_is_retried() {
    let stack = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("the stack's table endpoint");
    let upstream = stack.trim_start_matches("http://").to_owned();
    let (port, seen) = flaky_proxy(upstream, 1).await;
    let flaky = app_with_table_at(&format!("http://127.0.0.1:{port}")).await;

    let body = json!({"email": unique_email("retry"), "password": PASSWORD}).to_string();
    let response = call(&flaky, register, post("/api/register", &body)).await;
    assert_eq!(response.status(), 201, "{:?}", json(&response));
    assert!(
        seen.load(Ordering::SeqCst) >= 2,
        "the first connection was cut and a second one made"
    );
}
