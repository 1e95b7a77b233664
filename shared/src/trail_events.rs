//! The selected bucket's CloudTrail events, newest first, read from its log files.
//!
//! CloudTrail delivers a gzip JSON file every few minutes per account and region, into
//! `<trail prefix><region>/YYYY/MM/DD/` by delivery date (UTC). A page is found by walking the
//! day folders of every account and region from the newest down, reading each file as a stream
//! (one record in memory at a time), and keeping only the newest `limit` matching events.
//!
//! An event is delivered after it happens, so a file in day folder D holds only events from
//! before the end of D. Once the page is full and its oldest event is no older than the start
//! of D, no older folder can hold a newer one, and the walk stops there. The other way round,
//! an event may sit in a folder later than its own date; a folder is passed over for `until`
//! or a cursor only when it starts more than a day after that time, and a file only when it
//! was delivered more than an hour after it.
//!
//! The files of one date are read newest delivery first, across accounts and regions. When a
//! page reaches its file budget inside a date, it shows only the events newer than anything
//! still unread, and its cursor starts the next page at the newest unread time.

use std::borrow::Cow;
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt;
use std::io::{BufReader, Read};

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flate2::read::MultiGzDecoder;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::aws_access::{Step, aws_error};
use crate::buckets::{bucket_error, is_region_name, last_folder, list_folders};
use crate::error::ApiError;

/// The most events one page may hold.
pub const MAX_LIMIT: usize = 200;
/// The page size when none is asked for.
pub const DEFAULT_LIMIT: usize = 50;
/// The most log files one request reads; past it the page says it is incomplete.
pub const MAX_FILES: usize = 150;
/// The most dates one request walks back through.
pub const MAX_DAYS: usize = 62;
/// The most listing calls one request makes.
const MAX_LIST_CALLS: usize = 300;
/// Log files of up to this much JSON are parsed from memory; larger ones stream.
pub const SLICE_PARSE_BYTES: usize = 8 * 1024 * 1024;
/// How late after an event its log file may be delivered and still be found by a page that
/// starts before the delivery (a cursor's or `until`'s page). CloudTrail delivers within
/// minutes, typically.
const DELIVERY_SLACK_MS: i64 = 3_600_000;
/// One day, in milliseconds.
const DAY_MS: i64 = 86_400_000;
/// The longest `event_name` and `user_arn` filters accepted, in bytes.
const MAX_FILTER_BYTES: usize = 2048;

/// Where an event sits in the newest-first order: its time, then its id to break ties.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// Event time, milliseconds since the epoch.
    t: i64,
    /// The event's id.
    id: String,
}

impl Position {
    /// Encodes the position as an opaque cursor.
    pub fn to_cursor(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a cursor made by [`Position::to_cursor`].
    pub fn from_cursor(cursor: &str) -> Result<Self, ApiError> {
        let invalid = || {
            ApiError::bad_request(
                "invalid_cursor",
                "That cursor is not one this API gave out. Start again without it.",
            )
        };
        if cursor.len() > 512 {
            return Err(invalid());
        }
        let json = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        let position: Self = serde_json::from_slice(&json).map_err(|_| invalid())?;
        // Years 1 to 9999, as RFC 3339 allows.
        let plausible = -62_135_596_800_000..=253_402_300_799_999;
        if position.id.len() > 128 || !plausible.contains(&position.t) {
            return Err(invalid());
        }
        Ok(position)
    }
}

/// What a page of events is asked for, read from the query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The most events to return.
    pub limit: usize,
    /// Only events strictly older than this (from the cursor).
    pub before: Option<Position>,
    /// Only events of this name (compared without regard to case).
    pub event_name: Option<String>,
    /// Only events whose user ARN contains this, lower-cased.
    pub user_arn: Option<String>,
    /// Only events at or after this time, milliseconds since the epoch.
    pub since_ms: Option<i64>,
    /// Only events at or before this time, milliseconds since the epoch.
    pub until_ms: Option<i64>,
    /// Only events that failed (have an error code).
    pub errors_only: bool,
}

fn invalid_filter(message: impl Into<std::borrow::Cow<'static, str>>) -> ApiError {
    ApiError::bad_request("invalid_filter", message)
}

fn parse_time(name: &'static str, value: &str) -> Result<i64, ApiError> {
    // Any offset is accepted, as people type their own zone's time; events are in UTC.
    let time =
        DateTime::from_str(value.trim(), DateTimeFormat::DateTimeWithOffset).map_err(|_| {
            invalid_filter(format!(
                "{name} must be an RFC 3339 time, such as 2026-12-03T10:00:00Z or \
             2026-12-03T11:00:00+01:00."
            ))
            .for_field(name)
        })?;
    time.to_millis()
        .map_err(|_| invalid_filter(format!("{name} is out of range.")).for_field(name))
}

impl Query {
    /// Reads the query string's parameters, refusing unknown or repeated ones.
    pub fn parse<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ApiError> {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, value) in params {
            if seen.insert(name, value).is_some() {
                return Err(invalid_filter(format!("{name} is given more than once.")));
            }
        }

        let mut query = Query {
            limit: DEFAULT_LIMIT,
            before: None,
            event_name: None,
            user_arn: None,
            since_ms: None,
            until_ms: None,
            errors_only: false,
        };
        for (name, value) in seen {
            match name {
                "limit" => {
                    query.limit = Some(value.trim())
                        .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
                        .and_then(|v| v.parse::<usize>().ok())
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            invalid_filter(format!(
                                "limit must be a whole number from 1 to {MAX_LIMIT}."
                            ))
                            .for_field("limit")
                        })?;
                }
                "cursor" => {
                    let position = Position::from_cursor(value.trim())
                        .map_err(|err| err.for_field("cursor"))?;
                    query.before = Some(position);
                }
                "event_name" => {
                    let valid = !value.is_empty()
                        && value.len() <= 128
                        && value
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
                    if !valid {
                        return Err(invalid_filter(
                            "event_name must be a CloudTrail event name such as ConsoleLogin.",
                        )
                        .for_field("event_name"));
                    }
                    query.event_name = Some(value.to_owned());
                }
                "user_arn" => {
                    let valid = !value.trim().is_empty()
                        && value.len() <= MAX_FILTER_BYTES
                        && !value.chars().any(char::is_control);
                    if !valid {
                        return Err(invalid_filter(
                            "user_arn must be part of an ARN, such as user/alice or \
                             assumed-role/Admin.",
                        )
                        .for_field("user_arn"));
                    }
                    query.user_arn = Some(value.trim().to_lowercase());
                }
                "since" => query.since_ms = Some(parse_time("since", value)?),
                "until" => query.until_ms = Some(parse_time("until", value)?),
                "errors_only" => {
                    query.errors_only = match value.trim() {
                        "true" => true,
                        "false" => false,
                        _ => {
                            return Err(invalid_filter("errors_only must be true or false.")
                                .for_field("errors_only"));
                        }
                    };
                }
                other => {
                    return Err(invalid_filter(format!(
                        "{other} is not a filter. Use limit, cursor, event_name, user_arn, \
                         since, until or errors_only."
                    )));
                }
            }
        }

        if let (Some(since), Some(until)) = (query.since_ms, query.until_ms)
            && since > until
        {
            return Err(invalid_filter("since must not be later than until.").for_field("since"));
        }
        Ok(query)
    }

    /// The newest time an event on this page may have.
    fn upper_ms(&self) -> Option<i64> {
        match (self.until_ms, &self.before) {
            (Some(until), Some(before)) => Some(until.min(before.t)),
            (Some(until), None) => Some(until),
            (None, Some(before)) => Some(before.t),
            (None, None) => None,
        }
    }
}

/// One event, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// When it happened, as CloudTrail wrote it (RFC 3339, UTC).
    pub time: String,
    /// The API action, such as `ConsoleLogin`.
    pub name: String,
    /// The service, such as `signin.amazonaws.com`.
    pub source: String,
    /// The region the request was made in.
    pub region: Option<String>,
    /// The caller's address, or the service that called.
    pub source_ip: Option<String>,
    /// The kind of identity: `IAMUser`, `AssumedRole`, `Root`, `AWSService`, …
    pub user_type: Option<String>,
    /// The identity's ARN.
    pub user_arn: Option<String>,
    /// The error, when the request failed.
    pub error_code: Option<String>,
    /// The request's id.
    pub request_id: Option<String>,
    /// The event's id.
    pub event_id: String,
    /// The account the event happened in.
    pub account_id: Option<String>,
    #[serde(skip)]
    position: Position,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.position == other.position
    }
}

impl Eq for Event {}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Event {
    fn cmp(&self, other: &Self) -> Ordering {
        self.position.cmp(&other.position)
    }
}

/// The newest events seen so far, at most `limit` of them.
#[derive(Debug)]
struct Newest {
    limit: usize,
    heap: BinaryHeap<Reverse<Event>>,
}

impl Newest {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            heap: BinaryHeap::with_capacity(limit + 1),
        }
    }

    fn offer(&mut self, event: Event) {
        if self.heap.len() < self.limit {
            self.heap.push(Reverse(event));
        } else if self
            .heap
            .peek()
            .is_some_and(|Reverse(oldest)| event > *oldest)
        {
            self.heap.pop();
            self.heap.push(Reverse(event));
        }
    }

    /// Whether an event at `(t, id)` would be kept.
    fn would_keep(&self, t: i64, id: &str) -> bool {
        self.heap.len() < self.limit
            || self.heap.peek().is_some_and(|Reverse(oldest)| {
                (t, id) > (oldest.position.t, oldest.position.id.as_str())
            })
    }

    fn merge(&mut self, other: Newest) {
        for Reverse(event) in other.heap {
            self.offer(event);
        }
    }

    fn is_full(&self) -> bool {
        self.heap.len() >= self.limit
    }

    fn oldest(&self) -> Option<&Position> {
        self.heap.peek().map(|Reverse(e)| &e.position)
    }

    fn newest_first(self) -> Vec<Event> {
        let mut events: Vec<Event> = self.heap.into_iter().map(|Reverse(e)| e).collect();
        events.sort_by(|a, b| b.cmp(a));
        events
    }
}

/// The fields of a CloudTrail record that a page shows; the rest are skipped unread. Strings
/// borrow from the file's text where they can, so a record that does not make the page costs
/// no allocation.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecord<'a> {
    #[serde(borrow)]
    event_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    aws_region: Option<Cow<'a, str>>,
    #[serde(rename = "sourceIPAddress", borrow)]
    source_ip_address: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_identity: Option<RawIdentity<'a>>,
    #[serde(borrow)]
    error_code: Option<Cow<'a, str>>,
    #[serde(rename = "requestID", borrow)]
    request_id: Option<Cow<'a, str>>,
    #[serde(rename = "eventID", borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    recipient_account_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawIdentity<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arn: Option<Cow<'a, str>>,
}

fn owned(text: Option<Cow<'_, str>>) -> Option<String> {
    text.map(Cow::into_owned)
}

impl RawRecord<'_> {
    /// Offers the record to `newest` if it matches `query`. A record without the time, name,
    /// source or id every event has is passed over.
    fn offer_to(self, query: &Query, newest: &mut Newest) {
        let (Some(time), Some(name), Some(source), Some(id)) = (
            self.event_time,
            self.event_name,
            self.event_source,
            self.event_id,
        ) else {
            return;
        };
        let Some(t) = DateTime::from_str(&time, DateTimeFormat::DateTime)
            .ok()
            .and_then(|d| d.to_millis().ok())
        else {
            return;
        };
        let (user_type, user_arn) = self
            .user_identity
            .map_or((None, None), |identity| (identity.kind, identity.arn));
        let error_code = self.error_code.filter(|c| !c.is_empty());

        let position_ok = query
            .before
            .as_ref()
            .is_none_or(|b| (t, id.as_ref()) < (b.t, b.id.as_str()));
        let time_ok =
            query.since_ms.is_none_or(|s| t >= s) && query.until_ms.is_none_or(|u| t <= u);
        let name_ok = query
            .event_name
            .as_ref()
            .is_none_or(|n| n.eq_ignore_ascii_case(&name));
        let user_ok = query.user_arn.as_ref().is_none_or(|wanted| {
            user_arn
                .as_ref()
                .is_some_and(|arn| arn.to_lowercase().contains(wanted.as_str()))
        });
        let error_ok = !query.errors_only || error_code.is_some();
        let wanted = position_ok && time_ok && name_ok && user_ok && error_ok;
        if !(wanted && newest.would_keep(t, &id)) {
            return;
        }

        newest.offer(Event {
            time: time.into_owned(),
            name: name.into_owned(),
            source: source.into_owned(),
            region: owned(self.aws_region),
            source_ip: owned(self.source_ip_address),
            user_type: owned(user_type),
            user_arn: owned(user_arn),
            error_code: owned(error_code),
            request_id: owned(self.request_id),
            event_id: id.to_string(),
            account_id: owned(self.recipient_account_id),
            position: Position {
                t,
                id: id.into_owned(),
            },
        });
    }
}

/// Deserialises a log file's `{"Records": [...]}`, handing each matching record to `newest`
/// as soon as it is read.
struct LogFile<'a> {
    query: &'a Query,
    newest: &'a mut Newest,
}

impl<'de> DeserializeSeed<'de> for LogFile<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LogFile<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudTrail log file")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "Records" {
                map.next_value_seed(Records {
                    query: self.query,
                    newest: &mut *self.newest,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct Records<'a> {
    query: &'a Query,
    newest: &'a mut Newest,
}

impl<'de> DeserializeSeed<'de> for Records<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Records<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of CloudTrail records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(record) = seq.next_element::<RawRecord<'de>>()? {
            record.offer_to(self.query, self.newest);
        }
        Ok(())
    }
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    bytes: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// What reading one log file gave: its newest matching events and its decompressed size.
#[derive(Debug)]
pub struct FileEvents {
    newest: Newest,
    /// Bytes of JSON read.
    pub bytes: u64,
}

impl FileEvents {
    /// How many events were kept.
    pub fn len(&self) -> usize {
        self.newest.heap.len()
    }

    /// Whether none were kept.
    pub fn is_empty(&self) -> bool {
        self.newest.heap.is_empty()
    }
}

/// Reads one gzip CloudTrail log file from `reader`, keeping the newest `query.limit` events
/// that match. A file that is not gzip, is cut short, or is not a CloudTrail log is an error,
/// and none of its events count.
///
/// Most log files are small, and JSON parses several times faster from memory than through a
/// reader, so the first [`SLICE_PARSE_BYTES`] of JSON are gathered first: a file that fits is
/// parsed from that buffer, and a larger one streams on from where the buffer ends. Memory
/// stays within the buffer and one record either way.
pub fn read_log_file<R: Read>(reader: R, query: &Query) -> Result<FileEvents, std::io::Error> {
    let mut json = Counting {
        inner: MultiGzDecoder::new(BufReader::with_capacity(64 * 1024, reader)),
        bytes: 0,
    };
    let mut head = Vec::new();
    (&mut json)
        .take(SLICE_PARSE_BYTES as u64 + 1)
        .read_to_end(&mut head)?;

    let mut newest = Newest::new(query.limit);
    let seed = LogFile {
        query,
        newest: &mut newest,
    };
    if head.len() <= SLICE_PARSE_BYTES {
        let mut deserializer = serde_json::Deserializer::from_slice(&head);
        seed.deserialize(&mut deserializer)?;
        deserializer.end()?;
    } else {
        let rest = std::io::Cursor::new(head).chain(&mut json);
        let mut deserializer = serde_json::Deserializer::from_reader(rest);
        seed.deserialize(&mut deserializer)?;
        deserializer.end()?;
    }
    Ok(FileEvents {
        newest,
        bytes: json.bytes,
    })
}

/// How much a page read, so a client can tell a quiet account from a cut-short search.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scanned {
    /// Dates walked through.
    pub days: usize,
    /// Log files read.
    pub files: usize,
    /// Log files skipped because they were corrupt, truncated or gone.
    pub skipped_files: usize,
    /// Bytes of JSON read, after decompression.
    pub bytes: u64,
    /// Whether every folder that could hold a matching event was read; when false, the page
    /// stopped at a limit and the next page goes on from where it stopped.
    pub complete: bool,
    /// The oldest date read to its end.
    #[serde(skip)]
    oldest_date: Option<i64>,
}

/// When the listing budget ran out, what may be unread is older than the oldest date read.
fn scanned_date_floor(scanned: &Scanned) -> Option<i64> {
    Some(scanned.oldest_date?.saturating_sub(1))
}

/// A page of events, newest first.
#[derive(Debug, Serialize)]
pub struct Page {
    /// The events.
    pub events: Vec<Event>,
    /// Where the next page starts, or `None` when there are no older events.
    pub next_cursor: Option<String>,
    /// What was read.
    pub scanned: Scanned,
}

/// Whether S3 refused an object because its KMS key may not be used by the caller.
pub fn is_kms_denial(code: Option<&str>, message: Option<&str>) -> bool {
    let code = code.unwrap_or_default();
    let message = message.unwrap_or_default().to_ascii_lowercase();
    code.starts_with("KMS") || (code == "AccessDenied" && message.contains("kms"))
}

fn kms_denied() -> ApiError {
    ApiError::forbidden(
        "kms_access_denied",
        "The log files are encrypted with a KMS key the connected identity may not use. Allow \
         it kms:Decrypt on the trail's key.",
    )
}

/// One day folder of one account and region.
#[derive(Debug, Clone)]
struct Day {
    start_ms: i64,
    prefix: String,
}

/// The day folders of one `…/CloudTrail/<region>/` folder, newest first, listed only as far as
/// they are needed.
struct DayWalk {
    /// Folders still to open, the newest on top, with their depth: 0 the region, 1 a year,
    /// 2 a month, 3 a day.
    stack: Vec<(String, u8)>,
}

/// The reads one page makes, bounded.
struct Reader<'a> {
    s3: &'a Client,
    bucket: &'a str,
    owner: &'a str,
    list_calls: usize,
}

impl Reader<'_> {
    fn budget_left(&self) -> bool {
        self.list_calls < MAX_LIST_CALLS
    }

    async fn folders(&mut self, prefix: &str) -> Result<Vec<String>, ApiError> {
        self.list_calls += 1;
        list_folders(self.s3, self.bucket, self.owner, prefix, None).await
    }

    /// The log files of one day folder, newest first by the time in their names.
    async fn log_files(&mut self, prefix: &str) -> Result<Vec<String>, ApiError> {
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(self.bucket)
            .expected_bucket_owner(self.owner)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            self.list_calls += 1;
            let page = page.map_err(|e| bucket_error(aws_error(e, Step::UseConnection)))?;
            keys.extend(
                page.contents
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|o| o.key)
                    .filter(|k| k.ends_with(".json.gz") && k.contains("_CloudTrail_")),
            );
        }
        keys.sort_by(|a, b| b.cmp(a));
        Ok(keys)
    }

    /// Reads one log file as a stream; `None` when it is corrupt or gone.
    async fn read_file(&self, key: &str, query: &Query) -> Result<Option<FileEvents>, ApiError> {
        let object = match self
            .s3
            .get_object()
            .bucket(self.bucket)
            .expected_bucket_owner(self.owner)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(err) => {
                let service = err.as_service_error();
                if service.is_some_and(|e| e.is_no_such_key()) {
                    return Ok(None);
                }
                if service.is_some_and(|e| is_kms_denial(e.code(), e.message())) {
                    return Err(kms_denied().with_cause(key.to_owned()));
                }
                return Err(bucket_error(aws_error(err, Step::UseConnection)));
            }
        };

        // The decompression and parsing are synchronous; they run off the async thread and
        // pull the body through a bridge, so only a buffer's worth of it is in memory.
        let body = Box::pin(object.body.into_async_read());
        let bridge = tokio_util::io::SyncIoBridge::new(body);
        let query = query.clone();
        let parsed = tokio::task::spawn_blocking(move || read_log_file(bridge, &query))
            .await
            .map_err(ApiError::internal)?;
        match parsed {
            Ok(events) => Ok(Some(events)),
            Err(err) => {
                tracing::warn!(key, error = %err, "log file skipped");
                Ok(None)
            }
        }
    }
}

impl DayWalk {
    fn new(region_prefix: String) -> Self {
        Self {
            stack: vec![(region_prefix, 0)],
        }
    }

    /// The next day folder, newest first, within the query's time bounds.
    async fn next_day(
        &mut self,
        reader: &mut Reader<'_>,
        query: &Query,
    ) -> Result<Option<Day>, ApiError> {
        while let Some((prefix, depth)) = self.stack.pop() {
            if depth == 3 {
                let Some(start_ms) = day_start(&prefix) else {
                    continue;
                };
                if query
                    .since_ms
                    .is_some_and(|s| start_ms.saturating_add(DAY_MS) <= s)
                {
                    // Every older folder ends before `since` too.
                    self.stack.clear();
                    return Ok(None);
                }
                if query
                    .upper_ms()
                    .is_some_and(|u| start_ms > u.saturating_add(DAY_MS))
                {
                    continue;
                }
                return Ok(Some(Day { start_ms, prefix }));
            }
            if !reader.budget_left() {
                return Ok(None);
            }
            let width = if depth == 0 { 4 } else { 2 };
            let mut children: Vec<String> = reader
                .folders(&prefix)
                .await?
                .into_iter()
                .filter(|c| {
                    let name = last_folder(c);
                    name.len() == width && name.bytes().all(|b| b.is_ascii_digit())
                })
                .collect();
            children.sort();
            self.stack
                .extend(children.into_iter().map(|c| (c, depth + 1)));
        }
        Ok(None)
    }
}

/// When a log file was delivered, from the `_YYYYMMDDTHHmmZ_` in its name, to the end of that
/// minute; `None` for a name of another shape.
fn delivered_by(key: &str) -> Option<i64> {
    let name = key.rsplit('/').next()?;
    let stamp = name.split('_').find(|part| {
        part.len() == 14
            && part.as_bytes()[8] == b'T'
            && part.ends_with('Z')
            && part[..8]
                .bytes()
                .chain(part[9..13].bytes())
                .all(|b| b.is_ascii_digit())
    })?;
    let text = format!(
        "{}-{}-{}T{}:{}:00Z",
        &stamp[..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13]
    );
    let minute = DateTime::from_str(&text, DateTimeFormat::DateTime)
        .ok()?
        .to_millis()
        .ok()?;
    Some(minute + 59_999)
}

/// The start of a `…/YYYY/MM/DD/` folder's day, in milliseconds since the epoch.
fn day_start(prefix: &str) -> Option<i64> {
    let mut parts = prefix.trim_end_matches('/').rsplit('/');
    let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
    let text = format!("{year}-{month}-{day}T00:00:00Z");
    DateTime::from_str(&text, DateTimeFormat::DateTime)
        .ok()?
        .to_millis()
        .ok()
}

/// The page of events `query` asks for, from the CloudTrail folders `trail_prefixes` (each
/// `…/CloudTrail/`) of `bucket`, which `owner` must own.
pub async fn page(
    s3: &Client,
    bucket: &str,
    owner: &str,
    trail_prefixes: &[String],
    query: &Query,
) -> Result<Page, ApiError> {
    let mut reader = Reader {
        s3,
        bucket,
        owner,
        list_calls: 0,
    };

    let mut walks = Vec::new();
    for prefix in trail_prefixes {
        for region in reader.folders(prefix).await? {
            if is_region_name(last_folder(&region)) {
                walks.push(DayWalk::new(region));
            }
        }
    }
    let mut heads = Vec::with_capacity(walks.len());
    for walk in &mut walks {
        heads.push(walk.next_day(&mut reader, query).await?);
    }

    let mut newest = Newest::new(query.limit);
    let mut scanned = Scanned::default();
    // When the page stops before the end, the newest time an event not yet read may have.
    let mut unread_up_to = None;
    loop {
        let Some(date) = heads.iter().flatten().map(|d| d.start_ms).max() else {
            if !reader.budget_left() {
                unread_up_to = scanned_date_floor(&scanned);
            }
            break;
        };
        if scanned.days >= MAX_DAYS {
            unread_up_to = Some(date.saturating_add(DAY_MS - 1));
            break;
        }

        // Every account and region of this date together, newest delivery first, so that a
        // page cut short by the file budget has read the newest of the date.
        let mut files = Vec::new();
        for (walk, head) in walks.iter_mut().zip(heads.iter_mut()) {
            let Some(day) = head.take_if(|d| d.start_ms == date) else {
                continue;
            };
            for key in reader.log_files(&day.prefix).await? {
                let delivered = delivered_by(&key).unwrap_or(date.saturating_add(DAY_MS - 1));
                files.push((delivered, key));
            }
            *head = walk.next_day(&mut reader, query).await?;
        }
        files.sort_by(|a, b| b.cmp(a));

        for (delivered, key) in files {
            // A file delivered long after the page's newest time holds nothing for it. This is
            // also what moves a cursor on through a date that holds more files than a page
            // reads: the next page skips what was delivered well after where it starts.
            if query
                .upper_ms()
                .is_some_and(|u| delivered > u.saturating_add(DELIVERY_SLACK_MS))
            {
                continue;
            }
            if scanned.files >= MAX_FILES {
                unread_up_to = Some(delivered);
                break;
            }
            scanned.files += 1;
            match reader.read_file(&key, query).await? {
                Some(events) => {
                    scanned.bytes += events.bytes;
                    newest.merge(events.newest);
                }
                None => scanned.skipped_files += 1,
            }
        }
        if unread_up_to.is_some() {
            break;
        }
        scanned.days += 1;
        scanned.oldest_date = Some(date);

        if newest.is_full() && newest.oldest().is_some_and(|o| o.t >= date) {
            scanned.complete = true;
            break;
        }
    }
    if unread_up_to.is_none() && !scanned.complete {
        scanned.complete = reader.budget_left();
    }

    let mut events = newest.newest_first();
    let next_cursor = match unread_up_to {
        // Cut short: only events newer than anything unread can be shown in order; the next
        // page starts at the newest unread time. A cut that would not move below the page's
        // own bound is moved a minute down, so paging always goes on.
        Some(unread) => {
            let unread = match query.upper_ms() {
                Some(upper) if unread >= upper.saturating_sub(1) => upper.saturating_sub(60_000),
                _ => unread,
            };
            events.retain(|e| e.position.t > unread);
            match events.last() {
                Some(last) if events.len() >= query.limit => Some(last.position.to_cursor()),
                _ => Some(
                    Position {
                        t: unread.saturating_add(1),
                        id: String::new(),
                    }
                    .to_cursor(),
                ),
            }
        }
        None => match events.last() {
            Some(last) if events.len() >= query.limit => Some(last.position.to_cursor()),
            _ => None,
        },
    };
    Ok(Page {
        events,
        next_cursor,
        scanned,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;
    use serde_json::json;

    use super::*;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).expect("write");
        encoder.finish().expect("finish")
    }

    fn record(time: &str, name: &str, id: &str, error: Option<&str>) -> serde_json::Value {
        json!({
            "eventVersion": "1.09",
            "userIdentity": {"type": "AssumedRole",
                             "arn": "arn:aws:sts::111122223333:assumed-role/Admin/alice"},
            "eventTime": time,
            "eventSource": "s3.amazonaws.com",
            "eventName": name,
            "awsRegion": "eu-west-1",
            "sourceIPAddress": "198.51.100.7",
            "requestParameters": {"bucketName": "x", "nested": [1, 2, {"deep": true}]},
            "errorCode": error,
            "requestID": "req",
            "eventID": id,
            "recipientAccountId": "111122223333",
        })
    }

    fn log(records: &[serde_json::Value]) -> Vec<u8> {
        gz(json!({"Records": records}).to_string().as_bytes())
    }

    fn query(pairs: &[(&str, &str)]) -> Result<Query, ApiError> {
        Query::parse(pairs.iter().copied())
    }

    fn names(events: FileEvents) -> Vec<String> {
        events
            .newest
            .newest_first()
            .into_iter()
            .map(|e| e.name)
            .collect()
    }

    #[test]
    fn a_log_file_yields_its_newest_matching_events_newest_first() {
        let file = log(&[
            record("2026-12-01T10:00:00Z", "A", "1", None),
            record("2026-12-01T12:00:00Z", "C", "3", Some("AccessDenied")),
            record("2026-12-01T11:00:00Z", "B", "2", None),
        ]);
        let q = query(&[("limit", "2")]).expect("query");
        let events = read_log_file(&file[..], &q).expect("parse");
        assert!(events.bytes > 100);
        assert_eq!(names(events), ["C", "B"]);

        let errors = query(&[("errors_only", "true")]).expect("query");
        assert_eq!(
            names(read_log_file(&file[..], &errors).expect("parse")),
            ["C"]
        );
    }

    #[test]
    fn filters_apply_to_name_user_and_time() {
        let file = log(&[
            record("2026-12-01T10:00:00Z", "ConsoleLogin", "1", None),
            record("2026-12-01T11:00:00Z", "GetObject", "2", None),
            record("2026-12-01T12:00:00Z", "ConsoleLogin", "3", None),
        ]);
        let by_name = query(&[("event_name", "consolelogin")]).expect("query");
        assert_eq!(read_log_file(&file[..], &by_name).expect("parse").len(), 2);

        let by_user = query(&[("user_arn", "ASSUMED-ROLE/admin")]).expect("query");
        assert_eq!(read_log_file(&file[..], &by_user).expect("parse").len(), 3);
        let nobody = query(&[("user_arn", "user/bob")]).expect("query");
        assert!(read_log_file(&file[..], &nobody).expect("parse").is_empty());

        let window = query(&[
            ("since", "2026-12-01T10:30:00Z"),
            ("until", "2026-12-01T11:30:00Z"),
        ])
        .expect("query");
        assert_eq!(
            names(read_log_file(&file[..], &window).expect("parse")),
            ["GetObject"]
        );
    }

    #[test]
    fn times_with_an_offset_are_the_same_instants_as_in_utc() {
        let utc = query(&[("since", "2026-12-01T10:30:00Z")]).expect("query");
        let paris = query(&[("since", "2026-12-01T11:30:00+01:00")]).expect("query");
        let new_york = query(&[("until", "2026-12-01T05:30:00-05:00")]).expect("query");
        assert_eq!(paris.since_ms, utc.since_ms);
        assert_eq!(new_york.until_ms, utc.since_ms);
        assert_eq!(utc.since_ms, Some(1_796_121_000_000));
    }

    #[test]
    fn a_cursor_continues_strictly_after_the_last_event_shown() {
        let file = log(&[
            record("2026-12-01T10:00:00Z", "A", "1", None),
            record("2026-12-01T10:00:00Z", "B", "2", None),
            record("2026-12-01T09:00:00Z", "C", "3", None),
        ]);
        let first = read_log_file(&file[..], &query(&[("limit", "1")]).expect("q")).expect("p");
        let shown = first.newest.newest_first();
        assert_eq!(shown[0].name, "B");

        let cursor = shown[0].position.to_cursor();
        let next = query(&[("limit", "5"), ("cursor", &cursor)]).expect("query");
        assert_eq!(
            names(read_log_file(&file[..], &next).expect("parse")),
            ["A", "C"]
        );
    }

    #[test]
    fn corrupt_truncated_and_foreign_files_are_errors_not_events() {
        let q = query(&[]).expect("query");
        let whole = log(&[record("2026-12-01T10:00:00Z", "A", "1", None)]);
        let truncated = &whole[..whole.len() - 12];
        assert!(read_log_file(truncated, &q).is_err());
        assert!(read_log_file(&b"not gzip at all"[..], &q).is_err());
        assert!(read_log_file(&gz(b"{\"Records\": [")[..], &q).is_err());
        assert!(read_log_file(&gz(b"[1, 2, 3]")[..], &q).is_err());
    }

    #[test]
    fn records_missing_what_every_event_has_are_passed_over() {
        let file = log(&[
            json!({"eventName": "NoTime", "eventID": "x"}),
            record("2026-12-01T10:00:00Z", "A", "1", None),
        ]);
        let events = read_log_file(&file[..], &query(&[]).expect("query")).expect("parse");
        assert_eq!(names(events), ["A"]);
    }

    #[test]
    fn bad_filters_are_refused_with_a_reason() {
        for pairs in [
            vec![("limit", "0")],
            vec![("limit", "201")],
            vec![("limit", "ten")],
            vec![("since", "yesterday")],
            vec![("until", "2026-13-01T00:00:00Z")],
            vec![
                ("since", "2026-12-02T00:00:00Z"),
                ("until", "2026-12-01T00:00:00Z"),
            ],
            vec![("errors_only", "yes")],
            vec![("event_name", "Console Login")],
            vec![("event_name", "")],
            vec![("user_arn", " ")],
        ] {
            let err = query(&pairs).expect_err(&format!("{pairs:?}"));
            assert_eq!(err.code(), "invalid_filter", "{pairs:?}");
            // The console focuses the field named here.
            assert_eq!(err.field(), Some(pairs[0].0), "{pairs:?}");
        }
        for pairs in [
            vec![("colour", "red")],
            vec![("limit", "5"), ("limit", "6")],
        ] {
            let err = query(&pairs).expect_err(&format!("{pairs:?}"));
            assert_eq!(err.code(), "invalid_filter", "{pairs:?}");
        }
        for cursor in ["%%%", "bm90IGpzb24", &"A".repeat(600)] {
            let err = query(&[("cursor", cursor)]).expect_err(cursor);
            assert_eq!(err.code(), "invalid_cursor", "{cursor}");
            assert_eq!(err.field(), Some("cursor"));
        }
    }

    #[test]
    fn day_folders_give_the_start_of_their_day() {
        assert_eq!(
            day_start("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/12/03/"),
            Some(1_796_256_000_000)
        );
        assert_eq!(
            day_start("AWSLogs/1/CloudTrail/eu-west-1/2026/02/30/"),
            None
        );
    }

    #[test]
    fn kms_refusals_are_told_apart_from_other_denials() {
        assert!(is_kms_denial(
            Some("AccessDenied"),
            Some("User is not authorized to perform: kms:Decrypt")
        ));
        assert!(is_kms_denial(Some("KMS.NotFoundException"), None));
        assert!(!is_kms_denial(Some("AccessDenied"), Some("Access Denied")));
        assert!(!is_kms_denial(Some("NoSuchBucket"), Some("kms")));
    }
}
