"""`ltx-scene memory-plan`: where every model component would live for a card, a RAM size and a job.

Works without weights for the official full-size models (`--preset`, built on the meta device) and
for any installed bundle (`--model`). `serve` and `generate` print the same plan when they start and
`/v1/health` reports its tier.
"""

from __future__ import annotations

import argparse
import json
import sys

NAME = "memory-plan"
HELP = "show where each model component lives (device, pinned RAM, disk) for a card, a RAM size and a job"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", metavar="BUNDLE", help="an installed bundle (bundle.json or its folder)")
    which.add_argument(
        "--preset",
        choices=("ltx-2.3", "ltx-2"),
        help="the official full-size model, from its configs (no weights needed)",
    )
    parser.add_argument(
        "--vram",
        type=float,
        default=None,
        metavar="GB",
        help="the card's memory, e.g. 24 (default: what is free on this machine's GPU)",
    )
    parser.add_argument("--ram", type=float, default=None, metavar="GB", help="host RAM (default: available now)")
    parser.add_argument("--width", type=int, default=768)
    parser.add_argument("--height", type=int, default=512)
    parser.add_argument("--frames", type=int, default=121)
    parser.add_argument("--fps", type=float, default=24.0)
    parser.add_argument(
        "--quantization",
        choices=("none", "fp8-cast"),
        default=None,
        help="default: the bundle's; for a preset fp8-cast (what cards under 80 GB need)",
    )
    parser.add_argument(
        "--tier",
        choices=("resident", "text-encoder-on-demand", "streamed", "disk"),
        default=None,
        help="show this tier instead of the fastest that fits",
    )
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def run(args: argparse.Namespace) -> int:
    import torch

    import ltx_pipelines  # noqa: F401  (ltx-core's import order)
    from backend.memory import detect_budgets, plan_memory, preset_sizes, sizes_from_bundle
    from backend.memory.activations import JobShape
    from shared.errors import UserError
    from shared.video_rules import check_frames, check_size, size_multiple

    check_frames(args.frames)
    if args.vram is None and not torch.cuda.is_available():
        raise UserError(
            "--vram: no CUDA GPU on this machine to measure; say which card to plan for, e.g. --vram 24", field="vram"
        )
    if args.model:
        from backend.bundle import Bundle

        bundle = Bundle.load(args.model)
        sizes = sizes_from_bundle(bundle, args.quantization)
        factor = max(e.reference_downscale_factor for e in bundle.ic_loras.values())
    else:
        sizes = preset_sizes(args.preset, args.quantization or "fp8-cast")
        factor = 2  # the official ref0.5 IC-LoRAs
    check_size(args.width, args.height, size_multiple(factor))
    budgets = detect_budgets("cuda", args.vram, args.ram)
    plan = plan_memory(
        sizes, JobShape(args.width, args.height, args.frames, args.fps, factor), budgets, force_tier=args.tier
    )
    if args.json:
        json.dump(plan.describe(), sys.stdout, indent=2)
        print()
    else:
        print(plan.table())
    return 0
