"""End to end: the installed add-on generates against the real server and imports the strips.

The real `ltx-scene serve` runs as a subprocess on a free loopback port with the tiny bundle; the
extension zip is built and installed into the bpy module; a small scene (a camera and a moving
empty, 17 frames, 128x128: the smallest size for the factor-2 IC-LoRA, motion tracks) is captured
and `bpy.ops.ltx_scene.generate()` runs synchronously (background mode). The tiny model's video is
noise: what is checked is the plumbing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.blender.addon.addon_install import build_zip, install, remove
from tests.blender.addon.small_scene import build_tracks_scene
from tests.conftest import REPO_ROOT
from tests.e2e.loopback_server import loopback_server

pytestmark = pytest.mark.slow

FRAMES = 17
SIZE = 128


@pytest.fixture(scope="module")
def server(tiny_bundle, tmp_path_factory):
    env = dict(os.environ, NO_PROXY="127.0.0.1,localhost")
    with loopback_server(tiny_bundle, tmp_path_factory.mktemp("server-data"), env, startup_s=180) as url_token:
        yield url_token


@pytest.fixture(scope="module")
def addon(tmp_path_factory):
    import bpy

    installed = install(build_zip(tmp_path_factory.mktemp("dist")), repo_name="ltx_e2e")
    yield installed
    installed.module("operators.job").shutdown()
    remove(installed)
    bpy.ops.wm.read_homefile(use_empty=True)


def build_scene():
    return build_tracks_scene(FRAMES, SIZE)


def _prefs(addon, url, token, out_dir):
    import bpy

    prefs = bpy.context.preferences.addons[addon.module_name].preferences
    prefs.backend_url, prefs.token, prefs.output_dir = url, token, str(out_dir)
    return prefs


def _ltx_strips(scene, vse):
    editor = scene.sequence_editor
    strips = [s for s in (editor.strips if hasattr(editor, "strips") else editor.sequences)]
    return [s for s in strips if vse.parameters_of(s) is not None]


def test_generate_imports_movie_and_sound(server, addon, tmp_path):
    import bpy

    url, token = server
    _prefs(addon, url, token, tmp_path / "results")
    scene = build_scene()
    vse = addon.module("vse")

    assert bpy.ops.ltx_scene.generate() == {"FINISHED"}

    state = bpy.context.window_manager.ltx_scene_job
    assert state.status == "succeeded", state.error
    assert state.error == "" and state.progress == 1.0
    strips = _ltx_strips(scene, vse)
    movie = [s for s in strips if s.type == "MOVIE"]
    sound = [s for s in strips if s.type == "SOUND"]
    assert len(movie) == 1 and len(sound) == 1
    movie, sound = movie[0], sound[0]
    assert movie.frame_final_start == scene.frame_start == sound.frame_final_start
    assert movie.frame_final_duration == FRAMES
    assert abs(sound.frame_final_duration - FRAMES) <= 1
    assert movie.channel != sound.channel
    params = vse.parameters_of(movie)
    assert params == vse.parameters_of(sound)
    spec = params["spec"]
    assert spec["prompt"] == "a glowing ball rolls across a table"
    assert (spec["seed"], spec["width"], spec["height"], spec["frames"]) == (3, SIZE, SIZE, FRAMES)
    assert spec["fps"] == "24" and spec["control_kind"] == "tracks"
    assert params["control_kind"] == "tracks" and params["frame_count"] == FRAMES
    assert params["job_id"] and params["backend_url"] == url
    assert Path(params["video"]).is_file() and Path(params["control"]).is_file()
    assert Path(params["video"]).parent.parent == tmp_path / "results"
    assert state.last_video == params["video"]
    saved = json.loads((Path(params["video"]).parent / "parameters.json").read_text())
    assert saved["spec"] == spec
    # the server has the job as succeeded with the same spec
    job = requests.get(
        f"{url}/v1/jobs/{params['job_id']}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).json()
    assert job["status"] == "succeeded" and job["spec"]["seed"] == 3

    # Regenerate with new seed: same control package, another seed, new strips above
    assert bpy.ops.ltx_scene.regenerate(strip_name=movie.name, seed=11) == {"FINISHED"}
    strips = _ltx_strips(scene, vse)
    assert len(strips) == 4
    newest = [s for s in strips if s.type == "MOVIE" and s != movie][0]
    new_params = vse.parameters_of(newest)
    assert new_params["spec"]["seed"] == 11
    assert {k: v for k, v in new_params["spec"].items() if k != "seed"} == {
        k: v for k, v in spec.items() if k != "seed"
    }
    assert new_params["control"] == params["control"] and new_params["job_id"] != params["job_id"]
    assert newest.frame_final_start == scene.frame_start and newest.frame_final_duration == FRAMES
    assert newest.channel not in (movie.channel, sound.channel)


def test_check_backend_reports_device_and_controls(server, addon, tmp_path):
    import bpy

    url, token = server
    _prefs(addon, url, token, tmp_path)
    assert bpy.ops.ltx_scene.check_backend() == {"FINISHED"}
    state = bpy.context.window_manager.ltx_scene_job
    assert state.backend_ok is True
    assert state.backend_status.startswith("cpu, version ")
    assert "controls: " in state.backend_status and "tracks" in state.backend_status
    assert state.backend_status.endswith("(tiny test model: output is noise)")
    # the server's memory plan, as its authenticated health answer states it
    health = requests.get(f"{url}/v1/health", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    assert health["memory"]["summary"] and state.backend_memory == health["memory"]["summary"]
    # the size rule comes from /v1/models: the tiny bundle's IC-LoRAs have factor 2 -> multiple 128
    rules = json.loads(state.backend_rules)
    assert rules["tracks"] == {"factor": 2, "multiple": 128, "pass": "tracks", "description": ""}
    assert all((rule["factor"], rule["multiple"]) == (2, 128) for rule in rules.values())
    assert list(rules) == ["depth", "pose", "tracks", "canny"]  # the bundle's IC-LoRAs, in its order
    assert addon.module("settings").backend_rules() == rules


def test_wrong_token_is_reported(server, addon, tmp_path):
    import bpy

    url, _ = server
    _prefs(addon, url, "not-the-token", tmp_path)
    build_scene()
    with pytest.raises(RuntimeError, match="token in the add-on preferences is wrong"):
        bpy.ops.ltx_scene.generate()
    state = bpy.context.window_manager.ltx_scene_job
    assert state.status == "failed" and "token" in state.error
    editor = bpy.context.scene.sequence_editor
    assert editor is None or len(addon.module("compat").strips(editor)) == 0


def test_threaded_job_and_cancel(server, addon, tmp_path):
    """The UI path: worker thread + timer tick (driven here by `job.wait`, as background Blender
    never fires timers). A job queued behind another is cancelled with the Cancel operator."""
    import bpy

    url, token = server
    _prefs(addon, url, token, tmp_path / "results")
    build_scene()
    job = addon.module("operators.job")
    settings_mod = addon.module("settings")
    vse = addon.module("vse")

    started = job.start(bpy.context, settings_mod.snapshot(bpy.context), synchronous=False)
    main_thread = addon.module("operators.main_thread")
    assert started.worker is not None and bpy.app.timers.is_registered(main_thread.tick)
    job.wait(started, timeout=300)
    state = bpy.context.window_manager.ltx_scene_job
    assert started.finished and state.status == "succeeded", state.error
    assert [s.type for s in started.strips] == ["MOVIE", "SOUND"]
    assert started.strips[0].frame_final_duration == FRAMES
    assert vse.parameters_of(started.strips[0])["spec"]["seed"] == 3

    # occupy the server with a job sent directly, then queue ours behind it and cancel ours
    client_mod = addon.module("client.http")
    control = Path(vse.parameters_of(started.strips[0])["control"]).read_bytes()
    blocker = client_mod.BackendClient(url, token)
    spec = dict(vse.parameters_of(started.strips[0])["spec"], seed=99, preview=True)
    blocker_id = blocker.submit(spec, control)["id"]
    ours = job.start(bpy.context, settings_mod.snapshot(bpy.context, seed=5), synchronous=False)
    deadline = time.monotonic() + 60
    while ours.worker.job_id is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ours.worker.job_id is not None
    assert bpy.ops.ltx_scene.cancel() == {"FINISHED"}
    job.wait(ours, timeout=120)
    assert state.status == "cancelled", (state.status, state.error)
    assert ours.strips == ()
    final = blocker.status(ours.worker.job_id)
    assert final["status"] == "cancelled"
    for _ in range(600):  # let the blocker finish so the server is idle for the next test
        if blocker.status(blocker_id)["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.1)
    blocker.close()
    job.shutdown()
    assert not bpy.app.timers.is_registered(main_thread.tick)


def test_server_refusal_is_one_clear_message(server, addon, tmp_path):
    """A spec the server refuses (422) comes back as the server's one-line message."""
    url, token = server
    http = addon.module("client.http")
    client = http.BackendClient(url, token)
    try:
        with pytest.raises(http.BackendError, match=r"\(422\): .*prompt") as info:
            client.submit({"prompt": "   ", "seed": 1}, b"not a package")
    finally:
        client.close()
    assert "{" not in str(info.value)  # not a raw JSON dump


HEADLESS_SETUP = """
import bpy, sys
sys.path.insert(0, {repo!r})  # for the test's scene builder only; the add-on is the installed zip
from tests.blender.addon.small_scene import build_tracks_scene
bpy.ops.extensions.package_install_files(filepath={zip!r}, repo="user_default",
                                         enable_on_install=True)
prefs = bpy.context.preferences.addons["bl_ext.user_default.ltx_scene_control"].preferences
prefs.backend_url, prefs.token, prefs.output_dir = {url!r}, {token!r}, {out!r}
bpy.ops.wm.save_userpref()
build_tracks_scene({frames}, {size}, seed=21)
bpy.ops.wm.save_as_mainfile(filepath={blend!r})
"""

# What `blender -b scene.blend --python-expr "import bpy; bpy.ops.ltx_scene.generate()"` does with
# the bpy module: Blender loads the user preferences (enabling installed extensions), then the file.
HEADLESS_RUN = """
import bpy, json
bpy.ops.wm.read_userpref()
bpy.ops.wm.open_mainfile(filepath={blend!r})
bpy.ops.ltx_scene.generate()
ed = bpy.context.scene.sequence_editor
strips = ed.strips if hasattr(ed, "strips") else ed.sequences
print("RESULT " + json.dumps([[s.type, s.channel, s.frame_final_start, s.frame_final_duration,
                               s.get("ltx_scene")] for s in strips]))
"""


def test_headless_generate_in_a_fresh_process(server, tmp_path):
    """Install the zip and save a .blend in one process; generate in another, like `blender -b`."""
    url, token = server
    zip_path = build_zip(tmp_path / "dist")
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "blender-home"))
    blend = str(tmp_path / "scene.blend")
    fmt = dict(
        repo=str(REPO_ROOT),
        zip=str(zip_path),
        url=url,
        token=token,
        out=str(tmp_path / "out"),
        frames=FRAMES,
        size=SIZE,
        blend=blend,
    )
    for script in (HEADLESS_SETUP, HEADLESS_RUN):
        result = subprocess.run(
            [sys.executable, "-c", script.format(**fmt)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    line = [x for x in result.stdout.splitlines() if x.startswith("RESULT ")][-1]
    strips = json.loads(line[len("RESULT ") :])
    assert sorted(s[0] for s in strips) == ["MOVIE", "SOUND"]
    movie = [s for s in strips if s[0] == "MOVIE"][0]
    assert movie[2] == 1 and movie[3] == FRAMES
    params = json.loads(movie[4])
    assert params["spec"]["seed"] == 21 and params["spec"]["frames"] == FRAMES
    assert Path(params["video"]).is_file()
    assert Path(params["video"]).parent.parent == tmp_path / "out"
