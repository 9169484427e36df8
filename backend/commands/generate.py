"""`ltx-scene generate`: one job on the engine, no server.

    ltx-scene generate --model BUNDLE --control PACKAGE_OR_VIDEO --prompt TEXT --out OUT.mp4
                       [--seed N] [--width W --height H --frames N --fps R] [--ic-lora NAME] [--kind PASS]
                       [--attention-strength S] [--attention-mask MASK] [--image FIRST_FRAME]
                       [--keyframe FRAME=IMAGE[@STRENGTH] ...]
                       [--lora NAME_OR_PATH=STRENGTH ...] [--preview] [--device auto|cpu|cuda]

Writes OUT.mp4 (H.264 + AAC), OUT.json (the sidecar: every parameter, model hashes, versions) and
OUT.control.mkv (the control video used, lossless). Sizes, frame counts, strengths and LoRAs are
validated before any model loads.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from pathlib import Path

from backend.commands._memory_args import add_memory_arguments, memory_options
from shared.control_kinds import SCENE_PASSES

NAME = "generate"
HELP = "generate a video from a control package or control video (backend only, no server)"

PACKAGE_SUFFIXES = (".npz",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        required=True,
        type=Path,
        help="model bundle: its folder or its bundle.json (see `ltx-scene models list`)",
    )
    parser.add_argument(
        "--control",
        required=True,
        type=Path,
        help="a ControlPackage (.npz) or a control video (mp4/mkv/mov or a folder of frames)",
    )
    parser.add_argument("--prompt", required=True, help="what the video shows")
    parser.add_argument("--out", required=True, type=Path, help="output .mp4 path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--width", type=int, help="output width (default: the package's / the video's)")
    parser.add_argument("--height", type=int, help="output height (default: the package's / the video's)")
    parser.add_argument("--frames", type=int, help="frame count, 8k+1 (default: the package's / the video's)")
    parser.add_argument("--fps", help="frame rate, e.g. 24 or 24000/1001 (default: the package's / the video's)")
    parser.add_argument(
        "--ic-lora",
        metavar="NAME",
        help="the bundle's IC-LoRA by name (`ltx-scene models list` shows them with their passes; default: the "
        "bundle's IC-LoRA for --kind, else for the package's pass)",
    )
    parser.add_argument(
        "--kind",
        choices=SCENE_PASSES,
        help="the scene pass the control is made from (default: the IC-LoRA's, else the package's; a control "
        "video needs --ic-lora or --kind)",
    )
    parser.add_argument(
        "--attention-strength",
        type=float,
        default=1.0,
        help="how strongly the control steers the video, 0..1 (default 1)",
    )
    parser.add_argument(
        "--attention-mask", type=Path, help="grey mask video or image: white = full control, black = none"
    )
    parser.add_argument(
        "--conditioning-strength",
        type=float,
        default=1.0,
        help="denoise strength of the reference tokens, 0..1 (default 1 = kept clean)",
    )
    parser.add_argument("--ic-lora-strength", type=float, default=1.0, help="IC-LoRA strength (default 1)")
    parser.add_argument("--image", type=Path, help="first-frame image (image-to-video)")
    parser.add_argument("--no-package-image", action="store_true", help="ignore the package's first-frame image")
    parser.add_argument(
        "--keyframe",
        action="append",
        default=[],
        metavar="FRAME=IMAGE[@STRENGTH]",
        help="a keyframe look: the image conditions the video at this frame (0 .. frames - 1; at 1, 9, "
        "17, ... it lines up exactly with one latent frame), strength 0..1 (default 1); repeatable",
    )
    parser.add_argument(
        "--lora",
        action="append",
        default=[],
        metavar="NAME_OR_PATH=STRENGTH",
        help="an extra LoRA for stage 1: a name from the bundle or a .safetensors path (repeatable)",
    )
    parser.add_argument("--preview", action="store_true", help="stage 1 only, half size: fast iteration")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    parser.add_argument(
        "--quantization",
        choices=("none", "fp8-cast"),
        help="override the bundle's: fp8-cast stores the transformer's linears in float8",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_memory_arguments(parser, job_size=False)  # the plan is made for this job's own size


def _parse_lora(text: str) -> tuple[str, float]:
    from shared.errors import UserError

    name, sep, value = text.rpartition("=")
    if not sep or not name:
        raise UserError(f"--lora {text!r}: expected NAME_OR_PATH=STRENGTH, e.g. my-style=0.8", field="loras")
    try:
        strength = float(value)
    except ValueError:
        raise UserError(f"--lora {text!r}: strength {value!r} is not a number", field="loras") from None
    if not math.isfinite(strength) or not -2.0 <= strength <= 2.0:
        raise UserError(f"--lora {text!r}: strength must be in [-2, 2]", field="loras")
    return name, strength


def _with_path_loras(bundle, loras: list[tuple[str, float]]):
    """LoRAs given by path become extra bundle entries (named after the file) for this one job."""
    from dataclasses import replace

    from backend.bundle import lora_entry_from_file
    from shared.errors import UserError

    extra = dict(bundle.loras)
    names = []
    for ref, strength in loras:
        if ref in bundle.loras:
            names.append((ref, strength))
            continue
        path = Path(ref).expanduser()
        if not path.is_file():
            have = ", ".join(sorted(bundle.loras)) or "none"
            raise UserError(
                f"--lora {ref!r}: neither a LoRA of the bundle (it has: {have}) nor an existing file", field="loras"
            )
        name = path.stem
        extra[name] = lora_entry_from_file(name, path, strength, field_name="loras")
        names.append((name, strength))
    return replace(bundle, loras=extra), names


def _load_control(path: Path, args):
    """(ControlInput, package-or-None, fps-or-None) from a package or a video."""
    from backend.engine import ControlInput
    from backend.video import read_video
    from shared.errors import UserError
    from shared.package import ControlPackage

    if not path.exists():
        raise UserError(
            f"--control {path}: not found; give a ControlPackage (.npz) or a control video", field="control"
        )
    if path.suffix.lower() in PACKAGE_SUFFIXES:
        pkg = ControlPackage.load(path)
        return ControlInput(package=pkg), pkg, pkg.fps
    frames_cap = args.frames
    video, fps = read_video(path, max_frames=frames_cap, field="control")
    return ControlInput(video=video), None, fps


def run(args: argparse.Namespace) -> int:
    from backend.bundle import Bundle
    from shared.errors import UserError
    from shared.job_spec import GenerationSpec
    from shared.keyframes import parse_keyframe_arg
    from shared.video_rules import check_frames, format_fps, parse_fps

    out = args.out.expanduser()
    if out.suffix.lower() != ".mp4":
        raise UserError(
            f"--out {out}: the output must be an .mp4 file, e.g. {out.with_suffix('.mp4').name}", field="out"
        )
    if args.frames is not None:
        check_frames(args.frames)
    loras = [_parse_lora(t) for t in args.lora]
    keyframes = [parse_keyframe_arg(t) for t in args.keyframe]
    for frame, path, _ in keyframes:
        if not Path(path).expanduser().is_file():
            raise UserError(f"--keyframe {frame}={path}: the image is not found", field="keyframes")
    for flag, value in (("--image", args.image), ("--attention-mask", args.attention_mask)):
        if value is not None and not value.exists():
            raise UserError(f"{flag} {value}: not found", field=flag.strip("-"))

    bundle = Bundle.load(args.model)
    bundle, lora_names = _with_path_loras(bundle, loras)
    control, pkg, source_fps = _load_control(args.control.expanduser(), args)

    fps = args.fps or (format_fps(source_fps) if source_fps is not None else None)
    if fps is None:
        raise UserError("--fps: a folder of frames has no frame rate; pass --fps (e.g. 24)", field="fps")
    spec = GenerationSpec(
        prompt=args.prompt,
        seed=args.seed,
        width=args.width,
        height=args.height,
        frames=args.frames,
        fps=format_fps(parse_fps(fps)),
        control_kind=args.kind,
        ic_lora=args.ic_lora,
        attention_strength=args.attention_strength,
        conditioning_strength=args.conditioning_strength,
        ic_lora_strength=args.ic_lora_strength,
        loras=[{"name": n, "strength": s} for n, s in lora_names],
        preview=args.preview,
        use_first_frame=not args.no_package_image,
        keyframes=[{"frame": frame, "strength": strength} for frame, _, strength in keyframes],
    )

    from backend.engine import Engine
    from backend.engine.plan import make_plan

    first = make_plan(spec, control, bundle)  # sizes resolved from the spec / package / video; keyframe frames
    engine = Engine(
        bundle,
        device=args.device,
        quantization=args.quantization,
        memory=memory_options(args, first.width, first.height, first.frames),
        tune_host_malloc=True,
    )
    plan = engine.plan(spec, control)  # every check, before any model loads

    if args.attention_mask is not None or args.image is not None or keyframes:
        from backend.video import load_image, load_mask_video

        if args.attention_mask is not None:
            control.mask = load_mask_video(args.attention_mask, plan.frames, plan.stage1_width, plan.stage1_height)
        if args.image is not None:
            control.first_frame = load_image(args.image, plan.width, plan.height)
        control.keyframes = [_keyframe_image(Path(path).expanduser(), plan) for _, path, _ in keyframes]
        plan = engine.plan(spec, control)

    if bundle.tiny:
        print("note: the tiny test model makes noise, not video; see `ltx-scene models download`", file=sys.stderr)
    print(
        f"IC-LoRA {plan.ic_lora_key} on the {plan.kind} pass, {plan.out_width}x{plan.out_height}, {plan.frames} frames at "
        f"{format_fps(plan.fps)} fps, seed {plan.seed}{' (preview: stage 1 only)' if plan.preview else ''}, "
        f"on {engine.device}",
        file=sys.stderr,
    )
    print(engine.memory_plan.table(), file=sys.stderr)

    work = out.parent / f".{out.stem}.ltx-scene-work"
    bar = _ProgressBar(disabled=args.quiet)
    try:
        result = engine.run(spec, control, work, on_progress=bar.update)
    finally:
        bar.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    sidecar = out.with_suffix(".json")
    control_out = out.with_name(out.stem + ".control.mkv")
    result.video_path.replace(out)
    result.control_video_path.replace(control_out)
    _rewrite_outputs(result.sidecar_path, sidecar, out, control_out)
    shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {out} ({result.width}x{result.height}, {result.frames} frames), {sidecar.name}, {control_out.name}")
    return 0


def _keyframe_image(path: Path, plan):
    """A keyframe image at the job's size, with the SHA-256 of its file (the sidecar records it)."""
    import hashlib

    from backend.engine import KeyframeImage
    from backend.video import load_image

    data = path.read_bytes()
    return KeyframeImage(load_image(data, plan.width, plan.height, field="keyframes"), hashlib.sha256(data).hexdigest())


def _rewrite_outputs(src: Path, dst: Path, video: Path, control: Path) -> None:
    import json

    record = json.loads(src.read_text())
    record["outputs"] = {"video": video.name, "control": control.name}
    dst.write_text(json.dumps(record, indent=2) + "\n")
    src.unlink()


class _ProgressBar:
    """A tqdm bar over the job's overall progress, labelled with the stage and step."""

    def __init__(self, disabled: bool):
        from tqdm import tqdm

        self._bar = tqdm(total=1000, disable=disabled, unit="‰", bar_format="{l_bar}{bar}| {postfix}", file=sys.stderr)
        self._n = 0

    def update(self, event) -> None:
        n = int(round(event.progress * 1000))
        if n > self._n:
            self._bar.update(n - self._n)
            self._n = n
        eta = "" if event.eta_s is None else f", ~{event.eta_s:.0f} s left"
        step = f" {event.step}/{event.total}" if event.total > 1 else ""
        self._bar.set_description(f"{event.stage}{step}", refresh=False)
        self._bar.set_postfix_str(f"{event.elapsed_s:.1f} s{eta}")

    def close(self) -> None:
        self._bar.close()
