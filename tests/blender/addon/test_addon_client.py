"""The backend client never imports bpy, parses the event stream, and explains connection failures."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO_ROOT
from tests.ports import free_port

pytestmark = pytest.mark.bpy_compat  # also run under bpy 4.2 and 4.5 LTS (operators)


CLIENT_DIR = REPO_ROOT / "blender_addon" / "client"


def test_client_sources_do_not_import_bpy():
    files = sorted(CLIENT_DIR.glob("*.py"))
    assert {f.name for f in files} >= {"__init__.py", "http.py", "worker.py", "backend_status.py"}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in {"bpy", "bpy_extras", "mathutils", "gpu"}, (
                    f"{path.name} imports {name}"
                )


def test_client_imports_with_bpy_unimportable():
    code = textwrap.dedent("""
        import sys
        sys.modules["bpy"] = None          # any `import bpy` now raises ImportError
        from blender_addon.client import backend_status, http, worker
        assert worker.GenerationWorker and http.BackendClient and backend_status.ask
        assert "bpy" not in {n for n, m in sys.modules.items() if m is not None}
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_parse_sse():
    from blender_addon.client.http import parse_sse

    lines = [
        "event: progress",
        'data: {"progress": 0.5,',
        'data:  "stage": "stage1"}',
        "",
        ": keep-alive",
        "",
        "event: status",
        'data: {"status": "succeeded"}',
        "",
    ]
    events = list(parse_sse(iter(lines)))
    assert [(e.event, e.data) for e in events] == [
        ("progress", {"progress": 0.5, "stage": "stage1"}),
        ("status", {"status": "succeeded"}),
    ]


def test_server_down_message():
    from blender_addon.client.http import BackendClient, BackendError

    url = f"http://127.0.0.1:{free_port()}"
    client = BackendClient(url, "token")
    with pytest.raises(BackendError, match=r"no LTX Scene backend is running at .*ltx-scene serve"):
        client.health()


def test_loopback_bypasses_proxy_and_remote_needs_online_access(monkeypatch):
    from blender_addon.client.http import BackendClient, BackendError, is_loopback_url

    assert is_loopback_url("http://127.0.0.1:8765") and is_loopback_url("http://localhost:1")
    assert is_loopback_url("http://[::1]:8765") and not is_loopback_url("http://10.0.0.2:8765")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # a proxy that does not exist
    client = BackendClient("http://127.0.0.1:8765", "t")
    assert client.session.trust_env is False
    assert client.session.headers["Authorization"] == "Bearer t"
    with pytest.raises(BackendError, match="online access is off") as info:
        BackendClient("http://gpu-box.example:8765", "t", allow_remote=False)
    assert info.value.field == "backend_url"
    with pytest.raises(BackendError, match="not an http"):
        BackendClient("127.0.0.1:8765", "t")


def test_empty_token_reads_default_token_file(tmp_path, monkeypatch):
    from blender_addon.client.http import resolve_token

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    (tmp_path / "ltx-scene").mkdir()
    (tmp_path / "ltx-scene" / "token").write_text("abc123\n")
    assert resolve_token("http://127.0.0.1:8765", "") == "abc123"
    assert resolve_token("http://127.0.0.1:8765", "given") == "given"
    assert resolve_token("http://10.1.2.3:8765", "") == ""


def test_worker_reports_server_down_as_error_message():
    from blender_addon.client.http import BackendSettings
    from blender_addon.client.worker import GenerationWorker, JobRequest

    request = JobRequest(
        backend=BackendSettings(f"http://127.0.0.1:{free_port()}", "t"),
        spec={"prompt": "x"},
        control=b"",
        out_dir="/nonexistent",
    )
    worker = GenerationWorker(request).start()
    worker.join(timeout=30)
    messages = worker.drain()
    assert [kind for kind, _ in messages] == ["error"]
    assert "no LTX Scene backend is running" in messages[0][1]["message"]


def test_check_backend_operator_reports_server_down(fresh_scene, installed_addon):
    import bpy

    prefs = bpy.context.preferences.addons[installed_addon.module_name].preferences
    prefs.backend_url = f"http://127.0.0.1:{free_port()}"
    try:
        with pytest.raises(RuntimeError, match="no LTX Scene backend is running"):
            bpy.ops.ltx_scene.check_backend()
    finally:
        prefs.backend_url = "http://127.0.0.1:8765"
    state = bpy.context.window_manager.ltx_scene_job
    assert state.backend_ok is False and "no LTX Scene backend is running" in state.backend_status


def test_the_addon_builds_its_client_in_one_place():
    """Every BackendClient of the add-on comes from `BackendSettings.connect()` (client/http.py)."""
    builders = []
    for path in sorted((REPO_ROOT / "blender_addon").rglob("*.py")):
        if "shared" in path.relative_to(REPO_ROOT / "blender_addon").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "BackendClient":
                builders.append(path.relative_to(REPO_ROOT).as_posix())
    assert builders == ["blender_addon/client/http.py"]


def test_threaded_job_failure_reaches_the_panel_through_the_timer(fresh_scene, installed_addon, tmp_path):
    """The UI path of a job without a backend: the worker's error waits in its queue until the
    timer's tick (driven by hand: timers never fire headless) writes it into the job state."""
    import bpy

    job = installed_addon.module("operators.job")
    main_thread = installed_addon.module("operators.main_thread")
    settings_mod = installed_addon.module("settings")
    prefs = bpy.context.preferences.addons[installed_addon.module_name].preferences
    prefs.backend_url, prefs.output_dir = f"http://127.0.0.1:{free_port()}", str(tmp_path)
    fresh_scene.frame_start, fresh_scene.frame_end = 1, 17
    fresh_scene.ltx_scene.prompt = "a ball rolls"
    try:
        settings = settings_mod.snapshot(bpy.context)
        started = job.start(
            bpy.context, settings, control=b"npz", control_path=str(tmp_path / "c.npz"), synchronous=False
        )
    finally:
        prefs.backend_url, prefs.output_dir = "http://127.0.0.1:8765", ""
    state = bpy.context.window_manager.ltx_scene_job
    assert job.active() is started and state.status == "uploading"
    started.worker.join(30)
    assert state.status == "uploading"  # nothing reaches bpy before the tick
    assert main_thread.tick() is None  # delivered; no worker left
    assert started.finished and job.active() is None
    assert state.status == "failed" and "no LTX Scene backend is running" in state.error
