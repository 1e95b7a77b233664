"""Turns bench/lambda_bench.py's measurements into Markdown.

    report.py RESULTS.json            the sections of bench/results.md
    report.py RESULTS.json --readme   the short table the README shows

Medians are over the rounds (one fresh process each); warm p50 and p99 are over every warm
invocation of every round. Each target line says whether it was met, computed from the numbers
above it; nothing here is typed in by hand.
"""

import json
import statistics
import sys
import textwrap

FUNCTIONS = ["register", "login", "logout", "me", "credentials", "buckets-list", "buckets-select",
             "events", "console"]
MIB = 1024 * 1024


def pct(values, p):
    """The p-th percentile (0-100), interpolated between the nearest ranks."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(runs):
    warm = [ms for run in runs for ms in run["warm_ms"]]
    return {
        "init": statistics.median(r["init_ms"] for r in runs),
        "init_min": min(r["init_ms"] for r in runs),
        "init_max": max(r["init_ms"] for r in runs),
        "first": statistics.median(r["first_ms"] for r in runs),
        "p50": pct(warm, 50),
        "p99": pct(warm, 99),
        "warm_n": len(warm),
        "rss": statistics.median(r["peak_rss_kib"] for r in runs) / 1024,
        "rss_max": max(r["peak_rss_kib"] for r in runs) / 1024,
    }


def mib(size):
    return f"{size / MIB:.2f} MiB"


def verdict(ok):
    return "**met**" if ok else "**missed**"


def main():
    data = json.loads(open(sys.argv[1]).read())
    readme = "--readme" in sys.argv[2:]
    stats = {name: summary(runs) for name, runs in data["results"].items()}
    hello, peer, me = stats["hello"], stats["python-me"], stats["me"]
    host_sizes, arm64 = data["sizes_host"], data["sizes_arm64"]

    parts = {k: statistics.median(v) for k, v in data["breakdown"].items()}
    login_parts = parts["verify"] + parts["login_store"]
    login_ratio = stats["login"]["p50"] / login_parts
    # Each round times me's two reads and then its whole handler, back to back; the median of
    # those paired differences is Trailport's own time with the store's taken out.
    breakdown = data["breakdown"]
    me_own_each = [w - s for w, s in zip(breakdown["me_whole"], breakdown["me_store"])]
    me_own = statistics.median(me_own_each)

    targets = []
    worst = max(FUNCTIONS, key=lambda n: stats[n]["init"])
    ok = all(stats[n]["init"] <= 1.3 * hello["init"] for n in FUNCTIONS)
    targets.append(
        f"- Init at most 1.3x hello-world's ({hello['init']:.2f} ms): {verdict(ok)}; the "
        f"slowest, {worst}, is {stats[worst]['init'] / hello['init']:.2f}x "
        f"({stats[worst]['init']:.2f} ms).")
    faster = peer["init"] / me["init"]
    targets.append(
        f"- Init at least 10x faster than the Python peer's: {verdict(faster >= 10)}; peer "
        f"{peer['init']:.1f} ms against me {me['init']:.2f} ms, {faster:.1f}x.")
    memory = me["rss"] / peer["rss"]
    targets.append(
        f"- Peak memory at most a third of the Python peer's: {verdict(memory <= 1 / 3)}; me "
        f"{me['rss']:.1f} MiB against {peer['rss']:.1f} MiB, {memory:.2f}.")
    biggest = max(FUNCTIONS, key=lambda n: stats[n]["rss_max"])
    ok = all(stats[n]["rss_max"] < 48 for n in FUNCTIONS)
    targets.append(
        f"- Peak RSS under 48 MiB for every function: {verdict(ok)}; the largest is "
        f"{biggest} at {stats[biggest]['rss_max']:.1f} MiB (highest of its rounds).")
    targets.append(
        f"- Login within 10% of hash + store calls: {verdict(abs(login_ratio - 1) <= 0.10)}; "
        f"{login_ratio:.3f}x.")
    targets.append(
        f"- Warm me p50 under 2 ms of Trailport's own time: {verdict(me_own < 2)}; "
        f"{me_own:.2f} ms (the handler less its reads, in process; see above).")
    measured = [n for n in FUNCTIONS if n in arm64]
    if measured:
        largest = max(measured, key=lambda n: arm64[n]["binary"])
        ok = all(arm64[n]["binary"] < 8 * MIB for n in measured)
        scope = "every function" if len(measured) == len(FUNCTIONS) else ", ".join(measured)
        targets.append(
            f"- Stripped arm64 binary under 8 MiB: {verdict(ok)} (measured: {scope}); the "
            f"largest is {largest} at {mib(arm64[largest]['binary'])}.")
    else:
        targets.append("- Stripped arm64 binary under 8 MiB: not measured in this run.")
    largest = max(FUNCTIONS, key=lambda n: host_sizes[n]["binary"])
    targets.append(
        f"  (For reference, the x86_64 binaries measured above: the largest is {largest} at "
        f"{mib(host_sizes[largest]['binary'])}, the hello-world "
        f"{mib(host_sizes['hello']['binary'])}.)")

    if readme:
        print("| function | init | init / hello | warm p50 | warm p99 | peak RSS "
              "| binary (x86_64 / arm64) |")
        print("|---|---|---|---|---|---|---|")
        for name in [*FUNCTIONS, "hello", "python-me"]:
            s = stats[name]
            label = {"hello": "hello-world (lambda_http)",
                     "python-me": "Python peer of me"}.get(name, name)
            size = host_sizes.get(name)
            size = mib(size["binary"]) if size else "-"
            if name in arm64:
                size += f" / {mib(arm64[name]['binary'])}"
            print(f"| {label} | {s['init']:.1f} ms | {s['init'] / hello['init']:.2f}x "
                  f"| {s['p50']:.2f} ms | {s['p99']:.2f} ms | {s['rss']:.1f} MiB | {size} |")
        print()
        # The README keeps to 100 columns, and its reader has results.md, not the text above.
        for line in targets:
            line = line.replace("see above", "see bench/results.md")
            indent = "  " if line.startswith("  ") else ""
            print(textwrap.fill(line.strip(), width=100, initial_indent=indent,
                                subsequent_indent="  ", break_on_hyphens=False))
        return

    print("## Cold start, latency and memory")
    print()
    print(f"{data['runs']} rounds; each round starts every function as a fresh process under "
          "bench/runtime_host.py and sends it one cold and "
          f"{data['warm']} warm invocations. Init, first invocation and peak RSS (VmHWM) are "
          "medians over the rounds; warm p50/p99 are over all the rounds' warm invocations "
          f"({stats['me']['warm_n']} per function). Times include the store's calls to moto on "
          "127.0.0.1, which stands in for DynamoDB, S3 and STS.")
    print()
    print("| function | init (min-max) | first invocation | warm p50 | warm p99 | peak RSS "
          "| init / hello |")
    print("|---|---|---|---|---|---|---|")
    for name in [*FUNCTIONS, "hello", "python-me", "me, one CA file"]:
        if name not in stats:
            continue
        s = stats[name]
        print(f"| {name} | {s['init']:.2f} ms ({s['init_min']:.2f}-{s['init_max']:.2f}) "
              f"| {s['first']:.2f} ms | {s['p50']:.2f} ms | {s['p99']:.2f} ms "
              f"| {s['rss']:.1f} MiB (max {s['rss_max']:.1f}) | {s['init'] / hello['init']:.2f}x |")
    print()

    if "me, one CA file" in stats:
        bundle = stats["me, one CA file"]
        print(f"`me, one CA file` is me again with `SSL_CERT_FILE` set to the CA bundle and "
              f"`SSL_CERT_DIR` to an empty directory, so that the SDK does not read this "
              f"machine's {data.get('ca_files', '~150')} separate certificate files: init "
              f"{bundle['init']:.2f} ms against {me['init']:.2f} ms "
              f"({bundle['init'] - me['init']:+.2f} ms). Lambda's runtime keeps its "
              "certificates in one bundle file.")
        print()
    print("## Sizes")
    print()
    print("Release profile as in Cargo.toml (stripped). x86_64 is the binary the timings above "
          "ran; arm64 is cargo lambda's `--arm64` build, what Lambda runs. The zip is the "
          "binary deflated as `bootstrap`."
          + (f" {data['arm64_note']}." if arm64 and data.get("arm64_note") else ""))
    print()
    print("| function | x86_64 binary | x86_64 zip | arm64 binary | arm64 zip |")
    print("|---|---|---|---|---|")
    for name in [*FUNCTIONS, "hello"]:
        a = arm64.get(name)
        print(f"| {name} | {mib(host_sizes[name]['binary'])} | {mib(host_sizes[name]['zip'])} "
              f"| {mib(a['binary']) if a else 'not built'} | {mib(a['zip']) if a else ''} |")
    print()

    print("## Login and me, broken down")
    print()
    print("bench/breakdown times the parts on their own in the release profile, against the "
          "same table, ten times in every round just after the functions ran (medians over "
          f"{len(data['breakdown']['verify'])} rounds):")
    print()
    print(f"- Argon2id verify against the stored hash: {parts['verify']:.2f} ms; against the "
          f"dummy hash (unknown email): {parts['verify_unknown']:.2f} ms; a new hash: "
          f"{parts['hash']:.2f} ms.")
    print(f"- A sign-in's four store calls (count the attempt, read the user, clear the count, "
          f"store the session): {parts['login_store']:.2f} ms.")
    print(f"- `GET /api/me`'s two reads (session, user): {parts['me_store']:.2f} ms; its whole "
          f"handler, called in process just after them: {parts['me_whole']:.2f} ms.")
    print()
    print(f"Warm login p50 {stats['login']['p50']:.2f} ms against Argon2 verify + store calls "
          f"{login_parts:.2f} ms: {login_ratio:.3f}x, a difference of "
          f"{stats['login']['p50'] - login_parts:+.2f} ms for everything else (JSON, the email "
          "rules, signing the token, the runtime's round trip) and noise. "
          f"`GET /api/me`'s own time, the handler less its two reads just before it, is "
          f"{me_own:.2f} ms at the median of {len(me_own_each)} such pairs (quartiles {pct(me_own_each, 25):.2f} to "
          f"{pct(me_own_each, 75):.2f} ms): the token, the cookie and the JSON. The warm "
          f"function's p50 ({me['p50']:.2f} ms) adds the runtime's round trip, for which the "
          f"hello-world's p50 ({hello['p50']:.2f} ms) is the floor.")
    print()

    print("## Against the targets")
    print()
    print("\n".join(targets))
    print()
    load = ", ".join(f"{x:.2f}" for x in data["loadavg"])
    print(f"Load average when the run ended: {load}.")


if __name__ == "__main__":
    main()
