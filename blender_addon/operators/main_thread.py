"""The one way results come back from worker threads (the pattern BlenderKit's add-on follows).

Work that talks to the backend runs in a `client.worker.Worker`: a daemon thread that never touches
bpy and puts its messages into a queue. `start(worker, on_message, on_end)` registers it here; one
`bpy.app.timers` timer, `tick`, drains every running worker's queue on the main thread and hands
each message to its `on_message`, then calls `on_end` once the worker has ended and its queue is
empty. The handlers are therefore the only code that writes Blender data, always on the main thread,
one message at a time. The timer unregisters itself when no worker is left.

In background mode (`blender -b`, the bpy module) timers never fire: operators run their work inline
there instead, and tests drive `tick()` by hand.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Callable

import bpy

from ..client.worker import Worker

TICK_S = 0.2


@dataclass(eq=False)
class Task:
    """A running worker and what the main thread does with its messages."""

    worker: Worker
    on_message: Callable[[str, dict], None]
    on_end: Callable[[], None] | None = None


_tasks: list[Task] = []


def start(worker: Worker, on_message: Callable[[str, dict], None], on_end: Callable[[], None] | None = None) -> Task:
    """Start `worker`'s thread and follow it with the timer (main thread only)."""
    task = Task(worker, on_message, on_end)
    _tasks.append(task)
    worker.start()
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=TICK_S, persistent=True)
    return task


def running(task: Task | None) -> bool:
    """Whether the timer still follows `task` (its worker runs or has undelivered messages)."""
    return task is not None and task in _tasks


def _call(function, *args) -> None:
    try:
        function(*args)
    except Exception:  # a bug in a handler must not stop the timer that serves every worker
        traceback.print_exc()


def tick() -> float | None:
    """Deliver every waiting message; the timer's function (interval, or None when nothing runs)."""
    for task in list(_tasks):
        for kind, payload in task.worker.drain():
            _call(task.on_message, kind, payload)
        if task.worker.ended():
            _tasks.remove(task)
            if task.on_end is not None:
                _call(task.on_end)
    return TICK_S if _tasks else None


def shutdown() -> None:
    """Unregister time: cancel every worker, forget them, remove the timer (a timer that never fired
    hangs interpreter exit on 4.5)."""
    tasks = list(_tasks)
    _tasks.clear()
    for task in tasks:
        task.worker.cancel()
    for task in tasks:
        task.worker.join(timeout=2.0)
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)
