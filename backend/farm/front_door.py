"""FrontDoor: what `ltx-scene serve --broker` adds to the single-machine server.

The server (`backend.server`) stays as it is: the same API, token, Host checks and on-disk job
store, so the add-on needs no change. `create_app(settings, planner, farm=FrontDoor(...))` swaps
its worker thread for a `Dispatcher` and adds the workers' endpoints (`callbacks.py`). Here:

- a publisher thread hands queued jobs to Celery (`send_task` to the bundle's queue); a submit
  never waits for Redis;
- a monitor thread reads the workers' heartbeats every `poll_s` (`registry.py`), finds the running
  jobs whose worker was lost (silent for `worker_timeout_s`, or alive but running something else
  for that long: restarted under the same name) and lets the dispatcher run them again or report
  them `interrupted`; it says in the log when Redis goes away and when it is back, and then hands
  every still-queued job to Celery again (a message lost with a Redis that kept no snapshot
  comes back; one that was kept is a duplicate, and duplicates are refused at claim);
- at start every queued job is handed to Celery again for the same reason (a front door restart);
- retention (`--keep-days`, `--keep-jobs`) is applied hourly, as the single machine's worker does.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import Callable

from backend.server.auth import load_or_create_token

from . import callbacks
from .celery_app import TASK_NAME, make_celery, queue_for
from .dispatcher import Dispatcher
from .registry import BUSY, LOADING, WorkerRegistry, read_heartbeats
from .settings import FarmSettings

log = logging.getLogger("ltx_scene.farm")

WORKER_TOKEN_FILE = "worker-token"
CLEANUP_INTERVAL_S = 3600.0


class FrontDoor:
    def __init__(
        self,
        settings: FarmSettings,
        bundle,
        model_hash: str,
        callback_url: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ):
        """callback_url: where workers reach this server (`serve --worker-url`)."""
        self.settings = settings
        self.bundle = bundle
        self.model_hash = model_hash
        self.queue = queue_for(model_hash)
        self.callback_url = callback_url.rstrip("/")
        self.clock = clock
        self.registry = WorkerRegistry(settings.worker_timeout_s, clock())
        self.worker_token: str | None = None
        self.dispatcher: Dispatcher | None = None
        self.router = callbacks.make_router(lambda: self.dispatcher)
        self._broker_ok: bool | None = None  # None: not reached yet
        self._broker_error: str | None = None
        self._outbox: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._mismatch_since: dict[str, float] = {}
        self._celery = None
        self._redis = None

    # --------------------------------------------------------------------------- create_app's hook
    def attach(self, store, data_dir: Path, *, max_package_bytes: int) -> Dispatcher:
        import redis

        self.worker_token = load_or_create_token(data_dir, WORKER_TOKEN_FILE)
        self._celery = make_celery(self.settings)
        self._redis = redis.Redis.from_url(self.settings.broker_url, socket_connect_timeout=3, socket_timeout=5)
        self.dispatcher = Dispatcher(
            store,
            publish=self._outbox.put,
            model_hash=self.model_hash,
            max_package_bytes=max_package_bytes,
            max_attempts=self.settings.max_attempts,
            workers_ready=self._workers_ready,
            engine_error=self._engine_error,
        )
        threading.Thread(target=self._publisher, name="ltx-scene-farm-publish", daemon=True).start()
        threading.Thread(target=self._monitor, name="ltx-scene-farm-monitor", daemon=True).start()
        return self.dispatcher

    # --------------------------------------------------------------------------- /v1/health
    def broker_state(self) -> str:
        if self._broker_ok is None:
            return "connecting"
        return "connected" if self._broker_ok else f"unreachable ({self._broker_error}); jobs wait here"

    def workers(self) -> list[dict]:
        out = []
        for info in self.registry.live_workers(self.clock()):
            out.append(
                {
                    "name": info.name,
                    "host": info.host,
                    "gpu": info.gpu,
                    "memory_tier": info.memory_tier,
                    "state": info.state if info.state in ("loading", "idle", "busy") else "idle",
                    "job": info.job,
                    "model": info.model,
                    "model_hash": info.model_hash,
                    "serves_this_model": info.model_hash == self.model_hash,
                }
            )
        return out

    def _workers_ready(self) -> bool:
        return any(
            i.model_hash == self.model_hash and i.state != LOADING for i in self.registry.live_workers(self.clock())
        )

    def _engine_error(self) -> str | None:
        if self._broker_ok is False:
            return f"the broker {self.settings.broker_url} is unreachable ({self._broker_error}); jobs wait here"
        live = self.registry.live_workers(self.clock())
        if any(i.model_hash == self.model_hash for i in live):
            return None
        if live:
            return (
                f"no worker serves this server's model ({self.bundle.name}, {self.model_hash[:16]}); the workers "
                "running serve other bundles: start one with the same bundle (`ltx-scene worker --model ...`)"
            )
        return "no worker is running: start one per GPU with `ltx-scene worker --broker ... --model ...`; jobs wait"

    # --------------------------------------------------------------------------- threads
    def _publisher(self) -> None:
        while not self._stop.is_set():
            job_id = self._outbox.get()
            if job_id is None:
                return
            try:
                self._celery.send_task(
                    TASK_NAME,
                    args=[job_id, self.model_hash, self.callback_url],
                    queue=self.queue,
                    retry=True,
                    retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1},
                )
                log.debug("job %s: queued on %s", job_id, self.queue)
            except Exception as exc:  # the broker is away: the monitor hands it over again once it is back
                log.warning(
                    "job %s: could not reach the broker (%s); it is queued again once the broker is back", job_id, exc
                )
                self._set_broker(False, str(exc))

    def _set_broker(self, ok: bool, error: str | None = None) -> None:
        was = self._broker_ok
        self._broker_ok, self._broker_error = ok, error
        if ok and was is False:
            log.warning("reconnected to the broker %s; handing the queued jobs to it again", self.settings.broker_url)
        elif ok and was is None:
            log.info("connected to the broker %s (queue %s)", self.settings.broker_url, self.queue)
        elif not ok and was is not False:
            log.warning(
                "lost the broker %s (%s); retrying every %.1f s, jobs wait here",
                self.settings.broker_url,
                error,
                self.settings.poll_s,
            )

    def _monitor(self) -> None:
        last_cleanup = self.clock()
        while not self._stop.wait(self.settings.poll_s):
            try:
                self.poll_once()
            except Exception:  # the monitor never dies
                log.exception("farm monitor")
            if self.clock() - last_cleanup > CLEANUP_INTERVAL_S:
                last_cleanup = self.clock()
                try:
                    self.dispatcher.store.save_unsaved()
                    self.dispatcher.store.cleanup()
                except Exception:
                    log.exception("retention cleanup failed")

    def poll_once(self) -> None:
        now = self.clock()
        try:
            infos = read_heartbeats(self._redis)
        except Exception as exc:  # redis.ConnectionError, TimeoutError, ...
            self._set_broker(False, f"{type(exc).__name__}: {exc}")
            return
        was = self._broker_ok
        self._set_broker(True)
        if was is False:
            self.registry.reconnected(now)
            for job_id in self.dispatcher.queued_ids():
                self._outbox.put(job_id)
        self.registry.observe(infos, now)
        self.check_running(now)

    def check_running(self, now: float) -> None:
        live = {i.name: i for i in self.registry.live_workers(now)}
        running = self.dispatcher.running_jobs()
        for record in running:
            info = live.get(record.worker)
            lost = not self.registry.alive(record.worker, now)
            if not lost and info is not None and (info.state != BUSY or info.job != record.id):
                since = self._mismatch_since.setdefault(record.id, now)
                lost = now - since > self.settings.worker_timeout_s  # restarted under the same name
            else:
                self._mismatch_since.pop(record.id, None)
            if lost:
                self._mismatch_since.pop(record.id, None)
                left = sum(1 for name, i in live.items() if name != record.worker and i.model_hash == self.model_hash)
                self.dispatcher.worker_lost(record.id, record.worker, left)
        ids = {r.id for r in running}
        for job_id in [j for j in self._mismatch_since if j not in ids]:
            del self._mismatch_since[job_id]
        self.registry.forget_dead(now)

    def stop(self) -> None:
        self._stop.set()
        self._outbox.put(None)
