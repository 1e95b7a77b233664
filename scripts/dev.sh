#!/usr/bin/env bash
# Runs Trailport locally: moto standing in for AWS (seeded with a demo customer account) and
# every function served by `cargo lambda watch` at http://127.0.0.1:9000/api/..., the console
# at http://127.0.0.1:9000/ (PORT=N picks another port). Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
port="${PORT:-9000}"
state=.local/dev

watch_pid=""
cleanup() {
  trap - INT TERM EXIT
  if [ -n "$watch_pid" ]; then
    kill -TERM -- "-$watch_pid" 2>/dev/null || true
  fi
  python local/stack.py down --state "$state" || true
  echo "Stopped."
}
trap cleanup INT TERM EXIT

if ! python local/stack.py port-free "$port"; then
  echo "dev: port $port on 127.0.0.1 is taken; stop what uses it, or run: PORT=<other> make dev" >&2
  trap - INT TERM EXIT
  exit 1
fi

python local/stack.py down --state "$state" 2>/dev/null || true
rm -rf "$state"
python local/stack.py up --state "$state" --api-port "$port"
# shellcheck disable=SC1091
source "$state/env"

echo "Building the functions (the first build takes a few minutes)..."
cargo build --workspace --quiet

setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --disable-cors >"$state/watch.log" 2>&1 &
watch_pid=$!
python local/wait_http.py "http://127.0.0.1:$port/api/me" 300
if ! kill -0 "$watch_pid" 2>/dev/null; then
  echo "dev: cargo lambda watch stopped; see $state/watch.log" >&2
  exit 1
fi

python local/walkthrough.py --state "$state" --api "http://127.0.0.1:$port"
echo "Function logs: $state/watch.log. Press Ctrl-C to stop."
wait "$watch_pid"
