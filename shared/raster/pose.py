"""Pose control video drawn exactly as DWPose draws it (what Union Control was trained on).

The IC-LoRA follows what looks like its training data, so this reproduces the drawing of the DWPose
preprocessor that the official workflows run (comfyui_controlnet_aux's `draw_poses`), pixel for
pixel where OpenCV's integer rules allow (`shapes.py`). Per frame, on black, one whole person after
the other (a later person covers an earlier one):
1. body limbs (OpenPose-18, the 17 `LIMBS` in order): OpenCV's ellipse polygon around the limb,
   filled with its outline, in colour x 0.6 (truncated). The polygon's centre is the integer-
   truncated midpoint, its semi-major axis the truncated half length, its angle the truncated
   angle in degrees, its semi-minor axis 4 px;
2. body joints: filled circles of radius 4 px in full colour around the truncated point;
3. left hand, then right hand (21 points): the 20 `HAND_EDGES` as 2 px OpenCV lines in
   HSV(edge / 20, 1, 1), then the joints as circles of radius 4 px in (0, 0, 255);
4. face: the 68 landmarks, and when any landmark is there also the body's two eyes (the OpenPose
   face has 70 points; DWPose pads with the eyes), as white circles of radius 3 px.
Presence: a point is there when its confidence is > 0.3; a limb or edge needs both ends. A hand or
face point (and a hand edge's end) in column 0 or row 0, or left of / above the canvas, is not
drawn (the drawer keeps integer coordinates > 0 only). Coordinates are truncated towards zero, as
Python's `int()`.

Sizes: these pixel sizes are fixed, as DWPose draws them on the image it was given. In the official
workflow that image is the video at the generation size, so a pose package is drawn at its own
(generation) size and the model's reference frames are a resize of that (`model_frames.py`);
drawing straight at the small reference size would give thicker limbs than training.
"""

from __future__ import annotations

import colorsys
import numbers

import numpy as np

from ..errors import UserError
from .shapes import disc_pixels, limb_pixels, paint, thick_line_pixels

CONFIDENCE_THRESHOLD = 0.3  # a point is present when its confidence is above this
LIMB_WIDTH = 4  # ellipse semi-minor axis, px
JOINT_RADIUS = 4
HAND_JOINT_RADIUS = 4
FACE_RADIUS = 3
LIMB_DIM = 0.6
R_EYE, L_EYE = 14, 15

# 0-based keypoint pairs (the DWPose drawer lists them 1-based), in draw order
LIMBS = [
    (a - 1, b - 1)
    for a, b in (
        (2, 3),
        (2, 6),
        (3, 4),
        (4, 5),
        (6, 7),
        (7, 8),
        (2, 9),
        (9, 10),
        (10, 11),
        (2, 12),
        (12, 13),
        (13, 14),
        (2, 1),
        (1, 15),
        (15, 17),
        (1, 16),
        (16, 18),
    )
]
COLOURS = np.array(
    [
        [255, 0, 0],
        [255, 85, 0],
        [255, 170, 0],
        [255, 255, 0],
        [170, 255, 0],
        [85, 255, 0],
        [0, 255, 0],
        [0, 255, 85],
        [0, 255, 170],
        [0, 255, 255],
        [0, 170, 255],
        [0, 85, 255],
        [0, 0, 255],
        [85, 0, 255],
        [170, 0, 255],
        [255, 0, 255],
        [255, 0, 170],
        [255, 0, 85],
    ],
    np.uint8,
)
LIMB_COLOURS = np.array([[int(float(c) * LIMB_DIM) for c in colour] for colour in COLOURS[: len(LIMBS)]], np.uint8)
HAND_EDGES = [
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 4),
    (0, 5),
    (5, 6),
    (6, 7),
    (7, 8),
    (0, 9),
    (9, 10),
    (10, 11),
    (11, 12),
    (0, 13),
    (13, 14),
    (14, 15),
    (15, 16),
    (0, 17),
    (17, 18),
    (18, 19),
    (19, 20),
]
# HSV -> RGB in [0, 1] times 255, rounded half to even as OpenCV turns a float colour into bytes
HAND_EDGE_COLOURS = np.array(
    [[round(c * 255) for c in colorsys.hsv_to_rgb(i / len(HAND_EDGES), 1.0, 1.0)] for i in range(len(HAND_EDGES))],
    np.uint8,
)
HAND_JOINT_COLOUR = np.array([0, 0, 255], np.uint8)
FACE_COLOUR = np.array([255, 255, 255], np.uint8)


MAX_COORDINATE = 1e5  # px; beyond it a shape's outline would not fit in memory

_LIMB_A = np.array([a for a, _ in LIMBS])
_LIMB_B = np.array([b for _, b in LIMBS])
_EDGE_A = np.array([a for a, _ in HAND_EDGES])
_EDGE_B = np.array([b for _, b in HAND_EDGES])
# draw order inside one person: limbs, joints, left hand (edges, joints), right hand, face
_SLOT_JOINT, _SLOT_HAND, _HAND_SLOTS, _SLOT_FACE = len(LIMBS), len(LIMBS) + 18, len(HAND_EDGES) + 1, 100
_SLOTS_PER_PERSON = _SLOT_FACE + 1


def _check(name, arr, tail, frames, people):
    arr = np.asarray(arr, np.float64)
    if arr.ndim != 2 + len(tail) or tuple(arr.shape[2:]) != tail:
        raise UserError(f"{name}: expected shape (F, P, {', '.join(map(str, tail))}), got {arr.shape}", name)
    if frames is not None and (arr.shape[0], arr.shape[1]) != (frames, people):
        raise UserError(
            f"{name}: expected F = {frames} frames and P = {people} people like pose_body, got {arr.shape[:2]}", name
        )
    present = arr[..., 2] > CONFIDENCE_THRESHOLD
    if not np.isfinite(arr[..., :2][present]).all():
        raise UserError(f"{name}: keypoints with confidence > {CONFIDENCE_THRESHOLD} must have finite x, y", name)
    if (np.abs(arr[..., :2][present]) > MAX_COORDINATE).any():
        raise UserError(
            f"{name}: keypoints with confidence > {CONFIDENCE_THRESHOLD} must lie within "
            f"+-{MAX_COORDINATE:.0f} px; give far-away points confidence 0",
            name,
        )
    return arr


class _Pixels:
    """Pixels of one frame's shapes with their draw order and colour, painted at once."""

    def __init__(self):
        self.parts = []

    def add(self, xs, ys, order, colour):
        if len(xs):
            self.parts.append((xs, ys, order, colour))

    def paint(self, canvas, labels=None):
        if not self.parts:
            return
        xs = np.concatenate([p[0] for p in self.parts])
        ys = np.concatenate([p[1] for p in self.parts])
        order = np.concatenate([np.broadcast_to(p[2], p[0].shape) for p in self.parts])
        colours = np.concatenate([np.broadcast_to(p[3], p[0].shape + (3,)) for p in self.parts])
        paint(canvas, xs, ys, order, colours, labels)


def _body_pixels(out: _Pixels, body: np.ndarray) -> None:
    base = np.arange(body.shape[0]) * _SLOTS_PER_PERSON
    present = body[..., 2] > CONFIDENCE_THRESHOLD
    person, limb = np.nonzero(present[:, _LIMB_A] & present[:, _LIMB_B])
    if len(limb):
        ka, kb = body[person, _LIMB_A[limb], :2], body[person, _LIMB_B[limb], :2]
        d = ka - kb
        length = np.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2)
        angle = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
        mid = (ka + kb) / 2
        xs, ys, i = limb_pixels(
            np.trunc(mid[:, 0]), np.trunc(mid[:, 1]), np.trunc(length / 2), LIMB_WIDTH, np.trunc(angle)
        )
        out.add(xs, ys, base[person[i]] + limb[i], LIMB_COLOURS[limb[i]])
    person, joint = np.nonzero(present)
    xs, ys, i = disc_pixels(np.trunc(body[person, joint, 0]), np.trunc(body[person, joint, 1]), JOINT_RADIUS)
    out.add(xs, ys, base[person[i]] + _SLOT_JOINT + joint[i], COLOURS[joint[i]])


def _hand_pixels(out: _Pixels, hands: np.ndarray) -> None:
    base = np.arange(hands.shape[0])[:, None] * _SLOTS_PER_PERSON + _SLOT_HAND + np.arange(2) * _HAND_SLOTS
    present = hands[..., 2] > CONFIDENCE_THRESHOLD
    ixy = np.trunc(np.where(present[..., None], hands[..., :2], 0))
    drawn = present & (ixy[..., 0] > 0) & (ixy[..., 1] > 0)  # (P, 2, 21)
    person, side, edge = np.nonzero(drawn[..., _EDGE_A] & drawn[..., _EDGE_B])
    if len(edge):
        a, b = ixy[person, side, _EDGE_A[edge]], ixy[person, side, _EDGE_B[edge]]
        xs, ys, i = thick_line_pixels(a[:, 0], a[:, 1], b[:, 0], b[:, 1])
        out.add(xs, ys, base[person[i], side[i]] + edge[i], HAND_EDGE_COLOURS[edge[i]])
    person, side, k = np.nonzero(drawn)
    xs, ys, i = disc_pixels(ixy[person, side, k, 0], ixy[person, side, k, 1], HAND_JOINT_RADIUS)
    out.add(xs, ys, base[person[i], side[i]] + len(HAND_EDGES), HAND_JOINT_COLOUR)


def _face_pixels(out: _Pixels, face: np.ndarray, body: np.ndarray) -> None:
    has_face = (face[..., 2] > CONFIDENCE_THRESHOLD).any(axis=1)
    points = np.concatenate([face, body[:, [R_EYE, L_EYE]]], axis=1)[has_face]
    person = np.broadcast_to(np.flatnonzero(has_face)[:, None], points.shape[:2])
    ixy = np.trunc(points[..., :2])
    drawn = (points[..., 2] > CONFIDENCE_THRESHOLD) & (ixy[..., 0] > 0) & (ixy[..., 1] > 0)
    xs, ys, i = disc_pixels(ixy[drawn][:, 0], ixy[drawn][:, 1], FACE_RADIUS)
    out.add(xs, ys, person[drawn][i] * _SLOTS_PER_PERSON + _SLOT_FACE, FACE_COLOUR)


def draw_pose_frame(
    canvas: np.ndarray,
    body: np.ndarray,
    hands: np.ndarray | None,
    face: np.ndarray | None,
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """Draw one frame, person by person: body (P, 18, 3), hands (P, 2, 21, 3) or None, face (P, 68, 3) or None."""
    out = _Pixels()
    _body_pixels(out, body)
    if hands is not None:
        _hand_pixels(out, hands)
    if face is not None:
        _face_pixels(out, face, body)
    out.paint(canvas, labels)
    return canvas


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
    out = np.zeros((frames, height, width, 3), np.uint8)
    labels = np.zeros(height * width, np.int64)  # draw-order scratch, touched once, reused per frame
    for f in range(frames):
        draw_pose_frame(out[f], body[f], None if hands is None else hands[f], None if face is None else face[f], labels)
    return out
