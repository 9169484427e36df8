"""Arrays -> the official conditioning items, with the stock pipeline's exact preprocessing.

The stock `ICLoraPipeline` reads its control video and first-frame image from files; the engine
gets arrays. These functions run the very same official steps on the arrays
(`ltx_pipelines.utils.media_io.resize_and_center_crop` / `normalize_latent` / `preprocess`, the
official conditioning items, `ICLoraPipeline._downsample_mask_to_latent`), so a job fed from arrays
equals a stock job fed from a lossless file of the same pixels.
"""

from __future__ import annotations

import numpy as np
import torch

from ltx_core.conditioning import (
    ConditioningItem,
    ConditioningItemAttentionStrengthWrapper,
    VideoConditionByKeyframeIndex,
    VideoConditionByLatentIndex,
    VideoConditionByReferenceLatent,
)
from ltx_core.types import VideoLatentShape
from ltx_pipelines.ic_lora import ICLoraPipeline
from ltx_pipelines.utils.constants import DEFAULT_IMAGE_CRF
from ltx_pipelines.utils.media_io import normalize_latent, preprocess, resize_and_center_crop

IMAGE_CRF = DEFAULT_IMAGE_CRF  # the stock pipeline's default H.264 CRF "compression" of the image


def reference_video_tensor(
    frames: np.ndarray, height: int, width: int, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """uint8 (F, H, W, 3) -> (1, 3, F, height, width) in [-1, 1]; per frame, as `load_video_conditioning`."""
    out = []
    for frame in frames:
        t = torch.tensor(frame, dtype=torch.uint8, device=device).unsqueeze(0)
        t = resize_and_center_crop(t.to(torch.float32), height, width)
        out.append(normalize_latent(t, device, dtype))
    return torch.cat(out, dim=2)


def image_tensor(
    image: np.ndarray, height: int, width: int, device: torch.device, dtype: torch.dtype, crf: int = IMAGE_CRF
) -> torch.Tensor:
    """uint8 (H, W, 3) -> (1, 3, 1, height, width), as `load_image_conditioning` (CRF round trip included)."""
    array = preprocess(image=np.ascontiguousarray(image[..., :3]), crf=crf)
    t = torch.tensor(array, dtype=torch.float32, device=device)
    t = resize_and_center_crop(t, height, width)
    return normalize_latent(t, device, dtype)


def mask_tensor(mask: np.ndarray, device: torch.device) -> torch.Tensor:
    """(F, H, W) float32 in [0, 1] -> (1, 1, F, H, W): the `conditioning_attention_mask` layout."""
    return torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32)).to(device)[None, None]


def first_frame_item(video_encoder, image: torch.Tensor) -> ConditioningItem:
    """Frame 0 replaced by the encoded image at strength 1 (`combined_image_conditionings`, frame_idx 0)."""
    return VideoConditionByLatentIndex(latent=video_encoder(image), strength=1.0, latent_idx=0)


def keyframe_item(video_encoder, image: torch.Tensor, frame: int, strength: float) -> ConditioningItem:
    """One image of the stock `images` list, as `combined_image_conditionings` makes it: frame 0
    replaces latent frame 0, any other frame appends keyframe tokens at that frame."""
    encoded = video_encoder(image)
    if frame == 0:
        return VideoConditionByLatentIndex(latent=encoded, strength=strength, latent_idx=0)
    return VideoConditionByKeyframeIndex(keyframes=encoded, frame_idx=frame, strength=strength)


def reference_item(
    video_encoder,
    reference: torch.Tensor,
    downscale_factor: int,
    conditioning_strength: float,
    attention_strength: float,
    mask: torch.Tensor | None,
) -> ConditioningItem:
    """The IC-LoRA reference tokens, wrapped with attention weights as `ICLoraPipeline._create_conditionings`."""
    encoded = video_encoder(reference)
    if mask is not None:
        latent_mask = ICLoraPipeline._downsample_mask_to_latent(
            mask=mask, target_latent_shape=VideoLatentShape.from_torch_shape(encoded.shape)
        )
        attention = latent_mask * attention_strength
    elif attention_strength < 1.0:
        attention = attention_strength
    else:
        attention = None
    item: ConditioningItem = VideoConditionByReferenceLatent(
        latent=encoded, downscale_factor=downscale_factor, strength=conditioning_strength
    )
    if attention is not None:
        item = ConditioningItemAttentionStrengthWrapper(item, attention_mask=attention)
    return item
