//! What Trailport sends when it assumes a customer's role: the user's external id, the
//! shortest session, and a session name with nothing personal in it (it appears in the
//! customer's own CloudTrail).

mod common;

use std::sync::{Arc, Mutex};

use aws_sdk_sts::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_sts::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_sts::operation::assume_role::AssumeRoleInput;
use aws_smithy_runtime_api::box_error::BoxError;
use common::*;
use serde_json::json;
use trailport::App;
use trailport::api;
use trailport::aws_access::CustomerAws;
use trailport::clock::SystemClock;

/// Keeps a copy of every AssumeRole request's parameters.
#[derive(Debug, Clone, Default)]
struct AssumeRoleCalls(Arc<Mutex<Vec<AssumeRoleInput>>>);

impl Intercept for AssumeRoleCalls {
    fn name(&self) -> &'static str {
        "assume-role-calls"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(input) = context.input().downcast_ref::<AssumeRoleInput>() {
            self.0.lock().map_err(|_| "poisoned")?.push(input.clone());
        }
        Ok(())
    }
}

#[tokio::test]
async fn assuming_a_role_sends_the_external_id_a_short_session_and_no_personal_data() {
    let calls = AssumeRoleCalls::default();
    let sdk = trailport::app::load_sdk_config().await;
    let mut app = App::new(settings(), &sdk, Arc::new(SystemClock)).expect("app");
    let sts = aws_sdk_sts::config::Builder::from(&sdk)
        .interceptor(calls.clone())
        .build();
    app.aws = CustomerAws::with_service_sts(&sdk, aws_sdk_sts::Client::from_conf(sts));
    let app = Arc::new(app);

    let (email, cookie) = signed_in_user(&app, "session-name").await;
    let external_id = external_id_of(&app, &email).await;
    let role = create_role(Some(&external_id));
    let response = post_credentials(&app, &cookie, json!({"role_arn": role})).await;
    assert_eq!(response.status(), 200, "{:?}", json(&response));
    let listing = call(
        &app,
        api::buckets_list,
        with_cookie(get("/api/buckets"), &cookie),
    )
    .await;
    assert_eq!(listing.status(), 200);

    let calls = calls.0.lock().expect("calls").clone();
    // The check (with the id, without one, with a random one), then the listing's own.
    assert_eq!(calls.len(), 4, "{calls:?}");
    let local_part = email.split('@').next().expect("local part");
    for call in &calls {
        assert_eq!(call.role_arn.as_deref(), Some(role.as_str()));
        assert_eq!(call.duration_seconds, Some(900));
        let name = call.role_session_name.as_deref().expect("a session name");
        assert!(!name.contains(local_part) && !name.contains('@'), "{name}");
    }
    let ids: Vec<Option<&str>> = calls.iter().map(|c| c.external_id.as_deref()).collect();
    assert_eq!(ids[0], Some(external_id.as_str()));
    assert_eq!(ids[1], None);
    assert!(ids[2].is_some_and(|id| id != external_id && id.len() >= 32));
    assert_eq!(
        ids[3],
        Some(external_id.as_str()),
        "the listing uses the user's external id"
    );
}
