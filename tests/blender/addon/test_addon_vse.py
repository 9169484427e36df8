"""A real mp4 with audio lands as movie + sound strips in free channels at the scene's start."""

from __future__ import annotations

import json

import pytest

from .mp4_fixture import write_mp4


pytestmark = pytest.mark.bpy_compat  # also run under bpy 4.2 and 4.5 LTS (sequences vs strips)


@pytest.fixture(scope="module")
def clip(tmp_path_factory, installed_addon):
    import bpy

    if not bpy.app.build_options.audaspace:
        # PyPI's bpy 4.2 module is built without audio (a real Blender 4.2 has it): no sound
        # strips can exist there. Movie + sound import is checked under 5.0 and 4.5.
        pytest.skip(f"this bpy {bpy.app.version_string} module is built without audio (audaspace)")
    return write_mp4(tmp_path_factory.mktemp("clip") / "result.mp4", frames=17, fps=24)


def _colour(strips, name, channel, start, length):
    try:
        return strips.new_effect(name=name, type="COLOR", channel=channel, frame_start=start, length=length)
    except TypeError:  # before 5.0: frame_end instead of length
        return strips.new_effect(name=name, type="COLOR", channel=channel, frame_start=start, frame_end=start + length)


def test_import_into_free_channels(fresh_scene, installed_addon, clip):
    vse = installed_addon.module("vse")
    compat = installed_addon.module("compat")
    scene = fresh_scene
    scene.render.fps, scene.render.fps_base = 24, 1.0
    scene.frame_start, scene.frame_end = 10, 26
    editor = scene.sequence_editor_create()
    strips = compat.strips(editor)
    # channel 1 is busy over the clip's frames, channel 2 only before them, channel 3 busy again
    _colour(strips, "busy1", channel=1, start=1, length=200)
    _colour(strips, "before", channel=2, start=1, length=9)
    _colour(strips, "busy3", channel=3, start=20, length=5)
    params = {"spec": {"prompt": "a red wipe", "seed": 7}, "frame_count": 17, "fps": "24/1"}

    movie, sound = vse.import_result(scene, str(clip), params)

    assert movie.type == "MOVIE" and sound.type == "SOUND"
    assert (movie.channel, sound.channel) == (2, 4)
    assert movie.frame_final_start == 10 and sound.frame_final_start == 10
    assert movie.frame_final_duration == 17
    assert sound.frame_final_duration == 17
    assert json.loads(movie["ltx_scene"]) == params == json.loads(sound["ltx_scene"])
    assert vse.parameters_of(movie) == params
    assert vse.parameters_of(strips["busy1"]) is None
    # the scene's own settings are untouched (movie_strip_add would change fps)
    assert (scene.render.fps, scene.frame_start, scene.frame_end) == (24, 10, 26)

    # a second result stacks above, never on top of the first
    movie2, sound2 = vse.import_result(scene, str(clip), params, name="LTX 2")
    assert sorted({movie2.channel, sound2.channel}) == [5, 6]


def test_import_missing_file_is_a_user_error(fresh_scene, installed_addon, tmp_path):
    vse = installed_addon.module("vse")
    errors = installed_addon.module("shared.errors")
    with pytest.raises(errors.UserError, match="does not exist"):
        vse.import_result(fresh_scene, str(tmp_path / "nope.mp4"), {})
