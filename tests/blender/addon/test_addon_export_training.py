"""Export Training Pairs from the panel: target render, control and mask videos of one shape, a
dataset.jsonl row with `video_mask`, and the user's scene left exactly as it was."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shared import training_dataset as td

from .small_scene import build_tracks_scene

pytestmark = pytest.mark.slow


def _decode(path):
    import av  # not at module level: the Blender LTS environments (bpy_compat runs) have no PyAV

    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def _render_state(scene):
    r = scene.render
    return (
        r.engine,
        r.resolution_x,
        r.resolution_y,
        r.resolution_percentage,
        r.filepath,
        r.image_settings.file_format,
        r.use_sequencer,
        scene.frame_start,
        scene.frame_end,
        scene.frame_current,
        scene.cycles.samples,
    )


def test_export_training_operator_writes_pairs_with_a_mask(fresh_scene, installed_addon, tmp_path, monkeypatch):
    import bpy

    monkeypatch.setenv("LTX_SCENE_RENDER_PROBE", "off")  # capture's AUTO engine: Cycles everywhere
    scene = build_tracks_scene(frames=10, size=128, prompt="a box and a ball")
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 1
    scene.render.filepath = "//my_renders/"
    scene.frame_current = 5
    bpy.ops.mesh.primitive_cube_add(size=2.0, location=(0.0, 0.0, 0.0))
    cube = bpy.context.active_object
    sun = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    sun.rotation_euler = (0.3, 0.2, 0.0)
    scene.collection.objects.link(sun)
    props = scene.ltx_scene
    props.mask_source = "OBJECT"
    props.mask_object = cube
    before = _render_state(scene)
    scenes_before = sorted(s.name for s in bpy.data.scenes)

    out = tmp_path / "training"
    assert bpy.ops.ltx_scene.export_training(directory=str(out)) == {"FINISHED"}

    assert _render_state(scene) == before
    assert sorted(s.name for s in bpy.data.scenes) == scenes_before
    rows = td.read_rows(out / "dataset.jsonl")
    assert len(rows) == 1
    row = rows[0]
    assert row["caption"] == "a box and a ball"
    assert set(row) == {"caption", "video", "reference_video", "video_mask"}
    target, control, mask = (_decode(out / row[k]) for k in ("video", "reference_video", "video_mask"))
    assert target.shape == control.shape == mask.shape == (9, 128, 128, 3)  # 10 frames cut to 9
    # the cube sits in the middle of the frame: white there, black in the corners
    assert mask[:, 60:68, 60:68].min() == 255 and mask[:, :8, :8].max() == 0
    assert target[:, 60:68, 60:68].mean() > target[:, :8, :8].mean() + 50  # the render shows the lit cube
    td.check_dataset(out / "dataset.jsonl", probe=lambda p: (len(_decode(p)), *_decode(p).shape[2:0:-1]))
    record = json.loads((out / "export_training.json").read_text())
    assert record["kind"] == "tracks" and record["rows"][row["video"]]["frames"] == [1, 9]
