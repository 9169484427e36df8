"""`ltx-scene export-training SCENE.blend [...] --control KIND --out DIR [--caption TEXT]`: training pairs.

For each .blend (in order) runs `python -m tools.export_training` in a child with this interpreter
(bpy never enters backend/), which renders every shot's target with the scene's engine, captures
the control, writes both videos and merges one row per shot into DIR/dataset.jsonl (several files,
scenes or runs append to one dataset; a re-exported shot replaces its row). Then the whole dataset
is checked here the way the LTX trainer reads it, decoding each video with PyAV as the trainer does
(paths resolved next to the dataset file, frame counts 8k+1, sizes multiples of 32, target and
reference of one shape), and the `process_dataset.py` command to run next is printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "export-training"
HELP = "write IC-LoRA training pairs (target render + control video) and dataset.jsonl in the LTX trainer's format"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tools.export_training_args import add_export_training_arguments

    add_export_training_arguments(parser, several_files=True)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def child_command(args, scene_file: str) -> list[str]:
    from tools.export_training_args import child_arguments

    return [sys.executable, "-m", "tools.export_training", *child_arguments(args, scene_file)]


def probe_shape(path) -> tuple[int, int, int]:
    """(frames, width, height) as the trainer sees the file: the frame count from the stream header
    when it has one (the trainer's own count), else by decoding; the size from the first decoded
    frame (a file that does not decode fails here, not hours into preprocessing)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = container.decode(video=0)
        first = next(decoded)
        frames = stream.frames if stream.frames > 0 else 1 + sum(1 for _ in decoded)
        return int(frames), int(first.width), int(first.height)


def check_written_dataset(dataset_file) -> list[dict]:
    from shared.training_dataset import check_dataset

    return check_dataset(dataset_file, probe=lambda path: probe_shape(path))


def run(args: argparse.Namespace) -> int:
    from backend.blender_child import run_capture_child
    from shared.errors import UserError
    from shared.training_dataset import DATASET_NAME, resolution_buckets

    for scene_file in args.scene_files:
        if not Path(scene_file).is_file():
            raise UserError(f"export-training: no such file: {scene_file}; give .blend files", "scene")
    args.out = str(Path(args.out).resolve())
    for scene_file in args.scene_files:
        result = run_capture_child(
            child_command(args, str(Path(scene_file).resolve())),
            command=NAME,
            desc=f"{Path(scene_file).name} {args.control}",
            quiet=args.quiet,
            postfix_chars=60,
        )
        print(
            f"{scene_file}: {result['shots']} shot(s) at {result['width']}x{result['height']} "
            f"({result['engine']}), {result['added']} row(s) added, {result['replaced']} replaced"
        )
    dataset = Path(args.out) / DATASET_NAME
    shapes = check_written_dataset(dataset)
    buckets = resolution_buckets((s["video"][1], s["video"][2], s["video"][0]) for s in shapes)
    print(f"{dataset}: {len(shapes)} row(s), every one as the LTX trainer reads it (buckets {buckets})")
    print(
        "next, in the LTX-2 repository's packages/ltx-trainer:\n"
        f'  uv run python scripts/process_dataset.py {dataset} --resolution-buckets "{buckets}" '
        "--model-path CHECKPOINT.safetensors --text-encoder-path GEMMA_DIR"
        + (f" --reference-downscale-factor {args.reference_factor}" if args.reference_factor > 1 else "")
    )
    if ";" in buckets:
        print("note: several buckets: the trainer then needs optimization.batch_size: 1", file=sys.stderr)
    return 0
