"""Every memory tier computes the same job: frames and audio bit-identical to the resident engine, on the
tiny bundle on a CPU (where the copy stream is the synchronous stand-in). And the streamed weights are
where the plan says: in a slot while their block runs, nowhere between blocks."""

from __future__ import annotations

import numpy as np
import pytest

from backend.engine import ControlInput, Engine, MemoryOptions
from shared.job_spec import GenerationSpec

from ..engine.conftest import control_video

pytestmark = pytest.mark.slow

W = H = 128
F = 9
TIERS = {
    "text-encoder-on-demand": MemoryOptions(tier="text-encoder-on-demand"),
    "streamed, 1 of 2 blocks resident": MemoryOptions(tier="streamed", resident_blocks=1),
    "streamed, every block": MemoryOptions(tier="streamed", resident_blocks=0),
    "disk, every block": MemoryOptions(tier="disk", resident_blocks=0),
}


def _job(seed: int, mask: bool):
    video = control_video(F, H // 4, W // 4, seed=seed)
    m = None
    if mask:
        m = np.zeros((F, H // 2, W // 2), np.float32)
        m[:, :, : W // 4] = np.linspace(0.2, 1.0, F, dtype=np.float32)[:, None, None]
    spec = GenerationSpec(
        prompt=f"tiers {seed}",
        seed=seed,
        width=W,
        height=H,
        frames=F,
        fps="24",
        control_kind="depth",
        attention_strength=0.6 if mask else 1.0,
    )
    return spec, ControlInput(video=video, mask=m, first_frame=None)


@pytest.fixture(scope="module")
def resident_media(engine23):
    assert engine23.memory_plan.tier == "resident"
    spec, control = _job(7, mask=True)
    return engine23.generate(spec, control)


@pytest.mark.parametrize("name", list(TIERS))
def test_every_tier_gives_the_resident_engines_frames_and_audio(bundle23, resident_media, name, tmp_path):
    engine = Engine(bundle23, device="cpu", memory=_with_disk(TIERS[name], tmp_path))
    assert engine.memory_plan.tier == TIERS[name].tier
    spec, control = _job(7, mask=True)
    media = engine.generate(spec, control)
    assert np.array_equal(media.video, resident_media.video)
    assert np.array_equal(media.audio, resident_media.audio)
    streamer = engine._models.streamers.get("transformer")
    if TIERS[name].resident_blocks is not None:
        assert streamer is not None and streamer.copies > 0  # blocks really went through the slots
    assert not list(tmp_path.glob("*.bin")), "the disk tier's weight files are mapped, then unlinked"


def _with_disk(opts: MemoryOptions, folder):
    from dataclasses import replace

    return replace(opts, disk_dir=folder)


def test_streamed_fp8_cast_is_the_resident_fp8_engine(bundle23):
    resident = Engine(bundle23, device="cpu", quantization="fp8-cast")
    streamed = Engine(
        bundle23, device="cpu", quantization="fp8-cast", memory=MemoryOptions(tier="streamed", resident_blocks=0)
    )
    spec, control = _job(3, mask=False)
    a, b = resident.generate(spec, control), streamed.generate(spec, control)
    assert np.array_equal(a.video, b.video) and np.array_equal(a.audio, b.audio)
    packed = streamed._models.streamers["transformer"].packed[0]
    import torch

    assert torch.float8_e4m3fn in {e.dtype for e in packed.entries}  # fp8 is what is streamed


def test_streamed_block_weights_live_in_a_slot_only_while_the_block_runs(bundle23):
    engine = Engine(bundle23, device="cpu", memory=MemoryOptions(tier="streamed", resident_blocks=0))
    engine.load()
    models = engine._models
    streamer = models.streamers["transformer"]
    ledger = models.ledger
    slots = [(s.data_ptr(), s.data_ptr() + s.numel()) for s in streamer.slots]
    fixed = ledger.current
    seen = []

    def observe(event, index, slot):
        tensors = streamer.packed[index].tensors()
        if event == "bound":
            lo, hi = slots[slot]
            assert all(t.numel() > 0 and lo <= t.data_ptr() < hi for t in tensors), "weights outside the slot"
        else:
            assert all(t.numel() == 0 for t in tensors), "a streamed block kept weight bytes after it ran"
            for other in streamer.packed.values():
                assert all(t.numel() == 0 for t in other.tensors())
            # Between blocks the device holds what the plan keeps resident plus the two slots, no more.
            held = ledger.held()
            assert "transformer slots" in held and not any(k.startswith("transformer-") for k in held)
        seen.append((event, index, slot))

    streamer.observer = observe
    spec, control = _job(5, mask=False)
    engine.generate(spec, control)
    blocks = len(models.transformer.velocity_model.transformer_blocks)
    steps = 8 + 3
    assert len(seen) == 2 * blocks * steps
    # Consecutive blocks use the two slots in turn.
    bound_slots = [slot for event, _, slot in seen if event == "bound"]
    assert all(a != b for a, b in zip(bound_slots, bound_slots[1:]))
    assert ledger.current == fixed
    assert ledger.held()["transformer slots"] == 2 * streamer.slot_bytes


def test_a_cached_prompt_touches_no_text_encoder_weight(bundle23):
    engine = Engine(bundle23, device="cpu", memory=MemoryOptions(tier="streamed", resident_blocks=1))
    spec, control = _job(9, mask=False)
    engine.generate(spec, control)
    models = engine._models
    text_place, text_layers = models.places["text_encoder"], models.streamers["text_encoder"]
    loads, copies = text_place.loads, text_layers.copies
    assert loads == 1 and copies == len(text_layers.packed)
    engine.generate(spec, control)  # the same prompt: cached
    assert (text_place.loads, text_layers.copies) == (loads, copies)
    engine.generate(GenerationSpec(**{**spec.to_json(), "prompt": "another prompt"}), control)
    assert text_place.loads == loads + 1
    # Outside the prompt stage the text encoder holds no device bytes.
    assert "text encoder (non-layer)" not in models.ledger.held()
    assert all(t.numel() == 0 for t in text_place.packed.tensors())


def test_per_stage_components_are_on_the_device_only_for_their_stage(bundle23):
    engine = Engine(bundle23, device="cpu", memory=MemoryOptions(tier="streamed", resident_blocks=2))
    engine.load()
    spec, control = _job(2, mask=False)
    stages_seen = {}

    def on_progress(event):
        held = engine._models.ledger.held()
        stages_seen.setdefault(event.stage, set()).update(
            name for name in ("video_encoder", "video_decoder", "upsampler", "audio_decoder", "vocoder") if name in held
        )

    engine.generate(spec, control, on_progress=on_progress)
    assert engine._models.places["video_decoder"].kind == "per-stage"
    # Progress is reported between the pieces of work: no component is held across stages.
    assert all(not names for names in stages_seen.values()), stages_seen
    assert engine._models.places["video_decoder"].loads == 1
    assert engine._models.places["video_encoder"].loads == 2  # control encode, then the upsample
