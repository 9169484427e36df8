"""The audio half of an mp4: validate a waveform and feed it to an AAC stream alongside the video.

LTX-2 always generates audio: `Audio(waveform [2, n] float32 in [-1, 1], sampling_rate)` at its
vocoder rate (24 kHz for LTX-2, 48 kHz with LTX-2.3's bandwidth extension). AAC takes both rates
as they are. A rate AAC refuses (e.g. 22000 Hz) is resampled to 48 kHz by FFmpeg's swresample,
the only case where samples change beyond AAC's own coding.

The waveform is written as given: not trimmed or padded to the video's length (the engine makes
frames 8k+1, which keeps LTX-2's audio and video the same length). Audio packets are encoded in
step with the video frames, so the file is interleaved and the video is never held in memory.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from .errors import VideoError
from .frame_chunks import to_numpy

AAC_FALLBACK_RATE = 48000
_LAYOUTS = {1: "mono", 2: "stereo"}


@dataclass(frozen=True)
class AudioInput:
    """A checked waveform: float32 (channels, samples) in [-1, 1] and its integer rate."""

    waveform: np.ndarray
    sample_rate: int

    @property
    def channels(self) -> int:
        return int(self.waveform.shape[0])

    @property
    def duration_s(self) -> float:
        return self.waveform.shape[1] / self.sample_rate


def normalize_audio(audio) -> AudioInput:
    """Accept `(waveform, sample_rate)` or an object with `.waveform` and `.sampling_rate`
    (ltx_core.types.Audio). The waveform is [channels, samples] (1-D = mono), 1 or 2 channels."""
    if hasattr(audio, "waveform") and hasattr(audio, "sampling_rate"):
        waveform, rate = audio.waveform, audio.sampling_rate
    elif hasattr(audio, "shape") or not isinstance(audio, (tuple, list)):
        raise VideoError(f"audio: expected (waveform, sample_rate), got {type(audio).__name__}", "audio")
    else:
        try:
            waveform, rate = audio
        except (TypeError, ValueError):
            raise VideoError(f"audio: expected (waveform, sample_rate), got {type(audio).__name__}", "audio") from None
    if hasattr(waveform, "detach") and hasattr(waveform, "float"):
        waveform = waveform.detach().float()  # bf16/fp16 tensors have no numpy dtype
    arr = to_numpy(waveform)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]  # a batch of one: [1, channels, samples]
    if not np.issubdtype(arr.dtype, np.floating):
        raise VideoError(
            f"audio: expected a float waveform in [-1, 1], got dtype {arr.dtype}; divide int16 samples by 32768",
            "audio",
        )
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2:
        raise VideoError(f"audio: expected a waveform of shape [channels, samples], got {arr.shape}", "audio")
    if arr.shape[0] not in _LAYOUTS:
        hint = " (it looks transposed: pass waveform.T)" if arr.shape[1] in _LAYOUTS else ""
        raise VideoError(
            f"audio: expected 1 (mono) or 2 (stereo) channels as [channels, samples], got shape {arr.shape}{hint}",
            "audio",
        )
    if arr.shape[1] == 0:
        raise VideoError("audio: the waveform has no samples; pass audio=None for a silent video", "audio")
    if not np.isfinite(arr).all():
        raise VideoError("audio: the waveform contains NaN or infinite samples", "audio")
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not float(rate).is_integer() or int(rate) <= 0:
        raise VideoError(f"audio: the sample rate must be a positive integer in Hz, got {rate!r}", "audio")
    arr = np.clip(arr.astype(np.float32, copy=False), -1.0, 1.0)
    return AudioInput(np.ascontiguousarray(arr), int(rate))


def aac_rate(rate: int) -> int:
    """`rate` if the AAC encoder accepts it, else 48000 (documented resampling)."""
    supported = av.codec.Codec("aac", "w").audio_rates or ()
    return rate if rate in supported else AAC_FALLBACK_RATE


class AudioFeeder:
    """Encodes an AudioInput into an AAC stream piecewise, up to a given media time."""

    def __init__(self, container, audio: AudioInput, bit_rate: int = 192_000):
        self.audio = audio
        self.container = container
        self.out_rate = aac_rate(audio.sample_rate)
        self.stream = container.add_stream("aac", rate=self.out_rate)
        self.stream.layout = _LAYOUTS[audio.channels]
        self.stream.bit_rate = bit_rate
        self.resampler = None
        if self.out_rate != audio.sample_rate:
            self.resampler = av.AudioResampler(format="fltp", layout=_LAYOUTS[audio.channels], rate=self.out_rate)
        self.position = 0  # samples of the input consumed

    def feed_until(self, seconds: Fraction | None) -> None:
        """Encode input samples up to `seconds` of media time (None: all that are left)."""
        total = self.audio.waveform.shape[1]
        end = total if seconds is None else min(total, int(round(seconds * self.audio.sample_rate)))
        if end > self.position:
            chunk = np.ascontiguousarray(self.audio.waveform[:, self.position : end])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=_LAYOUTS[self.audio.channels])
            frame.sample_rate = self.audio.sample_rate
            frame.pts = self.position
            frame.time_base = Fraction(1, self.audio.sample_rate)
            self.position = end
            self._encode(frame)

    def finish(self) -> None:
        self.feed_until(None)
        if self.resampler is not None:
            for out in self.resampler.resample(None):
                self._mux(out)
        self._mux(None)

    def _encode(self, frame) -> None:
        if self.resampler is None:
            self._mux(frame)
        else:
            for out in self.resampler.resample(frame):
                self._mux(out)

    def _mux(self, frame) -> None:
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
