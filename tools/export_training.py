"""Training pairs from a .blend with the bpy module (no Blender UI):

    python -m tools.export_training SCENE.blend --control KIND --out DIR [--caption TEXT --scene NAME
        --shots range|markers --width W --height H --reference-factor F --render-engine E --samples N
        --track T ... --mask OBJ ... --mask-collection NAME ...]

Runs the add-on's exporter (blender_addon/training/export.py): per shot the target render (mp4), the
control video (lossless mov) and, with a mask, the mask video, and merges one row per shot into
DIR/dataset.jsonl. Speaks shared/child_messages.py's line protocol (`LTX_PROGRESS`, `LTX_NOTE`,
`LTX_RESULT`; a user error is `LTX_ERROR` on stderr and exit status 2) for `ltx-scene export-training`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from blender_addon.shared import child_messages as msg
from tools.export_training_args import add_export_training_arguments


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.export_training", description="Write LTX trainer pairs.")
    add_export_training_arguments(p, several_files=False)
    return p


def export(args) -> dict:
    from blender_addon.capture import CaptureSettings
    from blender_addon.training import TrainingSettings
    from blender_addon.training.export import export_training
    from tools.headless import capture_options, default_tracks_or_error, open_scene

    scene = open_scene(args.scene_file, args.scene)
    capture = CaptureSettings(**capture_options(args))
    if args.control == "tracks" and not capture.track_targets:
        frames = list(range(scene.frame_start, scene.frame_end + 1))
        capture.track_targets = default_tracks_or_error(scene, frames, capture.camera_anchors)
    settings = TrainingSettings(
        out_dir=args.out,
        capture=capture,
        caption=args.caption or "",
        shots=args.shots,
        width=args.width,
        height=args.height,
        reference_factor=args.reference_factor,
        engine=args.render_engine,
        samples=args.samples,
        source=os.path.abspath(args.scene_file),
    )
    summary = export_training(
        scene,
        settings,
        progress=lambda f, m: msg.emit(msg.PROGRESS, msg.progress_payload(f, m)),
        note=lambda text: msg.emit(msg.NOTE, text),
    )
    msg.emit(msg.RESULT, json.dumps(summary, sort_keys=True))
    return summary


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return msg.run_main(lambda: export(args))


if __name__ == "__main__":
    sys.exit(main())
