"""`ltx-scene draw-tracks TRACKS.json --width W --height H --out DIR [--frames N]`

Draws a ComfyUI tracks JSON (the format of ComfyUI-LTXVideo's Sparse Track Editor / Draw Tracks
node) as the Motion-Track-Control IC-LoRA's control video: one lossless 8-bit RGB PNG per frame,
`frame_00000.png`, ... (names sort in frame order), pixel-exact to the official node.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shared.errors import UserError

NAME = "draw-tracks"
HELP = "draw a ComfyUI tracks JSON as the motion-track control video (PNG frames)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "tracks",
        type=Path,
        metavar="TRACKS.json",
        help='tracks JSON: a list of tracks, each a list of {"x": .., "y": ..} per frame',
    )
    parser.add_argument("--width", type=int, required=True, help="output width in pixels")
    parser.add_argument("--height", type=int, required=True, help="output height in pixels")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the PNG frames")
    parser.add_argument(
        "--frames",
        type=int,
        default=None,
        metavar="N",
        help="number of frames (default: the longest track); extra frames keep the "
        "trails ageing, fewer frames cut the tracks",
    )
    parser.add_argument("--force", action="store_true", help="replace frame_*.png files already in DIR")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from shared.png import write_png
    from shared.raster.tracks import iter_track_frames
    from shared.tracks_json import load_tracks_json
    from shared.video_rules import snap_frames

    for name in ("width", "height"):
        value = getattr(args, name)
        if not 8 <= value <= 8192:
            raise UserError(f"--{name}: {value} is out of range; use 8 to 8192 pixels", name)
    try:
        text = args.tracks.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"tracks: file not found: {args.tracks}", "tracks") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"tracks: cannot read {args.tracks} ({exc})", "tracks") from None
    points, visible = load_tracks_json(text)
    frames = points.shape[1] if args.frames is None else args.frames
    if frames < 1:
        raise UserError(
            "frames: the tracks JSON has no points; give --frames N to draw N empty frames, or add tracks"
            if args.frames is None
            else f"--frames: expected at least 1, got {args.frames}",
            "frames",
        )
    if frames != points.shape[1]:
        n = points.shape[0]
        resized = np.zeros((n, frames, 2), points.dtype)
        shown = np.zeros((n, frames), bool)
        keep = min(frames, points.shape[1])
        resized[:, :keep], shown[:, :keep] = points[:, :keep], visible[:, :keep]
        points, visible = resized, shown

    out = args.out
    if out.exists() and not out.is_dir():
        raise UserError(f"--out: {out} exists and is not a folder", "out")
    out.mkdir(parents=True, exist_ok=True)
    existing = sorted(out.glob("frame_*.png"))
    if existing and not args.force:
        raise UserError(
            f"--out: {out} already holds {len(existing)} frame_*.png files; choose an empty folder "
            f"or pass --force to replace them",
            "out",
        )
    for path in existing:
        path.unlink()

    digits = max(5, len(str(frames - 1)))
    print(
        f"Drawing {points.shape[0]} track(s), {frames} frames at {args.width}x{args.height} -> {out}", file=sys.stderr
    )
    for t, frame in enumerate(iter_track_frames(points, visible, args.width, args.height)):
        write_png(out / f"frame_{t:0{digits}d}.png", frame)
        print(f"\rframe {t + 1}/{frames}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if snap_frames(frames) != frames:
        print(f"note: LTX-2 needs 8k+1 frames; {frames} is not (nearest: {snap_frames(frames)})", file=sys.stderr)
    print(f"Wrote {frames} PNG frames to {out}")
    return 0
