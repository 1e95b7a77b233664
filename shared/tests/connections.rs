//! Connecting AWS accounts and choosing buckets, against the local moto stack, whose customer
//! account checks every signature, policy and trust policy.

mod common;

use std::sync::Arc;

use common::*;
use secrecy::ExposeSecret;
use serde_json::json;
use trailport::api::{buckets_list, buckets_select, credentials, me};
use trailport::clock::SystemClock;
use trailport::store::Connection;

async fn select(
    app: &Arc<trailport::App>,
    cookie: &str,
    body: serde_json::Value,
) -> lambda_http::Response<lambda_http::Body> {
    call(
        app,
        buckets_select,
        with_cookie(post("/api/buckets/select", &body.to_string()), cookie),
    )
    .await
}

async fn stored_connection(app: &trailport::App, email: &str) -> Option<Connection> {
    app.store
        .user(email)
        .await
        .expect("read")
        .expect("user")
        .connection
}

#[tokio::test]
async fn valid_keys_are_checked_with_aws_and_stored_encrypted() {
    let app = app().await;
    let (email, cookie) = signed_in_user(&app, "keys").await;
    let (key, secret) = demo_keys();

    let response = post_credentials(
        &app,
        &cookie,
        json!({"access_key": key, "secret_key": secret}),
    )
    .await;
    assert_eq!(response.status(), 200, "{:?}", json(&response));
    let view = json(&response);
    assert_eq!(view["type"], "access_key");
    assert_eq!(view["account_id"], "123456789012");
    assert_eq!(view["arn"], "arn:aws:iam::123456789012:user/demo-analyst");
    assert_eq!(
        view["access_key_id_hint"],
        format!("{}…{}", &key[..4], &key[16..])
    );
    let text = view.to_string();
    assert!(!text.contains(&secret) && !text.contains(&key), "{text}");

    let Some(Connection::AccessKey {
        secret_key_token,
        access_key_id,
        ..
    }) = stored_connection(&app, &email).await
    else {
        panic!("an access-key connection is stored");
    };
    assert_eq!(access_key_id, key);
    assert!(!secret_key_token.contains(&secret));
    let opened = app
        .settings
        .vault
        .decrypt(&secret_key_token)
        .expect("decrypts");
    assert_eq!(opened.expose_secret(), secret);

    let me_view = json(&call(&app, me, with_cookie(get("/api/me"), &cookie)).await);
    assert_eq!(me_view["connection"]["type"], "access_key");
    assert!(!me_view.to_string().contains(&secret));
}

#[tokio::test]
async fn keys_aws_refuses_are_400_and_nothing_is_stored() {
    let app = app().await;
    let (email, cookie) = signed_in_user(&app, "badkeys").await;
    let (key, secret) = demo_keys();
    let wrong_secret: String = secret.chars().rev().collect();

    let response = post_credentials(
        &app,
        &cookie,
        json!({"access_key": key, "secret_key": wrong_secret}),
    )
    .await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (400, "aws_credentials_invalid")
    );
    let response = post_credentials(
        &app,
        &cookie,
        json!({"access_key": "AKIAAAAAAAAAAAAAAAAA", "secret_key": secret}),
    )
    .await;
    assert_eq!(error_code(&response), "aws_credentials_invalid");
    assert!(stored_connection(&app, &email).await.is_none());
}

#[tokio::test]
async fn malformed_and_temporary_keys_are_refused_before_aws_is_asked() {
    let app = app().await;
    let (email, cookie) = signed_in_user(&app, "shape").await;
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let cases = [
        (
            json!({"access_key": "ASIAIOSFODNN7EXAMPLE", "secret_key": secret}),
            "temporary_credentials",
        ),
        (
            json!({"access_key": "AKIA123", "secret_key": secret}),
            "invalid_access_key",
        ),
        (
            json!({"access_key": "AKIAIOSFODNN7EXAMPLE", "secret_key": "short"}),
            "invalid_secret_key",
        ),
        (
            json!({"access_key": "AKIAIOSFODNN7EXAMPLE"}),
            "invalid_request",
        ),
        (json!({"secret_key": secret}), "invalid_request"),
        (json!({}), "invalid_request"),
        (
            json!({"access_key": "AKIAIOSFODNN7EXAMPLE", "secret_key": secret,
                   "external_id": "mine"}),
            "unknown_field",
        ),
        (
            json!({"access_key": "AKIAIOSFODNN7EXAMPLE", "secret_key": secret,
                   "role_arn": "arn:aws:iam::123456789012:user/x"}),
            "invalid_role_arn",
        ),
    ];
    for (body, code) in cases {
        let response = post_credentials(&app, &cookie, body.clone()).await;
        assert_eq!(
            (response.status().as_u16(), error_code(&response).as_str()),
            (400, code),
            "{body}"
        );
        assert!(!json(&response).to_string().contains(secret));
    }
    assert!(stored_connection(&app, &email).await.is_none());
}

#[tokio::test]
async fn credentials_need_a_session() {
    let app = app().await;
    let (key, secret) = demo_keys();
    let body = json!({"access_key": key, "secret_key": secret}).to_string();
    let response = call(&app, credentials, post("/api/credentials", &body)).await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn a_stranger_gets_401_whatever_the_body() {
    let app = app().await;
    let cases = [
        (
            post("/api/credentials", r#"{"nonsense": true}"#),
            "credentials",
        ),
        (
            post("/api/buckets/select", r#"{"bucket": "Not_A_Bucket"}"#),
            "select",
        ),
        (
            post(
                "/api/buckets/select",
                r#"{"bucket": "ok-name", "prefix": "../x"}"#,
            ),
            "select",
        ),
    ];
    let oversized = format!(r#"{{"bucket": "{}"}}"#, "a".repeat(20 * 1024));
    let malformed = [
        "{bad",
        "[]",
        "",
        r#"{"bucket": "x", "bucket": "y"}"#,
        oversized.as_str(),
    ];
    let mut cases: Vec<(lambda_http::Request, &str)> = cases.into_iter().collect();
    for body in malformed {
        cases.push((post("/api/credentials", body), "credentials"));
        cases.push((post("/api/buckets/select", body), "select"));
    }
    for (req, endpoint) in cases {
        let response = match endpoint {
            "credentials" => call(&app, credentials, req).await,
            _ => call(&app, buckets_select, req).await,
        };
        assert_eq!(
            (response.status().as_u16(), error_code(&response).as_str()),
            (401, "not_signed_in")
        );
    }
}

#[tokio::test]
async fn a_failed_replacement_leaves_the_old_connection_intact() {
    let app = app().await;
    let (email, cookie) = signed_in_user(&app, "keep").await;
    connect_demo_keys(&app, &cookie).await;
    let (key, secret) = demo_keys();

    let wrong: String = secret.chars().rev().collect();
    assert_eq!(
        post_credentials(
            &app,
            &cookie,
            json!({"access_key": key, "secret_key": wrong})
        )
        .await
        .status(),
        400
    );
    // A role that requires some other user's external id, in the same 32-hex-digit form.
    let role = create_role(Some("0123456789abcdef0123456789abcdef"));
    assert_eq!(
        post_credentials(&app, &cookie, json!({"role_arn": role}))
            .await
            .status(),
        403
    );

    let Some(Connection::AccessKey {
        secret_key_token, ..
    }) = stored_connection(&app, &email).await
    else {
        panic!("the original keys are still stored");
    };
    assert_eq!(
        app.settings
            .vault
            .decrypt(&secret_key_token)
            .expect("decrypts")
            .expose_secret(),
        secret
    );
}

#[tokio::test]
async fn a_role_arn_sent_with_keys_is_kept_as_information_and_the_keys_are_used() {
    let app = app().await;
    let (email, cookie) = signed_in_user(&app, "keysrole").await;
    let (key, secret) = demo_keys();
    let role = "arn:aws:iam::123456789012:role/NotChecked";

    let response = post_credentials(
        &app,
        &cookie,
        json!({"access_key": key, "secret_key": secret, "role_arn": role}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(json(&response)["role_arn"], role);
    assert!(matches!(
        stored_connection(&app, &email).await,
        Some(Connection::AccessKey {
            role_arn: Some(_),
            ..
        })
    ));
}

#[tokio::test]
async fn a_role_that_requires_the_users_external_id_connects() {
    let app = app().await;
    let (email, cookie) = signed_in_user(&app, "role").await;
    let external_id = external_id_of(&app, &email).await;
    let role = create_role(Some(&external_id));

    let response = post_credentials(&app, &cookie, json!({"role_arn": role})).await;
    assert_eq!(response.status(), 200, "{:?}", json(&response));
    let mut view = json(&response);
    let discovery = view
        .as_object_mut()
        .and_then(|v| v.remove("trail_discovery"))
        .expect("trail_discovery");
    assert_eq!(discovery["status"], "ok");
    assert_eq!(
        view,
        json!({
            "type": "role", "role_arn": role, "account_id": "123456789012",
            "connected_at": view["connected_at"],
        })
    );

    // The role then serves the bucket listing.
    let listing = call(
        &app,
        buckets_list,
        with_cookie(get("/api/buckets"), &cookie),
    )
    .await;
    assert_eq!(listing.status(), 200, "{:?}", json(&listing));
}

#[tokio::test]
async fn roles_that_do_not_protect_against_the_confused_deputy_are_refused() {
    let app = app().await;
    let (email, cookie) = signed_in_user(&app, "deputy").await;

    let open_role = create_role(None);
    let response = post_credentials(&app, &cookie, json!({"role_arn": open_role})).await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (400, "role_trust_too_broad")
    );

    let wildcard_role = create_role_for_any_external_id();
    let response = post_credentials(&app, &cookie, json!({"role_arn": wildcard_role})).await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (400, "role_trust_too_broad")
    );

    let someone_elses = create_role(Some("0123456789abcdef0123456789abcdef"));
    let response = post_credentials(&app, &cookie, json!({"role_arn": someone_elses})).await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (403, "role_not_assumable")
    );

    let missing = "arn:aws:iam::123456789012:role/DoesNotExist";
    let response = post_credentials(&app, &cookie, json!({"role_arn": missing})).await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (403, "role_not_assumable")
    );

    for bad in [
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws:sts::123456789012:assumed-role/R/s",
        "arn:aws:iam::*:role/R",
    ] {
        let response = post_credentials(&app, &cookie, json!({"role_arn": bad})).await;
        assert_eq!(error_code(&response), "invalid_role_arn", "{bad}");
    }
    assert!(stored_connection(&app, &email).await.is_none());
}

#[tokio::test]
async fn role_only_connections_can_be_switched_off() {
    let mut settings = settings();
    settings.allow_role_arn = false;
    let app = app_with(settings, Arc::new(SystemClock)).await;
    let (email, cookie) = signed_in_user(&app, "norole").await;
    let external_id = external_id_of(&app, &email).await;
    let role = create_role(Some(&external_id));

    let response = post_credentials(&app, &cookie, json!({"role_arn": role})).await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (400, "role_arn_disabled")
    );
    let view = json(&call(&app, me, with_cookie(get("/api/me"), &cookie)).await);
    assert_eq!(view["role_connections_enabled"], false);

    // Keys still work, and may carry a role ARN as information.
    let (key, secret) = demo_keys();
    let response = post_credentials(
        &app,
        &cookie,
        json!({"access_key": key, "secret_key": secret, "role_arn": role}),
    )
    .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn concurrent_replacements_leave_one_whole_submission() {
    let app = app().await;
    let (email, cookie) = signed_in_user(&app, "concurrent").await;
    let users: Vec<(String, String)> = (0..4)
        .map(|i| create_user(&format!("racer{i}"), true))
        .collect();

    let mut tasks = tokio::task::JoinSet::new();
    for (key, secret) in users.clone() {
        let (app, cookie) = (Arc::clone(&app), cookie.clone());
        tasks.spawn(async move {
            post_credentials(
                &app,
                &cookie,
                json!({"access_key": key, "secret_key": secret}),
            )
            .await
            .status()
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.expect("task"), 200);
    }

    let Some(Connection::AccessKey {
        access_key_id,
        secret_key_token,
        arn,
        ..
    }) = stored_connection(&app, &email).await
    else {
        panic!("a connection is stored");
    };
    let (_, secret) = users
        .iter()
        .find(|(k, _)| *k == access_key_id)
        .expect("one of the submissions");
    assert_eq!(
        app.settings
            .vault
            .decrypt(&secret_key_token)
            .expect("decrypts")
            .expose_secret(),
        secret
    );
    let index = users
        .iter()
        .position(|(k, _)| *k == access_key_id)
        .expect("index");
    assert!(
        arn.contains(&format!("user/racer{index}-")),
        "{arn} belongs to key {index}"
    );
}

#[tokio::test]
async fn the_listing_shows_every_bucket_of_the_connected_account() {
    let app = app().await;
    let (_, cookie) = signed_in_user(&app, "list").await;

    let response = call(
        &app,
        buckets_list,
        with_cookie(get("/api/buckets"), &cookie),
    )
    .await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (400, "not_connected")
    );

    connect_demo_keys(&app, &cookie).await;
    let body = json(
        &call(
            &app,
            buckets_list,
            with_cookie(get("/api/buckets"), &cookie),
        )
        .await,
    );
    let buckets = body["buckets"].as_array().expect("array");
    let find = |name: &str| {
        buckets
            .iter()
            .find(|b| b["name"] == name)
            .unwrap_or_else(|| panic!("{name} listed"))
    };
    assert_eq!(find("demo-cloudtrail-logs")["region"], "us-east-1");
    assert_eq!(find("demo-org-trail")["region"], "eu-west-1");
    assert!(find("demo-website-assets")["created_at"].as_str().is_some());
    assert_eq!(body["selected"], serde_json::Value::Null);
}

#[tokio::test]
async fn a_user_without_s3_permissions_gets_a_clear_403() {
    let app = app().await;
    let (_, cookie) = signed_in_user(&app, "noperm").await;
    let (key, secret) = create_user("noperm", false);
    assert_eq!(
        post_credentials(
            &app,
            &cookie,
            json!({"access_key": key, "secret_key": secret})
        )
        .await
        .status(),
        200
    );

    let response = call(
        &app,
        buckets_list,
        with_cookie(get("/api/buckets"), &cookie),
    )
    .await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (403, "aws_access_denied")
    );
}

#[tokio::test]
async fn selecting_finds_cloudtrails_layout_and_remembers_the_choice() {
    let app = app().await;
    let (_, cookie) = signed_in_user(&app, "select").await;
    connect_demo_keys(&app, &cookie).await;

    let response = select(&app, &cookie, json!({"bucket": "demo-cloudtrail-logs"})).await;
    assert_eq!(response.status(), 200, "{:?}", json(&response));
    let body = json(&response);
    assert_eq!(body["region"], "us-east-1");
    assert_eq!(
        body["cloudtrail"],
        json!({"found": true, "prefixes": ["AWSLogs/123456789012/CloudTrail/"],
               "accounts": ["123456789012"], "regions": ["eu-west-1", "us-east-1"],
               "organization_ids": [], "digests": true})
    );

    let me_view = json(&call(&app, me, with_cookie(get("/api/me"), &cookie)).await);
    assert_eq!(me_view["cloudtrail_bucket"]["name"], "demo-cloudtrail-logs");
    let listing = json(
        &call(
            &app,
            buckets_list,
            with_cookie(get("/api/buckets"), &cookie),
        )
        .await,
    );
    assert_eq!(listing["selected"], "demo-cloudtrail-logs");
}

#[tokio::test]
async fn an_organisation_trail_under_a_custom_prefix_is_found_in_its_region() {
    let app = app().await;
    let (_, cookie) = signed_in_user(&app, "org").await;
    connect_demo_keys(&app, &cookie).await;
    let expected = json!({"found": true, "prefixes": [
        "security/AWSLogs/o-a1b2c3d4e5/123456789012/CloudTrail/",
        "security/AWSLogs/o-a1b2c3d4e5/210987654321/CloudTrail/",
    ], "accounts": ["123456789012", "210987654321"], "regions": ["eu-west-1"],
       "organization_ids": ["o-a1b2c3d4e5"], "digests": false});

    for body in [
        json!({"bucket": "demo-org-trail"}),
        json!({"bucket": "demo-org-trail", "prefix": "/security/"}),
    ] {
        let response = select(&app, &cookie, body.clone()).await;
        assert_eq!(response.status(), 200, "{body}");
        let result = json(&response);
        assert_eq!(result["region"], "eu-west-1");
        assert_eq!(result["cloudtrail"], expected);
    }

    let response = select(
        &app,
        &cookie,
        json!({"bucket": "demo-org-trail", "prefix": "elsewhere"}),
    )
    .await;
    assert_eq!(
        json(&response)["cloudtrail"],
        json!({"found": false, "prefixes": [], "accounts": [], "regions": [],
               "organization_ids": [], "digests": false})
    );
}

#[tokio::test]
async fn a_bad_or_foreign_bucket_is_refused_and_the_previous_choice_kept() {
    let app = app().await;
    let (email, cookie) = signed_in_user(&app, "keepbucket").await;
    connect_demo_keys(&app, &cookie).await;
    assert_eq!(
        select(&app, &cookie, json!({"bucket": "demo-cloudtrail-logs"}))
            .await
            .status(),
        200
    );

    let cases = [
        (
            json!({"bucket": "Not_A_Bucket"}),
            400,
            "invalid_bucket_name",
        ),
        (
            json!({"bucket": "someone-elses-bucket"}),
            404,
            "bucket_not_found",
        ),
        (
            json!({"bucket": "demo-org-trail", "prefix": "../up"}),
            400,
            "invalid_prefix",
        ),
        (
            json!({"bucket": "demo-org-trail", "extra": 1}),
            400,
            "unknown_field",
        ),
        (json!({}), 400, "invalid_request"),
    ];
    for (body, status, code) in cases {
        let response = select(&app, &cookie, body.clone()).await;
        assert_eq!(
            (response.status().as_u16(), error_code(&response).as_str()),
            (status, code),
            "{body}"
        );
    }
    let user = app.store.user(&email).await.expect("read").expect("user");
    assert_eq!(
        user.bucket.expect("still chosen").name,
        "demo-cloudtrail-logs"
    );
}

#[tokio::test]
async fn one_user_never_sees_or_uses_anothers_connection() {
    let app = app().await;
    let (_, alice) = signed_in_user(&app, "alice").await;
    let (bob_email, bob) = signed_in_user(&app, "bob").await;
    connect_demo_keys(&app, &alice).await;
    assert_eq!(
        select(&app, &alice, json!({"bucket": "demo-cloudtrail-logs"}))
            .await
            .status(),
        200
    );

    let bob_view = json(&call(&app, me, with_cookie(get("/api/me"), &bob)).await);
    assert_eq!(bob_view["email"], bob_email);
    assert_eq!(bob_view["connection"], serde_json::Value::Null);
    assert_eq!(bob_view["cloudtrail_bucket"], serde_json::Value::Null);
    let listing = call(&app, buckets_list, with_cookie(get("/api/buckets"), &bob)).await;
    assert_eq!(error_code(&listing), "not_connected");
    let choose = select(&app, &bob, json!({"bucket": "demo-cloudtrail-logs"})).await;
    assert_eq!(error_code(&choose), "not_connected");
}
