"""Property-based fuzz past the upload checks: valid ControlPackages and specs, mutated (manifest
values and keys, the arrays' dtype and shape, flipped bytes of the file), sent to the in-process
server (stand-in engine). Every answer is 202 or a JSON 422 whose `loc` starts at the body, and
every accepted job ends (succeeded, or failed with a message). Fast, derandomized: the same cases
on every run. The schema-driven fuzz of every operation against a live server is test_fuzz.py."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .api_fixtures import SPEC, manifest_text, npy_bytes, npz_bytes, open_api, running

FUZZ = settings(
    max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)

# JSON values, text with lone surrogates and integers past Python's int-digit limit included
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
HUGE_INT = "<an integer of 5000 digits>"  # put into the JSON text, past Python's digit limit
SCALARS = st.none() | st.booleans() | st.integers() | st.just(HUGE_INT) | st.floats() | TEXT
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)
MANIFEST_KEYS = [
    "format",
    "version",
    "kind",
    "width",
    "height",
    "fps",
    "frame_count",
    "frame_start",
    "camera",
    "source",
    "depth_units",
    "arrays",
    "canny",
    "extra",
]
ARRAYS = hnp.arrays(
    st.sampled_from([np.float32, np.float64, np.uint8, np.bool_, np.int64]),
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=10),
)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with running(open_api(tmp_path_factory.mktemp("fuzz") / "data")) as api:
        yield api


def _json_bytes(obj: dict) -> bytes:
    text = json.dumps(obj, allow_nan=True)  # NaN/Infinity are not JSON: the reader must say so
    return text.replace(json.dumps(HUGE_INT), "9" * 5000).encode("utf-8", "surrogatepass")


def _package(manifest: dict, depth) -> bytes:
    entries = {"manifest.npy": npy_bytes(np.frombuffer(_json_bytes(manifest), np.uint8))}
    if depth is not None:
        entries["depth.npy"] = npy_bytes(depth)
    return npz_bytes(entries)


def _check(api, r) -> None:
    assert r.status_code in (202, 422), (r.status_code, r.text[:500])
    body = r.json()
    if r.status_code == 422:
        assert body["detail"] and body["detail"][0]["loc"][0] == "body", body
        assert body["message"], body
        return
    status = api.wait(body["id"])
    assert status["status"] in ("succeeded", "failed"), status
    if status["status"] == "failed":
        assert status["error"], status


@FUZZ
@given(key=st.sampled_from(MANIFEST_KEYS), value=JSON_VALUES, drop=st.booleans())
def test_mutated_manifests(api, key, value, drop):
    manifest = json.loads(manifest_text())
    if drop and key in manifest:
        del manifest[key]
    else:
        manifest[key] = value
    _check(api, api.submit(SPEC, _package(manifest, np.full((9, 128, 128), 2.0, np.float32))))


@FUZZ
@given(depth=ARRAYS | st.none())
def test_mutated_arrays(api, depth):
    _check(api, api.submit(SPEC, _package(json.loads(manifest_text()), depth)))


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 10**9), st.integers(1, 255)), min_size=1, max_size=6))
def test_flipped_bytes_of_a_valid_package(api, flips):
    data = bytearray(_package(json.loads(manifest_text()), np.full((9, 128, 128), 2.0, np.float32)))
    for position, xor in flips:
        data[position % len(data)] ^= xor
    _check(api, api.submit(SPEC, bytes(data)))


@FUZZ
@given(
    key=st.sampled_from(
        [
            "prompt",
            "seed",
            "width",
            "height",
            "frames",
            "fps",
            "control_kind",
            "attention_strength",
            "loras",
            "preview",
            "extra",
        ]
    ),
    value=JSON_VALUES,
)
def test_mutated_specs(api, key, value):
    spec = {**SPEC, key: value}
    r = api.client.post("/v1/jobs", files={"spec": (None, _json_bytes(spec)), "control": ("c.npz", _valid_package())})
    _check(api, r)


def _valid_package() -> bytes:
    buf = io.BytesIO(_package(json.loads(manifest_text()), np.full((9, 128, 128), 2.0, np.float32)))
    return buf.getvalue()
