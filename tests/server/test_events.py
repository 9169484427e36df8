"""The progress stream: the broker's per-stream rate limit (backend/server/events.py) and the SSE
bytes of a job's stream (backend/server/sse.py), on a real asyncio loop with a publishing thread,
as the worker publishes."""

from __future__ import annotations

import asyncio
import json
import threading

from backend.server import sse
from backend.server.events import EventBroker
from backend.server.jobs import RUNNING, SUCCEEDED, JobStore

JOB = "job-1"


def _progress(step: int, rev: int, stage: str = "stage1"):
    return "progress", {"id": JOB, "status": "running", "stage": stage, "step": step}, rev


def _status(status: str, rev: int):
    return "status", {"id": JOB, "status": status, "stage": None, "step": None}, rev


class SteppedClock:
    """The broker's clock, moved by the test: decisions depend on call order, not machine speed."""

    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


async def _settle():
    """Let the loop run the callbacks `publish` scheduled with call_soon_threadsafe."""
    for _ in range(3):
        await asyncio.sleep(0)


def _drain(sub) -> list:
    out = []
    while not sub.queue.empty():
        out.append(sub.queue.get_nowait())
    return out


def _run(broker: EventBroker, scenario):
    """Subscribe on a fresh loop and run `await scenario(sub)`."""

    async def main():
        sub = broker.subscribe(JOB)
        try:
            return await scenario(sub)
        finally:
            broker.unsubscribe(JOB, sub)

    return asyncio.run(main())


def test_a_burst_of_progress_sends_the_first_at_once_and_the_newest_when_the_interval_is_up():
    clock = SteppedClock()
    broker = EventBroker(progress_interval=0.02, clock=clock)

    async def scenario(sub):
        for i in range(10):
            broker.publish(*_progress(i, i + 1))
        await _settle()
        at_once = _drain(sub)
        held = sub.held
        flushed = await sub.queue.get()  # the loop's timer sends the held one
        return at_once, held, flushed, sub.timer_armed

    at_once, held, flushed, armed_after = _run(broker, scenario)
    assert [e[1]["step"] for e in at_once] == [0]  # the first is not held back
    assert held[1]["step"] == 9  # steps 1..8 were superseded
    assert flushed[1]["step"] == 9 and flushed[2] == 10
    assert not armed_after


def test_the_timer_waits_what_is_left_of_the_interval_by_the_brokers_clock():
    clock = SteppedClock()
    broker = EventBroker(progress_interval=0.5, clock=clock)
    timers = []

    async def scenario(sub):
        loop = asyncio.get_running_loop()
        loop.call_later = lambda delay, callback, *args: timers.append((delay, callback, args))
        broker.publish(*_progress(0, 1))
        clock.t += 0.125
        broker.publish(*_progress(1, 2))  # 0.375 s of the interval left: held
        broker.publish(*_progress(2, 3))  # replaces the held one, no second timer
        await _settle()
        first = _drain(sub)
        delay, callback, args = timers[0]
        clock.t += delay
        callback(*args)  # the timer fires
        return first, delay, _drain(sub), len(timers)

    first, delay, flushed, count = _run(broker, scenario)
    assert [e[1]["step"] for e in first] == [0]
    assert delay == 0.375 and count == 1
    assert [e[1]["step"] for e in flushed] == [2]


def test_a_stage_change_within_the_interval_is_held_like_a_step_and_its_newest_event_arrives():
    clock = SteppedClock()
    broker = EventBroker(progress_interval=0.02, clock=clock)

    async def scenario(sub):
        for i in range(4):
            broker.publish(*_progress(i, i + 1, "stage1"))
        for i in range(3):
            broker.publish(*_progress(i, i + 10, "stage2"))
        await _settle()
        got = _drain(sub)
        got.append(await sub.queue.get())
        return got

    got = _run(broker, scenario)
    assert [(e[1]["stage"], e[1]["step"]) for e in got] == [("stage1", 0), ("stage2", 2)]


def test_a_stage_change_after_a_quiet_interval_goes_out_at_once():
    clock = SteppedClock()
    broker = EventBroker(progress_interval=0.3, clock=clock)

    async def scenario(sub):
        broker.publish(*_progress(7, 1, "stage1"))
        clock.t += 0.4
        broker.publish(*_progress(0, 2, "stage2"))
        await _settle()
        return _drain(sub), sub.timer_armed, sub.held

    got, armed, held = _run(broker, scenario)
    assert [(e[1]["stage"], e[1]["step"]) for e in got] == [("stage1", 7), ("stage2", 0)]
    assert not armed and held is None  # nothing waits for a timer


def test_status_events_go_out_at_once_and_drop_the_held_progress():
    clock = SteppedClock()
    broker = EventBroker(progress_interval=0.02, clock=clock)

    async def scenario(sub):
        broker.publish(*_progress(0, 1))
        broker.publish(*_progress(1, 2))  # held
        broker.publish(*_status("succeeded", 3))  # newer than the held one
        await _settle()
        at_once = _drain(sub)
        # the held event's timer is due before this sleep ends (one loop, timers in deadline order)
        await asyncio.sleep(0.04)
        return at_once, _drain(sub)

    at_once, later = _run(broker, scenario)
    assert [(e[0], e[1]["step"]) for e in at_once] == [("progress", 0), ("status", None)]
    assert later == []  # the superseded progress never went out


def test_progress_slower_than_the_interval_is_sent_step_by_step():
    clock = SteppedClock()
    broker = EventBroker(progress_interval=0.03, clock=clock)

    async def scenario(sub):
        for i in range(5):
            broker.publish(*_progress(i, i + 1))
            clock.t += 0.06
        await _settle()
        return _drain(sub), sub.timer_armed

    got, armed = _run(broker, scenario)
    assert [e[1]["step"] for e in got] == [0, 1, 2, 3, 4] and not armed


def test_events_published_from_another_thread_reach_the_stream_in_order():
    broker = EventBroker(progress_interval=0.0)  # no rate limit: every event goes out

    async def scenario(sub):
        thread = threading.Thread(target=lambda: [broker.publish(*_progress(i, i + 1)) for i in range(50)])
        thread.start()
        got = [await sub.queue.get() for _ in range(50)]
        thread.join()
        return got

    assert [e[2] for e in _run(broker, scenario)] == list(range(1, 51))


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
        store.update(job.id, status=RUNNING, started=1.0)
        for step in range(3):
            store.update(job.id, progress=(step + 1) / 4, stage="stage1", step=step, total=3)
        store.update(job.id, status=SUCCEEDED, finished=2.0, progress=1.0)

    async def main():
        stream = sse.job_event_stream(broker, store, job.id)
        chunks = [await stream.__anext__()]  # subscribed, the snapshot sent ...
        thread = threading.Thread(target=work)  # ... then the worker thread changes the job
        thread.start()
        async for chunk in stream:
            chunks.append(chunk)
        thread.join()
        return chunks

    events = _parse(asyncio.run(main()))
    assert [(kind, data["status"]) for kind, data in events] == [
        ("status", "queued"),
        ("status", "running"),
        ("progress", "running"),
        ("progress", "running"),
        ("progress", "running"),
        ("status", "succeeded"),
    ]
    assert [d["step"] for k, d in events if k == "progress"] == [0, 1, 2]
    assert all(d["id"] == job.id for _, d in events)


def test_a_change_made_before_the_stream_subscribed_is_in_its_first_event(tmp_path):
    store, _ = JobStore.open(tmp_path / "data")
    broker = EventBroker(progress_interval=0.0)
    store.add_listener(broker.publish)
    job = _queued_job(store, tmp_path)
    store.update(job.id, status=RUNNING, started=1.0)
    store.update(job.id, progress=0.5, stage="stage1", step=3, total=8)

    async def main():
        stream = sse.job_event_stream(broker, store, job.id)
        first = await stream.__anext__()
        store.update(job.id, status=SUCCEEDED, finished=2.0, progress=1.0)
        return [first] + [chunk async for chunk in stream]

    events = _parse(asyncio.run(main()))
    assert [(k, d["status"], d["step"]) for k, d in events] == [("status", "running", 3), ("status", "succeeded", 3)]


def test_stream_of_a_finished_job_is_its_final_status_only(tmp_path):
    store, _ = JobStore.open(tmp_path / "data")
    broker = EventBroker()
    job = _queued_job(store, tmp_path)
    store.update(job.id, status=SUCCEEDED, finished=2.0, progress=1.0)

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
        pings = [await stream.__anext__() for _ in range(2)]  # pytest-timeout guards a hang
        await stream.aclose()
        return first, pings

    first, pings = asyncio.run(main())
    assert first.startswith(b"event: status\n")
    assert pings == [b": ping\n\n", b": ping\n\n"]
    assert broker._subscribers == {}  # closing the stream unsubscribed it
