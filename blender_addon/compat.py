"""The Blender API differences between 4.2 LTS, 4.5 LTS and 5.0 that the add-on meets.

Everything version-dependent goes through here so the rest of the add-on reads the same on all
three:
- 4.4 renamed the sequencer's `sequences` to `strips` (4.5 has both, 5.0 only `strips`);
  `sequences_all` became `strips_all`.
- 5.0's sequencer may edit another scene than the active one (`context.sequencer_scene`).
- `UILayout.progress` exists from 4.0; older layouts would need a label.
"""

from __future__ import annotations


def strips(editor):
    """The top-level strip collection of a `SequenceEditor` (has `new_movie` / `new_sound`)."""
    collection = getattr(editor, "strips", None)
    return collection if collection is not None else editor.sequences


def all_strips(editor):
    """Every strip of the editor, inside meta strips too."""
    collection = getattr(editor, "strips_all", None)
    return collection if collection is not None else editor.sequences_all


def sequencer_scene(context):
    """The scene the Sequencer edits: 5.0 may use a dedicated one, earlier versions the active."""
    scene = getattr(context, "sequencer_scene", None)
    return scene if scene is not None else context.scene


def active_strip(context):
    """The active strip of the Sequencer's scene, or None."""
    scene = sequencer_scene(context)
    editor = scene.sequence_editor if scene is not None else None
    return editor.active_strip if editor is not None else None


def draw_progress(layout, factor: float, text: str) -> None:
    """A progress bar where the layout has one (4.0+), a label otherwise."""
    progress = getattr(layout, "progress", None)
    if progress is not None:
        progress(factor=max(0.0, min(1.0, factor)), type="BAR", text=text)
    else:
        layout.label(text=f"{text} ({factor * 100:.0f}%)")
