"""The model bundle description: loading, the reference factor from LoRA metadata, every refusal with
its message, and the `ltx-scene models` command through the real entry point."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest
import torch

from tests.ports import free_port

from backend.bundle import Bundle, BundleError, read_safetensors_header
from shared.data_dir import default_models_dir
from backend.tiny_model.safetensors_io import write_safetensors
from shared.errors import UserError

from .conftest import copy_bundle

REPO = Path(__file__).resolve().parents[2]
LTX_SCENE = REPO / ".venv" / "bin" / "ltx-scene"
CKPT = "ltx-2.3-22b-distilled-tiny.safetensors"
LORA = "ltx-2.3-22b-ic-lora-union-control-ref0.5-tiny.safetensors"


@pytest.fixture
def bundle_copy(tiny_bundle, tmp_path) -> Path:
    return copy_bundle(tiny_bundle, tmp_path / "b")


def _edit(bundle_json: Path, **changes) -> Path:
    data = json.loads(bundle_json.read_text())
    for key, value in changes.items():
        if value is _DROP:
            data.pop(key, None)
        else:
            data[key] = value
    bundle_json.write_text(json.dumps(data))
    return bundle_json


_DROP = object()


def _lora_file(path: Path, factor: str | None, base: Path) -> Path:
    """A LoRA like the tiny one but with another reference_downscale_factor metadata value."""
    from safetensors import safe_open

    with safe_open(str(base), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    write_safetensors(path, tensors, {} if factor is None else {"reference_downscale_factor": factor})
    return path


def _error(path, match: str) -> BundleError:
    with pytest.raises(BundleError) as info:
        Bundle.load(path)
    assert match in str(info.value), str(info.value)
    return info.value


def _real_bundle(bundle_copy: Path) -> Path:
    """Turn the copy into a non-tiny bundle description (what `models download` writes)."""
    folder = bundle_copy.parent
    config = json.loads((folder / "gemma" / "config.json").read_text())
    config.pop("ltx_scene_tiny")
    (folder / "gemma" / "config.json").write_text(json.dumps(config))
    return _edit(bundle_copy, tiny=False, name="ltx-2.3")


# --- loading ------------------------------------------------------------------------------------------


def test_load_tiny_bundle(tiny_bundle):
    bundle = Bundle.load(tiny_bundle)
    assert Bundle.load(tiny_bundle.parent) == bundle  # the folder works too
    folder = tiny_bundle.parent.resolve()
    assert bundle.path == folder / "bundle.json"
    assert bundle.checkpoint == folder / CKPT and bundle.checkpoint.is_absolute()
    assert bundle.upsampler == folder / "ltx-2.3-spatial-upscaler-x2-tiny.safetensors"
    assert bundle.gemma_root == folder / "gemma"
    assert (bundle.name, bundle.architecture, bundle.tiny, bundle.quantization) == (
        "tiny-ltx-2.3",
        "ltx-2.3",
        True,
        "none",
    )
    assert bundle.model_version == "2.3.0-tiny"
    assert bundle.control_kinds == ("depth", "pose", "tracks", "canny")
    for kind in bundle.control_kinds:
        entry = bundle.ic_lora(kind)
        assert entry.path == folder / LORA and entry.strength == 1.0
        assert entry.reference_downscale_factor == 2
        assert bundle.size_multiple(kind) == 128
    assert bundle.loras == {}
    assert bundle.checkpoint_config["transformer"]["caption_proj_before_connector"] is True


def test_describe_reports_factors_without_paths(tiny_bundle):
    described = Bundle.load(tiny_bundle).describe()
    assert described["control_kinds"] == ["depth", "pose", "tracks", "canny"]
    assert described["ic_loras"]["tracks"] == {
        "file": LORA,
        "pass": "tracks",
        "description": "",
        "strength": 1.0,
        "reference_downscale_factor": 2,
        "size_multiple": 128,
    }
    assert described["tiny_model"] is True and "noise" in described["note"]
    assert described["checkpoint"] == CKPT and described["text_encoder"] == "gemma"
    assert str(tiny_bundle.parent) not in json.dumps(described)  # no server-side paths


def test_ltx2_bundle(tiny_bundle_ltx2):
    bundle = Bundle.load(tiny_bundle_ltx2)
    assert bundle.architecture == "ltx-2" and bundle.model_version.startswith("2.0")
    assert bundle.size_multiple("depth") == 128


@pytest.mark.parametrize("factor, expected, multiple", [("1", 1, 64), ("4", 4, 256), (None, 1, 64)])
def test_reference_factor_read_from_lora_metadata(bundle_copy, factor, expected, multiple):
    folder = bundle_copy.parent
    _lora_file(folder / "other.safetensors", factor, folder / LORA)
    data = json.loads(bundle_copy.read_text())
    data["ic_loras"]["pose"] = {"path": "other.safetensors", "strength": 0.7}
    bundle_copy.write_text(json.dumps(data))
    bundle = Bundle.load(bundle_copy)
    assert bundle.reference_downscale_factor("pose") == expected
    assert bundle.size_multiple("pose") == multiple
    assert bundle.ic_lora("pose").strength == 0.7
    assert bundle.reference_downscale_factor("depth") == 2


def test_extra_loras_and_job_factor(bundle_copy):
    folder = bundle_copy.parent
    _lora_file(folder / "style.safetensors", None, folder / LORA)
    _edit(bundle_copy, loras={"style": {"path": "style.safetensors", "strength": -0.5}})
    bundle = Bundle.load(bundle_copy)
    entries, factor = bundle.job_loras("canny", ["style"])
    assert [e.name for e in entries] == ["canny", "style"] and factor == 2
    assert bundle.describe()["loras"] == {
        "style": {"file": "style.safetensors", "strength": -0.5, "reference_downscale_factor": 1}
    }
    with pytest.raises(BundleError, match=r"loras: 'nope' is not in bundle 'tiny-ltx-2.3' \(it has: style\)"):
        bundle.job_loras("canny", ["nope"])


# --- refusals -----------------------------------------------------------------------------------------


def test_missing_checkpoint_names_file_and_command(bundle_copy):
    (bundle_copy.parent / CKPT).unlink()
    folder = bundle_copy.parent.resolve()
    error = _error(
        bundle_copy,
        f"checkpoint {CKPT} not found in {folder}: run `ltx-scene make-tiny-model "
        f"{folder}` to rebuild the tiny test model",
    )
    assert error.field == "checkpoint"


def test_missing_official_checkpoint_points_to_download(bundle_copy):
    bundle_json = _real_bundle(bundle_copy)
    _edit(bundle_json, checkpoint="ltx-2.3-22b-distilled.safetensors")
    folder = bundle_copy.parent.resolve()
    _error(
        bundle_json,
        f"checkpoint ltx-2.3-22b-distilled.safetensors not found in {folder}: run `ltx-scene models download ltx-2.3`",
    )


def test_missing_file_in_models_dir_layout_names_dir(tiny_bundle, tmp_path):
    bundle_json = _real_bundle(copy_bundle(tiny_bundle, tmp_path / "models" / "ltx-2.3"))
    _edit(bundle_json, upsampler="ltx-2.3-spatial-upscaler-x2-1.0.safetensors")
    _error(
        bundle_json,
        f"upsampler ltx-2.3-spatial-upscaler-x2-1.0.safetensors not found in "
        f"{(tmp_path / 'models' / 'ltx-2.3').resolve()}: run `ltx-scene models download ltx-2.3 "
        f"--dir {(tmp_path / 'models').resolve()}`",
    )


def test_checkpoint_without_config_metadata(bundle_copy):
    folder = bundle_copy.parent
    (folder / CKPT).unlink()
    write_safetensors(
        folder / CKPT,
        {"model.diffusion_model.x.weight": torch.zeros(2, dtype=torch.bfloat16)},
        {"model_version": "2.3.0"},
    )
    _error(
        bundle_copy, f"checkpoint {CKPT} has no `config` metadata: it is not an official LTX-2 single-file checkpoint"
    )


def test_checkpoint_config_without_sections(bundle_copy):
    folder = bundle_copy.parent
    (folder / CKPT).unlink()
    write_safetensors(
        folder / CKPT,
        {"model.diffusion_model.x.weight": torch.zeros(2, dtype=torch.bfloat16)},
        {"config": json.dumps({"transformer": {}, "vae": {}})},
    )
    _error(bundle_copy, f"checkpoint {CKPT}: its config lacks the section(s) audio_vae, vocoder")


def test_checkpoint_not_safetensors(bundle_copy):
    folder = bundle_copy.parent
    (folder / CKPT).unlink()
    (folder / CKPT).write_bytes(b"PK\x03\x04 this is a zip, not safetensors")
    _error(
        bundle_copy,
        f"checkpoint {(folder / CKPT).resolve()} is not a safetensors file: its first 8 bytes are "
        f"not a safetensors header length",
    )


def test_architecture_mismatch(bundle_copy):
    _error(
        _edit(bundle_copy, architecture="ltx-2"),
        f"checkpoint {CKPT} is an ltx-2.3 checkpoint but bundle.json says architecture 'ltx-2'",
    )


def test_lora_not_safetensors(bundle_copy):
    folder = bundle_copy.parent
    (folder / "union.pt").write_bytes(b"\x80\x02pickle")
    data = json.loads(bundle_copy.read_text())
    data["ic_loras"]["depth"]["path"] = "union.pt"
    bundle_copy.write_text(json.dumps(data))
    error = _error(bundle_copy, "ic_loras.depth union.pt is not a .safetensors file")
    assert error.field == "ic_loras.depth"
    (folder / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    data["ic_loras"]["depth"]["path"] = "bad.safetensors"
    bundle_copy.write_text(json.dumps(data))
    _error(bundle_copy, "is not a safetensors file: its header is not JSON")


def test_lora_without_lora_weights(bundle_copy):
    folder = bundle_copy.parent
    write_safetensors(folder / "plain.safetensors", {"x.weight": torch.zeros(2, dtype=torch.bfloat16)}, {})
    data = json.loads(bundle_copy.read_text())
    data["ic_loras"]["pose"]["path"] = "plain.safetensors"
    bundle_copy.write_text(json.dumps(data))
    _error(bundle_copy, "ic_loras.pose plain.safetensors has no LoRA weights")


def test_bad_reference_factor_metadata(bundle_copy):
    folder = bundle_copy.parent
    _lora_file(folder / "odd.safetensors", "half", folder / LORA)
    data = json.loads(bundle_copy.read_text())
    data["ic_loras"]["canny"]["path"] = "odd.safetensors"
    bundle_copy.write_text(json.dumps(data))
    _error(
        bundle_copy,
        "ic_loras.canny odd.safetensors: its reference_downscale_factor metadata is 'half', "
        "expected a positive integer",
    )


def test_conflicting_reference_factors(bundle_copy):
    folder = bundle_copy.parent
    _lora_file(folder / "ref4.safetensors", "4", folder / LORA)
    _edit(bundle_copy, loras={"detail": {"path": "ref4.safetensors", "strength": 1.0}})
    error = _error(
        bundle_copy,
        f"ref4.safetensors has reference_downscale_factor 4 but {LORA} has 2: LoRAs used "
        f"in the same job must share one reference factor",
    )
    assert error.field == "loras"


@pytest.mark.parametrize(
    "changes, message, field",
    [
        ({"format": "other"}, "format is 'other', expected 'ltx-scene-bundle'", "format"),
        ({"version": 2}, "version is 2; this program reads version 1", "version"),
        ({"checkpoint": _DROP}, "missing field(s) checkpoint", "checkpoint"),
        ({"ic_lora": {}}, "unknown field(s) ic_lora", "ic_lora"),
        ({"architecture": "ltx-3"}, "architecture 'ltx-3' is not known; use one of ltx-2.3, ltx-2", "architecture"),
        ({"quantization": "int4"}, "quantization 'int4' is not supported; use one of none, fp8-cast", "quantization"),
        ({"tiny": "yes"}, "tiny must be true or false, got 'yes'", "tiny"),
        (
            {"ic_loras": {"normals": {"path": LORA}}},
            'ic_loras.normals needs a "pass": the scene pass that feeds this IC-LoRA, one of render, depth, '
            "normal, pose, tracks, canny, mask",
            "ic_loras.normals.pass",
        ),
        (
            {"ic_loras": {"look": {"path": LORA, "pass": "albedo"}}},
            "ic_loras.look.pass 'albedo' is not a scene pass; use one of render, depth, normal, pose, tracks, "
            "canny, mask",
            "ic_loras.look.pass",
        ),
        (
            {"ic_loras": {"depth": {"path": LORA, "strength": 0}}},
            "ic_loras.depth.strength must be a number in (0, 2], got 0",
            "ic_loras.depth.strength",
        ),
        (
            {"ic_loras": {"depth": {"path": LORA, "strength": "1"}}},
            "must be a number in (0, 2], got '1'",
            "ic_loras.depth.strength",
        ),
        (
            {"ic_loras": {"depth": {"path": LORA, "weight": 1}}},
            "ic_loras.depth has unknown key(s) weight; allowed: path, pass, strength, description",
            "ic_loras.depth",
        ),
        ({"ic_loras": {}}, "ic_loras must map IC-LoRA names", "ic_loras"),
        (
            {"loras": {"x": {"path": LORA, "strength": 3}}},
            "loras.x.strength must be a number in [-2, 2], got 3",
            "loras.x.strength",
        ),
        ({"gemma_root": "nowhere"}, "gemma_root nowhere not found in", "gemma_root"),
        ({"tiny": False}, 'holds the tiny test Gemma but bundle.json says "tiny": false', "gemma_root"),
    ],
)
def test_field_errors(bundle_copy, changes, message, field):
    error = _error(_edit(bundle_copy, **changes), message)
    assert error.field == field
    assert isinstance(error, UserError)


def test_gemma_root_missing_tokenizer(bundle_copy):
    (bundle_copy.parent / "gemma" / "tokenizer.model").unlink()
    _error(
        bundle_copy,
        f"gemma_root {(bundle_copy.parent / 'gemma').resolve()}: no tokenizer.model (the tokenizer) "
        f"in it; run `ltx-scene make-tiny-model",
    )


def test_real_gemma_missing_weights_names_repo(bundle_copy):
    bundle_json = _real_bundle(bundle_copy)
    (bundle_copy.parent / "gemma" / "model.safetensors").unlink()
    _error(
        bundle_json,
        "no model*.safetensors (the Gemma weights) in it; run `ltx-scene models download ltx-2.3` "
        "(the text encoder is every file of google/gemma-3-12b-it-qat-q4_0-unquantized)",
    )


def test_no_bundle_file_and_bad_json(tmp_path):
    error = _error(tmp_path, f"no model bundle at {tmp_path.resolve() / 'bundle.json'}: expected a bundle.json there")
    assert "ltx-scene make-tiny-model" in str(error) and "ltx-scene models download ltx-2.3" in str(error)
    (tmp_path / "bundle.json").write_text("{not json")
    _error(tmp_path, "bundle.json is not valid JSON")


def test_a_bundle_folder_that_does_not_exist_is_named_as_a_folder(tmp_path):
    missing = tmp_path / "models" / "ltx-2.3"
    error = _error(missing, f"no model bundle at {missing.resolve() / 'bundle.json'}")
    assert f"`ltx-scene make-tiny-model {missing.resolve()}`" in str(error)


def test_unknown_control_kind_query(tiny_bundle_ltx2, bundle_copy):
    data = json.loads(bundle_copy.read_text())
    del data["ic_loras"]["tracks"]
    bundle_copy.write_text(json.dumps(data))
    bundle = Bundle.load(bundle_copy)
    with pytest.raises(
        BundleError,
        match=r"IC-LoRA 'tracks': bundle 'tiny-ltx-2.3' has no IC-LoRA of that name or on that scene pass "
        r"\(it has: depth \(depth\), pose \(pose\), canny \(canny\)\)\. Add an IC-LoRA on the 'tracks' pass",
    ):
        bundle.size_multiple("tracks")


def test_default_models_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_models_dir() == tmp_path / "ltx-scene" / "models"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_models_dir() == Path.home() / ".local" / "share" / "ltx-scene" / "models"


def test_header_reader_matches_safetensors(tiny_bundle):
    from safetensors import safe_open

    path = tiny_bundle.parent / LORA
    tensors, meta = read_safetensors_header(path)
    with safe_open(str(path), framework="pt") as f:
        assert sorted(tensors) == sorted(f.keys()) and meta == f.metadata()


def test_models_catalog_presets():
    from backend.models_catalog import PRESETS, preset_for_file

    ltx23 = PRESETS["ltx-2.3"]
    assert ltx23.checkpoint.filename == "ltx-2.3-22b-distilled.safetensors"
    assert ltx23.upsampler.filename == "ltx-2.3-spatial-upscaler-x2-1.0.safetensors"
    assert ltx23.ic_loras["depth"] == ltx23.ic_loras["pose"] == ltx23.ic_loras["canny"]
    assert ltx23.ic_loras["depth"].filename == "ltx-2.3-22b-ic-lora-union-control-ref0.5.safetensors"
    assert ltx23.ic_loras["tracks"].filename == "ltx-2.3-22b-ic-lora-motion-track-control-ref0.5.safetensors"
    assert len(ltx23.files()) == 4
    assert PRESETS["ltx-2"].checkpoint.filename == "ltx-2-19b-distilled.safetensors"
    assert sorted(PRESETS["ltx-2"].ic_loras) == ["canny", "depth", "pose"]
    assert preset_for_file("ltx-2-19b-ic-lora-pose-control.safetensors").name == "ltx-2"


# --- `ltx-scene models` through the real entry point ----------------------------------------------------


def _cli(*args, env_extra=None, timeout=120):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([str(LTX_SCENE), *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_models_download_without_network_is_one_clear_message(tmp_path):
    endpoint = f"http://127.0.0.1:{free_port()}"
    result = _cli(
        "models",
        "download",
        "ltx-2.3",
        "--dir",
        str(tmp_path / "models"),
        env_extra={"HF_ENDPOINT": endpoint, "HF_HUB_OFFLINE": "0"},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        f"error: cannot reach {endpoint}: the connection was refused. "
        "`ltx-scene models download ltx-2.3` needs a network connection"
    )
    assert "run the same command again" in lines[0] and "ltx-scene make-tiny-model DIR" in lines[0]
    assert not (tmp_path / "models" / "ltx-2.3").exists()


def test_models_download_here_fails_cleanly_when_offline(tmp_path):
    try:
        socket.getaddrinfo("huggingface.co", 443)
    except OSError:
        pass
    else:
        pytest.skip("huggingface.co resolves here: a real download would start")
    result = _cli("models", "download", "ltx-2", "--dir", str(tmp_path), env_extra={"HF_HUB_OFFLINE": "0"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: cannot reach https://huggingface.co: the host name could not be resolved")


def test_models_download_refuses_unknown_preset_and_offline_mode(tmp_path):
    result = _cli("models", "download", "ltx-9", "--dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: preset 'ltx-9' is not known; choose one of ltx-2.3, ltx-2 (`ltx-scene models list` describes them)"
    )
    result = _cli("models", "download", "ltx-2", "--dir", str(tmp_path), env_extra={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: HF_HUB_OFFLINE is set")


def test_models_list_shows_installed_broken_and_missing(tiny_bundle, tmp_path):
    models = tmp_path / "models"
    copy_bundle(tiny_bundle, models / "tiny")
    broken = copy_bundle(tiny_bundle, models / "broken")
    (broken.parent / CKPT).unlink()
    result = _cli("models", "list", "--dir", str(models))
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == f"Model bundles in {models}:"
    assert out[1].startswith(f"  broken: BROKEN - checkpoint {CKPT} not found in {(models / 'broken').resolve()}")
    assert out[2] == (
        "  tiny: ok - ltx-2.3, controls: depth (x2), pose (x2), tracks (x2), canny (x2), "
        "quantization none [tiny test model: output is noise]"
    )
    assert out[3] == "Not installed:"
    assert out[4].startswith("  ltx-2.3: LTX-2.3 22B distilled") and out[4].endswith(
        f"run `ltx-scene models download ltx-2.3 --dir {models}`"
    )
    assert out[5].startswith("  ltx-2: ") and out[5].endswith(f"run `ltx-scene models download ltx-2 --dir {models}`")


def test_models_list_default_dir_empty(tmp_path):
    result = _cli("models", "list", env_extra={"XDG_DATA_HOME": str(tmp_path)})
    assert result.returncode == 0
    assert result.stdout.splitlines()[:2] == [f"Model bundles in {tmp_path / 'ltx-scene' / 'models'}:", "  (none)"]
    assert "run `ltx-scene models download ltx-2.3`" in result.stdout


def test_checkpoint_given_as_upsampler(bundle_copy):
    _error(_edit(bundle_copy, upsampler=CKPT), f"upsampler {CKPT} is a model checkpoint, not the spatial upsampler")


def test_tiny_ltx2_fix_names_its_architecture(tiny_bundle_ltx2, tmp_path):
    copy = copy_bundle(tiny_bundle_ltx2, tmp_path / "t2")
    (copy.parent / "ltx-2-spatial-upscaler-x2-tiny.safetensors").unlink()
    _error(
        copy,
        f"upsampler ltx-2-spatial-upscaler-x2-tiny.safetensors not found in {copy.parent.resolve()}: "
        f"run `ltx-scene make-tiny-model {copy.parent.resolve()} --architecture ltx-2`",
    )
