"""Attention masks: silhouettes of chosen objects or a collection, per frame, in [0, 1].

The chosen objects are rendered alone (with the camera) in capture's temporary scene and every pixel
where their depth is finite is 1. The silhouette is the whole object, also where other objects of the
scene would hide it: "control only the character" should not flicker when something passes in front.
Rendered at the depth size (the size the model sees); the rasterizer scales it to the video.
"""

from __future__ import annotations

import numpy as np

from .depth import render_z
from .engine_probe import pick_engine


def capture_mask(scene, plan, settings, progress=None) -> np.ndarray:
    engine = pick_engine(settings.depth_engine)
    z = render_z(
        scene,
        list(plan.frames),
        plan.depth_width,
        plan.depth_height,
        engine,
        progress,
        only_objects=tuple(settings.mask_objects),
        only_collection=settings.mask_collection,
    )
    return np.isfinite(z).astype(np.float32)
