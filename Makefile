# The two commands a newcomer needs: `make demo` and `make test`. Everything installs itself into
# .venv/ (ignored by git); a second run reuses it. uv installs the ~6 GB torch stack in parallel
# (about 25 s here, several minutes with plain pip).
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
UV      := uv==0.13.9

# The suite runs on this many processes (pytest-xdist); each takes whole test files, so a module's
# fixtures (a farm, a server) start once. Most tests keep one core busy: two processes use a 2-core
# machine fully. `make test TEST_PROCESSES=1` runs it in one process.
TEST_PROCESSES ?= 2
PYTEST  := $(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadfile

BPY42   := .venv-bpy42
BPY45   := .venv-bpy45
.PHONY: setup setup-bpy-lts setup-redis lock lint test test-fast test-bpy-lts bench demo addon clean

setup: $(STAMP)

# requirements.lock pins every package of the environment (`make lock` remakes it from pyproject.toml);
# sync installs exactly that set, then the project itself without touching the pins.
$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check $(UV)
	$(BIN)/uv pip sync --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --no-deps -e .
	@touch $(STAMP)

lock:
	@test -x $(BIN)/uv || { $(PY) -m venv $(VENV) && $(BIN)/python -m pip install -q $(UV); }
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 -o requirements.lock

# ruff: lint and format check (configuration in pyproject.toml).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The version-dependent Blender tests also run against the LTS releases the extension supports,
# 4.2 (the manifest's minimum) and 4.5 (the bpy module versions cannot share one environment: each
# pins its own numpy and ships a whole Blender).
.venv-bpy%/.installed-stamp:
	@test -x .venv-bpy$*/bin/python || $(PY) -m venv .venv-bpy$*
	@.venv-bpy$*/bin/python -m pip install -q --disable-pip-version-check $(UV)
	.venv-bpy$*/bin/uv pip install --python .venv-bpy$*/bin/python "bpy==$(shell echo $* | sed 's/^\(.\)/\1./').*" "numpy>=1.26,<2" "pytest>=8" "pytest-timeout>=2.3"
	@touch $@

setup-bpy-lts: $(BPY42)/.installed-stamp $(BPY45)/.installed-stamp

# Debian's redis-server for the studio-farm tests and benchmark (tests/farm start their own on a
# loopback port and stop it; a farm itself runs one per studio, README "A studio farm").
setup-redis:
	@command -v redis-server >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server; }

# Everything, slow end-to-end tests included, then the Blender 4.2 and 4.5 LTS compatibility subset.
test: setup setup-bpy-lts setup-redis lint
	$(PYTEST)
	$(BPY42)/bin/python -m pytest tests/blender -m bpy_compat -q
	$(BPY45)/bin/python -m pytest tests/blender -m bpy_compat -q

test-bpy-lts: setup-bpy-lts
	$(BPY42)/bin/python -m pytest tests/blender -m bpy_compat -q
	$(BPY45)/bin/python -m pytest tests/blender -m bpy_compat -q

# The quick subset: no end-to-end tests (real server, Blender jobs, tiny-model generations).
test-fast: setup lint
	$(PYTEST) -m "not slow"

# Every benchmark prints a table.
bench: setup setup-redis
	@set -e; for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b; done

demo: setup
	$(BIN)/ltx-scene demo --out demo_output

# The installable Blender extension zip (dist/ltx_scene_control-<version>.zip).
addon: setup
	$(BIN)/ltx-scene build-addon --out dist

clean:
	rm -rf $(VENV) $(BPY42) $(BPY45) dist build demo_output .pytest_cache
