"""An independent OpenCV drawing of DWPose skeletons, the oracle for shared/raster/pose.py.

Written for these tests from the documented algorithm of the DWPose drawer the official workflows
run (comfyui_controlnet_aux's draw_poses / draw_bodypose / draw_handpose / draw_facepose; the facts
are listed in shared/raster/README.md). The `controlnet-aux` package itself was not used as the
oracle: importing its drawer imports the whole package (torchvision, timm, scikit-image,
matplotlib), a dependency tree too heavy for a test. This file uses OpenCV's own primitives
(`cv2.ellipse2Poly`, `cv2.fillConvexPoly`, `cv2.circle`, `cv2.line`), so it checks the numpy
re-implementation against the real pixel rules.
"""

from __future__ import annotations

import colorsys
import math

import cv2
import numpy as np

PAIRS_ONE_BASED = [
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
]
BODY_COLOURS = [
    (255, 0, 0),
    (255, 85, 0),
    (255, 170, 0),
    (255, 255, 0),
    (170, 255, 0),
    (85, 255, 0),
    (0, 255, 0),
    (0, 255, 85),
    (0, 255, 170),
    (0, 255, 255),
    (0, 170, 255),
    (0, 85, 255),
    (0, 0, 255),
    (85, 0, 255),
    (170, 0, 255),
    (255, 0, 255),
    (255, 0, 170),
    (255, 0, 85),
]
HAND_PAIRS = [
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


def _points(arr):
    """Keypoints as (x, y) or None: the detector's output keeps confidence > 0.3."""
    return [(float(p[0]), float(p[1])) if p[2] > 0.3 else None for p in arr]


def _body(canvas, kps):
    for (a, b), colour in zip(PAIRS_ONE_BASED, BODY_COLOURS):
        k1, k2 = kps[a - 1], kps[b - 1]
        if k1 is None or k2 is None:
            continue
        mid_x, mid_y = (k1[0] + k2[0]) / 2, (k1[1] + k2[1]) / 2
        half = math.dist(k1, k2) / 2
        angle = math.degrees(math.atan2(k1[1] - k2[1], k1[0] - k2[0]))
        poly = cv2.ellipse2Poly((int(mid_x), int(mid_y)), (int(half), 4), int(angle), 0, 360, 1)
        cv2.fillConvexPoly(canvas, poly, [int(c * 0.6) for c in colour])
    for kp, colour in zip(kps, BODY_COLOURS):
        if kp is not None:
            cv2.circle(canvas, (int(kp[0]), int(kp[1])), 4, colour, thickness=-1)


def _hand(canvas, kps):
    if all(k is None for k in kps):
        return
    for i, (a, b) in enumerate(HAND_PAIRS):
        k1, k2 = kps[a], kps[b]
        if k1 is None or k2 is None:
            continue
        x1, y1, x2, y2 = int(k1[0]), int(k1[1]), int(k2[0]), int(k2[1])
        if min(x1, y1, x2, y2) > 0.01:
            colour = [c * 255 for c in colorsys.hsv_to_rgb(i / len(HAND_PAIRS), 1.0, 1.0)]
            cv2.line(canvas, (x1, y1), (x2, y2), colour, thickness=2)
    for kp in kps:
        if kp is not None and int(kp[0]) > 0.01 and int(kp[1]) > 0.01:
            cv2.circle(canvas, (int(kp[0]), int(kp[1])), 4, (0, 0, 255), thickness=-1)


def _face(canvas, kps):
    for kp in kps:
        if kp is not None and int(kp[0]) > 0.01 and int(kp[1]) > 0.01:
            cv2.circle(canvas, (int(kp[0]), int(kp[1])), 3, (255, 255, 255), thickness=-1)


def reference_frame(body, hands, face, width, height):
    """One frame: body (P, 18, 3), hands (P, 2, 21, 3) or None, face (P, 68, 3) or None -> (H, W, 3) uint8."""
    canvas = np.zeros((height, width, 3), np.uint8)
    for p in range(len(body)):
        kps = _points(body[p])
        _body(canvas, kps)
        if hands is not None:
            _hand(canvas, _points(hands[p, 0]))
            _hand(canvas, _points(hands[p, 1]))
        if face is not None:
            lmks = _points(face[p])
            if any(k is not None for k in lmks):
                _face(canvas, lmks + [kps[14], kps[15]])  # the OpenPose face pads with the body's eyes
    return canvas
