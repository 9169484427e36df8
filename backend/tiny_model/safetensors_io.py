"""A byte-for-byte deterministic safetensors writer.

`safetensors.torch.save_file` writes the `__metadata__` entries in hash-map order, which changes
from one process to the next, so the same tensors and metadata give different bytes. This writer
produces the same documented format (8-byte little-endian header length, JSON header, raw
little-endian data) with sorted keys, so a seed gives identical files on every run; the files are
read by the ordinary `safetensors.safe_open`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from shared.atomic_write import finish_atomic, temp_path_beside

_DTYPES = {
    torch.bfloat16: "BF16",
    torch.float16: "F16",
    torch.float32: "F32",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.uint8: "U8",
    torch.bool: "BOOL",
    torch.float8_e4m3fn: "F8_E4M3",
}


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> int:
    """Write `tensors` (sorted by name) with string `metadata`; returns the file size in bytes."""
    header: dict[str, object] = {"__metadata__": {k: str(metadata[k]) for k in sorted(metadata)}}
    chunks: list[bytes] = []
    offset = 0
    for name in sorted(tensors):
        tensor = tensors[name].detach().contiguous().cpu()
        data = tensor.reshape(-1).view(torch.uint8).numpy().tobytes()
        header[name] = {
            "dtype": _DTYPES[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), sort_keys=False).encode()
    text += b" " * (-len(text) % 8)  # the reference writer pads the header to 8 bytes
    path = Path(path)
    partial = temp_path_beside(path)  # never truncate a file (or a hard link) in place
    with partial.open("wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for chunk in chunks:
            f.write(chunk)
    finish_atomic(partial, path, fsync=False)  # test weights: no need to wait for the disk
    return path.stat().st_size
