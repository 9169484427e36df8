"""A static set for camera-anchor tests: a floor, a back wall and boxes, all axis-aligned, and a
camera that moves on linear keys. The geometry is listed in `SET` (and the moving box in
`moving_box_centre`) so a test can trace rays through it without Blender.

Camera moves (`CAMERA_KEYS`: location and XYZ Euler rotation at the first and the last frame):
- "dolly": forward along +Y, looking slightly down;
- "pan": standing still, turning about Z from left to right;
- "truck": sliding sideways along X close to a box in front of the wall (the box hides wall
  points as the view shifts);
- "still": not moving, with a box keyframed across in front of the wall ("MovingBox", not static).
The camera: 50 mm lens, 36 mm sensor width, sensor fit AUTO.
"""

from __future__ import annotations

import math

import bpy

from .basic import LENS_MM, add_camera, setup_render
from .humanoid import _linear

# name -> (min corner, max corner); planes are boxes of zero thickness
SET = {
    "Floor": ((-12.0, -12.0, 0.0), (12.0, 20.0, 0.0)),
    "Wall": ((-12.0, 6.0, 0.0), (12.0, 6.0, 8.0)),
    "BoxA": ((-2.2, 1.0, 0.0), (-1.2, 2.0, 1.0)),
    "BoxB": ((0.6, 3.0, 0.0), (2.1, 4.5, 1.5)),
    "BoxC": ((-0.5, 4.4, 0.5), (0.5, 5.4, 1.5)),  # in front of the wall, off the floor
}
TILT = math.radians(80.0)  # rotation about X: 90 degrees looks along +Y; a bit less looks down
CAMERA_KEYS = {
    "dolly": (((0.0, -6.0, 1.5), (TILT, 0.0, 0.0)), ((0.0, -3.5, 1.5), (TILT, 0.0, 0.0))),
    "pan": (((0.0, -6.0, 1.5), (TILT, 0.0, 0.35)), ((0.0, -6.0, 1.5), (TILT, 0.0, -0.35))),
    "truck": (((-1.5, -1.5, 1.0), (math.pi / 2, 0.0, 0.0)), ((1.5, -1.5, 1.0), (math.pi / 2, 0.0, 0.0))),
    "still": (((0.0, 0.0, 1.0), (math.pi / 2, 0.0, 0.0)), ((0.0, 0.0, 1.0), (math.pi / 2, 0.0, 0.0))),
}
MOVING_BOX = 0.4  # size of the box that crosses the "still" view
LENS = LENS_MM


def moving_box_centre(t: float) -> tuple[float, float, float]:
    """Centre of "MovingBox" at t in [0, 1] (first to last frame): across the view, in front of the wall."""
    return (-1.5 + 3.0 * t, 2.5, 0.8)


def _box(scene, name, lo, hi):
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    if z0 == z1:  # a horizontal plane
        verts = [(x0, y0, z0), (x1, y0, z0), (x1, y1, z0), (x0, y1, z0)]
        faces = [(0, 1, 2, 3)]
    elif y0 == y1:  # a vertical plane facing -Y
        verts = [(x0, y0, z0), (x1, y0, z0), (x1, y0, z1), (x0, y0, z1)]
        faces = [(0, 1, 2, 3)]
    else:
        verts = [(x, y, z) for z in (z0, z1) for y in (y0, y1) for x in (x0, x1)]
        faces = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts, [], faces)
    ob = bpy.data.objects.new(name, mesh)
    scene.collection.objects.link(ob)
    return ob


def build_static_set(move: str = "dolly", width: int = 256, height: int = 128, frames: int = 17):
    """Build into the current (empty) scene; returns the scene."""
    scene = bpy.context.scene
    setup_render(scene, width, height, 1, frames)
    for name, (lo, hi) in SET.items():
        _box(scene, name, lo, hi)
    (loc0, rot0), (loc1, rot1) = CAMERA_KEYS[move]
    cam = add_camera(scene, location=loc0, rotation=rot0)
    cam.data.clip_end = 200.0
    for frame, loc, rot in ((1, loc0, rot0), (frames, loc1, rot1)):
        cam.location, cam.rotation_euler = loc, rot
        cam.keyframe_insert("location", frame=frame)
        cam.keyframe_insert("rotation_euler", frame=frame)
    _linear(cam)
    if move == "still":
        h = MOVING_BOX / 2
        box = _box(scene, "MovingBox", (-h, -h, -h), (h, h, h))
        for frame, t in ((1, 0.0), (frames, 1.0)):
            box.location = moving_box_centre(t)
            box.keyframe_insert("location", frame=frame)
        _linear(box)
    scene.frame_set(1)
    return scene
