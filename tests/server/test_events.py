"""The progress stream: the broker's per-stream rate limit (backend/server/events.py) and the SSE
bytes of a job's stream (backend/server/sse.py), on a real asyncio loop with a publishing thread,
as the worker publishes."""
from __future__ import annotations

import asyncio
import json
import threading
import time

from backend.server import sse
from backend.server.events import EventBroker
from backend.server.jobs import RUNNING, SUCCEEDED, JobStore

JOB = "job-1"


def _progress(step: int, rev: int, stage: str = "stage1"):
    return "progress", {"id": JOB, "status": "running", "stage": stage, "step": step}, rev


def _status(status: str, rev: int):
    return "status", {"id": JOB, "status": status, "stage": None, "step": None}, rev


def _collect(broker: EventBroker, publish_from_thread, wait_after: float):
    """Subscribe on a fresh loop, run `publish_from_thread()` on another thread, then drain the
    stream's queue for `wait_after` seconds; returns [(arrival seconds, event)]."""
    async def main():
        sub = broker.subscribe(JOB)
        t0 = time.monotonic()
        thread = threading.Thread(target=publish_from_thread)
        thread.start()
        got = []
        deadline = None
        while True:
            if deadline is None and not thread.is_alive():
                deadline = time.monotonic() + wait_after
            timeout = 0.01 if deadline is None else deadline - time.monotonic()
            if timeout <= 0:
                break
            try:
                event = await asyncio.wait_for(sub.queue.get(), timeout)
                got.append((time.monotonic() - t0, event))
            except asyncio.TimeoutError:
                pass
        thread.join()
        broker.unsubscribe(JOB, sub)
        return got

    return asyncio.run(main())


def test_a_burst_of_progress_sends_the_first_at_once_and_the_newest_one_interval_later():
    broker = EventBroker(progress_interval=0.5)
    got = _collect(broker, lambda: [broker.publish(*_progress(i, i + 1)) for i in range(10)], 0.8)
    steps = [event[1]["step"] for _, event in got]
    assert steps == [0, 9]                                   # steps 1..8 were superseded
    assert got[0][0] < 0.25                                  # the first is not held back
    assert 0.4 <= got[1][0] - got[0][0] < 1.5                # the newest, one interval later


def test_a_stage_change_within_the_interval_is_held_like_a_step_and_its_newest_event_arrives():
    broker = EventBroker(progress_interval=0.5)

    def publish():
        for i in range(4):
            broker.publish(*_progress(i, i + 1, "stage1"))
        for i in range(3):
            broker.publish(*_progress(i, i + 10, "stage2"))

    got = _collect(broker, publish, 0.8)
    assert [(e[1]["stage"], e[1]["step"]) for _, e in got] == [("stage1", 0), ("stage2", 2)]
    assert 0.4 <= got[1][0] - got[0][0] < 1.5


def test_a_stage_change_after_a_quiet_interval_goes_out_at_once():
    broker = EventBroker(progress_interval=0.3)

    def publish():
        broker.publish(*_progress(7, 1, "stage1"))
        time.sleep(0.4)
        broker.publish(*_progress(0, 2, "stage2"))

    got = _collect(broker, publish, 0.2)
    assert [(e[1]["stage"], e[1]["step"]) for _, e in got] == [("stage1", 7), ("stage2", 0)]
    assert got[1][0] - got[0][0] < 0.4 + 0.25                # not held for another interval


def test_status_events_go_out_at_once_and_drop_the_held_progress():
    broker = EventBroker(progress_interval=0.5)

    def publish():
        broker.publish(*_progress(0, 1))
        broker.publish(*_progress(1, 2))                     # held
        broker.publish(*_status("succeeded", 3))             # newer than the held one

    got = _collect(broker, publish, 0.8)
    assert [(e[0], e[1]["step"]) for _, e in got] == [("progress", 0), ("status", None)]
    assert got[1][0] < 0.25


def test_progress_slower_than_the_interval_is_sent_step_by_step():
    broker = EventBroker(progress_interval=0.03)

    def publish():
        for i in range(5):
            broker.publish(*_progress(i, i + 1))
            time.sleep(0.06)

    got = _collect(broker, publish, 0.1)
    assert [e[1]["step"] for _, e in got] == [0, 1, 2, 3, 4]


def _queued_job(store: JobStore, tmp_path):
    upload = tmp_path / "upload"
    upload.write_bytes(b"PK\x03\x04data")
    return store.create({"prompt": "a cube", "seed": 1}, {"control": (upload, "control.npz")})


def _parse(chunks: list[bytes]) -> list[tuple[str, dict]]:
    events = []
    for chunk in chunks:
        text = chunk.decode()
        assert text.endswith("\n\n")
        fields = dict(line.split(": ", 1) for line in text.strip("\n").split("\n"))
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_stream_starts_with_the_job_as_it_is_and_ends_after_its_final_status(tmp_path):
    store, _ = JobStore.open(tmp_path / "data")
    broker = EventBroker(progress_interval=0.0)
    store.add_listener(broker.publish)
    job = _queued_job(store, tmp_path)

    def work():
        time.sleep(0.05)
        store.update(job.id, status=RUNNING, started=time.time())
        for step in range(3):
            store.update(job.id, progress=(step + 1) / 4, stage="stage1", step=step, total=3)
            time.sleep(0.01)
        store.update(job.id, status=SUCCEEDED, finished=time.time(), progress=1.0)

    async def main():
        thread = threading.Thread(target=work)
        chunks = []
        stream = sse.job_event_stream(broker, store, job.id)
        thread.start()
        async for chunk in stream:
            chunks.append(chunk)
        thread.join()
        return chunks

    events = _parse(asyncio.run(asyncio.wait_for(main(), 10)))
    assert [(kind, data["status"]) for kind, data in events] == [
        ("status", "queued"), ("status", "running"), ("progress", "running"), ("progress", "running"),
        ("progress", "running"), ("status", "succeeded")]
    assert [d["step"] for k, d in events if k == "progress"] == [0, 1, 2]
    assert all(d["id"] == job.id for _, d in events)


def test_stream_of_a_finished_job_is_its_final_status_only(tmp_path):
    store, _ = JobStore.open(tmp_path / "data")
    broker = EventBroker()
    job = _queued_job(store, tmp_path)
    store.update(job.id, status=SUCCEEDED, finished=time.time(), progress=1.0)

    async def main():
        return [chunk async for chunk in sse.job_event_stream(broker, store, job.id)]

    assert [(k, d["status"]) for k, d in _parse(asyncio.run(main()))] == [("status", "succeeded")]


def test_an_idle_stream_sends_keep_alive_comments(tmp_path, monkeypatch):
    monkeypatch.setattr(sse, "PING_INTERVAL_S", 0.05)
    store, _ = JobStore.open(tmp_path / "data")
    broker = EventBroker()
    job = _queued_job(store, tmp_path)

    async def main():
        stream = sse.job_event_stream(broker, store, job.id)
        first = await stream.__anext__()
        pings = [await asyncio.wait_for(stream.__anext__(), 1.0) for _ in range(2)]
        await stream.aclose()
        return first, pings

    first, pings = asyncio.run(main())
    assert first.startswith(b"event: status\n")
    assert pings == [b": ping\n\n", b": ping\n\n"]
    assert broker._subscribers == {}                          # closing the stream unsubscribed it
