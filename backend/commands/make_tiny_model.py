"""`ltx-scene make-tiny-model DIR`: write the tiny, randomly initialized test bundle."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

NAME = "make-tiny-model"
HELP = "write a tiny random model bundle in the official format (for tests and the demo; its output is noise)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", metavar="DIR", type=Path, help="folder to write the bundle into (created if missing)")
    parser.add_argument(
        "--architecture",
        choices=("ltx-2.3", "ltx-2"),
        default="ltx-2.3",
        help="LTX-2.3 (22B-style, default) or LTX-2 (19B-style) layout",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed writes the same bytes")


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def run(args: argparse.Namespace) -> int:
    from shared.errors import UserError

    if args.seed < 0:  # before the heavy imports: a typo is answered at once
        raise UserError(f"--seed: expected a non-negative integer, got {args.seed}", "seed")
    from backend.bundle import Bundle
    from backend.tiny_model import make_tiny_model

    started = time.perf_counter()
    bundle_path = make_tiny_model(
        args.dir,
        architecture=args.architecture,
        seed=args.seed,
        progress=lambda message: print(f"  {message}", flush=True),
    )
    bundle = Bundle.load(bundle_path)  # the same checks every user of the bundle runs
    folder = bundle_path.parent
    print(f"Tiny {bundle.architecture} model bundle (seed {args.seed}) written to {folder}:")
    for path in (
        bundle.checkpoint,
        bundle.upsampler,
        *sorted({e.path for e in bundle.ic_loras.values()}),
        bundle.gemma_root,
        bundle_path,
    ):
        print(f"  {path.relative_to(folder)}{'/' if path.is_dir() else ''}  {_size(path) / 1e6:.2f} MB")
    print(f"Total {_size(folder) / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s.")
    print(
        "IC-LoRA for depth, pose, canny and tracks: "
        f"{bundle.ic_loras['depth'].path.name} (reference_downscale_factor "
        f"{bundle.ic_loras['depth'].reference_downscale_factor}: sizes must be multiples of "
        f"{bundle.size_multiple('depth')})."
    )
    print(
        "This model is randomly initialized: everything generated with it is NOISE. It exists so the real "
        "loading and sampling code runs end to end on a CPU in seconds. For real video run "
        "`ltx-scene models download ltx-2.3` (about 70 GB, needs a GPU with enough memory) and use that bundle."
    )
    return 0
