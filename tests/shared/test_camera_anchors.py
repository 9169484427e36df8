"""Camera anchors' bookkeeping (shared/camera_anchors.py), driven by a flat synthetic set.

The "world" here is a plane whose points (X, Y, 0) are seen at pixel (X - shift(i), Y) in frame i:
a pan by `shift` pixels. Occluders and sky are pixel-space rectangles, so every expected track is
known exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.camera_anchors import (
    AUTO_SPACING,
    AnchorTracker,
    anchor_rules,
    candidate_grid,
    open_cells,
    pick_seeds,
)
from shared.errors import UserError
from shared.tracks_json import OFF_CANVAS, dump_tracks_json, load_tracks_json

W, H, F = 200, 100, 20


def _run(rules, shift=lambda i: 0.0, hidden=lambda i, px: np.zeros(len(px), bool), sky=None):
    """Drive a tracker over F frames as a caller would; returns (result, seed pixels by frame)."""
    tracker = AnchorTracker(rules, W, H, F)
    seeded = {}
    for i in range(F):
        world = tracker.live_world()
        px = world[:, :2] - [shift(i), 0.0]
        tracker.observe(i, px, np.ones(len(px), bool), ~hidden(i, px))
        if tracker.wants_seeds(i):
            centres = tracker.seed_candidates()
            world_hits = np.c_[centres + [shift(i), 0.0], np.zeros(len(centres))]
            ok = ~hidden(i, centres)
            if sky is not None:
                ok &= ~sky(centres)
            before = len(tracker.live)
            tracker.add_seeds(i, world_hits, centres, ok)
            seeded[i] = tracker.live_px()[before:]
    return tracker.result(), seeded


def _runs(visible):
    """(start, end) of each track's visible frames; asserts they are one contiguous run."""
    out = []
    for v in visible:
        frames = np.flatnonzero(v)
        assert len(frames) and (np.diff(frames) == 1).all(), f"a track resumed after ending: {frames}"
        out.append((int(frames[0]), int(frames[-1]) + 1))
    return out


def test_tracks_follow_the_move_and_end_when_leaving_the_frame():
    rules = anchor_rules(16, 0, True, W, H)
    shift = lambda i: 12.0 * i  # noqa: E731
    (world, points, visible), _ = _run(rules, shift)
    assert points.dtype == np.float32 and visible.dtype == bool and points.shape == (len(world), F, 2)
    ended = 0
    for k, (start, end) in enumerate(_runs(visible)):
        expected = np.array([[world[k, 0] - shift(i), world[k, 1]] for i in range(start, end)])
        np.testing.assert_allclose(points[k, start:end], expected, atol=1e-4)
        assert (points[k, :start] == OFF_CANVAS).all() and (points[k, end:] == OFF_CANVAS).all()
        if end < F:  # it ended because its point left the frame there, not earlier
            assert world[k, 0] - shift(end) < 0
            ended += 1
    assert ended > 5


def test_reseeding_fills_the_side_the_move_uncovers():
    shift = lambda i: 12.0 * i  # noqa: E731  (the set slides left: the right side empties)
    (_, points, visible), seeded = _run(anchor_rules(16, 0, True, W, H), shift)
    assert (visible.sum(axis=0) == 16).all()  # the count is kept up every frame
    late = np.concatenate([px for i, px in seeded.items() if i > 0])
    assert len(late) > 10 and (late[:, 0] > 0.75 * W).sum() > len(late) / 3
    last = points[visible[:, -1], -1]
    assert (last[:, 0] > 0.75 * W).sum() >= 3  # the ground the pan uncovered holds anchors
    (_, off_points, off_visible), seeded_off = _run(anchor_rules(16, 0, False, W, H), shift)
    assert list(seeded_off) == [0]  # no reseeding: frame 0 only
    assert len(off_visible) == 16 and off_visible[:, -1].sum() < 8
    assert (off_points[off_visible[:, -1], -1][:, 0] < 0.75 * W).all()


def test_a_hidden_point_ends_its_track_for_good():
    def hidden(i, px):  # a box passes over x 40..120 during frames 5..8
        return (i >= 5) & (i <= 8) & (px[:, 0] >= 40) & (px[:, 0] <= 120)

    # as many anchors as grid cells (8 x 4 at 25 px): every cell holds one while it can
    (world, _points, visible), seeded = _run(anchor_rules(32, 25.0, True, W, H), hidden=hidden)
    runs = _runs(visible)
    behind = [k for k, (start, _) in enumerate(runs) if start == 0 and 40 <= world[k, 0] <= 120]
    assert behind
    for k in behind:
        assert runs[k] == (0, 5)  # ended when hidden, not back after the box has passed
    # the emptied area is seeded again once the box has gone (new tracks, starting at frame 9)
    refill = [k for k, (start, _) in enumerate(runs) if start > 0 and 40 <= world[k, 0] <= 120]
    assert refill and all(runs[k][0] == 9 for k in refill)
    assert sorted(i for i, px in seeded.items() if len(px)) == [0, 9]


def test_new_anchors_keep_the_spacing_and_the_count():
    rules = anchor_rules(12, 20.0, True, W, H)
    shift = lambda i: 9.0 * i  # noqa: E731
    (_, points, visible), seeded = _run(rules, shift)
    assert visible.sum(axis=0).max() <= 12
    for i, new in seeded.items():
        live = points[visible[:, i], i]
        for p in new:  # every new anchor is >= spacing from every other anchor live at that frame
            d = np.sqrt(((live - p) ** 2).sum(axis=1))
            assert np.sort(d)[1] >= 20.0 - 1e-4  # [0] is the anchor itself


def test_sky_holds_no_anchor():
    sky = lambda px: px[:, 1] < 40  # noqa: E731
    (_, points, visible), _ = _run(anchor_rules(30, 0, True, W, H), sky=sky)
    assert (points[visible][:, 1] >= 40).all()
    assert 0 < visible[:, 0].sum() <= 30


def test_rules_auto_spacing_and_refusals():
    rules = anchor_rules(64, 0, True, 1024, 576)
    assert rules.spacing == pytest.approx(AUTO_SPACING * math.sqrt(1024 * 576 / 64))
    assert (rules.count, rules.reseed) == (64, True)
    assert anchor_rules(8, 33.5, False, W, H).spacing == 33.5
    for count in (0, -1, True, 5000, 2.5):
        with pytest.raises(UserError) as exc:
            anchor_rules(count, 0, True, W, H)
        assert exc.value.field == "camera_anchors"
    for spacing in (2.0, float("nan"), "wide"):
        with pytest.raises(UserError) as exc:
            anchor_rules(8, spacing, True, W, H)
        assert exc.value.field == "anchor_spacing"


def test_candidate_grid_covers_the_frame_at_the_spacing():
    grid = candidate_grid(W, H, 30.0)
    assert grid.shape == (6 * 3, 2)
    assert (grid[:, 0] > 0).all() and (grid[:, 0] < W).all() and (grid[:, 1] > 0).all() and (grid[:, 1] < H).all()
    xs, ys = np.unique(grid[:, 0]), np.unique(grid[:, 1])
    assert np.diff(xs).min() >= 30.0 and np.diff(ys).min() >= 30.0
    assert grid[0].tolist() == [xs[0], ys[0]] and grid[1].tolist() == [xs[1], ys[0]]  # row-major


def test_open_cells_and_farthest_first_picks():
    grid = np.array([[10.0, 10.0], [50.0, 10.0], [90.0, 10.0]])
    assert open_cells(grid, [[12.0, 10.0]], 20.0).tolist() == [1, 2]
    assert open_cells(grid, np.zeros((0, 2)), 20.0).tolist() == [0, 1, 2]
    seeds = [[10.0, 0.0], [50.0, 0.0], [30.0, 0.0], [52.0, 0.0]]
    assert pick_seeds(seeds, [[0.0, 0.0]], 2, 5.0).tolist() == [3, 2]
    assert pick_seeds(seeds, [[0.0, 0.0]], 10, 15.0).tolist() == [3, 2]  # 10 and 50 are too close
    assert pick_seeds(seeds, np.zeros((0, 2)), 0, 5.0).tolist() == []


def test_frames_are_observed_in_order():
    tracker = AnchorTracker(anchor_rules(4, 0, True, W, H), W, H, F)
    with pytest.raises(ValueError, match="in order"):
        tracker.observe(1, np.zeros((0, 2)), [], [])
    tracker.observe(0, np.zeros((0, 2)), [], [])
    with pytest.raises(ValueError, match="observed"):
        tracker.add_seeds(1, np.zeros((0, 3)), np.zeros((0, 2)), [])


def test_anchor_tracks_survive_the_draw_tracks_json():
    """Exported JSON reads back as the same tracks: late starts as off-canvas points, ends as stops."""
    (_, points, visible), _ = _run(anchor_rules(16, 0, True, W, H), lambda i: 12.0 * i)
    assert not visible[:, 0].all() and not visible[:, -1].all()
    loaded, loaded_visible = load_tracks_json(dump_tracks_json(points, visible))
    assert loaded.shape[0] == len(points)
    shown = np.zeros_like(visible)
    shown[:, : loaded.shape[1]] = loaded_visible
    np.testing.assert_array_equal(shown, visible)
    np.testing.assert_array_equal(loaded[loaded_visible], points[:, : loaded.shape[1]][loaded_visible])
