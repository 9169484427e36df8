"""The front door in-process (FastAPI's TestClient; no Redis needed, the broker URL points at a
closed port): the artists' API unchanged, the workers' `/v1/farm/` endpoints behind the worker token,
and a job driven through them as a worker does (claim, inputs, progress with cancel, result), with
the job's status and event stream what a single machine gives. Fast."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from backend.bundle import Bundle
from backend.farm.front_door import FrontDoor
from backend.farm.planner import FarmPlanner
from backend.farm.settings import FarmSettings
from backend.server.app import create_app
from backend.server.settings import ServerSettings
from tests.server.helpers import depth_package_bytes, parse_sse

HASH = "ef" * 32
SPEC = {"prompt": "a red cube", "seed": 4, "frames": 9}


@pytest.fixture
def front(tiny_bundle, tmp_path):
    bundle = Bundle.load(tiny_bundle)
    farm = FrontDoor(FarmSettings("redis://127.0.0.1:1/0", poll_s=60), bundle, HASH, "http://127.0.0.1:8765")
    app = create_app(ServerSettings(data_dir=tmp_path / "data"), FarmPlanner(bundle, HASH), farm=farm)
    artist = TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    artist.headers["Authorization"] = f"Bearer {app.state.server.token}"
    worker = TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    worker.headers["Authorization"] = f"Bearer {farm.worker_token}"
    try:
        with artist:
            yield artist, worker, app
    finally:
        app.state.data_lock.close()


def submit(artist) -> str:
    r = artist.post(
        "/v1/jobs", data={"spec": json.dumps(SPEC)}, files={"control": ("scene.npz", depth_package_bytes())}
    )
    assert r.status_code == 202, r.text
    return r.json()["id"]


def test_each_token_opens_only_its_own_endpoints(front):
    artist, worker, app = front
    job = submit(artist)
    assert artist.post(f"/v1/farm/jobs/{job}/claim", json={"worker": "w1", "model_hash": HASH}).status_code == 401
    assert worker.get("/v1/jobs").status_code == 401
    assert worker.get(f"/v1/jobs/{job}").status_code == 401
    anonymous = TestClient(app, base_url="http://127.0.0.1")
    assert anonymous.post(f"/v1/farm/jobs/{job}/claim", json={"worker": "w1", "model_hash": HASH}).status_code == 401
    assert "/v1/farm/jobs/{job_id}/claim" not in artist.get("/openapi.json").json()["paths"]  # not the add-on's API


def test_health_says_the_broker_is_away_and_no_worker_runs(front):
    artist, _, _ = front
    health = artist.get("/v1/health").json()
    assert health["engine"] == "loading" and health["workers"] == []
    assert health["device"] == "Celery workers (studio farm)" and health["tiny_model"] is True
    models = artist.get("/v1/models").json()
    assert models["model_hash"] == HASH and models["ic_loras"]["depth"]["size_multiple"] == 128


def test_a_job_through_the_worker_endpoints_reads_as_on_one_machine(front):
    artist, worker, _ = front
    job = submit(artist)
    claim = worker.post(f"/v1/farm/jobs/{job}/claim", json={"worker": "w1", "model_hash": HASH})
    assert claim.status_code == 200 and claim.json()["attempt"] == 1 and claim.json()["spec"]["seed"] == 4
    again = worker.post(f"/v1/farm/jobs/{job}/claim", json={"worker": "w2", "model_hash": HASH})
    assert again.status_code == 409  # a duplicate message: refused
    control = worker.get(f"/v1/farm/jobs/{job}/inputs/control")
    assert control.status_code == 200 and control.content == depth_package_bytes()
    assert worker.get(f"/v1/farm/jobs/{job}/inputs/..%2Ftoken").status_code == 404

    event = {"stage": "stage1", "step": 3, "total": 8, "progress": 0.25, "eta_s": 4.5, "message": "step 3/8"}
    r = worker.post(f"/v1/farm/jobs/{job}/progress", json={"worker": "w1", "attempt": 1, "event": event})
    assert r.status_code == 200 and r.json() == {"cancel": False}
    status = artist.get(f"/v1/jobs/{job}").json()
    assert (status["status"], status["stage"], status["step"], status["eta_s"]) == ("running", "stage1", 3, 4.5)
    assert status["worker"] == "w1" and status["attempts"] == 1
    r = worker.post(f"/v1/farm/jobs/{job}/progress", json={"worker": "w9", "attempt": 1, "event": event})
    assert r.status_code == 409  # not this job's worker

    meta = {"worker": "w1", "attempt": 1, "frames": 9, "fps": "24", "width": 128, "height": 128}
    files = {
        "video": ("video.mp4", b"mp4 bytes"),
        "sidecar": ("video.json", b'{"seed": 4}'),
        "control": ("control.mkv", b"mkv"),
    }
    r = worker.post(f"/v1/farm/jobs/{job}/result", data={"meta": json.dumps(meta)}, files=files)
    assert r.status_code == 200, r.text
    status = artist.get(f"/v1/jobs/{job}").json()
    assert status["status"] == "succeeded" and status["result"] == {
        "frames": 9,
        "fps": "24",
        "width": 128,
        "height": 128,
    }
    assert artist.get(f"/v1/jobs/{job}/result").content == b"mp4 bytes"
    assert artist.get(f"/v1/jobs/{job}/sidecar").json() == {"seed": 4}
    with artist.stream("GET", f"/v1/jobs/{job}/events") as r:
        events = [(kind, data) for kind, data, _ in parse_sse(r.iter_lines())]
    assert events == [("status", status)]  # a finished job: its status, then the stream ends
    late = worker.post(f"/v1/farm/jobs/{job}/result", data={"meta": json.dumps(meta)}, files=files)
    assert late.status_code == 409


def test_cancel_of_a_running_job_is_the_answer_to_its_next_progress_call(front):
    artist, worker, _ = front
    job = submit(artist)
    worker.post(f"/v1/farm/jobs/{job}/claim", json={"worker": "w1", "model_hash": HASH})
    r = artist.post(f"/v1/jobs/{job}/cancel")
    assert r.status_code == 202 and r.json()["status"] == "running"
    event = {"stage": "stage1", "step": 4, "total": 8, "progress": 0.3}
    r = worker.post(f"/v1/farm/jobs/{job}/progress", json={"worker": "w1", "attempt": 1, "event": event})
    assert r.json() == {"cancel": True}
    r = worker.post(
        f"/v1/farm/jobs/{job}/end", json={"worker": "w1", "attempt": 1, "status": "cancelled", "text": "cancelled"}
    )
    assert r.status_code == 200 and artist.get(f"/v1/jobs/{job}").json()["status"] == "cancelled"


def test_malformed_worker_calls_are_422_naming_the_field(front):
    artist, worker, _ = front
    job = submit(artist)
    assert worker.post(f"/v1/farm/jobs/{job}/claim", content=b"nope").status_code == 422
    r = worker.post(f"/v1/farm/jobs/{job}/claim", json={"worker": "../x", "model_hash": HASH})
    assert r.status_code == 422 and "worker" in r.json()["detail"]
    r = worker.post(f"/v1/farm/jobs/{job}/end", json={"worker": "w1", "attempt": 1, "status": "ok", "text": ""})
    assert r.status_code == 422
    assert worker.post("/v1/farm/jobs/not-a-job/claim", json={"worker": "w1", "model_hash": HASH}).status_code == 404
