# egress-analyzer: `make demo` and `make test` work on a fresh machine (they set up .venv themselves).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-stamp
DEMO_CAPTURE ?= fixtures/captures/sunbeam-install.pcap

.PHONY: setup system-deps bench-deps test lint typecheck unit demo replay golden fixtures bench bench-capture clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# tshark is the independent oracle of the differential tests; installed when we are root and have apt.
system-deps:
	@if ! command -v tshark >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing tshark (test oracle)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null; \
	  else echo "tshark not installed: differential tests will be skipped"; fi; \
	fi

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check parsers analyzer reports frontends
	$(BIN)/lint-imports

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(PY) -m pytest -q

test: setup system-deps lint typecheck unit

# The main job on a bundled capture: the sunbeam install replay, in the terminal.
demo: setup
	$(BIN)/egress analyze $(DEMO_CAPTURE) --allowlist fixtures/replay/sunbeam.allowlist.md

# Render every report for each replay and compare with tests/golden/; `make golden` rewrites them.
replay: setup
	$(PY) -m pytest -q tests/reports/test_golden.py

golden: setup
	EGRESS_REGEN_GOLDEN=1 $(PY) -m pytest -q tests/reports/test_golden.py
	git status --short tests/golden

# The benchmark's peers besides tshark: nfstream (the `bench` extra) and nDPI's ndpiReader (Debian's
# libndpi-bin, installed when we are root and have apt; bench/run.py skips it with a note otherwise).
bench-deps: setup
	$(PY) -m pip install -q -e '.[dev,bench]'
	@if ! command -v ndpiReader >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing ndpiReader (benchmark peer)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libndpi-bin >/dev/null; \
	  else echo "ndpiReader not installed: the benchmark skips it"; fi; \
	fi

# Benchmark, not a test: egress vs tshark, nfstream, ndpiReader and a naive dpkt loop on generated captures
# (needs ~3 GB of disk and about 20 minutes; BENCH_SCALE=0.05 runs every step on small captures).
bench: setup system-deps bench-deps
	$(PY) bench/run.py

# Live capture (root): the highest loopback packet rate `egress capture` takes with zero kernel drops.
bench-capture: setup
	$(PY) bench/capture_rate.py

fixtures: setup
	$(PY) fixtures/build_fixtures.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
