"""The glibc malloc settings (backend/engine/host_memory.py) are an explicit option: a process only
gets them when it asks (`Engine(tune_host_malloc=True)`, what `ltx-scene serve` does). Their effect
(page faults per warm job) is measured in benchmarks/bench_host_memory.py, not asserted here."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

glibc_only = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="the malloc settings exist for glibc on Linux only",
)

_ENGINE_THEN_STATE = r"""
import sys
from backend.engine import Engine, host_memory
Engine(sys.argv[1], device="cpu", tune_host_malloc=sys.argv[2] == "1")
print(host_memory._applied)
"""


@glibc_only
def test_settings_are_accepted_by_glibc_and_applied_once():
    from backend.engine import host_memory

    assert host_memory.keep_host_memory() is True
    assert host_memory.keep_host_memory() is True  # idempotent, no second mallopt round


@glibc_only
@pytest.mark.slow
@pytest.mark.parametrize("asked, expected", [("0", "None"), ("1", "True")])
def test_an_engine_changes_malloc_only_when_asked(tiny_bundle, asked, expected):
    done = subprocess.run(
        [sys.executable, "-c", _ENGINE_THEN_STATE, str(tiny_bundle), asked],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == expected
