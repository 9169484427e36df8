"""Keyframe images through `POST /v1/jobs`: one file part `keyframe_<i>` per entry of the spec's
`keyframes`, checked at submit (missing, extra, unreadable, bad frame, frame 0 given twice), stored
under names the server picks and handed to the engine in the spec's order with their SHA-256.
In-process server (the real routes, store and worker) around the stand-in engine."""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pytest
from PIL import Image

from .api_fixtures import SPEC, open_api, running
from .helpers import FRAMES, depth_package_bytes, png_bytes
from .standin_engine import StandInEngine

KEYS = [{"frame": 1, "strength": 0.75}, {"frame": 0, "strength": 0.5}]


class RecordingEngine(StandInEngine):
    """The stand-in, keeping the keyframe images each job ran with."""

    def __init__(self):
        super().__init__()
        self.keyframes: list = []

    def run(self, spec, control, out_dir, on_progress=None, cancel=None):
        self.keyframes.append(list(control.keyframes))
        return super().run(spec, control, out_dir, on_progress, cancel)


@pytest.fixture
def api(tmp_path):
    with running(open_api(tmp_path / "data", RecordingEngine(), max_upload_bytes=4 * 1024 * 1024)) as api:
        yield api


def _png(value: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((32, 48, 3), value, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _post(api, spec: dict, parts: dict):
    files = {"control": ("control.npz", depth_package_bytes())}
    files.update({name: (f"{name}.png", data) for name, data in parts.items()})
    return api.client.post("/v1/jobs", data={"spec": json.dumps(spec)}, files=files)


def _refusal(r) -> tuple[list, str]:
    assert r.status_code == 422, r.text
    body = r.json()
    return body["detail"][0]["loc"], body["message"]


def test_keyframe_images_reach_the_engine_in_the_spec_order(api):
    images = {"keyframe_0": _png(10), "keyframe_1": _png(240)}
    r = _post(api, {**SPEC, "keyframes": KEYS}, images)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert api.wait(job_id)["status"] == "succeeded"
    record = api.state.store.get(job_id)
    assert record.spec["keyframes"] == KEYS
    assert record.inputs["keyframe_0"] == "keyframe_0.png" and record.inputs["keyframe_1"] == "keyframe_1.png"
    (ran,) = api.engine.keyframes
    assert [k.sha256 for k in ran] == [hashlib.sha256(images[f"keyframe_{i}"]).hexdigest() for i in range(2)]
    # decoded at the job's size (the package's 128x128), first image dark, second light
    assert [k.image.shape for k in ran] == [(128, 128, 3)] * 2
    assert ran[0].image.max() == 10 and ran[1].image.min() == 240


@pytest.mark.parametrize(
    "spec, parts, loc, words",
    [
        ({"keyframes": KEYS}, {"keyframe_0": _png(1)}, "keyframe_1", "missing; the spec lists 2 keyframe(s)"),
        ({"keyframes": KEYS[:1]}, {"keyframe_0": _png(1), "keyframe_1": _png(2)}, "keyframe_1", "no keyframe"),
        ({"keyframes": KEYS[:1]}, {"keyframe_0": b"not an image"}, "keyframe_0", "not a readable PNG or JPEG"),
        ({"keyframes": KEYS[:1]}, {"keyframe_0": b""}, "keyframe_0", "empty"),
        (
            {"frames": FRAMES, "keyframes": [{"frame": FRAMES, "strength": 1.0}]},
            {"keyframe_0": _png(1)},
            "spec",
            f"the nearest valid frame is {FRAMES - 1}",
        ),
        ({"keyframes": [{"frame": 1, "strength": 2}]}, {"keyframe_0": _png(1)}, "spec", "strength must be"),
        ({"keyframes": KEYS[:1]}, {"keyframe_0": _png(1), "keyframe_99": _png(2)}, "keyframe_99", "unknown form part"),
    ],
)
def test_bad_keyframe_uploads_are_refused_at_submit(api, spec, parts, loc, words):
    got_loc, message = _refusal(_post(api, {**SPEC, **spec}, parts))
    assert got_loc[:2] == ["body", loc] and words in message
    assert api.state.store.list() == []  # nothing queued


def test_keyframe_at_frame_0_and_a_first_frame_image_are_refused(api):
    r = _post(
        api, {**SPEC, "keyframes": [{"frame": 0, "strength": 1.0}]}, {"keyframe_0": _png(5), "image": png_bytes()}
    )
    loc, message = _refusal(r)
    assert loc[:2] == ["body", "spec"] and "frame 0 has a keyframe image and a first-frame image" in message
