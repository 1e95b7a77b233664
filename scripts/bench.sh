#!/usr/bin/env bash
# Runs the benchmarks in bench/ against a fresh local stack and writes bench/results.md with
# the date, the machine and the commit. Numbers, never pass/fail: the tests do not time.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
trap stop_everything EXIT

start_stack .local/bench 3600
cargo build --workspace --quiet
start_watch 3000
api="http://127.0.0.1:$API_PORT"

out=bench/results.md
{
  echo "# Benchmark results"
  echo
  echo "$(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD), $(nproc) cores," \
    "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)."
  echo
  echo "## Login timing parity"
  echo
  echo "Sign-ins over HTTP through \`cargo lambda watch\` (dev profile, with the hashing crates"
  echo "optimised) against moto; 100 of each, alternating. See bench/login_timing.py."
  echo
  echo "| case | median | p90 |"
  echo "|---|---|---|"
  python bench/login_timing.py --api "$api" --rounds 100
} >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
