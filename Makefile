# Trailport's entry points. Each target installs what it needs on first use.

.PHONY: dev test demo-role sam-build fuzz bench clean

## Run the whole service locally with a seeded demo account at http://127.0.0.1:9000/api/...
dev:
	scripts/dev.sh

## Run every check and test (what CI runs).
test:
	scripts/test.sh

## Create a demo role for a user of the running `make dev`: make demo-role EXTERNAL_ID=<id>
demo-role:
	@test -n "$(EXTERNAL_ID)" || { echo "usage: make demo-role EXTERNAL_ID=<external_id from GET /api/me>"; exit 2; }
	@.venv/bin/python local/stack.py role --state .local/dev --external-id "$(EXTERNAL_ID)"

clean:
	rm -rf .local target

## Build every function for Lambda (arm64, release) with `sam build` and check the artifacts.
sam-build:
	scripts/sam-build.sh

## The full schemathesis run (5,000+ requests); writes bench/fuzz-result.txt.
fuzz:
	scripts/fuzz.sh

## Run the benchmarks in bench/ and write bench/results.md.
bench:
	scripts/bench.sh
