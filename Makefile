# egress-analyzer: `make demo` and `make test` work on a fresh machine (they set up .venv themselves).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-stamp
DEMO_CAPTURE ?= fixtures/captures/sunbeam-install.pcap

.PHONY: setup system-deps bench-deps test lint typecheck unit wheel committed compiled test-compiled demo replay golden fixtures bench bench-capture clean

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

test: setup system-deps lint typecheck unit test-compiled

# The compiled build, what a release wheel is to ship: mypyc compiles the packet path (the modules that
# pyproject.toml's [tool.egress-analyzer] lists; setup.py). Needs a C compiler and Python's headers.
# `make wheel` puts in dist/ the wheel `make compiled` built from a copy of the tree (setuptools would
# reuse a ./build left by an earlier build): the wheel `make test-compiled` tests. Only from a tree with
# nothing uncommitted, so that the wheel is a commit's.
wheel: committed compiled
	mkdir -p dist && cp build/compiled/dist/egress_analyzer-*.whl dist/

committed:
	@test -z "$$(git status --porcelain --untracked-files=normal)" || \
	  { echo "make wheel: the tree has uncommitted changes (git status); commit or stash them first"; exit 2; }

# The same wheel built from a copy of the tree (build/compiled/egress-analyzer), its extensions put
# beside that copy's sources: the tests run there against them, and `make bench` measures them. A copy,
# because an extension beside the sources you edit would shadow every later edit.
# The copy holds the files git has or would add (.gitignore keeps out the venv, caches and bench/out's
# captures); a tracked file deleted in the working tree is skipped with tar's warning.
COMPILED_TREE := build/compiled/egress-analyzer
compiled: setup
	rm -rf build/compiled && mkdir -p $(COMPILED_TREE)
	git ls-files -z --cached --others --exclude-standard \
	  | tar --null -T - --ignore-failed-read -cf - | tar -xf - -C $(COMPILED_TREE)
	ln -s "$(CURDIR)/../shared" build/compiled/shared  # the corpus the tests read from beside the tree
	cd $(COMPILED_TREE) && EGRESS_COMPILE=1 "$(CURDIR)/$(PY)" -m pip wheel -q --no-build-isolation --no-deps \
	  -w ../dist . >../build.log 2>&1 || { tail -40 ../build.log; exit 1; }
	$(PY) -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
	  z.extractall(sys.argv[2], [n for n in z.namelist() if n.endswith(".so")])' \
	  $$(ls build/compiled/dist/egress_analyzer-*.whl) $(COMPILED_TREE)

# The parser, analyzer, report and front-end tests again, against the compiled modules (tests/test_compiled.py
# checks they are what loads; PYTHONPATH makes the processes the tests start load them too). Skipped with a
# note where there is no C compiler or no Python headers, unless EGRESS_REQUIRE_COMPILED=1 (.ci/run sets it):
# then that is a failure, so that CI is never green without the compiled build tested.
HAVE_HEADERS = $(PY) -c 'import os, sys, sysconfig; \
  sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'
test-compiled: setup
	@why=""; command -v cc >/dev/null 2>&1 || why="no C compiler (cc)"; \
	[ -n "$$why" ] || $(HAVE_HEADERS) || why="no Python.h (python3-dev)"; \
	if [ -n "$$why" ]; then echo "$$why: the compiled build's tests are skipped"; \
	  [ "$$EGRESS_REQUIRE_COMPILED" != 1 ] || exit 2; exit 0; fi; \
	$(MAKE) --no-print-directory compiled && cd $(COMPILED_TREE) && EGRESS_EXPECT_COMPILED=1 PYTHONPATH="$$PWD" \
	  "$(CURDIR)/$(PY)" -m pytest -q -p no:cacheprovider tests/test_compiled.py tests/parsers tests/analyzer \
	  tests/reports tests/frontends

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
# It measures the compiled build (what a release wheel is to ship; `make compiled`), or the sources, with a
# note, where there is no C compiler or no Python headers.
bench: setup system-deps bench-deps
	@if command -v cc >/dev/null 2>&1 && $(HAVE_HEADERS); then $(MAKE) --no-print-directory compiled; \
	else echo "no C compiler or no Python.h: the benchmark measures the pure-Python build"; rm -rf build/compiled; fi
	EGRESS_BENCH_TREE=$(COMPILED_TREE) $(PY) bench/run.py

# Live capture (root): the highest loopback packet rate `egress capture` takes with zero kernel drops.
bench-capture: setup
	$(PY) bench/capture_rate.py

fixtures: setup
	$(PY) fixtures/build_fixtures.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
