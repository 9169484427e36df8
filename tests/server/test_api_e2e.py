"""The real server (subprocess, loopback, tiny bundle): submit, events, downloads, cancel, queue,
access control, limits and validation."""

from __future__ import annotations

import io
import json

import av
import pytest
import requests

from shared.control_kinds import CONTROL_KINDS

from .conftest import UPLOAD_LIMIT_MB
from .helpers import FRAMES, HEIGHT, WIDTH, Client, control_video_bytes, depth_package_bytes, png_bytes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SPEC = {"prompt": "a red cube slides across a wooden table", "seed": 11}


def _streams(data: bytes) -> dict:
    with av.open(io.BytesIO(data)) as c:
        video = c.streams.video[0]
        frames = sum(1 for _ in c.decode(video))
        out = {
            "frames": frames,
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "codec": video.codec_context.name,
            "audio": None,
        }
    with av.open(io.BytesIO(data)) as c:
        if c.streams.audio:
            samples = sum(f.samples for f in c.decode(c.streams.audio[0]))
            out["audio"] = (c.streams.audio[0].codec_context.name, samples)
    return out


def test_health_needs_no_token_and_reports_versions_only_with_it(server, client):
    r = requests.get(server.base + "/v1/health", timeout=10, proxies={"http": None})
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "engine": "ready", "authenticated": False}
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["engine"] == "ready" and health["authenticated"] is True
    assert health["device"] == "cpu" and health["tiny_model"] is True
    assert health["torch"].startswith("2.11") and health["ltx_core"] == "1.0.0"


def test_models_lists_ic_loras_with_reference_factor(client):
    r = client.get("/models")
    assert r.status_code == 200
    models = r.json()
    assert models["control_kinds"] == list(CONTROL_KINDS)  # the bundle has an IC-LoRA for each
    assert models["ic_loras"]["depth"]["reference_downscale_factor"] == 2
    assert models["ic_loras"]["depth"]["size_multiple"] == 128


def test_submit_watch_events_and_download(server, client, tmp_path):
    job = client.submit({**SPEC, "frames": FRAMES}, depth_package_bytes(), "scene.npz")
    events = list(client.events(job))
    kinds = [e for e, _, _ in events]
    assert kinds[0] == "status" and kinds[-1] == "status"
    assert events[-1][1]["status"] == "succeeded" and events[-1][1]["progress"] == 1.0
    progress = [d["progress"] for _, d, _ in events]
    assert progress == sorted(progress)  # never goes back
    # at most 10 progress events a second (events.py): a tiny job streams a few; the stages they
    # show follow the engine's order
    order = ["prompt", "control", "stage1", "stage2", "decode", "write"]
    stages = [d["stage"] for e, d, _ in events if e == "progress"]
    assert stages and all(stage in order for stage in stages)
    assert [order.index(stage) for stage in stages] == sorted(order.index(stage) for stage in stages)
    stamps = [(d["stage"], d["step"]) for e, d, _ in events if e == "progress"]
    assert len(stamps) == len(set(stamps))  # no event sent twice
    steps = [d["step"] for e, d, _ in events if e == "progress" and d["stage"] == "stage1"]
    assert steps == sorted(steps) and set(steps) <= set(range(0, 9))  # 8 denoising steps (rate-limited)
    assert all(d["id"] == job for _, d, _ in events)

    status = client.status(job)
    assert status["result"] == {"frames": FRAMES, "fps": "24", "width": WIDTH, "height": HEIGHT}
    assert status["spec"]["prompt"] == SPEC["prompt"] and status["spec"]["seed"] == 11
    assert status["started"] >= status["created"] and status["finished"] >= status["started"]

    r = client.get(f"/jobs/{job}/result")
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    info = _streams(r.content)
    assert (info["frames"], info["width"], info["height"], info["codec"]) == (FRAMES, WIDTH, HEIGHT, "h264")
    assert info["audio"] is not None and info["audio"][0] == "aac" and info["audio"][1] > 0

    r = client.get(f"/jobs/{job}/sidecar")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    sidecar = r.json()
    assert sidecar["spec"]["prompt"] == SPEC["prompt"] and sidecar["tiny_model"] is True
    for root in {str(server.data_dir), str(server.data_dir.resolve()), str(server.bundle.parent.resolve())}:
        assert root not in r.text  # files by name, no server paths

    r = client.get(f"/jobs/{job}/control")
    assert r.status_code == 200
    assert _streams(r.content)["frames"] == FRAMES

    listed = client.get("/jobs").json()["jobs"]
    assert job in [j["id"] for j in listed]


def test_control_video_with_first_frame(client, tmp_path):
    spec = {**SPEC, "control_kind": "depth", "preview": True}
    job = client.submit(spec, control_video_bytes(tmp_path), "control.mkv", image=png_bytes())
    status = client.wait(job)
    assert status["status"] == "succeeded", status
    assert status["spec"]["fps"] == "24"  # the video's own rate filled in
    assert status["result"]["width"] == WIDTH // 2  # preview: stage 1 only, half size
    info = _streams(client.get(f"/jobs/{job}/result").content)
    assert info["frames"] == FRAMES and info["audio"] is not None


def test_cancel_mid_job(client, tmp_path):
    job = client.submit({**SPEC, "control_kind": "depth"}, control_video_bytes(tmp_path), "c.mkv")
    final, asked = None, False
    for event, data, _ in client.events(job):
        # the first progress event goes out at once (later ones may be held up to 0.1 s, longer
        # than a tiny job's stage): the job has just started running
        if event == "progress" and not asked:
            r = client.post(f"/jobs/{job}/cancel")
            assert r.status_code == 202, r.text
            assert r.json()["status"] in ("running", "cancelled")
            asked = True
        final = data
    assert final["status"] == "cancelled"
    assert final["stage"] in ("prompt", "control", "stage1", "stage2")  # stopped well before the end
    r = client.get(f"/jobs/{job}/result")
    assert r.status_code == 409 and "cancelled" in r.json()["detail"]
    assert client.post(f"/jobs/{job}/cancel").status_code == 409
    # the engine stays usable
    after = client.submit({**SPEC, "control_kind": "depth", "preview": True}, control_video_bytes(tmp_path), "c.mkv")
    assert client.wait(after)["status"] == "succeeded"


def test_cancel_a_queued_job_never_runs_it(client, tmp_path):
    video = control_video_bytes(tmp_path)
    first = client.submit({**SPEC, "control_kind": "depth", "preview": True}, video, "c.mkv")
    second = client.submit({**SPEC, "control_kind": "depth", "preview": True}, video, "c.mkv")
    r = client.post(f"/jobs/{second}/cancel")
    assert r.status_code == 202 and r.json()["status"] == "cancelled"
    assert client.wait(first)["status"] == "succeeded"
    status = client.status(second)
    assert status["status"] == "cancelled" and status["started"] is None


def test_two_queued_jobs_both_finish_in_order(client, tmp_path):
    video = control_video_bytes(tmp_path)
    a = client.submit({**SPEC, "control_kind": "depth", "preview": True, "seed": 1}, video, "c.mkv")
    b = client.submit({**SPEC, "control_kind": "depth", "preview": True, "seed": 2}, video, "c.mkv")
    sa, sb = client.wait(a), client.wait(b)
    assert sa["status"] == sb["status"] == "succeeded"
    assert sb["started"] >= sa["finished"]  # one worker, submission order
    ra, rb = client.get(f"/jobs/{a}/result").content, client.get(f"/jobs/{b}/result").content
    assert ra != rb  # different seeds, different noise
    ids = [j["id"] for j in client.get("/jobs").json()["jobs"]]
    assert ids.index(a) < ids.index(b)


def test_events_of_a_finished_job_end_at_once(client, tmp_path):
    done = [j["id"] for j in client.get("/jobs").json()["jobs"] if j["status"] == "succeeded"]
    if done:
        job = done[0]
    else:  # run alone: make one
        job = client.submit({**SPEC, "control_kind": "depth", "preview": True}, control_video_bytes(tmp_path), "c.mkv")
        client.wait(job)
    events = list(client.events(job, timeout=10))
    assert [(e, d["status"]) for e, d, _ in events] == [("status", "succeeded")]


# ------------------------------------------------------------------------------ access control
@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/jobs"),
        ("get", "/models"),
        ("post", "/jobs"),
        ("get", "/jobs/20260101-000000-00000000"),
        ("get", "/jobs/20260101-000000-00000000/result"),
    ],
)
def test_no_token_or_wrong_token_is_refused(server, method, path):
    for token in (None, "wrong-" + server.token[6:], server.token + "x"):
        r = getattr(Client(server.base, token), method)(path)
        assert r.status_code == 401, (token, r.text)
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "token" in r.json()["detail"]


def test_foreign_host_header_is_refused_even_with_the_token(server, client):
    for host in (
        f"evil.example:{server.port}",
        "attacker.test",
        f"127.0.0.1.nip.io:{server.port}",
        "localhost:80@evil.com",
    ):
        for path in ("/health", "/jobs"):
            r = client.get(path, headers={"Host": host})
            assert r.status_code == 400, (host, path, r.text)
            assert "Host header" in r.json()["detail"]
    assert client.get("/jobs", headers={"Host": f"localhost:{server.port}"}).status_code == 200


def test_no_cors_headers(client, server):
    r = client.get("/jobs", headers={"Origin": "http://evil.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    r = client.session.options(
        client.base + "/jobs",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert "access-control-allow-origin" not in r.headers


# ------------------------------------------------------------------------------ limits, validation
def test_oversized_upload_is_refused_and_creates_no_job(client):
    before = len(client.get("/jobs").json()["jobs"])
    big = b"\0" * (UPLOAD_LIMIT_MB * 1024 * 1024 + 1)
    r = client.post("/jobs", data={"spec": json.dumps(SPEC)}, files={"control": ("big.npz", big)})
    assert r.status_code == 413
    assert f"{UPLOAD_LIMIT_MB} MiB" in r.json()["detail"]
    assert len(client.get("/jobs").json()["jobs"]) == before


def test_oversized_chunked_upload_without_length_is_cut_off(client):
    big = b"\0" * (UPLOAD_LIMIT_MB * 1024 * 1024 + 1)
    prepared = requests.Request(
        "POST", client.base + "/jobs", data={"spec": json.dumps(SPEC)}, files={"control": ("big.npz", big)}
    ).prepare()
    body = prepared.body

    def chunks():  # a generator body: sent chunked, no Content-Length
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    r = client.session.post(
        client.base + "/jobs", data=chunks(), timeout=60, headers={"Content-Type": prepared.headers["Content-Type"]}
    )
    assert r.status_code == 413
    assert f"{UPLOAD_LIMIT_MB} MiB" in r.json()["detail"] and "--max-upload-mb" in r.json()["detail"]


@pytest.mark.parametrize(
    "spec, control, loc, words",
    [
        ({"seed": 1}, "pkg", ["body", "spec", "prompt"], "needs a prompt"),
        ({"prompt": "x", "stepz": 3}, "pkg", ["body", "spec", "stepz"], "unknown spec key"),
        ({"prompt": "x", "width": 200, "height": 128}, "pkg", ["body", "spec", "width"], "multiples of 128"),
        ({"prompt": "x", "frames": 10}, "pkg", ["body", "spec", "frames"], "8k+1"),
        ({"prompt": "x", "attention_strength": 2}, "pkg", ["body", "spec", "attention_strength"], "[0.0, 1.0]"),
        ({"prompt": "x"}, b"not a video", ["body", "control"], "control"),
        ({"prompt": "x"}, b"", ["body", "control"], "empty"),
    ],
)
def test_invalid_spec_or_upload_gives_422_with_field(client, spec, control, loc, words):
    data = depth_package_bytes() if control == "pkg" else control
    r = client.post("/jobs", data={"spec": json.dumps(spec)}, files={"control": ("c.npz", data)})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"][0]["loc"] == loc
    assert words in body["message"], body["message"]


def test_spec_not_json_and_missing_control_give_422(client):
    r = client.post("/jobs", data={"spec": "{nope"}, files={"control": ("c.npz", depth_package_bytes())})
    assert r.status_code == 422 and "not valid JSON" in r.json()["message"]
    r = client.post("/jobs", data={"spec": json.dumps(SPEC)}, files={"image": ("i.png", png_bytes())})
    assert r.status_code == 422
    assert [d["loc"] for d in r.json()["detail"]] == [["body", "control"]]
    r = client.post("/jobs", data={"spec": json.dumps(SPEC)})  # no file at all: not even a form
    assert r.status_code == 422 and "multipart/form-data" in r.json()["message"]


def test_bad_image_gives_422(client):
    r = client.post(
        "/jobs",
        data={"spec": json.dumps(SPEC)},
        files={"control": ("c.npz", depth_package_bytes()), "image": ("i.png", b"GIF89a....")},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "image"]


def test_unknown_job_is_404(client):
    for path in ("/jobs/20260101-000000-00000000", "/jobs/20260101-000000-00000000/events", "/jobs/not-an-id/sidecar"):
        r = client.get(path)
        assert r.status_code == 404 and "no job" in r.json()["detail"]
    assert client.post("/jobs/20260101-000000-00000000/cancel").status_code == 404
