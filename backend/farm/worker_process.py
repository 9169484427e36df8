"""`ltx-scene worker`: one Celery worker per GPU, with the engine resident between jobs.

Start-up, in order: the bundle is checked and its hash computed (`bundle_identity.py`), the engine
is built and its models loaded once (the heartbeat says "loading" meanwhile), then the Celery worker
consumes only its bundle's queue (`celery_app.queue_for`), with the solo pool: each job runs in
this process's main thread on the resident engine, one at a time (`celery_app.py` has the rest of
the settings). A heartbeat thread writes the worker's state to Redis (`registry.Heartbeat`).
"""

from __future__ import annotations

import logging
import os
import socket
import time

from .celery_app import TASK_NAME, make_celery, queue_for
from .front_door_client import FrontDoorGone
from .job_runner import JobRunner
from .registry import IDLE, Heartbeat, WorkerInfo
from .settings import FarmSettings

log = logging.getLogger("ltx_scene.farm")
REQUEUE_PAUSE_S = 5.0


def default_worker_name() -> str:
    gpu = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip() or "all"
    return f"{socket.gethostname()}-gpu{gpu}-{os.getpid()}"


def run_worker(
    settings: FarmSettings,
    engine,
    *,
    name: str,
    model_hash: str,
    token: str,
    max_package_bytes: int,
    log_level: str = "info",
    fault_hook=None,
) -> None:
    import redis
    from celery.exceptions import Reject

    from backend.server.app import device_description

    client = redis.Redis.from_url(settings.broker_url, socket_connect_timeout=3, socket_timeout=5)
    info = WorkerInfo(
        name=name,
        host=socket.gethostname(),
        gpu=device_description(engine),
        memory_tier=engine.memory_summary().get("tier"),
        model=engine.bundle.name,
        model_hash=model_hash,
    )
    heartbeat = Heartbeat(client, info, settings.heartbeat_s)
    heartbeat.beat()
    heartbeat.start()
    log.info("worker %s: loading the models", name)
    engine.load()  # once, before the first job: resident from here on
    heartbeat.set(state=IDLE)
    runner = JobRunner(
        engine,
        worker=name,
        model_hash=model_hash,
        token=token,
        retry_s=settings.callback_retry_s,
        max_package_bytes=max_package_bytes,
        heartbeat=heartbeat,
        fault_hook=fault_hook,
    )
    app = make_celery(settings)

    @app.task(name=TASK_NAME, bind=True)
    def run_job(task, job_id: str, job_model_hash: str, callback_url: str):
        try:
            return runner.run(job_id, job_model_hash, callback_url)
        except FrontDoorGone as exc:  # down for longer than --front-door-retry-s, or refusing our token
            log.error("job %s: %s; given back to the queue", job_id, exc)
            time.sleep(REQUEUE_PAUSE_S)  # not a tight loop of take and give back
            raise Reject(str(exc), requeue=True) from None

    queue = queue_for(model_hash)
    log.info("worker %s: ready, consuming %s (model %s)", name, queue, engine.bundle.name)
    try:
        app.worker_main(
            [
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--prefetch-multiplier=1",
                f"--queues={queue}",
                f"--hostname={name}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                f"--loglevel={log_level.upper()}",
            ]
        )
    finally:
        heartbeat.stop()
