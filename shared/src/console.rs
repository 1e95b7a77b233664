//! The browser console: a page and its script and style sheet, embedded in the binary and
//! served from the API's own origin so the session cookie reaches the API without CORS.
//!
//! Asset URLs carry a hash of their content (`/assets/app.<hash>.js`), so browsers may keep
//! them for a year: a new build changes the hash, and the page, which is never cached without
//! revalidation, names the new URL. The hashes are computed once, at cold start.

use std::collections::HashMap;
use std::sync::LazyLock;

use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderName};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};

use crate::api::HandlerResult;
use crate::error::ApiError;

/// The policy every console response carries: only the console's own script, style sheet and
/// API, no inline code, no framing, no forms posting elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; \
    frame-ancestors 'none'; base-uri 'none'";

/// `Cache-Control` for content-hashed assets, whose URL changes whenever their bytes do.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` for the page: a browser may keep it but must ask before using it again, so
/// a deployment is seen at the next visit.
pub const REVALIDATE: &str = "no-cache";

const CSP: HeaderName = HeaderName::from_static("content-security-policy");
const NOSNIFF: HeaderName = HeaderName::from_static("x-content-type-options");
const REFERRER_POLICY: HeaderName = HeaderName::from_static("referrer-policy");

/// The page; `{{app.css}}` and `{{app.js}}` stand for the assets' hashed URLs.
const INDEX_TEMPLATE: &str = include_str!("../console/index.html");

/// The assets, by their unhashed name.
const SOURCES: [(&str, &str, &[u8]); 2] = [
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../console/app.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../console/app.css"),
    ),
];

struct Asset {
    content_type: &'static str,
    bytes: &'static [u8],
}

/// The page, with its asset URLs filled in, and the assets by hashed file name.
pub struct Console {
    index: String,
    assets: HashMap<String, Asset>,
    urls: HashMap<&'static str, String>,
}

impl Console {
    /// Hashes every asset and writes their URLs into the page.
    pub fn new() -> Self {
        let mut index = INDEX_TEMPLATE.to_owned();
        let mut assets = HashMap::new();
        let mut urls = HashMap::new();
        for (name, content_type, bytes) in SOURCES {
            let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
            // 64 bits of SHA-256 tell builds apart; the URL is not a security boundary.
            let digest = hex::encode(&Sha256::digest(bytes)[..8]);
            let file = format!("{stem}.{digest}.{extension}");
            let url = format!("/assets/{file}");
            index = index.replace(&format!("{{{{{name}}}}}"), &url);
            urls.insert(name, url);
            assets.insert(
                file,
                Asset {
                    content_type,
                    bytes,
                },
            );
        }
        Self {
            index,
            assets,
            urls,
        }
    }

    /// The hashed URL of the asset `name` (`"app.js"` or `"app.css"`).
    pub fn url(&self, name: &str) -> Option<&str> {
        self.urls.get(name).map(String::as_str)
    }

    /// Answers one request: the page for any path outside `/assets/`, an asset by its hashed
    /// name, 404 for any other asset, 405 for methods other than GET and HEAD.
    pub fn respond(&self, req: &Request) -> HandlerResult {
        let head = req.method() == Method::HEAD;
        if !head && req.method() != Method::GET {
            return Err(ApiError::method_not_allowed("GET, HEAD"));
        }

        // A stage name may come before the path (`/prod/assets/…`), so the route is found by
        // its last `/assets/`; API Gateway sends this function nothing but `/` and assets.
        let path = req.uri().path();
        let (status, content_type, cache, bytes): (_, _, _, &[u8]) =
            match path.rfind("/assets/").map(|at| &path[at + 8..]) {
                None => (
                    StatusCode::OK,
                    "text/html; charset=utf-8",
                    REVALIDATE,
                    self.index.as_bytes(),
                ),
                Some(file) => match self.assets.get(file) {
                    Some(asset) => (StatusCode::OK, asset.content_type, IMMUTABLE, asset.bytes),
                    // Not cached, so an asset that a half-finished deployment lacks for a
                    // moment is fetched again later.
                    None => (
                        StatusCode::NOT_FOUND,
                        "text/plain; charset=utf-8",
                        "no-store",
                        b"Not found\n".as_slice(),
                    ),
                },
            };

        let body = if head {
            Body::Empty
        } else {
            Body::Binary(bytes.to_vec())
        };
        Response::builder()
            .status(status)
            .header(CONTENT_TYPE, content_type)
            .header(CACHE_CONTROL, cache)
            .header(CSP, CONTENT_SECURITY_POLICY)
            .header(NOSNIFF, "nosniff")
            .header(REFERRER_POLICY, "no-referrer")
            .body(body)
            .map_err(ApiError::internal)
    }
}

impl Default for Console {
    fn default() -> Self {
        Self::new()
    }
}

static CONSOLE: LazyLock<Console> = LazyLock::new(Console::new);

/// The console function's handler: see [`Console::respond`].
pub fn handle(req: Request) -> HandlerResult {
    CONSOLE.respond(&req)
}
