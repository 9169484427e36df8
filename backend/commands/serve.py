"""`ltx-scene serve`: the HTTP backend the Blender add-on talks to (backend/server/).

Binds 127.0.0.1 unless `--host` says otherwise. Prints where the token is (not the token). The
models load in the background after the server is up; `/v1/health` says when they are ready.

With `--broker redis://...` it is a studio farm's front door (backend/farm/): the same API, token,
Host checks and job store, but jobs go to Celery workers (`ltx-scene worker`) instead of running
here; no model is built, the bundle is read only to check submits and name its workers' queue.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backend.commands._engine_args import add_engine_arguments, configure_logging, engine_from_args
from backend.server import settings as defaults

NAME = "serve"
HELP = "run the HTTP backend (job queue, progress events, results) for the Blender add-on"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        metavar="BUNDLE",
        help="the model bundle (bundle.json or its folder); see `ltx-scene models list`",
    )
    parser.add_argument(
        "--port", type=int, default=defaults.DEFAULT_PORT, help=f"TCP port (default {defaults.DEFAULT_PORT})"
    )
    parser.add_argument(
        "--host",
        default=defaults.LOOPBACK_HOST,
        help="address to bind (default 127.0.0.1, this machine only); e.g. 0.0.0.0 "
        "exposes the server on the network: do that only on a network you trust",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help=f"jobs, results and the token (default {defaults.default_data_dir()})",
    )
    parser.add_argument(
        "--max-upload-mb",
        type=int,
        default=defaults.DEFAULT_MAX_UPLOAD_MB,
        help=f"largest job upload in MiB (default {defaults.DEFAULT_MAX_UPLOAD_MB})",
    )
    parser.add_argument(
        "--max-queued",
        type=int,
        default=defaults.DEFAULT_MAX_QUEUED,
        help=f"jobs queued or running at once (default {defaults.DEFAULT_MAX_QUEUED})",
    )
    parser.add_argument(
        "--keep-days",
        type=float,
        default=defaults.DEFAULT_KEEP_DAYS,
        help=f"delete finished jobs older than this (default {defaults.DEFAULT_KEEP_DAYS:g}; 0: never)",
    )
    parser.add_argument(
        "--keep-jobs",
        type=int,
        default=defaults.DEFAULT_KEEP_JOBS,
        help=f"keep at most this many finished jobs (default {defaults.DEFAULT_KEEP_JOBS}; 0: no limit)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="another Host header name to accept (a LAN name of this machine); repeatable",
    )
    add_engine_arguments(parser)
    add_farm_arguments(parser)


def add_farm_arguments(parser: argparse.ArgumentParser) -> None:
    from backend.farm import settings as farm

    group = parser.add_argument_group("studio farm (README: A studio farm)")
    group.add_argument(
        "--broker",
        default=None,
        metavar="URL",
        help="redis://HOST:PORT/N: be a farm's front door; jobs run on `ltx-scene worker`s (default: run them here)",
    )
    group.add_argument(
        "--worker-url",
        default=None,
        metavar="URL",
        help="where the workers reach this server (default http://HOST:PORT, this machine's name when "
        "--host is 0.0.0.0); its name is accepted in the Host header",
    )
    group.add_argument(
        "--worker-timeout-s",
        type=float,
        default=farm.WORKER_TIMEOUT_S,
        help=f"a worker silent this long is lost; its job runs again on another one, once "
        f"(default {farm.WORKER_TIMEOUT_S:g}; more than twice the workers' --heartbeat-s)",
    )
    group.add_argument(
        "--visibility-timeout-s",
        type=float,
        default=farm.VISIBILITY_TIMEOUT_S,
        help=f"Redis redelivers a job not acknowledged after this long: well above the longest job "
        f"(default {farm.VISIBILITY_TIMEOUT_S}); give the workers the same value",
    )


def farm_settings(args: argparse.Namespace):
    from backend.farm.settings import FarmSettings

    settings = FarmSettings(
        broker_url=args.broker,
        worker_timeout_s=args.worker_timeout_s,
        visibility_timeout_s=args.visibility_timeout_s,
    )
    settings.check()
    return settings


def default_worker_url(host: str, port: int) -> str:
    import socket

    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def run(args: argparse.Namespace) -> int:
    from backend.bundle import Bundle
    from backend.server.app import create_app
    from shared.data_dir import TOKEN_FILE
    from shared.errors import UserError

    for name, value, low in (
        ("--port", args.port, 1),
        ("--max-upload-mb", args.max_upload_mb, 1),
        ("--max-queued", args.max_queued, 1),
        ("--keep-jobs", args.keep_jobs, 0),
    ):
        if value < low or (name == "--port" and value > 65535):
            raise UserError(f"{name}: {value} is out of range", name)
    if args.keep_days < 0:
        raise UserError("--keep-days: must be 0 (keep) or a positive number of days", "--keep-days")

    configure_logging(args)
    bundle = Bundle.load(args.model)
    if args.broker:
        return run_front_door(args, bundle)
    engine = engine_from_args(args, bundle)
    print(engine.memory_plan.table(), file=sys.stderr, flush=True)
    settings = server_settings(args)
    app = create_app(settings, engine)
    print(
        f"ltx-scene serve: {_url(args)}/v1  (model {bundle.name}"
        f"{', TINY TEST MODEL: its output is noise' if bundle.tiny else ''}; device {engine.device})\n"
        f"  token: {settings.data_dir.resolve() / TOKEN_FILE}   data: {settings.data_dir.resolve()}"
        "   API docs: /docs",
        file=sys.stderr,
        flush=True,
    )
    if not app.state.hosts_loopback_only:
        print(
            "  WARNING: listening beyond this machine; anyone with the token can use the GPU",
            file=sys.stderr,
            flush=True,
        )
    return serve_app(app, args, settings)


def run_front_door(args: argparse.Namespace, bundle) -> int:
    """`serve --broker`: the farm's front door (backend/farm/front_door.py)."""
    from urllib.parse import urlsplit

    from backend.farm.bundle_identity import bundle_hash
    from backend.farm.front_door import WORKER_TOKEN_FILE, FrontDoor
    from backend.farm.planner import FarmPlanner
    from backend.server.app import create_app
    from shared.data_dir import TOKEN_FILE

    farm = farm_settings(args)
    model_hash = bundle_hash(bundle, args.quantization)
    worker_url = args.worker_url or default_worker_url(args.host, args.port)
    worker_host = urlsplit(worker_url).hostname or ""
    settings = server_settings(args, extra_hosts=(worker_host,) if worker_host else ())
    front_door = FrontDoor(farm, bundle, model_hash, worker_url)
    app = create_app(settings, FarmPlanner(bundle, model_hash), farm=front_door)
    data = settings.data_dir.resolve()
    print(
        f"ltx-scene serve (studio farm front door): {_url(args)}/v1  (model {bundle.name} "
        f"{model_hash[:16]}{', TINY TEST MODEL: its output is noise' if bundle.tiny else ''})\n"
        f"  broker: {farm.broker_url}   workers reach this server at {worker_url}\n"
        f"  token: {data / TOKEN_FILE}   worker token (copy it to each GPU box): {data / WORKER_TOKEN_FILE}\n"
        f"  start one worker per GPU: ltx-scene worker --broker {farm.broker_url} --model BUNDLE "
        f"--token-file {data / WORKER_TOKEN_FILE}",
        file=sys.stderr,
        flush=True,
    )
    return serve_app(app, args, settings)


def server_settings(args: argparse.Namespace, extra_hosts: tuple[str, ...] = ()):
    """The ServerSettings the options ask for; `extra_hosts` are accepted in the Host header too."""
    from backend.server.settings import ServerSettings

    return ServerSettings(
        data_dir=args.data_dir or defaults.default_data_dir(),
        host=args.host,
        port=args.port,
        max_upload_bytes=args.max_upload_mb * 1024 * 1024,
        max_queued=args.max_queued,
        keep_days=args.keep_days,
        keep_jobs=args.keep_jobs,
        allowed_hosts=tuple(args.allow_host) + tuple(extra_hosts),
    )


def serve_app(app, args: argparse.Namespace, settings) -> int:
    """Run `app` under uvicorn until stopped (the same options for the single machine and the front door)."""
    import uvicorn

    from backend.server.http_protocol import uvicorn_options

    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=5,
        server_header=False,
        proxy_headers=False,
        **uvicorn_options(settings),
    )
    return 0


def _url(args: argparse.Namespace) -> str:
    return f"http://{f'[{args.host}]' if ':' in args.host else args.host}:{args.port}"
