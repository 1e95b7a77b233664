#!/usr/bin/env bash
# Runs every check and test: formatting, clippy, the template linters, unit tests, handler and
# integration tests against moto, and the end-to-end tests over HTTP and `cargo lambda invoke`
# through `cargo lambda watch`.
#
# Everything it starts (two moto servers, cargo lambda watch) listens on free ports of
# 127.0.0.1, runs under a time limit, and is stopped by its PID when the script exits.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"

state=.local/test
watch_pid=""
cleanup() {
  if [ -n "$watch_pid" ]; then
    kill -TERM -- "-$watch_pid" 2>/dev/null || true
  fi
  python local/stack.py down --state "$state" || true
}
trap cleanup EXIT
rm -rf "$state"

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== template checks: cfn-lint and sam validate --lint"
export SAM_CLI_TELEMETRY=0
cfn-lint template.yaml
sam validate --lint

echo "== starting the local stack"
api_port=$(python local/stack.py free-port)
python local/stack.py up --state "$state" --api-port "$api_port" --lifetime 2400
# shellcheck disable=SC1091
source "$state/env"
export TRAILPORT_STATE_DIR="$PWD/$state"

echo "== cargo test"
cargo build --workspace --quiet
cargo test --workspace

echo "== end-to-end through cargo lambda watch on 127.0.0.1:$api_port"
setsid timeout 1200 cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$api_port" \
  --ignore-changes --disable-cors >"$state/watch.log" 2>&1 &
watch_pid=$!
python local/wait_http.py "http://127.0.0.1:$api_port/api/me" 120
TRAILPORT_API="http://127.0.0.1:$api_port" TRAILPORT_LOGS="$state/watch.log" \
  python -m pytest -q tests/e2e
