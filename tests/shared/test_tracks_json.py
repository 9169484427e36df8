import json

import numpy as np
import pytest

from shared.errors import UserError
from shared.tracks_json import OFF_CANVAS, catmull_rom, dump_tracks_json, load_tracks_json

A = [{"x": 10, "y": 20}, {"x": 11.5, "y": 21}, {"x": 12, "y": 22}]
B = [{"x": 100, "y": 50}]


def test_list_of_tracks_in_document_order():
    points, visible = load_tracks_json(json.dumps([A, B]))
    assert points.shape == (2, 3, 2) and visible.shape == (2, 3)
    np.testing.assert_array_equal(points[0], [[10, 20], [11.5, 21], [12, 22]])
    np.testing.assert_array_equal(points[1, 0], [100, 50])
    # B is shorter: it just stops (not visible after its end)
    np.testing.assert_array_equal(visible, [[True, True, True], [True, False, False]])


def test_accepts_what_the_node_accepts():
    expected, _ = load_tracks_json(json.dumps([A, B]))
    single, vis = load_tracks_json(json.dumps(A))  # one track
    assert single.shape == (1, 3, 2) and vis.all()
    as_strings, _ = load_tracks_json(json.dumps([json.dumps(A), json.dumps(B)]))  # editor output
    np.testing.assert_array_equal(as_strings, expected)
    nested, _ = load_tracks_json(json.dumps([[A, B], []]))  # nested, empty lists skipped
    np.testing.assert_array_equal(nested, expected)
    parsed, _ = load_tracks_json([A, B])  # already parsed
    np.testing.assert_array_equal(parsed, expected)
    empty, vis = load_tracks_json("[]")
    assert empty.shape == (0, 0, 2) and vis.shape == (0, 0)


@pytest.mark.parametrize(
    "text, needle",
    [
        ('{"tracks": []}', "dict"),
        ('[[{"x": 1, "y": 2}, {"x": 1}]]', "frame 1"),
        ('[[{"x": "1", "y": 2}]]', "finite number"),
        ('[[{"x": true, "y": 2}]]', "finite number"),
        ('[[{"x": NaN, "y": 2}]]', "finite number"),
        ("[[1, 2, 3]]", "int"),
        ("not json", "not valid JSON"),
        ('["[{\\"x\\": 1"]', "item 0"),
    ],
)
def test_refuses_malformed(text, needle):
    with pytest.raises(UserError) as err:
        load_tracks_json(text)
    assert needle in str(err.value)
    assert err.value.field == "tracks"


def test_dump_load_round_trip_with_hidden_points():
    points = np.array(
        [
            [[1, 2], [3.25, 4], [5, 6], [7, 8]],
            [[10, 10], [20, 20], [30, 30], [40, 40]],
            [[0, 0], [0, 0], [0, 0], [0, 0]],
        ],
        np.float32,
    )
    visible = np.array(
        [
            [True, True, True, True],
            [False, True, True, False],  # appears late, vanishes early
            [False, False, False, False],
        ]
    )
    text = dump_tracks_json(points, visible)
    raw = json.loads(text)
    assert len(raw[0]) == 4  # first track keeps the full length
    assert len(raw[1]) == 3  # trailing hidden frame dropped: the track stops
    assert raw[1][0] == {"x": OFF_CANVAS, "y": OFF_CANVAS}
    assert raw[0][1] == {"x": 3.25, "y": 4}
    p2, v2 = load_tracks_json(text)
    np.testing.assert_array_equal(v2, visible)
    np.testing.assert_array_equal(p2[visible], points[visible])


def test_catmull_rom_one_and_two_points():
    np.testing.assert_array_equal(catmull_rom([[3.5, 4.5]], 3), [[4, 4]] * 3)  # half to even
    out = catmull_rom([[0, 0], [10, 5]], 5)
    # x: 0, 2.5, 5, 7.5, 10 -> 0, 2, 5, 8, 10; y: 0, 1.25, 2.5, 3.75, 5 -> 0, 1, 2, 4, 5
    np.testing.assert_array_equal(out, [[0, 0], [2, 1], [5, 2], [8, 4], [10, 5]])
    assert out.dtype == np.int64


def test_catmull_rom_three_points_hand_computed():
    # padded: P0=P1=(0,0), P2=(10,0), P3=P4=(10,10); g = 0, .5, 1, 1.5, 2
    # i=1: seg 0, t=.5 -> x = .5*(10*.5 + 30*.25 - 20*.125) = 5, y = .5*(-10*.25 + 10*.125) = -.625
    # i=3: seg 1, t=.5 -> x = .5*(20 + 10*.5 - 20*.25 + 10*.125) = 10.625, y = .5*(5 + 30*.25 - 20*.125) = 5
    out = catmull_rom([{"x": 0, "y": 0}, {"x": 10, "y": 0}, {"x": 10, "y": 10}], 5)
    np.testing.assert_array_equal(out, [[0, 0], [5, -1], [10, 0], [11, 5], [10, 10]])


def test_catmull_rom_passes_through_keypoints_and_refuses_bad_input():
    kp = np.array([[0, 0], [40, 8], [80, -8], [120, 0]])
    out = catmull_rom(kp, 7)  # g = 0, .5, 1, ..., 3: every other sample is a keypoint
    np.testing.assert_array_equal(out[::2], kp)
    with pytest.raises(UserError):
        catmull_rom(kp, 1)
    with pytest.raises(UserError):
        catmull_rom([[1, 2, 3]], 5)
