//! The console function's responses: the page and its assets, with their types, caching and
//! security headers, and refusals for unknown assets and other methods. It needs no stack.

use lambda_http::http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};
use trailport::console::{CONTENT_SECURITY_POLICY, Console, handle};
use trailport::runtime::dispatch_static;

fn request(method: &str, path: &str) -> Request {
    lambda_http::http::Request::builder()
        .method(method)
        .uri(format!("https://console.example.com{path}"))
        .body(Body::Empty)
        .expect("request")
}

fn serve(method: &str, path: &str) -> Response<Body> {
    dispatch_static("test", request(method, path), handle)
}

fn header<'a>(response: &'a Response<Body>, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .expect("ASCII header")
}

fn body(response: &Response<Body>) -> Vec<u8> {
    match response.body() {
        Body::Text(text) => text.as_bytes().to_vec(),
        Body::Binary(bytes) => bytes.clone(),
        _ => Vec::new(),
    }
}

fn assert_secured(response: &Response<Body>) {
    assert_eq!(
        header(response, "content-security-policy"),
        CONTENT_SECURITY_POLICY
    );
    assert_eq!(header(response, "x-content-type-options"), "nosniff");
}

#[test]
fn the_page_is_html_revalidated_every_time_under_a_strict_policy() {
    let response = serve("GET", "/");
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, CONTENT_TYPE.as_str()),
        "text/html; charset=utf-8"
    );
    assert_eq!(header(&response, CACHE_CONTROL.as_str()), "no-cache");
    assert_secured(&response);
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(CONTENT_SECURITY_POLICY.contains(directive), "{directive}");
    }
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
}

#[test]
fn the_page_has_no_inline_script_or_style_for_the_policy_to_block() {
    let page = String::from_utf8(body(&serve("GET", "/"))).expect("UTF-8");
    assert!(!page.contains("{{"), "a placeholder was left in the page");
    assert!(!page.contains("<style"));
    assert!(!page.contains(" style="));
    let handler = page.split_whitespace().find(|token| {
        token.strip_prefix("on").is_some_and(|rest| {
            rest.split_once('=')
                .is_some_and(|(name, _)| name.chars().all(|c| c.is_ascii_alphabetic()))
        })
    });
    assert_eq!(handler, None, "an inline event handler");
    for script in page.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap_or_default();
        assert!(
            tag.contains(" src=\"/assets/"),
            "an inline script: <script{tag}>"
        );
    }
}

#[test]
fn the_page_names_assets_by_their_content_hash_and_they_are_cached_for_a_year() {
    let console = Console::new();
    let page = String::from_utf8(body(&serve("GET", "/"))).expect("UTF-8");
    for (name, content_type) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
    ] {
        let url = console.url(name).expect("asset URL");
        assert!(page.contains(&format!("\"{url}\"")), "the page links {url}");

        let response = serve("GET", url);
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(header(&response, CONTENT_TYPE.as_str()), content_type);
        assert_eq!(
            header(&response, CACHE_CONTROL.as_str()),
            "public, max-age=31536000, immutable"
        );
        assert_secured(&response);

        let digest = hex::encode(&Sha256::digest(body(&response))[..8]);
        let (stem, extension) = name.split_once('.').expect("name.ext");
        assert_eq!(url, format!("/assets/{stem}.{digest}.{extension}"));
    }
}

#[test]
fn an_unknown_or_stale_asset_is_a_404_that_no_cache_keeps() {
    let console = Console::new();
    let current = console.url("app.js").expect("asset URL");
    for path in [
        "/assets/app.0000000000000000.js",
        "/assets/app.js",
        "/assets/",
        "/assets/../Cargo.toml",
        &format!("{current}x"),
    ] {
        let response = serve("GET", path);
        assert_eq!(response.status(), 404, "{path}");
        assert_eq!(header(&response, CACHE_CONTROL.as_str()), "no-store");
        assert_secured(&response);
    }
}

#[test]
fn a_stage_prefix_before_the_path_still_finds_the_page_and_the_assets() {
    let console = Console::new();
    let url = console.url("app.css").expect("asset URL");
    assert_eq!(serve("GET", "/prod/").status(), 200);
    assert_eq!(serve("GET", &format!("/prod{url}")).status(), 200);
}

#[test]
fn head_answers_like_get_without_a_body() {
    let response = serve("HEAD", "/");
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, CACHE_CONTROL.as_str()), "no-cache");
    assert!(body(&response).is_empty());
}

#[test]
fn other_methods_get_a_json_405_naming_the_allowed_ones() {
    let console = Console::new();
    let url = console.url("app.js").expect("asset URL").to_owned();
    for (method, path) in [("POST", "/"), ("PUT", url.as_str()), ("DELETE", "/")] {
        let response = serve(method, path);
        assert_eq!(response.status(), 405, "{method} {path}");
        assert_eq!(header(&response, ALLOW.as_str()), "GET, HEAD");
        let error: serde_json::Value = serde_json::from_slice(&body(&response)).expect("JSON");
        assert_eq!(error["error"]["code"], "method_not_allowed");
    }
}
