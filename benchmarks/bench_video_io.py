"""Speed of backend.video on a generation-sized clip: mp4 presets, lossless writers, reading, canny.

Prints a table: what, frames per second, file size. The content is a moving textured scene (smooth
shading + fine noise + a moving square), closer to generated footage than flat colours.
Run: .venv/bin/python benchmarks/bench_video_io.py [--frames 49] [--size 1280x768]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.video import canny_video, read_video, write_lossless_video, write_mp4  # noqa: E402


def scene(frames: int, width: int, height: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    texture = rng.normal(0, 12, (height, width, 3)).astype(np.float32)
    out = np.empty((frames, height, width, 3), np.uint8)
    for i in range(frames):
        base = np.stack(
            [xx / width * 180 + i, yy / height * 160 + 40, np.full_like(xx, 120 + np.sin(i / 5) * 40)], axis=-1
        )
        frame = base + np.roll(texture, 2 * i, axis=1)
        s = 40 + 6 * i
        frame[200:330, s : s + 130] = (230, 60, 40)
        out[i] = np.clip(frame, 0, 255).astype(np.uint8)
    return out


def control_like(frames: int, width: int, height: int) -> np.ndarray:
    """A depth-style gradient with a few saturated dots: what controls look like."""
    grad = np.linspace(30, 230, height, dtype=np.float32)[:, None].repeat(width, 1)
    out = np.repeat(grad.astype(np.uint8)[None, ..., None], frames, 0).repeat(3, 3)
    for i in range(frames):
        out[i, : height // 3] = 0
        for k in range(12):
            x, y = (60 + 90 * k + 4 * i) % width, 40 + 15 * k
            out[i, y : y + 6, x : x + 6] = (0, 0, 255)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=49)
    parser.add_argument("--size", default="1280x768")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    clip = scene(args.frames, width, height)
    audio = (np.zeros((2, int(args.frames / 24 * 48000)), np.float32), 48000)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:

        def timed(name, fn, path=None):
            start = time.perf_counter()
            fn()
            seconds = time.perf_counter() - start
            size = Path(path).stat().st_size / 1e6 if path else float("nan")
            rows.append((name, args.frames / seconds, seconds, size))

        for preset in ("ultrafast", "superfast", "veryfast", "faster", "medium"):
            path = Path(tmp, f"{preset}.mp4")
            timed(f"write_mp4 crf17 {preset} +aac", lambda: write_mp4(path, clip, 24, audio=audio, preset=preset), path)
        control = control_like(args.frames, width, height)
        for suffix in (".mov", ".mkv"):
            path = Path(tmp, f"lossless{suffix}")
            timed(f"write_lossless_video {suffix} scene", lambda: write_lossless_video(path, clip, 24), path)
            path = Path(tmp, f"control{suffix}")
            timed(f"write_lossless_video {suffix} control", lambda: write_lossless_video(path, control, 24), path)
        for suffix in ("veryfast.mp4", "lossless.mov", "lossless.mkv", "control.mov", "control.mkv"):
            timed(f"read_video {suffix}", lambda: read_video(Path(tmp, suffix)))
        timed("canny_video 100/200", lambda: canny_video(clip))
        timed("canny_video 92/200 @512", lambda: canny_video(clip, 92, 200, short_side=512))
    print(f"clip: {args.frames} frames of {width}x{height}")
    print(f"{'operation':38} {'frames/s':>9} {'seconds':>8} {'MB':>7}")
    for name, fps, seconds, size in rows:
        print(f"{name:38} {fps:9.1f} {seconds:8.2f} {size:7.2f}")


if __name__ == "__main__":
    main()
