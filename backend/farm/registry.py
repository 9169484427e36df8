"""The workers of a farm, as their heartbeats in Redis say.

Each worker writes `ltx-scene:worker:<name>` every `heartbeat_s` (`Heartbeat`, in the worker
process): host, device, memory tier, bundle, busy / idle, the job it runs, and a sequence number
that grows with every write. The front door reads them every `poll_s` into a `WorkerRegistry`:

- A worker is alive while its sequence number changed within `timeout_s` of the front door's own
  clock (never the worker's clock: two machines' clocks need not agree).
- Grace: for `timeout_s` after the front door starts, and after it gets Redis back following an
  outage, nobody expires: the heartbeats could not be read, which says nothing about the workers.
- A worker never seen is lost once the grace is over (a job that was running on it when the front
  door restarted, on a worker that did not come back).

The Redis keys also carry an expiry (`KEY_TTL_FACTOR` heartbeats) so a dead worker's key goes away;
the registry never relies on it. `WorkerRegistry` has no Redis and takes `now` from its caller, so
the expiry rules are tested with an injected clock.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Callable

from .settings import KEY_PREFIX

log = logging.getLogger("ltx_scene.farm")

WORKER_KEY = KEY_PREFIX + "worker:"
KEY_TTL_FACTOR = 30  # heartbeats: a dead worker's key leaves Redis after this many missed beats
LOADING, IDLE, BUSY = "loading", "idle", "busy"


@dataclass
class WorkerInfo:
    name: str
    host: str
    gpu: str
    memory_tier: str | None
    model: str
    model_hash: str
    state: str = LOADING  # LOADING, IDLE or BUSY
    job: str | None = None
    seq: int = 0

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text) -> "WorkerInfo | None":
        try:
            data = json.loads(text)
            known = set(cls.__dataclass_fields__)
            info = cls(**{k: v for k, v in data.items() if k in known})
        except (TypeError, ValueError):
            return None
        return info if isinstance(info.name, str) and isinstance(info.seq, int) else None


class WorkerRegistry:
    def __init__(self, timeout_s: float, now: float):
        self.timeout_s = timeout_s
        self._grace_until = now + timeout_s
        self._seen: dict[str, tuple[WorkerInfo, float]] = {}  # name -> (last info, when its seq last changed)
        self._lock = threading.Lock()

    def observe(self, infos: list[WorkerInfo], now: float) -> None:
        """One successful read of every heartbeat key."""
        with self._lock:
            for info in infos:
                old = self._seen.get(info.name)
                if old is None or old[0].seq != info.seq:
                    self._seen[info.name] = (info, now)
                else:
                    self._seen[info.name] = (info, old[1])

    def reconnected(self, now: float) -> None:
        """Redis is back after an outage: heartbeats written meanwhile were lost, so start afresh."""
        with self._lock:
            self._grace_until = now + self.timeout_s
            self._seen = {name: (info, now) for name, (info, _) in self._seen.items()}

    def in_grace(self, now: float) -> bool:
        return now < self._grace_until

    def alive(self, name: str | None, now: float) -> bool:
        with self._lock:
            entry = self._seen.get(name) if name else None
            if entry is None:
                return self.in_grace(now)
            return self.in_grace(now) or now - entry[1] <= self.timeout_s

    def live_workers(self, now: float) -> list[WorkerInfo]:
        with self._lock:
            entries = list(self._seen.values())
        grace = self.in_grace(now)
        return sorted((info for info, seen in entries if grace or now - seen <= self.timeout_s), key=lambda i: i.name)

    def forget_dead(self, now: float) -> None:
        """Drop workers silent for ten timeouts (their keys have left Redis too)."""
        with self._lock:
            if self.in_grace(now):
                return
            for name in [n for n, (_, seen) in self._seen.items() if now - seen > 10 * self.timeout_s]:
                del self._seen[name]


def read_heartbeats(client) -> list[WorkerInfo]:
    """Every worker's last heartbeat from Redis (`client`: a redis-py client). Raises redis errors."""
    keys = list(client.scan_iter(match=WORKER_KEY + "*", count=200))
    if not keys:
        return []
    infos = []
    for value in client.mget(keys):
        info = WorkerInfo.from_json(value) if value is not None else None
        if info is not None:
            infos.append(info)
    return infos


class Heartbeat:
    """The worker's side: a daemon thread that writes its `WorkerInfo` every `interval_s`, and says
    in the log when Redis goes away and when it is back."""

    def __init__(self, client, info: WorkerInfo, interval_s: float, clock: Callable[[], float] = time.monotonic):
        self.client = client
        self.info = info
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connected: bool | None = None
        self._thread = threading.Thread(target=self._main, name="ltx-scene-heartbeat", daemon=True)

    def set(self, **changes) -> None:
        """Change what the next beat says (state, job, memory_tier) and send it now."""
        with self._lock:
            for key, value in changes.items():
                setattr(self.info, key, value)
        self.beat()

    def beat(self) -> bool:
        with self._lock:
            self.info.seq += 1
            payload = self.info.to_json()
        ttl = max(5, int(self.interval_s * KEY_TTL_FACTOR))
        try:
            self.client.set(WORKER_KEY + self.info.name, payload, ex=ttl)
        except Exception as exc:  # redis.ConnectionError and friends: keep beating
            if self._connected is not False:
                log.warning(
                    "worker %s: lost the broker (%s); retrying every %.1f s", self.info.name, exc, self.interval_s
                )
            self._connected = False
            return False
        if self._connected is False:
            log.warning("worker %s: reconnected to the broker", self.info.name)
        self._connected = True
        return True

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        try:
            self.client.delete(WORKER_KEY + self.info.name)
        except Exception:
            pass

    def _main(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.beat()
