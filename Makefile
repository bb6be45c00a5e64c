# Septet: the two commands are `make run` and `make test`.
# Everything else (the virtualenv, the release build of the native core) is set up on demand.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.septet-installed
RUST_SOURCES := $(shell find engine_native/src -name '*.rs' 2>/dev/null)
export PYO3_PYTHON := $(abspath $(BIN)/python)

.PHONY: run test bench bench-peers lint native-test python-test clean

# Create the virtualenv and build the extension in release mode (re-run when Rust or
# the project metadata change).
$(STAMP): pyproject.toml Cargo.toml Cargo.lock engine_native/Cargo.toml plugins/septet-filedrop/pyproject.toml $(RUST_SOURCES)
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: Septet needs Python 3.11" >&2; exit 1; }
	@command -v cargo >/dev/null || { echo "cargo not found: install Rust (rustup) first" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet -e plugins/septet-filedrop
	touch $@

# The engine with the sandbox carrier, the inbox on SQLite in ./septet-data and metrics on
# 127.0.0.1:9464 (examples/septet.toml). In another terminal:
#   .venv/bin/septet sim send --config examples/septet.toml --preset otp
#   .venv/bin/septet messages --config examples/septet.toml --follow
run: $(STAMP)
	$(BIN)/septet serve --config examples/septet.toml $(ARGS)

lint: $(STAMP)
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo clippy --workspace --all-targets --locked --features python -- -D warnings
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict engine
	$(BIN)/python -m mypy.stubtest engine._native

native-test:
	cargo test --workspace --locked

python-test: $(STAMP)
	$(BIN)/pytest

test: lint native-test python-test

# Micro-benchmarks against the peers; writes benchmarks/RESULTS.md.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/run.py

# Septet beside Jasmin and Kannel: the same deliver_sm stream through each to one HTTP sink.
# Installs what is missing (Kannel, RabbitMQ, Redis with apt-get; Jasmin from PyPI into
# ~/.cache/septet-peers), takes several minutes, and updates benchmarks/RESULTS.md.
bench-peers: $(STAMP)
	$(BIN)/python benchmarks/peers/compare.py $(ARGS)

clean:
	rm -rf $(VENV) target .pytest_cache .mypy_cache .ruff_cache .hypothesis .benchmarks
	find engine -name '_native*.so' -delete
