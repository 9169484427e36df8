"""Fixtures of the farm tests: one real farm per module (Debian's redis-server on a free loopback
port, `ltx-scene serve --broker`, two CPU workers on the tiny bundle), stopped at the end.

A missing redis-server fails these tests with a message saying how to install it (never a skip:
CI must not pass a farm it did not run)."""

from __future__ import annotations

import pytest

from .processes import FrontDoor, RedisServer, Worker


class Farm:
    def __init__(self, bundle, folder):
        self.bundle, self.folder = bundle, folder
        self.hold = folder / "hold"  # while it exists, the workers' jobs pause at stage 1, step 1
        self.redis = RedisServer(folder / "redis")
        self.front_door: FrontDoor | None = None
        self.workers: dict[str, Worker] = {}

    def start(self, worker_names=("w1", "w2")) -> "Farm":
        self.redis.start()
        self.front_door = FrontDoor(self.bundle, self.folder / "data", self.redis.url).start()
        for name in worker_names:
            self.start_worker(name)
        self.front_door.wait_workers(set(worker_names))
        return self

    def start_worker(self, name: str) -> Worker:
        worker = Worker(
            name, self.bundle, self.redis.url, self.front_door.worker_token_file, self.hold, self.folder
        ).start()
        self.workers[name] = worker
        return worker

    def live_workers(self) -> set[str]:
        return {name for name, w in self.workers.items() if w.alive()}

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        if self.front_door is not None:
            self.front_door.stop()
        self.redis.stop()

    def logs(self) -> str:
        parts = [f"--- front door\n{self.front_door.log_tail() if self.front_door else ''}"]
        parts += [f"--- worker {n}\n{w.log_tail()}" for n, w in self.workers.items()]
        return "\n".join(parts)


@pytest.fixture(scope="module")
def farm(tiny_bundle, tmp_path_factory):
    farm = Farm(tiny_bundle, tmp_path_factory.mktemp("farm"))
    try:
        yield farm.start()
    finally:
        farm.stop()
        print(farm.logs())
