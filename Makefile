# levity: `make run` builds the dashboard and the binary and starts levity;
# `make test` runs every test: Rust unit and integration tests (fault matrix,
# hostile input, security probes included), the official OpenAI, Anthropic
# and google-genai SDK suites, Claude Code and Codex CLI themselves, the
# crash loop, the dashboard's unit tests and its end-to-end suite in headless
# Chromium, all offline.

CARGO      ?= cargo
VENV       := .venv
PYTHON     := $(VENV)/bin/python
UI_SOURCES := $(shell find ui/src -type f 2>/dev/null) ui/index.html ui/vite.config.js ui/svelte.config.js
CLIENTS    := tests/clients/node_modules/.installed
ARGS       ?=

.PHONY: run build ui test check fmt clean dist test-dist bench bench-check bench-baseline fuzz soak

run: build
	./target/release/levity $(ARGS)

build: ui
	$(CARGO) build --release

ui: ui/dist/index.html

ui/node_modules/.installed: ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund
	touch $@

ui/dist/index.html: ui/node_modules/.installed $(UI_SOURCES)
	cd ui && npm run build

$(PYTHON): tests/sdk/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/sdk/requirements.txt
	touch $@

$(CLIENTS): tests/clients/package.json tests/clients/package-lock.json
	cd tests/clients && npm ci --no-audit --no-fund
	touch $@

# Everything is built and installed first; the tests then run in a network
# namespace with only loopback (tests/offline.sh).
test: ui $(PYTHON) $(CLIENTS)
	$(CARGO) test --all-targets --no-run
	cd ui && npm test
	LEVITY_PYTHON=$(abspath $(PYTHON)) LEVITY_CLAUDE=$(abspath tests/clients/claude_code.sh) \
	LEVITY_CODEX=$(abspath tests/clients/codex.sh) \
	CARGO_NET_OFFLINE=true tests/offline.sh $(CARGO) test --all-targets
	tests/offline.sh tests/crash.sh
	tests/offline.sh tests/ui-e2e.sh

# A static Linux archive (musl) with the dashboard, its checksum and the
# rendered package manifests, in dist/.
dist:
	packaging/dist.sh x86_64-unknown-linux-musl

# Checks the archive `make dist` built: static, small, starts and serves.
test-dist: dist
	tests/dist.sh

# Performance beside the floor (nginx) and the peers (LiteLLM,
# claude-code-router), and prompt-cache hits by scheduling mode, never part
# of `make test`; writes BENCHMARKS.md.
bench:
	bench/run.sh
	python3 bench/sticky.py
	$(CARGO) bench --bench translate
	python3 bench/criterion_check.py

# Translation and stream-encoding figures (criterion) against the committed
# baseline, bench/criterion-baseline.json: fails when one is 25 % slower
# (issue #21); CI runs it. `make bench-baseline` rewrites the baseline.
bench-check:
	$(CARGO) bench --bench translate -- --warm-up-time 1 --measurement-time 3
	python3 bench/criterion_check.py --rerun

# Each figure's baseline is its slowest ratio over three runs, so that a
# shared machine's slow moments do not fail the check.
bench-baseline:
	$(CARGO) bench --bench translate
	python3 bench/criterion_check.py --update
	for i in 2 3; do \
	  $(CARGO) bench --bench translate -- --warm-up-time 1 --measurement-time 3 && \
	  python3 bench/criterion_check.py --widen || exit 1; \
	done

# Steady mixed load with ~5 % upstream faults for SOAK_MINUTES (30); writes
# SOAK.md. Never part of `make test`.
soak: build
	bench/soak.sh

# Every parser under libFuzzer for FUZZ_SECS seconds each (never part of
# `make test`); writes FUZZ.md.
fuzz:
	fuzz/run.sh

check:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings
	# The fuzz targets use the library's API: keep them compiling.
	$(CARGO) fmt --check --manifest-path fuzz/Cargo.toml
	$(CARGO) clippy --manifest-path fuzz/Cargo.toml -- -D warnings

fmt:
	$(CARGO) fmt

clean:
	$(CARGO) clean
	rm -rf ui/dist ui/node_modules tests/clients/node_modules $(VENV) dist bench/.venv bench/node_modules fuzz/target
