"""shared/atomic_write.py: whole files or none, ordinary permissions, nothing left behind."""

from __future__ import annotations

import os
import stat

import pytest

from shared import atomic_write as aw


def test_writes_bytes_and_text_with_the_mode_a_normal_create_gives(tmp_path):
    normal = tmp_path / "normal"
    normal.write_bytes(b"")  # an ordinary create, same process umask
    aw.atomic_write(tmp_path / "a.bin", b"\x00\x01")
    aw.atomic_write(tmp_path / "b.txt", "caf\u00e9")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "b.txt").read_bytes() == "caf\u00e9".encode("utf-8")
    for name in ("a.bin", "b.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == stat.S_IMODE(normal.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.txt", "normal"]


def test_the_umask_is_read_once_at_import_not_per_write(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "umask", lambda *a: calls.append(a) or 0)
    aw.atomic_write(tmp_path / "x", b"1")
    tmp = aw.temp_path_beside(tmp_path / "y")
    aw.finish_atomic(tmp, tmp_path / "y")
    assert calls == []  # another thread never sees a umask of 0 because of a write


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "job.json"
    target.write_text("old")

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="No space"):
        aw.atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["job.json"]


def test_explicit_mode(tmp_path):
    aw.atomic_write(tmp_path / "secret", "s", mode=0o600)
    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o600


def test_finish_atomic_moves_a_written_temporary_into_place(tmp_path):
    tmp = aw.temp_path_beside(tmp_path / "clip.mp4", ".mp4")
    assert tmp.parent == tmp_path and tmp.name.startswith(".clip.mp4.") and tmp.suffix == ".mp4"
    tmp.write_bytes(b"video")
    aw.finish_atomic(tmp, tmp_path / "clip.mp4")
    assert (tmp_path / "clip.mp4").read_bytes() == b"video" and not tmp.exists()
    assert stat.S_IMODE((tmp_path / "clip.mp4").stat().st_mode) == aw.DEFAULT_FILE_MODE
