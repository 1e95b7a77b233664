//! One handler per endpoint: parse and check the request, call the rules, shape the response.
//!
//! Every handler has the same signature so [`crate::runtime`] can serve any of them, and tests
//! can call them with real API Gateway events and no Lambda runtime.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_http::http::header::SET_COOKIE;
use lambda_http::{Body, Request, RequestExt, Response};
use secrecy::SecretString;
use serde_json::json;

use crate::account::{ConnectionView, UserView, normalise_email};
use crate::app::App;
use crate::buckets::{self, BucketSummary};
use crate::clock::rfc3339;
use crate::credentials::{check_access_key_id, check_secret_key, parse_role_arn};
use crate::error::ApiError;
use crate::http::{check_cross_site, cookie, json_body, json_response, no_content, require_method};
use crate::password::{self, check_new_password};
use crate::session::{clear_cookie, cookie_name, random_id, set_cookie};
use crate::store::{BucketChoice, Connection, SessionRecord, UserRecord};
use crate::trail_events::{self, Query};
use crate::trails;

/// What every handler returns.
pub type HandlerResult = Result<Response<Body>, ApiError>;

/// Failed sign-ins allowed per account within [`THROTTLE_WINDOW_SECONDS`].
pub const MAX_FAILED_LOGINS: u32 = 10;
/// The throttling window, in seconds.
pub const THROTTLE_WINDOW_SECONDS: i64 = 15 * 60;

fn with_cookie(mut response: Response<Body>, set_cookie: String) -> HandlerResult {
    let value = set_cookie.parse().map_err(ApiError::internal)?;
    response.headers_mut().append(SET_COOKIE, value);
    Ok(response)
}

/// The checked email and the password of a sign-up or sign-in, which share their request rules.
fn email_and_password(app: &App, req: &Request) -> Result<(String, SecretString), ApiError> {
    require_method(req, "POST")?;
    check_cross_site(req, &app.settings)?;
    let mut body = json_body(req, false)?;
    body.allow_only(&["email", "password"])?;
    let email = normalise_email(&body.required_string("email")?)?;
    let password = SecretString::from(body.required_string("password")?);
    Ok((email, password))
}

/// `POST /api/register`: creates an account.
pub async fn register(app: Arc<App>, req: Request) -> HandlerResult {
    let (email, password) = email_and_password(&app, &req)?;

    check_new_password(secrecy::ExposeSecret::expose_secret(&password), &email)?;
    let password_hash = password::hash(password).await?;

    let user = UserRecord {
        email: email.clone(),
        password_hash,
        created_at: app.now(),
        external_id: random_id(),
        connection: None,
        bucket: None,
    };
    if !app.store.create_user(&user).await? {
        return Err(ApiError::conflict(
            "email_taken",
            "An account with this email already exists. Sign in instead.",
        ));
    }

    tracing::info!(user = %email, "account created");
    Ok(json_response(
        StatusCode::CREATED,
        &json!({ "email": email, "created_at": rfc3339(user.created_at) }),
    ))
}

/// `POST /api/login`: checks the password and starts a session.
pub async fn login(app: Arc<App>, req: Request) -> HandlerResult {
    let (email, password) = email_and_password(&app, &req)?;
    let invalid_login =
        || ApiError::unauthorized("invalid_login", "The email or password is wrong.");

    // Every attempt counts before the password is checked; see `Store::count_login_attempt`.
    let now = app.now();
    let attempts = app
        .store
        .count_login_attempt(&email, now, THROTTLE_WINDOW_SECONDS)
        .await?;
    if attempts.failures > MAX_FAILED_LOGINS {
        let ends = attempts.window_start + THROTTLE_WINDOW_SECONDS;
        let retry_after = u64::try_from(ends - now).unwrap_or(1).max(1);
        return Err(ApiError::too_many_attempts(retry_after));
    }

    // An unknown email still costs a full verification, against the dummy hash.
    let user = app.store.user(&email).await?;
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let verification = password::verify(password.clone(), stored_hash.clone()).await?;
    if !verification.matches {
        tracing::info!(user = %email, "sign-in refused");
        return Err(invalid_login());
    }

    app.store.clear_throttle(&email).await?;
    if verification.needs_rehash
        && let Some(old) = stored_hash
    {
        // Best effort: the sign-in succeeds even if the upgrade has to wait for next time.
        match password::hash(password).await {
            Ok(new) => {
                if let Err(err) = app.store.replace_password_hash(&email, &old, &new).await {
                    tracing::warn!(user = %email, error = %err, "password rehash not saved");
                }
            }
            Err(err) => tracing::warn!(user = %email, error = %err, "password rehash failed"),
        }
    }

    let session_id = random_id();
    let ttl = i64::try_from(app.settings.session_ttl_seconds).unwrap_or(i64::MAX);
    let record = SessionRecord {
        email: email.clone(),
        created_at: now,
        last_seen: now,
        expires_at: now + ttl,
    };
    app.store.put_session(&session_id, &record).await?;
    let token = app.signer.issue(&email, &session_id, now, ttl)?;

    tracing::info!(user = %email, "signed in");
    with_cookie(
        json_response(StatusCode::OK, &json!({ "email": email })),
        set_cookie(&app.settings, token),
    )
}

/// `POST /api/logout`: revokes the session, if there is one, and clears the cookie.
pub async fn logout(app: Arc<App>, req: Request) -> HandlerResult {
    require_method(&req, "POST")?;
    check_cross_site(&req, &app.settings)?;
    json_body(&req, true)?.allow_only(&[])?;

    // Even an expired token names a session worth deleting, but only a genuine one counts.
    let now = app.now();
    if let Some(token) = cookie(&req, cookie_name(&app.settings)) {
        match app.signer.verify(&token, now) {
            Ok(claims) => app.store.delete_session(&claims.jti).await?,
            Err(_) => tracing::info!("logout without a live session"),
        }
    }

    with_cookie(no_content(), clear_cookie(&app.settings))
}

/// `GET /api/me`: the user, their connection and their chosen bucket.
pub async fn me(app: Arc<App>, req: Request) -> HandlerResult {
    require_method(&req, "GET")?;
    check_cross_site(&req, &app.settings)?;
    let user = current_user(&app, &req).await?;
    Ok(json_response(StatusCode::OK, &user_view(&app, &user)))
}

fn user_view(app: &App, user: &UserRecord) -> UserView {
    UserView::new(
        user,
        app.settings.service_principal_arn.as_deref(),
        app.settings.allow_role_arn,
    )
}

async fn current_user(app: &App, req: &Request) -> Result<UserRecord, ApiError> {
    let signed_in = app.authenticate(req).await?;
    app.store
        .user(&signed_in.email)
        .await?
        .ok_or_else(ApiError::not_signed_in)
}

/// `POST /api/credentials`: connects an AWS account with keys or a role, replacing any previous
/// connection only once the new one has been proven to work.
pub async fn credentials(app: Arc<App>, req: Request) -> HandlerResult {
    require_method(&req, "POST")?;
    check_cross_site(&req, &app.settings)?;
    // Who is asking comes before what they ask, the body's shape included: a stranger learns
    // nothing from validation.
    let user = current_user(&app, &req).await?;
    let mut body = json_body(&req, false)?;
    body.allow_only(&["access_key", "secret_key", "role_arn"])?;
    let access_key = body
        .optional_string("access_key")?
        .map(|k| k.trim().to_owned());
    let secret_key = body.optional_string("secret_key")?.map(SecretString::from);
    let role_arn = body
        .optional_string("role_arn")?
        .map(|r| r.trim().to_owned());
    let now = app.now();

    let (connection, session) = match (access_key, secret_key, role_arn) {
        (Some(access_key_id), Some(secret), role_arn) => {
            check_access_key_id(&access_key_id)?;
            check_secret_key(secrecy::ExposeSecret::expose_secret(&secret))?;
            if let Some(role_arn) = &role_arn {
                parse_role_arn(role_arn)?;
            }
            let identity = app.aws.check_keys(&access_key_id, &secret).await?;
            let session = app.aws.session_for_keys(&access_key_id, &secret);
            let connection = Connection::AccessKey {
                secret_key_token: app.settings.vault.encrypt(&secret),
                access_key_id,
                account_id: identity.account_id,
                arn: identity.arn,
                role_arn,
                connected_at: now,
            };
            (connection, session)
        }
        (None, None, Some(role_arn)) => {
            if !app.settings.allow_role_arn {
                return Err(ApiError::bad_request(
                    "role_arn_disabled",
                    "Connecting with a role alone is turned off here. Send an access key and \
                        secret.",
                ));
            }
            let account_id = parse_role_arn(&role_arn)?;
            let session = app.aws.check_role(&role_arn, &user.external_id).await?;
            let connection = Connection::Role {
                role_arn,
                account_id,
                connected_at: now,
            };
            (connection, session)
        }
        _ => {
            return Err(ApiError::bad_request(
                "invalid_request",
                "Send access_key and secret_key (and optionally role_arn), or role_arn alone.",
            ));
        }
    };

    let same_account = user
        .connection
        .as_ref()
        .is_some_and(|c| c.account_id() == connection.account_id());
    app.store
        .set_connection(&user.email, &connection, !same_account)
        .await?;

    tracing::info!(user = %user.email, account = connection.account_id(), "connection saved");
    // The connection is saved whatever discovery finds: trails are a help in choosing the
    // bucket, not a condition of connecting.
    let discovery = trails::discover(&session, &[]).await;
    let mut view =
        serde_json::to_value(ConnectionView::from(&connection)).map_err(ApiError::internal)?;
    view["trail_discovery"] = serde_json::to_value(&discovery).map_err(ApiError::internal)?;
    Ok(json_response(StatusCode::OK, &view))
}

/// `GET /api/buckets`: the connected account's buckets, through its own credentials.
pub async fn buckets_list(app: Arc<App>, req: Request) -> HandlerResult {
    require_method(&req, "GET")?;
    check_cross_site(&req, &app.settings)?;
    let user = current_user(&app, &req).await?;
    let connection = require_connection(&user)?;

    let session = app
        .aws
        .session(connection, &app.settings.vault, &user.external_id)
        .await?;
    let mut buckets: Vec<BucketSummary> = buckets::list(&session.s3(None)).await?;
    let mut regions: Vec<String> = buckets.iter().filter_map(|b| b.region.clone()).collect();
    regions.sort();
    regions.dedup();
    let discovery = trails::discover(&session, &regions).await;
    buckets::mark_trail_buckets(&mut buckets, &discovery);
    let selected = user.bucket.as_ref().map(|b| b.name.clone());

    Ok(json_response(
        StatusCode::OK,
        &json!({ "buckets": buckets, "selected": selected, "trail_discovery": discovery }),
    ))
}

fn require_connection(user: &UserRecord) -> Result<&Connection, ApiError> {
    user.connection.as_ref().ok_or_else(|| {
        ApiError::bad_request(
            "not_connected",
            "Connect an AWS account first (POST /api/credentials).",
        )
    })
}

/// `POST /api/buckets/select`: chooses the bucket that holds the account's CloudTrail logs.
/// The previous choice stays until the new bucket has been proven reachable.
pub async fn buckets_select(app: Arc<App>, req: Request) -> HandlerResult {
    require_method(&req, "POST")?;
    check_cross_site(&req, &app.settings)?;
    let user = current_user(&app, &req).await?;
    let mut body = json_body(&req, false)?;
    body.allow_only(&["bucket", "prefix"])?;
    let name = body.required_string("bucket")?;
    let prefix = body.optional_string("prefix")?;

    buckets::validate_bucket_name(&name)?;
    let prefix = prefix
        .as_deref()
        .map(buckets::normalise_prefix)
        .transpose()?
        .flatten();

    let connection = require_connection(&user)?;
    let owner = connection.account_id().to_owned();
    let vault = &app.settings.vault;

    let session = app
        .aws
        .session(connection, vault, &user.external_id)
        .await?;
    let s3 = session.s3(None);
    if !buckets::list(&s3).await?.iter().any(|b| b.name == name) {
        return Err(ApiError::not_found(
            "bucket_not_found",
            "The connected account has no bucket of that name. Pick one from GET /api/buckets.",
        ));
    }

    let region = buckets::region_of(&s3, &name, &owner).await?;
    let regional = session.s3(Some(&region));
    let layout = buckets::detect_layout(&regional, &name, &owner, prefix.as_deref()).await?;

    let choice = BucketChoice {
        name: name.clone(),
        region: region.clone(),
        prefix: prefix.clone(),
        trail_prefixes: layout.prefixes.clone(),
        account_id: owner,
        selected_at: app.now(),
    };
    if !app.store.set_bucket(&user.email, &choice).await? {
        return Err(ApiError::conflict(
            "connection_changed",
            "The AWS connection changed while the bucket was being checked. Choose the bucket \
                again.",
        ));
    }

    tracing::info!(user = %user.email, bucket = %name, found = layout.found, "bucket selected");
    Ok(json_response(
        StatusCode::OK,
        &json!({ "bucket": name, "region": region, "prefix": prefix, "cloudtrail": layout }),
    ))
}

/// `GET /api/events`: the newest events of the chosen bucket's trail, filtered and paged.
pub async fn events(app: Arc<App>, req: Request) -> HandlerResult {
    require_method(&req, "GET")?;
    check_cross_site(&req, &app.settings)?;
    let user = current_user(&app, &req).await?;
    let params = req.query_string_parameters();
    let query = Query::parse(params.iter())?;

    let connection = require_connection(&user)?;
    let bucket = user
        .bucket
        .as_ref()
        .filter(|b| b.account_id == connection.account_id())
        .ok_or_else(|| {
            ApiError::bad_request(
                "no_bucket_selected",
                "Choose the bucket that holds your CloudTrail logs first \
                 (POST /api/buckets/select).",
            )
        })?;

    let session = app
        .aws
        .session(connection, &app.settings.vault, &user.external_id)
        .await?;
    let s3 = session.s3(Some(&bucket.region));
    // A bucket chosen before its trail first delivered has no trail folders on record yet.
    let prefixes = if bucket.trail_prefixes.is_empty() {
        buckets::detect_layout(
            &s3,
            &bucket.name,
            &bucket.account_id,
            bucket.prefix.as_deref(),
        )
        .await?
        .prefixes
    } else {
        bucket.trail_prefixes.clone()
    };
    let page = trail_events::page(&s3, &bucket.name, &bucket.account_id, &prefixes, &query).await?;

    tracing::info!(
        user = %user.email,
        events = page.events.len(),
        files = page.scanned.files,
        skipped = page.scanned.skipped_files,
        "events read"
    );
    Ok(json_response(StatusCode::OK, &page))
}
