"""FarmSettings: every knob of the farm in one plain object, with its documented default.

`serve --broker` and `ltx-scene worker` fill it from their options; tests build it directly.
"""

from __future__ import annotations

from dataclasses import dataclass

# Redis redelivers a message nobody acknowledged only after `visibility_timeout` seconds, and it
# also does so while the first worker still runs it: so it must be well above the longest job (a
# 121-frame job at full size is minutes; 6 hours leaves room for queues of them on a slow card).
# A killed worker's job is taken up again much sooner by the front door (`WORKER_TIMEOUT_S`);
# Celery's own redelivery is the backstop for when the front door was down, and a redelivered
# message for a job that already ran is refused when the worker claims it (`callbacks.py`).
VISIBILITY_TIMEOUT_S = 6 * 3600
# How often a worker's consumer scans for such messages (kombu: `unacked_restore_interval` seconds,
# on every `unacked_restore_throttle`-th pass): one cheap Redis query every 10 s.
UNACKED_RESTORE_INTERVAL_S = 10
UNACKED_RESTORE_THROTTLE = 1
HEARTBEAT_S = 2.0  # a worker writes its state to Redis this often
WORKER_TIMEOUT_S = 15.0  # a worker silent this long is lost: its job runs again elsewhere (or `interrupted`)
MAX_ATTEMPTS = 2  # a job runs at most this often: once, and once more after its worker was lost
POLL_S = 1.0  # the front door reads the workers' heartbeats this often
CALLBACK_RETRY_S = 600.0  # a worker keeps trying to reach a front door that is down (restart) this long
KEY_PREFIX = "ltx-scene:"  # every Redis key the farm writes itself (Celery's own keys are its own)


@dataclass
class FarmSettings:
    broker_url: str
    visibility_timeout_s: float = VISIBILITY_TIMEOUT_S
    unacked_restore_interval_s: float = UNACKED_RESTORE_INTERVAL_S
    unacked_restore_throttle: int = UNACKED_RESTORE_THROTTLE
    heartbeat_s: float = HEARTBEAT_S
    worker_timeout_s: float = WORKER_TIMEOUT_S
    max_attempts: int = MAX_ATTEMPTS
    poll_s: float = POLL_S
    callback_retry_s: float = CALLBACK_RETRY_S

    def check(self) -> None:
        from shared.errors import UserError

        if not self.broker_url.startswith(("redis://", "rediss://")):
            raise UserError(
                f"--broker: {self.broker_url!r} is not a Redis URL; give redis://HOST:PORT/N (e.g. redis://127.0.0.1:6379/0)",
                "broker",
            )
        if self.heartbeat_s <= 0 or self.worker_timeout_s <= 2 * self.heartbeat_s:
            raise UserError(
                f"--worker-timeout-s ({self.worker_timeout_s:g}) must be more than twice the workers' "
                f"heartbeat ({self.heartbeat_s:g} s), or a busy worker would be taken for lost",
                "worker_timeout_s",
            )
        if self.visibility_timeout_s < 600:
            raise UserError(
                "--visibility-timeout-s must be well above the longest job (at least 600 s): Redis hands a job "
                "still running after that long to a second worker",
                "visibility_timeout_s",
            )
