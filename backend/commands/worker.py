"""`ltx-scene worker`: a studio farm's GPU worker (backend/farm/worker_process.py).

One per GPU (`CUDA_VISIBLE_DEVICES=N ltx-scene worker ...`): it loads the bundle's models once,
keeps them resident, and runs the jobs the front door (`ltx-scene serve --broker`) queues for that
bundle, one at a time, reporting progress and results to the front door over HTTP.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from backend.commands._engine_args import add_engine_arguments, configure_logging, engine_from_args

NAME = "worker"
HELP = "run a studio farm's GPU worker: the engine resident, jobs from the broker (serve --broker)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from backend.farm import settings as farm

    parser.add_argument("--broker", required=True, metavar="URL", help="the front door's broker, redis://HOST:PORT/N")
    parser.add_argument(
        "--model", required=True, metavar="BUNDLE", help="the model bundle (the same as the front door's)"
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help="the front door's worker token (its <data-dir>/worker-token, copied here; default: that file "
        "in this machine's default data dir)",
    )
    parser.add_argument("--name", default=None, help="this worker's name (default HOST-gpuN-PID)")
    parser.add_argument(
        "--heartbeat-s",
        type=float,
        default=farm.HEARTBEAT_S,
        help=f"how often the worker reports its state (default {farm.HEARTBEAT_S:g})",
    )
    parser.add_argument(
        "--visibility-timeout-s",
        type=float,
        default=farm.VISIBILITY_TIMEOUT_S,
        help=f"the same value as the front door's (default {farm.VISIBILITY_TIMEOUT_S})",
    )
    parser.add_argument(
        "--front-door-retry-s",
        type=float,
        default=farm.CALLBACK_RETRY_S,
        help=f"how long to wait for a front door that does not answer (default {farm.CALLBACK_RETRY_S:g})",
    )
    add_engine_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from backend.bundle import Bundle
    from backend.farm.bundle_identity import bundle_hash
    from backend.farm.front_door import WORKER_TOKEN_FILE
    from backend.farm.settings import FarmSettings
    from backend.farm.worker_process import default_worker_name, run_worker
    from shared.data_dir import default_data_dir
    from shared.errors import UserError
    from shared.package import DEFAULT_MAX_BYTES

    configure_logging(args)
    settings = FarmSettings(
        broker_url=args.broker,
        heartbeat_s=args.heartbeat_s,
        worker_timeout_s=max(3 * args.heartbeat_s, 1.0),  # the front door's; only checked there
        visibility_timeout_s=args.visibility_timeout_s,
        callback_retry_s=args.front_door_retry_s,
    )
    settings.check()
    token_file = args.token_file or default_data_dir() / WORKER_TOKEN_FILE
    try:
        token = token_file.read_text("utf-8").strip()
    except OSError as exc:
        raise UserError(
            f"--token-file: cannot read the worker token {token_file} ({exc.strerror or exc}); copy the front "
            "door's <data-dir>/worker-token to this machine and pass it with --token-file",
            "token_file",
        ) from None
    if len(token) < 16:
        raise UserError(f"--token-file: {token_file} holds no worker token; copy the front door's again", "token_file")
    bundle = Bundle.load(args.model)
    model_hash = bundle_hash(bundle, args.quantization)
    engine = engine_from_args(args, bundle)
    name = args.name or default_worker_name()
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", name):
        raise UserError(f"--name: {name!r}: use letters, digits, '.', '_' and '-' (at most 64)", "name")
    run_worker(
        settings,
        engine,
        name=name,
        model_hash=model_hash,
        token=token,
        max_package_bytes=DEFAULT_MAX_BYTES,
        log_level=args.log_level,
    )
    return 0
