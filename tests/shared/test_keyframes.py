"""The keyframe rule (shared/keyframes.py): which frames can take an image, the nearest valid ones
for a bad frame, the spec's keyframe entries and the command line's FRAME=IMAGE[@STRENGTH]."""

from __future__ import annotations

import pytest

from shared.errors import UserError
from shared.job_spec import GenerationSpec
from shared.keyframes import (
    MAX_KEYFRAMES,
    check_keyframe_entries,
    check_keyframe_frame,
    is_valid_keyframe_frame,
    aligned_keyframe_frames,
    nearest_keyframe_frames,
    parse_keyframe_arg,
)


def test_every_frame_of_the_clip_can_take_an_image():
    """As the official pipelines take any index (their keyframe-interpolation examples key the last
    frame and frames in between): 0 .. frames - 1 are valid, nothing outside."""
    for frames in (9, 17, 121):
        assert [f for f in range(-3, frames + 9) if is_valid_keyframe_frame(f, frames)] == list(range(frames))
    assert check_keyframe_frame(16, 17) == 16 and check_keyframe_frame(5, 17) == 5 and check_keyframe_frame(0, 9) == 0


def test_aligned_frames_are_the_first_and_the_starts_of_the_latent_frames():
    assert aligned_keyframe_frames(9) == [0, 1]
    assert aligned_keyframe_frames(17) == [0, 1, 9]
    assert aligned_keyframe_frames(121) == [0] + list(range(1, 114, 8))


@pytest.mark.parametrize("frame, frames, nearest", [(17, 17, 16), (200, 17, 16), (-4, 17, 0), (9, 9, 8)])
def test_a_frame_outside_the_clip_is_refused_with_the_nearest_inside(frame, frames, nearest):
    assert nearest_keyframe_frames(frame, frames) == [nearest]
    with pytest.raises(UserError) as info:
        check_keyframe_frame(frame, frames)
    assert info.value.field == "keyframes"
    assert f"the nearest valid frame is {nearest} " in str(info.value)


def test_messages_speak_in_the_callers_frames():
    with pytest.raises(
        UserError,
        match=r"marker 'A' at frame 1017 is outside the job's frames 1000..1016; the nearest valid frame is 1016",
    ) as info:
        check_keyframe_frame(17, 17, offset=1000, what="marker 'A'")
    assert "1000, 1001, 1009" in str(info.value)  # the frames that line up with a latent frame


@pytest.mark.parametrize(
    "entries, frames, match",
    [
        ("x", None, "expected a list"),
        ([{"frame": 1, "look": "x"}], None, "entry 0 must be"),
        ([{"strength": 1.0}], None, "entry 0 must be"),
        ([{"frame": -1}], None, "integer >= 0"),
        ([{"frame": True}], None, "integer >= 0"),
        ([{"frame": 1, "strength": 1.01}], None, r"strength must be a number in \[0, 1\]"),
        ([{"frame": 1, "strength": float("nan")}], None, "strength must be"),
        ([{"frame": 1}, {"frame": 1, "strength": 0.5}], None, "frame 1 is given twice"),
        ([{"frame": i} for i in range(MAX_KEYFRAMES + 1)], None, f"at most {MAX_KEYFRAMES}"),
        ([{"frame": 20}], 17, "nearest valid frame is 16"),
    ],
)
def test_bad_entries_are_refused(entries, frames, match):
    with pytest.raises(UserError, match=match) as info:
        check_keyframe_entries(entries, frames)
    assert info.value.field == "keyframes"


def test_spec_keyframes_round_trip_and_are_checked_against_its_frames():
    spec = GenerationSpec.from_json(
        {"prompt": "p", "frames": 17, "keyframes": [{"frame": 9, "strength": 0.5}, {"frame": 0}]}
    )
    assert spec.to_json()["keyframes"] == [{"frame": 9, "strength": 0.5}, {"frame": 0, "strength": 1.0}]
    assert GenerationSpec.from_json(spec.to_json_text()).keyframes == spec.keyframes
    assert GenerationSpec(prompt="p").to_json()["keyframes"] == []
    with pytest.raises(UserError, match="frame 17 .* nearest valid frame is 16"):
        GenerationSpec.from_json({"prompt": "p", "frames": 17, "keyframes": [{"frame": 17}]})
    # without a frame count the index is checked when the job's frames are known (the engine's plan)
    assert GenerationSpec.from_json({"prompt": "p", "keyframes": [{"frame": 17}]}).keyframes[0]["frame"] == 17


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("9=look.png", (9, "look.png", 1.0)),
        ("9=look.png@0.25", (9, "look.png", 0.25)),
        ("0=shots/a@b.png", (0, "shots/a@b.png", 1.0)),
        ("17=x@y.png@0.5", (17, "x@y.png", 0.5)),
    ],
)
def test_command_line_keyframes(text, parsed):
    assert parse_keyframe_arg(text) == parsed


@pytest.mark.parametrize(
    "text, match",
    [("9", "FRAME=IMAGE"), ("=a.png", "is not an integer"), ("x=a.png", "not an integer"), ("9=", "FRAME=IMAGE")],
)
def test_bad_command_line_keyframes(text, match):
    with pytest.raises(UserError, match=match):
        parse_keyframe_arg(text)
    with pytest.raises(UserError, match=r"strength must be in \[0, 1\]"):
        parse_keyframe_arg("9=a.png@1.5")
    with pytest.raises(UserError, match="0 or more"):
        parse_keyframe_arg("-9=a.png")
