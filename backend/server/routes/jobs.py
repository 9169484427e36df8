"""`POST /v1/jobs` (submit), `GET /v1/jobs`, `GET /v1/jobs/{id}`, `/cancel`, `/events`.

Submit, in order: the queue limit (early, before a byte is read), the body streamed to a staging
folder (`upload_form.py`), then in a worker thread the spec, each file (`uploads.py`), the
combination (`engine.plan`) and what the plan asks of the files (frames, mask frames, first-frame
size), and last, under one lock, the exact queue limit, the job's creation and its place in the
queue: concurrent submits never exceed --max-queued and run in the order they were accepted.
"""

from __future__ import annotations

import errno
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse

from shared.errors import UserError
from shared.job_spec import GenerationSpec
from shared.keyframes import MAX_KEYFRAMES
from shared.video_rules import format_fps

from .. import schemas
from ..sse import HEADERS, job_event_stream
from ..state import ServerState
from ..upload_form import FormError, disk_full_message, is_keyframe_part, receive_form
from ..uploads import check_control, check_image, check_mask, check_plan, plan_input
from .deps import AUTH, CONFLICT, NOT_FOUND, Job, State

router = APIRouter(tags=["jobs"], dependencies=AUTH)

STAGING_PREFIX = ".upload-"  # inside jobs/; JobStore.open removes leftovers of a crash

_FILE = {"type": "string", "format": "binary"}
SUBMIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["spec", "control"],
                    "additionalProperties": False,
                    "properties": {
                        "spec": {"type": "string", "description": "GenerationSpec as JSON text (UTF-8, at most 1 MiB)"},
                        "control": {**_FILE, "description": "a .npz ControlPackage or a control video"},
                        "image": {"anyOf": [_FILE, {"type": "null"}], "description": "first frame, PNG or JPEG"},
                        "mask": {
                            "anyOf": [_FILE, {"type": "null"}],
                            "description": "attention mask: video or .npz with 'mask'",
                        },
                    },
                    "patternProperties": {
                        "^keyframe_[0-9]+$": {
                            **_FILE,
                            "description": "keyframe_<i>: the PNG or JPEG image of the spec's keyframes[i]",
                        }
                    },
                }
            }
        },
    }
}
SUBMIT_ERRORS = {
    408: {"model": schemas.ErrorMessage, "description": "the upload stalled"},
    413: {"model": schemas.ErrorMessage, "description": "upload too large"},
    422: {"model": schemas.ValidationErrorMessage, "description": "invalid spec or upload"},
    429: {"model": schemas.ErrorMessage, "description": "too many jobs queued"},
    507: {"model": schemas.ErrorMessage, "description": "the server's disk is full"},
}


def field_error(state: ServerState, exc: UserError, part: str, staging: Path | None = None) -> RequestValidationError:
    """A UserError from one multipart part as FastAPI's 422 shape, with no server path in it."""
    if exc.field in ("control", "image", "mask") or is_keyframe_part(exc.field):
        part = exc.field
    field = exc.field if isinstance(exc.field, str) else None
    loc = ["body", part] + ([field] if field and field != part else [])
    return RequestValidationError([{"loc": loc, "msg": scrub_paths(state, str(exc), staging), "type": "value_error"}])


def scrub_paths(state: ServerState, text: str, staging: Path | None = None) -> str:
    """Messages from file readers name the file they read: the staged upload becomes the part's
    name, anything else under the data folder `<data-dir>/...` (clients never see server paths)."""
    if staging is not None:
        for role in ("control", "image", "mask", *(f"keyframe_{i}" for i in range(MAX_KEYFRAMES))):
            for form in (staging / role, (staging / role).resolve()):
                text = text.replace(str(form), role)
    for root in {str(state.settings.data_dir), str(state.settings.data_dir.resolve())}:
        text = text.replace(root, "<data-dir>")
    return text


def queue_full(state: ServerState) -> HTTPException:
    limit = state.settings.max_queued
    return HTTPException(
        429,
        f"{limit} jobs are already queued or running (the server's limit, serve --max-queued); wait for one to finish",
    )


def _new_staging(state: ServerState) -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=state.staging_root))
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise HTTPException(507, disk_full_message("the upload")) from None
        raise


def _admit(state: ServerState, spec_bytes: bytes, files: dict[str, Path], staging: Path) -> str:
    """Check everything, then create and queue the job (thread pool). Returns the job id."""
    try:
        spec = GenerationSpec.from_json(spec_bytes)
    except UserError as exc:
        raise field_error(state, exc, "spec", staging) from None
    part = "control"
    try:
        checked = check_control(files["control"], state.worker.max_package_bytes)
        stored = {"control": (files["control"], checked.name)}
        image = mask = None
        if "image" in files:
            part = "image"
            image = check_image(files["image"])
            stored["image"] = (files["image"], image.name)
        if "mask" in files:
            part = "mask"
            mask = check_mask(files["mask"], state.worker.max_package_bytes)
            stored["mask"] = (files["mask"], mask.name)
        for i, key in enumerate(spec.keyframes):
            part = f"keyframe_{i}"
            if part not in files:
                raise UserError(
                    f"{part}: missing; the spec lists {len(spec.keyframes)} keyframe(s): send the image of "
                    f"keyframes[{i}] (frame {key['frame']}) as the file part '{part}'",
                    part,
                )
            stored[part] = (files[part], check_image(files[part], part).name)
        extra = sorted(p for p in files if is_keyframe_part(p) and p not in stored)
        if extra:
            part = extra[0]
            raise UserError(
                f"{part}: the spec lists {len(spec.keyframes)} keyframe(s), so there is no keyframe for this "
                "image; add its frame and strength to the spec's keyframes or leave the part out",
                part,
            )
        part = "spec"
        if checked.video_info is not None and spec.fps is None:
            spec.fps = format_fps(checked.video_info.fps)  # the video's own rate
        plan = state.engine.plan(spec, plan_input(checked))  # sizes, frames, kind, LoRAs, keyframe frames
        from backend.engine.plan import check_first_frame_conflict

        check_first_frame_conflict(spec, "image" in files, checked.package)  # frame 0 given twice
        check_plan(plan, checked, mask)  # what the plan asks of the files
    except UserError as exc:
        raise field_error(state, exc, part, staging) from None
    except MemoryError:
        raise field_error(
            state,
            UserError(f"{part}: decoding it needs more memory than the server has free; send a smaller file", part),
            part,
        ) from None
    try:
        with state.admission:
            if state.store.count_active() >= state.settings.max_queued:
                raise queue_full(state)
            record = state.store.create(spec.to_json(), stored)
            state.worker.submit(record.id, package=checked.package)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise HTTPException(507, disk_full_message("the job")) from None
        raise
    return record.id


@router.post(
    "/v1/jobs", status_code=202, response_model=schemas.JobCreated, openapi_extra=SUBMIT_BODY, responses=SUBMIT_ERRORS
)
async def create_job(request: Request, state: State):
    """Queue a job; returns its id at once. Watch it with GET /v1/jobs/{id}/events."""
    settings = state.settings
    if state.store.count_active() >= settings.max_queued:  # before a byte of the upload is read
        raise queue_full(state)
    staging = await run_in_threadpool(_new_staging, state)
    try:
        try:
            form = await receive_form(
                request.receive,
                request.headers.get("content-type", ""),
                staging,
                max_body_bytes=settings.max_upload_bytes,
                too_large_message=state.too_large_message,
                stall_timeout_s=settings.upload_stall_timeout_s,
            )
        except FormError as exc:
            return form_error_response(state, exc, staging)
        job_id = await run_in_threadpool(_admit, state, form.spec, form.files, staging)
    finally:
        await run_in_threadpool(shutil.rmtree, staging, True)
    return schemas.JobCreated(id=job_id)


def form_error_response(state: ServerState, exc: FormError, staging: Path) -> JSONResponse:
    message = scrub_paths(state, exc.message, staging)
    if exc.status == 422:
        loc = ["body"] + ([exc.part] if exc.part else [])
        return JSONResponse(
            {"detail": [{"loc": loc, "msg": message, "type": "value_error"}], "message": message}, status_code=422
        )
    # the rest of the body is not read: the connection cannot carry another request
    return JSONResponse({"detail": message}, status_code=exc.status, headers={"Connection": "close"})


@router.get("/v1/jobs", response_model=schemas.JobList)
def list_jobs(state: State) -> dict[str, Any]:
    """All jobs the server keeps, oldest first."""
    return {"jobs": [r.public() for r in state.store.list()]}


@router.get("/v1/jobs/{job_id}", response_model=schemas.JobStatus, responses=NOT_FOUND)
async def job_status(record: Job):
    return record.public()


@router.post(
    "/v1/jobs/{job_id}/cancel", status_code=202, response_model=schemas.JobStatus, responses={**NOT_FOUND, **CONFLICT}
)
def cancel_job(state: State, record: Job):
    """A queued job is cancelled at once; a running one stops at its next step."""
    if not state.worker.cancel(record.id):
        raise HTTPException(
            409, f"job {record.id} is {state.store.get(record.id).status}; only queued or running jobs can be cancelled"
        )
    return state.store.get(record.id).public()


@router.get(
    "/v1/jobs/{job_id}/events",
    response_class=StreamingResponse,
    responses={**NOT_FOUND, 200: {"content": {"text/event-stream": {}}, "description": "the event stream"}},
)
async def job_events(state: State, record: Job):
    """Server-Sent Events: `status` (first, and on each status change) and `progress` events,
    each with the status JSON as data; the stream ends after a final status."""
    return StreamingResponse(
        job_event_stream(state.broker, state.store, record.id), media_type="text/event-stream", headers=HEADERS
    )
