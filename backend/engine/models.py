"""Build the models once through the official `ModelLedger` and place them as the memory plan says.

- `resident` tier: built straight on the device, every component resident.
- Every other tier: built on the CPU, then placed: the transformer's non-block parts and its resident
  blocks (spread evenly) go to the device, the other blocks are packed into host memory and streamed
  through two device slots (`backend.memory.streaming`); Gemma's layers stream the same way and its
  other parts, like the embeddings processor, come to the device only to encode a new prompt; in the
  `streamed` / `disk` tiers the VAEs, upsampler, audio decoder and vocoder come in for their stage.

The runtime IC-LoRA is attached before anything is packed, so its parametrizations see the real
weights; afterwards they read whatever the streamer has bound (a resident weight or a slot view).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from ltx_pipelines.utils import ModelLedger

from backend.gemma_config import prepare_gemma_config
from backend.memory.ledger import DeviceLedger
from backend.memory.placement import PerStage, Resident
from backend.memory.planner import MemoryPlan
from backend.memory.sizes import text_encoder_layers
from backend.memory.streaming import BlockStreamer
from shared.control_kinds import ic_lora_name

from .lora import RuntimeLoras, load_lora

PER_STAGE = ("video_encoder", "video_decoder", "audio_decoder", "vocoder", "upsampler")
GEMMA_LAYERS_PREFIX = "model.model.language_model.layers."


@dataclass
class Models:
    transformer: torch.nn.Module
    loras: RuntimeLoras
    video_encoder: torch.nn.Module
    video_decoder: torch.nn.Module
    audio_decoder: torch.nn.Module
    vocoder: torch.nn.Module
    upsampler: torch.nn.Module
    text_encoder: torch.nn.Module
    embeddings_processor: torch.nn.Module
    places: dict = field(default_factory=dict)  # component -> Resident | PerStage
    streamers: dict = field(default_factory=dict)  # "transformer" / "text_encoder" -> BlockStreamer
    ledger: DeviceLedger = field(default_factory=DeviceLedger)

    def on_device(self, *names: str):
        """`with models.on_device("video_encoder", "upsampler"):` brings per-stage components in."""
        import contextlib

        stack = contextlib.ExitStack()
        for name in names:
            stack.enter_context(self.places[name].on_device())
        return stack


def tensor_bytes(module: torch.nn.Module) -> int:
    """Bytes a module's unique parameters and buffers hold as stored."""
    seen, total = set(), 0
    for t in [*module.parameters(), *module.buffers()]:
        if id(t) not in seen:
            seen.add(id(t))
            total += t.numel() * t.element_size()
    return total


def build_models(bundle, plan: MemoryPlan, device: torch.device, dtype: torch.dtype, policy, disk_dir=None) -> Models:
    resident_tier = plan.tier == "resident"
    build_device = device if resident_tier else torch.device("cpu")
    ledger = ModelLedger(
        dtype=dtype,
        device=build_device,
        checkpoint_path=str(bundle.checkpoint),
        gemma_root_path=str(bundle.gemma_root),
        spatial_upsampler_path=str(bundle.upsampler),
        loras=(),
        quantization=policy,
    )
    transformer = ledger.transformer()
    velocity = transformer.velocity_model
    # The stock builder fuses with dtype=bf16 for a plain model and keeps the stored fp8 otherwise.
    loras = RuntimeLoras(velocity, fuse_dtype=None if policy is not None else dtype)
    by_path: dict[str, object] = {}  # one resident copy per file (a Union IC-LoRA serves 3 kinds)
    named = [(ic_lora_name(name), str(e.path)) for name, e in bundle.ic_loras.items()]
    named += [(name, str(e.path)) for name, e in bundle.loras.items()]
    for name, path in named:
        if path not in by_path:
            by_path[path] = load_lora(name, path, velocity, device)
        loras.add(by_path[path], name)
    prepare_gemma_config(bundle)
    # transformers warns on every build that the Gemma image processor is the "slow" one: the
    # official code asks for that processor and IC-LoRA jobs never use images, so keep it quiet.
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        text_encoder = ledger.text_encoder()
        embeddings_processor = ledger.gemma_embeddings_processor()
    finally:
        hf_logging.set_verbosity(verbosity)
    models = Models(
        transformer=transformer,
        loras=loras,
        video_encoder=ledger.video_encoder(),
        video_decoder=ledger.video_decoder(),
        audio_decoder=ledger.audio_decoder(),
        vocoder=ledger.vocoder(),
        upsampler=ledger.spatial_upsampler(),
        text_encoder=text_encoder,
        embeddings_processor=embeddings_processor,
    )
    _place(models, plan, device, disk_dir)
    return models


def _place(m: Models, plan: MemoryPlan, device: torch.device, disk_dir) -> None:
    led = m.ledger
    lora_bytes = sum(tensor_bytes_sd(lo.state_dict.sd) for lo in {id(x): x for x in m.loras.loras.values()}.values())
    led.add("LoRAs", lora_bytes)
    storages = plan.storages or {}
    velocity = m.transformer.velocity_model
    blocks = velocity.transformer_blocks

    # Transformer: everything but the blocks resident; blocks resident or streamed.
    velocity.transformer_blocks = torch.nn.ModuleList()
    m.transformer.to(device)
    led.add("transformer (non-block)", tensor_bytes(m.transformer))
    velocity.transformer_blocks = blocks
    resident = set(plan.resident_blocks)
    for i in sorted(resident):
        blocks[i].to(device)
    led.add("transformer blocks (resident)", sum(tensor_bytes(blocks[i]) for i in resident))
    if len(resident) < len(blocks):
        m.streamers["transformer"] = BlockStreamer(
            blocks, resident, device, storages.get("blocks", "host"), led, "transformer", disk_dir=disk_dir
        )

    # Text encoder and embeddings processor: resident, or on demand with Gemma's layers streamed.
    if plan.text_encoder_on_demand:
        text_storage = storages.get("text", "host")
        m.places["text_encoder"] = PerStage(
            m.text_encoder,
            device,
            text_storage,
            led,
            "text encoder (non-layer)",
            exclude_prefixes=(GEMMA_LAYERS_PREFIX,),
            disk_dir=disk_dir,
        )
        m.streamers["text_encoder"] = BlockStreamer(
            text_encoder_layers(m.text_encoder),
            set(),
            device,
            text_storage,
            led,
            "text encoder layers",
            disk_dir=disk_dir,
        )
        m.places["embeddings_processor"] = PerStage(
            m.embeddings_processor, device, text_storage, led, "embeddings processor", disk_dir=disk_dir
        )
    else:
        for name in ("text_encoder", "embeddings_processor"):
            module = getattr(m, name).to(device)
            m.places[name] = Resident(module, tensor_bytes(module), led, name)

    # VAEs, upsampler, audio decoder, vocoder: resident or per stage.
    for name in PER_STAGE:
        module = getattr(m, name)
        if plan.components_per_stage:
            m.places[name] = PerStage(module, device, storages.get("components", "host"), led, name, disk_dir=disk_dir)
        else:
            module.to(device)
            m.places[name] = Resident(module, tensor_bytes(module), led, name)


def tensor_bytes_sd(sd: dict) -> int:
    return sum(t.numel() * t.element_size() for t in sd.values())
