"""Prints the demo account's keys and a walk-through of the API for `make dev`."""

import argparse
import json
import os
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--state", required=True)
parser.add_argument("--api", required=True)
args = parser.parse_args()

state = json.loads((Path(args.state) / "state.json").read_text())
key_id, secret = state["demo"]
api = args.api
# The session cookie lives in a file only this user can read, inside the project.
jar = Path(args.state).resolve() / "cookies.txt"
jar.touch(mode=0o600)
os.chmod(jar, 0o600)

print(f"""
Trailport is running at {api}/api/...

In a browser, open {api}/ for the console: sign up, connect with the keys below (or with a
role: `make demo-role EXTERNAL_ID=<the external id it shows>` creates one and prints its
ARN), then choose demo-cloudtrail-logs.

Demo customer account (moto, account 123456789012), IAM user demo-analyst:
  access key  {key_id}
  secret key  {secret}
Its buckets: demo-cloudtrail-logs (the trail management-events: 192 events, two regions),
demo-org-trail (the organisation trail org-security, prefix security/, in eu-west-1),
demo-kms-trail (logs encrypted with a KMS key the demo user may not use) and
demo-website-assets (no logs).

Walk-through, in another terminal (curl keeps the session cookie in {jar}):

  curl -s -H 'Content-Type: application/json' -d '{{"email":"you@example.com","password":"correct horse battery staple"}}' {api}/api/register
  curl -s -b {jar} -c {jar} -H 'Content-Type: application/json' -d '{{"email":"you@example.com","password":"correct horse battery staple"}}' {api}/api/login
  curl -s -b {jar} -c {jar} {api}/api/me
  curl -s -b {jar} -c {jar} -H 'Content-Type: application/json' -d '{{"access_key":"{key_id}","secret_key":"{secret}"}}' {api}/api/credentials
  curl -s -b {jar} -c {jar} {api}/api/buckets
  curl -s -b {jar} -c {jar} -H 'Content-Type: application/json' -d '{{"bucket":"demo-org-trail"}}' {api}/api/buckets/select
  curl -s -b {jar} -c {jar} -H 'Content-Type: application/json' -d '{{"bucket":"demo-cloudtrail-logs"}}' {api}/api/buckets/select
  curl -s -b {jar} -c {jar} "{api}/api/events?limit=5"
  curl -s -b {jar} -c {jar} "{api}/api/events?limit=5&cursor=<next_cursor of the page above>"
  curl -s -b {jar} -c {jar} "{api}/api/events?event_name=ConsoleLogin&errors_only=true"
  curl -s -b {jar} -c {jar} "{api}/api/events?user_arn=assumed-role/Admin&since=2026-12-02T00:00:00Z"

To connect with a role instead, create one that trusts Trailport and requires your external
id (the "external_id" in GET /api/me), then send the ARN it prints:

  make demo-role EXTERNAL_ID=<external_id>
  curl -s -b {jar} -c {jar} -H 'Content-Type: application/json' -d '{{"role_arn":"<the ARN>"}}' {api}/api/credentials

Sign out (204, no body), then try the old cookie, kept aside first: it gets 401:

  cp {jar} {jar}.old
  curl -s -w '%{{http_code}}\\n' -b {jar} -c {jar} -H 'Content-Type: application/json' -X POST {api}/api/logout
  curl -s -b {jar}.old {api}/api/me
""")
