"""A Python peer of Trailport's `GET /api/me`, for the benchmarks only.

It does what `trailport::api::me` does, the way a Python team would write it with boto3 and
PyJWT: refuse other methods and cross-site requests, verify the HS256 session cookie (pinned
algorithm, issuer and audience), read the session record and check its timeouts, touch the
idle clock at most once a minute, read the user record and answer the same user view. It reads
the same settings and the same table items, so the two can be compared on one stack.
"""

import datetime
import json
import os
import time

import boto3
import jwt
from boto3.dynamodb.types import TypeDeserializer

# Built once per process, as a Lambda function should: settings, the key and the client.
SECRET_KEY = os.environ["SECRET_KEY"].encode()
TABLE = os.environ["TABLE_NAME"]
DEVELOPMENT = os.environ.get("APP_ENV", "production") == "development"
COOKIE_NAME = "trailport_session" if DEVELOPMENT else "__Host-trailport_session"
IDLE_SECONDS = int(os.environ.get("SESSION_IDLE_SECONDS", "1800"))
ROLES_ENABLED = os.environ.get("ALLOW_ROLE_ARN", "true") == "true"
PRINCIPAL = os.environ.get("SERVICE_PRINCIPAL_ARN") if ROLES_ENABLED else None
ALLOWED_ORIGINS = {
    o.strip().lower() for o in os.environ.get("ALLOWED_ORIGINS", "").split(",") if o.strip()
}
REFRESH_INTERVAL_SECONDS = 60
ALLOWED_SKEW_SECONDS = 60

dynamodb = boto3.client("dynamodb")
_deserializer = TypeDeserializer()


def _response(status, body, headers=None):
    return {
        "statusCode": status,
        "headers": {
            "content-type": "application/json",
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
            **(headers or {}),
        },
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def _error(status, code, message, headers=None):
    return _response(status, {"error": {"code": code, "message": message}}, headers)


def _not_signed_in():
    return _error(401, "not_signed_in", "Sign in first: this needs a valid session.")


def _rfc3339(seconds):
    moment = datetime.datetime.fromtimestamp(int(seconds), datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _get(pk):
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": pk}}, ConsistentRead=True)
    if "Item" not in item:
        return None
    return {k: _deserializer.deserialize(v) for k, v in item["Item"].items()}


def _cookie(event):
    # Payload 2.0 puts cookies in their own array; the first one of our name counts.
    for entry in event.get("cookies") or []:
        for part in entry.split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE_NAME:
                return value
    return None


def _connection_view(connection):
    if connection is None:
        return None
    if connection["type"] == "access_key":
        key_id = connection["access_key_id"]
        view = {
            "type": "access_key",
            "access_key_id_hint": f"{key_id[:4]}…{key_id[-4:]}" if len(key_id) >= 8 else "…",
            "account_id": connection["account_id"],
            "arn": connection["arn"],
        }
        if connection.get("role_arn") is not None:
            view["role_arn"] = connection["role_arn"]
        view["connected_at"] = _rfc3339(connection["connected_at"])
        return view
    return {
        "type": "role",
        "role_arn": connection["role_arn"],
        "account_id": connection["account_id"],
        "connected_at": _rfc3339(connection["connected_at"]),
    }


def _bucket_view(bucket):
    if bucket is None:
        return None
    return {
        "name": bucket["name"],
        "region": bucket["region"],
        "prefix": bucket.get("prefix"),
        "trail_prefixes": list(bucket.get("trail_prefixes") or []),
    }


def handler(event, _context):
    """The Lambda handler: an API Gateway payload 2.0 event in, a response out."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    if event["requestContext"]["http"]["method"] != "GET":
        return _error(405, "method_not_allowed", "Use GET.", {"allow": "GET"})
    origin = headers.get("origin")
    if headers.get("sec-fetch-site", "").lower() == "cross-site" or (
        origin is not None and origin.strip().lower() not in ALLOWED_ORIGINS
    ):
        return _error(403, "cross_site_request", "Requests from other sites are refused.")

    token = _cookie(event)
    if token is None:
        return _not_signed_in()
    now = int(time.time())
    try:
        claims = jwt.decode(
            token,
            SECRET_KEY,
            algorithms=["HS256"],
            audience="trailport-api",
            issuer="trailport",
            options={"require": ["exp", "iss", "aud", "sub"], "verify_exp": False},
        )
    except jwt.InvalidTokenError:
        return _not_signed_in()
    if not (claims["exp"] > now and claims.get("iat", 0) <= now + ALLOWED_SKEW_SECONDS):
        return _error(401, "session_expired", "Your session has ended. Sign in again.")

    session_id = f"SESSION#{claims['jti']}"
    session = _get(session_id)
    if session is None or session["email"] != claims["sub"]:
        return _not_signed_in()
    if now >= session["expires_at"] or now - session["last_seen"] >= IDLE_SECONDS:
        dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": session_id}})
        return _error(401, "session_expired", "Your session has ended. Sign in again.")
    if now - session["last_seen"] >= REFRESH_INTERVAL_SECONDS:
        dynamodb.update_item(
            TableName=TABLE,
            Key={"pk": {"S": session_id}},
            UpdateExpression="SET last_seen = :now",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":now": {"N": str(now)}},
        )

    user = _get(f"USER#{claims['sub']}")
    if user is None:
        return _not_signed_in()
    return _response(
        200,
        {
            "email": user["email"],
            "created_at": _rfc3339(user["created_at"]),
            "external_id": user["external_id"],
            "service_principal_arn": PRINCIPAL,
            "role_connections_enabled": ROLES_ENABLED,
            "connection": _connection_view(user.get("connection")),
            "cloudtrail_bucket": _bucket_view(user.get("bucket")),
        },
    )
