"""What Check Backend shows: the backend's `/v1/health` and `/v1/models` answers as plain values.

No bpy here: `ask(backend)` runs on a worker thread; the main thread's timer writes the resulting
`BackendStatus` into the panel's state. `status_of(health, models)` is the pure part (tests feed it
answers directly).

`/v1/health` may carry `"memory": {"tier", "summary", "peak_device_bytes", ...}`, the server's plan of
what stays on the card (e.g. "24 GB: 31 of 48 blocks resident, about 20.6 GB peak"); it is null or
absent while unknown (the models are still loading, or an older server): then no memory line shows.

A studio farm's front door (`ltx-scene serve --broker`) adds `"workers": [{"name", "host", "gpu",
"memory_tier", "state", "job", "serves_this_model", ...}]`: one panel line per worker (`workers_of`);
a single machine sends no such list and no worker line shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..shared.errors import UserError
from .http import BackendSettings, size_rules


@dataclass(frozen=True)
class BackendStatus:
    ok: bool
    line: str  # one line for the panel: device, version, controls; or the error
    rules: dict | None = None  # per-kind size rules (`http.size_rules`); None: the backend did not answer
    memory: str = ""  # the server's memory summary; "" while unknown
    workers: tuple[str, ...] = ()  # a studio farm: one line per worker; () for a single machine


def memory_summary(health: dict) -> str:
    """The health answer's `memory.summary`; "" when the server does not say (null / absent)."""
    memory = health.get("memory")
    if memory is None:
        return ""
    summary = memory.get("summary") if isinstance(memory, dict) else None
    if not isinstance(summary, str):
        return (
            'memory: the backend\'s answer is not understood (expected {"summary": text}); '
            "update the add-on or the server so both speak the same version"
        )
    return summary.strip()


def workers_of(health: dict) -> tuple[str, ...]:
    """One line per farm worker: "w1 on box3: cuda:0 (NVIDIA L40S), resident, busy (job ...)"."""
    workers = health.get("workers")
    if not isinstance(workers, list):
        return ()  # a single machine (or an older server)
    if not workers:
        return ("farm: no worker is running; jobs wait in the queue until one starts",)
    lines = []
    for w in workers:
        if not isinstance(w, dict):
            continue
        state = str(w.get("state", "?"))
        doing = f"busy ({w['job']})" if state == "busy" and w.get("job") else state
        tier = f", {w['memory_tier']}" if w.get("memory_tier") else ""
        other = "" if w.get("serves_this_model", True) else ", another model"
        lines.append(f"{w.get('name', '?')} on {w.get('host', '?')}: {w.get('gpu', '?')}{tier}, {doing}{other}")
    return tuple(lines)


def status_of(health: dict, models: dict) -> BackendStatus:
    """The status of a backend that answered both requests."""
    kinds = models.get("control_kinds") or []
    line = f"{health.get('device', '?')}, version {health.get('version', '?')}"
    if kinds:
        line += f", controls: {', '.join(map(str, kinds))}"
    if health.get("tiny_model"):
        line += " (tiny test model: output is noise)"
    return BackendStatus(True, line, size_rules(models), memory_summary(health), workers_of(health))


def ask(backend: BackendSettings) -> BackendStatus:
    """Ask the backend now (blocking, short timeouts); a failure becomes a not-ok status whose line
    says what to do."""
    try:
        client = backend.connect()
        try:
            health = client.health()
            models = client.models()
        finally:
            client.close()
        return status_of(health, models)
    except UserError as exc:
        return BackendStatus(False, str(exc))
    except Exception as exc:  # an answer of an unexpected shape: say it rather than stay "checking"
        return BackendStatus(
            False,
            f"the backend at {backend.url} gave an answer this add-on does not "
            f"understand ({exc!r}); is it an LTX Scene backend of the same version?",
        )
