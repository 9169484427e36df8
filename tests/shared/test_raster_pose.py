import numpy as np
import pytest

from shared.errors import UserError
from shared.raster.pose import HAND_EDGE_COLOURS, LIMB_COLOURS, draw_pose
from shared.raster.shapes import ellipse_polygons, limb_pixels, line_pixels, paint, thick_line_pixels

from .dwpose_reference import reference_frame

cv2 = pytest.importorskip("cv2")


def body(points: dict, people=1):
    b = np.zeros((1, people, 18, 3))
    for k, (x, y) in points.items():
        b[0, 0, k] = (x, y, 1.0)
    return b


def px(frame, x, y):
    return tuple(int(v) for v in frame[y, x])


# ------------------------------------------------------------------------------ a synthetic person
# OpenPose-18 in units of the person's height, origin at the neck, y down
_TEMPLATE = np.array(
    [
        (0.0, -0.12),
        (0.0, 0.0),
        (-0.11, 0.01),
        (-0.16, 0.17),
        (-0.2, 0.32),
        (0.11, 0.01),
        (0.17, 0.16),
        (0.24, 0.3),
        (-0.07, 0.34),
        (-0.08, 0.58),
        (-0.09, 0.82),
        (0.07, 0.34),
        (0.1, 0.58),
        (0.12, 0.82),
        (-0.025, -0.14),
        (0.025, -0.14),
        (-0.06, -0.12),
        (0.06, -0.12),
    ]
)


def _hand_points(wrist, elbow, size, rng):
    """21 points: a palm and five fingers of four joints fanning out along elbow -> wrist."""
    d = (wrist - elbow) / (np.linalg.norm(wrist - elbow) + 1e-9)
    n = np.array([-d[1], d[0]])
    pts = [wrist]
    for f in range(5):
        base = wrist + d * size * 0.35 + n * size * (f - 2) * 0.12
        direction = d + n * (f - 2) * 0.25 + rng.normal(0, 0.1, 2)
        direction /= np.linalg.norm(direction)
        for j in range(4):
            pts.append(base + direction * size * 0.14 * j)
    return np.array(pts)


def _face_points(nose, size, rng):
    """68 points laid out like the iBUG face: jaw, brows, nose, eyes, mouth."""
    t = np.linspace(-1, 1, 17)
    jaw = np.stack([t * 0.5, 0.1 + 0.45 * (1 - t**2) ** 0.5 - 0.25], 1)
    brows = np.concatenate(
        [
            np.stack([np.linspace(-0.4, -0.1, 5), np.full(5, -0.3)], 1),
            np.stack([np.linspace(0.1, 0.4, 5), np.full(5, -0.3)], 1),
        ]
    )
    nose_pts = np.concatenate(
        [
            np.stack([np.zeros(4), np.linspace(-0.2, 0.05, 4)], 1),
            np.stack([np.linspace(-0.1, 0.1, 5), np.full(5, 0.1)], 1),
        ]
    )
    a = np.linspace(0, 2 * np.pi, 6, endpoint=False)
    eyes = np.concatenate([np.stack([c + 0.1 * np.cos(a), -0.17 + 0.04 * np.sin(a)], 1) for c in (-0.22, 0.22)])
    b = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    c = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    mouth = np.concatenate(
        [
            np.stack([0.2 * np.cos(b), 0.3 + 0.07 * np.sin(b)], 1),
            np.stack([0.12 * np.cos(c), 0.3 + 0.03 * np.sin(c)], 1),
        ]
    )
    pts = np.concatenate([jaw, brows, nose_pts, eyes, mouth])
    assert len(pts) == 68
    return nose + pts * size + rng.normal(0, 0.3, pts.shape)


def person(cx, cy, height, rng, turn=1.0):
    """(18, 3) body, (2, 21, 3) hands [left, right], (68, 3) face for a person whose neck is at (cx, cy)."""
    b = np.zeros((18, 3))
    t = _TEMPLATE * np.array([turn, 1.0])
    b[:, :2] = np.array([cx, cy]) + t * height + rng.normal(0, height * 0.01, (18, 2))
    b[1, :2] = (b[2, :2] + b[5, :2]) / 2
    b[:, 2] = rng.uniform(0.5, 1.0, 18)
    hands = np.zeros((2, 21, 3))
    for side, (wrist, elbow) in enumerate(((7, 6), (4, 3))):  # left hand, then right hand
        hands[side, :, :2] = _hand_points(b[wrist, :2], b[elbow, :2], height * 0.11, rng)
        hands[side, :, 2] = rng.uniform(0.4, 1.0, 21)
    face = np.zeros((68, 3))
    face[:, :2] = _face_points(b[0, :2], height * 0.09, rng)
    face[:, 2] = rng.uniform(0.4, 1.0, 68)
    return b, hands, face


def scene(width, height, people, seed):
    rng = np.random.default_rng(seed)
    if people == 1:
        parts = [person(width * 0.5 + 0.37, height * 0.18 + 0.61, height * 0.78, rng)]
    else:  # two people, the second one overlapping the first one's right side
        parts = [
            person(width * 0.45 + 0.21, height * 0.2 + 0.43, height * 0.75, rng),
            person(width * 0.55 + 0.77, height * 0.25 + 0.19, height * 0.7, rng, turn=-0.9),
        ]
    return tuple(np.stack([p[i] for p in parts])[None].astype(np.float32) for i in range(3))


def iou(a, b):
    union = (a | b).sum()
    return 1.0 if union == 0 else (a & b).sum() / union


@pytest.mark.parametrize("width,height", [(512, 512), (1024, 576)])
@pytest.mark.parametrize("people", [1, 2])
def test_matches_the_dwpose_drawing(width, height, people):
    """Non-black IoU >= 0.97 and every limb colour's IoU >= 0.95 against an OpenCV drawing of the
    same keypoints (measured: 1.0 and 1.0 on these scenes, pixel-identical)."""
    b, h, f = scene(width, height, people, seed=width + people)
    ours = draw_pose(b, h, f, width, height)[0]
    ref = reference_frame(b[0], h[0], f[0], width, height)
    assert iou(ours.any(2), ref.any(2)) >= 0.97
    for colour in LIMB_COLOURS:
        mine, theirs = (ours == colour).all(2), (ref == colour).all(2)
        assert theirs.sum() > 0
        assert iou(mine, theirs) >= 0.95, colour
    # in fact the same pixels, colours included
    assert (ours != ref).any(2).sum() <= 0.001 * ref.any(2).sum()


def test_confidence_and_edge_rules_match_the_reference():
    """Confidence > 0.3 (exactly 0.3 is absent), hand and face points in row or column 0 skipped,
    hands and faces truncated like the body."""
    rng = np.random.default_rng(5)
    b, h, f = scene(512, 512, 1, seed=3)
    b, h, f = b.astype(np.float64), h.astype(np.float64), f.astype(np.float64)
    b[0, 0, [3, 9], 2] = 0.3
    h[0, 0, 0, [0, 5, 9], 2] = 0.3
    h[0, 0, 1, 3, :2] = (0.7, 200.2)  # column 0 after truncation
    h[0, 0, 1, 8, :2] = (150.9, 0.99)  # row 0
    f[0, 0, :30, :2] = rng.uniform(-3, 1.5, (30, 2))
    ours = draw_pose(b, h, f, 512, 512)[0]
    ref = reference_frame(b[0], h[0], f[0], 512, 512)
    assert (ours != ref).any(2).sum() <= 0.001 * ref.any(2).sum()
    assert not (ours == LIMB_COLOURS[2]).all(2).any()  # limb 2 (R shoulder -> R elbow) needs keypoint 3


def test_face_draws_the_body_eyes_only_with_a_face():
    b = body({14: (100.5, 100.5), 15: (140.2, 100.9)})
    face = np.zeros((1, 1, 68, 3), np.float32)
    assert px(draw_pose(b, None, face, 256, 256)[0], 100, 100) == (170, 0, 255)  # joint 14's colour
    face[0, 0, 0] = (60, 60, 1)
    frame = draw_pose(b, None, face, 256, 256)[0]
    assert px(frame, 100, 100) == (255, 255, 255) and px(frame, 140, 100) == (255, 255, 255)
    assert px(frame, 103, 100) == (255, 255, 255)  # radius 3 over the radius-4 joint
    assert px(frame, 104, 100) == (170, 0, 255)


def test_people_are_drawn_one_after_the_other():
    """Person 2's limb covers person 1's joint (limb-major drawing would put the joint on top)."""
    b = np.zeros((1, 2, 18, 3), np.float32)
    b[0, 0, 2] = (200, 200, 1)  # person 1: a lone R shoulder
    b[0, 1, 2] = (150, 200, 1)  # person 2: R shoulder -> R elbow through it
    b[0, 1, 3] = (250, 200, 1)
    frame = draw_pose(b, None, None, 400, 400)[0]
    assert px(frame, 200, 200) == tuple(LIMB_COLOURS[2])


def test_limb_colour_is_dimmed_and_joints_full_colour():
    # R shoulder (2) -> R elbow (3) is limb 2 ([3, 4] one-based), colour (255, 170, 0)
    frame = draw_pose(body({2: (100, 100), 3: (300, 100)}), None, None, 512, 512)[0]
    assert px(frame, 200, 100) == (153, 102, 0)  # int(c * 0.6)
    assert px(frame, 100, 100) == (255, 170, 0)  # joint 2's colour
    assert px(frame, 300, 100) == (255, 255, 0)  # joint 3's colour
    # the limb is an ellipse polygon with semi-minor axis 4 px, outline included
    assert px(frame, 200, 104) == (153, 102, 0) and px(frame, 200, 105) == (0, 0, 0)
    assert px(frame, 200, 96) == (153, 102, 0) and px(frame, 200, 95) == (0, 0, 0)


def test_limb_geometry_is_truncated():
    """Centre, half length and angle are truncated: a limb from (100.9, 100.9) to (201.8, 100.9) has
    its centre at (151, 100) and half length 50, so it spans x = 101..201 on row 100."""
    frame = draw_pose(body({2: (100.9, 100.9), 3: (201.8, 100.9)}), None, None, 512, 512)[0]
    dim = (frame == LIMB_COLOURS[2]).all(2) | (frame != 0).any(2)
    row = np.flatnonzero(dim[100])
    assert (row.min(), row.max()) == (96, 205)  # joints of radius 4 at x = 100 and 201
    assert dim[96:105, 151].all() and not dim[95, 151] and not dim[105, 151]


def test_later_limb_overwrites_earlier_where_they_cross():
    # limb 2: R shoulder -> R elbow (153, 102, 0); limb 4: L shoulder -> L elbow (102, 153, 0)
    frame = draw_pose(body({2: (100, 100), 3: (300, 300), 5: (300, 100), 6: (100, 300)}), None, None, 512, 512)[0]
    assert px(frame, 200, 200) == (102, 153, 0)
    assert px(frame, 150, 150) == (153, 102, 0)
    assert px(frame, 250, 150) == (102, 153, 0)


def test_missing_keypoints_skip_limbs_and_joints():
    b = body({2: (100, 100), 3: (300, 100)})
    b[0, 0, 3, 2] = 0.3  # not above 0.3: absent
    frame = draw_pose(b, None, None, 512, 512)[0]
    assert px(frame, 200, 100) == (0, 0, 0) and px(frame, 300, 100) == (0, 0, 0)
    assert px(frame, 100, 100) == (255, 170, 0)
    assert frame.any(axis=2).sum() == 49  # only joint 2's disc of radius 4


def test_hands_and_face():
    b = body({})
    hands = np.zeros((1, 1, 2, 21, 3), np.float32)
    left = hands[0, 0, 0]
    left[:, 0] = 100 + np.arange(21) * 20  # points along a line, 20 px apart
    left[:, 1] = 200
    left[:5, 2] = 1  # the thumb chain only: edges 0..3
    face = np.zeros((1, 1, 68, 3), np.float32)
    face[0, 0, :, :2] = (400, 400)
    face[0, 0, 0] = (400, 400, 1)  # one visible landmark
    frame = draw_pose(b, hands, face, 512, 512)[0]
    assert px(frame, 110, 200) == (255, 0, 0)  # edge 0: HSV(0, 1, 1)
    assert px(frame, 130, 200) == tuple(HAND_EDGE_COLOURS[1]) == (255, 77, 0)
    assert px(frame, 110, 201) == (255, 0, 0) and px(frame, 110, 202) == (0, 0, 0)  # 2 px line: 3 rows
    assert px(frame, 100, 200) == (0, 0, 255)  # hand joints
    assert px(frame, 400, 400) == (255, 255, 255) and px(frame, 403, 400) == (255, 255, 255)
    assert px(frame, 404, 400) == (0, 0, 0)  # face dot radius 3
    assert not frame[390:411, 380:390].any()


def test_draw_order_body_hands_face():
    b = body({2: (100, 100), 3: (300, 100)})
    hands = np.zeros((1, 1, 2, 21, 3), np.float32)
    hands[0, 0, 1, 0] = (200, 100, 1)  # a right-hand joint on the limb
    face = np.zeros((1, 1, 68, 3), np.float32)
    face[0, 0, 0] = (150, 100, 1)  # a face dot on the limb
    frame = draw_pose(b, hands, face, 512, 512)[0]
    assert px(frame, 200, 100) == (0, 0, 255)
    assert px(frame, 150, 100) == (255, 255, 255)
    assert px(frame, 250, 100) == (153, 102, 0)


def test_sizes_are_dwpose_pixels_at_any_canvas_size():
    for size in (256, 1024):
        frame = draw_pose(body({0: (200, 200)}), None, None, size, size)[0]
        assert px(frame, 204, 200) == (255, 0, 0) and px(frame, 205, 200) == (0, 0, 0)


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


# --------------------------------------------------------------------- the integer primitives
def _mask(shape, xs, ys):
    out = np.zeros(shape, np.uint8)
    paint(out[..., None], xs, ys, np.zeros(len(xs)), np.full((len(xs), 1), 255, np.uint8))
    return out


def test_primitives_match_opencv():
    """The numpy primitives against OpenCV on random cases: 1 px and 2 px lines exactly, ellipse
    polygons and their fills within a pixel in a thousand (ties of OpenCV's rounding)."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        x0, y0, x1, y1 = (int(v) for v in rng.integers(2, 60, 4))
        ref = np.zeros((64, 64), np.uint8)
        cv2.line(ref, (x0, y0), (x1, y1), 255, 1)
        assert (_mask(ref.shape, *line_pixels(x0, y0, x1, y1)[:2]) == ref).all(), (x0, y0, x1, y1)
        ref[:] = 0
        cv2.line(ref, (x0, y0), (x1, y1), 255, 2)
        assert (_mask(ref.shape, *thick_line_pixels(x0, y0, x1, y1)[:2]) == ref).all(), (x0, y0, x1, y1)
    differing = total = 0
    cx, cy = rng.integers(20, 280, (2, 300))
    half, angle = rng.integers(0, 120, 300), rng.integers(-180, 181, 300)
    vx, vy, vp = ellipse_polygons(cx, cy, half, 4, angle)
    xs, ys, i = limb_pixels(cx, cy, half, 4, angle)
    for k in range(300):
        poly = cv2.ellipse2Poly((int(cx[k]), int(cy[k])), (int(half[k]), 4), int(angle[k]), 0, 360, 1)
        assert abs(len(poly) - (vp == k).sum()) <= 2
        ref = np.zeros((300, 300), np.uint8)
        cv2.fillConvexPoly(ref, poly, 255)
        differing += (_mask(ref.shape, xs[i == k], ys[i == k]) != ref).sum()
        total += (ref > 0).sum()
    assert differing <= 0.001 * total
