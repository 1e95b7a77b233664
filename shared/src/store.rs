//! Trailport's own records in one DynamoDB table.
//!
//! The table has a single string key, `pk`, and expires items through the TTL attribute
//! `expires_at`. Three kinds of item share it:
//!
//! | `pk` | holds |
//! |---|---|
//! | `USER#<email>` | the account, its connection and its bucket choice |
//! | `SESSION#<id>` | one signed-in session, for revocation and timeouts |
//! | `THROTTLE#<email>` | failed sign-ins in the current window |
//!
//! The connection and the bucket choice are attributes of the user's item, so each is replaced
//! by one write: a reader sees the old value or the new one, never a mix.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// An account as stored.
#[derive(Clone, Serialize, Deserialize)]
pub struct UserRecord {
    /// The normalised email, which is also the id.
    pub email: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Epoch seconds.
    pub created_at: i64,
    /// The external id the user's role must require; generated, never chosen by the user.
    pub external_id: String,
    /// The AWS connection, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<Connection>,
    /// The chosen CloudTrail bucket, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<BucketChoice>,
}

/// How Trailport reaches the user's AWS account.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Connection {
    /// An IAM user's long-term access key.
    AccessKey {
        /// `AKIA…`.
        access_key_id: String,
        /// The secret access key, as a Fernet token.
        secret_key_token: String,
        /// The account the key belongs to, from `GetCallerIdentity`.
        account_id: String,
        /// The key's principal, from `GetCallerIdentity`.
        arn: String,
        /// A role ARN sent alongside the keys, kept as information only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role_arn: Option<String>,
        /// Epoch seconds.
        connected_at: i64,
    },
    /// A role Trailport assumes with the user's external id.
    Role {
        /// The role's ARN.
        role_arn: String,
        /// The account in the ARN.
        account_id: String,
        /// Epoch seconds.
        connected_at: i64,
    },
}

impl Connection {
    /// The connected account's id.
    pub fn account_id(&self) -> &str {
        match self {
            Connection::AccessKey { account_id, .. } | Connection::Role { account_id, .. } => {
                account_id
            }
        }
    }
}

/// The bucket chosen as the home of the account's CloudTrail logs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BucketChoice {
    /// The bucket's name.
    pub name: String,
    /// The bucket's region.
    pub region: String,
    /// The custom prefix the user named, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The `…/CloudTrail/` prefixes found in it.
    #[serde(default)]
    pub trail_prefixes: Vec<String>,
    /// The account it belongs to (its expected owner).
    pub account_id: String,
    /// Epoch seconds.
    pub selected_at: i64,
}

/// A signed-in session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The user's email.
    pub email: String,
    /// Epoch seconds.
    pub created_at: i64,
    /// Epoch seconds of the last request, at most a minute stale.
    pub last_seen: i64,
    /// Epoch seconds; also the table's TTL attribute.
    pub expires_at: i64,
}

/// Failed sign-ins for one account in the current window.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct ThrottleRecord {
    /// Failures so far.
    pub failures: u32,
    /// Epoch seconds of the window's first failure.
    pub window_start: i64,
}

/// The table and a client for it.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
}

fn user_key(email: &str) -> AttributeValue {
    AttributeValue::S(format!("USER#{email}"))
}

fn session_key(id: &str) -> AttributeValue {
    AttributeValue::S(format!("SESSION#{id}"))
}

fn throttle_key(email: &str) -> AttributeValue {
    AttributeValue::S(format!("THROTTLE#{email}"))
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Maps a DynamoDB failure to the API's error: unreachable or slow is a 503, anything else is
/// ours to look into.
fn store_error<E>(err: SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let unavailable = matches!(
        err,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)
    ) || err.code().is_some_and(|c| {
        matches!(
            c,
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "InternalServerError"
                | "ServiceUnavailable"
        )
    });
    let err = aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string();
    if unavailable {
        ApiError::unavailable(
            "store_unavailable",
            "Trailport's storage is unavailable. Try again shortly.",
        )
        .with_cause(err)
    } else {
        ApiError::internal(err)
    }
}

/// Whether a write failed only because its condition did not hold.
fn is_condition_failure<E>(err: &SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    err.code() == Some("ConditionalCheckFailedException")
}

fn decode<T: for<'de> Deserialize<'de>>(
    item: std::collections::HashMap<String, AttributeValue>,
) -> Result<T, ApiError> {
    serde_dynamo::from_item(item)
        .map_err(|e| ApiError::internal(format!("a stored item is unreadable: {e}")))
}

impl Store {
    /// A store over `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The item under `pk`, decoded, read consistently: a read just after a write must see it
    /// (a session stored at sign-in, an attempt counted a moment ago).
    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        pk: AttributeValue,
    ) -> Result<Option<T>, ApiError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", pk)
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        output.item.map(decode).transpose()
    }

    /// Deletes the item under `pk`; deleting one that is gone is not an error.
    async fn delete(&self, pk: AttributeValue) -> Result<(), ApiError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", pk)
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    /// Creates the account; `Ok(false)` when the email is taken. The conditional write makes
    /// concurrent registrations of one email produce exactly one account.
    pub async fn create_user(&self, user: &UserRecord) -> Result<bool, ApiError> {
        let mut item: std::collections::HashMap<String, AttributeValue> =
            serde_dynamo::to_item(user).map_err(ApiError::internal)?;
        item.insert("pk".into(), user_key(&user.email));

        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;

        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(store_error(err)),
        }
    }

    /// The account for `email`, read consistently.
    pub async fn user(&self, email: &str) -> Result<Option<UserRecord>, ApiError> {
        self.get(user_key(email)).await
    }

    /// Replaces the password hash, unless it changed since it was read.
    pub async fn replace_password_hash(
        &self,
        email: &str,
        old: &str,
        new: &str,
    ) -> Result<(), ApiError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", user_key(email))
            .update_expression("SET password_hash = :new")
            .condition_expression("password_hash = :old")
            .expression_attribute_values(":new", AttributeValue::S(new.to_owned()))
            .expression_attribute_values(":old", AttributeValue::S(old.to_owned()))
            .send()
            .await;
        match result {
            Err(err)
                if !err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(store_error(err))
            }
            _ => Ok(()),
        }
    }

    /// Replaces the connection whole; with `clear_bucket` the bucket choice goes too (it belongs
    /// to another account). Fails if the account vanished.
    pub async fn set_connection(
        &self,
        email: &str,
        connection: &Connection,
        clear_bucket: bool,
    ) -> Result<(), ApiError> {
        let value = serde_dynamo::to_attribute_value(connection).map_err(ApiError::internal)?;
        let expression = if clear_bucket {
            "SET #connection = :connection REMOVE #bucket"
        } else {
            "SET #connection = :connection"
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", user_key(email))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#connection", "connection")
            .expression_attribute_values(":connection", value);
        if clear_bucket {
            request = request.expression_attribute_names("#bucket", "bucket");
        }
        request.send().await.map_err(store_error)?;
        Ok(())
    }

    /// Records the bucket choice, only while the connection is still to `choice.account_id`.
    /// `Ok(false)` when the connection changed in the meantime.
    pub async fn set_bucket(&self, email: &str, choice: &BucketChoice) -> Result<bool, ApiError> {
        let value = serde_dynamo::to_attribute_value(choice).map_err(ApiError::internal)?;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", user_key(email))
            .update_expression("SET #bucket = :bucket")
            .condition_expression("#connection.account_id = :account")
            .expression_attribute_names("#bucket", "bucket")
            .expression_attribute_names("#connection", "connection")
            .expression_attribute_values(":bucket", value)
            .expression_attribute_values(":account", AttributeValue::S(choice.account_id.clone()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(store_error(err)),
        }
    }

    /// Every stored connection with its owner's email, reading the whole table page by page.
    /// For the key-rotation tool, run by an operator; no function scans.
    pub async fn connections(&self) -> Result<Vec<(String, Connection)>, ApiError> {
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(pk, :user) AND attribute_exists(#connection)")
            .projection_expression("email, #connection")
            .expression_attribute_names("#connection", "connection")
            .expression_attribute_values(":user", AttributeValue::S("USER#".to_owned()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send();

        #[derive(Deserialize)]
        struct Row {
            email: String,
            connection: Connection,
        }
        let mut rows = Vec::new();
        while let Some(item) = pages.next().await {
            let row: Row = decode(item.map_err(store_error)?)?;
            rows.push((row.email, row.connection));
        }
        Ok(rows)
    }

    /// Swaps the stored secret's token for `new`, only if it is still `old`. `Ok(false)` when
    /// the connection changed in the meantime.
    pub async fn replace_secret_token(
        &self,
        email: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, ApiError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", user_key(email))
            .update_expression("SET #connection.secret_key_token = :new")
            .condition_expression("#connection.secret_key_token = :old")
            .expression_attribute_names("#connection", "connection")
            .expression_attribute_values(":new", AttributeValue::S(new.to_owned()))
            .expression_attribute_values(":old", AttributeValue::S(old.to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(store_error(err)),
        }
    }

    /// Stores a new session under `id`.
    pub async fn put_session(&self, id: &str, session: &SessionRecord) -> Result<(), ApiError> {
        let mut item: std::collections::HashMap<String, AttributeValue> =
            serde_dynamo::to_item(session).map_err(ApiError::internal)?;
        item.insert("pk".into(), session_key(id));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(store_error)?;
        Ok(())
    }

    /// The session `id`, if it is still stored.
    pub async fn session(&self, id: &str) -> Result<Option<SessionRecord>, ApiError> {
        self.get(session_key(id)).await
    }

    /// Moves the session's idle clock to `now`, if the session still exists.
    pub async fn touch_session(&self, id: &str, now: i64) -> Result<(), ApiError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", session_key(id))
            .update_expression("SET last_seen = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Err(err)
                if !err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(store_error(err))
            }
            _ => Ok(()),
        }
    }

    /// Deletes the session `id`; deleting one that is gone is not an error.
    pub async fn delete_session(&self, id: &str) -> Result<(), ApiError> {
        self.delete(session_key(id)).await
    }

    /// The failed sign-ins recorded for `email`.
    pub async fn throttle(&self, email: &str) -> Result<Option<ThrottleRecord>, ApiError> {
        self.get(throttle_key(email)).await
    }

    /// Counts one sign-in attempt for `email` and returns the count in its window: the current
    /// window if it is still open, else a new one starting `now`. Attempts are counted before
    /// the password is checked, so that concurrent guesses cannot all slip in under the limit.
    /// Every write is conditional, so concurrent attempts are each counted once.
    pub async fn count_login_attempt(
        &self,
        email: &str,
        now: i64,
        window: i64,
    ) -> Result<ThrottleRecord, ApiError> {
        // Two rounds suffice: a round only fails when another attempt moved the window.
        for _ in 0..3 {
            let counted = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", throttle_key(email))
                .update_expression(
                    "SET failures = if_not_exists(failures, :zero) + :one, \
                     window_start = if_not_exists(window_start, :now), \
                     expires_at = if_not_exists(expires_at, :expires)",
                )
                .condition_expression("attribute_not_exists(pk) OR window_start > :cutoff")
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":expires", n(now + window))
                .expression_attribute_values(":cutoff", n(now - window))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
                .send()
                .await;
            match counted {
                Ok(output) => return decode(output.attributes.unwrap_or_default()),
                Err(err) if is_condition_failure(&err) => {}
                Err(err) => return Err(store_error(err)),
            }

            // The old window has closed: start a new one, unless another attempt just did.
            let restarted = self
                .client
                .put_item()
                .table_name(&self.table)
                .item("pk", throttle_key(email))
                .item("failures", n(1))
                .item("window_start", n(now))
                .item("expires_at", n(now + window))
                .condition_expression("attribute_not_exists(pk) OR window_start <= :cutoff")
                .expression_attribute_values(":cutoff", n(now - window))
                .send()
                .await;
            match restarted {
                Ok(_) => {
                    return Ok(ThrottleRecord {
                        failures: 1,
                        window_start: now,
                    });
                }
                Err(err) if is_condition_failure(&err) => {}
                Err(err) => return Err(store_error(err)),
            }
        }
        Err(ApiError::unavailable(
            "store_unavailable",
            "Too many sign-ins at once for this account. Try again shortly.",
        ))
    }

    /// Forgets the failed sign-ins of `email`.
    pub async fn clear_throttle(&self, email: &str) -> Result<(), ApiError> {
        self.delete(throttle_key(email)).await
    }
}
