# levity: `make run` builds the dashboard and the binary and starts levity;
# `make test` runs every test (Rust, then the real-client suites).

CARGO      ?= cargo
VENV       := .venv
PYTHON     := $(VENV)/bin/python
UI_SOURCES := $(shell find ui/src -type f 2>/dev/null) ui/index.html ui/vite.config.js ui/svelte.config.js
ARGS       ?=

.PHONY: run build ui test check fmt clean

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

test: ui $(PYTHON)
	LEVITY_PYTHON=$(abspath $(PYTHON)) $(CARGO) test --all-targets

check:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

clean:
	$(CARGO) clean
	rm -rf ui/dist ui/node_modules $(VENV)
