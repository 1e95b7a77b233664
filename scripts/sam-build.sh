#!/usr/bin/env bash
# Builds every function for Lambda exactly as a deployment would (`sam build`, arm64, release
# profile, through cargo-lambda and zig), then checks that each artifact is an aarch64 ELF
# `bootstrap` and prints its size. Needs no AWS account.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
# cargo-lambda finds zig through the virtualenv's python, so it must come first on PATH.
export PATH="$PWD/.venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true

sam build
python local/check_artifacts.py .aws-sam/build
