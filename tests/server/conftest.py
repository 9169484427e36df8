"""Fixtures of the server tests: one real `ltx-scene serve` subprocess on a loopback port, with the
tiny bundle and a temporary data dir, shared by the end-to-end and fuzz tests of this folder."""

from __future__ import annotations

import pytest

from .helpers import ServerProcess

UPLOAD_LIMIT_MB = 1


@pytest.fixture(scope="session")
def server(tiny_bundle, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("server") / "data"
    proc = ServerProcess(tiny_bundle, data_dir, "--max-upload-mb", str(UPLOAD_LIMIT_MB))
    try:
        yield proc.start()
    finally:
        proc.stop()
        print(proc.log_tail(2000))


@pytest.fixture
def client(server):
    return server.client()
