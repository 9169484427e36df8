"""Bad jobs and bad bundles fail with clear messages before any model is built."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from backend.engine import ControlInput, Engine
from shared.errors import UserError
from shared.job_spec import GenerationSpec

from .conftest import control_video


def _variant(tiny_bundle: Path, tmp_path: Path, **changes) -> Path:
    """A bundle.json beside tmp files, pointing at the tiny bundle's files by absolute path."""
    data = json.loads(Path(tiny_bundle).read_text())
    folder = Path(tiny_bundle).parent
    for key in ("checkpoint", "upsampler", "gemma_root"):
        data[key] = str(folder / data[key])
    for entry in data["ic_loras"].values():
        entry["path"] = str(folder / entry["path"])
    data.update(changes)
    out = tmp_path / "bundle.json"
    out.write_text(json.dumps(data))
    return out


def _lora_with_factor(bundle23, path: Path, factor: int) -> Path:
    sd = load_file(str(bundle23.ic_loras["depth"].path))
    save_file(sd, str(path), metadata={"reference_downscale_factor": str(factor)})
    return path


@pytest.fixture
def fresh(bundle23):
    """A new engine: construction is cheap (models load lazily) so each test can check nothing loaded."""
    return Engine(bundle23, device="cpu")


def _video_job(**spec):
    base = dict(prompt="a red fox", width=128, height=128, frames=9, fps="24", control_kind="depth")
    base.update(spec)
    return GenerationSpec(**base), ControlInput(video=control_video(9, 32, 32))


@pytest.mark.parametrize(
    "changes, match",
    [
        (dict(width=192), r"width"),  # factor-2 IC-LoRA: multiples of 128
        (dict(height=100), r"height"),
        (dict(frames=10), r"8k\+1|frames"),
        (dict(attention_strength=1.5), r"attention_strength"),
        (dict(attention_strength=-0.1), r"attention_strength"),
        (dict(conditioning_strength=2.0), r"conditioning_strength"),
        (dict(control_kind=None), r"control_kind"),
        (dict(fps=None), r"fps"),
        (dict(loras=[{"name": "nope", "strength": 1.0}]), r"no LoRA named 'nope'"),
    ],
)
def test_bad_job_is_refused_before_models_load(fresh, tmp_path, changes, match):
    spec, control = _video_job(**changes)
    with pytest.raises(UserError, match=match):
        fresh.run(spec, control, tmp_path / "out")
    assert not fresh.loaded
    assert not (tmp_path / "out").exists()


def test_size_message_names_the_snapped_size(fresh, tmp_path):
    spec, control = _video_job(width=192)
    with pytest.raises(UserError) as err:
        fresh.plan(spec, control)
    assert "128" in str(err.value) and "256" in str(err.value)


def test_control_arrays_are_checked(fresh):
    spec, _ = _video_job()
    with pytest.raises(UserError, match="exactly one"):
        fresh.plan(spec, ControlInput())
    with pytest.raises(UserError, match="uint8"):
        fresh.plan(spec, ControlInput(video=np.zeros((9, 32, 32, 3), np.float32)))
    with pytest.raises(UserError, match=r"mask: values must be finite and in \[0, 1\]"):
        fresh.plan(spec, ControlInput(video=control_video(9, 32, 32), mask=np.full((9, 8, 8), 2.0, np.float32)))
    with pytest.raises(UserError, match="has 5 frames but the job needs 9"):
        fresh.generate(spec, ControlInput(video=control_video(5, 32, 32)))
    assert not fresh.loaded


def test_unknown_kind(tiny_bundle, tmp_path):
    path = _variant(tiny_bundle, tmp_path)
    data = json.loads(path.read_text())
    data["ic_loras"] = {"depth": data["ic_loras"]["depth"]}
    path.write_text(json.dumps(data))
    engine = Engine(path, device="cpu")
    spec, control = _video_job(control_kind="pose")
    with pytest.raises(UserError, match=r"IC-LoRA 'pose'.*no IC-LoRA of that name or on that scene pass.*depth"):
        engine.plan(spec, control)


def test_conflicting_lora_factors(bundle23, tiny_bundle, tmp_path):
    from dataclasses import replace

    from backend.bundle import LoraEntry

    extra = _lora_with_factor(bundle23, tmp_path / "x4.safetensors", 4)
    # The bundle loader already refuses such a bundle...
    with pytest.raises(UserError, match="reference_downscale_factor"):
        Engine(_variant(tiny_bundle, tmp_path, loras={"x4": {"path": str(extra), "strength": 0.5}}), device="cpu")
    # ...and the engine checks the LoRAs of each job again (a bundle object built another way).
    engine = Engine(replace(bundle23, loras={"x4": LoraEntry("x4", extra, 0.5, 4)}), device="cpu")
    spec, control = _video_job(width=512, height=512, loras=[{"name": "x4"}])
    with pytest.raises(UserError, match="reference_downscale_factor"):
        engine.run(spec, control, tmp_path / "out")
    assert not engine.loaded


def test_lora_matching_nothing_refused_when_engine_is_made(tiny_bundle, tmp_path):
    bogus = tmp_path / "bogus.safetensors"
    save_file(
        {
            "diffusion_model.audio_only.proj.lora_A.weight": torch.zeros(4, 8, dtype=torch.bfloat16),
            "diffusion_model.audio_only.proj.lora_B.weight": torch.zeros(8, 4, dtype=torch.bfloat16),
        },
        str(bogus),
    )
    path = _variant(tiny_bundle, tmp_path, loras={"bogus": {"path": str(bogus), "strength": 1.0}})
    with pytest.raises(UserError, match=r"LoRA 'bogus'.*none of its 1 LoRA pairs match"):
        Engine(path, device="cpu")


def test_missing_files(bundle23, tiny_bundle, tmp_path):
    from dataclasses import replace

    gone = replace(bundle23, upsampler=tmp_path / "gone.safetensors")
    with pytest.raises(UserError, match=r"missing file.*gone\.safetensors"):
        Engine(gone, device="cpu")
    with pytest.raises(UserError, match="bundle"):
        Engine(tmp_path / "nowhere", device="cpu")


def test_device_choice(bundle23):
    assert Engine(bundle23).device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU"):
            Engine(bundle23, device="cuda")
    with pytest.raises(UserError, match="unknown device"):
        Engine(bundle23, device="tpu")


def test_describe_is_the_bundles_plus_the_engines_runtime(bundle23):
    """One description: everything the bundle says reaches /v1/models unchanged (strengths, factors,
    size multiples), and the engine adds only how it runs it."""
    engine = Engine(bundle23, device="cpu")
    d = engine.describe()
    assert {k: d[k] for k in bundle23.describe()} == bundle23.describe()
    assert d["control_kinds"] == ["depth", "pose", "tracks", "canny"]
    assert d["ic_loras"]["depth"] == {
        "file": bundle23.ic_loras["depth"].path.name,
        "pass": "depth",
        "description": "",
        "strength": 1.0,
        "reference_downscale_factor": 2,
        "size_multiple": 128,
    }
    assert d["tiny_model"] is True and d["loaded"] is False and d["device"] == "cpu"
    assert d["memory"]["tier"] == "resident" and d["memory"]["blocks"] == len(engine.memory_plan.sizes.blocks)
