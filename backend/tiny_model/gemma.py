"""The tiny Gemma-3 text-encoder folder.

The folder holds an ordinary Hugging Face `config.json` (the tiny sizes, plus `"ltx_scene_tiny":
true`), which `backend.gemma_config.prepare_gemma_config(bundle)` applies to ltx-core's hard-coded
Gemma config before a text encoder is built from the bundle.

The folder (what `ModelLedger` looks for, by name):
- `model.safetensors`: the weights in the original HF Gemma-3 key layout
  (`language_model.model.*`, `vision_tower.*`, `multi_modal_projector.*`);
- `tokenizer.json` + `tokenizer_config.json` + `special_tokens_map.json`: a Gemma-style fast
  tokenizer (BPE with byte fallback: every character becomes byte tokens, so every prompt gives
  distinct ids) defining `boi_token`, `eoi_token` and `image_token` as Gemma3Processor needs;
- `tokenizer.model`: the same vocabulary as a SentencePiece model (protobuf), which ltx-core
  locates to find the tokenizer folder;
- `preprocessor_config.json`: a Gemma3ImageProcessor config (the processor is built on every load).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch

from ..bundle import TINY_GEMMA_FLAG, is_tiny_gemma_root  # noqa: F401  (is_tiny_gemma_root re-exported)
from ..gemma_config import patched_gemma_config  # noqa: F401  (used by the builder)
from . import configs
from .safetensors_io import write_safetensors
from .weights import module_tensors

GEMMA_WEIGHTS_FILE = "model.safetensors"


# --- writing the folder --------------------------------------------------------------------------


def _gemma_file_key(module_key: str) -> str | None:
    """HF Gemma3ForConditionalGeneration key -> original checkpoint key (inverse of GEMMA_LLM_KEY_OPS)."""
    for ours, theirs in (
        ("model.language_model.", "language_model.model."),
        ("model.vision_tower.", "vision_tower."),
        ("model.multi_modal_projector.", "multi_modal_projector."),
    ):
        if module_key.startswith(ours):
            return theirs + module_key[len(ours) :]
    return None  # lm_head: tied to embed_tokens, ltx-core duplicates it at load


def gemma_tensors(seed: int) -> dict[str, torch.Tensor]:
    from transformers import Gemma3Config
    from transformers.models.gemma3 import Gemma3ForConditionalGeneration

    hf_config = Gemma3Config.from_dict(configs.gemma_hf_config())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Gemma3ForConditionalGeneration(hf_config)
    return module_tensors(model, _gemma_file_key, seed)


def _vocabulary() -> list[tuple[str, int]]:
    """(piece, sentencepiece type) in id order: specials, the word-boundary piece, 256 byte pieces."""
    specials = sorted(configs.TINY_GEMMA_TOKENS.values(), key=lambda item: item[1])
    pieces: list[tuple[str, int]] = []
    for text, _ in specials:
        pieces.append((text, 2 if text == "<unk>" else 3))  # UNKNOWN / CONTROL
    pieces.append(("\u2581", 1))  # NORMAL
    pieces.extend((f"<0x{b:02X}>", 6) for b in range(256))  # BYTE
    return pieces


def _tokenizer_json(pieces: list[tuple[str, int]]) -> dict:
    vocab = {text: i for i, (text, _) in enumerate(pieces)}
    added = [
        {
            "id": i,
            "content": text,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i, (text, kind) in enumerate(pieces)
        if kind in (2, 3)
    ]
    bos = configs.TINY_GEMMA_TOKENS["bos"]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos[0], "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [
                {"SpecialToken": {"id": bos[0], "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": bos[0], "type_id": 1}},
                {"Sequence": {"id": "B", "type_id": 1}},
            ],
            "special_tokens": {bos[0]: {"id": bos[0], "ids": [bos[1]], "tokens": [bos[0]]}},
        },
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
            ],
        },
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": "<unk>",
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [],
        },
    }


# SentencePiece ModelProto, hand-encoded (protobuf wire format; sentencepiece_model.proto field numbers).
def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _field_float(number: int, value: float) -> bytes:
    return _varint(number << 3 | 5) + struct.pack("<f", value)


def _sentencepiece_model(pieces: list[tuple[str, int]]) -> bytes:
    out = bytearray()
    for i, (text, kind) in enumerate(pieces):
        score = 0.0 if kind != 1 else -float(i)
        out += _field_bytes(1, _field_bytes(1, text.encode()) + _field_float(2, score) + _field_varint(3, kind))
    ids = {name: tid for name, (_, tid) in configs.TINY_GEMMA_TOKENS.items()}
    trainer = (
        _field_varint(3, 2)  # model_type: BPE
        + _field_varint(4, len(pieces))  # vocab_size
        + _field_varint(35, 1)  # byte_fallback
        + _field_varint(40, ids["unk"])
        + _field_varint(41, ids["bos"])
        + _field_varint(42, ids["eos"])
        + _field_varint(43, ids["pad"])
    )
    normalizer = _field_bytes(1, b"identity") + _field_varint(3, 0)  # no dummy prefix
    out += _field_bytes(2, trainer) + _field_bytes(3, normalizer)
    return bytes(out)


_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "<start_of_turn>{{ role }}\n"
    "{% if message['content'] is string %}{{ message['content'] | trim }}"
    "{% else %}{% for item in message['content'] %}"
    "{% if item['type'] == 'image' %}{{ '<start_of_image>' }}"
    "{% elif item['type'] == 'text' %}{{ item['text'] | trim }}{% endif %}{% endfor %}{% endif %}"
    "<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


def write_gemma_folder(folder: Path, seed: int) -> list[Path]:
    """Write the tiny Gemma root into `folder`; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    pieces = _vocabulary()
    tokens = configs.TINY_GEMMA_TOKENS
    written: list[Path] = []

    def put(name: str, data: bytes | str) -> None:
        path = folder / name
        if isinstance(data, str):
            path.write_text(data)
        else:
            path.write_bytes(data)
        written.append(path)

    tensors = gemma_tensors(seed)
    write_safetensors(folder / GEMMA_WEIGHTS_FILE, tensors, {"format": "pt"})
    written.append(folder / GEMMA_WEIGHTS_FILE)
    put("config.json", json.dumps(configs.gemma_hf_config(), indent=2, sort_keys=True))
    put("tokenizer.json", json.dumps(_tokenizer_json(pieces), indent=1, ensure_ascii=False))
    put("tokenizer.model", _sentencepiece_model(pieces))
    special = {
        "bos_token": tokens["bos"][0],
        "eos_token": tokens["eos"][0],
        "pad_token": tokens["pad"][0],
        "unk_token": tokens["unk"][0],
        "boi_token": tokens["boi"][0],
        "eoi_token": tokens["eoi"][0],
        "image_token": tokens["image"][0],
    }
    put("special_tokens_map.json", json.dumps(special, indent=2, sort_keys=True))
    tokenizer_config = dict(special)
    tokenizer_config.update(
        {
            "tokenizer_class": "GemmaTokenizer",
            "add_bos_token": True,
            "add_eos_token": False,
            "clean_up_tokenization_spaces": False,
            "model_max_length": 1000000000000000019884624838656,
            "padding_side": "left",
            "spaces_between_special_tokens": False,
            "extra_special_tokens": {
                "boi_token": tokens["boi"][0],
                "eoi_token": tokens["eoi"][0],
                "image_token": tokens["image"][0],
            },
            "chat_template": _CHAT_TEMPLATE,
            "processor_class": "Gemma3Processor",
        }
    )
    put("tokenizer_config.json", json.dumps(tokenizer_config, indent=2, sort_keys=True))
    size = configs.TINY_GEMMA_VISION_CONFIG["image_size"]
    preprocessor = {
        "image_processor_type": "Gemma3ImageProcessor",
        "processor_class": "Gemma3Processor",
        "do_convert_rgb": None,
        "do_normalize": True,
        "do_pan_and_scan": None,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
        "image_seq_length": configs.TINY_GEMMA_TOP_CONFIG["mm_tokens_per_image"],
        "pan_and_scan_max_num_crops": None,
        "pan_and_scan_min_crop_size": None,
        "pan_and_scan_min_ratio_to_activate": None,
        "resample": 2,
        "rescale_factor": 1 / 255,
        "size": {"height": size, "width": size},
    }
    put("preprocessor_config.json", json.dumps(preprocessor, indent=2, sort_keys=True))
    return written
