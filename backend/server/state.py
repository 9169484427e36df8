"""ServerState: everything the routes need, built once by `create_app` and kept on `app.state.server`.

The routers (`routes/`) read it per request through `routes.deps.server_state`, so a test can build
an app around any engine object and the routes never close over local variables of `create_app`.

The engine interface the server uses (the real one is `backend.engine.Engine`; the API tests use a
stand-in with the same methods): `load()`, `plan(spec, control) -> plan with frames/width/height`,
`run(spec, control, out_dir, on_progress, cancel) -> result with video_path, sidecar_path,
control_video_path, frames, fps, width, height`, `describe() -> dict`, `device`, `bundle.tiny`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from .events import EventBroker
from .jobs import JobStore
from .settings import ServerSettings
from .worker import Worker


@dataclass
class ServerState:
    settings: ServerSettings
    engine: object
    store: JobStore
    worker: Worker
    broker: EventBroker
    token: str
    staging_root: Path  # per-request upload folders (inside jobs/, same file system)
    device: str  # where jobs run, in words
    tiny_model: bool
    version: str
    too_large_message: str
    # a studio farm's front door (`serve --broker`): the backend.farm.front_door.FrontDoor; None on one machine
    farm: object | None = None
    # create + queue of a job under one lock: the --max-queued check is exact and the queue
    # order is the order of `created`
    admission: threading.Lock = field(default_factory=threading.Lock)
