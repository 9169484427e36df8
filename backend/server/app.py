"""The FastAPI application: `create_app(settings, engine)` builds the server state (job store,
worker, SSE broker, token) and includes the routers of `routes/`, which read it from
`app.state.server` (`state.ServerState`).

`engine` is the resident `backend.engine.Engine` (constructed, models not yet loaded) or any object
with the same interface (`state.py` lists it; the in-process API tests pass a stand-in). The worker
thread starts with the application (lifespan), loads the models and stops with it.

Endpoints that parse uploads or write files do that work in FastAPI's thread pool, so uploads and
package checks never block the event loop that serves the progress streams; the token check, job
lookups, status and downloads (a stat, then Starlette's threaded file reads) stay on the loop.

Errors: every refusal is JSON, never plain text, and every answer is ASCII-escaped JSON (a lone
surrogate echoed from a request cannot break the encoder). 422 (bad spec or upload) lists field
messages in FastAPI's usual `detail` list and adds `message`, one line for display; other 4xx have
`detail` text; 405 names the allowed methods in `Allow`.

The data folder: created owner-only (0700) when the server makes it; an existing folder keeps its
permissions, and the server deletes only what it made itself (job folders, `.new-*` and
`.upload-*` folders inside `jobs/`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import asynccontextmanager
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.package import DEFAULT_MAX_BYTES as PACKAGE_MAX_BYTES

from .auth import AccessGuard, HostPolicy, load_or_create_token
from .events import EventBroker
from .jobs import JobStore, lock_data_dir
from .routes import ROUTERS
from .routes.service import package_version
from .settings import ServerSettings
from .state import ServerState
from .worker import Worker

log = logging.getLogger("ltx_scene.server")

API_TITLE = "LTX Scene Control backend"
ERRORS = {401: {"description": "missing or wrong token"}, 400: {"description": "foreign Host header"}}


class AsciiJSONResponse(JSONResponse):
    """JSON with non-ASCII characters escaped: valid for any Python string, lone surrogates too."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def device_description(engine) -> str:
    device = engine.device
    if getattr(device, "type", "") == "cuda":
        import torch

        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def too_large_message(settings: ServerSettings) -> str:
    return (
        f"the upload is larger than this server's limit of {settings.max_upload_bytes // (1024 * 1024)} MiB "
        "(serve --max-upload-mb); send a smaller control package or video"
    )


def prepare_data_dir(settings: ServerSettings) -> None:
    """Create the data folder owner-only if it is not there; never change an existing one."""
    data_dir = settings.data_dir
    if not data_dir.is_dir():
        data_dir.mkdir(mode=0o700, parents=True)


def create_app(
    settings: ServerSettings, engine, *, fault_hook: Callable[[str, Any], None] | None = None, farm=None
) -> FastAPI:
    """farm: a studio farm's front door (`backend.farm.front_door.FrontDoor`, `serve --broker`): it
    replaces the worker thread (jobs go to Celery workers), adds the workers' endpoints and keeps
    running jobs running across a restart. None (one machine): nothing of the farm is involved."""
    prepare_data_dir(settings)
    token = load_or_create_token(settings.data_dir)
    data_lock = lock_data_dir(settings.data_dir)  # held for the life of the process
    store, queued_ids = JobStore.open(
        settings.data_dir, settings.keep_days, settings.keep_jobs, interrupt_running=farm is None
    )
    broker = EventBroker()
    store.add_listener(broker.publish)
    if farm is None:
        worker = Worker(store, engine, max_package_bytes=PACKAGE_MAX_BYTES, fault_hook=fault_hook)
    else:
        worker = farm.attach(store, settings.data_dir, max_package_bytes=PACKAGE_MAX_BYTES)
    state = ServerState(
        settings=settings,
        engine=engine,
        store=store,
        worker=worker,
        broker=broker,
        token=token,
        staging_root=store.root,
        device=device_description(engine),
        tiny_model=bool(engine.bundle.tiny),
        version=package_version("ltx-scene-control"),
        too_large_message=too_large_message(settings),
        farm=farm,
    )

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
        title=API_TITLE,
        version=state.version,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        default_response_class=AsciiJSONResponse,
        description="Drives LTX-2 IC-LoRA video generation for the LTX Scene Control Blender add-on. "
        "All endpoints but /v1/health need `Authorization: Bearer <token>`.",
        responses=ERRORS,
    )
    app.state.server = state
    app.state.data_lock = data_lock
    hosts = HostPolicy(settings.host, settings.allowed_hosts)
    app.state.hosts_loopback_only = hosts.loopback_only
    app.add_middleware(
        AccessGuard,
        token=token,
        hosts=hosts,
        max_body_bytes=settings.max_upload_bytes,
        too_large_message=state.too_large_message,
        worker_token=farm.worker_token if farm is not None else None,
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    if farm is not None:
        app.include_router(farm.router)
    return app


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        details = []
        for err in exc.errors():
            details.append(
                {
                    "loc": [str(p) if not isinstance(p, int) else p for p in err.get("loc", ())],
                    "msg": str(err.get("msg", "")),
                    "type": str(err.get("type", "value_error")),
                }
            )
        message = "; ".join(
            d["msg"]
            if ": " in d["msg"]  # our messages name their field
            else f"{'.'.join(map(str, d['loc'][1:])) or 'request'}: {d['msg']}"
            for d in details
        )
        return AsciiJSONResponse({"detail": details, "message": message}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        headers = dict(exc.headers or {})
        detail = exc.detail
        if exc.status_code == 413:
            detail = request.app.state.server.too_large_message
        elif exc.status_code == 405:
            allowed = allowed_methods(request)
            headers["Allow"] = ", ".join(allowed)
            detail = f"{request.method} is not allowed here; this path takes {', '.join(allowed)}"
        return AsciiJSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers or None)

    @app.exception_handler(Exception)
    async def _server_error(request: Request, exc: Exception):
        log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
        return AsciiJSONResponse(
            {
                "detail": f"internal error: {type(exc).__name__} (the server log has the "
                "details); the server is still running"
            },
            status_code=500,
        )


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes for this path (the router's own 405 names only one route's)."""
    methods: set[str] = set()
    path = request.url.path
    for route in all_routes(request.app):
        if route.path_regex.match(path):
            methods.update(route.methods or ())
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def all_routes(app: FastAPI) -> list:
    """The app's own routes (schema) and those of `routes.ROUTERS`, each with `path`, `path_regex`
    and `methods`."""
    own = [r for r in app.router.routes if getattr(r, "methods", None) and hasattr(r, "path_regex")]
    return own + [r for router in ROUTERS for r in router.routes]
