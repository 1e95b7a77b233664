"""Fuzzes the running API with schemathesis, from openapi.yaml.

    run.py --api URL --state DIR --logs FILE --examples N [--min-requests M] [--report FILE]

It signs a fuzz user in (connected to the demo account, so the signed-in endpoints do real
work), runs every operation but logout with that session (in rounds with successive seeds
until the functions have answered --min-requests), then logout on its own (it ends the
session). It counts the requests the functions answered from their log, writes a
one-paragraph result to --report, and exits non-zero on any failure.
"""

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKS_OFF = "not_a_server_error,status_code_conformance,positive_data_acceptance"
# Answers the functions log, one line per request (see trailport::runtime::dispatch).
ANSWER = re.compile(r"request\{endpoint=.*: (done|refused|failed) status=")


def post(api, path, body):
    req = urllib.request.Request(api + path, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.headers


def answered(logs):
    return sum(1 for line in Path(logs).read_text(errors="replace").splitlines() if ANSWER.search(line))


def schemathesis(args, token, operations, examples, seed):
    env = dict(os.environ, SCHEMATHESIS_HOOKS="hooks", PYTHONPATH=str(Path(__file__).parent))
    config = Path(args.state) / "schemathesis.toml"
    config.write_text('[auth.openapi.session]\napi_key = "${TRAILPORT_SESSION_TOKEN}"\n')
    env["TRAILPORT_SESSION_TOKEN"] = token
    command = [
        "schemathesis", "--config-file", str(config), "run", str(ROOT / "openapi.yaml"),
        "--url", args.api, "--checks", "all", "--exclude-checks", CHECKS_OFF,
        "--max-examples", str(examples), "--seed", str(seed), "--workers", "1",
        "--generation-codec", "utf-8",
    ] + operations
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, env=env, cwd=ROOT).returncode


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--logs", required=True)
    parser.add_argument("--examples", type=int, required=True)
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--min-requests", type=int, default=0)
    parser.add_argument("--report")
    args = parser.parse_args()

    email = f"fuzz-{secrets.token_hex(6)}@example.com"
    password = "fuzz " + secrets.token_hex(12)
    post(args.api, "/api/register", {"email": email, "password": password})
    cookie = post(args.api, "/api/login", {"email": email, "password": password})["Set-Cookie"]
    token = cookie.split(";")[0].split("=", 1)[1]
    key_id, secret = json.loads((Path(args.state) / "state.json").read_text())["demo"]
    req = urllib.request.Request(
        args.api + "/api/credentials",
        data=json.dumps({"access_key": key_id, "secret_key": secret}).encode(),
        method="POST",
    )
    req.add_header("Content-Type", "application/json")
    req.add_header("Cookie", cookie.split(";")[0])
    urllib.request.urlopen(req, timeout=60)

    # Rounds with successive seeds until enough requests were made (one round by default).
    before = answered(args.logs)
    passed, seeds = True, []
    for seed in range(args.seed, args.seed + 10):
        seeds.append(seed)
        passed &= schemathesis(args, token, ["--exclude-operation-id", "logout"], args.examples, seed) == 0
        if answered(args.logs) - before >= args.min_requests:
            break
    passed &= schemathesis(args, token, ["--include-operation-id", "logout"], args.examples, args.seed) == 0
    requests = answered(args.logs) - before

    summary = (
        f"{datetime.now(timezone.utc):%Y-%m-%d}: schemathesis, {args.examples} examples per "
        f"operation, seeds {seeds[0]}..{seeds[-1]}: {requests} requests answered by the "
        f"functions, {'no failures' if passed else 'FAILURES (see the output above)'}."
    )
    print(summary)
    if args.report:
        Path(args.report).write_text(summary + "\n")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
