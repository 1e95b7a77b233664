//! A bare `lambda_http` function: the floor Trailport's cold start is compared with.
//!
//! It sets up the runtime the way Trailport's functions do (a current-thread tokio runtime and
//! Lambda's default log subscriber), so the difference between the two is what Trailport does
//! at cold start and per request, not how the runtime was chosen.

use lambda_http::{Body, Error, Request, Response, service_fn};

async fn hello(_req: Request) -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::from(r#"{"hello":"world"}"#))?)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    lambda_http::run(service_fn(hello)).await
}
