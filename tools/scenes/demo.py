"""The demo scene: a walking humanoid (meta-rig bone names, body mesh bound to it), a ball on a
circular path, a moving camera that follows the character; 121 frames at 24 fps, 1024x576.
Used by the capture tests, the add-on tests, `make demo` and the capture benchmark."""

from __future__ import annotations

import math

import bpy

from .basic import add_box, add_plane, setup_render
from .humanoid import add_humanoid, key_walk

FRAMES = 121
WIDTH, HEIGHT = 1024, 576


def build_demo_scene(frames: int = FRAMES, width: int = WIDTH, height: int = HEIGHT):
    """Build into the current (ideally empty) scene and return it."""
    scene = bpy.context.scene
    setup_render(scene, width, height, 1, frames, fps=24)
    # Ground and a back wall, so depth has structure.
    ground = add_plane(scene, "Ground", 30.0, (0.0, 0.0, 0.0))
    ground.rotation_euler = (math.pi / 2, 0.0, 0.0)
    add_plane(scene, "Wall", 30.0, (0.0, 8.0, 15.0))
    add_box(scene, "Crate", 0.8, (1.8, 1.5, 0.4))

    arm = add_humanoid(scene, "Armature", with_mesh=True)
    key_walk(arm, 1, frames, speed=0.6)

    # A ball following a circle around the walker's path (Follow Path, animated offset).
    bpy.ops.curve.primitive_bezier_circle_add(radius=2.0, location=(0.0, -1.5, 0.6))
    path = bpy.context.active_object
    path.name = "BallPath"
    ball = add_box(scene, "Ball", 0.3, (0.0, 0.0, 0.0))
    con = ball.constraints.new("FOLLOW_PATH")
    con.target = path
    con.use_fixed_location = True
    con.offset_factor = 0.0
    con.keyframe_insert("offset_factor", frame=1)
    con.offset_factor = 1.0
    con.keyframe_insert("offset_factor", frame=frames)
    ball["ltx_track"] = True

    # A camera dollying sideways while tracking the walker's hips.
    cam_data = bpy.data.cameras.new("Camera")
    cam_data.lens = 35.0
    cam = bpy.data.objects.new("Camera", cam_data)
    scene.collection.objects.link(cam)
    scene.camera = cam
    cam.location = (4.0, -9.0, 1.6)
    cam.keyframe_insert("location", frame=1)
    cam.location = (-3.0, -10.0, 1.8)
    cam.keyframe_insert("location", frame=frames)
    aim = cam.constraints.new("TRACK_TO")
    aim.target = arm
    aim.subtarget = "spine.002"
    aim.track_axis = "TRACK_NEGATIVE_Z"
    aim.up_axis = "UP_Y"

    light = bpy.data.objects.new("Sun", bpy.data.lights.new("Sun", "SUN"))
    light.rotation_euler = (0.6, 0.2, 0.4)
    scene.collection.objects.link(light)
    colour_objects(scene, DEMO_COLOURS)
    scene.frame_set(1)
    return scene


# Distinct colours (and so distinct brightness in a quick render) for the demo's objects: one grey
# for everything leaves the character grey on a grey wall, and the canny source nearly empty.
DEMO_COLOURS = {
    "Ground": (0.10, 0.16, 0.09),
    "Wall": (0.80, 0.74, 0.62),
    "Crate": (0.55, 0.30, 0.10),
    "Ball": (0.85, 0.08, 0.05),
    "Armature_Body": (0.08, 0.16, 0.55),
}


def colour_objects(scene, colours: dict) -> None:
    """One flat material per named mesh (Workbench reads `diffuse_color`, Cycles the BSDF)."""
    for name, rgb in colours.items():
        ob = scene.objects.get(name)
        if ob is None or ob.type != "MESH":
            continue
        mat = bpy.data.materials.new(f"Demo {name}")
        mat.diffuse_color = (*rgb, 1.0)
        tree = getattr(mat, "node_tree", None)
        bsdf = tree.nodes.get("Principled BSDF") if tree is not None else None
        if bsdf is not None:
            bsdf.inputs["Base Color"].default_value = (*rgb, 1.0)
        ob.data.materials.clear()
        ob.data.materials.append(mat)
