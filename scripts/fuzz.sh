#!/usr/bin/env bash
# The full schemathesis run: enough generated requests per operation to pass 5,000 in all,
# against a fresh local stack through `cargo lambda watch`. Writes the result to
# bench/fuzz-result.txt, which the README quotes. EXAMPLES overrides the per-operation count.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
trap stop_everything EXIT

start_stack .local/fuzz 3600
cargo build --workspace --quiet
start_watch 3000
mkdir -p bench
python tests/fuzz/run.py --api "http://127.0.0.1:$API_PORT" --state "$stack_state" \
  --logs "$stack_state/watch.log" --examples "${EXAMPLES:-450}" --min-requests 5000 \
  --report bench/fuzz-result.txt
