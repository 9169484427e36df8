"""Write a file under a temporary name and move it into place only when complete.

A job store or a Blender strip must never see a half-written video: a crash, a cancel or a bad
chunk in the middle of encoding leaves the previous file (or none), never a truncated one.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path` (same folder, so the final rename is atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix or path.suffix,
                                    dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates the file owner-only (0600); a finished output gets the permissions any
        # newly created file would (0666 minus the umask), so other tools and users can read it.
        os.chmod(tmp, 0o666 & ~_current_umask())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
