//! The customer's S3 buckets: listing them, and finding CloudTrail's layout in the chosen one.
//!
//! CloudTrail writes under `[prefix/]AWSLogs/<account id>/CloudTrail/<region>/…`, and an
//! organisation trail under `[prefix/]AWSLogs/<o-org id>/<account id>/CloudTrail/…`. Detection
//! walks those levels with delimited listings, a bounded number of calls, so a huge bucket
//! costs no more than a small one.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::BucketLocationConstraint;
use serde::Serialize;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

use crate::aws_access::{Step, aws_error};
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::trails::{Discovery, Trail};

/// The most listing calls one detection may make.
const MAX_DETECTION_CALLS: usize = 60;
/// The most top-level folders searched for a custom prefix when none is given.
const MAX_ROOTS: i32 = 20;
/// The most region look-ups one listing makes for buckets S3 listed without a region.
const MAX_REGION_LOOKUPS: usize = 100;
/// The longest custom prefix accepted, in bytes: S3 keys hold 1024, and CloudTrail's own
/// path after the prefix needs about a hundred.
const MAX_PREFIX_BYTES: usize = 512;

/// One bucket as the listing shows it.
#[derive(Debug, Clone, Serialize)]
pub struct BucketSummary {
    /// The bucket's name.
    pub name: String,
    /// When it was created, RFC 3339.
    pub created_at: Option<String>,
    /// Its region, when S3 says.
    pub region: Option<String>,
    /// The trails that deliver to it, when trails were looked for.
    pub trails: Vec<Trail>,
}

/// Marks each bucket with the trails that deliver to it, and puts those buckets first.
pub fn mark_trail_buckets(buckets: &mut [BucketSummary], discovery: &Discovery) {
    for bucket in buckets.iter_mut() {
        bucket.trails = discovery.trails_for(&bucket.name).cloned().collect();
    }
    buckets.sort_by(|a, b| (a.trails.is_empty(), &a.name).cmp(&(b.trails.is_empty(), &b.name)));
}

/// What was found of CloudTrail in a bucket.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TrailLayout {
    /// Whether any CloudTrail folder was found.
    pub found: bool,
    /// Each `…/CloudTrail/` prefix found, such as `AWSLogs/123456789012/CloudTrail/`.
    pub prefixes: Vec<String>,
    /// The accounts whose events were found.
    pub accounts: Vec<String>,
    /// The regions whose events were found.
    pub regions: Vec<String>,
    /// The organisations (`o-…`) whose trails deliver here.
    pub organization_ids: Vec<String>,
    /// Whether log file integrity digests (`CloudTrail-Digest/`, which hold no events) were
    /// found beside the logs.
    pub digests: bool,
}

/// The last folder name of a `a/b/c/` prefix: `c`.
pub(crate) fn last_folder(prefix: &str) -> &str {
    prefix
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

/// Whether a folder name is a 12-digit AWS account id.
fn is_account_id(name: &str) -> bool {
    name.len() == 12 && name.bytes().all(|b| b.is_ascii_digit())
}

/// Whether a folder name looks like an AWS region (`us-east-1`, `us-gov-west-1`, `cn-north-1`).
pub fn is_region_name(name: &str) -> bool {
    let mut parts = name.split('-');
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    (2..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && rest.len() >= 2
        && rest
            .last()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && rest[..rest.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// Checks `name` against S3's rules for general purpose bucket names.
pub fn validate_bucket_name(name: &str) -> Result<(), ApiError> {
    let invalid = |why: &str| {
        ApiError::bad_request(
            "invalid_bucket_name",
            format!("That is not a valid S3 bucket name: {why}."),
        )
    };

    if !(3..=63).contains(&name.len()) {
        return Err(invalid("it must be 3 to 63 characters long"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return Err(invalid(
            "use only lower-case letters, digits, dots and hyphens",
        ));
    }
    let edge_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !edge_ok(name.bytes().next()) || !edge_ok(name.bytes().last()) {
        return Err(invalid("it must begin and end with a letter or digit"));
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return Err(invalid("dots may not be doubled or next to hyphens"));
    }
    let ip_like = name.split('.').count() == 4
        && name
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if ip_like {
        return Err(invalid("it may not look like an IP address"));
    }
    let reserved_prefix = ["xn--", "sthree-", "amzn-s3-demo-"];
    let reserved_suffix = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
    if reserved_prefix.iter().any(|p| name.starts_with(p))
        || reserved_suffix.iter().any(|s| name.ends_with(s))
    {
        return Err(invalid("it uses a prefix or suffix S3 reserves"));
    }
    Ok(())
}

/// Normalises a custom trail prefix to `a/b/` form, or refuses it.
pub fn normalise_prefix(prefix: &str) -> Result<Option<String>, ApiError> {
    let trimmed = prefix.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Ok(None);
    }
    // Controls, format marks and line or paragraph separators would hide in a displayed path.
    let invisible = |c: char| {
        c.general_category_group() == GeneralCategoryGroup::Other
            || matches!(c, '\u{2028}' | '\u{2029}')
    };
    let bad = trimmed.len() > MAX_PREFIX_BYTES
        || trimmed
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        || trimmed.chars().any(|c| invisible(c) || c == '\\');
    if bad {
        return Err(ApiError::bad_request(
            "invalid_prefix",
            "The prefix must be a path such as trails/main, of at most 512 bytes, without empty \
             parts, dot folders, backslashes or invisible characters.",
        ));
    }
    Ok(Some(format!("{trimmed}/")))
}

/// Every bucket the connection's account owns, following every page.
pub async fn list(s3: &Client) -> Result<Vec<BucketSummary>, ApiError> {
    let mut pages = s3.list_buckets().max_buckets(1000).into_paginator().send();
    let mut buckets = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error(e, Step::UseConnection))?;
        for bucket in page.buckets.unwrap_or_default() {
            let Some(name) = bucket.name else { continue };
            buckets.push(BucketSummary {
                name,
                created_at: bucket.creation_date.map(|d| rfc3339(d.secs())),
                region: bucket.bucket_region,
                trails: Vec::new(),
            });
        }
    }
    buckets.sort_by(|a, b| a.name.cmp(&b.name));
    fill_missing_regions(s3, &mut buckets).await;
    Ok(buckets)
}

/// Asks for the regions S3's listing left out (it names them only for some requests, and
/// S3-compatible stores may never do), a bounded number at a time. A bucket whose region
/// cannot be read keeps `null`: the listing is still useful without it.
async fn fill_missing_regions(s3: &Client, buckets: &mut [BucketSummary]) {
    let mut lookups = tokio::task::JoinSet::new();
    let missing = buckets
        .iter()
        .enumerate()
        .filter(|(_, b)| b.region.is_none());
    for (index, bucket) in missing.take(MAX_REGION_LOOKUPS) {
        let (s3, name) = (s3.clone(), bucket.name.clone());
        lookups.spawn(async move {
            let output = s3.get_bucket_location().bucket(name).send().await.ok()?;
            Some((index, location_to_region(output.location_constraint)))
        });
    }
    while let Some(joined) = lookups.join_next().await {
        if let Ok(Some((index, region))) = joined {
            buckets[index].region = Some(region);
        }
    }
}

/// Turns a location constraint into a region name: none means us-east-1, and "EU" is the
/// historical name of eu-west-1.
fn location_to_region(constraint: Option<BucketLocationConstraint>) -> String {
    match constraint {
        Some(BucketLocationConstraint::Eu) => "eu-west-1".to_owned(),
        Some(c) if !c.as_str().is_empty() => c.as_str().to_owned(),
        _ => "us-east-1".to_owned(),
    }
}

/// The bucket's region, asked of S3 with the expected owner; this also proves access.
pub async fn region_of(s3: &Client, bucket: &str, owner: &str) -> Result<String, ApiError> {
    let output = s3
        .get_bucket_location()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .send()
        .await
        .map_err(|e| bucket_error(aws_error(e, Step::UseConnection)))?;

    Ok(location_to_region(output.location_constraint))
}

/// Says which permission a refusal to read the bucket is about.
pub(crate) fn bucket_error(err: ApiError) -> ApiError {
    if err.code() == "aws_access_denied" {
        ApiError::forbidden(
            "bucket_access_denied",
            "The connected identity may not read this bucket. Grant it s3:ListBucket and \
             s3:GetBucketLocation on the bucket.",
        )
    } else {
        err
    }
}

/// The "folders" directly under `prefix` in `bucket`, which `owner` must own: one delimited
/// listing of at most `max` entries (S3's own page size when `None`).
pub(crate) async fn list_folders(
    s3: &Client,
    bucket: &str,
    owner: &str,
    prefix: &str,
    max: Option<i32>,
) -> Result<Vec<String>, ApiError> {
    let output = s3
        .list_objects_v2()
        .bucket(bucket)
        .expected_bucket_owner(owner)
        .prefix(prefix)
        .delimiter("/")
        .set_max_keys(max)
        .send()
        .await
        .map_err(|e| bucket_error(aws_error(e, Step::UseConnection)))?;
    Ok(output
        .common_prefixes
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.prefix)
        .collect())
}

/// One delimited listing level: the "folders" directly under `prefix`.
struct Walker<'a> {
    s3: &'a Client,
    bucket: &'a str,
    owner: &'a str,
    calls: usize,
}

impl Walker<'_> {
    async fn folders(&mut self, prefix: &str, max: i32) -> Result<Vec<String>, ApiError> {
        if self.calls >= MAX_DETECTION_CALLS {
            return Ok(Vec::new());
        }
        self.calls += 1;
        list_folders(self.s3, self.bucket, self.owner, prefix, Some(max)).await
    }

    /// The CloudTrail folders under one `…/AWSLogs/` prefix, with the accounts, regions and
    /// organisations they show. An organisation trail writes `AWSLogs/o-<org id>/<account>/`,
    /// and one created before organisation ids were added, `AWSLogs/<account>/`.
    async fn trails_under(
        &mut self,
        aws_logs: &str,
        layout: &mut TrailLayout,
    ) -> Result<(), ApiError> {
        for owner_folder in self.folders(aws_logs, 50).await? {
            let owner = last_folder(&owner_folder);
            let accounts = if owner.starts_with("o-") {
                layout.organization_ids.push(owner.to_owned());
                self.folders(&owner_folder, 50).await?
            } else {
                vec![owner_folder]
            };
            for account in accounts {
                if !is_account_id(last_folder(&account)) {
                    continue;
                }
                for service in self.folders(&account, 20).await? {
                    match last_folder(&service) {
                        "CloudTrail-Digest" => layout.digests = true,
                        "CloudTrail" => {
                            let regions = self.folders(&service, 50).await?;
                            let regions: Vec<String> = regions
                                .iter()
                                .map(|r| last_folder(r).to_owned())
                                .filter(|r| is_region_name(r))
                                .collect();
                            if !regions.is_empty() {
                                layout.accounts.push(last_folder(&account).to_owned());
                                layout.regions.extend(regions);
                            }
                            layout.prefixes.push(service);
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }
}

/// Looks for CloudTrail's layout under `prefix`, or, without one, at the top of the bucket and
/// one folder down (where a trail's custom prefix usually sits).
pub async fn detect_layout(
    s3: &Client,
    bucket: &str,
    owner: &str,
    prefix: Option<&str>,
) -> Result<TrailLayout, ApiError> {
    let mut walker = Walker {
        s3,
        bucket,
        owner,
        calls: 0,
    };
    let mut layout = TrailLayout::default();

    match prefix {
        Some(prefix) => {
            walker
                .trails_under(&format!("{prefix}AWSLogs/"), &mut layout)
                .await?
        }
        None => {
            walker.trails_under("AWSLogs/", &mut layout).await?;
            if layout.prefixes.is_empty() {
                for root in walker.folders("", MAX_ROOTS).await? {
                    if root != "AWSLogs/" {
                        walker
                            .trails_under(&format!("{root}AWSLogs/"), &mut layout)
                            .await?;
                    }
                }
            }
        }
    }

    for list in [
        &mut layout.prefixes,
        &mut layout.accounts,
        &mut layout.regions,
        &mut layout.organization_ids,
    ] {
        list.sort();
        list.dedup();
    }
    layout.found = !layout.prefixes.is_empty();
    Ok(layout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_bucket_names_pass() {
        for name in [
            "my-trail-logs",
            "a.b.c",
            "123",
            "aws-cloudtrail-logs-111122223333-abcd1234",
        ] {
            assert!(validate_bucket_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn invalid_bucket_names_are_refused_with_a_reason() {
        for name in [
            "ab",
            "My-Bucket",
            "-start",
            "end-",
            "a..b",
            "a.-b",
            "192.168.5.4",
            "999.999.999.999",
            "xn--punycode",
            "bucket-s3alias",
            "has space",
            "under_score",
            &"a".repeat(64),
        ] {
            let err = validate_bucket_name(name).expect_err(name);
            assert_eq!(err.code(), "invalid_bucket_name", "{name}");
        }
    }

    #[test]
    fn prefixes_are_normalised_or_refused() {
        assert_eq!(
            normalise_prefix("/trails/main/").expect("ok").as_deref(),
            Some("trails/main/")
        );
        assert_eq!(normalise_prefix("  ").expect("ok"), None);
        let long = "é".repeat(300);
        for bad in [
            "a//b",
            "../etc",
            "a/./b",
            "a\\b",
            "a\u{202E}b",
            "zero\u{200B}width",
            "line\u{2028}break",
            &long,
        ] {
            assert!(normalise_prefix(bad).is_err(), "{bad}");
        }
    }
}
