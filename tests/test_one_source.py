"""Each rule has one definition: a second copy in the shipped code fails here, naming the file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("shared", "backend", "blender_addon", "tools")


def _sources():
    for package in PACKAGES:
        root = REPO / package
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(REPO)
            if rel.parts[:2] == ("blender_addon", "shared"):  # the symlinked copy of shared/
                continue
            yield rel, path.read_text(encoding="utf-8")


RULES = [
    ("the control kinds", re.compile(r"\(\s*\"depth\"\s*,\s*\"pose\""), {"shared/control_kinds.py"}),
    ("the scene passes", re.compile(r"\(\s*\"render\"\s*,\s*\"depth\""), {"shared/control_kinds.py"}),
    (
        "reading an IC-LoRA's scene pass from bundle.json",
        re.compile(r"\bentry\.get\(\s*\"pass\""),
        {"backend/bundle.py"},
    ),
    ("the data directory", re.compile(r"environ[^\n]*XDG_DATA_HOME"), {"shared/data_dir.py"}),
    (
        "reading an IC-LoRA's reference factor",
        re.compile(r"(metadata|meta)(\(\))?\.get\(\s*\"reference_downscale_factor\""),
        {"backend/bundle.py"},
    ),
    ("the size multiple", re.compile(r"\b(64|128)\s*\*\s*(factor|int\(factor\))"), set()),
    ("the reference size", re.compile(r"//\s*2\s*//\s*(factor|self\.reference)"), set()),
    (
        "the frames whose keyframe image lines up with a latent frame",
        re.compile(
            r"\(\s*(frame|k|idx|index)\w*\s*-\s*1\s*\)\s*%\s*(8|LATENT_FRAME_STRIDE)"
            r"|range\(\s*1\s*,[^)]*,\s*(8|LATENT_FRAME_STRIDE)\s*\)"
        ),
        {"shared/keyframes.py"},
    ),
    ("the IC-LoRA's name among a job's LoRAs", re.compile(r"f\"ic[-_]lora:\{"), {"shared/control_kinds.py"}),
]


@pytest.mark.parametrize("what, pattern, allowed", RULES, ids=[r[0] for r in RULES])
def test_rule_defined_once(what, pattern, allowed):
    found = {str(rel) for rel, text in _sources() if pattern.search(text)}
    assert found <= allowed, (
        f"{what} is defined again in {sorted(found - allowed)}; use the one in {allowed or 'shared/'}"
    )


def test_the_scanner_sees_the_definitions():
    """The patterns match the files that must hold them (a pattern that matches nothing proves nothing)."""
    found = {str(rel) for rel, text in _sources() for _, pattern, allowed in RULES if pattern.search(text)}
    assert {"shared/control_kinds.py", "shared/data_dir.py", "backend/bundle.py"} <= found
    for what, pattern, allowed in RULES:  # every rule with a home is seen there
        assert all(pattern.search((REPO / home).read_text(encoding="utf-8")) for home in allowed), what


def test_no_second_model_of_the_bundle():
    assert not (REPO / "backend/engine/bundle_access.py").exists()
    assert not [rel for rel, text in _sources() if "BundleInfo" in text]
