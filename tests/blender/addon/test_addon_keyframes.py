"""Keyframe looks in the add-on: timeline markers (or image files) -> the spec's keyframes at job
frames, refusals in scene frames, and the look rendered with the scene's own engine with every
render setting of the user's scene put back."""

from __future__ import annotations

import numpy as np
import pytest

from shared.png import read_png, write_png  # not PIL: the Blender LTS environments (bpy_compat runs) have none

pytestmark = pytest.mark.bpy_compat


@pytest.fixture
def scene17(fresh_scene, installed_addon, tmp_path):
    """Frames 101-117 (17), 128x128, a camera looking at a cube; Cycles at 1 sample is its look."""
    import bpy

    scene = fresh_scene
    scene.frame_start, scene.frame_end = 101, 117
    scene.render.fps, scene.render.fps_base = 24, 1.0
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    cam.location, cam.rotation_euler = (0.0, -6.0, 0.0), (1.5707963, 0.0, 0.0)
    scene.collection.objects.link(cam)
    scene.camera = cam
    mesh = bpy.data.meshes.new("Cube")
    mesh.from_pydata(
        [(x, y, z) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)],
        [],
        [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)],
    )
    cube = bpy.data.objects.new("Cube", mesh)
    scene.collection.objects.link(cube)
    world = bpy.data.worlds.new("World")
    world.color = (0.8, 0.3, 0.1)
    if getattr(world, "node_tree", None) is None and hasattr(world, "use_nodes"):
        world.use_nodes = True
    background = world.node_tree.nodes.get("Background") if world.node_tree is not None else None
    if background is not None:
        background.inputs["Color"].default_value = (0.8, 0.3, 0.1, 1.0)
    scene.world = world
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 1
    scene.cycles.device = "CPU"
    props = scene.ltx_scene
    props.control_kind = "depth"
    props.prompt = "a cube"
    props.size_preset = "CUSTOM"
    props.width = props.height = 128
    prefs = bpy.context.preferences.addons[installed_addon.module_name].preferences
    prefs.output_dir = str(tmp_path / "out")
    yield scene
    prefs.output_dir = ""


def _settings(installed_addon):
    import bpy

    return installed_addon.module("settings").snapshot(bpy.context)


def test_markers_in_the_range_become_keyframes_at_job_frames(scene17, installed_addon):
    scene = scene17
    scene.timeline_markers.new("Look B", frame=110)
    scene.timeline_markers.new("Look A", frame=102)
    scene.timeline_markers.new("Other shot", frame=300)  # outside the frames: another shot's
    props = scene.ltx_scene
    props.keyframe_source = "MARKERS"
    props.keyframe_strength = 0.8
    settings = _settings(installed_addon)
    assert settings.spec["keyframes"] == [{"frame": 1, "strength": 0.8}, {"frame": 9, "strength": 0.8}]
    assert [(k.scene_frame, k.label, k.image_path) for k in settings.keyframes] == [
        (102, "Look A", None),
        (110, "Look B", None),
    ]
    assert [k["scene_frame"] for k in settings.parameters()["keyframes"]] == [102, 110]


def test_markers_between_latent_frames_and_on_the_last_frame_are_used(scene17, installed_addon):
    """Any frame of the clip can take an image, as in the official pipelines (the last one too)."""
    scene17.timeline_markers.new("Mid", frame=106)
    scene17.timeline_markers.new("End", frame=117)
    scene17.ltx_scene.keyframe_source = "MARKERS"
    assert _settings(installed_addon).spec["keyframes"] == [
        {"frame": 5, "strength": 1.0},
        {"frame": 16, "strength": 1.0},
    ]


def test_an_image_outside_the_frames_is_refused_in_scene_frames(scene17, installed_addon, tmp_path):
    path = tmp_path / "late.png"
    write_png(path, np.full((32, 32, 3), 50, np.uint8))
    props = scene17.ltx_scene
    props.keyframe_source = "LIST"
    entry = props.keyframe_images.add()
    entry.frame, entry.image = 130, str(path)
    with pytest.raises(Exception, match="keyframes: ") as info:
        _settings(installed_addon)
    message = str(info.value)
    assert "image 'late.png' at frame 130 is outside the job's frames 101..117" in message
    assert "the nearest valid frame is 117" in message


def test_a_keyframe_on_the_first_frame_with_a_first_frame_image_is_refused(scene17, installed_addon):
    scene17.timeline_markers.new("Start", frame=101)
    props = scene17.ltx_scene
    props.keyframe_source = "MARKERS"
    props.first_frame_source = "RENDER"
    with pytest.raises(Exception, match="on the first frame .* a First Frame image is set too"):
        _settings(installed_addon)
    props.first_frame_source = "NONE"
    assert _settings(installed_addon).spec["keyframes"] == [{"frame": 0, "strength": 1.0}]


def test_image_files_at_chosen_frames(scene17, installed_addon, tmp_path):
    path = tmp_path / "look.png"
    write_png(path, np.full((32, 32, 3), 50, np.uint8))
    props = scene17.ltx_scene
    props.keyframe_source = "LIST"
    entry = props.keyframe_images.add()
    entry.frame, entry.image = 110, str(path)
    settings = _settings(installed_addon)
    assert settings.spec["keyframes"] == [{"frame": 9, "strength": 1.0}]
    assert settings.keyframes[0].image_path == str(path)
    entry.image = str(tmp_path / "missing.png")
    with pytest.raises(Exception, match="does not exist"):
        _settings(installed_addon)


def test_the_look_is_rendered_with_the_scenes_engine_and_its_settings_restored(scene17, installed_addon, tmp_path):
    import bpy

    scene = scene17
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 640, 360, 50
    scene.render.filepath = "//renders/shot_"
    scene.render.image_settings.file_format = "JPEG"
    scene.frame_set(105)
    scene.timeline_markers.new("Look", frame=110)
    scene.ltx_scene.keyframe_source = "MARKERS"
    settings = _settings(installed_addon)

    def snapshot():
        return {
            "res": (scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage),
            "path": scene.render.filepath,
            "format": scene.render.image_settings.file_format,
            "range": (scene.frame_start, scene.frame_end),
            "engine": scene.render.engine,
            "images": sorted(i.name for i in bpy.data.images),
        }

    before = snapshot()
    render = installed_addon.module("capture.keyframe_render")
    (path,) = render.render_keyframe_looks(scene, settings.keyframes, 128, 128, str(tmp_path / "job"))
    assert path.endswith("keyframe_0110.png")
    pixels = read_png(path)
    assert pixels.shape == (128, 128, 3)
    # the scene's world colour (orange) around the cube: the scene's own look, not a capture pass
    corner = pixels[2, 2].astype(int)
    assert corner[0] > corner[2] + 40, corner
    assert snapshot() == before
    assert scene.frame_current == 105


def test_regenerate_sends_the_same_keyframe_images(scene17, installed_addon, tmp_path):
    import bpy

    scene17.timeline_markers.new("Look", frame=110)
    scene17.ltx_scene.keyframe_source = "MARKERS"
    settings = _settings(installed_addon)
    params = settings.parameters()
    control, image = tmp_path / "control.npz", tmp_path / "keyframe_0110.png"
    control.write_bytes(b"stored package")
    image.write_bytes(b"the rendered look")
    params["control"] = str(control)
    params["keyframes"][0]["image"] = str(image)  # what the job recorded for the strip
    regenerate = installed_addon.module("operators.regenerate")
    again = regenerate.settings_from(bpy.context, params, seed=7)
    assert again.spec["keyframes"] == settings.spec["keyframes"] == [{"frame": 9, "strength": 1.0}]
    assert [(k.scene_frame, k.job_frame, k.image_path) for k in again.keyframes] == [(110, 9, str(image))]
    image.unlink()
    with pytest.raises(Exception, match="keyframe image .* is gone"):
        regenerate.settings_from(bpy.context, params, seed=8)
