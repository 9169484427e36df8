"""Export controls: the captured control as files other tools read (ComfyUI users, scripts).

Into one folder: `control_00000.png ...` (the lossless control video), `tracks.json` for motion
tracks (the ComfyUI-LTXVideo Draw Tracks format), `mask_00000.png ...` when a mask was captured,
`first_frame.png` when one was rendered, and `control.npz` (the ControlPackage itself, replayable
with `ltx-scene generate`).
"""

from __future__ import annotations

import os
import traceback

import numpy as np
from bpy.props import StringProperty
from bpy.types import Operator

from ..shared.errors import UserError
from .folder_browser import browse_for_folder, chosen_folder
from .preview import capture_now, control_frames, fail


def export_package(package, folder: str) -> list[str]:
    """Write the package's files into `folder`; returns the paths written."""
    from ..shared.png import write_png, write_png_frames
    from ..shared.tracks_json import dump_tracks_json

    os.makedirs(folder, exist_ok=True)
    frames, _ = control_frames(package)
    written = write_png_frames(folder, frames, prefix="control_")
    if package.tracks is not None:
        path = os.path.join(folder, "tracks.json")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(dump_tracks_json(package.tracks, package.tracks_visible))
        written.append(path)
    if package.mask is not None:
        grey = np.clip(np.rint(package.mask * 255.0), 0, 255).astype(np.uint8)
        written += write_png_frames(folder, np.repeat(grey[..., None], 3, axis=-1), prefix="mask_")
    if package.first_frame is not None:
        written.append(write_png(os.path.join(folder, "first_frame.png"), package.first_frame))
    path = os.path.join(folder, "control.npz")
    package.save(path)
    written.append(path)
    return written


class LTX_SCENE_OT_export_controls(Operator):
    """Export the control as PNG frames (plus ComfyUI tracks JSON for motion tracks)"""

    bl_idname = "ltx_scene.export_controls"
    bl_label = "Export Controls"
    bl_options = {"REGISTER"}

    directory: StringProperty(
        name="Folder", subtype="DIR_PATH", default="", description="Folder to write the control files into"
    )

    def invoke(self, context, event):
        return browse_for_folder(self, context, "export")

    def execute(self, context):
        folder = chosen_folder(self, context, "export")
        try:
            package, _ = capture_now(context)
            written = export_package(package, folder)
        except (UserError, OSError) as exc:
            return fail(self, str(exc))
        except Exception as exc:
            traceback.print_exc()
            return fail(self, f"internal error: {exc!r} (details in the system console)")
        self.report({"INFO"}, f"LTX Scene: wrote {len(written)} files to {folder}")
        return {"FINISHED"}


CLASSES = (LTX_SCENE_OT_export_controls,)
