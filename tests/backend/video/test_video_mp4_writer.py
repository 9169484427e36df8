"""write_mp4: exact fps, frame count, size, AAC audio, streaming, refusals, atomic output."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from backend.video import VideoError, probe_video, read_video, write_mp4
from shared.errors import UserError

from ._synth import smooth_clip, stereo_tone

AAC_FRAME = 1024


@pytest.mark.parametrize("fps", [Fraction(24000, 1001), Fraction(24)])
def test_round_trip_exact_fps_frames_size_and_audio(tmp_path, fps):
    frames, height, width, rate = 17, 64, 96, 24000
    clip = smooth_clip(frames, height, width)
    audio = stereo_tone(frames, fps, rate)
    out = write_mp4(tmp_path / "out.mp4", clip, fps, audio=(audio, rate))
    assert out == tmp_path / "out.mp4"

    info = probe_video(out)
    assert info.frames == frames
    assert info.fps == fps and isinstance(info.fps, Fraction)
    assert (info.width, info.height) == (width, height)
    assert info.video_codec == "h264" and info.audio_codec == "aac"
    assert (info.has_audio, info.audio_rate, info.audio_channels) == (True, rate, 2)

    with av.open(str(out)) as container:
        video, sound = container.streams.video[0], container.streams.audio[0]
        assert video.average_rate == fps
        assert video.codec_context.pix_fmt == "yuv420p"
        audio_s = float(sound.duration * sound.time_base)
    assert abs(audio_s - frames / fps) <= AAC_FRAME / rate

    decoded, read_fps = read_video(out)
    assert read_fps == fps
    assert decoded.shape == clip.shape
    # crf 17 + BT.709 yuv420 on smooth gradients: a few levels at most
    assert np.abs(decoded.astype(int) - clip.astype(int)).mean() < 2.0


def test_chunks_are_streamed_not_collected(tmp_path):
    """Each chunk is pulled only after the previous one was encoded."""
    clip = smooth_clip(9, 32, 32)
    written: list[int] = []
    pulled_at: list[int] = []

    def chunks():
        for start in range(0, 9, 3):
            pulled_at.append(len(written))
            yield clip[start : start + 3]

    write_mp4(tmp_path / "s.mp4", chunks(), 24, on_frame=written.append)
    assert pulled_at == [0, 3, 6]
    assert written == list(range(1, 10))
    assert probe_video(tmp_path / "s.mp4").frames == 9


def test_single_frames_and_torch_like_chunks(tmp_path):
    class FakeTensorOnDevice:  # what a CUDA tensor looks like to the writer: detach().cpu().numpy()
        def __init__(self, a):
            self.a = a

        def detach(self):
            return self

        def cpu(self):
            return self

        def numpy(self):
            return self.a

    clip = smooth_clip(5, 32, 48)
    parts = [clip[0], FakeTensorOnDevice(clip[1:4]), clip[4]]
    write_mp4(tmp_path / "t.mp4", parts, "30000/1001")
    info = probe_video(tmp_path / "t.mp4")
    assert (info.frames, info.fps, info.has_audio) == (5, Fraction(30000, 1001), False)


def test_mono_and_48k_audio_kept_unsupported_rate_resampled(tmp_path):
    fps = Fraction(24)
    write_mp4(tmp_path / "m.mp4", smooth_clip(9, 32, 32), fps, audio=(stereo_tone(9, fps, 48000, channels=1)[0], 48000))
    info = probe_video(tmp_path / "m.mp4")
    assert (info.audio_rate, info.audio_channels) == (48000, 1)

    write_mp4(tmp_path / "r.mp4", smooth_clip(9, 32, 32), fps, audio=(stereo_tone(9, fps, 22000), 22000))
    info = probe_video(tmp_path / "r.mp4")
    assert (info.audio_rate, info.audio_channels) == (48000, 2)
    with av.open(str(tmp_path / "r.mp4")) as container:
        sound = container.streams.audio[0]
        assert abs(float(sound.duration * sound.time_base) - 9 / 24) <= AAC_FRAME / 48000


def test_audio_object_with_waveform_and_sampling_rate(tmp_path):
    class Audio:  # the shape of ltx_core.types.Audio
        waveform = stereo_tone(9, Fraction(24), 24000)
        sampling_rate = 24000

    write_mp4(tmp_path / "o.mp4", smooth_clip(9, 32, 32), 24, audio=Audio())
    assert probe_video(tmp_path / "o.mp4").audio_rate == 24000


@pytest.mark.parametrize(
    "frames, message",
    [
        (np.zeros((3, 33, 32, 3), np.uint8), "even width and height, got 32x33"),
        (np.zeros((3, 32, 32, 3), np.float32), "expected uint8"),
        (np.zeros((3, 32, 32, 4), np.uint8), "(F, H, W, 3)"),
        ([], "no frames were given"),
        ("clip.mp4", "expected a uint8 array"),
    ],
)
def test_bad_frames_refused(tmp_path, frames, message):
    with pytest.raises(VideoError) as info:
        write_mp4(tmp_path / "bad.mp4", frames, 24)
    assert message in str(info.value)
    assert not (tmp_path / "bad.mp4").exists()


@pytest.mark.parametrize(
    "audio, message",
    [
        ((np.zeros((4800, 2), np.float32), 24000), "looks transposed"),
        ((np.zeros((2, 100), np.int16), 24000), "expected a float waveform"),
        ((np.zeros((2, 0), np.float32), 24000), "no samples"),
        ((np.full((2, 10), np.nan, np.float32), 24000), "NaN"),
        ((np.zeros((2, 10), np.float32), 0), "positive integer"),
        (np.zeros((2, 10), np.float32), "expected (waveform, sample_rate)"),
    ],
)
def test_bad_audio_refused(tmp_path, audio, message):
    with pytest.raises(VideoError) as info:
        write_mp4(tmp_path / "bad.mp4", smooth_clip(3, 32, 32), 24, audio=audio)
    assert message in str(info.value)


def test_bad_encoder_settings_refused(tmp_path):
    with pytest.raises(VideoError, match="not an x264 preset"):
        write_mp4(tmp_path / "bad.mp4", smooth_clip(3, 32, 32), 24, preset="warp")
    with pytest.raises(VideoError, match="0..51"):
        write_mp4(tmp_path / "bad.mp4", smooth_clip(3, 32, 32), 24, crf=60)


def test_bad_fps_refused(tmp_path):
    with pytest.raises(UserError) as info:  # shared.video_rules.VideoRuleError
        write_mp4(tmp_path / "bad.mp4", smooth_clip(3, 32, 32), 0)
    assert "fps" in str(info.value)


def test_failure_mid_stream_leaves_no_file(tmp_path):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"previous result")

    def chunks():
        yield np.zeros((2, 32, 32, 3), np.uint8)
        yield np.zeros((2, 64, 64, 3), np.uint8)  # size change: refused mid-encode

    with pytest.raises(VideoError, match="same size"):
        write_mp4(target, chunks(), 24)
    assert target.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_index_first_for_streaming(tmp_path):
    data = write_mp4(tmp_path / "f.mp4", smooth_clip(3, 32, 32), 24).read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")


@pytest.mark.slow
def test_torch_chunks_and_bf16_audio_like_the_ltx_decoder(tmp_path):
    """The engine hands over torch uint8 chunks and an ltx_core Audio with a bf16 waveform."""
    import torch
    from ltx_core.types import Audio

    fps = Fraction(24000, 1001)
    clip = smooth_clip(17, 64, 64)
    chunks = (torch.from_numpy(clip[i : i + 8]) for i in range(0, 17, 8))
    audio = Audio(waveform=torch.from_numpy(stereo_tone(17, fps, 24000)).to(torch.bfloat16), sampling_rate=24000)
    out = write_mp4(tmp_path / "ltx.mp4", chunks, fps, audio=audio)
    info = probe_video(out)
    assert (info.frames, info.fps, info.audio_rate, info.audio_channels) == (17, fps, 24000, 2)


def test_finished_output_gets_ordinary_permissions_not_owner_only(tmp_path):
    """Atomic writes go through mkstemp (0600); the finished file must be readable like any other."""
    from backend.video.atomic_output import atomic_output

    with atomic_output(tmp_path / "clip.mp4") as tmp:
        tmp.write_bytes(b"x")
    (tmp_path / "plain").write_bytes(b"x")  # what an ordinary create gives in this process
    assert ((tmp_path / "clip.mp4").stat().st_mode & 0o777) == ((tmp_path / "plain").stat().st_mode & 0o777)
