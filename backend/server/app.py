"""The FastAPI application: routes of the HTTP API (docs/contracts.md), wired to the job store,
the worker and the SSE broker.

`create_app(settings, engine)` builds everything around an `backend.engine.Engine` (constructed,
models not yet loaded); the worker thread starts with the application (lifespan), loads the models
and stops with it. Endpoints that parse uploads or write files run as plain `def` (FastAPI runs them
in its thread pool), so uploads and package checks never block the event loop that serves the
progress streams; the token check, job lookups, status and downloads (a stat, then Starlette's
threaded file reads) are `async`, which saves two thread-pool hops (~1 ms) per request.

Errors: every refusal is JSON. 422 (bad spec or upload) lists field messages in FastAPI's usual
`detail` list and adds `message`, one line for display; other 4xx have `detail` text.
"""
from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import shutil
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Callable

from fastapi import Depends, FastAPI, File, Form, HTTPException, Path as PathParam, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.errors import UserError
from shared.job_spec import GenerationSpec
from shared.package import DEFAULT_MAX_BYTES as PACKAGE_MAX_BYTES
from shared.video_rules import format_fps

from . import schemas
from .auth import AccessGuard, HostPolicy, load_or_create_token, token_matches
from .events import EventBroker
from .jobs import FINAL, SUCCEEDED, JobStore, lock_data_dir, valid_job_id
from .settings import ServerSettings
from .sse import HEADERS, job_event_stream
from .uploads import check_control, check_image, check_mask, plan_input
from .worker import Worker

log = logging.getLogger("ltx_scene.server")

API_TITLE = "LTX Scene Control backend"
MEDIA_TYPES = {".mp4": "video/mp4", ".mkv": "video/x-matroska", ".webm": "video/webm",
               ".avi": "video/x-msvideo", ".mov": "video/quicktime", ".nut": "application/octet-stream",
               ".json": "application/json"}
JOB_ID_DOC = "a job id as returned by POST /v1/jobs"
ERRORS = {401: {"model": schemas.ErrorMessage, "description": "missing or wrong token"},
          400: {"model": schemas.ErrorMessage, "description": "foreign Host header"}}
NOT_FOUND = {404: {"model": schemas.ErrorMessage, "description": "no such job"}}
CONFLICT = {409: {"model": schemas.ErrorMessage, "description": "not possible in the job's state"}}

_bearer = HTTPBearer(auto_error=False, description="the token from <data-dir>/token")


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def field_error(exc: UserError, part: str) -> RequestValidationError:
    """A UserError from one multipart part as FastAPI's 422 shape."""
    if exc.field in ("control", "image", "mask"):
        part = exc.field
    loc = ["body", part] + ([exc.field] if exc.field and exc.field != part else [])
    return RequestValidationError([{"loc": loc, "msg": str(exc), "type": "value_error"}])


def device_description(engine) -> str:
    device = engine.device
    if getattr(device, "type", "") == "cuda":
        import torch

        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


class _ResultFile(FileResponse):
    """Results are read in 1 MiB chunks, not Starlette's 64 KiB: each chunk is a thread-pool hop,
    and a few-MB mp4 took ~40 of them (bench_server: download time of the result)."""
    chunk_size = 1024 * 1024


def create_app(settings: ServerSettings, engine, *,
               fault_hook: Callable[[str, Any], None] | None = None) -> FastAPI:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)
    token = load_or_create_token(settings.data_dir)
    data_lock = lock_data_dir(settings.data_dir)           # held for the life of the process
    store, queued_ids = JobStore.open(settings.data_dir, settings.keep_days, settings.keep_jobs)
    broker = EventBroker()
    store.add_listener(broker.publish)
    device = device_description(engine)
    tiny_model = bool(engine.bundle.tiny)
    worker = Worker(store, engine, max_package_bytes=PACKAGE_MAX_BYTES, fault_hook=fault_hook)
    uploads_dir = settings.data_dir / "uploads"
    shutil.rmtree(uploads_dir, ignore_errors=True)          # leftovers of a crash mid-upload
    uploads_dir.mkdir(mode=0o700)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        worker.start(queued_ids)
        if queued_ids:
            log.info("resuming %d queued job(s)", len(queued_ids))
        try:
            yield
        finally:
            await asyncio.to_thread(worker.stop, 10.0)

    app = FastAPI(
        title=API_TITLE, version=_version("ltx-scene-control"), lifespan=lifespan,
        description="Drives LTX-2 IC-LoRA video generation for the LTX Scene Control Blender add-on. "
                    "All endpoints but /v1/health need `Authorization: Bearer <token>`.",
        responses=ERRORS)
    app.state.store, app.state.worker, app.state.settings = store, worker, settings
    app.state.data_lock = data_lock
    hosts = HostPolicy(settings.host, settings.allowed_hosts)
    app.state.hosts_loopback_only = hosts.loopback_only
    too_large = (f"the upload is larger than this server's limit of "
                 f"{settings.max_upload_bytes // (1024 * 1024)} MiB (serve --max-upload-mb); "
                 "send a smaller control package or video")
    app.add_middleware(AccessGuard, token=token, hosts=hosts, max_body_bytes=settings.max_upload_bytes,
                       too_large_message=too_large)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        details = []
        for err in exc.errors():
            details.append({"loc": [str(p) if not isinstance(p, int) else p for p in err.get("loc", ())],
                            "msg": str(err.get("msg", "")), "type": str(err.get("type", "value_error"))})
        message = "; ".join(d["msg"] if ": " in d["msg"]       # our messages name their field
                            else f"{'.'.join(map(str, d['loc'][1:])) or 'request'}: {d['msg']}"
                            for d in details)
        return JSONResponse({"detail": details, "message": message}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        detail = exc.detail
        if exc.status_code == 413:
            detail = too_large
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    async def require_token(cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
        # AccessGuard already refused requests without the token; this documents the scheme in the
        # OpenAPI schema and checks again (defence in depth).
        if cred is None or not token_matches(f"Bearer {cred.credentials}", token):
            raise HTTPException(401, "missing or wrong token", headers={"WWW-Authenticate": "Bearer"})

    async def existing_job(job_id: Annotated[str, PathParam(description=JOB_ID_DOC, max_length=64)]):
        record = store.get(job_id) if valid_job_id(job_id) else None
        if record is None:
            raise HTTPException(404, f"no job {job_id!r} on this server (finished jobs are kept "
                                     f"{settings.keep_days:g} days)")
        return record

    auth = [Depends(require_token)]

    # ------------------------------------------------------------------------------ service
    @app.get("/v1/health", response_model=schemas.Health, tags=["service"])
    def health():
        return schemas.Health(
            version=_version("ltx-scene-control"), device=device, torch=_version("torch"),
            ltx_core=_version("ltx-core"), tiny_model=tiny_model, engine=worker.engine_state,
            engine_error=worker.engine_error, queued=store.count_active())

    @app.get("/v1/models", dependencies=auth, tags=["service"])
    def models() -> dict[str, Any]:
        """The bundle: control kinds, each IC-LoRA's reference factor and size multiple."""
        return {**engine.describe(), "engine": worker.engine_state, "engine_error": worker.engine_error}

    # ------------------------------------------------------------------------------ jobs
    @app.post("/v1/jobs", status_code=202, response_model=schemas.JobCreated, dependencies=auth,
              tags=["jobs"], max_body_size=settings.max_upload_bytes,
              responses={413: {"model": schemas.ErrorMessage, "description": "upload too large"},
                         422: {"model": schemas.ValidationErrorMessage, "description": "invalid spec or upload"},
                         429: {"model": schemas.ErrorMessage, "description": "too many jobs queued"}})
    def create_job(
        spec: Annotated[str, Form(description="GenerationSpec as JSON text")],
        control: Annotated[UploadFile, File(description="a .npz ControlPackage or a control video")],
        image: Annotated[UploadFile | None, File(description="first frame, PNG or JPEG")] = None,
        mask: Annotated[UploadFile | None, File(description="attention mask: video or .npz with 'mask'")] = None,
    ):
        """Queue a job; returns its id at once. Watch it with GET /v1/jobs/{id}/events."""
        if store.count_active() >= settings.max_queued:
            raise HTTPException(429, f"{settings.max_queued} jobs are already queued or running (the "
                                     "server's limit, serve --max-queued); wait for one to finish")
        try:
            spec_obj = GenerationSpec.from_json(spec)
        except UserError as exc:
            raise field_error(exc, "spec") from None
        staging = Path(tempfile.mkdtemp(dir=uploads_dir))
        try:
            paths = {}
            for role, upload in (("control", control), ("image", image), ("mask", mask)):
                if upload is not None:
                    paths[role] = staging / role
                    with open(paths[role], "wb") as fh:
                        shutil.copyfileobj(upload.file, fh, 1024 * 1024)
            part = "control"
            try:
                checked = check_control(paths["control"], worker.max_package_bytes)
                files = {"control": (paths["control"], checked.name)}
                for part, check in (("image", check_image), ("mask", check_mask)):
                    if part in paths:
                        files[part] = (paths[part], check(paths[part]))
                part = "spec"
                if checked.video_info is not None and spec_obj.fps is None:
                    spec_obj.fps = format_fps(checked.video_info.fps)    # the video's own rate
                engine.plan(spec_obj, plan_input(checked))               # sizes, frames, kind, LoRAs
            except UserError as exc:
                raise field_error(exc, part) from None
            record = store.create(spec_obj.to_json(), files)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        worker.submit(record.id, package=checked.package)
        return schemas.JobCreated(id=record.id)

    @app.get("/v1/jobs", response_model=schemas.JobList, dependencies=auth, tags=["jobs"])
    def list_jobs():
        """All jobs the server keeps, oldest first."""
        return {"jobs": [r.public() for r in store.list()]}

    @app.get("/v1/jobs/{job_id}", response_model=schemas.JobStatus, dependencies=auth, tags=["jobs"],
             responses=NOT_FOUND)
    async def job_status(record=Depends(existing_job)):
        return record.public()

    @app.post("/v1/jobs/{job_id}/cancel", status_code=202, response_model=schemas.JobStatus,
              dependencies=auth, tags=["jobs"], responses={**NOT_FOUND, **CONFLICT})
    def cancel_job(record=Depends(existing_job)):
        """A queued job is cancelled at once; a running one stops at its next step."""
        if not worker.cancel(record.id):
            raise HTTPException(409, f"job {record.id} is {store.get(record.id).status}; only queued "
                                     "or running jobs can be cancelled")
        return store.get(record.id).public()

    def _download(record, which: str, media_type: str | None, suffix: str):
        if record.status != SUCCEEDED:
            raise HTTPException(409, f"job {record.id} is {record.status}: its files are available "
                                     "once it has succeeded" + (f" ({record.error})" if record.error else ""))
        path = store.result_path(record.id, which)
        if path is None:
            raise HTTPException(404, f"job {record.id} has no {which} file")
        media = media_type or MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
        # stat here (the file was just found): saves FileResponse a thread-pool hop per download
        return _ResultFile(path, media_type=media, filename=f"{record.id}{suffix or path.suffix}",
                           stat_result=path.stat())

    @app.get("/v1/jobs/{job_id}/result", dependencies=auth, tags=["results"],
             responses={**NOT_FOUND, **CONFLICT, 200: {"content": {"video/mp4": {}},
                                                       "description": "H.264 + AAC mp4"}})
    async def job_result(record=Depends(existing_job)):
        """The generated video with its audio (mp4)."""
        return _download(record, "video", "video/mp4", ".mp4")

    @app.get("/v1/jobs/{job_id}/sidecar", dependencies=auth, tags=["results"],
             responses={**NOT_FOUND, **CONFLICT, 200: {"content": {"application/json": {}},
                                                       "description": "what was generated, how"}})
    async def job_sidecar(record=Depends(existing_job)):
        """The sidecar JSON written beside the video (spec, seed, sizes, timings)."""
        return _download(record, "sidecar", "application/json", ".json")

    @app.get("/v1/jobs/{job_id}/control", dependencies=auth, tags=["results"],
             responses={**NOT_FOUND, **CONFLICT, 200: {"content": {"video/*": {}},
                                                       "description": "the control video used"}})
    async def job_control(record=Depends(existing_job)):
        """The exact control video the model was conditioned on."""
        return _download(record, "control", None, "")

    @app.get("/v1/jobs/{job_id}/events", response_class=StreamingResponse, dependencies=auth,
             tags=["jobs"], responses={**NOT_FOUND, 200: {"content": {"text/event-stream": {}},
                                                          "description": "the event stream"}})
    async def job_events(record=Depends(existing_job)):
        """Server-Sent Events: `status` (first, and on each status change) and `progress` events,
        each with the status JSON as data; the stream ends after a final status."""
        return StreamingResponse(job_event_stream(broker, store, record.id), media_type="text/event-stream",
                                 headers=HEADERS)

    return app
