"""The arguments of render-controls, defined once for both sides (no bpy here):
`ltx-scene render-controls` (backend/commands/render_controls.py) and the child it runs,
`python -m tools.headless render-controls` (tools/headless.py)."""

from __future__ import annotations

import argparse

from shared.control_kinds import SCENE_PASSES


def add_render_controls_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scene_file", metavar="SCENE.blend")
    parser.add_argument(
        "--control",
        required=True,
        choices=SCENE_PASSES,
        help="the scene pass to capture (the one the IC-LoRA you will use follows; `ltx-scene models list`)",
    )
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--width", type=int, help="generation width (default: the scene's, snapped)")
    parser.add_argument("--height", type=int, help="generation height (default: the scene's, snapped)")
    parser.add_argument("--frames", type=int, help="frame count, snapped to 8k+1 (default: the scene range)")
    parser.add_argument("--frame-start", type=int)
    parser.add_argument("--scene", help="scene name inside the file (default: its active scene)")
    parser.add_argument(
        "--track",
        action="append",
        default=[],
        metavar="TARGET",
        help="object or 'Armature:Bone' to track (repeatable; default: marked or moving objects)",
    )
    parser.add_argument(
        "--camera-anchors",
        type=int,
        default=0,
        metavar="N",
        help="tracks: also follow up to N anchor points on the static geometry the camera sees, so the "
        "camera's move shows as tracks (0: off; 64 is a good start)",
    )
    parser.add_argument(
        "--anchor-spacing",
        type=float,
        default=0.0,
        metavar="PX",
        help="tracks: pixels between camera anchors when they are placed (default 0: from N and the size)",
    )
    parser.add_argument(
        "--no-anchor-reseed",
        action="store_true",
        help="tracks: keep the first camera anchors only (no new ones where the frame empties)",
    )
    parser.add_argument(
        "--mask",
        action="append",
        default=[],
        metavar="OBJECT",
        help="object whose silhouette becomes the attention mask (repeatable)",
    )
    parser.add_argument("--mask-collection")
    parser.add_argument("--rig-preset", default="auto", choices=("auto", "metarig", "rigify", "mixamo"))
    parser.add_argument("--depth-engine", default="AUTO", choices=("AUTO", "BLENDER_WORKBENCH", "CYCLES"))
    parser.add_argument("--rgb-engine", default="BLENDER_WORKBENCH", choices=("BLENDER_WORKBENCH", "CYCLES"))
    parser.add_argument("--depth-size", default="reference", choices=("reference", "full"))
    parser.add_argument(
        "--render-engine",
        default="SCENE",
        choices=("SCENE", "BLENDER_WORKBENCH", "CYCLES"),
        help="render pass: the scene's own engine and settings (default), Workbench (the playblast look) or "
        "Cycles with few samples",
    )
    parser.add_argument("--no-hands", action="store_true", help="pose: no hand keypoints")
    parser.add_argument("--no-face", action="store_true", help="pose: no face landmarks")
    parser.add_argument(
        "--face-occlusion",
        action="store_true",
        help="pose: drop face landmarks the character's own meshes hide (ray casts)",
    )
    parser.add_argument(
        "--canny",
        default="union-2.3",
        choices=("union-2.3", "trainer"),
        help="canny settings: the official LTX-2.3 Union workflow's (default) or the trainer's",
    )
