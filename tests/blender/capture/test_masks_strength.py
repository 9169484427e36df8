"""Masks cover the chosen object (and only it); the attention strength is read per frame."""

from __future__ import annotations

import bpy
import numpy as np
import pytest

from blender_addon.capture import CaptureSettings, capture_package
from tools.scenes.basic import add_camera, add_plane, analytic_projection, setup_render

pytestmark = pytest.mark.bpy_compat  # also run under bpy 4.2 and 4.5 LTS

W, H = 256, 128  # mask at the reference size: 128 x 64


def _scene():
    scene = bpy.context.scene
    setup_render(scene, W, H, 1, 9)
    add_camera(scene)
    target = add_plane(scene, "Target", 1.0, (0.6, 0.0, 1.2))
    target.keyframe_insert("location", frame=1)
    target.location = (0.2, 0.0, 1.2)
    target.keyframe_insert("location", frame=9)
    add_plane(scene, "Other", 1.0, (-1.0, 0.0, 0.8))
    add_plane(scene, "InFront", 0.6, (0.2, -2.0, 1.2))  # hides part of the target
    from tools.scenes.humanoid import _linear

    _linear(target)
    return scene


def _rect(center, w, h):
    x, y, z = center
    u0, v0 = analytic_projection((x - 0.5, y, z + 0.5), w, h)
    u1, v1 = analytic_projection((x + 0.5, y, z - 0.5), w, h)
    uc, vc = np.arange(w) + 0.5, np.arange(h) + 0.5
    inside = (uc[None] > u0 + 1) & (uc[None] < u1 - 1) & (vc[:, None] > v0 + 1) & (vc[:, None] < v1 - 1)
    outside = (uc[None] < u0 - 1) | (uc[None] > u1 + 1) | (vc[:, None] < v0 - 1) | (vc[:, None] > v1 + 1)
    return inside, outside


@pytest.mark.parametrize("how", ["objects", "collection"])
def test_mask_covers_the_chosen_object(empty_scene, monkeypatch, how):
    monkeypatch.setenv("LTX_SCENE_RENDER_PROBE", "off")
    scene = _scene()
    if how == "objects":
        settings = CaptureSettings(kind="depth", mask_objects=("Target",))
    else:
        coll = bpy.data.collections.new("Hero")
        scene.collection.children.link(coll)
        coll.objects.link(bpy.data.objects["Target"])
        settings = CaptureSettings(kind="depth", mask_collection="Hero")
    pkg = capture_package(scene, settings)
    assert pkg.mask.shape == (9, 64, 128) and pkg.mask.dtype == np.float32
    assert set(np.unique(pkg.mask)) == {0.0, 1.0}
    for i, frame in enumerate((1, 5, 9)):
        x = 0.6 - 0.4 * (frame - 1) / 8
        inside, outside = _rect((x, 0.0, 1.2), 128, 64)
        m = pkg.mask[frame - 1]
        assert inside.sum() > 50
        assert (m[inside] == 1).all() and (m[outside] == 0).all()
    # the depth of the same package still sees the occluder and the other plane
    assert np.isfinite(pkg.depth[0]).sum() > pkg.mask[0].sum()


def test_unknown_mask_object_is_refused(empty_scene, monkeypatch):
    monkeypatch.setenv("LTX_SCENE_RENDER_PROBE", "off")
    from blender_addon.shared.errors import UserError

    with pytest.raises(UserError, match="no object named 'Nope'"):
        capture_package(_scene(), CaptureSettings(kind="depth", mask_objects=("Nope",)))


class _Props(bpy.types.PropertyGroup):
    attention_strength: bpy.props.FloatProperty(default=1.0, min=0.0, max=1.0)


@pytest.fixture
def strength_property():
    """The add-on's `scene.ltx_scene.attention_strength` (registered here unless the add-on is)."""
    own = not hasattr(bpy.types.Scene, "ltx_scene")
    if own:
        bpy.utils.register_class(_Props)
        bpy.types.Scene.ltx_scene = bpy.props.PointerProperty(type=_Props)
    yield
    if own:
        del bpy.types.Scene.ltx_scene
        bpy.utils.unregister_class(_Props)


def test_keyframed_attention_strength_is_captured(empty_scene, strength_property):
    from tools.scenes.basic import build_track_scene

    scene = build_track_scene(64, 64, frames=17)
    props = scene.ltx_scene
    props.attention_strength = 0.0
    props.keyframe_insert("attention_strength", frame=1)
    props.attention_strength = 1.0
    props.keyframe_insert("attention_strength", frame=9)
    for fc in (
        scene.animation_data.action.layers[0].strips[0].channelbags[0].fcurves
        if bpy.app.version >= (5, 0, 0)
        else scene.animation_data.action.fcurves
    ):
        for kp in fc.keyframe_points:
            kp.interpolation = "LINEAR"
    pkg = capture_package(scene, CaptureSettings(kind="tracks", track_targets=("Cube",)))
    expected = np.minimum(1.0, np.arange(17) / 8.0).astype(np.float32)
    np.testing.assert_allclose(pkg.attention_strength, expected, atol=1e-6)


def test_strength_defaults_to_one(empty_scene):
    from tools.scenes.basic import build_track_scene

    scene = build_track_scene(64, 64, frames=9)
    pkg = capture_package(scene, CaptureSettings(kind="tracks", track_targets=("Cube",)))
    assert (pkg.attention_strength == 1.0).all()


def test_mask_of_a_skinned_mesh_follows_the_armature(empty_scene, monkeypatch):
    """The body mesh is rendered without its armature in the scene; it must still be deformed."""
    monkeypatch.setenv("LTX_SCENE_RENDER_PROBE", "off")
    from tools.scenes.demo import build_demo_scene

    scene = build_demo_scene(frames=9, width=256, height=128)
    pose = capture_package(scene, CaptureSettings(kind="pose"))
    mask = capture_package(scene, CaptureSettings(kind="pose", mask_objects=("Armature_Body",), depth_size="full")).mask
    for i in (0, 8):
        ys, xs = np.nonzero(mask[i])
        body = pose.pose_body[i, 0]
        kp = body[body[:, 2] > 0, :2]
        # every body keypoint (joints inside the boxes) lies within the silhouette's bounding box
        assert xs.min() - 1 <= kp[:, 0].min() and kp[:, 0].max() <= xs.max() + 1
        assert ys.min() - 1 <= kp[:, 1].min() and kp[:, 1].max() <= ys.max() + 1
        # and the silhouette is not much larger than the skeleton (no rest-pose copy elsewhere)
        assert xs.max() - xs.min() < 2 * (kp[:, 0].max() - kp[:, 0].min()) + 8
