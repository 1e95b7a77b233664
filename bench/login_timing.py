"""Login timing parity: does a wrong password take as long as an unknown email?

    login_timing.py --api URL --rounds N

Registers N accounts, then sends 2N sign-ins over HTTP in alternation: a wrong password for
one of those accounts (each account once, so throttling never starts), and an unknown email.
Prints the median and p90 of each in milliseconds and the ratio of the medians, one line, for
bench/results.md. Both statuses must be 401; anything else stops the run.
"""

import argparse
import json
import secrets
import statistics
import time
import urllib.error
import urllib.request


def post(api, path, body):
    req = urllib.request.Request(api + path, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status = resp.status
    except urllib.error.HTTPError as err:
        status = err.code
    return status, (time.perf_counter() - started) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", required=True)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()

    password = "timing " + secrets.token_hex(12)
    accounts = [f"timing-{secrets.token_hex(6)}@example.com" for _ in range(args.rounds)]
    for email in accounts:
        status, _ = post(args.api, "/api/register", {"email": email, "password": password})
        assert status == 201, status

    wrong, unknown = [], []
    for email in accounts:
        status, ms = post(args.api, "/api/login", {"email": email, "password": "not " + password})
        assert status == 401, status
        wrong.append(ms)
        stranger = f"nobody-{secrets.token_hex(6)}@example.com"
        status, ms = post(args.api, "/api/login", {"email": stranger, "password": password})
        assert status == 401, status
        unknown.append(ms)

    def p90(values):
        return statistics.quantiles(values, n=10)[-1]

    ratio = statistics.median(unknown) / statistics.median(wrong)
    print(
        f"| login, wrong password | {statistics.median(wrong):.1f} ms | {p90(wrong):.1f} ms |\n"
        f"| login, unknown email | {statistics.median(unknown):.1f} ms | {p90(unknown):.1f} ms |\n"
        f"| ratio of medians (unknown / wrong) | {ratio:.3f} | |"
    )


if __name__ == "__main__":
    main()
