# The two commands: `make demo` and `make test`. Each installs what it needs (project-local .venv,
# node_modules) and builds the workspace once per profile into target/.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
ENV := source scripts/env.sh &&
CARGO ?= cargo
# The Python and Node crates are built by maturin and napi (release) in their own suites.
NATIVE := --workspace --exclude natsbridge-python --exclude natsbridge-node

.PHONY: all demo test bootstrap build lint test-rust test-c test-python test-node test-micropython test-julia test-interop bench clean

all: build

bootstrap:
	@scripts/bootstrap.sh

build: bootstrap
	@$(ENV) $(CARGO) build $(NATIVE) --quiet

demo: build
	@$(ENV) scripts/demo.sh

lint:
	@$(ENV) $(CARGO) fmt --all --check
	@$(ENV) $(CARGO) clippy --workspace --all-targets --quiet -- -D warnings

test-rust: build
	@$(ENV) $(CARGO) test $(NATIVE) --quiet 2>&1 | scripts/summarize-cargo-test.sh

test-c: build
	@$(ENV) scripts/test-c.sh

test-python: build
	@$(ENV) scripts/test-python.sh

test-node: build
	@$(ENV) scripts/test-node.sh

test-micropython: build
	@$(ENV) scripts/test-micropython.sh

test-julia:
	@$(ENV) scripts/test-julia.sh

test-interop: build
	@$(ENV) scripts/test-interop.sh

test: bootstrap lint test-rust test-c test-python test-node test-micropython test-julia test-interop
	@echo "make test: every suite passed"

# The benchmarks build what they run in release mode themselves.
bench: bootstrap
	@$(ENV) scripts/bench.sh

clean:
	rm -rf target .venv node/node_modules
