"""The engine options `serve` and `worker` share: device, quantization, log level, malloc, memory.

One definition, one meaning, like _memory_args.py for the memory options it adds too.
"""

from __future__ import annotations

import argparse
import logging

from backend.commands._memory_args import add_memory_arguments, memory_options


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    parser.add_argument(
        "--quantization",
        choices=("none", "fp8-cast"),
        default=None,
        help="override the bundle's quantization (fp8-cast halves transformer memory)",
    )
    parser.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="keep glibc's default malloc behaviour on a CPU device (by default a CPU process "
        "keeps freed memory for the next job: steadier job times, higher resting RSS)",
    )
    add_memory_arguments(parser)


def configure_logging(args: argparse.Namespace) -> None:
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def engine_from_args(args: argparse.Namespace, bundle):
    """The Engine the options ask for."""
    from backend.engine import Engine

    return Engine(
        bundle,
        device=args.device,
        quantization=args.quantization,
        memory=memory_options(args),
        tune_host_malloc=not args.default_malloc,
    )
