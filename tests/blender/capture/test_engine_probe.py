"""The EGL probe runs in a child process: an abort there is a 'no', never a crash here."""

from __future__ import annotations

import sys

from blender_addon.capture import engine_probe
import pytest

pytestmark = pytest.mark.bpy_compat  # also run under bpy 4.2 and 4.5 LTS


def test_abort_in_the_child_means_unavailable():
    assert engine_probe.run_probe([sys.executable, "-c", "import os; os.abort()"]) is False


def test_ok_marker_means_available_and_missing_marker_not():
    assert engine_probe.run_probe([sys.executable, "-c", "print('LTX_PROBE_OK')"]) is True
    assert engine_probe.run_probe([sys.executable, "-c", "print('something else')"]) is False
    assert engine_probe.run_probe(["/nonexistent/blender"]) is False


def test_timeout_means_unavailable():
    assert engine_probe.run_probe([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.5) is False


def test_forced_off_picks_cycles_and_cycles_never_probes(monkeypatch):
    monkeypatch.setenv("LTX_SCENE_RENDER_PROBE", "off")
    assert engine_probe.pick_engine("AUTO") == "CYCLES"
    assert engine_probe.pick_engine("BLENDER_WORKBENCH") == "CYCLES"
    assert engine_probe.engine_available("CYCLES") is True


def test_probe_command_uses_this_interpreter_for_the_bpy_module():
    cmd = engine_probe.probe_command("BLENDER_WORKBENCH")
    assert cmd[0] == sys.executable and cmd[-1] == "BLENDER_WORKBENCH"


def test_result_is_cached(monkeypatch):
    calls = []
    monkeypatch.setattr(engine_probe, "_CACHE", {})
    monkeypatch.setattr(engine_probe, "run_probe", lambda cmd, timeout=0: calls.append(cmd) or False)
    monkeypatch.delenv("LTX_SCENE_RENDER_PROBE", raising=False)
    assert engine_probe.engine_available("BLENDER_WORKBENCH") is False
    assert engine_probe.engine_available("BLENDER_WORKBENCH") is False
    assert len(calls) == 1
