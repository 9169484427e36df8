"""What the demo leaves in its output folder, made from what the Blender session wrote.

- `finish_controls`: canny frames become edges (the trainer's Canny on the RGB render, which stays
  in controls/canny/rgb_frames/), and each control's frames also become a lossless video
  controls/<kind>/control.mov (PNG in QuickTime: bit-exact, exact fps; opens in Blender, FFmpeg ...).
- `build_contact_sheet`: one row per control plus the generated output, a few evenly spaced frames.
- `link_result`: DIR/demo.mp4, the generated video (a hard link to the file the strips use).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from backend.video import contact_sheet, read_video, write_lossless_video
from backend.video.contact_sheet import evenly_spaced

CONTACT_SHEET = "contact_sheet.png"
OUTPUT_ROW = "output"


def finish_controls(controls: dict, fps) -> dict[str, np.ndarray]:
    """Edges for canny, a lossless video per control; returns each control's frames by kind."""
    from backend.commands.render_controls import edges_from_rgb

    frames_by_kind = {}
    for kind, info in controls.items():
        frames_dir = Path(info["frames_dir"])
        folder = frames_dir.parent
        if kind == "canny" and info.get("frames_are") == "rgb":
            edges_from_rgb(frames_dir, folder)
            info["frames_are"] = "control"
            info["rgb_frames_dir"] = str(folder / "rgb_frames")
        frames, _ = read_video(frames_dir)
        info["video"] = str(write_lossless_video(folder / "control.mov", frames, fps))
        frames_by_kind[kind] = frames
    return frames_by_kind


def build_contact_sheet(
    frames_by_kind: dict[str, np.ndarray], output: np.ndarray, out_path: Path, columns: int = 5, thumb_height: int = 160
) -> tuple[Path, list[int]]:
    rows = [(kind, frames) for kind, frames in frames_by_kind.items()] + [(OUTPUT_ROW, output)]
    shortest = min(len(frames) for _, frames in rows)
    indices = evenly_spaced(shortest, columns)
    return contact_sheet(rows, indices, out_path, thumb_height=thumb_height), indices


def link_result(video: Path, target: Path) -> Path:
    """`target` holds the same bytes as `video` (hard link where the file system allows, else a copy)."""
    if target.exists() or target.is_symlink():
        target.unlink()
    try:
        os.link(video, target)
    except OSError:
        shutil.copy2(video, target)
    return target
