"""Small panel helpers: fix the frame range, LoRA, keyframe-image and track-target lists, reports from timers."""

from __future__ import annotations

from bpy.props import EnumProperty, IntProperty, StringProperty
from bpy.types import Operator

from ..shared.video_rules import snap_frames


class LTX_SCENE_OT_fix_frame_range(Operator):
    """Set the scene's end frame so the range has 8k+1 frames (the nearest valid count)"""

    bl_idname = "ltx_scene.fix_frame_range"
    bl_label = "Snap Frame Range to 8k+1"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        scene = context.scene
        count = snap_frames(max(1, scene.frame_end - scene.frame_start + 1))
        scene.frame_end = scene.frame_start + count - 1
        self.report({"INFO"}, f"LTX Scene: frames {scene.frame_start}-{scene.frame_end} ({count})")
        return {"FINISHED"}


class LTX_SCENE_OT_lora_add(Operator):
    """Add a LoRA from the backend's bundle"""

    bl_idname = "ltx_scene.lora_add"
    bl_label = "Add LoRA"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        context.scene.ltx_scene.loras.add()
        return {"FINISHED"}


class LTX_SCENE_OT_lora_remove(Operator):
    """Remove this LoRA"""

    bl_idname = "ltx_scene.lora_remove"
    bl_label = "Remove LoRA"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(default=0)

    def execute(self, context):
        loras = context.scene.ltx_scene.loras
        if 0 <= self.index < len(loras):
            loras.remove(self.index)
        return {"FINISHED"}


class LTX_SCENE_OT_keyframe_add(Operator):
    """Add a keyframe look from an image file at the current frame"""

    bl_idname = "ltx_scene.keyframe_add"
    bl_label = "Add Keyframe Image"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        entry = context.scene.ltx_scene.keyframe_images.add()
        entry.frame = context.scene.frame_current
        return {"FINISHED"}


class LTX_SCENE_OT_keyframe_remove(Operator):
    """Remove this keyframe image"""

    bl_idname = "ltx_scene.keyframe_remove"
    bl_label = "Remove Keyframe Image"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(default=0)

    def execute(self, context):
        entries = context.scene.ltx_scene.keyframe_images
        if 0 <= self.index < len(entries):
            entries.remove(self.index)
        return {"FINISHED"}


class LTX_SCENE_OT_track_add_selected(Operator):
    """Follow the selected objects (in Pose Mode: the selected bones) with motion tracks"""

    bl_idname = "ltx_scene.track_add_selected"
    bl_label = "Add Selected"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        targets = context.scene.ltx_scene.track_targets
        have = {(t.object, t.bone) for t in targets}
        added = 0
        if context.mode == "POSE":
            for pbone in context.selected_pose_bones or []:
                key = (pbone.id_data, pbone.name)
                if key not in have:
                    item = targets.add()
                    item.object, item.bone = key
                    have.add(key)
                    added += 1
        else:
            for obj in context.selected_objects:
                if (obj, "") not in have:
                    targets.add().object = obj
                    have.add((obj, ""))
                    added += 1
        if not added:
            self.report({"WARNING"}, "LTX Scene: select objects (or bones in Pose Mode) to track")
            return {"CANCELLED"}
        return {"FINISHED"}


class LTX_SCENE_OT_track_remove(Operator):
    """Stop following this target"""

    bl_idname = "ltx_scene.track_remove"
    bl_label = "Remove Track"
    bl_options = {"REGISTER", "UNDO"}

    index: IntProperty(default=0)

    def execute(self, context):
        targets = context.scene.ltx_scene.track_targets
        if 0 <= self.index < len(targets):
            targets.remove(self.index)
        return {"FINISHED"}


class LTX_SCENE_OT_report(Operator):
    """Show a message in the status bar and the Info editor (used from timers)"""

    bl_idname = "ltx_scene.report"
    bl_label = "LTX Scene Message"
    bl_options = {"INTERNAL"}

    level: EnumProperty(items=[(k, k, "") for k in ("INFO", "WARNING", "ERROR")], default="INFO")
    message: StringProperty(default="")

    def execute(self, context):
        self.report({self.level}, self.message)
        return {"FINISHED"}


CLASSES = (
    LTX_SCENE_OT_fix_frame_range,
    LTX_SCENE_OT_lora_add,
    LTX_SCENE_OT_lora_remove,
    LTX_SCENE_OT_keyframe_add,
    LTX_SCENE_OT_keyframe_remove,
    LTX_SCENE_OT_track_add_selected,
    LTX_SCENE_OT_track_remove,
    LTX_SCENE_OT_report,
)
