"""Compares two builds of the same functions under the Runtime API host: size, init, warm
latency and peak memory, for `me` and `login` (login's time is mostly Argon2, so it shows what
an optimisation level does to the hash).

    profile_compare.py --state DIR --a LABEL=BIN_DIR --b LABEL=BIN_DIR [--rounds 8] [--warm 25]

The first build's directory must also hold `register` (the account is made with it).
Used by hand for the release-profile question in bench/notes.md (scripts/bench.sh makes one
build only). The rounds alternate between the two builds so that load on the machine falls
on both alike. Needs the local stack's settings in the environment, as lambda_bench.py does.
"""

import argparse
import os
import secrets
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lambda_bench import PASSWORD, event, sizes, status_check  # noqa: E402
from report import pct  # noqa: E402
from runtime_host import RuntimeHost  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", required=True)
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--warm", type=int, default=25)
    args = parser.parse_args()
    builds = dict(spec.split("=", 1) for spec in (args.a, args.b))
    env = dict(os.environ)
    logs = Path(args.state) / "compare.log"
    host = RuntimeHost()
    n = args.warm + 1

    first = Path(next(iter(builds.values())))
    email = f"compare-{secrets.token_hex(6)}@example.com"
    host.run([str(first / "register")], env,
             [event("register", {"email": email, "password": PASSWORD})],
             status_check(201, "register"), logs)
    seen = {"tokens": [], "bodies": []}
    host.run([str(first / "login")], env, [event("login", {"email": email, "password": PASSWORD})],
             status_check(200, "login", seen), logs)
    token = seen["tokens"][0]

    runs = {(label, fn): [] for label in builds for fn in ("me", "login")}
    for _ in range(args.rounds):
        for label, bin_dir in builds.items():
            runs[(label, "me")].append(host.run(
                [str(Path(bin_dir) / "me")], env, [event("me", token=token) for _ in range(n)],
                status_check(200, "me"), logs))
            runs[(label, "login")].append(host.run(
                [str(Path(bin_dir) / "login")], env,
                [event("login", {"email": email, "password": PASSWORD}) for _ in range(n)],
                status_check(200, "login"), logs))

    print("| build | function | binary | zip | init | warm p50 | warm p99 | peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for (label, fn), results in runs.items():
        size = sizes(Path(builds[label]) / fn)
        warm = [ms for r in results for ms in r["warm_ms"]]
        print(f"| {label} | {fn} | {size['binary'] / 2**20:.2f} MiB "
              f"| {size['zip'] / 2**20:.2f} MiB "
              f"| {statistics.median(r['init_ms'] for r in results):.2f} ms "
              f"| {pct(warm, 50):.2f} ms | {pct(warm, 99):.2f} ms "
              f"| {statistics.median(r['peak_rss_kib'] for r in results) / 1024:.1f} MiB |")


if __name__ == "__main__":
    main()
