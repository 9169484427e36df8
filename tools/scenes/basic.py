"""Small procedural scenes with exactly known geometry, for capture tests.

Each builder resets nothing: call it on an empty scene (`read_factory_settings(use_empty=True)`).
The test camera sits at CAMERA_LOCATION looking along +Y (rotation 90 degrees about X), 50 mm lens
on a 36 mm sensor, so a point (x, y, z) lands at
    u = W/2 + f * x / (y - cy),  v = H/2 - f * (z - cz) / (y - cy),  f = 50 / 36 * W  (W >= H).
"""

from __future__ import annotations

import math

import bpy

CAMERA_LOCATION = (0.0, -6.0, 1.0)
LENS_MM = 50.0
SENSOR_MM = 36.0


def add_camera(scene, location=CAMERA_LOCATION, rotation=(math.pi / 2, 0.0, 0.0), lens=LENS_MM, name="Camera"):
    data = bpy.data.cameras.new(name)
    data.lens = lens
    data.sensor_width = SENSOR_MM
    data.sensor_fit = "AUTO"
    data.clip_start, data.clip_end = 0.1, 100.0
    cam = bpy.data.objects.new(name, data)
    cam.location = location
    cam.rotation_euler = rotation
    scene.collection.objects.link(cam)
    scene.camera = cam
    return cam


def analytic_projection(point, width, height, camera=CAMERA_LOCATION, lens=LENS_MM):
    """Pixel (u, v) of a world point for the test camera (looking along +Y, W >= H)."""
    x, y, z = point
    cx, cy, cz = camera
    f = lens / SENSOR_MM * width
    d = y - cy
    return width / 2 + f * (x - cx) / d, height / 2 - f * (z - cz) / d


def setup_render(scene, width, height, frame_start=1, frame_end=9, fps=24):
    scene.render.resolution_x, scene.render.resolution_y = width, height
    scene.render.resolution_percentage = 100
    scene.frame_start, scene.frame_end = frame_start, frame_end
    scene.render.fps, scene.render.fps_base = fps, 1.0


def _mesh_object(scene, name, verts, faces, location=(0.0, 0.0, 0.0)):
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(verts, [], faces)
    ob = bpy.data.objects.new(name, mesh)
    ob.location = location
    scene.collection.objects.link(ob)
    return ob


def add_plane(scene, name, size, location):
    """A square facing the test camera (in the XZ plane), `size` metres wide, centred at location."""
    h = size / 2
    return _mesh_object(scene, name, [(-h, 0, -h), (h, 0, -h), (h, 0, h), (-h, 0, h)], [(0, 1, 2, 3)], location)


def add_box(scene, name, size, location):
    h = size / 2
    v = [(x, y, z) for z in (-h, h) for y in (-h, h) for x in (-h, h)]
    f = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    return _mesh_object(scene, name, v, f, location)


PLANE_SIZE = 1.0


def build_plane_scene(distance=4.0, width=64, height=36, frames=9):
    """The test camera facing a PLANE_SIZE square plane at `distance` along +Y, centred on the view
    axis: depth = distance where the plane is, background (+inf) around it."""
    scene = bpy.context.scene
    setup_render(scene, width, height, 1, frames)
    add_camera(scene)
    add_plane(scene, "Plane", PLANE_SIZE, (0.0, CAMERA_LOCATION[1] + distance, CAMERA_LOCATION[2]))
    return scene


def build_track_scene(width=128, height=72, frames=9):
    """An empty and a cube moving on linear keys in front of the test camera; a third object
    passes behind the camera. Returns the scene; positions: `track_position(name, frame)`."""
    scene = bpy.context.scene
    setup_render(scene, width, height, 1, frames)
    add_camera(scene)
    empty = bpy.data.objects.new("Marker", None)
    scene.collection.objects.link(empty)
    cube = add_box(scene, "Cube", 0.5, (0, 0, 0))
    ghost = bpy.data.objects.new("Ghost", None)
    scene.collection.objects.link(ghost)
    for ob in (empty, cube, ghost):
        for frame in (1, frames):
            ob.location = track_position(ob.name, frame, frames)
            ob.keyframe_insert("location", frame=frame)
        from .humanoid import _linear

        _linear(ob)
    return scene


def track_position(name, frame, frames=9):
    t = (frame - 1) / (frames - 1)
    if name == "Marker":
        return (-1.5 + 3.0 * t, 0.0, 1.0 + 0.5 * t)
    if name == "Cube":
        return (1.0, 2.0 - 6.5 * t, 0.5)
    if name == "Ghost":  # from in front of the camera to behind it
        return (0.0, -4.0 - 4.5 * t, 1.0)
    raise KeyError(name)
