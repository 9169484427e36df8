"""write_lossless_video: bit-identical pixels and exact fps in both containers."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from backend.video import VideoError, probe_video, read_video, write_lossless_video

from ._synth import noise_clip


@pytest.mark.parametrize("suffix, codec", [(".mov", "png"), (".mkv", "ffv1")])
@pytest.mark.parametrize("fps", [Fraction(24000, 1001), Fraction(24), Fraction(25)])
def test_bit_identical_round_trip(tmp_path, suffix, codec, fps):
    clip = noise_clip(9, 24, 40, seed=3)  # noise: any lossy step would show
    out = write_lossless_video(tmp_path / f"c{suffix}", clip, fps)
    decoded, read_fps = read_video(out)
    assert decoded.dtype == np.uint8 and decoded.shape == clip.shape
    assert np.array_equal(decoded, clip)
    assert read_fps == fps
    info = probe_video(out)
    assert (info.frames, info.width, info.height, info.video_codec) == (9, 40, 24, codec)
    assert info.has_audio is False


@pytest.mark.parametrize("suffix", [".mov", ".mkv"])
def test_odd_size_and_chunks(tmp_path, suffix):
    clip = noise_clip(5, 17, 33, seed=4)
    out = write_lossless_video(tmp_path / f"odd{suffix}", (clip[i : i + 2] for i in range(0, 5, 2)), "30000/1001")
    decoded, fps = read_video(out)
    assert np.array_equal(decoded, clip)
    assert fps == Fraction(30000, 1001)


def test_tracks_colours_survive_exactly(tmp_path):
    """The reason controls are lossless: 2 px saturated dots on black stay exactly as drawn."""
    clip = np.zeros((9, 32, 32, 3), np.uint8)
    for i in range(9):
        clip[i, 10:12, 3 * i : 3 * i + 2] = (0, 0, 255)
        clip[i, 20:22, 3 * i : 3 * i + 2] = (255, 0, 0)
    decoded, _ = read_video(write_lossless_video(tmp_path / "tracks.mov", clip, 24))
    assert np.array_equal(decoded, clip)


def test_wrong_suffix_refused(tmp_path):
    with pytest.raises(VideoError) as info:
        write_lossless_video(tmp_path / "c.mp4", noise_clip(2, 8, 8), 24)
    assert "must end in .mov or .mkv" in str(info.value)
    assert not (tmp_path / "c.mp4").exists()
