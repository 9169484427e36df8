# The two commands a newcomer needs: `make demo` and `make test`. Everything installs itself into
# .venv/ (ignored by git); a second run reuses it. uv installs the ~6 GB torch stack in parallel
# (about 25 s here, several minutes with plain pip).
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
UV      := uv==0.13.9

BPY45   := .venv-bpy45
.PHONY: setup setup-bpy45 test test-fast test-bpy45 bench demo addon clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check $(UV)
	$(BIN)/uv pip install --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

# The version-dependent Blender tests also run against Blender 4.5 LTS (the bpy module versions
# cannot share one environment: each pins its own numpy and ships a whole Blender).
$(BPY45)/.installed-stamp:
	@test -x $(BPY45)/bin/python || $(PY) -m venv $(BPY45)
	@$(BPY45)/bin/python -m pip install -q --disable-pip-version-check $(UV)
	$(BPY45)/bin/uv pip install --python $(BPY45)/bin/python "bpy==4.5.*" "numpy>=1.26,<2" "pytest>=8" "pytest-timeout>=2.3"
	@touch $@

setup-bpy45: $(BPY45)/.installed-stamp

# Everything, slow end-to-end tests included, then the Blender 4.5 LTS compatibility subset.
test: setup setup-bpy45
	$(BIN)/python -m pytest
	$(BPY45)/bin/python -m pytest tests/blender -m bpy_compat -q

test-bpy45: setup-bpy45
	$(BPY45)/bin/python -m pytest tests/blender -m bpy_compat -q

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
	rm -rf $(VENV) $(BPY45) dist build demo_output .pytest_cache
