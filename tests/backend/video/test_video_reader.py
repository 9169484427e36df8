"""read_video / probe_video / PNG folders: contents, limits, and refusals with their messages."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image

from backend.video import VideoError, probe_video, read_video, write_lossless_video, write_mp4

from ._synth import noise_clip, smooth_clip, stereo_tone


@pytest.fixture(scope="module")
def mp4_bytes(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("mp4") / "clip.mp4"
    fps = Fraction(24000, 1001)
    write_mp4(path, smooth_clip(17, 64, 64), fps, audio=(stereo_tone(17, fps, 24000), 24000))
    return path.read_bytes()


def test_bytes_and_path_read_the_same(tmp_path, mp4_bytes):
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4_bytes)
    from_path, fps_path = read_video(path)
    from_bytes, fps_bytes = read_video(mp4_bytes)
    assert np.array_equal(from_path, from_bytes)
    assert fps_path == fps_bytes == Fraction(24000, 1001)
    assert probe_video(mp4_bytes) == probe_video(path)


def test_max_frames_keeps_the_first_frames(tmp_path):
    clip = noise_clip(9, 16, 16)
    path = write_lossless_video(tmp_path / "c.mkv", clip, 24)
    frames, fps = read_video(path, max_frames=4)
    assert np.array_equal(frames, clip[:4]) and fps == 24
    frames, _ = read_video(path, max_frames=100)
    assert frames.shape[0] == 9


def test_probe_counts_frames_when_header_has_none(tmp_path):
    path = write_lossless_video(tmp_path / "c.mkv", noise_clip(11, 16, 16), 24)
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 0  # Matroska keeps no frame count
    info = probe_video(path)
    assert info.frames == 11
    assert info.duration_s == pytest.approx(11 / 24, abs=0.002)


def test_png_folder_natural_order_other_files_ignored(tmp_path):
    clip = noise_clip(12, 8, 10, seed=7)
    for i, frame in enumerate(clip):
        Image.fromarray(frame).save(tmp_path / f"f_{i}.png")  # f_2 must come before f_10
    (tmp_path / "tracks.json").write_text("[]")
    frames, fps = read_video(tmp_path)
    assert fps is None
    assert np.array_equal(frames, clip)
    frames, _ = read_video(tmp_path, max_frames=3)
    assert np.array_equal(frames, clip[:3])


def test_png_folder_grey_and_alpha_become_rgb(tmp_path):
    Image.fromarray(np.full((4, 4), 77, np.uint8), "L").save(tmp_path / "a_0.png")
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[..., 3] = 128  # half transparent over black
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a_1.png")
    frames, _ = read_video(tmp_path)
    assert frames.shape == (2, 4, 4, 3)
    assert (frames[0] == 77).all()
    assert (frames[1] == 100).all()  # 200 * 128 / 255 rounded


def test_png_folder_refusals(tmp_path):
    with pytest.raises(VideoError, match="holds no frames"):
        read_video(tmp_path)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "frame_00000.png")
    Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(tmp_path / "frame_00001.png")
    with pytest.raises(VideoError) as info:
        read_video(tmp_path)
    assert "frame_00001.png: is 6x4 but frame_00000.png is 4x4" in str(info.value)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda b: b"", "the uploaded data is empty (0 bytes)"),
        (lambda b: b"this is not a video at all " * 20, "not a readable video"),
        (lambda b: b[: len(b) // 2], "truncated"),
        (lambda b: b[:64], "has no video stream"),
    ],
)
def test_corrupt_uploads_refused(mp4_bytes, make, message):
    with pytest.raises(VideoError) as info:
        read_video(make(mp4_bytes))
    assert message in str(info.value)
    assert "send a video file" in str(info.value) or "re-" in str(info.value)
    assert info.value.field == "video"


def test_audio_only_file_refused(tmp_path):
    path = tmp_path / "sound.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    for reader in (read_video, probe_video):
        with pytest.raises(VideoError) as info:
            reader(path)
        assert "sound.wav: has no video stream (it holds only audio)" in str(info.value)


def test_missing_and_empty_files_refused(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        read_video(tmp_path / "nope.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(VideoError, match="the file is empty"):
        probe_video(tmp_path / "empty.mp4")


def test_decoded_size_limit(tmp_path):
    path = write_lossless_video(tmp_path / "c.mov", noise_clip(9, 32, 32), 24)
    per_frame = 32 * 32 * 3
    frames, _ = read_video(path, max_decoded_bytes=9 * per_frame)
    assert frames.shape[0] == 9
    with pytest.raises(VideoError) as info:
        read_video(path, max_decoded_bytes=9 * per_frame - 1)
    assert "9 frames of 32x32" in str(info.value) and "limit" in str(info.value)
    frames, _ = read_video(path, max_frames=8, max_decoded_bytes=8 * per_frame)
    assert frames.shape[0] == 8


def test_video_info_json_and_oversized_frames(tmp_path):
    path = write_lossless_video(tmp_path / "c.mov", noise_clip(2, 8, 8), "24000/1001")
    info = probe_video(path).to_json()
    assert info["fps"] == "24000/1001" and info["frames"] == 2 and info["has_audio"] is False
    wide = write_lossless_video(tmp_path / "wide.mov", np.zeros((1, 2, 8200, 3), np.uint8), 24)
    with pytest.raises(VideoError, match="larger than 8192 px"):
        read_video(wide)


def test_playlists_that_point_at_other_files_are_refused(tmp_path, mp4_bytes):
    """An HLS playlist makes FFmpeg read the files it names: an upload must never do that."""
    secret = tmp_path / "other_users_video.mp4"
    secret.write_bytes(mp4_bytes)
    playlist = (f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1.0,\nfile://{secret}\n#EXT-X-ENDLIST\n").encode()
    path = tmp_path / "upload.m3u8"
    path.write_bytes(playlist)
    for src in (path, playlist):
        with pytest.raises(VideoError, match="not a readable video in an accepted format"):
            read_video(src)
    with av.open(str(path)) as container:  # what plain FFmpeg would have done
        assert container.format.name == "hls"
