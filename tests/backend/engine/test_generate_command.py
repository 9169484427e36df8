"""`ltx-scene generate`: validation before any model loads, and one real run."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from backend.cli import main
from backend.video import probe_video, write_lossless_video

from .conftest import control_video


@pytest.fixture
def files(tmp_path):
    video = write_lossless_video(tmp_path / "control.mkv", control_video(9, 128, 128), "30000/1001")
    Image.fromarray(np.full((50, 80, 3), 120, np.uint8)).save(tmp_path / "first.png")
    mask = np.zeros((40, 40), np.uint8)
    mask[:, :20] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    return tmp_path, video


@pytest.fixture
def no_engine_load(monkeypatch):
    """Fail loudly if a validation error would only come after the models were built."""
    from backend.engine import Engine

    def refuse(self):
        raise AssertionError("models were loaded before the input was validated")

    monkeypatch.setattr(Engine, "load", refuse)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--frames", "10"], "8k+1"),
        (["--width", "200"], "multiples of 128"),
        (["--attention-strength", "1.5"], "attention_strength"),
        (["--conditioning-strength", "-1"], "conditioning_strength"),
        (["--lora", "nothing=0.5"], "neither a LoRA of the bundle"),
        (["--lora", "broken"], "NAME_OR_PATH=STRENGTH"),
        (["--kind", "tracks", "--image", "missing.png"], "missing.png: not found"),
    ],
)
def test_cli_validation(tiny_bundle, files, capsys, no_engine_load, extra, message):
    tmp, video = files
    argv = [
        "generate",
        "--model",
        str(tiny_bundle),
        "--control",
        str(video),
        "--prompt",
        "x",
        "--out",
        str(tmp / "out.mp4"),
        "--device",
        "cpu",
        "--quiet",
    ]
    if "--kind" not in extra:
        argv += ["--kind", "depth"]
    assert main(argv + extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not (tmp / "out.mp4").exists()


def test_cli_missing_inputs(tiny_bundle, files, capsys, no_engine_load):
    tmp, video = files
    base = ["generate", "--prompt", "x", "--out", str(tmp / "o.mp4"), "--quiet"]
    assert main(base + ["--model", str(tiny_bundle), "--control", str(tmp / "nope.npz")]) == 2
    assert "nope.npz: not found" in capsys.readouterr().err
    assert main(base + ["--model", str(tmp / "nomodel"), "--control", str(video)]) == 2
    assert "no model bundle" in capsys.readouterr().err
    assert main(base + ["--model", str(tiny_bundle), "--control", str(video)]) == 2
    assert "control_kind" in capsys.readouterr().err
    assert (
        main(
            [
                "generate",
                "--prompt",
                "x",
                "--out",
                str(tmp / "o.mov"),
                "--model",
                str(tiny_bundle),
                "--control",
                str(video),
            ]
        )
        == 2
    )
    assert ".mp4" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_generate_preview(tiny_bundle, files, capsys):
    tmp, video = files
    ic_path = json.loads(tiny_bundle.read_text())["ic_loras"]["depth"]["path"]
    lora = shutil.copy(tiny_bundle.parent / ic_path, tmp / "style.safetensors")  # a second, valid LoRA file
    out = tmp / "result" / "clip.mp4"
    code = main(
        [
            "generate",
            "--model",
            str(tiny_bundle.parent),
            "--control",
            str(video),
            "--kind",
            "depth",
            "--prompt",
            "a test",
            "--out",
            str(out),
            "--seed",
            "3",
            "--image",
            str(tmp / "first.png"),
            "--attention-mask",
            str(tmp / "mask.png"),
            "--attention-strength",
            "0.7",
            "--lora",
            f"{lora}=0.25",
            "--preview",
            "--device",
            "cpu",
        ]
    )
    assert code == 0, capsys.readouterr().err
    info = probe_video(out)
    assert (info.width, info.height, info.frames, info.fps) == (64, 64, 9, Fraction(30000, 1001))
    side = json.loads(out.with_suffix(".json").read_text())
    assert side["outputs"] == {"video": "clip.mp4", "control": "clip.control.mkv"}
    assert [(lo["name"], lo["strength"]) for lo in side["loras"]["stage1"]] == [("ic-lora:depth", 1.0), ("style", 0.25)]
    assert side["attention"] == {"strength": 0.7, "mask": True, "mode": "spatio-temporal mask x strength"}
    assert side["control"]["first_frame_image"] is True
    assert (out.parent / "clip.control.mkv").is_file()
    assert not any(p.name.startswith(".") for p in out.parent.iterdir())
