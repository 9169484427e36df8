"""Which IC-LoRAs the panel offers, and the scene pass each one is fed by (no bpy here).

The connected backend's bundle decides: `/v1/models` lists its IC-LoRAs by name with their passes
(`client.http.size_rules` keeps them with the size rules, recorded on the main thread by the Check
Backend timer path). Before any backend has answered the panel offers the built-in IC-LoRAs
(depth, pose, tracks, canny: each fed by the pass of its name). Choosing one sets the pass capture
makes. A name the panel holds that the backend does not offer (a .blend from another studio, a
bundle that changed) stays listed, marked, so the choice is not silently swapped; Generate then
says what the backend offers.
"""

from __future__ import annotations

from .shared.control_kinds import BUILTIN_IC_LORAS, DESCRIPTIONS, LABELS, is_scene_pass
from .shared.errors import UserError


def offered(rules: dict | None) -> dict[str, dict]:
    """name -> {"pass", "description"} of what can be chosen: the backend's IC-LoRAs, else the built-in ones."""
    if rules is None:
        return {name: {"pass": name, "description": DESCRIPTIONS[name]} for name in BUILTIN_IC_LORAS}
    out = {}
    for name, rule in rules.items():
        scene_pass = rule.get("pass") or name  # servers before named IC-LoRAs: the name is the pass
        if is_scene_pass(scene_pass):
            out[name] = {"pass": scene_pass, "description": rule.get("description") or DESCRIPTIONS[scene_pass]}
    return out


def label(name: str, scene_pass: str) -> str:
    """What the dropdown shows: "Depth" for a built-in name, "blockout (Render)" for a named one."""
    if name == scene_pass:
        return LABELS[scene_pass]
    return f"{name} ({LABELS[scene_pass]})"


def items(rules: dict | None, current: str) -> list[tuple[str, str, str, int]]:
    """EnumProperty items (identifier, label, description, number), the current name always among them."""
    choices = offered(rules)
    out = [
        (name, label(name, c["pass"]), f"{c['description'][:1].upper()}{c['description'][1:]} ({c['pass']} pass)")
        for name, c in choices.items()
    ]
    if current and current not in choices:
        out.append((current, f"{current} (not offered)", "The backend's model bundle has no IC-LoRA of this name"))
    return [(identifier, text, description, i) for i, (identifier, text, description) in enumerate(out)]


def scene_pass_of(name: str, rules: dict | None) -> str:
    """The pass capture makes for the IC-LoRA `name`; refuses a name the backend (or, before it answered,
    the built-in list) does not have, saying what there is."""
    choices = offered(rules)
    if name in choices:
        return choices[name]["pass"]
    if rules is None:
        raise UserError(
            f"IC-LoRA '{name}': no backend has answered yet, so only the built-in IC-LoRAs are known "
            f"({', '.join(BUILTIN_IC_LORAS)}); press Check Backend to list the backend's",
            "control_kind",
        )
    have = ", ".join(f"{n} ({c['pass']})" for n, c in choices.items()) or "none"
    raise UserError(
        f"IC-LoRA '{name}': the backend's model bundle has no IC-LoRA of that name (it offers: {have}); "
        "pick one of those or serve a bundle that has it",
        "control_kind",
    )
