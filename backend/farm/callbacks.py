"""The front door's endpoints for its workers, under `/v1/farm/` (`auth.WORKER_PREFIX`): only the
worker token opens them (`<data-dir>/worker-token`), and the artists' token opens none of them.

| call | what |
| --- | --- |
| `POST /v1/farm/jobs/{id}/claim` `{"worker", "model_hash"}` | take a queued job: its spec, input names and attempt number; 409 if it is not queued (cancelled, already taken, finished) or for another bundle |
| `GET /v1/farm/jobs/{id}/inputs/{role}` | the job's control / image / mask / keyframe_N file, while it runs |
| `POST /v1/farm/jobs/{id}/progress` `{"worker", "attempt", "event"}` | one `ProgressEvent`; answers `{"cancel": bool}` |
| `POST /v1/farm/jobs/{id}/result` multipart `meta` + `video`, `sidecar`, `control` | the result files and their frames / fps / size: the job succeeds |
| `POST /v1/farm/jobs/{id}/end` `{"worker", "attempt", "status": "failed" or "cancelled", "text"}` | the job ended without a result |

Every call after the claim names the worker and the attempt; a call that is not the job's current
run is answered 409, and the worker stops that job. Not in the public OpenAPI schema: this is the
farm's own protocol, not the add-on's API.
"""

from __future__ import annotations

import json
import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from backend.server.jobs import CANCELLED, FAILED, valid_job_id

from .dispatcher import RESULT_KEYS, Dispatcher, Refused

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ROLE = re.compile(r"^(control|image|mask|keyframe_[0-9]{1,3})$")  # the input roles a job stores
MAX_META_BYTES = 64 * 1024


def _job(job_id: str) -> str:
    if not valid_job_id(job_id):
        raise HTTPException(404, f"no job {job_id!r}")
    return job_id


async def _json(request: Request, *keys: str) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(422, "the body is not JSON") from None
    if not isinstance(body, dict) or any(k not in body for k in keys):
        raise HTTPException(422, f"the body must be a JSON object with {', '.join(keys)}")
    return body


def _str(body: dict, key: str) -> str:
    value = body[key]
    if not isinstance(value, str) or not _NAME.match(value):
        raise HTTPException(422, f"{key}: expected a name of letters, digits, '.', '_', '-'")
    return value


def _int(body: dict, key: str) -> int:
    value = body[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise HTTPException(422, f"{key}: expected an integer")
    return value


def make_router(get_dispatcher) -> APIRouter:
    """get_dispatcher(): the front door's `Dispatcher` (made when the app is built)."""
    router = APIRouter(prefix="/v1/farm", include_in_schema=False)

    def dispatcher() -> Dispatcher:
        return get_dispatcher()

    @router.post("/jobs/{job_id}/claim")
    async def claim(job_id: str, request: Request):
        body = await _json(request, "worker", "model_hash")
        try:
            return await run_in_threadpool(
                dispatcher().claim, _job(job_id), _str(body, "worker"), _str(body, "model_hash")
            )
        except Refused as exc:
            raise HTTPException(409, str(exc)) from None

    @router.get("/jobs/{job_id}/inputs/{role}")
    async def job_input(job_id: str, role: str):
        if not _ROLE.match(role):
            raise HTTPException(404, f"no input {role!r}")
        path = dispatcher().input_path(_job(job_id), role)
        if path is None or not path.is_file():
            raise HTTPException(404, f"job {job_id} has no {role} input now")
        return FileResponse(path, media_type="application/octet-stream")

    @router.post("/jobs/{job_id}/progress")
    async def progress(job_id: str, request: Request):
        body = await _json(request, "worker", "attempt", "event")
        if not isinstance(body["event"], dict):
            raise HTTPException(422, "event: expected an object")
        try:
            cancel = await run_in_threadpool(
                dispatcher().progress, _job(job_id), _str(body, "worker"), _int(body, "attempt"), body["event"]
            )
        except (TypeError, ValueError) as exc:
            raise HTTPException(422, f"event: {exc}") from None
        except Refused as exc:
            raise HTTPException(409, str(exc)) from None
        return {"cancel": cancel}

    @router.post("/jobs/{job_id}/result")
    async def result(job_id: str, request: Request):
        _job(job_id)
        async with request.form(max_files=len(RESULT_KEYS), max_fields=1, max_part_size=MAX_META_BYTES) as form:
            try:
                meta = json.loads(form.get("meta") or "")
                worker, attempt = _str(meta, "worker"), _int(meta, "attempt")
                for key in ("frames", "fps", "width", "height"):
                    if key not in meta:
                        raise ValueError(f"meta has no {key}")
            except (ValueError, TypeError, KeyError) as exc:
                raise HTTPException(422, f"meta: {exc}") from None
            files = {}
            for key in RESULT_KEYS:
                upload = form.get(key)
                if upload is None or isinstance(upload, str):
                    continue
                if not upload.filename or not _NAME.match(upload.filename):
                    raise HTTPException(422, f"{key}: the file name must be a plain name")
                files[key] = (upload.filename, upload.file)
            if "video" not in files:
                raise HTTPException(422, "video: missing")
            try:
                await run_in_threadpool(dispatcher().accept_result, job_id, worker, attempt, meta, files)
            except Refused as exc:
                raise HTTPException(409, str(exc)) from None
        return {"status": "succeeded"}

    @router.post("/jobs/{job_id}/end")
    async def end(job_id: str, request: Request):
        body = await _json(request, "worker", "attempt", "status", "text")
        if body["status"] not in (FAILED, CANCELLED) or not isinstance(body["text"], str):
            raise HTTPException(422, "status: 'failed' or 'cancelled', text: a message")
        try:
            await run_in_threadpool(
                dispatcher().report_end,
                _job(job_id),
                _str(body, "worker"),
                _int(body, "attempt"),
                body["status"],
                body["text"][:4000],
            )
        except Refused as exc:
            raise HTTPException(409, str(exc)) from None
        return {"status": body["status"]}

    return router
