"""Loopback ports for the tests' servers (no dependency beyond the standard library: the Blender LTS
environments import it too)."""

from __future__ import annotations

import os
import socket


def free_port() -> int:
    """A free loopback port. Under pytest-xdist each test process takes only the ports whose remainder
    by the process count is its own index, so two processes never hand out the same port at once."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    held: list[socket.socket] = []
    try:
        while True:
            s = socket.socket()
            held.append(s)  # kept bound until a port of ours is found: the kernel offers another each time
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            if port % workers == index:
                return port
    finally:
        for s in held:
            s.close()
