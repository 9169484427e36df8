"""EventBroker: hands job changes from the worker thread to the SSE streams on the event loop.

The JobStore calls `publish(kind, status, rev)` from whatever thread changed a job; each open
`/events` stream owns a `Subscription` whose `asyncio.Queue` receives `(kind, status, rev)`
through `loop.call_soon_threadsafe`.

Progress events are rate-limited per stream to one every `PROGRESS_INTERVAL_S`; status events
(queued -> running -> final) always go out at once:
- a progress event goes out at once when the previous one on that stream is older than the
  interval (so the first one after submit is never delayed);
- otherwise it is held, replacing any older held one, and a timer on the loop sends the newest
  held event when the interval is up: the client always ends up with the latest state (stage,
  step, progress, eta), at most one interval late;
- a status event drops the held progress (it is newer and carries the same fields).
Why: every event wakes the server's event loop and the client, and on a CPU whose cores the
engine keeps busy that time is taken from the job (benchmarks/README.md, "Measured reasons"). A real job's stages and steps take
seconds, so it still reports every one of them; only bursts are thinned (the tiny model, the
steps of a short preview on a fast GPU), and what is dropped is only superseded progress. Stage
changes are progress too: a stage that ends within the interval is seen in the next event's
stage/progress, which a panel redrawing a few times a second would not show anyway.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict
from typing import Callable

PROGRESS_INTERVAL_S = 0.1


class Subscription:
    """One open stream. Read `queue`; everything else belongs to the broker."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float):
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue()
        self.interval = interval
        self.last_progress = float("-inf")  # broker clock time the last progress event went out
        self.held: tuple | None = None  # newest progress event waiting for the timer
        self.timer_armed = False


class EventBroker:
    """`clock`: seconds (monotonic) for the rate limit's decisions. Tests pass a clock they step,
    so what is sent, held and flushed depends on the order of calls, not on how fast a busy
    machine runs them. The held event's timer runs on the subscriber's loop (`call_later`) for
    the time the clock says is left."""

    def __init__(self, progress_interval: float = PROGRESS_INTERVAL_S, clock: Callable[[], float] = time.monotonic):
        self.progress_interval = progress_interval
        self.clock = clock
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    def subscribe(self, job_id: str) -> Subscription:
        """Call on the event loop; pass the result to `unsubscribe`."""
        sub = Subscription(asyncio.get_running_loop(), self.progress_interval)
        with self._lock:
            self._subscribers[job_id].add(sub)
        return sub

    def unsubscribe(self, job_id: str, sub: Subscription) -> None:
        with self._lock:
            subs = self._subscribers.get(job_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[job_id]

    def publish(self, kind: str, status: dict, rev: int) -> None:
        event = (kind, status, rev)
        now = self.clock()
        with self._lock:
            subs = list(self._subscribers.get(status["id"], ()))
            actions = [(sub, self._decide(sub, event, now)) for sub in subs]
        for sub, action in actions:
            try:
                if action == "send":
                    sub.loop.call_soon_threadsafe(sub.queue.put_nowait, event)
                elif action == "arm":
                    delay = max(0.0, sub.last_progress + sub.interval - now)
                    sub.loop.call_soon_threadsafe(sub.loop.call_later, delay, self._flush, sub)
            except RuntimeError:  # that loop has closed (server shutting down)
                pass

    def _decide(self, sub: Subscription, event: tuple, now: float) -> str:
        """Under the lock: "send" now, "arm" the timer (event held), or "hold" (timer armed)."""
        if event[0] != "progress":
            sub.held = None
            return "send"
        if not sub.timer_armed and now - sub.last_progress >= sub.interval:
            sub.last_progress = now
            return "send"
        sub.held = event
        if sub.timer_armed:
            return "hold"
        sub.timer_armed = True
        return "arm"

    def _flush(self, sub: Subscription) -> None:
        """On the loop, when the interval is up: send the newest held progress event, if any."""
        with self._lock:
            event, sub.held, sub.timer_armed = sub.held, None, False
            if event is not None:
                sub.last_progress = self.clock()
        if event is not None:
            sub.queue.put_nowait(event)
