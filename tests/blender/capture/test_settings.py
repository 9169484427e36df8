"""CaptureSettings -> CapturePlan: snapping, refusal, notes (no bpy needed)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from blender_addon.capture.settings import CaptureSettings, fps_of, resolve_plan
from blender_addon.shared.errors import UserError
from blender_addon.shared.video_rules import VideoRuleError


def test_scene_values_snap_and_say_so():
    plan = resolve_plan(CaptureSettings(kind="depth"), 1000, 560, 1, 120, 24)
    assert (plan.width, plan.height) == (1024, 576)
    assert (plan.frame_start, plan.frame_count) == (1, 121)
    assert list(plan.frames)[-1] == 121
    assert (plan.depth_width, plan.depth_height) == (512, 288)
    assert plan.fps == Fraction(24)
    assert plan.notes == (
        "size 1000x560 snapped to 1024x576 (multiples of 64)",
        "120 frames snapped to 121 (8k+1): frames 1-121",
        "depth rendered at 512x288, the size the model sees",
    )


def test_valid_values_pass_unchanged_and_without_notes():
    s = CaptureSettings(kind="pose", width=768, height=512, frame_start=10, frame_count=49, fps="24000/1001")
    plan = resolve_plan(s, 1, 1, 0, 0, 30)
    assert (plan.width, plan.height, plan.frame_start, plan.frame_count) == (768, 512, 10, 49)
    assert plan.fps == Fraction(24000, 1001)
    assert plan.notes == ()


def test_reference_factor_and_full_depth():
    s = CaptureSettings(kind="depth", width=1024, height=512, frame_count=9, reference_downscale_factor=2)
    plan = resolve_plan(s, 1, 1, 1, 9, 24)
    assert (plan.depth_width, plan.depth_height) == (256, 128)
    s.depth_size = "full"
    plan = resolve_plan(s, 1, 1, 1, 9, 24)
    assert (plan.depth_width, plan.depth_height) == (1024, 512)


def test_no_snap_refuses_with_the_fix():
    with pytest.raises(VideoRuleError, match="nearest valid counts are 113 and 121"):
        resolve_plan(CaptureSettings(snap=False), 1024, 576, 1, 120, 24)
    with pytest.raises(VideoRuleError, match="nearest valid size is 1024x576"):
        resolve_plan(CaptureSettings(snap=False), 1000, 576, 1, 121, 24)


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"kind": "normals"}, "kind"),
        ({"depth_engine": "EEVEE"}, "depth_engine"),
        ({"kind": "tracks"}, "track_targets"),
        ({"rig_preset": "custom"}, "custom_mapping"),
        ({"width": 0}, "width"),
    ],
)
def test_bad_settings_name_the_field(changes, field):
    with pytest.raises(UserError) as err:
        resolve_plan(CaptureSettings(**changes), 512, 512, 1, 9, 24)
    assert err.value.field == field


def test_ntsc_fps_from_blender_fields():
    assert fps_of(24, 1.001) == Fraction(24000, 1001)
    assert fps_of(30, 1.0) == Fraction(30)
    assert fps_of(25, 1.0) == Fraction(25)
