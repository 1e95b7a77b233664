"""Trailport's local AWS stand-in: two moto servers on 127.0.0.1, the table, and a demo account.

One server plays Trailport's own AWS account (the DynamoDB table). The other plays the
customer's account (IAM, STS and S3); once it is seeded, IAM authentication is switched on, so
wrong keys and missing permissions really fail there.

    stack.py up --state DIR [--table-port N] [--customer-port N]
        Starts both servers, creates the table from template.yaml, seeds the demo account,
        and writes DIR/env (shell exports for the functions) and DIR/state.json.
    stack.py down --state DIR
        Stops the servers that `up` started, by their recorded PIDs.
    stack.py role --state DIR --external-id ID [--name NAME] [--no-condition | --any-external-id]
        Creates a role in the customer account that trusts Trailport's principal and may read
        S3 and CloudTrail, requiring ID as sts:ExternalId (unless --no-condition, or --any-external-id which
        accepts any id with StringLike "*"); prints its ARN.
    stack.py user --state DIR --name NAME [--no-permissions | --no-cloudtrail]
        Creates an IAM user with S3 and CloudTrail read permissions (or none, or S3 alone);
        prints KEY_ID SECRET.
    stack.py busy-trail --state DIR --bucket NAME [--files N]
        Creates a bucket whose one date holds N log files in eu-west-1 (an event a minute from
        01:00) and one in us-east-1 (19:59), for the tests of pages cut short.
    stack.py table --state DIR --name NAME
        Creates another table like Trailport's, from template.yaml, for tests that need their own.
    stack.py free-port
        Prints a free TCP port on 127.0.0.1.
    stack.py port-free PORT
        Exits 0 if PORT on 127.0.0.1 is free, 1 if it is taken.
"""

import argparse
import base64
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import yaml

import trail_fixtures

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_ID = "123456789012"
TABLE_NAME = "trailport-local"
REGION = "us-east-1"
SERVICE_USER = "trailport-service"

S3_READ_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "s3:ListAllMyBuckets",
                "s3:GetBucketLocation",
                "s3:ListBucket",
                "s3:GetObject",
                "sts:GetCallerIdentity",
                "cloudtrail:DescribeTrails",
                "cloudtrail:GetTrailStatus",
            ],
            "Resource": "*",
        }
    ],
}

# The same without CloudTrail's read actions: S3 works, trail discovery is denied.
S3_ONLY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [a for a in S3_READ_POLICY["Statement"][0]["Action"]
                       if not a.startswith("cloudtrail:")],
            "Resource": "*",
        }
    ],
}


def port_free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def client(service, endpoint, key_id="seed", secret="seed"):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


def start_moto(port, log_path, lifetime):
    """Starts one moto server on 127.0.0.1:port for at most `lifetime` seconds, and waits
    until it answers (30 s at most)."""
    log = open(log_path, "ab")
    env = dict(os.environ, MOTO_ACCOUNT_ID=ACCOUNT_ID)
    proc = subprocess.Popen(
        ["timeout", str(lifetime), sys.executable, str(ROOT / "local" / "moto_server.py"),
         "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"moto on port {port} exited; see {log_path}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return proc.pid
        except OSError:
            time.sleep(0.2)
    proc.kill()
    sys.exit(f"moto on port {port} did not start within 30 s; see {log_path}")


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML, keeping intrinsic functions (!Ref, !Sub, …) as plain data."""


def _intrinsic(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node)
    else:
        value = loader.construct_mapping(node)
    return {suffix: value}


CfnLoader.add_multi_constructor("!", _intrinsic)


def table_definition():
    """The table's properties, read from template.yaml so the schema is defined once."""
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=CfnLoader)
    tables = [
        res["Properties"]
        for res in template["Resources"].values()
        if res.get("Type") == "AWS::DynamoDB::Table"
    ]
    if len(tables) != 1:
        sys.exit("template.yaml must define exactly one AWS::DynamoDB::Table")
    return tables[0]


def create_table(endpoint, name=TABLE_NAME):
    props = table_definition()
    ddb = client("dynamodb", endpoint)
    args = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    ddb.create_table(**args)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


def create_user(iam, name, policy):
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="policy", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def up(args):
    state_dir = Path(args.state).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    table_port = args.table_port or free_port()
    customer_port = args.customer_port or free_port()

    pids = [
        start_moto(table_port, state_dir / "moto-table.log", args.lifetime),
        start_moto(customer_port, state_dir / "moto-customer.log", args.lifetime),
    ]
    (state_dir / "pids").write_text("\n".join(map(str, pids)) + "\n")

    table_endpoint = f"http://127.0.0.1:{table_port}"
    customer_endpoint = f"http://127.0.0.1:{customer_port}"
    create_table(table_endpoint)

    iam = client("iam", customer_endpoint)
    admin = create_user(iam, "admin", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    service = create_user(iam, SERVICE_USER, {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})
    demo = create_user(iam, "demo-analyst", S3_READ_POLICY)
    trail_fixtures.seed(
        lambda service, region: boto3.client(
            service, endpoint_url=customer_endpoint, region_name=region,
            aws_access_key_id="seed", aws_secret_access_key="seed",
        ),
    )

    # From here on the customer's server checks every signature and policy.
    request = urllib.request.Request(
        f"{customer_endpoint}/moto-api/reset-auth",
        data=b"0",
        headers={"Content-Type": "text/plain"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10)

    state = {
        "table_endpoint": table_endpoint,
        "customer_endpoint": customer_endpoint,
        "admin": admin,
        "demo": demo,
        "service_principal_arn": f"arn:aws:iam::{ACCOUNT_ID}:user/{SERVICE_USER}",
    }
    (state_dir / "state.json").write_text(json.dumps(state, indent=2))

    env = {
        "APP_ENV": "development",
        "SECRET_KEY": secrets.token_hex(32),
        "CREDENTIALS_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "TABLE_NAME": TABLE_NAME,
        "ALLOW_ROLE_ARN": "true",
        "ALLOWED_ORIGINS": ",".join(f"http://{host}:{args.api_port}" for host in ("127.0.0.1", "localhost")),
        "SERVICE_PRINCIPAL_ARN": state["service_principal_arn"],
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": service[0],
        "AWS_SECRET_ACCESS_KEY": service[1],
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_DYNAMODB": table_endpoint,
        "AWS_ENDPOINT_URL_S3": customer_endpoint,
        "AWS_ENDPOINT_URL_STS": customer_endpoint,
        "AWS_ENDPOINT_URL_IAM": customer_endpoint,
        "AWS_ENDPOINT_URL_CLOUDTRAIL": customer_endpoint,
    }
    (state_dir / "env").write_text("".join(f"export {k}='{v}'\n" for k, v in env.items()))
    os.chmod(state_dir / "env", 0o600)
    print(f"moto: table on {table_endpoint}, customer account on {customer_endpoint}")


def down(args):
    pid_file = Path(args.state) / "pids"
    if not pid_file.exists():
        return
    pids = [int(line) for line in pid_file.read_text().split()]
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    # Give them five seconds to exit cleanly, then make sure.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_group_alive(pid) for pid in pids):
        time.sleep(0.1)
    for pid in pids:
        if _group_alive(pid):
            os.killpg(pid, signal.SIGKILL)
    pid_file.unlink()


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def admin_iam(state_dir):
    state_file = Path(state_dir) / "state.json"
    if not state_file.exists():
        sys.exit(f"no local stack at {state_dir}: start it first (make dev)")
    state = json.loads(state_file.read_text())
    if not port_free(int(state["customer_endpoint"].rsplit(":", 1)[1])):
        key_id, secret = state["admin"]
        return state, client("iam", state["customer_endpoint"], key_id, secret)
    sys.exit(f"the local stack at {state_dir} is not running: start it first (make dev)")


def role(args):
    if args.external_id and not re.fullmatch(r"[0-9a-f]{32}", args.external_id):
        sys.exit("role: the external id is the 32 hex digits of \"external_id\" in GET /api/me")
    state, iam = admin_iam(args.state)
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": state["service_principal_arn"]},
        "Action": "sts:AssumeRole",
    }
    if args.any_external_id:
        statement["Condition"] = {"StringLike": {"sts:ExternalId": "*"}}
    elif not args.no_condition:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": args.external_id}}
    name = args.name or f"TrailportReadOnly-{secrets.token_hex(4)}"
    arn = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="s3-read", PolicyDocument=json.dumps(S3_READ_POLICY))
    print(arn)


def user(args):
    _, iam = admin_iam(args.state)
    policy = S3_ONLY_POLICY if args.no_cloudtrail else S3_READ_POLICY
    if args.no_permissions:
        # Even a user with no S3 rights may ask STS who it is, as on AWS.
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]}
    print(*create_user(iam, args.name, policy))


def busy_trail(args):
    """A bucket whose one date holds more log files than a page reads, in two regions."""
    state = json.loads((Path(args.state) / "state.json").read_text())
    key_id, secret = state["admin"]
    s3 = client("s3", state["customer_endpoint"], key_id, secret)
    s3.create_bucket(Bucket=args.bucket)
    rng = random.Random(args.bucket)
    day = "2026/12/03"
    for n in range(args.files):
        hhmm = f"{1 + n // 60:02d}{n % 60:02d}"
        base = f"AWSLogs/{ACCOUNT_ID}/CloudTrail/eu-west-1/"
        key = trail_fixtures.file_key(base, ACCOUNT_ID, "eu-west-1", day, hhmm, f"busy{n}")
        when = f"2026-12-03T{hhmm[:2]}:{hhmm[2:]}:00Z"
        record = trail_fixtures.record(rng, ACCOUNT_ID, "eu-west-1", when)
        s3.put_object(Bucket=args.bucket, Key=key, Body=trail_fixtures.log_file([record]))
    base = f"AWSLogs/{ACCOUNT_ID}/CloudTrail/us-east-1/"
    key = trail_fixtures.file_key(base, ACCOUNT_ID, "us-east-1", day, "2000", "late")
    record = trail_fixtures.record(rng, ACCOUNT_ID, "us-east-1", "2026-12-03T19:59:00Z")
    s3.put_object(Bucket=args.bucket, Key=key, Body=trail_fixtures.log_file([record]))
    print(args.bucket)


def table(args):
    state = json.loads((Path(args.state) / "state.json").read_text())
    create_table(state["table_endpoint"], args.name)
    print(args.name)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("up")
    p.add_argument("--state", required=True)
    p.add_argument("--table-port", type=int)
    p.add_argument("--customer-port", type=int)
    p.add_argument("--api-port", type=int, default=9000)
    p.add_argument("--lifetime", type=int, default=12 * 3600, help="seconds before the servers stop")
    p.set_defaults(func=up)

    p = sub.add_parser("down")
    p.add_argument("--state", required=True)
    p.set_defaults(func=down)

    p = sub.add_parser("role")
    p.add_argument("--state", required=True)
    p.add_argument("--external-id", default="")
    p.add_argument("--name")
    p.add_argument("--no-condition", action="store_true")
    p.add_argument("--any-external-id", action="store_true")
    p.set_defaults(func=role)

    p = sub.add_parser("user")
    p.add_argument("--state", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--no-permissions", action="store_true")
    p.add_argument("--no-cloudtrail", action="store_true")
    p.set_defaults(func=user)

    p = sub.add_parser("busy-trail")
    p.add_argument("--state", required=True)
    p.add_argument("--bucket", required=True)
    p.add_argument("--files", type=int, default=160)
    p.set_defaults(func=busy_trail)

    p = sub.add_parser("table")
    p.add_argument("--state", required=True)
    p.add_argument("--name", required=True)
    p.set_defaults(func=table)

    p = sub.add_parser("free-port")
    p.set_defaults(func=lambda _: print(free_port()))

    p = sub.add_parser("port-free")
    p.add_argument("port", type=int)
    p.set_defaults(func=lambda a: sys.exit(0 if port_free(a.port) else 1))

    args = parser.parse_args()
    if args.command == "role" and not (args.no_condition or args.any_external_id or args.external_id):
        parser.error("role needs --external-id (or --no-condition, or --any-external-id)")
    args.func(args)


if __name__ == "__main__":
    main()
