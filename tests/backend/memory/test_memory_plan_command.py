"""`ltx-scene memory-plan` for the official full-size LTX-2.3 model (meta device, no weights): the plan
fits the cards it is made for, and a budget that cannot work is refused with what to lower."""

from __future__ import annotations

import json

import pytest

from backend.cli import main

GIB = 1024**3
JOB = ["--width", "768", "--height", "512", "--frames", "121"]


def _plan(capsys, *args) -> dict:
    assert main(["memory-plan", "--preset", "ltx-2.3", *args, *JOB, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("vram, most", [(24, 21), (16, 14)])
def test_full_size_plan_fits_the_card(capsys, vram, most):
    plan = _plan(capsys, "--vram", str(vram), "--ram", "64")
    assert plan["tier"] in ("streamed", "disk")
    assert plan["peak_device_bytes"] <= most * GIB
    assert 0 < plan["resident_blocks"] < plan["blocks"] == 48
    assert plan["pinned_bytes"] <= 32 * GIB  # at most half the RAM is pinned
    names = {c["name"]: c for c in plan["components"]}
    assert names["text encoder (Gemma)"]["place"] == "on-demand"
    assert names["video VAE decoder"]["place"] == "per-stage"
    assert {"tier", "peak_device_bytes", "peak_host_bytes", "pinned_bytes", "components"} <= set(plan)


def test_an_80_gb_card_keeps_everything_resident(capsys):
    plan = _plan(capsys, "--vram", "80", "--ram", "64")
    assert plan["tier"] == "resident" and plan["resident_blocks"] == 48 and plan["pinned_bytes"] == 0


def test_short_ram_maps_the_streamed_weights_from_disk(capsys):
    plan = _plan(capsys, "--vram", "16", "--ram", "16")
    assert plan["tier"] == "disk" and plan["peak_host_bytes"] < 16 * GIB


def test_the_table_names_every_component(capsys):
    assert main(["memory-plan", "--preset", "ltx-2.3", "--vram", "24", "--ram", "64", *JOB]) == 0
    out = capsys.readouterr().out
    assert "memory plan: 24 GB:" in out and "of 48 blocks resident" in out
    for name in ("transformer blocks x48", "text encoder (Gemma)", "video VAE decoder", "spatial upsampler"):
        assert name in out


def test_a_card_too_small_is_refused_with_what_to_lower(capsys):
    assert main(["memory-plan", "--preset", "ltx-2.3", "--quantization", "none", "--vram", "8", *JOB]) == 2
    err = capsys.readouterr().err
    assert "Lower the frames or the size" in err and "fp8-cast" in err and "8.0 GB" in err


def test_a_bundle_plan_counts_its_own_files(capsys, tiny_bundle):
    assert (
        main(
            [
                "memory-plan",
                "--model",
                str(tiny_bundle),
                "--vram",
                "4",
                "--ram",
                "4",
                "--width",
                "256",
                "--height",
                "256",
                "--frames",
                "17",
                "--json",
            ]
        )
        == 0
    )
    plan = json.loads(capsys.readouterr().out)
    assert plan["model"]["source"] == "bundle tiny-ltx-2.3" and plan["model"]["blocks"] == 2
    assert plan["tier"] == "resident"
