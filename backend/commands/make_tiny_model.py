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
    parser.add_argument(
        "--extra-ic-lora",
        action="append",
        default=[],
        metavar="NAME=PASS[:FACTOR]",
        help="add a random IC-LoRA named NAME fed by the scene pass PASS (render, depth, normal, pose, tracks, "
        "canny, mask), reference factor FACTOR (default 2); repeatable. A stand-in for a studio's own IC-LoRA",
    )


def parse_extra_ic_loras(texts: list[str]) -> dict[str, tuple[str, int]]:
    """`NAME=PASS[:FACTOR]` flags -> {name: (pass, factor)} (checked again by the builder)."""
    from shared.errors import UserError

    out: dict[str, tuple[str, int]] = {}
    for text in texts:
        name, sep, rest = text.partition("=")
        scene_pass, _, factor = rest.partition(":")
        if not sep or not name or not scene_pass:
            raise UserError(f"--extra-ic-lora {text!r}: expected NAME=PASS or NAME=PASS:FACTOR, e.g. blockout=render")
        try:
            value = int(factor) if factor else 2
        except ValueError:
            raise UserError(f"--extra-ic-lora {text!r}: FACTOR {factor!r} is not an integer") from None
        if name in out:
            raise UserError(f"--extra-ic-lora: {name!r} is given twice")
        out[name] = (scene_pass, value)
    return out


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def run(args: argparse.Namespace) -> int:
    from shared.errors import UserError

    if args.seed < 0:  # before the heavy imports: a typo is answered at once
        raise UserError(f"--seed: expected a non-negative integer, got {args.seed}", "seed")
    from backend.bundle import Bundle
    from backend.tiny_model import make_tiny_model

    extras = parse_extra_ic_loras(args.extra_ic_lora)
    started = time.perf_counter()
    bundle_path = make_tiny_model(
        args.dir,
        architecture=args.architecture,
        seed=args.seed,
        progress=lambda message: print(f"  {message}", flush=True),
        extra_ic_loras=extras,
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
    for name in extras:
        entry = bundle.ic_loras[name]
        print(
            f"IC-LoRA {name!r} on the {entry.scene_pass} pass: {entry.path.name} (reference_downscale_factor "
            f"{entry.reference_downscale_factor}: sizes must be multiples of {bundle.size_multiple(name)})."
        )
    print(
        "This model is randomly initialized: everything generated with it is NOISE. It exists so the real "
        "loading and sampling code runs end to end on a CPU in seconds. For real video run "
        "`ltx-scene models download ltx-2.3` (about 70 GB, needs a GPU with enough memory) and use that bundle."
    )
    return 0
