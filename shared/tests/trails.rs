//! Finding the account's trails, understanding each CloudTrail layout, and reading the chosen
//! bucket's events, against the seeded local stack (see local/trail_fixtures.py).

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{Value, json};
use trailport::api::{buckets_list, buckets_select, events};

const TRAIL_BUCKET: &str = "demo-cloudtrail-logs";
const ORG_BUCKET: &str = "demo-org-trail";
const KMS_BUCKET: &str = "demo-kms-trail";

async fn signed_in_with_demo_keys(tag: &str) -> (std::sync::Arc<trailport::App>, String) {
    let app = app().await;
    let (_, cookie) = signed_in_user(&app, tag).await;
    connect_demo_keys(&app, &cookie).await;
    (app, cookie)
}

async fn select(app: &std::sync::Arc<trailport::App>, cookie: &str, bucket: &str) -> Value {
    let body = json!({ "bucket": bucket }).to_string();
    let response = call(
        app,
        buckets_select,
        with_cookie(post("/api/buckets/select", &body), cookie),
    )
    .await;
    assert_eq!(response.status(), 200, "{:?}", json(&response));
    json(&response)
}

async fn events_page(
    app: &std::sync::Arc<trailport::App>,
    cookie: &str,
    params: &[(&str, &str)],
) -> (u16, Value) {
    let response = call(
        app,
        events,
        with_cookie(get_query("/api/events", params), cookie),
    )
    .await;
    (response.status().as_u16(), json(&response))
}

fn ids(events: &Value) -> Vec<String> {
    events
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["event_id"].as_str().expect("event_id").to_owned())
        .collect()
}

fn seeded_ids(bucket: &str, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    seeded_events(bucket)
        .into_iter()
        .filter(|e| keep(e))
        .map(|e| e["eventID"].as_str().expect("eventID").to_owned())
        .collect()
}

#[tokio::test]
async fn connecting_reports_the_accounts_trails() {
    let app = app().await;
    let (_, cookie) = signed_in_user(&app, "trails-connect").await;
    let (key, secret) = demo_keys();
    let response = post_credentials(
        &app,
        &cookie,
        json!({"access_key": key, "secret_key": secret}),
    )
    .await;
    assert_eq!(response.status(), 200);

    let discovery = &json(&response)["trail_discovery"];
    assert_eq!(discovery["status"], "ok");
    assert_eq!(
        discovery["trails"],
        json!([
            {"name": "encrypted-trail", "bucket": KMS_BUCKET, "home_region": "us-east-1",
             "prefix": null, "organization": false, "multi_region": false,
             "kms_encrypted": true, "logging": true},
            {"name": "management-events", "bucket": TRAIL_BUCKET, "home_region": "us-east-1",
             "prefix": null, "organization": false, "multi_region": true,
             "kms_encrypted": false, "logging": true},
            {"name": "org-security", "bucket": ORG_BUCKET, "home_region": "eu-west-1",
             "prefix": "security", "organization": true, "multi_region": true,
             "kms_encrypted": false, "logging": true},
        ])
    );
}

#[tokio::test]
async fn the_listing_marks_the_buckets_trails_deliver_to_and_puts_them_first() {
    let (app, cookie) = signed_in_with_demo_keys("trails-list").await;
    let response = call(
        &app,
        buckets_list,
        with_cookie(get("/api/buckets"), &cookie),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = json(&response);
    assert_eq!(body["trail_discovery"]["status"], "ok");

    let buckets = body["buckets"].as_array().expect("buckets");
    // Other tests may add buckets of their own meanwhile; the demo ones are what is known.
    let buckets: Vec<&Value> = buckets
        .iter()
        .filter(|b| b["name"].as_str().is_some_and(|n| n.starts_with("demo-")))
        .collect();
    let names: Vec<&str> = buckets.iter().filter_map(|b| b["name"].as_str()).collect();
    assert_eq!(
        names,
        [TRAIL_BUCKET, KMS_BUCKET, ORG_BUCKET, "demo-website-assets"]
    );
    assert_eq!(buckets[0]["trails"][0]["name"], "management-events");
    assert_eq!(buckets[1]["trails"][0]["kms_encrypted"], true);
    assert_eq!(buckets[2]["trails"][0]["organization"], true);
    assert_eq!(buckets[2]["trails"][0]["prefix"], "security");
    assert_eq!(buckets[3]["trails"], json!([]));
}

#[tokio::test]
async fn without_cloudtrail_permissions_the_listing_still_works_and_says_why() {
    let app = app().await;
    let (_, cookie) = signed_in_user(&app, "trails-denied").await;
    let (key, secret) = create_user_without_cloudtrail("no-cloudtrail");
    let connected = post_credentials(
        &app,
        &cookie,
        json!({"access_key": key, "secret_key": secret}),
    )
    .await;
    assert_eq!(connected.status(), 200, "{:?}", json(&connected));
    assert_eq!(json(&connected)["trail_discovery"]["status"], "denied");

    let response = call(
        &app,
        buckets_list,
        with_cookie(get("/api/buckets"), &cookie),
    )
    .await;
    assert_eq!(response.status(), 200);
    let body = json(&response);
    assert_eq!(body["trail_discovery"]["status"], "denied");
    let message = body["trail_discovery"]["message"]
        .as_str()
        .expect("message");
    assert!(message.contains("cloudtrail:DescribeTrails"), "{message}");
    let buckets = body["buckets"].as_array().expect("buckets");
    assert!(buckets.len() >= 4);
    assert!(buckets.iter().all(|b| b["trails"] == json!([])));
}

#[tokio::test]
async fn selecting_reports_the_accounts_regions_organisations_and_digests_found() {
    let (app, cookie) = signed_in_with_demo_keys("trails-layout").await;

    let single = select(&app, &cookie, TRAIL_BUCKET).await;
    assert_eq!(
        single["cloudtrail"],
        json!({"found": true, "prefixes": ["AWSLogs/123456789012/CloudTrail/"],
               "accounts": ["123456789012"], "regions": ["eu-west-1", "us-east-1"],
               "organization_ids": [], "digests": true})
    );

    let org = select(&app, &cookie, ORG_BUCKET).await;
    assert_eq!(org["region"], "eu-west-1");
    assert_eq!(
        org["cloudtrail"]["accounts"],
        json!(["123456789012", "210987654321"])
    );
    assert_eq!(org["cloudtrail"]["regions"], json!(["eu-west-1"]));
    assert_eq!(
        org["cloudtrail"]["organization_ids"],
        json!(["o-a1b2c3d4e5"])
    );
    assert_eq!(org["cloudtrail"]["digests"], false);
}

#[tokio::test]
async fn events_come_newest_first_from_every_region_and_the_corrupt_file_is_counted() {
    let (app, cookie) = signed_in_with_demo_keys("events-all").await;
    select(&app, &cookie, TRAIL_BUCKET).await;

    let (status, page) = events_page(&app, &cookie, &[("limit", "200")]).await;
    assert_eq!(status, 200, "{page}");
    let expected = seeded_ids(TRAIL_BUCKET, |_| true);
    assert_eq!(expected.len(), 192);
    assert_eq!(ids(&page["events"]), expected);
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(page["scanned"]["skipped_files"], 1);
    assert_eq!(page["scanned"]["files"], 25);
    assert_eq!(page["scanned"]["complete"], true);

    let first = &page["events"][0];
    let seeded = &seeded_events(TRAIL_BUCKET)[0];
    assert_eq!(first["time"], seeded["eventTime"]);
    assert_eq!(first["name"], seeded["eventName"]);
    assert_eq!(first["source"], seeded["eventSource"]);
    assert_eq!(first["region"], seeded["awsRegion"]);
    assert_eq!(first["source_ip"], seeded["sourceIPAddress"]);
    assert_eq!(first["user_type"], seeded["userIdentity"]["type"]);
    assert_eq!(first["request_id"], seeded["requestID"]);
    assert_eq!(first["account_id"], "123456789012");
}

#[tokio::test]
async fn the_cursor_pages_through_every_event_exactly_once() {
    let (app, cookie) = signed_in_with_demo_keys("events-pages").await;
    select(&app, &cookie, TRAIL_BUCKET).await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut params = vec![("limit", "30")];
        if let Some(cursor) = &cursor {
            params.push(("cursor", cursor.as_str()));
        }
        let (status, page) = events_page(&app, &cookie, &params).await;
        assert_eq!(status, 200, "{page}");
        assert!(page["events"].as_array().expect("events").len() <= 30);
        seen.extend(ids(&page["events"]));
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 20, "the cursor must move on");
    }
    assert_eq!(seen, seeded_ids(TRAIL_BUCKET, |_| true));
}

#[tokio::test]
async fn filters_narrow_the_events_to_what_was_asked() {
    let (app, cookie) = signed_in_with_demo_keys("events-filters").await;
    select(&app, &cookie, TRAIL_BUCKET).await;

    let (_, logins) = events_page(
        &app,
        &cookie,
        &[("event_name", "consolelogin"), ("limit", "200")],
    )
    .await;
    let expected = seeded_ids(TRAIL_BUCKET, |e| e["eventName"] == "ConsoleLogin");
    assert!(!expected.is_empty());
    assert_eq!(ids(&logins["events"]), expected);

    let (_, failures) =
        events_page(&app, &cookie, &[("errors_only", "true"), ("limit", "200")]).await;
    let expected = seeded_ids(TRAIL_BUCKET, |e| e.get("errorCode").is_some());
    assert!(!expected.is_empty());
    assert_eq!(ids(&failures["events"]), expected);

    let (_, admin) = events_page(
        &app,
        &cookie,
        &[("user_arn", "assumed-role/Admin/"), ("limit", "200")],
    )
    .await;
    let expected = seeded_ids(TRAIL_BUCKET, |e| {
        e["userIdentity"]["arn"]
            .as_str()
            .is_some_and(|a| a.contains("assumed-role/Admin/"))
    });
    assert!(!expected.is_empty());
    assert_eq!(ids(&admin["events"]), expected);

    let window = [
        ("since", "2026-12-02T10:00:00Z"),
        ("until", "2026-12-02T14:30:00Z"),
    ];
    let (_, between) = events_page(&app, &cookie, &window).await;
    let expected = seeded_ids(TRAIL_BUCKET, |e| {
        let t = e["eventTime"].as_str().expect("time");
        ("2026-12-02T10:00:00Z"..="2026-12-02T14:30:00Z").contains(&t)
    });
    assert_eq!(expected.len(), 32);
    assert_eq!(ids(&between["events"]), expected);
}

#[tokio::test]
async fn an_organisation_trails_events_cover_every_member_account() {
    let (app, cookie) = signed_in_with_demo_keys("events-org").await;
    select(&app, &cookie, ORG_BUCKET).await;

    let (status, page) = events_page(&app, &cookie, &[]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page["events"]), seeded_ids(ORG_BUCKET, |_| true));
    let accounts: BTreeSet<&str> = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["account_id"].as_str())
        .collect();
    assert_eq!(accounts, BTreeSet::from(["123456789012", "210987654321"]));
}

#[tokio::test]
async fn bad_filters_and_missing_steps_get_clear_errors() {
    let app = app().await;
    let (_, cookie) = signed_in_user(&app, "events-errors").await;

    let response = call(&app, events, get_query("/api/events", &[])).await;
    assert_eq!(
        (response.status().as_u16(), error_code(&response).as_str()),
        (401, "not_signed_in")
    );
    let (status, body) = events_page(&app, &cookie, &[]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("not_connected"))
    );

    connect_demo_keys(&app, &cookie).await;
    let (status, body) = events_page(&app, &cookie, &[]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("no_bucket_selected"))
    );

    select(&app, &cookie, TRAIL_BUCKET).await;
    for (params, code) in [
        (vec![("limit", "500")], "invalid_filter"),
        (vec![("since", "last tuesday")], "invalid_filter"),
        (vec![("sort", "oldest")], "invalid_filter"),
        (vec![("cursor", "not-a-cursor")], "invalid_cursor"),
    ] {
        let (status, body) = events_page(&app, &cookie, &params).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some(code)),
            "{params:?}"
        );
    }
}

#[tokio::test]
async fn a_role_connection_reads_events_from_a_bucket_in_another_region() {
    let app = app().await;
    let (email, cookie) = signed_in_user(&app, "events-role").await;
    let external_id = external_id_of(&app, &email).await;
    let connected = post_credentials(
        &app,
        &cookie,
        json!({ "role_arn": create_role(Some(&external_id)) }),
    )
    .await;
    assert_eq!(connected.status(), 200, "{:?}", json(&connected));
    assert_eq!(json(&connected)["trail_discovery"]["status"], "ok");

    select(&app, &cookie, ORG_BUCKET).await;
    let (status, page) = events_page(&app, &cookie, &[("limit", "5")]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page["events"]), seeded_ids(ORG_BUCKET, |_| true)[..5]);
    assert!(page["next_cursor"].is_string());
}

#[tokio::test]
async fn logs_encrypted_with_a_key_the_connection_may_not_use_are_a_clear_403() {
    let (app, cookie) = signed_in_with_demo_keys("events-kms").await;
    let chosen = select(&app, &cookie, KMS_BUCKET).await;
    assert_eq!(chosen["cloudtrail"]["found"], true);

    let (status, body) = events_page(&app, &cookie, &[]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("kms_access_denied")),
        "{body}"
    );
    let message = body["error"]["message"].as_str().expect("message");
    assert!(message.contains("kms:Decrypt"), "{message}");
}

#[tokio::test]
async fn a_date_with_more_files_than_a_page_reads_loses_nothing_and_keeps_the_order() {
    let (app, cookie) = signed_in_with_demo_keys("events-busy").await;
    let bucket = create_busy_trail(160);
    select(&app, &cookie, &bucket).await;

    // The newest event is in the one file of another region, delivered last.
    let (status, page) = events_page(&app, &cookie, &[("limit", "3")]).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["events"][0]["time"], "2026-12-03T19:59:00Z");
    assert_eq!(page["events"][1]["time"], "2026-12-03T03:39:00Z");

    let mut times = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..40 {
        let mut params = vec![("limit", "50")];
        if let Some(cursor) = &cursor {
            params.push(("cursor", cursor.as_str()));
        }
        let (status, page) = events_page(&app, &cookie, &params).await;
        assert_eq!(status, 200, "{page}");
        for event in page["events"].as_array().expect("events") {
            times.push(event["time"].as_str().expect("time").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(times.len(), 161, "every event once");
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first across pages");
}

#[tokio::test]
async fn a_cursor_at_the_edge_of_time_is_refused_not_a_crash() {
    let (app, cookie) = signed_in_with_demo_keys("events-edge").await;
    select(&app, &cookie, TRAIL_BUCKET).await;
    for forged in [
        r#"{"t":9223372036854775807,"id":"x"}"#,
        r#"{"t":-9223372036854775808,"id":"x"}"#,
        r#"{"t":1,"id":"x","admin":true}"#,
    ] {
        use base64::Engine;
        let cursor = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged);
        let (status, body) = events_page(&app, &cookie, &[("cursor", &cursor)]).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_cursor")),
            "{forged}"
        );
    }
    let (status, _) = events_page(&app, &cookie, &[("until", "9999-12-31T23:59:59Z")]).await;
    assert_eq!(status, 200);
}
