#!/usr/bin/env bash
# Runs every check and test: formatting, clippy, the template linters, unit tests, handler and
# integration tests against moto, the end-to-end tests over HTTP and `cargo lambda invoke`,
# the browser tests of the console in headless Chromium, and a short schemathesis pass,
# through `cargo lambda watch`.
#
# Everything it starts (two moto servers, cargo lambda watch) listens on free ports of
# 127.0.0.1, runs under a time limit, and is stopped by its PID when the script exits.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh --browser
export PATH="$PWD/.venv/bin:$PATH"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
trap stop_everything EXIT

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== template checks: cfn-lint and sam validate --lint"
export SAM_CLI_TELEMETRY=0
cfn-lint template.yaml
sam validate --lint

echo "== starting the local stack"
start_stack .local/test 2400

echo "== cargo test"
cargo build --workspace --quiet
cargo test --workspace

echo "== end-to-end through cargo lambda watch on 127.0.0.1:$API_PORT"
start_watch 1200
export TRAILPORT_API="http://127.0.0.1:$API_PORT" TRAILPORT_LOGS="$stack_state/watch.log"
python -m pytest -q tests/e2e

echo "== browser tests: the console in headless Chromium (screenshots in .local/screenshots)"
TRAILPORT_SCREENSHOTS="$PWD/.local/screenshots" node --test --test-concurrency=1 tests/browser/

echo "== schemathesis, short pass (scripts/fuzz.sh runs the full one)"
python tests/fuzz/run.py --api "$TRAILPORT_API" --state "$stack_state" --logs "$TRAILPORT_LOGS" \
  --examples 20
