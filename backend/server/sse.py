"""The job progress stream (`GET /v1/jobs/{id}/events`) as Server-Sent Events bytes.

Written directly on Starlette's `StreamingResponse` rather than FastAPI's `EventSourceResponse`:
that one validates a pydantic model and passes every event through two memory streams and a
keep-alive cancel scope; on a machine whose cores the engine keeps busy that event-loop time is
taken from the job (measured: benchmarks/README.md, "Measured reasons"). Here an event costs one
queue hand-off and one `json.dumps`.

Wire format (docs/contracts.md): `event: status|progress`, `data: <status JSON>`, blank line; a
`: ping` comment after `PING_INTERVAL_S` without events keeps proxies from closing the stream.
Progress events are at most 10 a second (the broker holds the rest, events.py).
"""

from __future__ import annotations

import asyncio
import json
from typing import AsyncIterator

from .events import EventBroker
from .jobs import FINAL, JobStore

PING_INTERVAL_S = 15.0
_PING = ("ping", None, 0)
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def format_event(kind: str, status: dict) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(status, separators=(',', ':'))}\n\n".encode()


async def job_event_stream(broker: EventBroker, store: JobStore, job_id: str) -> AsyncIterator[bytes]:
    """`status` first (the job as it is now), then every change published after that snapshot;
    ends after a final status. Subscribes before taking the snapshot, so nothing falls in between."""
    loop = asyncio.get_running_loop()
    sub = broker.subscribe(job_id)
    queue = sub.queue
    ping = None

    def arm_ping():
        nonlocal ping
        if ping is not None:
            ping.cancel()
        ping = loop.call_later(PING_INTERVAL_S, queue.put_nowait, _PING)

    try:
        current, last_rev = store.get_with_rev(job_id)
        if current is None:
            return
        yield format_event("status", current.public())
        if current.status in FINAL:
            return
        arm_ping()
        while True:
            kind, status, rev = await queue.get()
            if kind == "ping":
                arm_ping()
                yield b": ping\n\n"
                continue
            if rev <= last_rev:
                continue  # published before the snapshot above
            last_rev = rev
            arm_ping()
            yield format_event(kind, status)
            if status["status"] in FINAL:
                return
    finally:
        if ping is not None:
            ping.cancel()
        broker.unsubscribe(job_id, sub)
