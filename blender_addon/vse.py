"""Put a generated video into the Video Sequence Editor: a movie strip and a sound strip.

Uses the data API (`strips.new_movie` / `new_sound`), which works headless and leaves the scene's
frame rate and colour settings alone (`sequencer.movie_strip_add` needs a Sequencer area and changes
both). The strips start at the scene's start frame in the lowest channels that are free over the
clip's frames; the generation parameters are stored on both strips as the custom property
`ltx_scene` (a JSON string: IDProperties cannot hold None or nested lists of dicts reliably).
"""

from __future__ import annotations

import json
import os

from . import compat
from .shared.errors import UserError

PARAMS_KEY = "ltx_scene"
MAX_CHANNEL = 128


def _occupied(editor, channel: int, start: int, end: int) -> bool:
    """Whether any strip in `channel` overlaps scene frames [start, end)."""
    for strip in compat.strips(editor):
        if strip.channel != channel:
            continue
        if strip.frame_final_start < end and strip.frame_final_end > start:
            return True
    return False


def free_channels(editor, start: int, length: int, count: int, exclude=()) -> list[int]:
    """The `count` lowest channels with nothing in frames [start, start + length)."""
    found = []
    for channel in range(1, MAX_CHANNEL + 1):
        if channel in exclude or _occupied(editor, channel, start, start + length):
            continue
        found.append(channel)
        if len(found) == count:
            return found
    raise UserError(
        f"sequencer: no free channel for frames {start}-{start + length - 1}; remove or move some strips", "channel"
    )


def import_result(scene, video_path: str, params: dict, name: str = "LTX") -> tuple:
    """Add the video's picture and sound at `scene.frame_start`; returns (movie, sound or None).

    The sound strip is None only when the file has no audio stream (LTX-2 always makes one)."""
    video_path = os.path.abspath(video_path)
    if not os.path.isfile(video_path):
        raise UserError(f"result: the video {video_path} does not exist", "video")
    editor = scene.sequence_editor or scene.sequence_editor_create()
    start = scene.frame_start
    strips = compat.strips(editor)
    # add in a high free channel first: the movie's length is known only once it is loaded
    probe_channel = free_channels(editor, start, 1 << 20, 1)[0]
    movie = strips.new_movie(name=name, filepath=video_path, channel=probe_channel, frame_start=start)
    length = movie.frame_final_duration
    if length <= 0:
        strips.remove(movie)
        raise UserError(f"result: Blender could not read video frames from {video_path}", "video")
    movie.channel = _lowest_free(editor, movie, start, length)
    sound = None
    try:
        sound_channel = free_channels(editor, start, length, 1, exclude={movie.channel})[0]
        sound = strips.new_sound(name=f"{name} Audio", filepath=video_path, channel=sound_channel, frame_start=start)
    except RuntimeError:
        sound = None  # no audio stream
    text = json.dumps(params, sort_keys=True)
    for strip in (movie, sound):
        if strip is not None:
            strip[PARAMS_KEY] = text
    return movie, sound


def _occupied_except(editor, own, channel, start, length) -> bool:
    for strip in compat.strips(editor):
        if strip == own or strip.channel != channel:
            continue
        if strip.frame_final_start < start + length and strip.frame_final_end > start:
            return True
    return False


def _lowest_free(editor, own, start: int, length: int) -> int:
    """The lowest channel where `own` (already placed) fits without overlapping another strip."""
    for channel in range(1, MAX_CHANNEL + 1):
        if not _occupied_except(editor, own, channel, start, length):
            return channel
    raise UserError(f"sequencer: no free channel for frames {start}-{start + length - 1}", "channel")


def parameters_of(strip) -> dict | None:
    """The generation parameters stored on a strip, or None for strips this add-on did not make."""
    if strip is None:
        return None
    try:
        text = strip.get(PARAMS_KEY)
    except TypeError:
        return None
    if not text:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None
