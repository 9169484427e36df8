"""`ltx-scene demo --out DIR`: the whole path once, from an empty Blender scene to strips in the VSE.

Steps (each prints a line; long ones show a progress bar):
1. model bundle: --model, else $LTX_SCENE_MODEL, else an installed real bundle (`ltx-scene models`),
   else the tiny test bundle made into DIR/tiny-bundle (and it says plainly that its output is noise
   and how to get the real weights);
2. the real `ltx-scene serve` on a free loopback port, data in DIR/server;
3. Blender (the bpy module, in a child process: `python -m tools.demo_session`): builds the
   procedural demo scene, captures every control kind into DIR/controls/<kind>/, runs the add-on's
   Generate operator for one control (pose by default) so the result lands as movie + sound strips,
   saves DIR/demo.blend;
4. control videos (lossless .mov per kind; canny edges from the RGB render) and DIR/contact_sheet.png:
   each control side by side with the output, for a few frames, plus a "camera anchors" row (tracks
   of anchor points on the static set: the camera's move as motion tracks; captured only);
5. stops the server and prints where everything is (also in DIR/demo_summary.json).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import traceback
from pathlib import Path

from shared.control_kinds import CONTROL_KINDS

NAME = "demo"
HELP = "build the demo scene, capture every control, generate, import the strips; prints where the files are"

KINDS = CONTROL_KINDS
# Captures beyond one per kind, in the order of their contact-sheet rows: folder -> row name.
EXTRA_ROWS = {"camera_anchors": "camera anchors"}
# Sizes: multiples of 128 (the official IC-LoRAs are ref0.5: factor 2, two stages), frames 8k+1.
# The tiny model on a 2-core CPU: 384x256, 49 frames takes about 2 minutes end to end (README).
TINY_DEFAULT = (384, 256, 49)
REAL_DEFAULT = (768, 512, 121)
STEPS = 5
# Everything the demo writes directly into DIR (removed at the start of a new run; DIR/tiny-bundle stays).
OWNED = (
    "controls",
    "generated",
    "server",
    "logs",
    "demo.blend",
    "demo.blend1",
    "demo.mp4",
    "contact_sheet.png",
    "demo_summary.json",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, default=Path("demo_output"), metavar="DIR", help="output folder (default ./demo_output)"
    )
    parser.add_argument(
        "--model",
        metavar="BUNDLE",
        help="model bundle (bundle.json or its folder); default: $LTX_SCENE_MODEL, an installed "
        "real bundle, else the tiny test model (noise)",
    )
    parser.add_argument(
        "--control",
        default="pose",
        choices=KINDS,
        help="control to generate from (all four are captured; default pose)",
    )
    parser.add_argument(
        "--width",
        type=int,
        help=f"generation width, a multiple of 128 (default {TINY_DEFAULT[0]} "
        f"with the tiny model, {REAL_DEFAULT[0]} with real weights)",
    )
    parser.add_argument(
        "--height",
        type=int,
        help=f"generation height, a multiple of 128 (default {TINY_DEFAULT[1]} / {REAL_DEFAULT[1]})",
    )
    parser.add_argument("--frames", type=int, help=f"frame count, 8k+1 (default {TINY_DEFAULT[2]} / {REAL_DEFAULT[2]})")
    parser.add_argument("--prompt", help="the prompt (default: describes the demo scene)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="where the server runs the model: auto, cpu, cuda")
    parser.add_argument(
        "--server-timeout",
        type=float,
        default=None,
        help="seconds to wait for the server to load the model (default 300 tiny, 3600 real)",
    )


class Steps:
    """Numbered step lines, and which step is running (for the failure message)."""

    def __init__(self, total: int):
        self.total, self.number, self.name = total, 0, ""
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}
        self._t = self.started

    def begin(self, name: str) -> None:
        now = time.perf_counter()
        if self.name:
            self.timings[self.name] = round(now - self._t, 1)
        self.number += 1
        self.name, self._t = name, now
        print(f"[{self.number}/{self.total}] {name}", flush=True)

    def end(self) -> None:
        if self.name:
            self.timings[self.name] = round(time.perf_counter() - self._t, 1)
            self.name = ""

    @property
    def label(self) -> str:
        return f"[{self.number}/{self.total}] {self.name}"


ADVICE = {
    "model bundle": "check the bundle path (`ltx-scene models list` shows what is installed), or unset "
    "LTX_SCENE_MODEL to use the tiny test model",
    "start the backend server": "see the server log named above; `ltx-scene serve --model BUNDLE` run by hand "
    "shows the same error",
    "Blender: scene, controls, generation, strips": "see the Blender log named above; `make setup` reinstalls "
    "bpy; a smaller --width/--height/--frames needs less memory",
    "control videos and contact sheet": "check free disk space in the output folder",
}


def resolve_size(args, bundle) -> tuple[int, int, int, int]:
    """(width, height, frames, reference factor), checked against the bundle's IC-LoRA."""
    from shared.errors import UserError
    from shared.video_rules import check_frames, check_size

    if args.control not in bundle.control_kinds:
        raise UserError(
            f"--control {args.control}: the bundle {bundle.name} has no IC-LoRA for it; it has "
            f"{', '.join(bundle.control_kinds)}",
            "control",
        )
    default = TINY_DEFAULT if bundle.tiny else REAL_DEFAULT
    width = args.width or default[0]
    height = args.height or default[1]
    frames = args.frames or default[2]
    factor = bundle.reference_downscale_factor(args.control)
    multiple = bundle.size_multiple(args.control)
    check_size(width, height, multiple)
    check_frames(frames)
    return width, height, frames, factor


def clean_previous(out: Path) -> None:
    for name in OWNED:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def run(args: argparse.Namespace) -> int:
    from shared.errors import UserError

    out = args.out.expanduser().resolve()
    steps = Steps(STEPS)
    running: dict = {}  # "server": the ServerProcess while it runs
    try:
        return _run(args, out, steps, running)
    except UserError as exc:
        raise UserError(
            f"demo failed at step {steps.label}: {exc}\nWhat to do: {ADVICE.get(steps.name, 'see the message above')}",
            getattr(exc, "field", None),
        ) from None
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a bug: show it, then one clear line
        traceback.print_exc()
        raise UserError(
            f"demo failed at step {steps.label} with an internal error: {exc!r} (traceback above); please report it"
        ) from None
    finally:
        server = running.pop("server", None)
        if server is not None:
            server.stop()


def _run(args, out: Path, steps: Steps, running: dict) -> int:
    from shared.errors import UserError

    from backend.demo.blender_session import run_session, session_command
    from backend.demo.bundle_choice import choose_bundle
    from backend.demo.outputs import CONTACT_SHEET, build_contact_sheet, finish_controls, link_result
    from backend.demo.server_process import ServerProcess

    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file; give a folder", "out")
    out.mkdir(parents=True, exist_ok=True)
    print(f"LTX Scene Control demo -> {out}", flush=True)

    # 1. bundle
    steps.begin("model bundle")
    chosen = choose_bundle(args.model, out, progress=lambda m: print(f"    {m}", flush=True))
    bundle = chosen.bundle
    print(f"    {bundle.name} ({bundle.architecture}) from {bundle.path} [{chosen.how}]", flush=True)
    if chosen.tiny:
        print(f"    NOTE: {chosen.explanation()}", flush=True)
    width, height, frames, factor = resolve_size(args, bundle)
    print(
        f"    generating {width}x{height}, {frames} frames at 24 fps from the {args.control} control "
        f"(IC-LoRA reference factor {factor})",
        flush=True,
    )
    clean_previous(out)  # only now: a refused option leaves the previous run's files alone
    logs = out / "logs"
    logs.mkdir()

    # 2. server
    steps.begin("start the backend server")
    server = ServerProcess(bundle.path, out / "server", logs / "server.log", device=args.device)
    running["server"] = server
    timeout = args.server_timeout or (300.0 if bundle.tiny else 3600.0)
    print(f"    ltx-scene serve on {server.url} (data {server.data_dir}, log {server.log_path})", flush=True)
    last = [0.0]

    def waiting(elapsed, state):
        if elapsed - last[0] >= 10:
            last[0] = elapsed
            print(f"    ... {elapsed:.0f} s, engine {state}", flush=True)

    server.start(timeout, waiting)
    print(
        f"    ready: device {server.health.get('device')}, torch {server.health.get('torch')}, "
        f"ltx-core {server.health.get('ltx_core')}"
        f"{', tiny test model' if server.health.get('tiny_model') else ''}",
        flush=True,
    )

    # 3. Blender
    steps.begin("Blender: scene, controls, generation, strips")
    blender_log = logs / "blender.log"
    print(f"    log: {blender_log}", flush=True)
    cmd = session_command(out, server, args.control, width, height, frames, factor, args.prompt, args.seed)
    session = run_session(cmd, server, blender_log)

    # 4. outputs
    steps.begin("control videos and contact sheet")
    from backend.video import probe_video, read_video

    controls = {kind: session["controls"][kind] for kind in (*KINDS, *EXTRA_ROWS) if kind in session["controls"]}
    frames_by_kind = finish_controls(controls, 24)
    frames_by_row = {EXTRA_ROWS.get(kind, kind): frames for kind, frames in frames_by_kind.items()}
    video = Path(session["generation"]["video"])
    output_frames, _ = read_video(video)
    sheet, indices = build_contact_sheet(frames_by_row, output_frames, out / CONTACT_SHEET)
    demo_mp4 = link_result(video, out / "demo.mp4")
    info = probe_video(video)

    # 5. stop
    steps.begin("stop the server")
    code = running.pop("server").stop()
    steps.end()

    summary = {
        "out": str(out),
        "bundle": str(bundle.path),
        "bundle_how": chosen.how,
        "tiny_model": bundle.tiny,
        "control": args.control,
        "width": width,
        "height": height,
        "frames": frames,
        "seed": args.seed,
        "blend": session["blend"],
        "video": str(video),
        "demo_mp4": str(demo_mp4),
        "video_info": info.to_json(),
        "contact_sheet": str(sheet),
        "contact_sheet_frames": indices,
        "contact_sheet_rows": list(frames_by_row) + ["output"],
        "controls": controls,
        "strips": session["generation"]["strips"],
        "job_id": session["generation"].get("job_id"),
        "server_log": str(server.log_path),
        "blender_log": str(blender_log),
        "server_exit": code,
        "timings_s": {
            **steps.timings,
            **{f"blender/{k}": v for k, v in session["timings"].items()},
            "total": round(time.perf_counter() - steps.started, 1),
        },
    }
    (out / "demo_summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    print_summary(summary, out)
    if bundle.tiny:
        print(f"\nNOTE: {chosen.explanation()}", flush=True)
    return 0


def print_summary(s: dict, out: Path) -> None:
    def rel(p) -> str:
        p = Path(p)
        try:
            return str(p.relative_to(Path.cwd()))
        except ValueError:
            return str(p)

    vi = s["video_info"]
    print(f"\nDone in {s['timings_s']['total']:.0f} s. Everything is in {rel(out)}/:")
    print(
        f"  Blender file     {rel(s['blend'])}  (scene 'LTX Demo'; the result is in the Video Sequencer: "
        + ", ".join(f"{st['type'].lower()} '{st['name']}' channel {st['channel']}" for st in s["strips"])
        + ")"
    )
    print(
        f"  generated video  {rel(s['demo_mp4'])}  ({vi['width']}x{vi['height']}, {vi['frames']} frames, "
        f"{vi['fps']} fps, {vi['video_codec']} + {vi['audio_codec']} audio; the strips use {rel(s['video'])})"
        + ("  NOISE: tiny test model" if s["tiny_model"] else "")
    )
    print(
        f"  contact sheet    {rel(s['contact_sheet'])}  (rows {', '.join(s['contact_sheet_rows'])}; "
        f"frames {', '.join(map(str, s['contact_sheet_frames']))})"
    )
    print("  control videos   (lossless PNG frames, a lossless .mov and the ControlPackage per kind)")
    for kind, c in s["controls"].items():
        extra = f"; render in {rel(c['rgb_frames_dir'])}/" if c.get("rgb_frames_dir") else ""
        print(
            f"    {kind:<14} {rel(c['video'])}  {rel(c['frames_dir'])}/ ({c['frames']} frames {c['width']}x"
            f"{c['height']}{extra})  {rel(c['package'])}"
        )
    print(f"  logs             {rel(s['server_log'])}, {rel(s['blender_log'])}")
    print(f"  summary          {rel(out / 'demo_summary.json')}")
    t = s["timings_s"]
    print("  timings          " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items() if k != "total"))
    sys.stdout.flush()
