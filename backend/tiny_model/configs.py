"""The configs of the tiny model: the official config layout with tiny sizes.

Each checkpoint config has the sections the official loaders read (`transformer`, `vae`,
`audio_vae`, `vocoder`); ltx-core picks the architecture from them:

- LTX-2 (19B-style): the text projection lives in the transformer (`caption_projection`, fed by a
  V1 feature extractor), plain HiFi-GAN-style vocoder (`resblock` "1").
- LTX-2.3 (22B-style): the projection lives in the text encoder (`caption_proj_before_connector`
  and the three other V2 keys -> FeatureExtractorV2), gated attention, prompt AdaLN, and a
  BigVGAN vocoder with bandwidth extension (`vocoder.vocoder` + `vocoder.bwe`).

What the official code hard-codes and the tiny sizes must respect (found by building it; README.md here):
video latent 128 channels (VAE factors 8 time / 32 space); audio latent 8 channels x 16 mel bins,
so the transformer's audio input is 128 and the audio VAE's `ch` is 128 (its per-channel
statistics are sized by `ch`); the vocoder input is 128 = 2 (stereo) x 64 mel bins; video and audio
attention head counts are equal; the transformer config must hold 18 exact values
(`check_config_value` in ltx_core/model/transformer/model_configurator.py).
"""

from __future__ import annotations

import copy

ARCHITECTURES = ("ltx-2.3", "ltx-2")
DEFAULT_ARCHITECTURE = "ltx-2.3"

# `model_version` safetensors metadata: ltx_pipelines.utils.constants.detect_params treats a value
# starting with "2.3" as LTX-2.3.
MODEL_VERSIONS = {"ltx-2.3": "2.3.0-tiny", "ltx-2": "2.0.0-tiny"}

# --- tiny Gemma-3 (text encoder). Written as the Gemma folder's config.json (HF layout) and applied
# to ltx-core's hard-coded GEMMA3_CONFIG_FOR_LTX by backend.gemma_config.prepare_gemma_config.
GEMMA_HIDDEN = 64
GEMMA_LAYERS = 2
GEMMA_VOCAB = 320  # 9 special tokens + 256 byte symbols, rounded up

TINY_GEMMA_TEXT_CONFIG = {
    "head_dim": 16,
    "hidden_size": GEMMA_HIDDEN,
    "intermediate_size": 128,
    "num_attention_heads": 4,
    "num_hidden_layers": GEMMA_LAYERS,
    "num_key_value_heads": 2,
    "query_pre_attn_scalar": 16,
    "sliding_window": 64,
    "sliding_window_pattern": 2,
    "vocab_size": GEMMA_VOCAB,
    "max_position_embeddings": 2048,
}
TINY_GEMMA_VISION_CONFIG = {
    "hidden_size": 32,
    "image_size": 28,
    "intermediate_size": 64,
    "num_attention_heads": 2,
    "num_hidden_layers": 1,
    "patch_size": 14,
}
# Token ids of the tiny tokenizer (backend/tiny_model/gemma.py builds it with the same ids).
TINY_GEMMA_TOKENS = {
    "pad": ("<pad>", 0),
    "eos": ("<eos>", 1),
    "bos": ("<bos>", 2),
    "unk": ("<unk>", 3),
    "boi": ("<start_of_image>", 4),
    "eoi": ("<end_of_image>", 5),
    "image": ("<image_soft_token>", 6),
    "start_of_turn": ("<start_of_turn>", 7),
    "end_of_turn": ("<end_of_turn>", 8),
}
TINY_GEMMA_TOP_CONFIG = {
    "boi_token_index": TINY_GEMMA_TOKENS["boi"][1],
    "eoi_token_index": TINY_GEMMA_TOKENS["eoi"][1],
    "image_token_index": TINY_GEMMA_TOKENS["image"][1],
    "eos_token_id": [TINY_GEMMA_TOKENS["eos"][1], TINY_GEMMA_TOKENS["end_of_turn"][1]],
    "mm_tokens_per_image": 4,  # (image_size / patch_size) ** 2
}

# --- transformer ------------------------------------------------------------------------------
HEADS = 2
VIDEO_HEAD_DIM = 32
AUDIO_HEAD_DIM = 16
VIDEO_INNER = HEADS * VIDEO_HEAD_DIM  # 64
AUDIO_INNER = HEADS * AUDIO_HEAD_DIM  # 32

# The values check_config_value demands, verbatim.
_FIXED_TRANSFORMER_VALUES = {
    "dropout": 0.0,
    "attention_bias": True,
    "num_vector_embeds": None,
    "activation_fn": "gelu-approximate",
    "num_embeds_ada_norm": 1000,
    "use_linear_projection": False,
    "only_cross_attention": False,
    "cross_attention_norm": True,
    "double_self_attention": False,
    "upcast_attention": False,
    "standardization_norm": "rms_norm",
    "norm_elementwise_affine": False,
    "qk_norm": "rms_norm",
    "positional_embedding_type": "rope",
    "use_audio_video_cross_attention": True,
    "share_ff": False,
    "av_cross_ada_norm": True,
    "use_middle_indices_grid": True,
}


def _transformer_config(architecture: str) -> dict:
    cfg = dict(_FIXED_TRANSFORMER_VALUES)
    cfg.update(
        {
            "_class_name": "AVTransformer3DModel",
            "num_layers": 2,
            "num_attention_heads": HEADS,
            "attention_head_dim": VIDEO_HEAD_DIM,
            "in_channels": 128,
            "out_channels": 128,
            "audio_num_attention_heads": HEADS,
            "audio_attention_head_dim": AUDIO_HEAD_DIM,
            "audio_in_channels": 128,
            "audio_out_channels": 128,
            "norm_eps": 1e-06,
            "attention_type": "default",
            "positional_embedding_theta": 10000.0,
            "positional_embedding_max_pos": [20, 2048, 2048],
            "audio_positional_embedding_max_pos": [20],
            "timestep_scale_multiplier": 1000,
            "av_ca_timestep_scale_multiplier": 1000,
            "rope_type": "split",
            "frequencies_precision": "float64",
            "caption_channels": GEMMA_HIDDEN,
            "connector_num_layers": 1,
            "connector_positional_embedding_max_pos": [4096],
        }
    )
    if architecture == "ltx-2":
        # V1 text path: Gemma features -> aggregate_embed (-> Gemma hidden size) -> connectors at the
        # Gemma hidden size -> caption_projection inside the transformer.
        cfg.update(
            {
                "cross_attention_dim": VIDEO_INNER,
                "audio_cross_attention_dim": AUDIO_INNER,
                "connector_num_attention_heads": 2,
                "connector_attention_head_dim": GEMMA_HIDDEN // 2,
            }
        )
    else:
        # V2 text path: dual aggregate embeds straight to the video / audio widths; the connectors
        # run at those widths and the transformer has no caption projection.
        cfg.update(
            {
                "cross_attention_dim": VIDEO_INNER,
                "audio_cross_attention_dim": AUDIO_INNER,
                "caption_proj_before_connector": True,
                "caption_projection_first_linear": False,
                "caption_proj_input_norm": False,
                "caption_projection_second_linear": False,
                "connector_num_attention_heads": HEADS,
                "connector_attention_head_dim": VIDEO_HEAD_DIM,
                "audio_connector_num_attention_heads": HEADS,
                "audio_connector_attention_head_dim": AUDIO_HEAD_DIM,
                "apply_gated_attention": True,
                "connector_apply_gated_attention": True,
                "cross_attention_adaln": True,
            }
        )
    return cfg


def _vae_config() -> dict:
    # patch 4 x three 2x spatial steps = 32; three 2x time steps = 8. multiplier 1 keeps every
    # encoder stage at the 128 latent channels (the encoder starts at the latent width).
    return {
        "_class_name": "CausalVideoAutoencoder",
        "dims": 3,
        "in_channels": 3,
        "out_channels": 3,
        "latent_channels": 128,
        "encoder_blocks": [
            ["res_x", {"num_layers": 1}],
            ["compress_space_res", {"multiplier": 1}],
            ["compress_time_res", {"multiplier": 1}],
            ["compress_all_res", {"multiplier": 1}],
            ["compress_all_res", {"multiplier": 1}],
        ],
        "decoder_blocks": [
            ["res_x", {"num_layers": 1, "inject_noise": False}],
            ["compress_space", {"multiplier": 2}],
            ["compress_time", {"multiplier": 1}],
            ["compress_all", {"residual": True, "multiplier": 2}],
            ["compress_all", {"residual": True, "multiplier": 2}],
        ],
        "decoder_base_channels": 16,
        "scaling_factor": 1.0,
        "norm_layer": "pixel_norm",
        "patch_size": 4,
        "latent_log_var": "uniform",
        "use_quant_conv": False,
        "causal_decoder": False,
        "timestep_conditioning": False,
        "spatial_padding_mode": "zeros",
    }


def _audio_vae_config() -> dict:
    return {
        "model": {
            "params": {
                "sampling_rate": 16000,
                "ddconfig": {
                    "ch": 128,
                    "out_ch": 2,
                    "in_channels": 2,
                    "ch_mult": [1, 1, 1],
                    "num_res_blocks": 1,
                    "attn_resolutions": [],
                    "resolution": 256,
                    "z_channels": 8,
                    "double_z": True,
                    "dropout": 0.0,
                    "mid_block_add_attention": False,
                    "norm_type": "pixel",
                    "causality_axis": "height",
                    "mel_bins": 64,
                    "attn_type": "vanilla",
                    "resamp_with_conv": True,
                },
            }
        },
        "preprocessing": {
            "stft": {"filter_length": 1024, "hop_length": 160, "causal": True},
            "mel": {"n_mel_channels": 64},
        },
        "variables": {"mel_bins": 64},
    }


def _vocoder_config(architecture: str) -> dict:
    if architecture == "ltx-2":
        # mel hop 160 at 16 kHz -> 24 kHz: 6*5*2*2*2 = 240 output samples per mel frame.
        return {
            "resblock": "1",
            "stereo": True,
            "upsample_rates": [6, 5, 2, 2, 2],
            "upsample_kernel_sizes": [12, 11, 4, 4, 4],
            "resblock_kernel_sizes": [3],
            "resblock_dilation_sizes": [[1, 3, 5]],
            "upsample_initial_channel": 64,
            "output_sampling_rate": 24000,
        }
    # LTX-2.3: a 16 kHz vocoder (160 per mel frame) + a bandwidth extension to 48 kHz whose
    # generator upsamples by hop_length * 48000 / 16000 = 240. Every transposed conv has an even
    # kernel - stride (an odd one makes the output length differ from the input's by one).
    amp = {"resblock": "AMP1", "stereo": True, "activation": "snakebeta", "use_tanh_at_final": False}
    return {
        "vocoder": dict(
            amp,
            upsample_rates=[5, 4, 2, 2, 2],
            upsample_kernel_sizes=[11, 8, 4, 4, 4],
            resblock_kernel_sizes=[3],
            resblock_dilation_sizes=[[1, 3, 5]],
            upsample_initial_channel=64,
        ),
        "bwe": dict(
            amp,
            upsample_rates=[6, 5, 2, 2, 2],
            upsample_kernel_sizes=[12, 11, 4, 4, 4],
            resblock_kernel_sizes=[3],
            resblock_dilation_sizes=[[1, 3, 5]],
            upsample_initial_channel=64,
            input_sampling_rate=16000,
            output_sampling_rate=48000,
            n_fft=256,
            hop_length=80,
            num_mels=64,
        ),
    }


def checkpoint_config(architecture: str) -> dict:
    """The `config` metadata of the tiny checkpoint (sections transformer, vae, audio_vae, vocoder)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}")
    return {
        "transformer": _transformer_config(architecture),
        "vae": _vae_config(),
        "audio_vae": _audio_vae_config(),
        "vocoder": _vocoder_config(architecture),
    }


def upsampler_config() -> dict:
    """The spatial upsampler's `config` metadata (flat, as LatentUpsamplerConfigurator reads it)."""
    return {
        "_class_name": "LatentUpsampler",
        "in_channels": 128,
        "mid_channels": 32,  # GroupNorm(32, mid_channels)
        "num_blocks_per_stage": 1,
        "dims": 3,
        "spatial_upsample": True,
        "temporal_upsample": False,
        "spatial_scale": 2.0,
        "rational_resampler": False,
    }


def gemma_hf_config() -> dict:
    """The tiny Gemma folder's config.json, in Hugging Face's Gemma-3 layout."""
    from ltx_core.text_encoders.gemma.config import Gemma3ConfigData  # the official defaults

    cfg = Gemma3ConfigData().to_dict()
    cfg.update(copy.deepcopy(TINY_GEMMA_TOP_CONFIG))
    cfg["text_config"].update(TINY_GEMMA_TEXT_CONFIG)
    cfg["vision_config"].update(TINY_GEMMA_VISION_CONFIG)
    cfg["ltx_scene_tiny"] = True  # backend.bundle.TINY_GEMMA_FLAG
    return cfg
