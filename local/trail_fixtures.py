"""CloudTrail-shaped demo data for the local stack: trails, log files and digests.

Everything is generated from a fixed seed, so every run of the stack holds the same events and
the tests can count on them. The layout is CloudTrail's own:

    demo-cloudtrail-logs (us-east-1)   trail "management-events", multi-region, no prefix
        AWSLogs/123456789012/CloudTrail/<us-east-1|eu-west-1>/2026/12/0<1-3>/...json.gz
        AWSLogs/123456789012/CloudTrail-Digest/...            (integrity digests, no events)
        one truncated log file on 2026-12-03 in us-east-1     (skipped and counted)
    demo-org-trail (eu-west-1)         organisation trail "org-security", prefix "security"
        security/AWSLogs/o-a1b2c3d4e5/<two accounts>/CloudTrail/eu-west-1/2026/12/0<2-3>/...
    demo-kms-trail (us-east-1)         trail "encrypted-trail", logs encrypted with a KMS key
        AWSLogs/123456789012/CloudTrail/us-east-1/2026/12/03/...  that the demo user may not use
    demo-website-assets (us-east-1)    no logs
"""

import gzip
import json
import random

ACCOUNT_ID = "123456789012"
MEMBER_ACCOUNT_ID = "210987654321"
ORG_ID = "o-a1b2c3d4e5"
TRAIL_BUCKET = "demo-cloudtrail-logs"
ORG_BUCKET = "demo-org-trail"
OTHER_BUCKET = "demo-website-assets"
KMS_BUCKET = "demo-kms-trail"

# The days and delivery times (UTC) of the trail bucket's log files, per region.
DAYS = ["2026/12/01", "2026/12/02", "2026/12/03"]
DELIVERIES = ["0610", "1015", "1420", "1825"]
RECORDS_PER_FILE = 8
# The log file left truncated, as an interrupted upload would leave it.
CORRUPT_AT = ("us-east-1", "2026/12/03", "1200")

IDENTITIES = [
    {"type": "IAMUser", "principalId": "AIDAEXAMPLEANALYST",
     "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/demo-analyst", "userName": "demo-analyst"},
    {"type": "AssumedRole", "principalId": "AROAEXAMPLEADMIN:alice",
     "arn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/Admin/alice"},
    {"type": "AssumedRole", "principalId": "AROAEXAMPLEDEPLOY:ci",
     "arn": f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/Deploy/ci"},
    {"type": "Root", "principalId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:root"},
    {"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"},
]

# (event name, event source, error code or None, read only)
EVENTS = [
    ("ConsoleLogin", "signin.amazonaws.com", None, False),
    ("ConsoleLogin", "signin.amazonaws.com", "Failed authentication", False),
    ("ListBuckets", "s3.amazonaws.com", None, True),
    ("GetObject", "s3.amazonaws.com", "AccessDenied", True),
    ("AssumeRole", "sts.amazonaws.com", None, True),
    ("DescribeInstances", "ec2.amazonaws.com", None, True),
    ("RunInstances", "ec2.amazonaws.com", "UnauthorizedOperation", False),
    ("CreateUser", "iam.amazonaws.com", None, False),
    ("PutBucketPolicy", "s3.amazonaws.com", None, False),
    ("DeleteTrail", "cloudtrail.amazonaws.com", "AccessDenied", False),
]


def record(rng, account, region, when, identity=None, event=None):
    """One CloudTrail record at `when` (RFC 3339), with a random identity and event unless
    given."""
    identity = dict(identity or rng.choice(IDENTITIES))
    if "arn" in identity:
        identity["arn"] = identity["arn"].replace(ACCOUNT_ID, account)
    identity["accountId"] = account
    name, source, error, read_only = event or rng.choice(EVENTS)
    body = {
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": when,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": identity.get("invokedBy") or f"203.0.113.{rng.randint(1, 254)}",
        "userAgent": "aws-cli/2.15.0 Python/3.11",
        "requestParameters": {"example": [1, {"nested": True}]},
        "responseElements": None,
        "requestID": "%08x-%04x" % (rng.getrandbits(32), rng.getrandbits(16)),
        "eventID": "%032x" % rng.getrandbits(128),
        "readOnly": read_only,
        "eventType": "AwsConsoleSignIn" if source == "signin.amazonaws.com" else "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
    }
    if error:
        body["errorCode"] = error
        body["errorMessage"] = "Access Denied" if error == "AccessDenied" else error
    return body


def log_file(records):
    return gzip.compress(json.dumps({"Records": records}).encode(), mtime=0)


def file_key(base, account, region, day, hhmm, tag):
    stamp = day.replace("/", "") + f"T{hhmm}Z"
    return f"{base}{day}/{account}_CloudTrail_{region}_{stamp}_{tag}.json.gz"


def day_files(rng, base, account, region, day, deliveries):
    """The log files of one day folder: (key, body, records)."""
    files = []
    for hhmm in deliveries:
        hour, minute = int(hhmm[:2]), int(hhmm[2:])
        records = []
        for i in range(RECORDS_PER_FILE):
            # Events in the five minutes before delivery, as CloudTrail batches them.
            total = hour * 60 + minute - 5 + i * 5 // RECORDS_PER_FILE
            second = rng.randint(0, 59)
            when = f"{day.replace('/', '-')}T{total // 60:02d}:{total % 60:02d}:{second:02d}Z"
            records.append(record(rng, account, region, when))
        key = file_key(base, account, region, day, hhmm, "%016x" % rng.getrandbits(64))
        files.append((key, log_file(records), records))
    return files


def all_files():
    """Every object of the demo buckets: {bucket: [(key, body, records or None)]}, where
    records is None for objects that hold no events."""
    rng = random.Random(20261203)
    objects = {TRAIL_BUCKET: [], ORG_BUCKET: [], OTHER_BUCKET: [], KMS_BUCKET: []}

    for region in ("us-east-1", "eu-west-1"):
        base = f"AWSLogs/{ACCOUNT_ID}/CloudTrail/{region}/"
        for day in DAYS:
            objects[TRAIL_BUCKET].extend(day_files(rng, base, ACCOUNT_ID, region, day, DELIVERIES))
            digest = (
                f"AWSLogs/{ACCOUNT_ID}/CloudTrail-Digest/{region}/{day}/{ACCOUNT_ID}_"
                f"CloudTrail-Digest_{region}_management-events_us-east-1_"
                f"{day.replace('/', '')}T2300Z.json.gz"
            )
            body = gzip.compress(json.dumps({"digestStartTime": day, "logFiles": []}).encode())
            objects[TRAIL_BUCKET].append((digest, body, None))

    region, day, hhmm = CORRUPT_AT
    key = file_key(f"AWSLogs/{ACCOUNT_ID}/CloudTrail/{region}/", ACCOUNT_ID, region, day, hhmm,
                   "truncated")
    whole = log_file([record(rng, ACCOUNT_ID, region, f"{day.replace('/', '-')}T11:58:00Z")])
    objects[TRAIL_BUCKET].append((key, whole[: len(whole) // 2], None))

    for account in (ACCOUNT_ID, MEMBER_ACCOUNT_ID):
        base = f"security/AWSLogs/{ORG_ID}/{account}/CloudTrail/eu-west-1/"
        for day in DAYS[1:]:
            objects[ORG_BUCKET].extend(day_files(rng, base, account, "eu-west-1", day, ["1200"]))

    base = f"AWSLogs/{ACCOUNT_ID}/CloudTrail/us-east-1/"
    objects[KMS_BUCKET].extend(day_files(rng, base, ACCOUNT_ID, "us-east-1", DAYS[-1], ["0900"]))

    objects[OTHER_BUCKET].append(("index.html", b"<h1>hello</h1>", None))
    return objects


def events_in(bucket):
    """Every record the bucket's readable log files hold, newest first, as the API orders them
    (time, then event id)."""
    records = [r for _, _, rs in all_files()[bucket] if rs for r in rs]
    return sorted(records, key=lambda r: (r["eventTime"], r["eventID"]), reverse=True)


def seed(client_in):
    """Creates the demo buckets, their objects and their trails. `client_in(service, region)`
    gives a client of the customer's account."""
    s3 = client_in("s3", "us-east-1")
    key_arn = client_in("kms", "us-east-1").create_key(
        Description="demo trail key")["KeyMetadata"]["Arn"]
    s3.create_bucket(Bucket=TRAIL_BUCKET)
    s3.create_bucket(Bucket=ORG_BUCKET,
                     CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.create_bucket(Bucket=OTHER_BUCKET)
    s3.create_bucket(Bucket=KMS_BUCKET)
    for bucket, objects in all_files().items():
        for key, body, _ in objects:
            if bucket == KMS_BUCKET:
                s3.put_object(Bucket=bucket, Key=key, Body=body,
                              ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
            else:
                s3.put_object(Bucket=bucket, Key=key, Body=body)

    east = client_in("cloudtrail", "us-east-1")
    east.create_trail(Name="management-events", S3BucketName=TRAIL_BUCKET,
                      IsMultiRegionTrail=True, EnableLogFileValidation=True)
    east.start_logging(Name="management-events")
    east.create_trail(Name="encrypted-trail", S3BucketName=KMS_BUCKET, KmsKeyId=key_arn)
    east.start_logging(Name="encrypted-trail")
    west = client_in("cloudtrail", "eu-west-1")
    west.create_trail(Name="org-security", S3BucketName=ORG_BUCKET, S3KeyPrefix="security",
                      IsMultiRegionTrail=True, IsOrganizationTrail=True)
    west.start_logging(Name="org-security")


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "events":
        # The expected events of a bucket, newest first, for the tests to compare against.
        print(json.dumps(events_in(sys.argv[2])))
    else:
        # A summary, for a person checking what the stack holds.
        for bucket, objects in all_files().items():
            events = sum(len(rs) for _, _, rs in objects if rs)
            print(f"{bucket}: {len(objects)} objects, {events} events")
