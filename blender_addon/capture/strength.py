"""The attention strength over time: the add-on's keyframable `scene.ltx_scene.attention_strength`,
read after every frame_set (1.0 where the property does not exist), clipped to [0, 1]."""

from __future__ import annotations

import numpy as np


def read_strength(scene) -> float:
    group = getattr(scene, "ltx_scene", None)
    value = getattr(group, "attention_strength", 1.0) if group is not None else 1.0
    return float(min(1.0, max(0.0, value)))


class StrengthRecorder:
    def __init__(self, frame_count: int):
        self.values = np.ones(frame_count, dtype=np.float32)

    def record(self, index: int, scene) -> None:
        self.values[index] = read_strength(scene)
