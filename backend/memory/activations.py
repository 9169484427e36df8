"""The stated model of a job's activation memory, per stage (bytes on the device beyond the weights).

Token counts follow the official latent grid: the video VAE makes one latent cell per 32 x 32 pixels
and 8 frames (plus the first frame); the audio latent has 25 tokens a second (16 kHz mel frames with
hop 160, four mel frames a token); Gemma's prompt is always padded to 1024 tokens.

Transformer step (bf16, 2 bytes a value), per token of width D (video and audio streams alike):
`TOKEN_WIDTHS` values of width D live at the block's peak: the residual stream in and out, the norm
output, q / k / v, the attention output and its gate, the feed-forward's 4 D hidden and its GELU
output (4 D), plus the per-token AdaLN modulation (up to 9 D with cross-attention AdaLN) and the RoPE
tables (float32 cos and sin). The IC-LoRA's attention strength or mask adds a (T x T) float32 weight
matrix and its bf16 additive bias. The text context (1024 tokens at both widths) is held, and one
block's cross-attention keys and values made from it: three copies in all.

Measured on the tiny model (tests/backend/memory/test_activation_model.py, live tensor bytes per
denoising stage): about 56 bytes per token x width value plus about 0.5 MB of context at its widths
(64 / 32); 28 widths x 2 bytes + 8 bytes of RoPE = 64 bytes a value here, about 14 % above.

VAE: bytes per pixel-frame of the tile (or video) being coded, from the two decoders measured by
others (about 350 B untiled in a CUDA port, about 1 KB per tile pixel-frame with 40-frame x 512 px
tiles in an MLX port); the larger is used.

`tests/backend/memory/test_activation_model.py` checks these against the peaks measured on the tiny
model (the torch profiler's allocation events): the model must never be below a measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

BF16 = 2
LATENT_PIXELS = 32
LATENT_FRAMES = 8
AUDIO_TOKENS_PER_SECOND = 25
PROMPT_TOKENS = 1024
TOKEN_WIDTHS = 28  # values of width D live per token at a block's peak (see above)
ROPE_BYTES_PER_VALUE = 8  # cos + sin, float32
CONTEXT_COPIES = 3  # the text context at both widths, plus one block's cross-attention k and v
VAE_DECODE_BYTES_PER_PIXEL_FRAME = 1024
VAE_ENCODE_BYTES_PER_PIXEL_FRAME = 600
AUDIO_DECODE_BYTES_PER_SECOND = 64 * 1024 * 1024  # mel decoder + vocoder at 48 kHz stereo
FIXED_BYTES = 64 * 1024 * 1024  # sigmas, noise generator state, small tensors of each stage


@dataclass(frozen=True)
class JobShape:
    width: int
    height: int
    frames: int
    fps: float = 24.0
    reference_downscale_factor: int = 2
    masked: bool = True  # attention strength < 1 or a mask: the T x T weights exist
    keyframes: int = 0  # keyframe images after frame 0: one latent frame of tokens each, in both stages

    def latent_frames(self) -> int:
        return (self.frames - 1) // LATENT_FRAMES + 1

    def video_tokens(self, width: int, height: int) -> int:
        return (width // LATENT_PIXELS) * (height // LATENT_PIXELS) * self.latent_frames()

    @property
    def stage1_tokens(self) -> int:
        w, h = self.width // 2, self.height // 2
        f = self.reference_downscale_factor
        return self.video_tokens(w, h) + self.video_tokens(w // f, h // f) + self._keyframe_tokens(w, h)

    def _keyframe_tokens(self, width: int, height: int) -> int:
        return self.keyframes * (width // LATENT_PIXELS) * (height // LATENT_PIXELS)

    @property
    def stage2_tokens(self) -> int:
        return self.video_tokens(self.width, self.height) + self._keyframe_tokens(self.width, self.height)

    @property
    def audio_tokens(self) -> int:
        return math.ceil(self.frames / self.fps * AUDIO_TOKENS_PER_SECOND)

    def describe(self) -> dict:
        return {
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "stage1_tokens": self.stage1_tokens,
            "stage2_tokens": self.stage2_tokens,
            "audio_tokens": self.audio_tokens,
        }


def transformer_step_bytes(video_tokens: int, audio_tokens: int, video_dim: int, audio_dim: int, masked: bool) -> int:
    per_token = TOKEN_WIDTHS * BF16 + ROPE_BYTES_PER_VALUE
    streams = per_token * (video_tokens * video_dim + audio_tokens * audio_dim)
    context = CONTEXT_COPIES * BF16 * PROMPT_TOKENS * (video_dim + audio_dim)
    mask = video_tokens * video_tokens * (4 + BF16) if masked else 0
    return FIXED_BYTES + streams + context + mask


def text_encoder_bytes(hidden: int, layers: int) -> int:
    """Gemma keeps every layer's hidden states (the feature extractor reads all of them)."""
    states = (layers + 1) * PROMPT_TOKENS * hidden * BF16
    layer_work = PROMPT_TOKENS * hidden * BF16 * 12
    return FIXED_BYTES + states + layer_work


def decode_bytes(tile_pixels: int, tile_frames: int, width: int, height: int, frames: int) -> int:
    w, h = min(tile_pixels, width), min(tile_pixels, height)
    return FIXED_BYTES + VAE_DECODE_BYTES_PER_PIXEL_FRAME * w * h * min(tile_frames, frames)


def encode_bytes(width: int, height: int, frames: int) -> int:
    return FIXED_BYTES + VAE_ENCODE_BYTES_PER_PIXEL_FRAME * width * height * frames


def audio_bytes(frames: int, fps: float) -> int:
    return FIXED_BYTES + int(AUDIO_DECODE_BYTES_PER_SECOND * frames / fps)
