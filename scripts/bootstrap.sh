#!/usr/bin/env bash
# Installs what the local stack and the tests need into the project: a Python virtualenv in
# .venv with moto, boto3, PyYAML, pytest, cargo-lambda (which brings zig), the SAM CLI and
# cfn-lint, plus the rustfmt and clippy components; with --browser, also what the browser
# tests need (scripts/bootstrap-browser.sh). Safe to run again: it only installs what is
# missing or out of date.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  echo "bootstrap: cargo is missing; install Rust with rustup first" >&2
  exit 1
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  python3 -m venv .venv
fi

stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ local/requirements.txt -nt "$stamp" ]; then
  echo "bootstrap: installing local/requirements.txt into .venv (a minute or two, once)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r local/requirements.txt
  touch "$stamp"
fi

if [ "${1:-}" = "--browser" ]; then
  scripts/bootstrap-browser.sh
fi
