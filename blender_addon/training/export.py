"""A scene's shots -> training pairs in the LTX trainer's format (format rules: shared/training_dataset.py).

Per shot (the scene's frame range, or each pair of timeline markers), at one size snapped to the
trainer's buckets and a frame count cut to 8k+1:
1. the target: the scene rendered in its own look by capture's renderer (`target_render.py`) -> H.264 mp4;
2. the control: the same capture as Generate (`capture_package`, depth at the full size) made into
   the frames the engine feeds the IC-LoRA (`reference_frames`), at the target's size -> lossless mov;
3. with a mask set: the object mask as a white-on-black lossless mov (`video_mask`);
then the shot's row is merged into out_dir/dataset.jsonl (a re-exported shot replaces its row),
shot by shot, so an export stopped half-way keeps the shots it finished.
The user's scene is left as it was: the renderer and capture restore what they set and the frame.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace

import numpy as np

from ..capture.package import capture_package
from ..capture.settings import fps_of
from ..shared import training_dataset as td
from ..shared.png import write_png_frames
from .settings import SHOT_SOURCES, TrainingSettings
from .target_render import engine_used, render_target
from .video_out import write_video


def scene_shots(scene, source: str) -> list[td.Shot]:
    if source not in SHOT_SOURCES:
        raise td.DatasetError(f"shots: {source!r} is not one of {', '.join(SHOT_SOURCES)}", "shots")
    if source == "markers":
        return td.shots_from_markers([(m.name, m.frame) for m in scene.timeline_markers])
    return td.shots_from_range(scene.frame_start, scene.frame_end, name=scene.name)


def scene_caption(scene) -> str:
    """The panel's prompt of the scene (stored in the .blend; readable without the add-on)."""
    props = scene.get("ltx_scene")
    prompt = props.get("prompt") if props is not None and hasattr(props, "get") else None
    return str(prompt or "").strip()


def plan_export(scene, settings: TrainingSettings, note=print):
    """(shots snapped to 8k+1, width, height, caption): everything is checked before anything renders."""
    caption = (settings.caption or "").strip() or scene_caption(scene)
    if not caption:
        raise td.DatasetError(
            "caption: give a caption (--caption TEXT, or the panel's prompt): every training row needs one",
            "caption",
        )
    r = scene.render
    pct = r.resolution_percentage / 100.0
    width = settings.width if settings.width is not None else max(1, round(r.resolution_x * pct))
    height = settings.height if settings.height is not None else max(1, round(r.resolution_y * pct))
    width, height, size_note = td.bucket_size(width, height, settings.reference_factor)
    if size_note:
        note(size_note)
    shots = []
    for shot in scene_shots(scene, settings.shots):
        cut, cut_note = td.snap_shot_frames(shot)
        if cut_note:
            note(cut_note)
        shots.append(cut)
    return shots, width, height, caption


def _grey_video(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    from ..shared.raster.model_frames import cover_resize

    grey = np.clip(np.rint(mask * 255.0), 0, 255).astype(np.uint8)
    return cover_resize(np.repeat(grey[..., None], 3, axis=-1), width, height)


def export_training(scene, settings: TrainingSettings, progress=None, note=print) -> dict:
    """Write every shot's pair and merge the rows; returns a summary (rows, buckets, files)."""
    from ..shared.raster.model_frames import reference_frames

    report = progress or (lambda fraction, message: None)
    shots, width, height, caption = plan_export(scene, settings, note)
    kind = settings.capture.kind
    out = os.path.abspath(settings.out_dir)
    source = os.path.abspath(settings.source) if settings.source else ""
    ids = [td.shot_id(source, scene.name, shot) for shot in shots]
    record = td.load_record(out)
    td.check_export_allowed(record, kind, {td.shot_files(i).video: source or None for i in ids})
    masked = bool(settings.capture.mask_objects or settings.capture.mask_collection)
    td.check_mask_columns(td.read_rows(os.path.join(out, td.DATASET_NAME)), masked)
    engine = engine_used(scene, settings.engine, settings.samples, note)
    fps = fps_of(scene.render.fps, scene.render.fps_base)
    rate = (int(scene.render.fps), float(scene.render.fps_base))  # the writer takes Blender's exact pair
    videos, shapes, summary = [], [], {"replaced": 0, "added": 0}
    work = tempfile.mkdtemp(prefix="ltx-training-")
    try:
        for n, (shot, sid) in enumerate(zip(shots, ids)):
            base = n / len(shots)
            share = 1.0 / len(shots)

            def sub(lo, hi, _base=base, _share=share, _name=shot.name):
                return lambda f, message: report(_base + _share * (lo + (hi - lo) * f), f"{_name}: {message}")

            files = td.shot_files(sid)
            frames = range(shot.frame_start, shot.frame_end + 1)
            shot_dir = os.path.join(work, sid)
            target = render_target(scene, frames, width, height, settings.engine, settings.samples, sub(0, 0.6))
            capture = replace(
                settings.capture,
                width=width,
                height=height,
                frame_start=shot.frame_start,
                frame_count=shot.frame_count,
                snap=False,
                reference_downscale_factor=settings.reference_factor,
                depth_size="full",
                first_frame=False,
            )
            pkg = capture_package(scene, capture, sub(0.6, 0.85))
            control = reference_frames(pkg, width, height)
            report(base + share * 0.85, f"{shot.name}: writing videos")
            target_files = write_png_frames(os.path.join(shot_dir, "target"), target)
            write_video(target_files, os.path.join(out, files.video), width, height, *rate, False)
            ref_files = write_png_frames(os.path.join(shot_dir, "control"), control)
            write_video(ref_files, os.path.join(out, files.reference_video), width, height, *rate, True)
            if masked:
                mask_files = write_png_frames(os.path.join(shot_dir, "mask"), _grey_video(pkg.mask, width, height))
                write_video(mask_files, os.path.join(out, files.video_mask), width, height, *rate, True)
            shutil.rmtree(shot_dir, ignore_errors=True)
            row = td.make_row(caption, files, masked)
            provenance = {
                "source": source or None,
                "scene": scene.name,
                "shot": shot.name,
                "frames": [shot.frame_start, shot.frame_end],
                "kind": kind,
                "engine": engine,
                "samples": settings.samples,
                "width": width,
                "height": height,
                "frame_count": shot.frame_count,
                "fps": f"{fps.numerator}/{fps.denominator}",
            }
            # merged shot by shot: an export stopped at shot 5 keeps the rows of shots 1-4
            merged = td.append_rows(out, [row], kind, {files.video: provenance})
            summary.update(dataset=merged["dataset"], rows=merged["rows"])
            summary["replaced"] += merged["replaced"]
            summary["added"] += merged["added"]
            videos.append(files.video)
            shapes.append((width, height, shot.frame_count))
            report(base + share, f"{shot.name}: done")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary.update(
        {
            "kind": kind,
            "shots": len(videos),
            "videos": videos,
            "width": width,
            "height": height,
            "engine": engine,
            "buckets": td.resolution_buckets(shapes),
        }
    )
    return summary
