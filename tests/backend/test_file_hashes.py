"""Model files are hashed at most once per (size, mtime), remembered on disk, and never twice at once."""

from __future__ import annotations

import hashlib
import os
import threading

from backend.file_hashes import FileHashes


def test_a_file_is_hashed_once_and_remembered_across_processes(tmp_path):
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"x" * 100_000)
    cache = tmp_path / "data" / "file-hashes.json"
    first = FileHashes(cache)
    digest = first.sha256(weights)
    assert digest == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert first.sha256(weights) == digest and len(first.hashed) == 1
    again = FileHashes(cache)  # a new server start: read from the cache file
    assert again.sha256(weights) == digest and again.hashed == []


def test_a_changed_file_is_hashed_again(tmp_path):
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"a" * 10)
    hashes = FileHashes(tmp_path / "cache.json")
    old = hashes.sha256(weights)
    weights.write_bytes(b"b" * 11)
    os.utime(weights, ns=(1, 1))
    assert hashes.sha256(weights) == hashlib.sha256(b"b" * 11).hexdigest() != old
    assert len(hashes.hashed) == 2


def test_two_threads_asking_at_once_hash_the_file_once(tmp_path):
    weights = tmp_path / "big.bin"
    weights.write_bytes(os.urandom(1 << 22))
    hashes = FileHashes(None)
    results = []
    threads = [threading.Thread(target=lambda: results.append(hashes.sha256(weights))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 1 and len(hashes.hashed) == 1


def test_an_unwritable_cache_costs_a_rehash_not_an_error(tmp_path):
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"z")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("file")
    hashes = FileHashes(blocker / "cache.json")
    assert hashes.sha256(weights) == hashlib.sha256(b"z").hexdigest()
