"""The scene camera as a projection to output pixels, and its description for the package.

Points go world -> camera view -> clip space with the camera's own projection for the *generation*
size (`Object.calc_matrix_camera`, which honours lens, sensor fit and shift), so the capture never
has to change the scene's render resolution. Pixels: origin top-left, x right, y down; a point is
"behind" when its view-space z is not in front of the camera (Blender cameras look down -Z).
"""

from __future__ import annotations

import numpy as np

from ..shared.errors import UserError


def scene_camera(scene):
    cam = scene.camera
    if cam is None or cam.type != "CAMERA":
        raise UserError(
            f"camera: scene '{scene.name}' has no active camera; add a camera and make "
            "it the scene camera (Scene properties > Camera)",
            "camera",
        )
    return cam


class Projector:
    """Projects world-space points through the camera at the current frame (call `update` after
    every `frame_set`)."""

    def __init__(self, scene, width: int, height: int):
        self.scene = scene
        self.camera = scene_camera(scene)
        self.width = int(width)
        self.height = int(height)
        self.update()

    def update(self, depsgraph=None):
        depsgraph = depsgraph or _depsgraph(self.scene)
        cam_eval = self.camera.evaluated_get(depsgraph)
        proj = cam_eval.calc_matrix_camera(depsgraph, x=self.width, y=self.height)
        self.view = np.array(cam_eval.matrix_world.inverted(), dtype=np.float64)
        self.proj = np.array(proj, dtype=np.float64)
        self.camera_position = np.array(cam_eval.matrix_world.translation, dtype=np.float64)
        back = np.array(cam_eval.matrix_world.col[2][:3], dtype=np.float64)
        self.camera_back = back / max(np.linalg.norm(back), 1e-12)  # unit vector towards the viewer
        self.ortho = cam_eval.data.type == "ORTHO"
        return self

    def project(self, points) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3) world points -> ((N, 2) float64 pixels, (N,) bool in front of the camera)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        hom = np.concatenate([pts, np.ones((len(pts), 1))], axis=1)
        view = hom @ self.view.T
        clip = view @ self.proj.T
        in_front = view[:, 2] < 0.0
        w = np.where(np.abs(clip[:, 3]) < 1e-12, 1e-12, clip[:, 3])
        ndc = clip[:, :2] / w[:, None]
        px = np.empty((len(pts), 2))
        px[:, 0] = (ndc[:, 0] + 1.0) * 0.5 * self.width
        px[:, 1] = (1.0 - ndc[:, 1]) * 0.5 * self.height
        return px, in_front

    def rays(self, px) -> tuple[np.ndarray, np.ndarray]:
        """(K, 2) pixels -> the camera rays through them: (origins (K, 3) on the near clip plane,
        unit directions (K, 3)). The inverse of `project`, for perspective and orthographic cameras."""
        px = np.asarray(px, dtype=np.float64).reshape(-1, 2)
        ndc_x = px[:, 0] / self.width * 2.0 - 1.0
        ndc_y = 1.0 - px[:, 1] / self.height * 2.0
        inverse = np.linalg.inv(self.proj @ self.view)
        ends = []
        for z in (-1.0, 1.0):  # the near and the far clip plane
            hom = np.stack([ndc_x, ndc_y, np.full_like(ndc_x, z), np.ones_like(ndc_x)], axis=1) @ inverse.T
            ends.append(hom[:, :3] / hom[:, 3:4])
        d = ends[1] - ends[0]
        return ends[0], d / np.linalg.norm(d, axis=1, keepdims=True)

    def on_canvas(self, px: np.ndarray) -> np.ndarray:
        return (px[:, 0] >= 0) & (px[:, 0] < self.width) & (px[:, 1] >= 0) & (px[:, 1] < self.height)


def _depsgraph(scene):
    import bpy

    for vl in scene.view_layers:
        if bpy.context.scene == scene and bpy.context.view_layer == vl:
            return bpy.context.evaluated_depsgraph_get()
    return scene.view_layers[0].depsgraph


def describe_camera(scene) -> dict:
    """The package's `camera` entry for the scene camera at the current frame."""
    cam = scene_camera(scene).data
    return {
        "type": "ORTHO" if cam.type == "ORTHO" else "PERSP",
        "lens_mm": float(cam.lens),
        "sensor_width_mm": float(cam.sensor_width),
        "sensor_height_mm": float(cam.sensor_height),
        "sensor_fit": str(cam.sensor_fit),
        "clip_start": float(cam.clip_start),
        "clip_end": float(cam.clip_end),
        "ortho_scale": float(cam.ortho_scale),
    }
