"""Keyframe looks as plain data: which scene frames get an image, at which job frame, from where.

No bpy here: the operator reads the scene's timeline markers (or the panel's list of image files)
into plain tuples and `plan_keyframes` turns them into `KeyframeLook`s, with the model's rule on
which frames can take an image (`shared/keyframes.py`: any frame of the clip) applied in *scene*
frames, so a refusal names the image and the nearest scene frame inside the clip.
- "MARKERS": every timeline marker inside the job's frames; each is rendered with the scene's own
  engine and settings (the artist's look) at the job's size (`keyframe_render.py`). Markers
  outside the frames belong to other shots and are left out.
- "LIST": (scene frame, image file) entries; a frame outside the job's frames is refused.
A keyframe on the job's first frame while a first-frame image is set is refused: frame 0 would be
given twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..shared.errors import UserError
from ..shared.keyframes import MAX_KEYFRAMES, check_keyframe_frame

KEYFRAME_SOURCES = ("NONE", "MARKERS", "LIST")


@dataclass(frozen=True)
class KeyframeLook:
    scene_frame: int
    job_frame: int  # scene_frame - the job's first scene frame
    strength: float
    image_path: str | None  # an image file; None: rendered from the scene at scene_frame
    label: str  # the marker's name or the file's name (messages, the strip's record)

    def spec_entry(self) -> dict:
        return {"frame": self.job_frame, "strength": self.strength}


def plan_keyframes(
    source: str,
    *,
    frame_start: int,
    frame_count: int,
    strength: float,
    markers: list[tuple[str, int]] = (),
    entries: list[tuple[int, str]] = (),
    first_frame_source: str = "NONE",
) -> tuple[KeyframeLook, ...]:
    """The job's keyframe looks, sorted by frame; raises `UserError` naming what to fix."""
    if source not in KEYFRAME_SOURCES:
        raise UserError(f"keyframes: unknown source {source!r}; one of {', '.join(KEYFRAME_SOURCES)}", "keyframes")
    if source == "NONE":
        return ()
    last = frame_start + frame_count - 1
    looks: list[KeyframeLook] = []
    if source == "MARKERS":
        inside = sorted((int(frame), name) for name, frame in markers if frame_start <= frame <= last)
        if not inside:
            raise UserError(
                f"keyframes: the source is Timeline Markers but no marker lies in the job's frames "
                f"{frame_start}-{last}; add markers there (M in the timeline) or set Keyframe Looks to None",
                "keyframes",
            )
        for frame, name in inside:
            looks.append(KeyframeLook(frame, frame - frame_start, float(strength), None, name))
    else:
        if not entries:
            raise UserError(
                "keyframes: the source is Image Files but the list is empty; add an entry or set Keyframe Looks to None",
                "keyframes",
            )
        for frame, path in sorted((int(f), p) for f, p in entries):
            if not path or not os.path.isfile(path):
                raise UserError(
                    f"keyframes: the image for frame {frame} ({path or 'none chosen'}) does not exist; "
                    "pick an existing PNG or JPEG",
                    "keyframes",
                )
            looks.append(KeyframeLook(frame, frame - frame_start, float(strength), path, os.path.basename(path)))
    seen: dict[int, str] = {}
    for look in looks:
        what = f"marker '{look.label}'" if look.image_path is None else f"image '{look.label}'"
        if look.scene_frame in seen:
            raise UserError(
                f"keyframes: {what} and '{seen[look.scene_frame]}' are both at frame {look.scene_frame}; "
                "keep one image per frame",
                "keyframes",
            )
        seen[look.scene_frame] = look.label
        check_keyframe_frame(look.job_frame, frame_count, offset=frame_start, what=what)
        if look.job_frame == 0 and first_frame_source != "NONE":
            raise UserError(
                f"keyframes: {what} is on the first frame ({frame_start}) and a First Frame image is set too; "
                "give the first frame one image: move the marker, or set First Frame to None",
                "keyframes",
            )
    if len(looks) > MAX_KEYFRAMES:
        raise UserError(f"keyframes: {len(looks)} keyframe looks, at most {MAX_KEYFRAMES} per job", "keyframes")
    return tuple(looks)
