"""Prints the demo account's keys and a walk-through of the API for `make dev`."""

import argparse
import json
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--state", required=True)
parser.add_argument("--api", required=True)
args = parser.parse_args()

state = json.loads((Path(args.state) / "state.json").read_text())
key_id, secret = state["demo"]
api = args.api

print(f"""
Trailport is running at {api}/api/...

Demo customer account (moto, account 123456789012), IAM user demo-analyst:
  access key  {key_id}
  secret key  {secret}
Its buckets: demo-cloudtrail-logs (CloudTrail logs), demo-org-trail (an organisation trail
under the prefix security/, in eu-west-1) and demo-website-assets (no logs).

Walk-through (curl keeps the session cookie in /tmp/trailport.cookies):

  J='Content-Type: application/json'; C='-b /tmp/trailport.cookies -c /tmp/trailport.cookies'

  curl -s -H "$J" -d '{{"email":"you@example.com","password":"correct horse battery staple"}}' {api}/api/register
  curl -s $C -H "$J" -d '{{"email":"you@example.com","password":"correct horse battery staple"}}' {api}/api/login
  curl -s $C {api}/api/me
  curl -s $C -H "$J" -d '{{"access_key":"{key_id}","secret_key":"{secret}"}}' {api}/api/credentials
  curl -s $C {api}/api/buckets
  curl -s $C -H "$J" -d '{{"bucket":"demo-cloudtrail-logs"}}' {api}/api/buckets/select
  curl -s $C -H "$J" -d '{{"bucket":"demo-org-trail","prefix":"security"}}' {api}/api/buckets/select
  curl -s $C -H "$J" -X POST {api}/api/logout

To connect with a role instead, create one that trusts Trailport for your external id (the
"external_id" in GET /api/me), then send its ARN:

  make demo-role EXTERNAL_ID=<external_id>
  curl -s $C -H "$J" -d '{{"role_arn":"<the ARN it printed>"}}' {api}/api/credentials
""")
