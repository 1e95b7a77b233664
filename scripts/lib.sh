# Shared by the scripts that need the local stack and the functions running: sourced, not run.
# It starts moto (two servers) and `cargo lambda watch` on free ports of 127.0.0.1, each under
# a time limit, and stops them by PID when the calling script exits.

stack_state=""
watch_pid=""

stop_everything() {
  if [ -n "$watch_pid" ]; then
    kill -TERM -- "-$watch_pid" 2>/dev/null || true
    watch_pid=""
  fi
  if [ -n "$stack_state" ]; then
    python local/stack.py down --state "$stack_state" || true
  fi
}

# start_stack STATE_DIR LIFETIME_SECONDS: starts and seeds moto, exports the functions'
# settings, and sets API_PORT to a free port for the functions.
start_stack() {
  stack_state="$1"
  rm -rf "$stack_state"
  API_PORT=$(python local/stack.py free-port)
  python local/stack.py up --state "$stack_state" --api-port "$API_PORT" --lifetime "$2"
  # shellcheck disable=SC1091
  source "$stack_state/env"
  export TRAILPORT_STATE_DIR="$PWD/$stack_state"
}

# start_watch LIFETIME_SECONDS: serves every function at http://127.0.0.1:$API_PORT/api/...
start_watch() {
  setsid timeout "$1" cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$API_PORT" \
    --ignore-changes --disable-cors >"$stack_state/watch.log" 2>&1 &
  watch_pid=$!
  python local/wait_http.py "http://127.0.0.1:$API_PORT/api/me" 180
}
