"""Fixtures of the backend tests: the tiny bundles loaded, and one resident CPU engine per tiny
architecture, built once per session (that is the point of the engine); `copy_bundle` for tests that
edit a bundle."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def copy_bundle(src_json: Path, dst: Path) -> Path:
    """A writable copy of a tiny bundle: large files are hard links (never written in place)."""
    dst.mkdir(parents=True)
    for path in src_json.parent.rglob("*"):
        target = dst / path.relative_to(src_json.parent)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        elif path.suffix == ".safetensors":
            os.link(path, target)
        else:
            shutil.copy(path, target)
    return dst / "bundle.json"


@pytest.fixture(scope="session")
def bundle23(tiny_bundle):
    from backend.bundle import Bundle

    return Bundle.load(tiny_bundle)


@pytest.fixture(scope="session")
def bundle2(tiny_bundle_ltx2):
    from backend.bundle import Bundle

    return Bundle.load(tiny_bundle_ltx2)


@pytest.fixture(scope="session")
def engine23(bundle23):
    from backend.engine import Engine

    return Engine(bundle23, device="cpu")


@pytest.fixture(scope="session")
def engine2(bundle2):
    from backend.engine import Engine

    return Engine(bundle2, device="cpu")
