"""Hostile JSON in a GenerationSpec or a ControlPackage manifest: a UserError naming the field,
never RecursionError, ValueError, IndexError or UnicodeEncodeError (issue 14, item 1)."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from shared.errors import UserError
from shared.job_spec import GenerationSpec
from shared.package import ControlPackage, PackageError


@pytest.mark.parametrize(
    "text, field, words",
    [
        ("[" * 100_000 + "]" * 100_000, "spec", "nested too deeply"),
        ('{"prompt": "x", "seed": ' + "9" * 5000 + "}", "spec", "too long"),
        ('{"prompt": "a \\ud800"}', "prompt", "not valid Unicode"),
        ('{"prompt": "x", "loras": [{"name": "\\udfff"}]}', "loras", "not valid Unicode"),
        ('{"prompt": "x", "\\ud800": 1}', "\\ud800", "not valid Unicode"),
    ],
)
def test_spec_json(text, field, words):
    with pytest.raises(UserError, match=words) as err:
        GenerationSpec.from_json(text)
    assert err.value.field == field
    str(err.value).encode("utf-8")  # the message itself can be sent as UTF-8


def test_spec_bytes_must_be_utf8():
    with pytest.raises(UserError, match="not UTF-8") as err:
        GenerationSpec.from_json(b'{"prompt": "caf\xe9"}')
    assert err.value.field == "spec"
    assert GenerationSpec.from_json('{"prompt": "café"}'.encode()).prompt == "café"


def _package(manifest_text: str) -> bytes:
    def npy(arr):
        buf = io.BytesIO()
        np.lib.format.write_array(buf, arr)
        return buf.getvalue()

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("manifest.npy", npy(np.frombuffer(manifest_text.encode(), np.uint8)))
        zf.writestr("depth.npy", npy(np.full((9, 16, 16), 2.0, np.float32)))
    return buf.getvalue()


def _manifest(**changes) -> dict:
    manifest = {
        "format": "ltx-scene-control-package",
        "version": 1,
        "kind": "depth",
        "width": 16,
        "height": 16,
        "fps": "24",
        "frame_count": 9,
        "arrays": ["depth"],
    }
    manifest.update(changes)
    return manifest


@pytest.mark.parametrize(
    "text, field, words",
    [
        ('{"a":' * 50_000 + "1" + "}" * 50_000, "manifest", "nested too deeply"),
        (json.dumps(_manifest()).replace('"frame_count": 9', '"frame_count": ' + "9" * 5000), "manifest", "too long"),
        (json.dumps(_manifest(arrays=["depth", "depth"])), "depth", "more than once"),
        (json.dumps(_manifest(source={"k": "\ud800"})), "source", "not valid Unicode"),
        (json.dumps(_manifest())[:-1] + ', "\\ud800": 1}', "\\ud800", "not valid Unicode"),
    ],
)
def test_manifest_json(text, field, words):
    with pytest.raises(PackageError, match=words) as err:
        ControlPackage.load(_package(text))
    assert err.value.field == field


def test_a_valid_manifest_still_loads():
    assert ControlPackage.load(_package(json.dumps(_manifest()))).frame_count == 9
