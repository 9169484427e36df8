"""A bundle's identity: the hash that names the Celery queue its jobs go to.

SHA-256 over the bundle.json as parsed (names, strengths, quantization, the files' relative paths)
and the SHA-256 of every model file it names. Two copies of one bundle on two machines have the
same hash; a different checkpoint, LoRA, strength or quantization gives another, so a worker is
never given a job for a model it does not hold. The file hashes come from `FileHashes` (remembered
per size and modification time): the tiny bundle takes a fraction of a second, real weights
(~70 GB) a minute or two of disk reading once per machine, then nothing.
"""

from __future__ import annotations

import hashlib
import json

from backend.file_hashes import FileHashes, default_cache_file


def bundle_hash(bundle, quantization: str | None = None, hashes: FileHashes | None = None) -> str:
    """quantization: what the engine runs the bundle with when an option overrides bundle.json
    (`--quantization`): fp8-cast and bf16 weights give different results, so different hashes."""
    hashes = hashes or FileHashes(default_cache_file())
    try:
        described = json.loads(bundle.path.read_text("utf-8"))
    except (OSError, ValueError):
        described = bundle.describe()
    described = {"bundle": described, "quantization": quantization or bundle.quantization}
    h = hashlib.sha256()
    h.update(json.dumps(described, sort_keys=True, separators=(",", ":")).encode())
    for role, path in sorted(bundle.files().items()):
        h.update(f"\n{role} {hashes.sha256(path)}".encode())
    return h.hexdigest()
