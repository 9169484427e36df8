"""The line protocol between a headless Blender child process and the backend that runs it.

The child (`python -m tools.headless` or `tools.demo_session`) prints one tagged line
per event, `<TAG> <payload>`, flushed at once so the parent can stream it:

    LTX_STEP <name> <text>          a step starts (the demo's steps)
    LTX_PROGRESS <fraction> <text>  progress within the step, fraction in [0, 1]
    LTX_NOTE <text>                 something the user should know (what was snapped, tracked ...)
    LTX_RESULT <json>               the outcome, one JSON object
    LTX_ERROR <message>             on stderr: a user error; the child then exits with status 2

Any other line is ordinary output (kept by the parent only to explain a crash). The backend side
that reads these lines is backend/blender_child.py; the child side uses `emit` and `run_main`.
"""

from __future__ import annotations

import sys

from .errors import UserError

STEP = "LTX_STEP"
PROGRESS = "LTX_PROGRESS"
NOTE = "LTX_NOTE"
RESULT = "LTX_RESULT"
ERROR = "LTX_ERROR"
TAGS = (STEP, PROGRESS, NOTE, RESULT, ERROR)

USER_ERROR_EXIT = 2


def format(tag: str, payload: str) -> str:  # noqa: A001 - the protocol's verb, used as child_messages.format
    """One protocol line (without the newline)."""
    if tag not in TAGS:
        raise ValueError(f"unknown child message tag {tag!r}; one of {', '.join(TAGS)}")
    return f"{tag} {payload}"


def parse(line: str) -> tuple[str, str] | None:
    """(tag, payload) of a protocol line, None for any other line. The trailing newline is dropped."""
    line = line.rstrip("\n")
    tag, sep, payload = line.partition(" ")
    if not sep or tag not in TAGS:
        return None
    return tag, payload


def emit(tag: str, payload: str, file=None) -> None:
    """Print one protocol line, flushed (stdout unless `file` is given)."""
    print(format(tag, payload), file=sys.stdout if file is None else file, flush=True)


def progress_payload(fraction: float, message: str) -> str:
    return f"{fraction:.4f} {message}"


def parse_progress(payload: str) -> tuple[float, str]:
    """(fraction, message) of an LTX_PROGRESS payload."""
    fraction, _, message = payload.partition(" ")
    return float(fraction), message


def parse_step(payload: str) -> tuple[str, str]:
    """(name, text) of an LTX_STEP payload."""
    name, _, text = payload.partition(" ")
    return name, text


def run_main(work) -> int:
    """The child's main: run `work()`; a UserError becomes `LTX_ERROR <message>` on stderr and exit
    status 2 (the parent shows the message as it is), success exit status 0."""
    try:
        work()
    except UserError as exc:
        emit(ERROR, str(exc), file=sys.stderr)
        return USER_ERROR_EXIT
    return 0
