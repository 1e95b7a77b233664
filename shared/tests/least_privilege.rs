//! Each function's IAM policy in `template.yaml` grants exactly the AWS actions its code calls
//! under Trailport's own identity: no more, no fewer.
//!
//! The actions a function needs are not listed by hand: every path of its handler (success,
//! refusals, timeouts, throttling) is run against the local stack with SDK interceptors
//! recording each DynamoDB and STS operation Trailport performs as itself. Calls made with a
//! customer's own credentials are not recorded, since they need no permission of Trailport's.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::Intercept;
use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use common::*;
use serde_json::json;
use trailport::App;
use trailport::api::{self, HandlerResult};
use trailport::aws_access::CustomerAws;
use trailport::clock::{Clock, ManualClock, SystemClock};
use trailport::store::Store;
use yaml_rust2::{Yaml, YamlLoader};

/// Records `service:Operation` for every call made through the clients it is attached to.
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<BTreeSet<String>>>);

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "least-privilege-recorder"
    }

    // Not `read_before_execution`: a client's interceptors run that before the operation's
    // own configuration, which holds its name, is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let metadata = cfg.load::<Metadata>().ok_or("operation metadata missing")?;
        let action = format!("{}:{}", metadata.service().to_lowercase(), metadata.name());
        self.0.lock().map_err(|_| "poisoned")?.insert(action);
        Ok(())
    }
}

impl Recorder {
    fn actions(&self) -> BTreeSet<String> {
        self.0.lock().expect("recorder").clone()
    }
}

/// An app whose own DynamoDB and STS clients record what they do.
async fn recording_app(clock: Arc<dyn Clock>) -> (Arc<App>, Recorder) {
    let recorder = Recorder::default();
    let sdk = trailport::app::load_sdk_config().await;
    let mut app = App::new(settings(), &sdk, clock).expect("app");

    let dynamodb = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(recorder.clone())
        .build();
    app.store = Store::new(
        aws_sdk_dynamodb::Client::from_conf(dynamodb),
        app.settings.table_name.clone(),
    );
    let sts = aws_sdk_sts::config::Builder::from(&sdk)
        .interceptor(recorder.clone())
        .build();
    app.aws = CustomerAws::with_service_sts(&sdk, aws_sdk_sts::Client::from_conf(sts));
    (Arc::new(app), recorder)
}

fn credentials_body(email: &str, password: &str) -> String {
    json!({"email": email, "password": password}).to_string()
}

/// Runs `handler` through every kind of session: live, due for an idle-clock write, timed out.
async fn with_every_session_state<F, Fut>(
    handler: F,
    path: &str,
    body: Option<serde_json::Value>,
) -> BTreeSet<String>
where
    F: Fn(Arc<App>, lambda_http::Request) -> Fut + Copy,
    Fut: std::future::Future<Output = HandlerResult>,
{
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let (app, recorder) = recording_app(clock.clone()).await;
    let setup = app_with(settings(), clock.clone()).await;
    let (email, cookie) = signed_in_user(&setup, "privilege").await;
    connect_demo_keys(&setup, &cookie).await;
    // A chosen bucket, so that the events function gets as far as reading it.
    let chosen = call(
        &setup,
        api::buckets_select,
        with_cookie(
            post(
                "/api/buckets/select",
                r#"{"bucket":"demo-cloudtrail-logs"}"#,
            ),
            &cookie,
        ),
    )
    .await;
    assert_eq!(chosen.status(), 200);
    let request = || match &body {
        Some(body) => with_cookie(post(path, &body.to_string()), &cookie),
        None => with_cookie(get(path), &cookie),
    };

    assert!(call(&app, handler, request()).await.status().is_success());
    clock.advance(120);
    assert!(call(&app, handler, request()).await.status().is_success());

    // A role connection makes Trailport assume the role as itself.
    let external_id = external_id_of(&setup, &email).await;
    let role = create_role(Some(&external_id));
    let switched = call(
        &setup,
        api::credentials,
        with_cookie(
            post("/api/credentials", &json!({"role_arn": role}).to_string()),
            &cookie,
        ),
    )
    .await;
    assert_eq!(switched.status(), 200);
    assert!(call(&app, handler, request()).await.status().is_success());

    clock.advance(3_600);
    assert_eq!(call(&app, handler, request()).await.status(), 401);
    recorder.actions()
}

async fn needed_by_register() -> BTreeSet<String> {
    let (app, recorder) = recording_app(Arc::new(SystemClock)).await;
    let body = credentials_body(&unique_email("privilege"), PASSWORD);
    assert_eq!(
        call(&app, api::register, post("/api/register", &body))
            .await
            .status(),
        201
    );
    assert_eq!(
        call(&app, api::register, post("/api/register", &body))
            .await
            .status(),
        409
    );
    recorder.actions()
}

async fn needed_by_login() -> BTreeSet<String> {
    use argon2::password_hash::PasswordHasher;

    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    let (app, recorder) = recording_app(clock.clone()).await;
    let setup = app_with(settings(), clock.clone()).await;
    let email = unique_email("privilege");
    let right = credentials_body(&email, PASSWORD);
    assert_eq!(
        call(&setup, api::register, post("/api/register", &right))
            .await
            .status(),
        201
    );
    let wrong = credentials_body(&email, "definitely the wrong one");

    // Failures open a window, count in it, lock the account, and start a new window later.
    for _ in 0..10 {
        assert_eq!(
            call(&app, api::login, post("/api/login", &wrong))
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        call(&app, api::login, post("/api/login", &wrong))
            .await
            .status(),
        429
    );
    clock.advance(901);
    assert_eq!(
        call(&app, api::login, post("/api/login", &wrong))
            .await
            .status(),
        401
    );
    assert_eq!(
        call(&app, api::login, post("/api/login", &right))
            .await
            .status(),
        200
    );

    // A weaker stored hash is upgraded.
    let weak_email = unique_email("privilege-weak");
    let params = argon2::Params::new(8_192, 1, 1, None).expect("params");
    let weak = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(PASSWORD.as_bytes())
        .expect("hash")
        .to_string();
    let user = trailport::store::UserRecord {
        email: weak_email.clone(),
        password_hash: weak,
        created_at: clock.now(),
        external_id: trailport::session::random_id(),
        connection: None,
        bucket: None,
    };
    assert!(setup.store.create_user(&user).await.expect("stored"));
    let body = credentials_body(&weak_email, PASSWORD);
    assert_eq!(
        call(&app, api::login, post("/api/login", &body))
            .await
            .status(),
        200
    );

    recorder.actions()
}

async fn needed_by_logout() -> BTreeSet<String> {
    let (app, recorder) = recording_app(Arc::new(SystemClock)).await;
    let (_, cookie) = signed_in_user(
        &app_with(settings(), Arc::new(SystemClock)).await,
        "privilege",
    )
    .await;
    assert_eq!(
        call(
            &app,
            api::logout,
            with_cookie(post("/api/logout", ""), &cookie)
        )
        .await
        .status(),
        204
    );
    assert_eq!(
        call(
            &app,
            api::logout,
            with_cookie(post("/api/logout", ""), &cookie)
        )
        .await
        .status(),
        204
    );
    recorder.actions()
}

/// The actions each function's policy in template.yaml grants, by binary name.
fn granted() -> BTreeMap<String, BTreeSet<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let docs = YamlLoader::load_from_str(&std::fs::read_to_string(path).expect("template.yaml"))
        .expect("YAML");
    let resources = docs[0]["Resources"].as_hash().expect("Resources");

    let mut granted = BTreeMap::new();
    for resource in resources.values() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("Binary")
            .to_owned();
        // A function either has its own inline policies, or runs as a role of the template
        // (`Role: !GetAtt Name.Arn`), whose policies are then what it is granted.
        let statements: Vec<&Yaml> = match resource["Properties"]["Role"].as_str() {
            Some(role) => {
                let name = role.trim_end_matches(".Arn");
                let role = &resources[&Yaml::String(name.to_owned())];
                assert_eq!(role["Type"].as_str(), Some("AWS::IAM::Role"), "{name}");
                role["Properties"]["Policies"]
                    .as_vec()
                    .into_iter()
                    .flatten()
                    .flat_map(|p| {
                        p["PolicyDocument"]["Statement"]
                            .as_vec()
                            .expect("statements")
                    })
                    .collect()
            }
            None => resource["Properties"]["Policies"]
                .as_vec()
                .into_iter()
                .flatten()
                .flat_map(|p| p["Statement"].as_vec().expect("inline statements only"))
                .collect(),
        };
        let mut actions = BTreeSet::new();
        for statement in statements {
            assert_eq!(statement["Effect"].as_str(), Some("Allow"));
            let listed = match &statement["Action"] {
                Yaml::Array(list) => list
                    .iter()
                    .filter_map(|a| a.as_str())
                    .map(str::to_owned)
                    .collect(),
                Yaml::String(one) => vec![one.clone()],
                other => panic!("unexpected Action {other:?}"),
            };
            actions.extend(listed.into_iter().map(|a| {
                let (service, name) = a.split_once(':').expect("service:Action");
                format!("{}:{name}", service.to_lowercase())
            }));
        }
        granted.insert(binary, actions);
    }
    granted
}

#[tokio::test]
async fn every_function_is_granted_exactly_what_its_code_calls() {
    let mut needed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    needed.insert("register".into(), needed_by_register().await);
    needed.insert("login".into(), needed_by_login().await);
    needed.insert("logout".into(), needed_by_logout().await);
    needed.insert(
        "me".into(),
        with_every_session_state(api::me, "/api/me", None).await,
    );
    let (key, secret) = demo_keys();
    needed.insert(
        "credentials".into(),
        with_every_session_state(
            api::credentials,
            "/api/credentials",
            Some(json!({"access_key": key, "secret_key": secret})),
        )
        .await,
    );
    needed.insert(
        "buckets-list".into(),
        with_every_session_state(api::buckets_list, "/api/buckets", None).await,
    );
    needed.insert(
        "buckets-select".into(),
        with_every_session_state(
            api::buckets_select,
            "/api/buckets/select",
            Some(json!({"bucket": "demo-cloudtrail-logs"})),
        )
        .await,
    );
    needed.insert(
        "events".into(),
        with_every_session_state(api::events, "/api/events", None).await,
    );

    // Connecting a role is the credentials function's job; its recorded run above used keys.
    let (app, recorder) = recording_app(Arc::new(SystemClock)).await;
    let (email, cookie) = signed_in_user(
        &app_with(settings(), Arc::new(SystemClock)).await,
        "privilege-role",
    )
    .await;
    let external_id = external_id_of(&app, &email).await;
    let body = json!({"role_arn": create_role(Some(&external_id))}).to_string();
    assert_eq!(
        call(
            &app,
            api::credentials,
            with_cookie(post("/api/credentials", &body), &cookie)
        )
        .await
        .status(),
        200
    );
    needed
        .get_mut("credentials")
        .expect("credentials")
        .extend(recorder.actions());

    // The console's handler is given no `App`, hence no table or AWS client to call with.
    needed.insert("console".into(), BTreeSet::new());

    assert_eq!(
        granted(),
        needed,
        "template.yaml's policies (left) against the calls the code makes (right)"
    );
}
