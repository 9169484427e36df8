from fractions import Fraction

import pytest

from shared.errors import UserError
from shared.video_rules import (
    VideoRuleError,
    check_frames,
    check_size,
    format_fps,
    parse_fps,
    size_multiple,
    snap_frames,
    snap_size,
)


@pytest.mark.parametrize(
    "n, expected",
    [
        (121, 121),
        (120, 121),
        (118, 121),
        (117, 121),
        (116, 113),
        (113, 113),
        (9, 9),
        (5, 9),
        (1, 9),
        (0, 9),
        (-7, 9),
        (125, 129),
    ],
)
def test_snap_frames_nearest_8k_plus_1_ties_up(n, expected):
    assert snap_frames(n) == expected


def test_check_frames_accepts_8k_plus_1():
    assert check_frames(9) == 9
    assert check_frames(121) == 121


def test_check_frames_names_nearest_valid_counts():
    with pytest.raises(VideoRuleError) as err:
        check_frames(120)
    msg = str(err.value)
    assert "113" in msg and "121" in msg and "use 121" in msg
    assert err.value.field == "frames"
    assert isinstance(err.value, UserError)


def test_check_frames_too_few():
    with pytest.raises(VideoRuleError, match="at least 9.*use 9"):
        check_frames(8)


@pytest.mark.parametrize("bad", [12.0, "121", None, True])
def test_frames_must_be_integers(bad):
    with pytest.raises(VideoRuleError):
        check_frames(bad)


@pytest.mark.parametrize("factor, expected", [(1, 64), (2, 128), (3, 192)])
def test_size_multiple(factor, expected):
    assert size_multiple(factor) == expected


def test_size_multiple_refuses_bad_factor():
    with pytest.raises(VideoRuleError, match="reference_downscale_factor"):
        size_multiple(0)


def test_snap_size():
    assert snap_size(1000, 570, 64) == (1024, 576)
    assert snap_size(10, 10, 64) == (64, 64)  # at least one multiple
    assert snap_size(1024, 576, 128) == (1024, 640)  # 4.5 multiples: ties go up
    assert snap_size(960, 544, 32) == (960, 544)


def test_check_size_names_axis_and_nearest():
    assert check_size(1024, 576, 64) == (1024, 576)
    with pytest.raises(VideoRuleError) as err:
        check_size(1000, 576, 64)
    assert "1024x576" in str(err.value) and "width" in str(err.value)
    assert err.value.field == "width"
    with pytest.raises(VideoRuleError) as err:
        check_size(1024, 576, 128)  # factor 2 (ref0.5 LoRA), two-stage
    assert "1024x640" in str(err.value) and err.value.field == "height"
    with pytest.raises(VideoRuleError) as err:
        check_size(1000, 570, 64)
    assert err.value.field == "size"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("23.976", Fraction(24000, 1001)),
        (23.976, Fraction(24000, 1001)),
        ("29.97", Fraction(30000, 1001)),
        (29.97, Fraction(30000, 1001)),
        ("47.952", Fraction(48000, 1001)),
        ("59.94", Fraction(60000, 1001)),
        ("119.88", Fraction(120000, 1001)),
        ("24000/1001", Fraction(24000, 1001)),
        ("24", Fraction(24)),
        (24, Fraction(24)),
        (25.0, Fraction(25)),
        ("12.5", Fraction(25, 2)),
        (Fraction(30), Fraction(30)),
        (" 30000 / 1001 ", Fraction(30000, 1001)),
        (240, Fraction(240)),
    ],
)
def test_parse_fps_exact(value, expected):
    fps = parse_fps(value)
    assert fps == expected and isinstance(fps, Fraction)


@pytest.mark.parametrize("bad", [0, -24, 241, "abc", "1/0", None, True, float("nan"), float("inf"), [24]])
def test_parse_fps_refuses(bad):
    with pytest.raises(VideoRuleError) as err:
        parse_fps(bad)
    assert err.value.field == "fps"


def test_parse_fps_range_message():
    with pytest.raises(VideoRuleError, match="at most 240"):
        parse_fps(300)


def test_format_fps():
    assert format_fps(Fraction(24000, 1001)) == "24000/1001"
    assert format_fps(Fraction(24)) == "24"
    assert parse_fps(format_fps(parse_fps("59.94"))) == Fraction(60000, 1001)
