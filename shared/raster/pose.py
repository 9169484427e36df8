"""Pose control video in the DWPose / OpenPose drawing style (what Union Control was trained on).

Per frame, on black (facts/controls.md):
- body (OpenPose-18): the 17 limbs in `LIMBS` order, each a filled ellipse along the segment with
  semi-axes (length / 2, 4 px) in colour x 0.6, then the 18 joints as filled discs of radius 4 px
  in full colour; limb-major over people (limb 0 of every person, then limb 1, ...), as DWPose;
- hands (21 points; all left hands, then all right hands): the 20 `HAND_EDGES` as lines 2 px
  thick in HSV(edge / 20, 1, 1), then the joints as discs of radius 4 px in (0, 0, 255);
- face (68 points): white discs of radius 3 px.
A keypoint with confidence < 0.3 is absent, with every limb or edge that uses it.

Sizes: the pixel sizes above are DWPose's at the size it draws in the official workflows, a
512 px short side (`REFERENCE_SHORT_SIDE`); here they scale with the canvas short side, so a
1024 x 576 frame uses 4 * 576/512 = 4.5 px. Shapes are filled analytically (pixel centres inside
the ellipse / disc / thick segment), not with OpenCV's polygon approximation: outlines can differ
from DWPose's by a pixel, colours and order are the same.
"""
from __future__ import annotations

import colorsys
import math
import numbers

import numpy as np

from ..errors import UserError
from .shapes import fill_capsule, fill_disc, fill_discs, fill_ellipse

REFERENCE_SHORT_SIDE = 512
CONFIDENCE_THRESHOLD = 0.3
LIMB_WIDTH = 4.0         # ellipse semi-minor axis at the reference size
JOINT_RADIUS = 4.0
HAND_LINE_WIDTH = 2.0
HAND_JOINT_RADIUS = 4.0
FACE_RADIUS = 3.0
LIMB_DIM = 0.6

# 0-based keypoint pairs (the facts list them 1-based), in draw order
LIMBS = [(a - 1, b - 1) for a, b in (
    (2, 3), (2, 6), (3, 4), (4, 5), (6, 7), (7, 8), (2, 9), (9, 10), (10, 11), (2, 12), (12, 13),
    (13, 14), (2, 1), (1, 15), (15, 17), (1, 16), (16, 18))]
COLOURS = np.array([
    [255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0],
    [0, 255, 0], [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255],
    [0, 0, 255], [85, 0, 255], [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85]], np.uint8)
LIMB_COLOURS = np.floor(COLOURS[:len(LIMBS)].astype(np.float64) * LIMB_DIM + 1e-9).astype(np.uint8)
HAND_EDGES = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10),
              (10, 11), (11, 12), (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18),
              (18, 19), (19, 20)]
HAND_EDGE_COLOURS = np.array(
    [[round(c * 255) for c in colorsys.hsv_to_rgb(i / len(HAND_EDGES), 1.0, 1.0)] for i in range(len(HAND_EDGES))],
    np.uint8)
HAND_JOINT_COLOUR = np.array([0, 0, 255], np.uint8)
FACE_COLOUR = np.array([255, 255, 255], np.uint8)


def size_scale(width: int, height: int) -> float:
    """Factor applied to DWPose's pixel sizes: canvas short side / 512."""
    return min(width, height) / REFERENCE_SHORT_SIDE


def _check(name, arr, tail, frames, people):
    arr = np.asarray(arr, np.float64)
    if arr.ndim != 2 + len(tail) or tuple(arr.shape[2:]) != tail:
        raise UserError(f"{name}: expected shape (F, P, {', '.join(map(str, tail))}), got {arr.shape}", name)
    if frames is not None and (arr.shape[0], arr.shape[1]) != (frames, people):
        raise UserError(
            f"{name}: expected F = {frames} frames and P = {people} people like pose_body, got {arr.shape[:2]}", name)
    present = arr[..., 2] >= CONFIDENCE_THRESHOLD
    if not np.isfinite(arr[..., :2][present]).all():
        raise UserError(f"{name}: keypoints with confidence >= {CONFIDENCE_THRESHOLD} must have finite x, y", name)
    return arr


def draw_pose_frame(canvas: np.ndarray, body: np.ndarray, hands: np.ndarray | None,
                    face: np.ndarray | None, scale: float) -> np.ndarray:
    """Draw one frame: body (P, 18, 3), hands (P, 2, 21, 3) or None, face (P, 68, 3) or None."""
    present = body[..., 2] >= CONFIDENCE_THRESHOLD
    for li, (a, b) in enumerate(LIMBS):
        for p in range(body.shape[0]):
            if not (present[p, a] and present[p, b]):
                continue
            (xa, ya), (xb, yb) = body[p, a, :2], body[p, b, :2]
            length = math.hypot(xb - xa, yb - ya)
            fill_ellipse(canvas, (xa + xb) / 2, (ya + yb) / 2, length / 2, LIMB_WIDTH * scale,
                         math.atan2(yb - ya, xb - xa), LIMB_COLOURS[li])
    for k in range(body.shape[1]):
        for p in range(body.shape[0]):
            if present[p, k]:
                fill_disc(canvas, body[p, k, 0], body[p, k, 1], JOINT_RADIUS * scale, COLOURS[k])
    if hands is not None:
        for side in (0, 1):  # all left hands, then all right hands
            for p in range(hands.shape[0]):
                _draw_hand(canvas, hands[p, side], scale)
    if face is not None:
        dots = face.reshape(-1, 3)
        fill_discs(canvas, dots[dots[:, 2] >= CONFIDENCE_THRESHOLD, :2], FACE_RADIUS * scale, FACE_COLOUR)
    return canvas


def _draw_hand(canvas, hand: np.ndarray, scale: float) -> None:
    present = hand[:, 2] >= CONFIDENCE_THRESHOLD
    for ei, (a, b) in enumerate(HAND_EDGES):
        if present[a] and present[b]:
            fill_capsule(canvas, hand[a, 0], hand[a, 1], hand[b, 0], hand[b, 1],
                         HAND_LINE_WIDTH * scale / 2, HAND_EDGE_COLOURS[ei])
    fill_discs(canvas, hand[present, :2], HAND_JOINT_RADIUS * scale, HAND_JOINT_COLOUR)


def draw_pose(body, hands, face, width: int, height: int) -> np.ndarray:
    """(F, P, 18, 3) body [+ (F, P, 2, 21, 3) hands, (F, P, 68, 3) face, or None] in output pixels
    -> (F, H, W, 3) uint8 RGB skeleton video on black."""
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= 16384:
            raise UserError(f"{name}: expected an integer from 1 to 16384 pixels, got {value!r}", name)
    body = _check("pose_body", body, (18, 3), None, None)
    frames, people = body.shape[:2]
    hands = None if hands is None else _check("pose_hands", hands, (2, 21, 3), frames, people)
    face = None if face is None else _check("pose_face", face, (68, 3), frames, people)
    scale = size_scale(width, height)
    out = np.zeros((frames, height, width, 3), np.uint8)
    for f in range(frames):
        draw_pose_frame(out[f], body[f], None if hands is None else hands[f],
                        None if face is None else face[f], scale)
    return out
