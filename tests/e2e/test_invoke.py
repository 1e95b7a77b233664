"""Every sample event in events/ sent to its function with `cargo lambda invoke`, as the README
documents, through the running `cargo lambda watch` and the local stack.

The events are used as they are, except that the session placeholder becomes a real token,
the sample email a fresh one, and the example AWS keys the demo account's.
"""

import json
import os
import secrets
import subprocess
import tempfile
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
API = os.environ["TRAILPORT_API"]
PORT = API.rsplit(":", 1)[1]
STATE = json.loads((Path(os.environ["TRAILPORT_STATE_DIR"]) / "state.json").read_text())
PASSWORD = "invoke " + secrets.token_hex(12)

# (event file, function, expected status); run in this order, as one user's session.
CASES = [
    ("register.json", "register", 201),
    ("login.json", "login", 200),
    ("v1/login.json", "login", 200),
    ("me.json", "me", 200),
    ("v1/me.json", "me", 200),
    ("edge/cookies-no-space.json", "me", 200),
    ("edge/stage-prefix.json", "me", 200),
    ("edge/two-cookie-headers-v1.json", "me", 200),
    ("edge/json-charset.json", "register", 201),
    ("edge/no-content-type.json", "register", 415),
    ("edge/empty-body.json", "register", 400),
    ("credentials.json", "credentials", 200),
    ("v1/credentials.json", "credentials", 200),
    ("buckets-list.json", "buckets-list", 200),
    ("buckets-select.json", "buckets-select", 200),
    ("events.json", "events", 200),
    ("logout.json", "logout", 204),
    ("console.json", "console", 200),
]


def post(path, body, cookie=None):
    req = urllib.request.Request(API + path, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.headers


@pytest.fixture(scope="module")
def session():
    """A user and a session token made over HTTP, for the events that need one."""
    email = f"invoke-{secrets.token_hex(6)}@example.com"
    post("/api/register", {"email": email, "password": PASSWORD})
    cookie = post("/api/login", {"email": email, "password": PASSWORD})["Set-Cookie"]
    token = cookie.split(";")[0].split("=", 1)[1]
    return {"email": email, "token": token}


def prepared(name, session):
    key_id, secret = STATE["demo"]
    text = (ROOT / "events" / name).read_text()
    for old, new in [
        ("demo@example.com", session["email"]),
        ("charset@example.com", f"charset-{secrets.token_hex(6)}@example.com"),
        ("correct horse battery staple", PASSWORD),
        ("PLACEHOLDER", session["token"]),
        ("AKIAIOSFODNN7EXAMPLE", key_id),
        ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", secret.replace("/", "\\/")),
    ]:
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize("name,function,status", CASES, ids=[c[0] for c in CASES])
def test_event_through_cargo_lambda_invoke(name, function, status, session):
    if name == "register.json":
        # This event registers the sample address; make it a fresh one, with its own login.
        session_for_event = dict(session, email=f"invoke-reg-{secrets.token_hex(6)}@example.com")
    else:
        session_for_event = session
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        handle.write(prepared(name, session_for_event))
    try:
        result = subprocess.run(
            ["cargo", "lambda", "invoke", function, "--data-file", handle.name,
             "--invoke-address", "127.0.0.1", "--invoke-port", PORT],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )
    finally:
        os.unlink(handle.name)
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["statusCode"] == status, response
