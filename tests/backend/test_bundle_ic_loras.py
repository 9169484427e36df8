"""Any IC-LoRA on any scene pass: bundle.json names IC-LoRAs and the pass that feeds each; old bundles
load unchanged; a job picks an IC-LoRA by name (or, as old clients do, by pass); every refusal says
what the bundle offers. No model is built here (plans only)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from backend.bundle import Bundle, BundleError
from backend.commands.make_tiny_model import parse_extra_ic_loras
from backend.engine import ControlInput
from backend.engine.plan import make_plan
from backend.tiny_model.builder import check_extra_ic_loras
from shared.control_kinds import SCENE_PASSES, ic_lora_name
from shared.errors import UserError
from shared.job_spec import GenerationSpec
from shared.package import ControlPackage

from .conftest import copy_bundle


def _studio_lora(bundle_json: Path, name: str, factor: int) -> str:
    """A LoRA file like the tiny union one, with its own reference_downscale_factor metadata."""
    data = json.loads(bundle_json.read_text())
    sd = load_file(str(bundle_json.parent / data["ic_loras"]["depth"]["path"]))
    save_file(sd, str(bundle_json.parent / name), metadata={"reference_downscale_factor": str(factor)})
    return name


@pytest.fixture
def studio_bundle(tiny_bundle, tmp_path) -> Path:
    """The tiny bundle plus a studio's IC-LoRA on the render pass (factor 1, read from its file)."""
    path = copy_bundle(tiny_bundle, tmp_path / "b")
    data = json.loads(path.read_text())
    data["ic_loras"]["blockout-to-render"] = {
        "path": _studio_lora(path, "blockout.safetensors", 1),
        "pass": "render",
        "strength": 0.8,
        "description": "our blockout look",
    }
    path.write_text(json.dumps(data))
    return path


def _edit(path: Path, ic_loras: dict) -> Path:
    data = json.loads(path.read_text())
    data["ic_loras"].update(ic_loras)
    path.write_text(json.dumps(data))
    return path


def test_old_bundle_format_loads_unchanged_each_name_its_own_pass(tiny_bundle):
    bundle = Bundle.load(tiny_bundle)
    assert bundle.control_kinds == ("depth", "pose", "tracks", "canny")
    assert {name: e.scene_pass for name, e in bundle.ic_loras.items()} == {
        "depth": "depth",
        "pose": "pose",
        "tracks": "tracks",
        "canny": "canny",
    }
    assert all("pass" not in entry for entry in json.loads(tiny_bundle.read_text())["ic_loras"].values())


def test_named_ic_lora_with_its_pass_and_its_own_factor(studio_bundle):
    bundle = Bundle.load(studio_bundle)
    entry = bundle.ic_loras["blockout-to-render"]
    assert (entry.scene_pass, entry.strength, entry.description) == ("render", 0.8, "our blockout look")
    assert entry.reference_downscale_factor == 1  # from the file's metadata, not the bundle
    assert bundle.size_multiple("blockout-to-render") == 64 and bundle.size_multiple("depth") == 128
    assert bundle.control_kinds[-1] == "blockout-to-render"
    described = bundle.describe()["ic_loras"]["blockout-to-render"]
    assert described == {
        "file": "blockout.safetensors",
        "pass": "render",
        "description": "our blockout look",
        "strength": 0.8,
        "reference_downscale_factor": 1,
        "size_multiple": 64,
    }
    assert bundle.files()[ic_lora_name("blockout-to-render")].name == "blockout.safetensors"


def test_ic_lora_chosen_by_name_or_by_pass(studio_bundle):
    bundle = Bundle.load(studio_bundle)
    assert bundle.resolve_ic_lora("blockout-to-render", None)[0] == "blockout-to-render"
    assert bundle.resolve_ic_lora("blockout-to-render", "render")[0] == "blockout-to-render"
    assert bundle.resolve_ic_lora(None, "render")[0] == "blockout-to-render"  # the bundle's IC-LoRA on that pass
    assert bundle.resolve_ic_lora(None, "depth")[0] == "depth"  # what old clients send
    with pytest.raises(BundleError) as info:
        bundle.resolve_ic_lora("nope", None)
    assert info.value.field == "ic_lora"
    assert "it has: depth (depth), pose (pose), tracks (tracks), canny (canny), blockout-to-render (render)" in str(
        info.value
    )
    with pytest.raises(BundleError, match="follows the 'render' pass, but the job asks for 'depth'") as info:
        bundle.resolve_ic_lora("blockout-to-render", "depth")
    assert info.value.field == "control_kind"
    with pytest.raises(BundleError, match=r"no IC-LoRA of that name or on that scene pass.*on the 'normal' pass"):
        bundle.resolve_ic_lora(None, "normal")


@pytest.mark.parametrize(
    "entry, message, field",
    [
        ({"path": "x.safetensors", "pass": "Render"}, "pass 'Render' is not a scene pass; use one of", "pass"),
        ({"path": "x.safetensors"}, 'needs a "pass"', "pass"),
        ({"path": "x.safetensors", "pass": "render", "description": 3}, "description must be text", "description"),
        ({"path": "x.safetensors", "pass": "render", "factor": 2}, "unknown key(s) factor", None),
    ],
)
def test_bad_entries_are_refused_naming_the_fix(studio_bundle, entry, message, field):
    _studio_lora(studio_bundle, "x.safetensors", 2)
    with pytest.raises(BundleError) as info:
        Bundle.load(_edit(studio_bundle, {"custom": entry}))
    assert message in str(info.value)
    assert info.value.field == "ic_loras.custom" + (f".{field}" if field else "")
    if field == "pass":
        assert ", ".join(SCENE_PASSES) in str(info.value)


def test_names_with_slashes_are_refused(studio_bundle):
    with pytest.raises(BundleError, match="short name without slashes"):
        Bundle.load(_edit(studio_bundle, {"a/b": {"path": "blockout.safetensors", "pass": "render"}}))


def _render_package(frames=9, size=128, kind="render") -> ControlPackage:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8)
    arrays = {"rgb": rgb} if kind == "render" else {"depth": np.full((frames, 32, 32), 2.0, np.float32)}
    return ControlPackage(kind=kind, width=size, height=size, fps=Fraction(24), frame_count=frames, **arrays)


def test_plan_runs_the_named_ic_lora_on_its_pass(studio_bundle):
    bundle = Bundle.load(studio_bundle)
    spec = GenerationSpec(prompt="a castle", ic_lora="blockout-to-render")
    plan = make_plan(spec, ControlInput(package=_render_package(size=64)), bundle)
    assert (plan.ic_lora, plan.kind, plan.reference_downscale_factor) == ("blockout-to-render", "render", 1)
    assert plan.ic_lora_path.endswith("blockout.safetensors")
    assert plan.lora_strengths() == [(ic_lora_name("blockout-to-render"), 1.0)]
    # a render package alone picks the bundle's IC-LoRA on the render pass
    assert make_plan(GenerationSpec(prompt="x"), ControlInput(package=_render_package(size=64)), bundle).ic_lora == (
        "blockout-to-render"
    )
    # an old client's control_kind still works, and a render package feeds canny (edges of the render)
    old = make_plan(GenerationSpec(prompt="x", control_kind="canny"), ControlInput(package=_render_package()), bundle)
    assert (old.ic_lora, old.kind) == ("canny", "canny")


def test_plan_refuses_a_package_that_cannot_feed_the_pass(studio_bundle):
    bundle = Bundle.load(studio_bundle)
    spec = GenerationSpec(prompt="x", ic_lora="blockout-to-render")
    with pytest.raises(UserError, match=r"follows the 'render' pass, but this is a 'depth' package without the rgb"):
        make_plan(spec, ControlInput(package=_render_package(kind="depth")), bundle)
    with pytest.raises(UserError, match=r"has no IC-LoRA named 'nope'; it has: .*blockout-to-render \(render\)"):
        make_plan(GenerationSpec(prompt="x", ic_lora="nope"), ControlInput(package=_render_package()), bundle)


def test_spec_ic_lora_field():
    spec = GenerationSpec.from_json({"prompt": "x", "ic_lora": "blockout-to-render", "control_kind": "render"})
    assert spec.to_json()["ic_lora"] == "blockout-to-render"
    assert GenerationSpec.from_json({"prompt": "x"}).ic_lora is None  # old clients send none
    for bad in ("", "../x.safetensors", 3):
        with pytest.raises(UserError) as info:
            GenerationSpec.from_json({"prompt": "x", "ic_lora": bad})
        assert info.value.field == "ic_lora"
    with pytest.raises(UserError, match="render, depth, normal, pose, tracks, canny, mask"):
        GenerationSpec.from_json({"prompt": "x", "control_kind": "albedo"})


def test_extra_ic_lora_flags():
    assert parse_extra_ic_loras(["blockout=render", "flat=normal:1"]) == {
        "blockout": ("render", 2),
        "flat": ("normal", 1),
    }
    assert check_extra_ic_loras({"blockout": "render"}) == [("blockout", "render", 2)]
    for bad in (["blockout"], ["=render"], ["x=render:two"], ["x=render", "x=depth"]):
        with pytest.raises(UserError, match="--extra-ic-lora"):
            parse_extra_ic_loras(bad)
    for bad, match in (
        ({"x": "albedo"}, "not a scene pass"),
        ({"depth": "render"}, "built-in"),
        ({"a b": "render"}, "letters, digits"),
        ({"x": ("render", 0)}, "1..8"),
    ):
        with pytest.raises(UserError, match=match):
            check_extra_ic_loras(bad)


def test_tiny_model_with_an_extra_ic_lora(tiny_bundle_render_lora):
    """make-tiny-model --extra-ic-lora blockout=render: its own file in the official format, its factor
    in the file's metadata, bound to the render pass in bundle.json."""
    from backend.bundle import read_safetensors_header

    bundle = Bundle.load(tiny_bundle_render_lora)
    entry = bundle.ic_loras["blockout"]
    assert entry.scene_pass == "render" and entry.path.name == "ltx-2.3-22b-ic-lora-blockout-tiny.safetensors"
    tensors, metadata = read_safetensors_header(entry.path)
    assert metadata["reference_downscale_factor"] == "2" and entry.reference_downscale_factor == 2
    assert all(k.startswith("diffusion_model.") and ".lora_" in k for k in tensors)
    assert entry.path != bundle.ic_loras["depth"].path
    assert load_file(str(entry.path)).keys() == load_file(str(bundle.ic_loras["depth"].path)).keys()
    assert json.loads(tiny_bundle_render_lora.read_text())["ic_loras"]["blockout"]["pass"] == "render"
