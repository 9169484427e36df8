"""The operator's settings snapshot: one plain object with exactly the panel's values."""

from __future__ import annotations

import dataclasses
import pickle
from fractions import Fraction

import pytest


pytestmark = pytest.mark.bpy_compat  # also run under bpy 4.2 and 4.5 LTS (scene and preferences API)


def _plain(value, path="settings"):
    """Fail if anything but plain Python data is inside."""
    if dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            _plain(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, dict):
        for k, v in value.items():
            assert isinstance(k, str), path
            _plain(v, f"{path}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _plain(v, f"{path}[{i}]")
    else:
        assert value is None or type(value) in (str, int, float, bool, Fraction), f"{path} is {type(value)}"


@pytest.fixture
def configured(fresh_scene, installed_addon, tmp_path):
    import bpy

    scene = fresh_scene
    scene.frame_start, scene.frame_end = 1, 17
    scene.render.fps, scene.render.fps_base = 24, 1.001
    cube = bpy.data.objects.new("Hero", None)
    scene.collection.objects.link(cube)
    props = scene.ltx_scene
    props.control_kind = "depth"
    props.prompt = "a knight walks through fog"
    props.seed = 42
    props.size_preset = "896x512"
    props.conditioning_strength = 0.75
    props.ic_lora_strength = 0.9
    props.mask_source = "OBJECT"
    props.mask_object = cube
    props.first_frame_source = "IMAGE"
    image = tmp_path / "first.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    props.first_frame_image = str(image)
    lora = props.loras.add()
    lora.name, lora.strength = "style", 0.5
    prefs = bpy.context.preferences.addons[installed_addon.module_name].preferences
    prefs.backend_url = "http://127.0.0.1:9123/"
    prefs.token = "secret"
    prefs.output_dir = str(tmp_path / "out")
    yield scene, image, tmp_path
    prefs.backend_url, prefs.token, prefs.output_dir = "http://127.0.0.1:8765", "", ""


def test_snapshot_values(configured, installed_addon):
    import bpy

    scene, image, tmp_path = configured
    settings = installed_addon.module("settings").snapshot(bpy.context)
    _plain(settings)
    pickle.dumps(settings)  # no bpy data inside
    assert settings.scene_name == scene.name
    assert settings.spec == {
        "prompt": "a knight walks through fog",
        "seed": 42,
        "width": 896,
        "height": 512,
        "frames": 17,
        "fps": "24000/1001",
        "control_kind": "depth",
        "ic_lora": "depth",
        "attention_strength": 1.0,
        "conditioning_strength": 0.75,
        "ic_lora_strength": pytest.approx(0.9),
        "loras": [{"name": "style", "strength": 0.5}],
        "preview": False,
        "use_first_frame": True,
        "keyframes": [],
    }
    c = settings.capture
    assert (c.kind, c.width, c.height, c.mask_objects, c.mask_collection) == ("depth", 896, 512, ("Hero",), None)
    assert c.reference_downscale_factor == 2 and c.first_frame is False
    assert (settings.plan.frame_start, settings.plan.frame_count) == (1, 17)
    assert settings.plan.fps == Fraction(24000, 1001)
    assert settings.backend.url == "http://127.0.0.1:9123"
    assert settings.backend.token == "secret"
    assert settings.backend.allow_remote is False  # the bpy module has online access off
    assert settings.first_frame_source == "IMAGE" and settings.first_frame_image == str(image)
    assert settings.output_dir.startswith(str(tmp_path / "out"))
    assert settings.output_dir.endswith("_seed42")
    # the panel changing afterwards changes nothing in the snapshot
    scene.ltx_scene.prompt = "something else"
    assert settings.spec["prompt"] == "a knight walks through fog"
    params = settings.parameters()
    assert params["spec"] == settings.spec and params["frame_count"] == 17
    assert params["fps"] == "24000/1001" and params["control_kind"] == "depth"


def test_snapshot_seed_override_and_snapping(configured, installed_addon):
    import bpy

    scene, _, _ = configured
    scene.frame_end = 20  # 20 frames: snapped to 17
    settings = installed_addon.module("settings").snapshot(bpy.context, seed=5)
    assert settings.spec["seed"] == 5 and settings.spec["frames"] == 17
    assert any("20 frames snapped to 17" in n for n in settings.plan.notes)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda p, s: setattr(p, "prompt", "  "), "prompt"),
        (lambda p, s: setattr(p, "mask_object", None), "no object is picked"),
        (lambda p, s: setattr(p, "first_frame_image", "/does/not/exist.png"), "does not exist"),
        (lambda p, s: setattr(p, "control_kind", "tracks"), "needs at least one object"),
        (lambda p, s: (setattr(p, "snap", False), setattr(s, "frame_end", 20)), "nearest valid counts are 17 and 25"),
    ],
)
def test_snapshot_refuses_with_clear_message(configured, installed_addon, change, message):
    import bpy

    scene, _, _ = configured
    errors = installed_addon.module("shared.errors")
    change(scene.ltx_scene, scene)
    with pytest.raises(errors.UserError, match=message):
        installed_addon.module("settings").snapshot(bpy.context)


def test_first_frame_sources(configured, installed_addon):
    import bpy

    scene, image, _ = configured
    settings_mod = installed_addon.module("settings")
    job = installed_addon.module("operators.job")
    # an image file travels as the job's `image` upload, and its path is kept for Regenerate
    settings = settings_mod.snapshot(bpy.context)
    request = job.build_request(settings, b"npz bytes", "/somewhere/control.npz")
    assert request.image == image.read_bytes() and request.image_name == "first.png"
    assert request.control == b"npz bytes" and request.spec == settings.spec
    assert request.backend.url == "http://127.0.0.1:9123" and request.backend.token == "secret"
    assert request.extra["params"]["first_frame_image"] == str(image)
    assert request.extra["params"]["control"] == "/somewhere/control.npz"
    # a rendered first frame is captured into the package instead
    scene.ltx_scene.first_frame_source = "RENDER"
    settings = settings_mod.snapshot(bpy.context)
    assert settings.capture.first_frame is True and settings.spec["use_first_frame"] is True
    assert settings.first_frame_image is None
    assert job.build_request(settings, b"x", "/c.npz").image is None
    scene.ltx_scene.first_frame_source = "NONE"
    settings = settings_mod.snapshot(bpy.context)
    assert settings.capture.first_frame is False and settings.spec["use_first_frame"] is False


def test_face_and_canny_options_reach_the_capture_settings(configured, installed_addon):
    """The panel's pose face toggles and canny preset become plain capture settings."""
    import bpy

    scene, _, _ = configured
    props = scene.ltx_scene
    snapshot = installed_addon.module("settings").snapshot
    c = snapshot(bpy.context).capture
    assert (c.face, c.face_occlusion, c.canny) == (True, False, "union-2.3")  # the defaults
    props.face, props.face_occlusion, props.canny_preset = False, True, "trainer"
    c = snapshot(bpy.context).capture
    assert (c.face, c.face_occlusion, c.canny) == (False, True, "trainer")


def test_camera_anchor_options_reach_the_capture_settings(configured, installed_addon):
    """Tracks: the Camera Anchors toggle, count, spacing and reseed are panel options and plain capture
    settings; with anchors on, the tracks control needs no picked object."""
    import bpy

    from .panel_recorder import draw_all

    scene, _, _ = configured
    props = scene.ltx_scene
    props.control_kind = "tracks"
    props.mask_source = "NONE"
    snapshot = installed_addon.module("settings").snapshot
    with pytest.raises(Exception, match="Camera Anchors"):  # no target and no anchors
        snapshot(bpy.context)
    shown, _, _ = draw_all(installed_addon, bpy.context)
    assert "camera_anchors" in shown and "camera_anchor_count" not in shown
    props.camera_anchors = True
    shown, _, _ = draw_all(installed_addon, bpy.context)
    assert {"camera_anchor_count", "anchor_spacing", "anchor_reseed"} <= shown
    c = snapshot(bpy.context).capture
    assert (c.track_targets, c.camera_anchors, c.anchor_spacing, c.anchor_reseed) == ((), 64, 0.0, True)
    props.camera_anchor_count, props.anchor_spacing, props.anchor_reseed = 12, 30.0, False
    c = snapshot(bpy.context).capture
    assert (c.camera_anchors, c.anchor_spacing, c.anchor_reseed) == (12, 30.0, False)
    props.camera_anchors = False
    props.track_targets.add().object = scene.objects["Hero"]
    assert snapshot(bpy.context).capture.camera_anchors == 0
