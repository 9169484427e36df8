"""Atomic file writes: a reader sees the old file or the new one, never half of one.

`atomic_write(path, data)` writes to a temporary file in the target's folder (so the final rename
never crosses file systems), flushes and fsyncs it, gives it the permissions an ordinary
`open(path, "w")` would (0666 minus the process umask; `tempfile.mkstemp` would leave 0600) and
moves it over `path` with `os.replace`. On any failure (a full disk included) the temporary file is
removed and the exception propagates; `path` is untouched.

The umask is read once, when this module is imported. Reading it means setting it
(`os.umask(0)` then putting it back), and in a threaded process (the HTTP server) another thread
creating a file in between would get a world-writable one. Processes that change their umask
after start-up (none of ours does) can pass `mode=` explicitly.

Standard library only: this folder also runs inside Blender's Python.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _read_umask() -> int:
    mask = os.umask(0o077)  # the most restrictive value for the instant it is set
    os.umask(mask)
    return mask


UMASK = _read_umask()
DEFAULT_FILE_MODE = 0o666 & ~UMASK


def temp_path_beside(path, suffix: str = "") -> Path:
    """A new, empty, uniquely named file in `path`'s folder (hidden, named after `path`)."""
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or ".tmp", dir=path.parent)
    os.close(fd)
    return Path(name)


def finish_atomic(tmp, path, mode: int | None = None, fsync: bool = True) -> None:
    """Move a complete temporary file `tmp` over `path`: fsync, ordinary permissions, `os.replace`.
    `tmp` is removed when this fails."""
    tmp, path = Path(tmp), Path(path)
    try:
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.chmod(tmp, DEFAULT_FILE_MODE if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def atomic_write(
    path, data: bytes | str, *, encoding: str = "utf-8", mode: int | None = None, fsync: bool = True
) -> Path:
    """Write `data` (bytes, or text encoded with `encoding`) to `path` atomically; returns `path`.

    mode: the file's permissions (default 0666 & ~umask, what a normal create gives); fsync=False
    skips the flush to the disk (the rename is still atomic, but a power cut may lose the content).
    """
    path = Path(path)
    raw = data.encode(encoding) if isinstance(data, str) else bytes(data)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.chmod(tmp, DEFAULT_FILE_MODE if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    return path


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
