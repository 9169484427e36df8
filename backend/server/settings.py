"""ServerSettings: every knob of `ltx-scene serve` in one plain object.

The command line fills it; tests build it directly. Nothing here reads the environment except the
default data directory (`$XDG_DATA_HOME/ltx-scene`, `~/.local/share/ltx-scene`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shared.data_dir import default_data_dir

LOOPBACK_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_MAX_UPLOAD_MB = 1024  # one job's multipart body (control + image + mask + spec)
DEFAULT_MAX_QUEUED = 32  # jobs waiting or running at once; more are refused with 429
DEFAULT_KEEP_DAYS = 7.0  # finished jobs older than this are deleted
DEFAULT_KEEP_JOBS = 200  # at most this many finished jobs are kept (oldest go first)
UPLOAD_STALL_TIMEOUT_S = 60.0  # an upload that sends nothing for this long is answered 408 and dropped
HEADER_TIMEOUT_S = 30.0  # a request's headers must be complete this long after its first byte


@dataclass
class ServerSettings:
    data_dir: Path = field(default_factory=default_data_dir)
    host: str = LOOPBACK_HOST
    port: int = DEFAULT_PORT
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1024 * 1024
    max_queued: int = DEFAULT_MAX_QUEUED
    keep_days: float = DEFAULT_KEEP_DAYS  # 0: keep finished jobs without an age limit
    keep_jobs: int = DEFAULT_KEEP_JOBS  # 0: no count limit
    allowed_hosts: tuple[str, ...] = ()  # extra Host header names accepted (e.g. a LAN name)
    upload_stall_timeout_s: float = UPLOAD_STALL_TIMEOUT_S
    header_timeout_s: float = HEADER_TIMEOUT_S  # used by http_protocol.uvicorn_options (serve)

    def __post_init__(self):
        self.data_dir = Path(self.data_dir)
