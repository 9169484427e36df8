# The two commands a newcomer needs: `make demo` and `make test`. Everything installs itself into
# .venv/ (ignored by git); a second run reuses it. uv installs the ~6 GB torch stack in parallel
# (about 25 s here, several minutes with plain pip).
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
UV      := uv==0.13.9

.PHONY: setup test test-fast bench demo addon clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check $(UV)
	$(BIN)/uv pip install --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

# Everything, slow end-to-end tests included.
test: setup
	$(BIN)/python -m pytest

# The quick subset: no end-to-end tests (real server, Blender jobs, tiny-model generations).
test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

# Every benchmark prints a table.
bench: setup
	@set -e; for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b; done

demo: setup
	$(BIN)/ltx-scene demo --out demo_output

# The installable Blender extension zip (dist/ltx_scene_control-<version>.zip).
addon: setup
	$(BIN)/ltx-scene build-addon --out dist

clean:
	rm -rf $(VENV) dist build demo_output .pytest_cache
