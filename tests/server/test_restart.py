"""SIGKILL the real server mid-job and start it again on the same data dir: finished results are
intact, the running job is `interrupted`, queued jobs run. Also the queue limit (429)."""

from __future__ import annotations

import time

import pytest

from .helpers import ServerProcess, control_video_bytes, gated_command

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SPEC = {"prompt": "a cube", "control_kind": "depth"}


def test_sigkill_mid_job_then_restart(tiny_bundle, tmp_path):
    data_dir = tmp_path / "data"
    video = control_video_bytes(tmp_path)
    hold = tmp_path / "hold"
    first = ServerProcess(tiny_bundle, data_dir, "--max-queued", "3", command=gated_command(hold)).start()
    try:
        client = first.client()
        done = client.submit({**SPEC, "preview": True, "seed": 1}, video, "c.mkv")
        assert client.wait(done)["status"] == "succeeded"
        result = client.get(f"/jobs/{done}/result").content
        sidecar = client.get(f"/jobs/{done}/sidecar").content
        control = client.get(f"/jobs/{done}/control").content

        hold.touch()  # from now on jobs pause in stage 1
        running = client.submit({**SPEC, "preview": True, "seed": 2}, video, "c.mkv")
        client.wait(running, statuses=("running",), predicate=lambda s: s["stage"] == "stage1")
        queued = [client.submit({**SPEC, "preview": True, "seed": s}, video, "c.mkv") for s in (3, 4)]
        r = client.post(
            "/jobs", data={"spec": '{"prompt": "x", "control_kind": "depth"}'}, files={"control": ("c.mkv", video)}
        )
        assert r.status_code == 429 and "3 jobs" in r.json()["detail"]
        assert client.status(running)["status"] == "running"  # still paused: it cannot have ended
        token = first.token
    finally:
        first.kill()
    assert first.proc.returncode == -9

    killed_at = time.time()
    second = ServerProcess(tiny_bundle, data_dir).start()
    try:
        assert second.token == token  # the same token after a restart
        client = second.client()
        status = client.status(done)
        assert status["status"] == "succeeded"
        assert client.get(f"/jobs/{done}/result").content == result
        assert client.get(f"/jobs/{done}/sidecar").content == sidecar
        assert client.get(f"/jobs/{done}/control").content == control

        interrupted = client.status(running)
        assert interrupted["status"] == "interrupted"
        assert "submit it again" in interrupted["error"]
        # the stage last written (jobs.py: progress reaches disk when the last write is >= 1 s
        # old), never one it had not reached
        assert interrupted["stage"] in (None, "prompt", "control", "stage1")
        assert client.get(f"/jobs/{running}/result").status_code == 409
        assert client.post(f"/jobs/{running}/cancel").status_code == 409

        for job in queued:
            status = client.wait(job)
            assert status["status"] == "succeeded", status
            assert status["started"] > killed_at
        events = list(client.events(running, timeout=10))  # a stream of a dead job ends at once
        assert [(e, d["status"]) for e, d, _ in events] == [("status", "interrupted")]
        ids = [j["id"] for j in client.get("/jobs").json()["jobs"]]
        assert ids == [done, running, *queued]
    finally:
        second.stop()
    # SIGTERM: a graceful stop (uvicorn re-raises the signal after its shutdown completes)
    assert second.proc.returncode in (0, -15)
    assert "Application shutdown complete" in second.log_tail(20000)
