"""SHA-256 of model files, each file hashed at most once per (size, modification time).

A sidecar records the hash of every model file a job used. Real weights are about 70 GB, so hashing
them again for every engine (every server start) costs minutes of disk reading: the hashes are
remembered in a small JSON file keyed by the file's resolved path, size and mtime, and a changed file
is hashed again. One lock serializes hashing, so the background hasher the engine starts after
loading and a job's sidecar never read the same file twice at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path

from shared.atomic_write import atomic_write
from shared.data_dir import default_data_dir

log = logging.getLogger("ltx_scene.hashes")
CACHE_FILE = "file-hashes.json"
_CHUNK = 1 << 24


def default_cache_file() -> Path:
    return default_data_dir() / CACHE_FILE


class FileHashes:
    """`FileHashes(cache_file).sha256(path)`; `cache_file=None` remembers in memory only."""

    def __init__(self, cache_file: Path | None = None):
        self.cache_file = Path(cache_file) if cache_file is not None else None
        self._lock = threading.Lock()
        self._entries: dict[str, dict] = self._read()
        self.hashed: list[str] = []  # paths actually read by this instance (tests and logs)

    def _read(self) -> dict[str, dict]:
        if self.cache_file is None:
            return {}
        try:
            data = json.loads(self.cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}

    def _write(self) -> None:
        if self.cache_file is None:
            return
        try:
            self.cache_file.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.cache_file, json.dumps(self._entries, indent=1, sort_keys=True), fsync=False)
        except OSError as exc:  # a read-only data folder costs a re-hash next time, nothing else
            log.warning("could not remember model file hashes in %s: %s", self.cache_file, exc)

    def sha256(self, path) -> str:
        path = Path(path).resolve()
        with self._lock:
            st = path.stat()
            key = str(path)
            entry = self._entries.get(key)
            if entry and entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns:
                return str(entry["sha256"])
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(_CHUNK), b""):
                    digest.update(chunk)
            value = digest.hexdigest()
            self._entries[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": value}
            self.hashed.append(key)
            self._write()
            return value
