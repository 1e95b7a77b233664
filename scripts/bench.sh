#!/usr/bin/env bash
# Runs the benchmarks in bench/ against a fresh local stack and writes bench/results.md with
# the date, the machine and the commit, and the README's benchmark table. Numbers, never
# pass/fail: the tests do not time. A response with the wrong status stops the run.
#
# One release build of the functions (and bench/breakdown) for this machine, one of the
# hello-world baseline; every function then runs as a fresh process under
# bench/runtime_host.py. BENCH_ARM64=1 also builds every function for arm64 with cargo lambda
# to measure the binaries Lambda would run (about ten more minutes on two cores).
# BENCH_ARM64_DIR=DIR measures arm64 binaries built earlier instead.
# BENCH_RUNS and BENCH_WARM set the rounds and the warm invocations per round.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

# shellcheck source=scripts/lib.sh
source scripts/lib.sh
trap stop_everything EXIT

# The Python tools (the project's, and the peer's own virtualenv, holding only what it would
# ship with) install while the release build below keeps both cores busy: installing is
# mostly waiting on files. Both are awaited before anything uses them.
scripts/bootstrap.sh &
bootstrap=$!
peer=.local/bench-peer
if [ ! -f "$peer/.installed" ] || [ bench/peer-requirements.txt -nt "$peer/.installed" ]; then
  echo "== virtualenv for the Python peer"
  rm -rf "$peer"
  (python3 -m venv "$peer" &&
    "$peer/bin/python" -m pip install --quiet -r bench/peer-requirements.txt &&
    touch "$peer/.installed") &
else
  true &
fi
peer_install=$!

target="${CARGO_TARGET_DIR:-$PWD/target}"
# 8 rounds of 25 are the 200 warm invocations per function that the percentiles need.
runs="${BENCH_RUNS:-8}"
warm="${BENCH_WARM:-25}"
# Each function's binary is named after its package.
packages=()
binaries=()
for dir in functions/*/; do
  packages+=(-p "$(basename "$dir")")
  binaries+=(--bin "$(basename "$dir")")
done

# The baseline is only a floor if it is built the same way.
profile() { sed -n '/^\[profile.release\]/,/^$/p' "$1" | grep -v '^#'; }
if [ "$(profile Cargo.toml)" != "$(profile bench/hello/Cargo.toml)" ]; then
  echo "bench: bench/hello/Cargo.toml's [profile.release] differs from Cargo.toml's" >&2
  exit 1
fi

echo "== release build (x86_64, for timing)"
build_started=$(date +%s)
# One cargo run for everything in the workspace, so that its fat-LTO links (one per binary,
# each on one core) overlap; the hello-world, a workspace of its own, builds alongside.
cargo build --release --locked --quiet --manifest-path bench/hello/Cargo.toml \
  --target-dir "$target/hello" &
hello_build=$!
cargo build --release --locked --quiet "${packages[@]}" -p bench-breakdown -p trailport \
  "${binaries[@]}" --bin bench-breakdown --example parse_throughput
wait "$hello_build"
build_seconds=$(($(date +%s) - build_started))
wait "$bootstrap"
wait "$peer_install"
export PATH="$PWD/.venv/bin:$PATH"

# BENCH_ARM64_DIR measures arm64 bootstraps already built (cargo lambda's layout, DIR/<bin>/
# bootstrap) instead; the results say they were not built by this run.
arm64_dir="${BENCH_ARM64_DIR:-}"
arm64_note="arm64: ${arm64_dir:+built before this run, found in $arm64_dir}"
arm64_seconds=""
if [ "${BENCH_ARM64:-0}" = 1 ]; then
  echo "== release build (arm64, for sizes)"
  rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
  arm64_started=$(date +%s)
  cargo lambda build --release --arm64 --locked --quiet "${packages[@]}"
  cargo lambda build --release --arm64 --locked --quiet --manifest-path bench/hello/Cargo.toml \
    --target-dir "$target/hello" --lambda-dir "$target/lambda"
  arm64_seconds=$(($(date +%s) - arm64_started))
  arm64_dir="$target/lambda"
  arm64_note="arm64: built by this run"
fi

echo "== local stack"
start_stack .local/bench 3600

echo "== functions under the Runtime API host"
timeout 1200 python bench/lambda_bench.py --state "$stack_state" --bin-dir "$target/release" \
  --hello "$target/hello/release/bench-hello" --peer-python "$PWD/$peer/bin/python" \
  --breakdown "$target/release/bench-breakdown" ${arm64_dir:+--arm64-dir "$arm64_dir"} \
  --arm64-note "$arm64_note" --runs "$runs" --warm "$warm" --json "$stack_state/results.json"

echo "== parsing throughput: the events reader against Python's gzip and json"
parse_dir="$stack_state/parse-fixtures"
python bench/parse_fixtures.py "$parse_dir" 40 2000
parse_rust=$(timeout 600 "$target/release/examples/parse_throughput" "$parse_dir" 5)
parse_python=$(timeout 600 python bench/parse_python.py "$parse_dir" 5)

echo "== login timing parity"
parity=$(timeout 600 python bench/login_timing.py --bin-dir "$target/release" \
  --state "$stack_state" --rounds 100)

out=bench/results.md
{
  echo "# Benchmark results"
  echo
  echo "$(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- \
    . ':!bench/results.md' ':!README.md' || echo ' (with uncommitted changes)'), $(nproc) cores," \
    "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)," \
    "$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr)," \
    "$(rustc --version | cut -d' ' -f1-2), $(python3 --version)."
  builds="the release build took ${build_seconds} s (shared, possibly warm, target directory)"
  if [ -n "$arm64_seconds" ]; then
    builds="$builds, the arm64 build ${arm64_seconds} s"
  fi
  echo "Written by \`make bench\` (scripts/bench.sh): $builds, the whole run" \
    "$(($(date +%s) - started)) s."
  echo
  python bench/report.py "$stack_state/results.json"
  echo
  echo "## Login timing parity"
  echo
  echo "Sign-ins to the release login function under the Runtime API host against moto; 100"
  echo "of each, alternating. See bench/login_timing.py."
  echo
  echo "| case | median | p90 |"
  echo "|---|---|---|"
  echo "$parity"
  echo
  echo "## Parsing throughput"
  echo
  echo "The same 40 gzip log files (2,000 realistic records each, from bench/parse_fixtures.py),"
  echo "in memory, on one core: the events function's reader (shared/examples/parse_throughput.rs)"
  echo "against Python's gzip and json (bench/parse_python.py); both keep the newest 50 failed"
  echo "calls of each file. Medians of 5 rounds, in MB of decompressed JSON per second."
  echo
  python - "$parse_rust" "$parse_python" <<'PARSE'
import json, sys
rust, python = (json.loads(a) for a in sys.argv[1:3])
if rust["kept"] != python["kept"]:
    sys.exit(f"parse benchmark: Rust kept {rust['kept']} events, Python {python['kept']}")
print("| reader | MB/s | events kept |")
print("|---|---|---|")
print(f"| Trailport (Rust) | {rust['mb_per_s']} | {rust['kept']} |")
print(f"| Python gzip + json | {python['mb_per_s']} | {python['kept']} |")
print()
ratio = rust["mb_per_s"] / python["mb_per_s"]
verdict = "met" if ratio >= 5 else "missed"
print(f"Rust / Python: {ratio:.1f}x (target at least 5x: **{verdict}**).")
PARSE
  if [ -f bench/notes.md ]; then
    echo
    cat bench/notes.md
  fi
} >"$out.tmp"
mv "$out.tmp" "$out"

# The README's table, between its markers, from the same measurements.
python - "$stack_state/results.json" <<'EOF'
import re, subprocess, sys
table = subprocess.run([sys.executable, "bench/report.py", sys.argv[1], "--readme"],
                       check=True, capture_output=True, text=True).stdout
path = "README.md"
text = open(path).read()
start, end = "<!-- bench:start -->\n", "<!-- bench:end -->"
if start in text and end in text:
    head, rest = text.split(start, 1)
    text = head + start + table + rest[rest.index(end):]
    open(path, "w").write(text)
EOF
cat "$out"
echo "bench: done in $(($(date +%s) - started)) s"
