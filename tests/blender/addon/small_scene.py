"""A small scene for add-on tests: a camera looking down +Y at an empty moving left to right."""

from __future__ import annotations


def build_tracks_scene(
    frames: int = 17, size: int = 256, prompt: str = "a glowing ball rolls across a table", seed: int = 3
):
    """An empty file with that scene, the add-on's settings for a motion-tracks run at size x size."""
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    scene.frame_start, scene.frame_end = 1, frames
    scene.render.fps, scene.render.fps_base = 24, 1.0
    scene.render.resolution_x, scene.render.resolution_y = size, size
    cam = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    cam.location = (0.0, -10.0, 0.0)
    cam.rotation_euler = (1.5707963, 0.0, 0.0)
    scene.collection.objects.link(cam)
    scene.camera = cam
    ball = bpy.data.objects.new("Ball", None)
    scene.collection.objects.link(ball)
    for frame, x in ((1, -2.0), (frames, 2.0)):
        ball.location = (x, 0.0, 0.0)
        ball.keyframe_insert("location", frame=frame)
    props = scene.ltx_scene
    props.control_kind = "tracks"
    props.track_targets.add().object = ball
    props.prompt = prompt
    props.seed = seed
    props.size_preset = "CUSTOM"
    props.width = props.height = size
    props.keyframe_insert("attention_strength", frame=1)
    return scene
