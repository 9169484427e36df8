"""Write a file under a temporary name and move it into place only when complete.

A job store or a Blender strip must never see a half-written video: a crash, a cancel or a bad
chunk in the middle of encoding leaves the previous file (or none), never a truncated one. The
temporary name, the fsync, the permissions (0666 minus the umask read once at start-up, never
mkstemp's owner-only 0600) and the rename are `shared.atomic_write`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.atomic_write import finish_atomic, temp_path_beside


@contextmanager
def atomic_output(path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path` (same folder, so the final rename is atomic); the
    caller writes it (e.g. with PyAV), and on a clean exit it replaces `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_beside(path, suffix or path.suffix)
    try:
        yield tmp
        finish_atomic(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
