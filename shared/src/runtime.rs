//! Running a handler on Lambda: logging, settings, and turning errors into responses.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_http::{Body, Request, Response, service_fn};
use tracing::Instrument;

use crate::api::HandlerResult;
use crate::app::App;
use crate::http::{client_address, error_response};

/// What a function's `main` returns when the runtime stops it.
pub type Error = lambda_http::Error;

/// Runs `handler` for one request and logs one line about it: endpoint, user, status, error
/// code and latency. Bodies are never logged; a server error's cause chain is, once, here.
pub async fn dispatch<F, Fut>(
    app: Arc<App>,
    endpoint: &'static str,
    req: Request,
    handler: F,
) -> Response<Body>
where
    F: FnOnce(Arc<App>, Request) -> Fut,
    Fut: Future<Output = HandlerResult>,
{
    let started = Instant::now();
    let span = request_span(endpoint, &req);

    async move { log_outcome(handler(app, req).await, started) }
        .instrument(span)
        .await
}

/// The span every request's log lines carry: endpoint, method, the client's address (from API
/// Gateway's request context, never a header) and, once known, the signed-in user.
fn request_span(endpoint: &'static str, req: &Request) -> tracing::Span {
    tracing::info_span!(
        "request",
        endpoint,
        method = %req.method(),
        client = client_address(req).unwrap_or_default(),
        user = tracing::field::Empty,
    )
}

/// Logs one request's outcome and turns it into its response.
fn log_outcome(result: HandlerResult, started: Instant) -> Response<Body> {
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(response) => {
            tracing::info!(status = response.status().as_u16(), latency_ms, "done");
            response
        }
        Err(err) if err.status().is_server_error() => {
            let cause = err.cause_chain().unwrap_or_default();
            tracing::error!(
                status = err.status().as_u16(),
                code = err.code(),
                latency_ms,
                cause,
                "failed"
            );
            error_response(&err)
        }
        Err(err) => {
            tracing::info!(
                status = err.status().as_u16(),
                code = err.code(),
                latency_ms,
                "refused"
            );
            error_response(&err)
        }
    }
}

/// A function's whole `main`: builds the async runtime and runs [`serve`] on it.
///
/// The runtime has one thread for requests and one for blocking work (password hashing).
/// Lambda sends an instance one request at a time, so more would only cost memory: each new
/// thread that hashes gets its own allocator arena, which keeps Argon2's 19 MiB afterwards, and
/// a handful of them would outgrow a 128 MB function.
pub fn start<F, Fut>(endpoint: &'static str, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Arc<App>, Request) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = HandlerResult> + Send,
{
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(1)
        .thread_keep_alive(Duration::from_secs(24 * 3600))
        .build()?
        .block_on(serve(endpoint, handler))
}

/// Sets up Lambda's log format, builds the app once (or stops with one log line naming the bad
/// setting), then serves `handler` until the runtime ends.
pub async fn serve<F, Fut>(endpoint: &'static str, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Arc<App>, Request) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = HandlerResult> + Send,
{
    lambda_http::tracing::init_default_subscriber();

    let app = match App::from_env().await {
        Ok(app) => Arc::new(app),
        Err(err) => {
            tracing::error!(setting = err.name, "cannot start: {err}");
            return Err(err.into());
        }
    };

    lambda_http::run(service_fn(move |req: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(dispatch(app, endpoint, req, handler).await) }
    }))
    .await
}

/// A `main` for a function that needs no settings, table or AWS clients (the console): the same
/// log format and per-request log line as [`start`], and nothing read from the environment,
/// so it cannot fail to start for want of a secret it never uses.
pub fn start_static(
    endpoint: &'static str,
    handler: fn(Request) -> HandlerResult,
) -> Result<(), lambda_http::Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            lambda_http::tracing::init_default_subscriber();
            lambda_http::run(service_fn(move |req: Request| async move {
                Ok::<_, Infallible>(dispatch_static(endpoint, req, handler))
            }))
            .await
        })
}

/// Runs a handler that needs no [`App`] for one request, logging it as [`dispatch`] does.
pub fn dispatch_static(
    endpoint: &'static str,
    req: Request,
    handler: fn(Request) -> HandlerResult,
) -> Response<Body> {
    let started = Instant::now();
    let span = request_span(endpoint, &req);
    let _entered = span.enter();
    log_outcome(handler(req), started)
}
