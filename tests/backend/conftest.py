"""Fixtures of the backend tests: the tiny bundles loaded, and one resident CPU engine per tiny
architecture, built once per session (that is the point of the engine)."""

from __future__ import annotations

import pytest


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
