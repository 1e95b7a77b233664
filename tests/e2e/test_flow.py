"""The whole flow over HTTP, through `cargo lambda watch`, against the local moto stack.

Run by scripts/test.sh, which sets TRAILPORT_API (the watch server), TRAILPORT_STATE_DIR (the
stack's state, with the demo keys) and TRAILPORT_LOGS (the functions' log file).
"""

import json
import os
import secrets
import urllib.error
import urllib.request
from pathlib import Path

API = os.environ["TRAILPORT_API"]
STATE = json.loads((Path(os.environ["TRAILPORT_STATE_DIR"]) / "state.json").read_text())
PASSWORD = "e2e " + secrets.token_hex(12)
# Every response of this module, as text, for the leak check at the end.
SEEN = []


def request(method, path, body=None, cookie=None, content_type="application/json"):
    """Sends one request; returns (status, headers, parsed JSON body or None)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(API + path, data=data, method=method)
    if content_type and method == "POST":
        req.add_header("Content-Type", content_type)
    if cookie:
        req.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, headers, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        status, headers, raw = err.code, err.headers, err.read()
    # The login's own Set-Cookie carries the token by design; everything else is checked.
    shown = [f"{k}: {v}" for k, v in headers.items() if not (path == "/api/login" and k.lower() == "set-cookie")]
    SEEN.append("\n".join(shown) + "\n" + raw.decode(errors="replace"))
    return status, headers, (json.loads(raw) if raw else None)


def test_register_login_connect_choose_and_logout():
    email = f"e2e-{secrets.token_hex(6)}@example.com"
    key_id, secret = STATE["demo"]

    status, _, body = request("POST", "/api/register", {"email": email, "password": PASSWORD})
    assert status == 201, body
    assert body["email"] == email

    status, headers, body = request("POST", "/api/login", {"email": email, "password": PASSWORD})
    assert status == 200, body
    set_cookie = headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
    cookie = set_cookie.split(";")[0]

    status, _, me = request("GET", "/api/me", cookie=cookie)
    assert status == 200, me
    assert me["email"] == email and me["connection"] is None and len(me["external_id"]) >= 32

    status, _, body = request(
        "POST", "/api/credentials", {"access_key": key_id, "secret_key": secret}, cookie=cookie
    )
    assert status == 200, body
    assert body["type"] == "access_key" and body["account_id"] == "123456789012"
    assert secret not in json.dumps(body)

    status, _, body = request("GET", "/api/buckets", cookie=cookie)
    assert status == 200, body
    # The integration tests add buckets of their own to the same stack; the demo's are known.
    names = [b["name"] for b in body["buckets"] if b["name"].startswith("demo-")]
    assert names == ["demo-cloudtrail-logs", "demo-kms-trail", "demo-org-trail", "demo-website-assets"], names
    assert body["trail_discovery"]["status"] == "ok"
    org = next(b for b in body["buckets"] if b["name"] == "demo-org-trail")
    assert org["trails"][0]["organization"] is True

    status, _, body = request("POST", "/api/buckets/select", {"bucket": "demo-org-trail"}, cookie=cookie)
    assert status == 200, body
    assert body["cloudtrail"]["accounts"] == ["123456789012", "210987654321"]

    status, _, body = request("POST", "/api/buckets/select", {"bucket": "demo-cloudtrail-logs"}, cookie=cookie)
    assert status == 200, body
    assert body["cloudtrail"]["found"] is True

    # Page through every event over HTTP, with a filter on the way.
    seen, cursor = [], None
    while True:
        query = "limit=40" + (f"&cursor={cursor}" if cursor else "")
        status, _, page = request("GET", f"/api/events?{query}", cookie=cookie)
        assert status == 200, page
        seen += [e["event_id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 192 and len(set(seen)) == 192
    status, _, page = request("GET", "/api/events?event_name=ConsoleLogin&errors_only=true", cookie=cookie)
    assert status == 200 and page["events"], page
    assert all(e["name"] == "ConsoleLogin" and e["error_code"] for e in page["events"])
    status, _, body = request("GET", "/api/events?limit=1000", cookie=cookie)
    assert status == 400 and body["error"]["code"] == "invalid_filter"

    status, _, me = request("GET", "/api/me", cookie=cookie)
    assert me["cloudtrail_bucket"]["name"] == "demo-cloudtrail-logs"

    status, headers, _ = request("POST", "/api/logout", cookie=cookie)
    assert status == 204
    assert "Max-Age=0" in headers["Set-Cookie"]

    status, _, body = request("GET", "/api/me", cookie=cookie)
    assert status == 401 and body["error"]["code"] == "not_signed_in"

    # No secret reached a response or the functions' logs: the passwords, the customer's
    # secret key, the session token, and the service's own keys.
    logs = Path(os.environ["TRAILPORT_LOGS"]).read_text()
    token = cookie.split("=", 1)[1]
    secrets_used = {
        "password": PASSWORD,
        "customer secret key": secret,
        "session token": token,
        "session token signature": token.rsplit(".", 1)[1],
        "SECRET_KEY": os.environ["SECRET_KEY"],
        "CREDENTIALS_ENCRYPTION_KEY": os.environ["CREDENTIALS_ENCRYPTION_KEY"],
        "the service's AWS secret": os.environ["AWS_SECRET_ACCESS_KEY"],
    }
    for name, value in secrets_used.items():
        assert value not in logs, f"{name} is in the log"
        for response in SEEN:
            assert value not in response, f"{name} is in a response"


def test_errors_are_json_with_stable_codes():
    status, _, body = request("POST", "/api/register", {"email": "x"}, content_type="text/plain")
    assert status == 415 and body["error"]["code"] == "unsupported_media_type"

    status, _, body = request("POST", "/api/login", {"email": "nobody@example.com", "password": PASSWORD})
    assert status == 401 and body == {
        "error": {"code": "invalid_login", "message": body["error"]["message"]}
    }

    status, _, body = request("GET", "/api/buckets")
    assert status == 401 and body["error"]["code"] == "not_signed_in"
