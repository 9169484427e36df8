"""The memory options `serve`, `generate` and `memory-plan` share (one definition, one meaning)."""

from __future__ import annotations

import argparse


def add_memory_arguments(parser: argparse.ArgumentParser, job_size: bool = True) -> None:
    group = parser.add_argument_group("memory (see `ltx-scene memory-plan`)")
    group.add_argument(
        "--vram",
        "--vram-budget",
        dest="vram",
        type=float,
        default=None,
        metavar="GB",
        help="device memory to plan for, e.g. 24 for a 24 GB card (default: what is free now)",
    )
    group.add_argument(
        "--ram",
        "--ram-budget",
        dest="ram",
        type=float,
        default=None,
        metavar="GB",
        help="host RAM to plan for (default: what is available now); pinned memory takes at most half",
    )
    group.add_argument(
        "--memory-tier",
        choices=("resident", "text-encoder-on-demand", "streamed", "disk"),
        default=None,
        help="force a tier instead of the fastest one that fits",
    )
    if job_size:
        group.add_argument(
            "--plan-width", type=int, default=768, metavar="W", help="the widest job the plan must hold (default 768)"
        )
        group.add_argument("--plan-height", type=int, default=512, metavar="H", help="(default 512)")
        group.add_argument("--plan-frames", type=int, default=121, metavar="F", help="(default 121)")


def memory_options(
    args: argparse.Namespace, width: int | None = None, height: int | None = None, frames: int | None = None
):
    from backend.engine import MemoryOptions
    from shared.errors import UserError

    for flag, value in (("--vram", args.vram), ("--ram", args.ram)):
        if value is not None and not 0 < value < 100_000:
            raise UserError(f"{flag}: {value} GB is not a usable memory size", field=flag.strip("-"))
    return MemoryOptions(
        vram_gb=args.vram,
        ram_gb=args.ram,
        tier=args.memory_tier,
        width=width or getattr(args, "plan_width", 768),
        height=height or getattr(args, "plan_height", 512),
        frames=frames or getattr(args, "plan_frames", 121),
    )
