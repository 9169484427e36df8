"""The life of one generation on the Blender side: capture, hand-off, progress, import.

Main thread only. `start(context, settings)` captures the control package from the scene (the one
part that must touch bpy), saves it beside the result, builds a plain `JobRequest`, then either
- runs the job inline (background mode: `blender -b` / the bpy module, where timers never fire), or
- starts a `GenerationWorker` thread followed by the add-on's one timer (`main_thread`), which hands
  its messages to `_on_message` here: they go into `window_manager.ltx_scene_job`, redraw the panel
  and, when the video is in, import the strips.

At most one job runs at a time (`active()`); `cancel()` stops it on the server too.
"""

from __future__ import annotations

import json
import os
import time

import bpy

from .. import vse
from ..client.worker import GenerationWorker, JobRequest, run_job
from ..shared.errors import UserError
from . import main_thread

CONTROL_NAME = "control.npz"


class ActiveJob:
    def __init__(self, worker: GenerationWorker | None, scene_name: str, params: dict):
        self.worker = worker
        self.scene_name = scene_name
        self.params = params
        self.finished = False
        self.strips: tuple = ()
        self.error: str = ""


_active: ActiveJob | None = None


def active() -> ActiveJob | None:
    return _active if _active is not None and not _active.finished else None


def job_state(context=None):
    return (context or bpy.context).window_manager.ltx_scene_job


def redraw() -> None:
    wm = bpy.context.window_manager
    for window in getattr(wm, "windows", []):
        for area in window.screen.areas:
            if area.type in {"VIEW_3D", "SEQUENCE_EDITOR", "PREFERENCES"}:
                area.tag_redraw()


def set_state(
    status: str, message: str = "", progress: float | None = None, error: str = "", stage: str | None = None
) -> None:
    state = job_state()
    state.status = status
    state.message = message
    state.error = error
    if progress is not None:
        state.progress = max(0.0, min(1.0, float(progress)))
    if stage is not None:
        state.stage = stage
    redraw()


def report(level: str, message: str) -> None:
    """A report outside an operator (from the timer): shows in the status bar and Info editor."""
    try:
        bpy.ops.ltx_scene.report(level=level, message=message)
    except Exception:
        print(f"LTX Scene {level}: {message}")


# ------------------------------------------------------------------------------------- capture
def capture_control(context, settings) -> tuple[bytes, str]:
    """Capture the scene into a ControlPackage; save it in the job folder; return (bytes, path)."""
    from ..capture.package import capture_package

    scene = bpy.data.scenes[settings.scene_name]
    wm = context.window_manager
    set_state("capturing", "capturing the control from the scene", progress=0.0, stage="capture")
    wm.progress_begin(0, 1000)

    def progress(fraction, message=""):
        wm.progress_update(int(max(0.0, min(1.0, float(fraction))) * 1000))
        state = job_state(context)
        state.message = f"capture: {message}" if message else "capturing"

    try:
        package = capture_package(scene, settings.capture, progress=progress)
    finally:
        wm.progress_end()
    os.makedirs(settings.output_dir, exist_ok=True)
    data = package.to_bytes()
    path = os.path.join(settings.output_dir, CONTROL_NAME)
    with open(path, "wb") as fh:
        fh.write(data)
    return data, path


def collect_keyframes(context, settings) -> list[tuple[str, bytes, str]]:
    """(file name, image bytes, path) per keyframe look, in the spec's order: marker looks rendered
    with the scene's own engine at the job's size into the job folder, image files read."""
    if not settings.keyframes:
        return []
    rendered = iter(())
    if any(k.image_path is None for k in settings.keyframes):
        from ..capture.keyframe_render import render_keyframe_looks

        scene = bpy.data.scenes[settings.scene_name]
        set_state("capturing", "rendering the keyframe looks", progress=0.0, stage="keyframes")

        def progress(fraction, message=""):
            job_state(context).message = f"keyframes: {message}" if message else "keyframes"

        rendered = iter(
            render_keyframe_looks(
                scene, settings.keyframes, settings.plan.width, settings.plan.height, settings.output_dir, progress
            )
        )
    out = []
    for look in settings.keyframes:
        path = look.image_path if look.image_path is not None else next(rendered)
        with open(path, "rb") as fh:
            out.append((os.path.basename(path), fh.read(), path))
    return out


def build_request(settings, control: bytes, control_path: str, keyframes=()) -> JobRequest:
    image = None
    image_name = "first_frame.png"
    if settings.first_frame_source == "IMAGE" and settings.first_frame_image:
        with open(settings.first_frame_image, "rb") as fh:
            image = fh.read()
        image_name = os.path.basename(settings.first_frame_image)
    params = settings.parameters()
    params["control"] = control_path
    if settings.first_frame_image:
        params["first_frame_image"] = settings.first_frame_image
    for entry, (_, _, path) in zip(params.get("keyframes", []), keyframes):
        entry["image"] = path  # the image sent (a marker's render is kept in the job folder)
    return JobRequest(
        backend=settings.backend,
        spec=settings.spec,
        control=control,
        out_dir=settings.output_dir,
        image=image,
        image_name=image_name,
        keyframes=[(name, data) for name, data, _ in keyframes],
        extra={"params": params},
    )


def check_backend(backend) -> None:
    """Raise `BackendError` unless the backend answers its health check (blocks: short timeouts)."""
    client = backend.connect()
    try:
        client.health()
    finally:
        client.close()


# ------------------------------------------------------------------------------------ messages
def _apply(job: ActiveJob, kind: str, payload: dict) -> None:
    """One worker message into the window manager's state (main thread)."""
    state = job_state()
    if kind == "submitted":
        state.job_id = payload["id"]
        set_state("queued", f"job {payload['id']} queued", progress=0.0, stage="queued")
    elif kind == "progress":
        status = payload.get("status", "running")
        stage = payload.get("stage") or ""
        step, total = payload.get("step"), payload.get("total")
        text = stage
        if step is not None and total:
            text += f" {step}/{total}"
        eta = payload.get("eta_s")
        if isinstance(eta, (int, float)) and eta > 0 and status == "running":
            text += f", about {eta:.0f} s left"
        if state.status == "cancelling":
            status = "cancelling"  # a last progress event must not hide the pending cancel
        elif status not in {"queued", "running"}:
            status = "running"
        set_state(status, text, progress=payload.get("progress") or 0.0, stage=stage)
    elif kind == "done":
        params = dict(job.params)
        params.update({"job_id": payload["id"], "video": payload["video"], "sidecar": payload.get("sidecar")})
        scene = bpy.data.scenes.get(job.scene_name)
        if scene is None:
            job.error = f"the scene '{job.scene_name}' is gone; the video is at {payload['video']}"
            set_state("failed", error=job.error)
        else:
            try:
                job.strips = vse.import_result(scene, payload["video"], params)
            except UserError as exc:
                job.error = str(exc)
                set_state("failed", error=job.error)
            else:
                state.last_video = payload["video"]
                set_state(
                    "succeeded",
                    f"done: {job.strips[0].name} in channel {job.strips[0].channel}",
                    progress=1.0,
                    stage="done",
                )
        job.finished = True
    elif kind == "cancelled":
        set_state("cancelled", payload.get("message", "cancelled"))
        job.finished = True
    elif kind == "error":
        job.error = payload["message"]
        set_state("failed", error=job.error)
        job.finished = True


def _on_message(job: ActiveJob, kind: str, payload: dict) -> None:
    """A message of the job's worker, on the main thread (the timer's handler)."""
    _apply(job, kind, payload)
    if kind == "error":
        report("ERROR", f"LTX Scene: {payload['message']}")
    elif kind == "done" and job.error:
        report("ERROR", f"LTX Scene: {job.error}")
    elif kind == "done":
        report("INFO", f"LTX Scene: video imported ({payload['video']})")


def _on_end(job: ActiveJob) -> None:
    """The worker ended and every message is delivered."""
    if not job.finished:  # the thread died without a final message (should not happen)
        job.error = "the generation worker stopped unexpectedly"
        set_state("failed", error=job.error)
        job.finished = True


# -------------------------------------------------------------------------------------- start
def start(
    context, settings, control: bytes | None = None, control_path: str | None = None, synchronous: bool | None = None
) -> ActiveJob:
    """Capture (unless `control` is given) and run or start the job. Raises `UserError`."""
    global _active
    if active() is not None:
        raise UserError("a generation is already running; wait for it or press Cancel", "job")
    state = job_state(context)
    state.error = ""
    state.job_id = ""
    state.last_video = ""
    if synchronous is None:
        synchronous = bool(bpy.app.background)
    if synchronous and control is None:
        check_backend(settings.backend)  # fail fast, before a capture that may take minutes
    if control is None:
        control, control_path = capture_control(context, settings)
    else:
        os.makedirs(settings.output_dir, exist_ok=True)
    request = build_request(settings, control, control_path, collect_keyframes(context, settings))
    params = request.extra["params"]
    with open(os.path.join(settings.output_dir, "parameters.json"), "w", encoding="utf-8") as fh:
        json.dump(params, fh, indent=2, sort_keys=True)
    set_state("uploading", f"sending the control to {settings.backend.url}", progress=0.0, stage="upload")
    if synchronous:
        job = ActiveJob(None, settings.scene_name, params)
        _active = job
        try:
            run_job(request, lambda kind, payload: _apply(job, kind, payload))
        finally:
            job.finished = True
        return job
    job = ActiveJob(GenerationWorker(request), settings.scene_name, params)
    _active = job
    main_thread.start(job.worker, lambda kind, payload: _on_message(job, kind, payload), lambda: _on_end(job))
    return job


def cancel() -> bool:
    """Stop the running job (here and on the server). False when none runs."""
    job = active()
    if job is None or job.worker is None:
        return False
    job.worker.cancel()
    set_state("cancelling", "asking the backend to stop the job")
    return True


def shutdown() -> None:
    """Unregister time: stop every worker (this job's and any Check Backend) and the timer."""
    global _active
    _active = None
    main_thread.shutdown()


def wait(job: ActiveJob, timeout: float = 600.0) -> None:
    """Block until a threaded job finishes, driving the timer's ticks (for scripts and tests: in
    background mode the timer never fires)."""
    deadline = time.monotonic() + timeout
    while not job.finished and time.monotonic() < deadline:
        if job.worker is None:
            break
        main_thread.tick()
        time.sleep(0.05)
