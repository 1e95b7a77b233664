"""Cold start, latency, memory and size of every function, beside a hello-world and a Python
peer, all started as fresh processes under bench/runtime_host.py against the local stack.

    lambda_bench.py --state DIR --bin-dir DIR --hello BIN --peer-python PY --breakdown BIN
                    [--arm64-dir DIR] [--runs 5] [--warm 50] --json OUT

The functions' settings come from the environment (scripts/bench.sh sources the stack's env).
Each round starts every function once, in a fixed order (register, login, credentials,
buckets-list, buckets-select, me, the Python peer, logout, hello-world), and sends it one cold
and `--warm` warm invocations of realistic API Gateway payload 2.0 events built from events/:
new accounts for register, sign-ins to one account for login, and that account's real session
cookies (issued by the login function) for the rest; logout spends the round's sign-ins. Every
response must have the expected status, and the peer must answer exactly what `me` answers,
or the run stops. bench/breakdown times Argon2 and the store calls on their own in every round.
Writes every measurement to OUT as JSON; bench/report.py turns it into the
tables.
"""

import argparse
import copy
import io
import json
import os
import secrets
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from runtime_host import InvocationFailed, RuntimeHost  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"
COOKIE = "trailport_session"  # the development cookie; the stack runs with APP_ENV=development
FUNCTIONS = ["register", "login", "logout", "me", "credentials", "buckets-list", "buckets-select",
             "events", "console"]
EM_AARCH64 = 183
# One file holding every CA certificate, as Lambda's Amazon Linux 2023 has; see `main`.
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def event(name, body=None, token=None):
    """The sample event for `name`, with a fresh request id, `body` (JSON-encoded) and the
    session cookie `token` in place of the placeholder."""
    data = copy.deepcopy(SAMPLES[name])
    data["requestContext"]["requestId"] = secrets.token_urlsafe(12)
    data["requestContext"]["timeEpoch"] = int(time.time() * 1000)
    if body is not None:
        data["body"] = json.dumps(body, separators=(",", ":"))
        data["headers"]["content-length"] = str(len(data["body"].encode()))
    if token is not None:
        data["cookies"] = ["theme=dark", f"{COOKIE}={token}"]
    return data


SAMPLES = {
    name: json.loads((ROOT / "events" / f"{name}.json").read_text()) for name in FUNCTIONS
}


def status_check(expected, name, seen=None):
    """A check that stops the run unless the response has `expected` status; with `seen`, it
    also keeps the session tokens the responses set and the bodies they carry."""

    def check(response):
        status = response.get("statusCode")
        if status != expected:
            # The error code says what went wrong; the body holds nothing secret, but tokens
            # would be in cookies, which are never printed.
            try:
                code = json.loads(response.get("body") or "{}").get("error", {}).get("code")
            except ValueError:
                code = None
            raise InvocationFailed(f"{name}: status {status} ({code}), expected {expected}")
        if seen is not None:
            seen["bodies"].append(response.get("body"))
            for cookie in response.get("cookies") or []:
                pair = cookie.split(";", 1)[0]
                if pair.startswith(COOKIE + "=") and len(pair) > len(COOKIE) + 1:
                    seen["tokens"].append(pair[len(COOKIE) + 1:])

    return check


def sizes(binary):
    """The binary's size and the size of a Lambda zip holding it as `bootstrap`, in bytes."""
    data = Path(binary).read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bootstrap", data)
    return {"binary": len(data), "zip": len(buffer.getvalue())}


def arm64_binary(arm64_dir, name):
    """The aarch64 `bootstrap` of function `name` under cargo lambda's output layout
    (DIR/<name>/bootstrap), if one is there and is really aarch64."""
    if not arm64_dir:
        return None
    path = Path(arm64_dir) / name / "bootstrap"
    if not path.is_file():
        return None
    head = path.read_bytes()[:20]
    if head[:4] != b"\x7fELF" or struct.unpack_from("<H", head, 18)[0] != EM_AARCH64:
        return None
    return path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", required=True)
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--hello", required=True)
    parser.add_argument("--peer-python", required=True)
    parser.add_argument("--breakdown", required=True)
    parser.add_argument("--arm64-dir")
    parser.add_argument("--arm64-note", default="")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--json", required=True)
    args = parser.parse_args()
    # A SIGTERM (from `timeout`) unwinds like an error, so every started function is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    state = json.loads((Path(args.state) / "state.json").read_text())
    demo_key, demo_secret = state["demo"]
    env = dict(os.environ)
    bin_dir = Path(args.bin_dir)
    logs = Path(args.state) / "functions.log"
    host = RuntimeHost()
    results = {name: [] for name in [*FUNCTIONS, "hello", "python-me"]}
    # The SDK's HTTPS client loads the system's CA certificates at cold start; a Debian-style
    # /etc/ssl/certs holds them as ~150 separate files, which it reads one by one. `me` run
    # again with only the bundle file (an empty directory in place of the rest) shows what that
    # costs; on Lambda the certificates are one bundle file.
    bundle_env = None
    if Path(CA_BUNDLE).is_file():
        empty = Path(args.state) / "no-certs"
        empty.mkdir(exist_ok=True)
        bundle_env = {**os.environ, "SSL_CERT_FILE": CA_BUNDLE, "SSL_CERT_DIR": str(empty)}
        results["me, one CA file"] = []

    def run(name, argv, events, check, run_env=None):
        return host.run(argv, run_env or env, events, check, logs, name=name)

    def rust(name):
        return [str(bin_dir / name)]

    email = f"bench-{secrets.token_hex(6)}@example.com"
    credentials = {"access_key": demo_key, "secret_key": demo_secret}
    select = {"bucket": "demo-cloudtrail-logs"}
    n = args.warm + 1
    me_body = {}
    breakdown = {}

    try:
        # Set-up, not measured: the account every round signs in to, and one session for the
        # signed-in endpoints (a sign-in per round would only add argon2 to their numbers).
        run("register", rust("register"),
            [event("register", {"email": email, "password": PASSWORD})],
            status_check(201, "register"))
        seen = {"tokens": [], "bodies": []}
        run("login", rust("login"), [event("login", {"email": email, "password": PASSWORD})],
            status_check(200, "login", seen))
        token = seen["tokens"][0]

        for round_no in range(args.runs):
            print(f"round {round_no + 1} of {args.runs}", file=sys.stderr, flush=True)
            new_accounts = [
                event("register", {"email": f"new-{secrets.token_hex(8)}@example.com",
                                   "password": PASSWORD})
                for _ in range(n)
            ]
            results["register"].append(
                run("register", rust("register"), new_accounts, status_check(201, "register")))

            logins = {"tokens": [], "bodies": []}
            results["login"].append(run(
                "login", rust("login"),
                [event("login", {"email": email, "password": PASSWORD}) for _ in range(n)],
                status_check(200, "login", logins)))

            for name, body in [("credentials", credentials), ("buckets-list", None),
                               ("buckets-select", select), ("events", None)]:
                results[name].append(run(
                    name, rust(name), [event(name, body, token) for _ in range(n)],
                    status_check(200, name)))

            bodies = {"tokens": [], "bodies": []}
            results["me"].append(run(
                "me", rust("me"), [event("me", token=token) for _ in range(n)],
                status_check(200, "me", bodies)))
            me_body = json.loads(bodies["bodies"][0])
            if bundle_env:
                results["me, one CA file"].append(run(
                    "me", rust("me"), [event("me", token=token) for _ in range(n)],
                    status_check(200, "me"), bundle_env))

            peer = {"tokens": [], "bodies": []}
            results["python-me"].append(run(
                "python-me", [args.peer_python, str(ROOT / "bench" / "python_me" / "bootstrap.py")],
                [event("me", token=token) for _ in range(n)],
                status_check(200, "python-me", peer)))
            if any(json.loads(b) != me_body for b in peer["bodies"]):
                raise InvocationFailed("the Python peer's answer differs from me's")

            if len(logins["tokens"]) != n:
                raise InvocationFailed("login did not set a session cookie every time")
            results["logout"].append(run(
                "logout", rust("logout"), [event("logout", token=t) for t in logins["tokens"]],
                status_check(204, "logout")))

            # The parts of a sign-in and of GET /api/me on their own (bench/breakdown), in
            # every round, so that they meet the same load on the machine as the functions.
            parts = subprocess.run(
                ["timeout", "600", args.breakdown, "10"],
                env={**env, "BENCH_EMAIL": email, "BENCH_PASSWORD": PASSWORD},
                check=True, capture_output=True, text=True,
            )
            for key, values in json.loads(parts.stdout).items():
                breakdown.setdefault(key, []).extend(values)

            results["console"].append(run(
                "console", rust("console"), [event("console") for _ in range(n)],
                status_check(200, "console")))

            results["hello"].append(run(
                "hello", [args.hello], [event("me") for _ in range(n)],
                status_check(200, "hello")))

    except InvocationFailed as err:
        sys.exit(f"lambda_bench: stopped: {err} (function logs: {logs})")
    except subprocess.CalledProcessError as err:
        sys.exit(f"lambda_bench: bench-breakdown failed: {err.stderr.strip()}")
    finally:
        host.close()

    size = {name: sizes(bin_dir / name) for name in FUNCTIONS}
    size["hello"] = sizes(args.hello)
    arm64 = {}
    for name in [*FUNCTIONS, "hello"]:
        path = arm64_binary(args.arm64_dir, "bench-hello" if name == "hello" else name)
        if path:
            arm64[name] = sizes(path)

    Path(args.json).write_text(json.dumps({
        "runs": args.runs,
        "warm": args.warm,
        "results": results,
        "breakdown": breakdown,
        "sizes_host": size,
        "sizes_arm64": arm64,
        "arm64_note": args.arm64_note,
        "me_connected": me_body.get("connection") is not None,
        "ca_files": sum(1 for _ in Path("/etc/ssl/certs").glob("*.pem")),
        "loadavg": os.getloadavg(),
    }, indent=1))


if __name__ == "__main__":
    main()
