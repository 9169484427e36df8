"""Rasterizer speed: frames per second of the numpy rasterizers (shared/raster) over 121 frames.

Scenes (deterministic): tracks = 16 random-walk tracks; pose = one person with hands and face;
depth = a moving sphere in front of a wall, captured at half size and resized; mask = a moving
ellipse silhouette at half size with a fade-in strength, dilated 4 px and feathered 6 px.
The goal: any control, 121 frames at 1024x576, in under 2 s.

Run: .venv/bin/python benchmarks/bench_raster.py
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from shared.raster import attention_mask, depth_to_video, draw_pose, draw_tracks  # noqa: E402

FRAMES = 121
SIZES = [(960, 544), (1024, 576), (1024, 1536)]
GOAL_S = 2.0


def tracks_scene(w, h, n=16):
    rng = np.random.default_rng(0)
    start = rng.uniform([0, 0], [w, h], (n, 1, 2))
    return (start + np.cumsum(rng.normal(0, 3, (n, FRAMES, 2)), axis=1)).astype(np.float32)


def pose_scene(w, h):
    rng = np.random.default_rng(1)
    k = min(w, h) / 576
    base = np.array(
        [
            [0, -190],
            [0, -140],
            [-52, -140],
            [-82, -60],
            [-92, 10],
            [52, -140],
            [82, -60],
            [92, 10],
            [-32, 10],
            [-37, 110],
            [-42, 210],
            [32, 10],
            [37, 110],
            [42, 210],
            [-12, -200],
            [12, -200],
            [-22, -195],
            [22, -195],
        ],
        float,
    ) * k + [w / 2, h / 2]
    body = np.zeros((FRAMES, 1, 18, 3), np.float32)
    body[..., :2] = base + rng.normal(0, 2, (FRAMES, 1, 18, 2))
    body[..., 2] = 1
    hands = np.zeros((FRAMES, 1, 2, 21, 3), np.float32)
    for side, wrist in ((0, 4), (1, 7)):
        hands[:, 0, side, :, :2] = base[wrist] + rng.uniform(-25, 25, (FRAMES, 21, 2)) * k
    hands[..., 2] = 1
    face = np.zeros((FRAMES, 1, 68, 3), np.float32)
    face[:, 0, :, :2] = base[0] + rng.uniform(-18, 18, (FRAMES, 68, 2)) * k
    face[..., 2] = 1
    return body, hands, face


def depth_scene(w, h):
    hd, wd = h // 2, w // 2
    ys, xs = np.mgrid[0:hd, 0:wd].astype(np.float32)
    z = np.full((FRAMES, hd, wd), 10.0, np.float32)
    z[:, : hd // 5] = np.inf  # sky
    for f in range(FRAMES):
        cx = wd * (0.2 + 0.6 * f / FRAMES)
        inside = (xs - cx) ** 2 + (ys - hd / 2) ** 2 < (hd / 4) ** 2
        z[f][inside] = 3.0 + f / FRAMES
    return z


def mask_scene(w, h):
    hm, wm = h // 2, w // 2
    ys, xs = np.mgrid[0:hm, 0:wm].astype(np.float32)
    m = np.zeros((FRAMES, hm, wm), np.float32)
    for f in range(FRAMES):
        cx = wm * (0.2 + 0.6 * f / FRAMES)
        m[f] = (((xs - cx) / (wm / 6)) ** 2 + ((ys - hm / 2) / (hm / 3)) ** 2 <= 1).astype(np.float32)
    strength = np.clip(np.arange(FRAMES) / 8, 0, 1).astype(np.float32)
    return m, strength


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    print(f"Rasterizer throughput, {FRAMES} frames, numpy {np.__version__}, {os.cpu_count()} CPU(s)")
    print(f"{'size':>11} | {'tracks f/s':>10} | {'pose f/s':>8} | {'depth f/s':>9} | {'mask f/s':>8}")
    print("-" * 60)
    goal_row = {}
    for w, h in SIZES:
        pts = tracks_scene(w, h)
        body, hands, face = pose_scene(w, h)
        z = depth_scene(w, h)
        m, strength = mask_scene(w, h)
        t_tracks = timed(lambda: draw_tracks(pts, None, w, h))
        t_pose = timed(lambda: draw_pose(body, hands, face, w, h))
        t_depth = timed(lambda: depth_to_video(z, w, h))
        t_mask = timed(lambda: attention_mask(m, strength, FRAMES, w, h, dilate_px=4, feather_px=6))
        if (w, h) == (1024, 576):
            goal_row = {"tracks": t_tracks, "pose": t_pose, "depth": t_depth, "mask": t_mask}
        print(
            f"{w:>5}x{h:<5} | {FRAMES / t_tracks:>10.1f} | {FRAMES / t_pose:>8.1f} | "
            f"{FRAMES / t_depth:>9.1f} | {FRAMES / t_mask:>8.1f}"
        )
    print()
    print(f"{FRAMES} frames at 1024x576, goal < {GOAL_S:.0f} s per control")
    print(f"{'control':>8} | {'seconds':>7} | goal")
    print("-" * 28)
    for name, seconds in goal_row.items():
        print(f"{name:>8} | {seconds:>7.2f} | {'meets' if seconds < GOAL_S else 'MISSES'}")


if __name__ == "__main__":
    main()
