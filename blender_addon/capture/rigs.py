"""Where the OpenPose keypoints sit on a rig: presets per rig family and a custom mapping.

A keypoint is a `Joint`: a bone's head, its tail, its middle, or "fit": a point of the canonical
face fitted to the head (`face.py`). Each preset lists candidates per keypoint; the first whose bone
exists wins, so a rig with face bones uses them (the nose tip is the tail of `nose.001`, else of
`nose`; an eye is its bone's tail, the front of the eyeball; an ear the middle of its bone, not its
root) and a rig without them takes nose, eyes and ears from the fitted face, which turns with the
head bone and stays inside the head (offsets in head-bone lengths did not: a Mixamo head bone is
about 0.23 m long, and they put the nose 7 cm in front of the face). `RigMap.head` names the head
bone the face is fitted to.

Presets:
- "metarig": Blender's human meta-rig names (upper_arm.L, forearm.L, hand.L, thigh.L, shin.L, foot.L,
  spine.006 = head, eye.L, ear.L, nose, thumb.01.L, f_index.01.L ...).
- "rigify": a generated Rigify rig (DEF-/ORG- copies of the meta-rig names).
- "mixamo": Mixamo names (LeftArm, LeftForeArm, LeftHand, LeftUpLeg, LeftLeg, LeftFoot, Head,
  LeftEye, LeftHandIndex1..4 ...), with or without a "mixamorig:" style prefix.
- "custom": {keypoint: "Bone" | "Bone@tail"} for body keypoints (`BODY_KEYPOINTS` except "neck",
  which is always the mean of the shoulders as in OpenPose) and "l_hand.0".."l_hand.20",
  "r_hand.0".."r_hand.20" for hands.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..shared.errors import UserError

BODY_KEYPOINTS = (
    "nose",
    "neck",
    "r_shoulder",
    "r_elbow",
    "r_wrist",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
    "r_hip",
    "r_knee",
    "r_ankle",
    "l_hip",
    "l_knee",
    "l_ankle",
    "r_eye",
    "l_eye",
    "r_ear",
    "l_ear",
)
NECK = 1
FINGERS = ("thumb", "index", "middle", "ring", "pinky")


@dataclass(frozen=True)
class Joint:
    bone: str
    where: str = "head"  # "head" | "tail" | "mid" | "fit" (offset[0]: fit point)
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass
class RigMap:
    """Resolved joints of one armature: body[18] and hands[2][21] ([left, right]); None = unmapped;
    head: the head bone's name (the fitted face follows it), or None."""

    preset: str
    body: list
    hands: list | None
    head: str | None = None


# body keypoints a fitted face provides (Joint.offset[0] of a "fit" joint)
FIT_NOSE, FIT_R_EYE, FIT_L_EYE, FIT_R_EAR, FIT_L_EAR = range(5)


# ------------------------------------------------------------------------------ meta-rig / rigify
def _metarig_names(prefixes):
    """Candidates for the meta-rig names under each prefix ("" for the meta-rig, DEF-/ORG- for
    Rigify)."""

    def c(*joints):
        return [Joint(p + j.bone, j.where, j.offset) for j in joints for p in prefixes]

    body = {}
    for side, s in (("r", "R"), ("l", "L")):
        eye, ear = (FIT_R_EYE, FIT_R_EAR) if side == "r" else (FIT_L_EYE, FIT_L_EAR)
        body[f"{side}_shoulder"] = c(Joint(f"upper_arm.{s}"))
        body[f"{side}_elbow"] = c(Joint(f"forearm.{s}"))
        body[f"{side}_wrist"] = c(Joint(f"hand.{s}"))
        body[f"{side}_hip"] = c(Joint(f"thigh.{s}"))
        body[f"{side}_knee"] = c(Joint(f"shin.{s}"))
        body[f"{side}_ankle"] = c(Joint(f"foot.{s}"))
        body[f"{side}_eye"] = c(Joint(f"eye.{s}", "tail")) + c(Joint("spine.006", "fit", (eye, 0, 0)))
        body[f"{side}_ear"] = c(Joint(f"ear.{s}", "mid")) + c(Joint("spine.006", "fit", (ear, 0, 0)))
    body["nose"] = (
        c(Joint("nose.001", "tail")) + c(Joint("nose", "tail")) + c(Joint("spine.006", "fit", (FIT_NOSE, 0, 0)))
    )
    hands = []
    for s in ("L", "R"):
        pts = [c(Joint(f"hand.{s}"))]
        for finger in FINGERS:
            name = "thumb" if finger == "thumb" else f"f_{finger}"
            pts += [
                c(Joint(f"{name}.01.{s}")),
                c(Joint(f"{name}.02.{s}")),
                c(Joint(f"{name}.03.{s}")),
                c(Joint(f"{name}.03.{s}", "tail")),
            ]
        hands.append(pts)
    return body, hands


def _mixamo_names():
    body = {}
    for side, s in (("r", "Right"), ("l", "Left")):
        eye, ear = (FIT_R_EYE, FIT_R_EAR) if side == "r" else (FIT_L_EYE, FIT_L_EAR)
        body[f"{side}_shoulder"] = [Joint(f"{s}Arm")]
        body[f"{side}_elbow"] = [Joint(f"{s}ForeArm")]
        body[f"{side}_wrist"] = [Joint(f"{s}Hand")]
        body[f"{side}_hip"] = [Joint(f"{s}UpLeg")]
        body[f"{side}_knee"] = [Joint(f"{s}Leg")]
        body[f"{side}_ankle"] = [Joint(f"{s}Foot")]
        # Mixamo's eye bones sit at the eyeball's centre: the fitted face's eye is its front
        body[f"{side}_eye"] = [Joint("Head", "fit", (eye, 0, 0))]
        body[f"{side}_ear"] = [Joint("Head", "fit", (ear, 0, 0))]
    body["nose"] = [Joint("Head", "fit", (FIT_NOSE, 0, 0))]
    hands = []
    for s in ("Left", "Right"):
        pts = [[Joint(f"{s}Hand")]]
        for finger in FINGERS:
            f = finger.capitalize()
            pts += [
                [Joint(f"{s}Hand{f}1")],
                [Joint(f"{s}Hand{f}2")],
                [Joint(f"{s}Hand{f}3")],
                [Joint(f"{s}Hand{f}4"), Joint(f"{s}Hand{f}3", "tail")],
            ]
        hands.append(pts)
    return body, hands


PRESETS = {
    "metarig": _metarig_names([""]),
    "rigify": _metarig_names(["DEF-", "ORG-"]),
    "mixamo": _mixamo_names(),
}


def _mixamo_lookup(bone_names):
    """Mixamo bones carry a prefix ending in ':' ("mixamorig:LeftArm", "mixamorig1:..."), or none."""
    table = {}
    for name in bone_names:
        table.setdefault(name.rsplit(":", 1)[-1], name)
    return table


def detect_preset(bone_names) -> str | None:
    names = set(bone_names)
    if "DEF-upper_arm.L" in names or "ORG-upper_arm.L" in names:
        return "rigify"
    if "upper_arm.L" in names and "forearm.L" in names:
        return "metarig"
    short = _mixamo_lookup(names)
    if "LeftArm" in short and "LeftForeArm" in short:
        return "mixamo"
    return None


def custom_keys() -> tuple[str, ...]:
    hands = tuple(f"{s}_hand.{i}" for s in ("l", "r") for i in range(21))
    return tuple(k for k in BODY_KEYPOINTS if k != "neck") + hands


def _custom_joint(value: str) -> Joint:
    bone, _, where = value.partition("@")
    if where not in ("", "head", "tail"):
        raise UserError(
            f"custom_mapping: '{value}' ends in '@{where}'; use 'Bone', 'Bone@head' or 'Bone@tail'", "custom_mapping"
        )
    return Joint(bone, where or "head")


def resolve_rig(armature, preset: str = "auto", custom_mapping: dict | None = None) -> RigMap:
    """The joints of `armature` (an Object of type ARMATURE) for a preset, or raise UserError."""
    names = [b.name for b in armature.pose.bones]
    present = set(names)
    if preset == "auto":
        preset = detect_preset(names)
        if preset is None:
            raise UserError(
                f"rig_preset: the bones of '{armature.name}' match no known rig (Rigify, Mixamo, "
                "Blender's meta-rig); pick the 'custom' preset and map the keypoints to bones",
                "rig_preset",
            )
    if preset == "custom":
        mapping = dict(custom_mapping or {})
        allowed = custom_keys()
        unknown = sorted(set(mapping) - set(allowed))
        if unknown:
            raise UserError(
                f"custom_mapping: unknown keypoint(s) {', '.join(unknown)}; allowed: "
                f"{', '.join(allowed[:17])}, l_hand.0 .. l_hand.20, r_hand.0 .. r_hand.20",
                "custom_mapping",
            )
        for key, value in mapping.items():
            if _custom_joint(value).bone not in present:
                raise UserError(
                    f"custom_mapping: {key} -> '{value}': '{armature.name}' has no bone "
                    f"named '{_custom_joint(value).bone}'",
                    "custom_mapping",
                )
        body = [(_custom_joint(mapping[k]) if k in mapping else None) for k in BODY_KEYPOINTS]
        hands = [
            [(_custom_joint(mapping[f"{s}_hand.{i}"]) if f"{s}_hand.{i}" in mapping else None) for i in range(21)]
            for s in ("l", "r")
        ]
        if all(j is None for h in hands for j in h):
            hands = None
        return RigMap("custom", body, hands)
    if preset not in PRESETS:
        raise UserError(f"rig_preset: {preset!r} is not one of auto, metarig, rigify, mixamo, custom", "rig_preset")
    body_c, hands_c = PRESETS[preset]
    if preset == "mixamo":
        table = _mixamo_lookup(names)

        def pick(cands):
            for j in cands:
                if j.bone in table:
                    return Joint(table[j.bone], j.where, j.offset)
            return None
    else:

        def pick(cands):
            for j in cands:
                if j.bone in present:
                    return j
            return None

    body = [None if k == "neck" else pick(body_c[k]) for k in BODY_KEYPOINTS]
    head = pick(
        [Joint("Head")]
        if preset == "mixamo"
        else [Joint(p + "spine.006") for p in (("DEF-", "ORG-") if preset == "rigify" else ("",))]
    )
    hands = [[pick(c) for c in hand] for hand in hands_c]
    # A hand counts only where finger bones exist (the wrist alone is not a hand).
    hands = [h if any(j is not None for j in h[1:]) else [None] * 21 for h in hands]
    if all(j is None for h in hands for j in h):
        hands = None
    if all(j is None for j in body):
        raise UserError(
            f"rig_preset: '{armature.name}' has none of the '{preset}' bones; pick another preset or a custom mapping",
            "rig_preset",
        )
    return RigMap(preset, body, hands, head.bone if head is not None else None)
