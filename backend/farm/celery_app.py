"""The Celery application both sides share: broker, queue names, the task's name and the measured
settings for long GPU jobs on Redis.

- One job at a time per worker, taken only when it can start: `worker_prefetch_multiplier=1` with
  the solo pool (`ltx-scene worker` runs the job in the worker's main thread, next to its resident
  engine).
- A job is acknowledged when it ends, not when it is taken (`task_acks_late`), and given back when
  the worker process is lost (`task_reject_on_worker_lost`), so a killed worker never takes a job
  with it.
- Redis: `visibility_timeout` well above the longest job and the restore scan settings
  (`settings.py` says why).
- No result backend: results, progress and errors go to the front door's job store over HTTP
  (`callbacks.py`), the one record of every job.
- The broker connection is retried for ever, at start and after a loss (a Redis restart).

Celery is imported here and only here, by the front door in broker mode and by the worker.
"""

from __future__ import annotations

from .settings import FarmSettings

TASK_NAME = "ltx_scene.run_job"
QUEUE_PREFIX = "ltx-scene.model."


def queue_for(bundle_hash: str) -> str:
    """The Celery queue of one bundle: a worker consumes only its own bundle's queue, so a job is
    never given to a worker whose model differs (16 hex digits of the hash: 64 bits)."""
    if len(bundle_hash) < 16 or any(c not in "0123456789abcdef" for c in bundle_hash):
        raise ValueError(f"not a bundle hash: {bundle_hash!r}")
    return QUEUE_PREFIX + bundle_hash[:16]


def celery_config(settings: FarmSettings) -> dict:
    """The configuration as a plain dict (tests read it without a broker)."""
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # for ever: a Redis restart is waited out
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout_s,
            "unacked_restore_interval": settings.unacked_restore_interval_s,
            "unacked_restore_throttle": settings.unacked_restore_throttle,
            "socket_connect_timeout": 5,
        },
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,
        "task_track_started": False,
        "worker_prefetch_multiplier": 1,
        "worker_concurrency": 1,
        "worker_pool": "solo",
        # A running job is not cancelled when the broker connection drops: it finishes and reports
        # over HTTP; its message may come back later and is then refused at claim.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "worker_enable_remote_control": False,  # nothing uses it; one less fan-out channel per worker
        "worker_send_task_events": False,
        "worker_hijack_root_logger": False,
        "task_serializer": "json",
        "accept_content": ["json"],
    }


def make_celery(settings: FarmSettings):
    from celery import Celery

    app = Celery("ltx_scene_farm")
    app.conf.update(celery_config(settings))
    return app
