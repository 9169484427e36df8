"""Camera anchors captured from a static set against an analytic pinhole camera and ray tracer.

The set (tools/scenes/static_set.py) is axis-aligned boxes and planes, and the camera moves on
linear keys with known location and Euler rotation, so this file computes everything it checks
without Blender: the camera at each frame, the pixel of a 3D point, the 3D point under a pixel
(the first box a ray hits) and whether anything hides a point. For every anchor track of the
captured package:
- it is one run of frames (a track never resumes after ending), off-canvas elsewhere;
- the 3D point under its first pixel lies on static geometry, and its pixels in every frame of the
  run are that point's analytic projection within 0.5 px;
- in every frame of the run the point is on the frame and nothing hides it; in the frame where the
  track ends it has left the frame or is hidden (tracks do not end early).
"""

from __future__ import annotations

import numpy as np
import pytest

from blender_addon.capture import CaptureSettings, capture_package
from blender_addon.shared.camera_anchors import anchor_rules
from blender_addon.shared.errors import UserError
from blender_addon.shared.tracks_json import OFF_CANVAS, dump_tracks_json, load_tracks_json
from tools.scenes.static_set import CAMERA_KEYS, LENS, MOVING_BOX, SET, build_static_set, moving_box_centre

pytestmark = pytest.mark.bpy_compat  # also run under bpy 4.2 and 4.5 LTS

W, H, F = 256, 128, 17  # a size the capture does not snap (multiples of 64)
SENSOR = 36.0
TOLERANCE_PX = 0.5


# ------------------------------------------------------------------ the analytic camera and set
def _camera(move, i):
    """(location, 3x3 rotation) of the camera at package frame i (linear keys, Euler XYZ)."""
    (loc0, rot0), (loc1, rot1) = CAMERA_KEYS[move]
    t = i / (F - 1)
    loc = (1 - t) * np.array(loc0) + t * np.array(loc1)
    rx, ry, rz = (1 - t) * np.array(rot0) + t * np.array(rot1)
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    rot_x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    rot_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rot_z = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return loc, rot_z @ rot_y @ rot_x


def _project(point, move, i, ortho=None):
    """Pixel (x, y) of a world point and whether it is in front (the camera looks down its -Z).
    `ortho`: the orthographic scale (metres across the width), else perspective."""
    loc, rot = _camera(move, i)
    c = rot.T @ (np.asarray(point) - loc)
    depth = -c[2]
    if ortho:
        return np.array([W / 2 + W * c[0] / ortho, H / 2 - W * c[1] / ortho]), depth > 0
    f = LENS / SENSOR * W  # sensor fit AUTO, W >= H: the sensor width spans the image width
    return np.array([W / 2 + f * c[0] / depth, H / 2 - f * c[1] / depth]), depth > 0


def _ray(px, move, i, ortho=None):
    """Origin and unit direction of the camera ray through pixel px in frame i."""
    loc, rot = _camera(move, i)
    if ortho:
        offset = np.array([(px[0] - W / 2) * ortho / W, -(px[1] - H / 2) * ortho / W, 0.0])
        return loc + rot @ offset, rot @ np.array([0.0, 0.0, -1.0])
    f = LENS / SENSOR * W
    d = rot @ np.array([(px[0] - W / 2) / f, -(px[1] - H / 2) / f, -1.0])
    return loc, d / np.linalg.norm(d)


def _boxes(move, i):
    boxes = {name: (np.array(lo), np.array(hi)) for name, (lo, hi) in SET.items()}
    if move == "still":
        centre = np.array(moving_box_centre(i / (F - 1)))
        boxes["MovingBox"] = (centre - MOVING_BOX / 2, centre + MOVING_BOX / 2)
    return boxes


def _first_hit(origin, direction, boxes):
    """(distance, box name) of the first box the ray hits (slab method), or (inf, None)."""
    best, name = np.inf, None
    for key, (lo, hi) in boxes.items():
        t_min, t_max = 0.0, np.inf
        for a in range(3):
            if abs(direction[a]) < 1e-15:
                if not lo[a] <= origin[a] <= hi[a]:
                    break
                continue
            t1, t2 = (lo[a] - origin[a]) / direction[a], (hi[a] - origin[a]) / direction[a]
            t_min, t_max = max(t_min, min(t1, t2)), min(t_max, max(t1, t2))
        else:
            if t_min <= t_max and t_min < best:
                best, name = t_min, key
    return best, name


def _point_under(px, move, i, ortho=None):
    """The 3D point the camera sees at pixel px in frame i, and its box."""
    origin, d = _ray(px, move, i, ortho)
    dist, name = _first_hit(origin, d, _boxes(move, i))
    return origin + dist * d, name


def _hidden(point, move, i, ortho=None):
    """Something lies between the camera and the point (on the camera ray through it)."""
    origin, d = _ray(_project(point, move, i, ortho)[0], move, i, ortho)
    dist = np.linalg.norm(point - origin)
    hit, _ = _first_hit(origin, d, _boxes(move, i))
    return hit < dist * (1 - 1e-4)


def _on_frame(px, inset=0.0):
    """On the frame, `inset` px in from its edges (negative: out; a point on an edge is either)."""
    return inset <= px[0] < W - inset and inset <= px[1] < H - inset


# ------------------------------------------------------------------------------------- tests
def _capture(move, ortho=None, **kw):
    scene = build_static_set(move, W, H, F)
    if ortho:
        scene.camera.data.type, scene.camera.data.ortho_scale = "ORTHO", ortho
    return capture_package(scene, CaptureSettings(kind="tracks", camera_anchors=kw.pop("count", 48), **kw))


@pytest.mark.parametrize(
    "move, ortho", [("dolly", None), ("pan", None), ("truck", None), ("still", None), ("still", 3.0)]
)
def test_anchor_tracks_follow_the_analytic_projection(empty_scene, move, ortho):
    pkg = _capture(move, ortho)
    info = pkg.source["camera_anchors"]
    assert info["first_track"] == 0 and info["tracks"] == len(pkg.tracks) and info["count"] == 48
    assert info["static_objects"] == len(SET)  # the moving box is not one
    visible = pkg.tracks_visible
    assert visible[:, 0].sum() == 48 and visible.sum(axis=0).max() <= 48
    worst, ended, hidden_ends, late_starts = 0.0, 0, 0, 0
    for k in range(len(pkg.tracks)):
        frames = np.flatnonzero(visible[k])
        assert len(frames) and (np.diff(frames) == 1).all(), f"track {k} resumed: {frames}"
        start, end = int(frames[0]), int(frames[-1]) + 1
        assert (pkg.tracks[k, :start] == OFF_CANVAS).all() and (pkg.tracks[k, end:] == OFF_CANVAS).all()
        point, box = _point_under(pkg.tracks[k, start], move, start, ortho)
        assert box in SET, f"track {k} starts on {box}, not on static geometry"
        for i in range(start, end):
            px, in_front = _project(point, move, i, ortho)
            assert in_front and _on_frame(px, -1e-3) and not _hidden(point, move, i, ortho), (k, i)
            worst = max(worst, float(np.abs(px - pkg.tracks[k, i]).max()))
        if end < F:  # the track ended: its point left the frame or went behind something
            px, in_front = _project(point, move, end, ortho)
            off = not (in_front and _on_frame(px, 1e-3))
            assert off or _hidden(point, move, end, ortho), f"track {k} ended at frame {end} for no reason"
            ended += 1
            hidden_ends += not off
        late_starts += start > 0
    assert worst < TOLERANCE_PX, worst
    assert ended > 5 and late_starts > 5  # the move ends tracks and reseeding starts new ones
    if move in ("truck", "still"):  # a box passes in front of the wall: wall anchors end hidden
        assert hidden_ends > 0


def test_new_anchors_keep_their_spacing(empty_scene):
    pkg = _capture("pan", count=32, anchor_spacing=20.0)
    assert anchor_rules(32, 20.0, True, W, H).spacing == pkg.source["camera_anchors"]["spacing_px"]
    visible = pkg.tracks_visible
    starts = visible.argmax(axis=1)
    for i in range(F):
        live = pkg.tracks[visible[:, i], i]
        for p in pkg.tracks[(starts == i) & visible[:, i], i]:
            d = np.sqrt(((live - p) ** 2).sum(axis=1))
            assert np.sort(d)[1] >= 20.0 - 1e-3


def test_no_reseeding_keeps_the_first_anchors_only(empty_scene):
    pkg = _capture("pan", anchor_reseed=False)
    assert len(pkg.tracks) == 48 and pkg.tracks_visible[:, 0].all()
    assert pkg.tracks_visible[:, -1].sum() < 48


def test_anchors_join_the_object_tracks_and_export(empty_scene):
    scene = build_static_set("still", W, H, F)
    pkg = capture_package(scene, CaptureSettings(kind="tracks", track_targets=("MovingBox",), camera_anchors=16))
    assert pkg.source["camera_anchors"]["first_track"] == 1
    assert len(pkg.tracks) == 1 + pkg.source["camera_anchors"]["tracks"]
    np.testing.assert_allclose(pkg.tracks[0, 0], _project(moving_box_centre(0.0), "still", 0)[0], atol=0.01)
    points, visible = load_tracks_json(dump_tracks_json(pkg.tracks, pkg.tracks_visible))
    assert points.shape == pkg.tracks.shape
    np.testing.assert_array_equal(visible, pkg.tracks_visible)
    np.testing.assert_array_equal(points[visible], pkg.tracks[visible])


def test_static_objects_are_decided_by_evaluation(empty_scene):
    import bpy

    from blender_addon.capture.camera_anchors import static_objects
    from blender_addon.capture.package import _depsgraph

    scene = build_static_set("still", W, H, F)
    boxes = {}
    for name in ("Keyed", "Child", "Constrained", "Skinned", "Subdivided", "ShapeKeyed", "HiddenInRender"):
        mesh = bpy.data.meshes.new(name)
        mesh.from_pydata([(0, 0, 0), (1, 0, 0), (1, 0, 1), (0, 0, 1)], [], [(0, 1, 2, 3)])
        boxes[name] = bpy.data.objects.new(name, mesh)
        scene.collection.objects.link(boxes[name])
    mover = bpy.data.objects.new("Mover", None)
    scene.collection.objects.link(mover)
    for frame, x in ((1, 0.0), (F, 2.0)):
        mover.location.x = x
        mover.keyframe_insert("location", frame=frame)
        boxes["Keyed"].location.z = x
        boxes["Keyed"].keyframe_insert("location", frame=frame)
    boxes["Child"].parent = mover
    boxes["Constrained"].constraints.new("COPY_LOCATION").target = mover
    rig = bpy.data.objects.new("Rig", bpy.data.armatures.new("Rig"))
    scene.collection.objects.link(rig)
    boxes["Skinned"].modifiers.new("Armature", "ARMATURE").object = rig
    boxes["Subdivided"].modifiers.new("Subdivision", "SUBSURF")  # a modifier, but nothing changes
    shaped = boxes["ShapeKeyed"]
    shaped.shape_key_add(name="Basis")
    key = shaped.shape_key_add(name="Bulge")
    key.data[2].co.z = 3.0
    for frame, value in ((1, 0.0), (F, 1.0)):
        key.value = value
        key.keyframe_insert("value", frame=frame)
    boxes["HiddenInRender"].hide_render = True
    found = static_objects(scene, range(1, F + 1), _depsgraph)
    assert found == set(SET) | {"Subdivided"}


def test_nothing_static_in_view_is_a_clear_error(empty_scene):
    import bpy

    scene = build_static_set("still", W, H, F)
    for name in SET:
        bpy.data.objects.remove(bpy.data.objects[name])
    with pytest.raises(UserError, match="hit a static object") as exc:
        capture_package(scene, CaptureSettings(kind="tracks", camera_anchors=8))
    assert exc.value.field == "camera_anchors"
    with pytest.raises(UserError) as exc:
        capture_package(scene, CaptureSettings(kind="tracks", camera_anchors=8, anchor_spacing=1.0))
    assert exc.value.field == "anchor_spacing"
    with pytest.raises(UserError) as exc:
        capture_package(scene, CaptureSettings(kind="tracks"))
    assert exc.value.field == "track_targets"


def test_render_controls_camera_anchors_command(empty_scene, tmp_path):
    """`ltx-scene render-controls SET.blend --control tracks --camera-anchors N`: nothing in the set moves,
    so the tracks are the anchors alone; the frames are their raster."""
    import os
    import subprocess
    import sys

    import bpy

    from shared.package import ControlPackage
    from shared.png import read_png
    from shared.raster.tracks import draw_tracks
    from tests.conftest import REPO_ROOT

    build_static_set("pan", W, H, 9)
    blend = tmp_path / "set.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), copy=True)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), LTX_SCENE_RENDER_PROBE="off")
    cmd = [sys.executable, "-m", "backend.cli", "render-controls", str(blend), "--control", "tracks"]
    cmd += ["--camera-anchors", "20", "--anchor-spacing", "24", "--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "note: camera anchors:" in proc.stderr and "24 px apart" in proc.stderr
    pkg = ControlPackage.load(out / "control.npz")
    info = pkg.source["camera_anchors"]
    assert (info["first_track"], info["count"], info["spacing_px"], info["reseed"]) == (0, 20, 24.0, True)
    assert len(pkg.tracks) == info["tracks"] > 20 and pkg.tracks_visible[:, 0].sum() == 20
    frames = np.stack([read_png(p) for p in sorted((out / "frames").glob("frame_*.png"))])
    np.testing.assert_array_equal(frames, draw_tracks(pkg.tracks, pkg.tracks_visible, W, H))
    # without anchors and with nothing moving, the command says what to do
    cmd = cmd[: cmd.index("--camera-anchors")] + ["--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2 and "--camera-anchors N" in proc.stderr
