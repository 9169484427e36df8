import colorsys

import numpy as np
import pytest

from shared.errors import UserError
from shared.raster.pose import HAND_EDGE_COLOURS, draw_pose, size_scale


def body(points: dict, people=1):
    b = np.zeros((1, people, 18, 3), np.float32)
    for k, (x, y) in points.items():
        b[0, 0, k] = (x, y, 1.0)
    return b


def px(frame, x, y):
    return tuple(int(v) for v in frame[y, x])


def test_limb_colour_is_dimmed_and_joints_full_colour():
    # R shoulder (2) -> R elbow (3) is limb 2 ([3, 4] one-based), colour (255, 170, 0)
    frame = draw_pose(body({2: (100, 100), 3: (300, 100)}), None, None, 512, 512)[0]
    assert px(frame, 200, 100) == (153, 102, 0)          # x 0.6
    assert px(frame, 100, 100) == (255, 170, 0)          # joint 2's colour
    assert px(frame, 300, 100) == (255, 255, 0)          # joint 3's colour
    # the limb is an ellipse: semi-minor 4 px at a 512 short side
    assert px(frame, 200, 104) == (153, 102, 0) and px(frame, 200, 105) == (0, 0, 0)
    assert px(frame, 200, 96) == (153, 102, 0) and px(frame, 200, 95) == (0, 0, 0)


def test_later_limb_overwrites_earlier_where_they_cross():
    # limb 2: R shoulder -> R elbow (153, 102, 0); limb 4: L shoulder -> L elbow (102, 153, 0)
    frame = draw_pose(body({2: (100, 100), 3: (300, 300), 5: (300, 100), 6: (100, 300)}), None, None, 512, 512)[0]
    assert px(frame, 200, 200) == (102, 153, 0)
    assert px(frame, 150, 150) == (153, 102, 0)
    assert px(frame, 250, 150) == (102, 153, 0)


def test_limb_colours_in_order():
    pts = {1: (256, 100), 2: (150, 100), 5: (362, 100), 8: (200, 400), 11: (312, 400), 0: (256, 30)}
    frame = draw_pose(body(pts), None, None, 512, 512)[0]
    assert px(frame, 203, 100) == (153, 0, 0)     # limb 0: neck -> R shoulder, (255, 0, 0) x .6
    assert px(frame, 309, 100) == (153, 51, 0)    # limb 1: neck -> L shoulder
    assert px(frame, 228, 250) == (0, 153, 0)     # limb 6: neck -> R hip, (0, 255, 0) x .6
    assert px(frame, 284, 250) == (0, 153, 153)   # limb 9: neck -> L hip
    assert px(frame, 256, 65) == (0, 0, 153)      # limb 12: neck -> nose, (0, 0, 255) x .6


def test_missing_keypoints_skip_limbs_and_joints():
    b = body({2: (100, 100), 3: (300, 100)})
    b[0, 0, 3, 2] = 0.29                            # below 0.3: absent
    frame = draw_pose(b, None, None, 512, 512)[0]
    assert px(frame, 200, 100) == (0, 0, 0) and px(frame, 300, 100) == (0, 0, 0)
    assert px(frame, 100, 100) == (255, 170, 0)
    assert frame.any(axis=2).sum() == 49            # only joint 2's disc of radius 4


def test_hands_and_face():
    b = body({})
    hands = np.zeros((1, 1, 2, 21, 3), np.float32)
    left = hands[0, 0, 0]
    left[:, 0] = 100 + np.arange(21) * 20            # points along a line, 20 px apart
    left[:, 1] = 200
    left[:5, 2] = 1                                  # the thumb chain only: edges 0..3
    face = np.zeros((1, 1, 68, 3), np.float32)
    face[0, 0, :, :2] = (400, 400)
    face[0, 0, 0] = (400, 400, 1)                    # one visible landmark
    frame = draw_pose(b, hands, face, 512, 512)[0]
    assert px(frame, 110, 200) == (255, 0, 0)        # edge 0: HSV(0, 1, 1)
    assert px(frame, 130, 200) == tuple(HAND_EDGE_COLOURS[1])
    assert tuple(HAND_EDGE_COLOURS[5]) == tuple(round(c * 255) for c in colorsys.hsv_to_rgb(5 / 20, 1, 1))
    assert px(frame, 110, 201) == (255, 0, 0) and px(frame, 110, 202) == (0, 0, 0)  # 2 px line
    assert px(frame, 100, 200) == (0, 0, 255)        # hand joints
    assert px(frame, 400, 400) == (255, 255, 255) and px(frame, 403, 400) == (255, 255, 255)
    assert px(frame, 404, 400) == (0, 0, 0)          # face dot radius 3
    assert not frame[390:411, 380:390].any()


def test_draw_order_body_hands_face():
    b = body({2: (100, 100), 3: (300, 100)})
    hands = np.zeros((1, 1, 2, 21, 3), np.float32)
    hands[0, 0, 1, 0] = (200, 100, 1)                # a right-hand joint on the limb
    face = np.zeros((1, 1, 68, 3), np.float32)
    face[0, 0, 0] = (150, 100, 1)                    # a face dot on the limb
    frame = draw_pose(b, hands, face, 512, 512)[0]
    assert px(frame, 200, 100) == (0, 0, 255)
    assert px(frame, 150, 100) == (255, 255, 255)
    assert px(frame, 250, 100) == (153, 102, 0)


def test_sizes_scale_with_short_side():
    assert size_scale(1024, 576) == 576 / 512
    frame = draw_pose(body({0: (500, 500)}), None, None, 1024, 1024)[0]   # radius 8
    assert px(frame, 508, 500) == (255, 0, 0) and px(frame, 509, 500) == (0, 0, 0)


def test_shape_and_refusals():
    out = draw_pose(np.zeros((3, 2, 18, 3), np.float32), None, None, 64, 32)
    assert out.shape == (3, 32, 64, 3) and out.dtype == np.uint8 and not out.any()
    with pytest.raises(UserError, match="pose_body"):
        draw_pose(np.zeros((3, 2, 17, 3)), None, None, 64, 32)
    with pytest.raises(UserError, match="pose_hands"):
        draw_pose(np.zeros((3, 2, 18, 3)), np.zeros((3, 1, 2, 21, 3)), None, 64, 32)
    bad = np.zeros((1, 1, 18, 3))
    bad[0, 0, 0] = (np.nan, 1, 1)
    with pytest.raises(UserError, match="finite"):
        draw_pose(bad, None, None, 64, 32)
