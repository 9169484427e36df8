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
from blender_addon.shared.errors import UserError
from tools.export_training_args import add_export_training_arguments


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.export_training", description="Write LTX trainer pairs.")
    add_export_training_arguments(p, several_files=False)
    return p


def open_scene(path: str, name: str | None):
    import bpy

    if not os.path.isfile(path):
        raise UserError(f"scene: no such file: {path}; give the path of a .blend file", "scene")
    bpy.ops.wm.open_mainfile(filepath=os.path.abspath(path), load_ui=False)
    scene = bpy.data.scenes.get(name) if name else bpy.context.scene
    if scene is None:
        raise UserError(
            f"scene: '{name}' is not in {path}; scenes: {', '.join(s.name for s in bpy.data.scenes)}", "scene"
        )
    if scene != bpy.context.scene:
        bpy.context.window.scene = scene
    return scene


def export(args) -> dict:
    from blender_addon.capture import CaptureSettings
    from blender_addon.training import TrainingSettings
    from blender_addon.training.export import export_training
    from tools.headless import default_track_targets

    scene = open_scene(args.scene_file, args.scene)
    capture = CaptureSettings(
        kind=args.control,
        depth_engine=args.depth_engine,
        rgb_engine=args.rgb_engine,
        rig_preset=args.rig_preset,
        hands=not args.no_hands,
        face=not args.no_face,
        face_occlusion=args.face_occlusion,
        canny=args.canny,
        mask_objects=tuple(args.mask),
        mask_collection=args.mask_collection,
        track_targets=tuple(args.track),
        camera_anchors=args.camera_anchors,
        anchor_spacing=args.anchor_spacing,
        anchor_reseed=not args.no_anchor_reseed,
    )
    if args.control == "tracks" and not capture.track_targets:
        capture.track_targets = default_track_targets(scene, list(range(scene.frame_start, scene.frame_end + 1)))
        if not capture.track_targets and not capture.camera_anchors:
            raise UserError(
                "tracks: nothing to track: no object is marked 'ltx_track' and none moves; name targets with "
                "--track OBJECT or --track ARMATURE:BONE, or show the camera's move with --camera-anchors N",
                "track",
            )
        if capture.track_targets:
            msg.emit(msg.NOTE, f"tracking {', '.join(capture.track_targets)}")
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
