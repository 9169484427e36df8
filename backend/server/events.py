"""EventBroker: hands job changes from the worker thread to the SSE streams on the event loop.

The JobStore calls `publish(kind, status, rev)` from whatever thread changed a job; each open
`/events` stream owns an `asyncio.Queue` that receives `(kind, status, rev)` through
`loop.call_soon_threadsafe`, so a progress step reaches the client within one loop turn.
"""
from __future__ import annotations

import asyncio
import threading
from collections import defaultdict


class EventBroker:
    def __init__(self):
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]]] = defaultdict(set)

    def subscribe(self, job_id: str) -> tuple[asyncio.AbstractEventLoop, asyncio.Queue]:
        """Call on the event loop; returns the handle for `unsubscribe`. Read `handle[1]`."""
        handle = (asyncio.get_running_loop(), asyncio.Queue())
        with self._lock:
            self._subscribers[job_id].add(handle)
        return handle

    def unsubscribe(self, job_id: str, handle) -> None:
        with self._lock:
            subs = self._subscribers.get(job_id)
            if subs is not None:
                subs.discard(handle)
                if not subs:
                    del self._subscribers[job_id]

    def publish(self, kind: str, status: dict, rev: int) -> None:
        with self._lock:
            handles = list(self._subscribers.get(status["id"], ()))
        for loop, queue in handles:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, status, rev))
            except RuntimeError:            # that loop has closed (server shutting down)
                pass
