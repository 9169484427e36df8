"""The N-panel: 3D Viewport sidebar, tab "LTX"; and the strip panel in the Sequencer sidebar.

Drawing only reads properties (and resolves the capture plan to show the exact frames and size);
every action is an operator. Errors of the last action show in red at the top.
"""

from __future__ import annotations

from bpy.types import Panel

from .. import compat, vse
from .. import settings as settings_mod
from ..shared.errors import UserError

TAB = "LTX"
RUNNING = {"capturing", "uploading", "queued", "running", "cancelling"}


def _wrapped(layout, text: str, icon: str = "NONE", width: int = 48) -> None:
    """A long message as several labels (the sidebar does not wrap)."""
    words, line, first = text.split(), "", True
    col = layout.column(align=True)
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            col.label(text=line, icon=icon if first else "BLANK1")
            line, first = word, False
        else:
            line = f"{line} {word}" if line else word
    if line:
        col.label(text=line, icon=icon if first else "BLANK1")


class _SidebarPanel:
    """The 3D Viewport sidebar, tab "LTX" (a mixin: Blender registers only the Panel subclasses)."""

    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = TAB


class _SubPanel(_SidebarPanel):
    """A section under the main LTX panel, closed until opened."""

    bl_parent_id = "VIEW3D_PT_ltx_scene"
    bl_options = {"DEFAULT_CLOSED"}


class VIEW3D_PT_ltx_scene(_SidebarPanel, Panel):
    bl_label = "LTX Scene Control"

    def draw(self, context):
        layout = self.layout
        props = context.scene.ltx_scene
        state = context.window_manager.ltx_scene_job

        if state.error:
            box = layout.box()
            box.alert = True
            _wrapped(box, state.error, icon="ERROR")

        layout.prop(props, "control_kind")
        layout.prop(props, "prompt", text="")
        row = layout.row(align=True)
        row.prop(props, "seed")
        row.prop(props, "preview", toggle=True, text="Quick")
        layout.prop(props, "size_preset")
        if props.size_preset == "CUSTOM":
            row = layout.row(align=True)
            row.prop(props, "width")
            row.prop(props, "height")

        scene = context.scene
        fps = settings_mod.fps_of(scene.render.fps, scene.render.fps_base)
        col = layout.column(align=True)
        col.label(
            text=f"Frames {scene.frame_start}-{scene.frame_end} at {float(fps):.3g} fps (from the scene)", icon="TIME"
        )
        try:
            _, plan = settings_mod.plan_for(props, scene)
        except UserError as exc:
            box = col.box()
            _wrapped(box, str(exc), icon="INFO")
        else:
            col.label(text=f"Generates {plan.frame_count} frames at {plan.width}x{plan.height}")
            for note in plan.notes:
                _wrapped(col, note, icon="INFO")
            if (scene.frame_end - scene.frame_start) % 8 != 0:
                col.operator("ltx_scene.fix_frame_range", icon="PREVIEW_RANGE")

        col = layout.column(align=True)
        if state.status in RUNNING:
            compat.draw_progress(
                col, state.progress, f"{state.status}: {state.message}" if state.message else state.status
            )
            col.operator("ltx_scene.cancel", icon="CANCEL")
        else:
            col.scale_y = 1.4
            col.operator("ltx_scene.generate", icon="RENDER_ANIMATION")
            col.scale_y = 1.0
            if state.status in {"succeeded", "cancelled"} and state.message:
                _wrapped(layout, state.message, icon="CHECKMARK" if state.status == "succeeded" else "CANCEL")
        row = layout.row(align=True)
        row.operator("ltx_scene.preview_controls", icon="HIDE_OFF")
        row.operator("ltx_scene.export_controls", icon="EXPORT")
        layout.operator("ltx_scene.export_training", icon="FILE_MOVIE")


class VIEW3D_PT_ltx_scene_control(_SubPanel, Panel):
    bl_label = "Control"
    bl_options = set()  # open by default

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        props = context.scene.ltx_scene
        layout.prop(props, "attention_strength")
        layout.prop(props, "mask_source")
        if props.mask_source == "OBJECT":
            layout.prop(props, "mask_object")
        elif props.mask_source == "COLLECTION":
            layout.prop(props, "mask_collection")
        rules = settings_mod.backend_rules(context.window_manager)
        name = props.ic_lora
        try:
            kind = settings_mod.chosen_ic_lora(props, rules)[1]
        except UserError as exc:
            kind = None
            box = layout.box()
            box.alert = True
            _wrapped(box, str(exc), icon="ERROR")
        if kind is not None and kind != name:
            layout.label(text=f"Captures the {kind} pass", icon="RENDERLAYERS")
        if kind == "depth":
            layout.prop(props, "depth_engine")
        elif kind == "render":
            layout.prop(props, "render_engine")
        elif kind == "canny":
            layout.prop(props, "rgb_engine")
            layout.prop(props, "canny_preset")
        elif kind == "pose":
            layout.prop(props, "rig_preset")
            layout.prop(props, "hands")
            layout.prop(props, "face")
            if props.face:
                layout.prop(props, "face_occlusion")
        elif kind == "tracks":
            col = layout.column(align=True)
            for i, target in enumerate(props.track_targets):
                row = col.row(align=True)
                row.prop(target, "object", text="")
                if target.object is not None and target.object.type == "ARMATURE":
                    row.prop_search(target, "bone", target.object.data, "bones", text="")
                row.operator("ltx_scene.track_remove", text="", icon="X").index = i
            col.operator("ltx_scene.track_add_selected", icon="ADD")
            layout.prop(props, "camera_anchors")
            if props.camera_anchors:
                col = layout.column(align=True)
                col.prop(props, "camera_anchor_count")
                col.prop(props, "anchor_spacing")
                col.prop(props, "anchor_reseed")
        layout.prop(props, "snap")
        if rules is None:
            layout.prop(props, "reference_factor")
            _wrapped(layout, "Reference factor: manual (no backend answered yet; press Check Backend)", icon="INFO")
        elif name in rules:
            layout.label(
                text=f"Reference factor {rules[name]['factor']}, sizes in multiples of "
                f"{rules[name]['multiple']} (from the backend)",
                icon="CHECKMARK",
            )


class VIEW3D_PT_ltx_scene_first_frame(_SubPanel, Panel):
    bl_label = "First Frame"

    def draw(self, context):
        layout = self.layout
        props = context.scene.ltx_scene
        layout.prop(props, "first_frame_source", expand=True)
        if props.first_frame_source == "IMAGE":
            layout.prop(props, "first_frame_image")


class VIEW3D_PT_ltx_scene_keyframes(_SubPanel, Panel):
    bl_label = "Keyframe Looks"

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        props = scene.ltx_scene
        layout.prop(props, "keyframe_source", text="")
        if props.keyframe_source == "NONE":
            return
        layout.prop(props, "keyframe_strength")
        if props.keyframe_source == "LIST":
            col = layout.column(align=True)
            for i, entry in enumerate(props.keyframe_images):
                row = col.row(align=True)
                row.prop(entry, "frame", text="")
                row.prop(entry, "image", text="")
                row.operator("ltx_scene.keyframe_remove", text="", icon="X").index = i
            col.operator("ltx_scene.keyframe_add", icon="ADD")
        try:
            _, plan = settings_mod.plan_for(props, scene)
            looks = settings_mod.keyframe_looks(props, scene, plan)
        except UserError as exc:
            _wrapped(layout.box(), str(exc), icon="INFO")
            return
        for look in looks:
            source = "rendered" if look.image_path is None else "file"
            layout.label(text=f"frame {look.scene_frame}: {look.label} ({source})", icon="KEYFRAME")


class VIEW3D_PT_ltx_scene_loras(_SubPanel, Panel):
    bl_label = "LoRA Strengths"

    def draw(self, context):
        layout = self.layout
        props = context.scene.ltx_scene
        col = layout.column(align=True)
        col.prop(props, "ic_lora_strength")
        col.prop(props, "conditioning_strength")
        for i, lora in enumerate(props.loras):
            row = layout.row(align=True)
            row.prop(lora, "name", text="")
            row.prop(lora, "strength", text="")
            row.operator("ltx_scene.lora_remove", text="", icon="X").index = i
        layout.operator("ltx_scene.lora_add", icon="ADD")


class VIEW3D_PT_ltx_scene_backend(_SubPanel, Panel):
    bl_label = "Backend"

    def draw(self, context):
        layout = self.layout
        state = context.window_manager.ltx_scene_job
        backend = settings_mod.backend_settings(context)
        layout.label(text=backend.url, icon="URL")
        box = layout.box()
        box.alert = not state.backend_ok and state.backend_status != "not checked"
        _wrapped(box, state.backend_status, icon="CHECKMARK" if state.backend_ok else "QUESTION")
        if state.backend_memory:
            _wrapped(box, state.backend_memory, icon="MEMORY")
        for line in state.backend_workers.splitlines():  # a studio farm: one line per worker
            _wrapped(box, line, icon="NETWORK_DRIVE")
        row = layout.row(align=True)
        row.operator("ltx_scene.check_backend", icon="FILE_REFRESH")
        if backend.start_command:
            row.operator("ltx_scene.start_backend", icon="PLAY")
        if state.last_video:
            layout.label(text=f"Last: {state.last_video}", icon="FILE_MOVIE")


class SEQUENCER_PT_ltx_scene_strip(Panel):
    """The generation parameters of the active strip, and Regenerate."""

    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = TAB
    bl_label = "LTX Generation"

    @classmethod
    def poll(cls, context):
        return vse.parameters_of(compat.active_strip(context)) is not None

    def draw(self, context):
        layout = self.layout
        params = vse.parameters_of(compat.active_strip(context))
        spec = params.get("spec", {})
        col = layout.column(align=True)
        _wrapped(col, spec.get("prompt", ""), icon="TEXT")
        ic = params.get("ic_lora") or params.get("control_kind")
        where = "" if ic == params.get("control_kind") else f" on {params.get('control_kind')}"
        col.label(text=f"IC-LoRA {ic}{where}, seed {spec.get('seed')}")
        col.label(
            text=f"{params.get('width')}x{params.get('height')}, "
            f"{params.get('frame_count')} frames at {params.get('fps')} fps"
        )
        col.label(text=f"IC-LoRA {spec.get('ic_lora_strength')}, conditioning {spec.get('conditioning_strength')}")
        if params.get("job_id"):
            col.label(text=f"job {params['job_id']}")
        layout.operator("ltx_scene.regenerate", icon="FILE_REFRESH")


CLASSES = (
    VIEW3D_PT_ltx_scene,
    VIEW3D_PT_ltx_scene_control,
    VIEW3D_PT_ltx_scene_first_frame,
    VIEW3D_PT_ltx_scene_keyframes,
    VIEW3D_PT_ltx_scene_loras,
    VIEW3D_PT_ltx_scene_backend,
    SEQUENCER_PT_ltx_scene_strip,
)
