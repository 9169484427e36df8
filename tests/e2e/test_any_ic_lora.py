"""End to end: a bundle with a studio's own IC-LoRA on the `render` scene pass (the tiny bundle made by
`make-tiny-model --extra-ic-lora blockout=render`) runs from the command line (render-controls
--control render, then generate --ic-lora blockout) and from the panel's Generate operator against the
real server on loopback; the result is produced and its sidecar names that IC-LoRA. Tiny sizes
(128x128, 9 frames); the tiny model's video is noise: what is checked is the plumbing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from shared.package import ControlPackage
from tests.conftest import REPO_ROOT
from tests.e2e.loopback_server import loopback_server
from tests.e2e.test_addon_generate import addon  # noqa: F401  (the installed extension, a module fixture)

pytestmark = pytest.mark.slow

FRAMES = 9
SIZE = 128
IC_FILE = "ltx-2.3-22b-ic-lora-blockout-tiny.safetensors"

SCENE_SCRIPT = """
import sys, math, bpy
sys.path.insert(0, {repo!r})
from tools.scenes.basic import build_plane_scene
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = build_plane_scene(4.0, {size}, {size}, frames={frames})
scene.render.engine = "CYCLES"  # the scene's own look, renderable without an EGL driver
scene.cycles.samples = 1
world = bpy.data.worlds.new("W"); world.color = (0.05, 0.05, 0.05); scene.world = world
sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
sun.rotation_euler = (math.pi / 2, 0.0, 0.0); scene.collection.objects.link(sun)
bpy.ops.wm.save_as_mainfile(filepath={blend!r})
"""


def _env():
    return dict(os.environ, PYTHONPATH=str(REPO_ROOT), LTX_SCENE_RENDER_PROBE="off", NO_PROXY="127.0.0.1,localhost")


def _cli(*args, timeout=900):
    proc = subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        cwd=REPO_ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{args[0]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _check_sidecar(record: dict) -> None:
    stage1 = record["loras"]["stage1"]
    assert stage1[0]["name"] == "ic-lora:blockout" and stage1[0]["file"] == IC_FILE
    assert record["control"]["ic_lora"] == "blockout" and record["control"]["kind"] == "render"
    assert record["spec"]["ic_lora"] == "blockout"
    assert record["model"]["files"]["ic-lora:blockout"]["file"] == IC_FILE


def test_cli_render_pass_then_generate_with_the_studio_ic_lora(tiny_bundle_render_lora, tmp_path):
    blend = tmp_path / "plane.blend"
    script = SCENE_SCRIPT.format(repo=str(REPO_ROOT), size=SIZE, frames=FRAMES, blend=str(blend))
    subprocess.run([sys.executable, "-c", script], check=True, env=_env(), capture_output=True, timeout=300)

    controls = tmp_path / "controls"
    proc = _cli("render-controls", str(blend), "--control", "render", "--out", str(controls), "--quiet")
    assert "wrote" in proc.stdout
    pkg = ControlPackage.load(controls / "control.npz")
    assert pkg.kind == "render" and pkg.rgb.shape == (FRAMES, SIZE, SIZE, 3)
    assert pkg.rgb.std() > 5  # the lit plane on a dark world, not a blank frame
    assert len(list((controls / "frames").glob("frame_*.png"))) == FRAMES

    out = tmp_path / "result" / "shot.mp4"
    proc = _cli(
        "generate",
        "--model",
        str(tiny_bundle_render_lora.parent),
        "--control",
        str(controls / "control.npz"),
        "--ic-lora",
        "blockout",
        "--prompt",
        "a stone tower at dusk",
        "--out",
        str(out),
        "--device",
        "cpu",
        "--quiet",
    )
    assert "IC-LoRA blockout on the render pass" in proc.stderr
    assert out.is_file() and out.with_name("shot.control.mkv").is_file()
    _check_sidecar(json.loads(out.with_suffix(".json").read_text()))


# --- the panel's operator against the real server ------------------------------------------------


@pytest.fixture(scope="module")
def studio_server(tiny_bundle_render_lora, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("server-data")
    with loopback_server(tiny_bundle_render_lora, data_dir, _env(), startup_s=240) as url_token:
        yield url_token


def test_panel_generate_with_the_studio_ic_lora(studio_server, addon, tmp_path, monkeypatch):  # noqa: F811
    import math

    import bpy

    from tools.scenes.basic import build_plane_scene

    monkeypatch.setenv("LTX_SCENE_RENDER_PROBE", "off")
    url, token = studio_server
    prefs = bpy.context.preferences.addons[addon.module_name].preferences
    prefs.backend_url, prefs.token, prefs.output_dir = url, token, str(tmp_path / "results")

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = build_plane_scene(4.0, SIZE, SIZE, frames=FRAMES)
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 1
    sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    sun.rotation_euler = (math.pi / 2, 0.0, 0.0)
    scene.collection.objects.link(sun)
    props = scene.ltx_scene
    props.prompt, props.seed = "a stone tower at dusk", 5
    props.size_preset = "CUSTOM"
    props.width = props.height = SIZE

    # the panel lists what the backend's bundle offers, with the studio's IC-LoRA on the render pass
    assert bpy.ops.ltx_scene.check_backend() == {"FINISHED"}
    items = addon.module("properties")._ic_lora_items(props, bpy.context)
    assert [(i[0], i[1]) for i in items][-1] == ("blockout", "blockout (Render)")
    props.control_kind = "blockout"

    assert bpy.ops.ltx_scene.generate() == {"FINISHED"}
    state = bpy.context.window_manager.ltx_scene_job
    assert state.status == "succeeded", state.error
    vse = addon.module("vse")
    editor = scene.sequence_editor
    strips = [s for s in (editor.strips if hasattr(editor, "strips") else editor.sequences)]
    movie = [s for s in strips if s.type == "MOVIE" and vse.parameters_of(s) is not None]
    assert len(movie) == 1 and movie[0].frame_final_duration == FRAMES
    params = vse.parameters_of(movie[0])
    assert params["ic_lora"] == "blockout" and params["control_kind"] == "render"
    assert Path(params["video"]).is_file()
    _check_sidecar(json.loads(Path(params["sidecar"]).read_text()))
    control = ControlPackage.load(params["control"])
    assert control.kind == "render" and control.rgb.shape == (FRAMES, SIZE, SIZE, 3)


def test_server_lists_the_passes_and_refuses_what_the_bundle_lacks(studio_server):
    """/v1/models names each IC-LoRA's pass; a spec asking for an IC-LoRA the bundle lacks, or one the
    package cannot feed, is refused at submit (422) with what the bundle offers."""
    from fractions import Fraction

    import numpy as np

    url, token = studio_server
    headers = {"Authorization": f"Bearer {token}"}
    models = requests.get(f"{url}/v1/models", headers=headers, timeout=10).json()
    assert models["ic_loras"]["blockout"]["pass"] == "render" and models["ic_loras"]["depth"]["pass"] == "depth"
    assert models["control_kinds"][-1] == "blockout"

    def submit(spec, pkg):
        files = {"control": ("control.npz", pkg.to_bytes(), "application/octet-stream")}
        return requests.post(
            f"{url}/v1/jobs", headers=headers, data={"spec": json.dumps(spec)}, files=files, timeout=60
        )

    base = dict(width=SIZE, height=SIZE, fps=Fraction(24), frame_count=FRAMES)
    render = ControlPackage(kind="render", rgb=np.zeros((FRAMES, SIZE, SIZE, 3), np.uint8), **base)
    depth = ControlPackage(kind="depth", depth=np.full((FRAMES, 32, 32), 2.0, np.float32), **base)
    r = submit({"prompt": "x", "ic_lora": "nope"}, render)
    assert r.status_code == 422
    assert "no IC-LoRA named 'nope'; it has: depth (depth), pose (pose), tracks (tracks), canny (canny), " in r.text
    assert "blockout (render)" in r.text
    r = submit({"prompt": "x", "ic_lora": "blockout"}, depth)
    assert r.status_code == 422 and "follows the 'render' pass, but this is a 'depth' package" in r.text
    r = submit({"prompt": "x", "ic_lora": "blockout", "control_kind": "depth"}, render)
    assert r.status_code == 422 and "IC-LoRA 'blockout' follows the 'render' pass" in r.text
