"""How many bytes each model component holds, counted on the meta device (no weight is read).

The engine stores every weight in bfloat16 (the official pipelines' dtype); under `fp8-cast` the
transformer blocks' attention and feed-forward linears are stored as float8 (ltx-core's
`TRANSFORMER_LINEAR_DOWNCAST_MAP` decides which keys; it is applied here to each key's name).

Two sources:
- `sizes_from_bundle(bundle)`: the bundle's own configs (the checkpoint's `config` metadata, the
  upsampler's, the Gemma configuration ltx-core builds), i.e. exactly the modules the engine builds.
- `preset_sizes("ltx-2.3" | "ltx-2")`: the official full-size configurations. The transformer and
  Gemma-3-12B use ltx-core's own full-size values (`LTXModelConfigurator`'s defaults are the
  official sizes: 48 blocks, 32 heads x 128 video, 32 x 64 audio, 4096-wide text context; ltx-core's
  hard-coded `GEMMA3_CONFIG_FOR_LTX` is Gemma-3-12B). The VAEs, vocoder and spatial upsampler follow
  the official layouts as far as published (about 2 GB together in bf16, a few percent of the total);
  a `--model` plan of a downloaded bundle counts them exactly.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field

import torch

BF16_BYTES = 2
COMPONENTS = (
    "transformer",
    "text_encoder",
    "embeddings_processor",
    "video_encoder",
    "video_decoder",
    "audio_decoder",
    "vocoder",
    "upsampler",
    "loras",
)


@dataclass
class ModelSizes:
    """Bytes per component; the transformer and Gemma also per block / layer (streamable units)."""

    architecture: str
    quantization: str  # "none" | "fp8-cast"
    source: str  # "bundle <name>" | "preset ltx-2.3"
    transformer_other: int  # everything of the transformer but its blocks
    blocks: list[int]  # one entry per transformer block
    text_encoder_other: int  # Gemma's embeddings, vision tower, norms
    text_encoder_layers: list[int]  # Gemma's decoder layers
    components: dict[str, int] = field(default_factory=dict)  # the other components, whole
    # Widths the activation model needs.
    video_dim: int = 4096
    audio_dim: int = 2048
    video_heads: int = 32
    gemma_hidden: int = 3840
    gemma_layers: int = 48
    latent_channels: int = 128

    @property
    def transformer(self) -> int:
        return self.transformer_other + sum(self.blocks)

    @property
    def text_encoder(self) -> int:
        return self.text_encoder_other + sum(self.text_encoder_layers)

    @property
    def largest_block(self) -> int:
        return max(self.blocks) if self.blocks else 0

    @property
    def largest_text_layer(self) -> int:
        return max(self.text_encoder_layers) if self.text_encoder_layers else 0

    def total(self) -> int:
        return self.transformer + self.text_encoder + sum(self.components.values())

    def describe(self) -> dict:
        return {
            "architecture": self.architecture,
            "quantization": self.quantization,
            "source": self.source,
            "transformer_bytes": self.transformer,
            "blocks": len(self.blocks),
            "block_bytes": self.largest_block,
            "text_encoder_bytes": self.text_encoder,
            "components": dict(self.components),
            "total_bytes": self.total(),
        }


# --- counting -------------------------------------------------------------------------------------


def _stored_bytes(key: str, t: torch.Tensor, fp8: bool) -> int:
    """Bytes of one parameter as the engine stores it (bf16, fp8 where the fp8-cast policy casts)."""
    if fp8:
        from ltx_core.quantization.fp8_cast import TRANSFORMER_LINEAR_DOWNCAST_MAP

        probe = torch.empty((), dtype=torch.bfloat16, device="meta")
        results = TRANSFORMER_LINEAR_DOWNCAST_MAP.apply_to_key_value(key, probe)
        if results and results[0].new_value.dtype.itemsize == 1:
            return t.numel()
    if not t.is_floating_point():
        return t.numel() * t.element_size()
    return t.numel() * BF16_BYTES


def module_bytes(module: torch.nn.Module, prefix: str = "", fp8: bool = False) -> int:
    """Stored bytes of a module's parameters and floating buffers (`prefix`: its key in the model)."""
    total = 0
    for name, p in module.named_parameters(remove_duplicate=True):
        total += _stored_bytes(prefix + name, p, fp8)
    for name, b in module.named_buffers(remove_duplicate=True):
        total += _stored_bytes(prefix + name, b, False)
    return total


def _meta(configurator, config: dict, module_ops=()):
    with torch.device("meta"):
        model = configurator.from_config(config)
    for op in module_ops:
        if op.matcher(model):
            model = op.mutator(model)
    return model


def _transformer_sizes(config: dict, fp8: bool) -> tuple[int, list[int], dict]:
    from ltx_core.model.transformer import LTXModelConfigurator

    model = _meta(LTXModelConfigurator, config)
    blocks = [module_bytes(b, f"transformer_blocks.{i}.", fp8) for i, b in enumerate(model.transformer_blocks)]
    other = module_bytes(model, "", fp8) - sum(blocks)
    dims = {
        "video_dim": int(model.inner_dim),
        "audio_dim": int(model.audio_inner_dim),
        "video_heads": int(model.num_attention_heads),
    }
    return other, blocks, dims


def _text_encoder_sizes() -> tuple[int, list[int], int, int]:
    from ltx_core.text_encoders.gemma.encoders.encoder_configurator import GemmaTextEncoderConfigurator

    encoder = _meta(GemmaTextEncoderConfigurator, {})
    layers_module = text_encoder_layers(encoder)
    layers = [module_bytes(layer) for layer in layers_module]
    other = module_bytes(encoder) - sum(layers)
    hidden = int(encoder.model.config.text_config.hidden_size)
    return other, layers, hidden, len(layers)


def text_encoder_layers(encoder: torch.nn.Module) -> torch.nn.ModuleList:
    """Gemma's decoder layers inside ltx-core's `GemmaTextEncoder` (the streamable units)."""
    return encoder.model.model.language_model.layers


def _component_sizes(config: dict, upsampler_config: dict | None) -> dict[str, int]:
    from ltx_core.model.audio_vae import AudioDecoderConfigurator, VocoderConfigurator
    from ltx_core.model.upsampler import LatentUpsamplerConfigurator
    from ltx_core.model.video_vae import VideoDecoderConfigurator, VideoEncoderConfigurator
    from ltx_core.text_encoders.gemma.encoders.encoder_configurator import EmbeddingsProcessorConfigurator

    out = {
        "embeddings_processor": module_bytes(_meta(EmbeddingsProcessorConfigurator, config)),
        "video_encoder": module_bytes(_meta(VideoEncoderConfigurator, config)),
        "video_decoder": module_bytes(_meta(VideoDecoderConfigurator, config)),
        "audio_decoder": module_bytes(_meta(AudioDecoderConfigurator, config)),
        "vocoder": module_bytes(_meta(VocoderConfigurator, config)),
    }
    out["upsampler"] = module_bytes(_meta(LatentUpsamplerConfigurator, upsampler_config)) if upsampler_config else 0
    return out


def _sizes(
    architecture: str, quantization: str, source: str, config: dict, upsampler_config: dict | None, lora_bytes: int
) -> ModelSizes:
    fp8 = quantization == "fp8-cast"
    other, blocks, dims = _transformer_sizes(config, fp8)
    te_other, te_layers, hidden, n_layers = _text_encoder_sizes()
    components = _component_sizes(config, upsampler_config)
    components["loras"] = lora_bytes
    return ModelSizes(
        architecture=architecture,
        quantization=quantization,
        source=source,
        transformer_other=other,
        blocks=blocks,
        text_encoder_other=te_other,
        text_encoder_layers=te_layers,
        components=components,
        gemma_hidden=hidden,
        gemma_layers=n_layers,
        **dims,
    )


def sizes_from_bundle(bundle, quantization: str | None = None) -> ModelSizes:
    """The sizes of exactly what the engine builds from `bundle` (a `backend.bundle.Bundle`)."""
    from backend.bundle import read_safetensors_header
    from backend.gemma_config import prepare_gemma_config

    import json

    quantization = quantization or bundle.quantization
    prepare_gemma_config(bundle)
    _, meta = read_safetensors_header(bundle.upsampler)
    upsampler_config = json.loads(meta["config"])
    lora_files = {e.path for e in [*bundle.ic_loras.values(), *bundle.loras.values()]}
    lora_bytes = sum(p.stat().st_size for p in lora_files)
    return _sizes(
        bundle.architecture,
        quantization,
        f"bundle {bundle.name}",
        bundle.checkpoint_config,
        upsampler_config,
        lora_bytes,
    )


# --- the official full-size presets ----------------------------------------------------------------

PRESETS = ("ltx-2.3", "ltx-2")
# The official IC-LoRAs: the LTX-2.3 union-control and motion-track files (rank 64 on the video
# attention and feed-forward of every block) are each about 0.3 GB; only the loaded ones count.
_PRESET_LORA_BYTES = {"ltx-2.3": 2 * 327_000_000, "ltx-2": 3 * 327_000_000}


def preset_config(architecture: str) -> tuple[dict, dict]:
    """(checkpoint config, upsampler config) of the official full-size model, in the official layout."""
    from backend.tiny_model import configs

    if architecture not in PRESETS:
        raise ValueError(f"unknown preset {architecture!r}; use one of {', '.join(PRESETS)}")
    config = copy.deepcopy(configs.checkpoint_config(architecture))
    t = config["transformer"]
    # Full size: ltx-core's defaults are the official widths; the text context is Gemma-3-12B's.
    t.update(
        {
            "num_layers": 48,
            "num_attention_heads": 32,
            "attention_head_dim": 128,
            "audio_num_attention_heads": 32,
            "audio_attention_head_dim": 64,
            "cross_attention_dim": 4096,
            "audio_cross_attention_dim": 2048,
            "caption_channels": 3840,
            "connector_num_layers": 2,
        }
    )
    if architecture == "ltx-2":
        t.update({"connector_num_attention_heads": 30, "connector_attention_head_dim": 128})
    else:
        t.update(
            {
                "connector_num_attention_heads": 32,
                "connector_attention_head_dim": 128,
                "audio_connector_num_attention_heads": 32,
                "audio_connector_attention_head_dim": 64,
            }
        )
    # Video VAE: 128 -> 1024 channels over three 2x steps, five residual layers per level.
    res = ["res_x", {"num_layers": 4}]
    config["vae"].update(
        {
            "encoder_blocks": [
                res,
                ["compress_space_res", {"multiplier": 2}],
                res,
                ["compress_time_res", {"multiplier": 2}],
                res,
                ["compress_all_res", {"multiplier": 2}],
                ["compress_all_res", {"multiplier": 2}],
                res,
            ],
            "decoder_blocks": [
                ["res_x", {"num_layers": 5, "inject_noise": False}],
                ["compress_all", {"residual": True, "multiplier": 2}],
                ["res_x", {"num_layers": 5, "inject_noise": False}],
                ["compress_all", {"residual": True, "multiplier": 2}],
                ["res_x", {"num_layers": 5, "inject_noise": False}],
                ["compress_all", {"residual": True, "multiplier": 2}],
                ["res_x", {"num_layers": 5, "inject_noise": False}],
            ],
            "decoder_base_channels": 128,
        }
    )
    dd = config["audio_vae"]["model"]["params"]["ddconfig"]
    dd.update({"ch_mult": [1, 2, 4], "num_res_blocks": 2})
    voc = config["vocoder"]
    for section in [voc] if architecture == "ltx-2" else [voc["vocoder"], voc["bwe"]]:
        section.update(
            {
                "upsample_initial_channel": 1024 if section is voc or "bwe" not in voc else 512,
                "resblock_kernel_sizes": [3, 7, 11],
                "resblock_dilation_sizes": [[1, 3, 5]] * 3,
            }
        )
    upsampler = copy.deepcopy(configs.upsampler_config())
    upsampler.update({"mid_channels": 1024, "num_blocks_per_stage": 4})
    return config, upsampler


@functools.lru_cache(maxsize=8)
def preset_sizes(architecture: str, quantization: str = "none") -> ModelSizes:
    """Sizes of the official full-size LTX-2.3 (22B) or LTX-2 (19B) bundle, from configs alone (a few
    seconds of meta-device building, so remembered per process; treat the result as read-only)."""
    from backend.gemma_config import restore_official_gemma_config

    config, upsampler = preset_config(architecture)
    restore_official_gemma_config()
    return _sizes(
        architecture, quantization, f"preset {architecture}", config, upsampler, _PRESET_LORA_BYTES[architecture]
    )
