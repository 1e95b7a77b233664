"""Login timing parity: does a wrong password take as long as an unknown email?

    login_timing.py --bin-dir DIR --state DIR --rounds N

Registers N accounts through the register function, then starts the login function (both
release binaries, under bench/runtime_host.py against the local stack) and sends it 2N
sign-ins in alternation: a wrong password for one of those accounts (each account once, so
throttling never starts), and an unknown email. The time is the function's own, from the event
handed out to the response read. Prints the median and p90 of each in milliseconds and the
ratio of the medians, as table rows for bench/results.md. Both statuses must be 401; anything
else stops the run.
"""

import argparse
import os
import secrets
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lambda_bench import event, status_check  # noqa: E402
from runtime_host import InvocationFailed, RuntimeHost  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()

    bin_dir = Path(args.bin_dir)
    logs = Path(args.state) / "functions.log"
    env = dict(os.environ)
    password = "timing " + secrets.token_hex(12)
    accounts = [f"timing-{secrets.token_hex(6)}@example.com" for _ in range(args.rounds)]
    host = RuntimeHost()
    try:
        host.run([str(bin_dir / "register")], env,
                 [event("register", {"email": e, "password": password}) for e in accounts],
                 status_check(201, "register"), logs)
        events = []
        for email in accounts:
            events.append(event("login", {"email": email, "password": "not " + password}))
            stranger = f"nobody-{secrets.token_hex(6)}@example.com"
            events.append(event("login", {"email": stranger, "password": password}))
        # One unknown-email sign-in first, as the cold invocation, so both series are warm.
        cold = event("login", {"email": f"cold-{secrets.token_hex(6)}@example.com",
                               "password": password})
        run = host.run([str(bin_dir / "login")], env, [cold, *events],
                       status_check(401, "login"), logs)
    except InvocationFailed as err:
        sys.exit(f"login_timing: stopped: {err} (function logs: {logs})")
    finally:
        host.close()

    wrong, unknown = run["warm_ms"][0::2], run["warm_ms"][1::2]

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
