//! Finding the connected account's CloudTrail trails, so that the buckets they deliver to can
//! be marked and offered first.
//!
//! `DescribeTrails` with shadow trails answers, in one region, for the trails homed there and
//! for every multi-region trail (organisation trails included) homed anywhere. Asking in the
//! default region and in each region that holds one of the account's buckets therefore finds
//! every trail that delivers to a bucket of the account, but for a single-region trail homed in
//! a region with no bucket of its own account. Discovery is a help, never a requirement:
//! without CloudTrail permissions the bucket listing still works and says why nothing was found.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tokio::task::JoinSet;

use crate::aws_access::{CustomerSession, Step, aws_error};

/// The most regions asked for their trails in one discovery.
const MAX_REGIONS: usize = 8;

/// One trail, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trail {
    /// The trail's name.
    pub name: String,
    /// The trail's ARN.
    #[serde(skip)]
    pub arn: String,
    /// The bucket it delivers to.
    pub bucket: String,
    /// The region the trail was created in.
    pub home_region: String,
    /// Its S3 key prefix, if it has one.
    pub prefix: Option<String>,
    /// Whether it logs every account of an organisation.
    pub organization: bool,
    /// Whether it logs every region.
    pub multi_region: bool,
    /// Whether it encrypts its log files with a KMS key (reading them then needs
    /// `kms:Decrypt` on that key).
    pub kms_encrypted: bool,
    /// Whether it is logging now; `None` when its status could not be read.
    pub logging: Option<bool>,
}

/// How discovery went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscoveryStatus {
    /// The trails were read (there may be none).
    Ok,
    /// The connected identity may not describe trails.
    Denied,
    /// CloudTrail failed or could not be reached.
    Unavailable,
}

/// The trails found, or why none could be looked for.
#[derive(Debug, Clone, Serialize)]
pub struct Discovery {
    /// How it went.
    pub status: DiscoveryStatus,
    /// For people, when the status is not `ok`.
    pub message: Option<String>,
    /// The trails found, by name.
    pub trails: Vec<Trail>,
}

impl Discovery {
    /// The trails that deliver to `bucket`.
    pub fn trails_for<'a>(&'a self, bucket: &'a str) -> impl Iterator<Item = &'a Trail> + 'a {
        self.trails.iter().filter(move |t| t.bucket == bucket)
    }
}

/// Asks CloudTrail for the account's trails in the session's default region and in each of
/// `regions` (at most [`MAX_REGIONS`] in all), then for each trail's logging status.
pub async fn discover(session: &CustomerSession, regions: &[String]) -> Discovery {
    let mut asked: BTreeSet<String> = BTreeSet::new();
    asked.insert(session.default_region().to_owned());
    asked.extend(regions.iter().take(MAX_REGIONS - 1).cloned());

    let mut lookups = JoinSet::new();
    for region in asked {
        let client = session.cloudtrail(Some(&region));
        lookups.spawn(async move {
            client
                .describe_trails()
                .include_shadow_trails(true)
                .send()
                .await
        });
    }

    let mut by_arn: BTreeMap<String, Trail> = BTreeMap::new();
    let (mut answered, mut denied) = (false, false);
    let mut failure = None;
    while let Some(joined) = lookups.join_next().await {
        let Ok(result) = joined else { continue };
        match result {
            Ok(output) => {
                answered = true;
                for trail in output.trail_list.unwrap_or_default() {
                    if let Some(found) = from_sdk(trail) {
                        by_arn.entry(found.arn.clone()).or_insert(found);
                    }
                }
            }
            Err(err) => {
                let err = aws_error(err, Step::UseConnection);
                if err.code() == "aws_access_denied" {
                    denied = true;
                } else {
                    failure = Some(err);
                }
            }
        }
    }

    if !answered {
        let (status, message) = if denied {
            (
                DiscoveryStatus::Denied,
                "The connected identity may not list CloudTrail trails, so none were looked \
                 for. Grant it cloudtrail:DescribeTrails and cloudtrail:GetTrailStatus to have \
                 trail buckets found and marked.",
            )
        } else {
            if let Some(err) = failure {
                tracing::warn!(
                    code = err.code(),
                    cause = err.cause_chain().unwrap_or_default(),
                    "trail discovery failed"
                );
            }
            (
                DiscoveryStatus::Unavailable,
                "CloudTrail could not be asked for the account's trails just now.",
            )
        };
        return Discovery {
            status,
            message: Some(message.to_owned()),
            trails: Vec::new(),
        };
    }

    let mut trails: Vec<Trail> = by_arn.into_values().collect();
    fill_logging_status(session, &mut trails).await;
    trails.sort_by(|a, b| (&a.name, &a.home_region).cmp(&(&b.name, &b.home_region)));
    Discovery {
        status: DiscoveryStatus::Ok,
        message: None,
        trails,
    }
}

fn from_sdk(trail: aws_sdk_cloudtrail::types::Trail) -> Option<Trail> {
    Some(Trail {
        name: trail.name?,
        arn: trail.trail_arn?,
        bucket: trail.s3_bucket_name?,
        home_region: trail.home_region?,
        prefix: trail.s3_key_prefix.filter(|p| !p.is_empty()),
        organization: trail.is_organization_trail.unwrap_or(false),
        multi_region: trail.is_multi_region_trail.unwrap_or(false),
        kms_encrypted: trail.kms_key_id.is_some_and(|k| !k.is_empty()),
        logging: None,
    })
}

/// Reads whether each trail is logging, in its home region. A status that cannot be read stays
/// unknown: it is worth showing, not worth failing for.
async fn fill_logging_status(session: &CustomerSession, trails: &mut [Trail]) {
    let mut lookups = JoinSet::new();
    for (index, trail) in trails.iter().enumerate() {
        let client = session.cloudtrail(Some(&trail.home_region));
        let arn = trail.arn.clone();
        lookups.spawn(async move {
            let output = client.get_trail_status().name(arn).send().await.ok()?;
            Some((index, output.is_logging?))
        });
    }
    while let Some(joined) = lookups.join_next().await {
        if let Ok(Some((index, logging))) = joined {
            trails[index].logging = Some(logging);
        }
    }
}
