"""The `POST /v1/jobs` body: a multipart form read as a stream, straight to files on disk.

Why not FastAPI's `Form`/`File` parameters: they decode a text part that is not UTF-8 as Latin-1
without a word, answer an oversized text part with Starlette's plain 400 ("Part exceeded maximum
size of 1024KB."), a body sent without a length past the limit with a bare 413, and wait for a
stalled client forever. Here every one of those is a JSON answer naming the part and the fix:

- `spec` (JSON text, at most `MAX_SPEC_BYTES`) stays in memory as bytes; strict UTF-8 is checked
  by `GenerationSpec.from_json`;
- `control`, `image`, `mask` and the keyframe images `keyframe_0`, `keyframe_1`, ... (one per
  entry of the spec's `keyframes`, in its order) are written to files in the request's staging folder as they
  arrive, so an upload costs a 1 MiB write buffer per part, never its size in memory;
- the body's total is counted as it arrives, with or without `Content-Length`;
- a client that sends nothing for `stall_timeout_s` is answered 408 and dropped;
- a part the API does not know, or a part sent twice, is refused by name;
- `image` / `mask` sent as a plain form field holding `null` or nothing (how generated clients
  send an optional file they leave out) count as absent, as the published schema says.
Everything a refusal left behind is removed by the caller with the staging folder.
"""

from __future__ import annotations

import asyncio
import errno
import re
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header

from shared.job_spec import MAX_PROMPT_CHARS
from shared.keyframes import MAX_KEYFRAMES

FILE_PARTS = ("control", "image", "mask")
PARTS = ("spec", *FILE_PARTS)
KEYFRAME_PART = re.compile(r"keyframe_(0|[1-9][0-9]?)")  # keyframe_<i>: the image of the spec's keyframes[i]
MAX_SPEC_BYTES = 1024 * 1024
WRITE_BUFFER = 1024 * 1024


def is_keyframe_part(name) -> bool:
    match = KEYFRAME_PART.fullmatch(name) if isinstance(name, str) else None
    return match is not None and int(match.group(1)) < MAX_KEYFRAMES


class FormError(Exception):
    """A refusal of the form: HTTP `status`, the part it concerns (None: the whole body), a message."""

    def __init__(self, status: int, part: str | None, message: str):
        super().__init__(message)
        self.status, self.part, self.message = status, part, message


class DiskFull(FormError):
    def __init__(self, what: str):
        super().__init__(507, None, disk_full_message(what))


def disk_full_message(what: str) -> str:
    return (
        f"the server's disk is full: {what} could not be stored. Free space in the server's data "
        "folder (or start it with --data-dir on a larger disk), then send it again"
    )


@dataclass
class ReceivedForm:
    spec: bytes | None = None
    files: dict[str, Path] = field(default_factory=dict)  # part name -> staged file


@dataclass
class _Part:
    name: str | None = None
    filename: str | None = None
    size: int = 0
    handle: object = None
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    disposition: bytes = b""


class _FormSink:
    """The parser's callbacks: where each part's bytes go."""

    def __init__(self, staging: Path, max_spec_bytes: int):
        self.staging = staging
        self.max_spec_bytes = max_spec_bytes
        self.form = ReceivedForm()
        self.part = _Part()
        self.seen: set[str] = set()
        self.spec = bytearray()
        self.plain_values: dict[str, bytes] = {}  # file parts sent without a filename

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def part_begin(self) -> None:
        self.part = _Part()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.part.header_field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self.part.header_value += data[start:end]

    def header_end(self) -> None:
        if bytes(self.part.header_field).strip().lower() == b"content-disposition":
            self.part.disposition = bytes(self.part.header_value)
        self.part.header_field.clear()
        self.part.header_value.clear()

    def headers_finished(self) -> None:
        kind, options = parse_options_header(self.part.disposition)
        raw_name = options.get(b"name")
        if kind != b"form-data" or raw_name is None:
            raise FormError(
                422,
                None,
                "body: every part needs 'Content-Disposition: form-data; name=...'; "
                f"send the parts {', '.join(PARTS)} as a multipart form",
            )
        name = raw_name.decode("utf-8", "backslashreplace")
        if name not in PARTS and not is_keyframe_part(name):
            shown = name if len(name) <= 40 else name[:40] + "..."
            raise FormError(
                422,
                shown,
                f"{shown}: unknown form part; this endpoint takes {', '.join(PARTS)} (spec and control required) "
                f"and keyframe_0 .. keyframe_{MAX_KEYFRAMES - 1} (one image per keyframe of the spec)",
            )
        if name in self.seen:
            raise FormError(422, name, f"{name}: the part is sent twice; send each part once")
        self.seen.add(name)
        self.part.name = name
        filename = options.get(b"filename")
        self.part.filename = None if filename is None else filename.decode("utf-8", "replace")
        if name in FILE_PARTS or is_keyframe_part(name):
            path = self.staging / name
            try:
                self.part.handle = open(path, "wb", buffering=WRITE_BUFFER)
            except OSError as exc:
                raise _storage_error(exc, f"the {name} upload") from None
            self.form.files[name] = path

    def part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        size = end - start
        part.size += size
        if part.name == "spec":
            if part.size > self.max_spec_bytes:
                raise FormError(
                    422,
                    "spec",
                    f"spec: the spec part is more than {self.max_spec_bytes // 1024} KiB; a spec is "
                    f"a small JSON object (the prompt may hold at most {MAX_PROMPT_CHARS} "
                    "characters): send files as the control, image and mask parts",
                )
            self.spec += data[start:end]
        elif part.handle is not None:
            if part.filename is None and part.size <= 8:
                self.plain_values[part.name] = self.plain_values.get(part.name, b"") + data[start:end]
            try:
                part.handle.write(data[start:end])
            except OSError as exc:
                raise _storage_error(exc, f"the {part.name} upload") from None

    def part_end(self) -> None:
        part = self.part
        if part.name == "spec":
            self.form.spec = bytes(self.spec)
        if part.handle is not None:
            self._close(part)
            if (
                part.filename is None
                and part.size <= 8
                and self.plain_values.get(part.name, b"").strip() in (b"", b"null")
                and part.name != "control"
            ):
                self.form.files.pop(part.name).unlink(missing_ok=True)  # an optional file left out
        self.part = _Part()

    def _close(self, part: _Part) -> None:
        handle, part.handle = part.handle, None
        try:
            handle.close()
        except OSError as exc:
            raise _storage_error(exc, f"the {part.name} upload") from None

    def abort(self) -> None:
        if self.part.handle is not None:
            try:
                self.part.handle.close()
            except OSError:
                pass
            self.part.handle = None


def _storage_error(exc: OSError, what: str) -> FormError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFull(what)
    return FormError(500, None, f"the server could not store {what} ({exc.strerror or exc})")


async def receive_form(
    receive,
    content_type: str,
    staging: Path,
    *,
    max_body_bytes: int,
    too_large_message: str,
    stall_timeout_s: float,
    max_spec_bytes: int = MAX_SPEC_BYTES,
) -> ReceivedForm:
    """Read the request body from the ASGI `receive` into `staging`; raise FormError on refusal."""
    kind, options = parse_options_header(content_type or "")
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise FormError(
            422,
            None,
            "body: send the job as multipart/form-data with the parts spec (JSON "
            "text) and control (file), optionally image and mask",
        )
    sink = _FormSink(staging, max_spec_bytes)
    parser = MultipartParser(boundary, sink.callbacks())
    total = 0
    try:
        while True:
            try:
                message = await asyncio.wait_for(receive(), stall_timeout_s)
            except asyncio.TimeoutError:
                raise FormError(
                    408,
                    None,
                    f"the upload stalled: nothing arrived for {stall_timeout_s:g} s; "
                    "check the connection and send the job again",
                ) from None
            if message["type"] == "http.disconnect":
                raise FormError(400, None, "the client went away before the upload was complete")
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > max_body_bytes:
                raise FormError(413, None, too_large_message)
            if chunk:
                parser.write(chunk)
            if not message.get("more_body", False):
                break
        parser.finalize()
    except FormError:
        sink.abort()
        raise
    except (ValueError, LookupError) as exc:  # python-multipart's errors on a malformed body
        sink.abort()
        text = str(exc).encode("ascii", "backslashreplace").decode("ascii")
        raise FormError(
            422,
            None,
            f"body: not a well-formed multipart form ({text}); send the parts "
            f"{', '.join(PARTS)} as multipart/form-data",
        ) from None
    if sink.part.handle is not None:  # the body ended inside a part
        sink.abort()
        raise FormError(422, None, "body: the multipart form ends in the middle of a part; send it again")
    form = sink.form
    if form.spec is None:
        raise FormError(422, "spec", "spec: missing; send the GenerationSpec JSON as the form field 'spec'")
    if "control" not in form.files:
        raise FormError(
            422, "control", "control: missing; send a .npz ControlPackage or a control video as the file part 'control'"
        )
    return form
