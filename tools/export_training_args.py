"""The arguments of export-training, defined once for both sides (no bpy here):
`ltx-scene export-training` (backend/commands/export_training.py) and the child it runs per .blend,
`python -m tools.export_training` (tools/export_training.py)."""

from __future__ import annotations

import argparse

from shared.control_kinds import SCENE_PASSES
from shared.raster.canny import CANNY_PRESETS


def add_export_training_arguments(parser: argparse.ArgumentParser, several_files: bool) -> None:
    if several_files:
        parser.add_argument("scene_files", nargs="+", metavar="SCENE.blend", help="one or more .blend files")
    else:
        parser.add_argument("scene_file", metavar="SCENE.blend")
    parser.add_argument("--control", required=True, choices=SCENE_PASSES, help="the control (reference) video")
    parser.add_argument("--out", required=True, metavar="DIR", help="dataset folder: DIR/dataset.jsonl and the videos")
    parser.add_argument("--caption", help="caption of every row (default: the scene's prompt in the LTX panel)")
    parser.add_argument("--scene", help="scene name inside the file (default: its active scene)")
    parser.add_argument(
        "--shots",
        default="range",
        choices=("range", "markers"),
        help="one shot for the scene's frame range (default), or one per pair of timeline markers",
    )
    parser.add_argument("--width", type=int, help="dataset width (default: the scene's; snapped to multiples of 64)")
    parser.add_argument("--height", type=int, help="dataset height (default: the scene's; snapped)")
    parser.add_argument(
        "--reference-factor",
        type=int,
        default=1,
        help="the reference downscale factor you will train with (sizes snap to 64 x it)",
    )
    parser.add_argument(
        "--render-engine",
        default="SCENE",
        choices=("SCENE", "BLENDER_WORKBENCH", "CYCLES"),
        help="the target: the scene's own engine and look (default), Workbench or Cycles",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=16,
        help="Cycles samples where the target renders outside the scene's own settings (--render-engine CYCLES, or "
        "the fallback when the scene's engine cannot render here)",
    )
    parser.add_argument("--track", action="append", default=[], metavar="TARGET", help="tracks: object or 'Arm:Bone'")
    parser.add_argument(
        "--camera-anchors", type=int, default=0, metavar="N", help="tracks: up to N anchor tracks on static geometry"
    )
    parser.add_argument("--anchor-spacing", type=float, default=0.0, metavar="PX", help="tracks: anchor spacing")
    parser.add_argument("--no-anchor-reseed", action="store_true", help="tracks: keep the first anchors only")
    parser.add_argument("--mask", action="append", default=[], metavar="OBJECT", help="object for video_mask")
    parser.add_argument("--mask-collection", help="collection for video_mask")
    parser.add_argument("--rig-preset", default="auto", choices=("auto", "metarig", "rigify", "mixamo"))
    parser.add_argument("--depth-engine", default="AUTO", choices=("AUTO", "BLENDER_WORKBENCH", "CYCLES"))
    parser.add_argument("--rgb-engine", default="BLENDER_WORKBENCH", choices=("BLENDER_WORKBENCH", "CYCLES"))
    parser.add_argument("--no-hands", action="store_true", help="pose: no hand keypoints")
    parser.add_argument("--no-face", action="store_true", help="pose: no face landmarks")
    parser.add_argument("--face-occlusion", action="store_true", help="pose: drop face landmarks the head hides")
    parser.add_argument("--canny", default="union-2.3", choices=tuple(CANNY_PRESETS), help="canny settings")


def child_arguments(args, scene_file: str) -> list[str]:
    """The child's argument list for one .blend, from the parsed parent arguments."""
    out = [scene_file, "--control", args.control, "--out", args.out, "--shots", args.shots]
    out += ["--reference-factor", str(args.reference_factor), "--rig-preset", args.rig_preset]
    out += ["--depth-engine", args.depth_engine, "--rgb-engine", args.rgb_engine, "--canny", args.canny]
    out += ["--render-engine", args.render_engine, "--samples", str(args.samples)]
    out += ["--camera-anchors", str(args.camera_anchors), "--anchor-spacing", str(args.anchor_spacing)]
    for flag in ("caption", "scene", "width", "height", "mask_collection"):
        value = getattr(args, flag)
        if value is not None:
            out += [f"--{flag.replace('_', '-')}", str(value)]
    for flag in ("no_hands", "no_face", "face_occlusion", "no_anchor_reseed"):
        if getattr(args, flag):
            out.append(f"--{flag.replace('_', '-')}")
    for t in args.track:
        out += ["--track", t]
    for m in args.mask:
        out += ["--mask", m]
    return out
