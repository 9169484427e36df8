"""GenerationSpec: what a client asks the engine (or the server) to generate.

Only user intent travels here (prompt, seed, strengths, size overrides); never server-side paths.
`to_json()` gives a JSON-ready dict, `to_json_text()` its text; `from_json` accepts either a dict or
JSON text and refuses unknown keys by name, so a typo in a client never passes silently.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .control_kinds import SCENE_PASSES
from .errors import UserError
from .keyframes import check_keyframe_entries
from .video_rules import check_frames, format_fps, parse_fps

MAX_PROMPT_CHARS = 20_000
MAX_SIZE = 8192
MAX_SEED = 2**63 - 1
MAX_NAME_CHARS = 200
LORA_KEYS = ("name", "strength")


@dataclass
class GenerationSpec:
    prompt: str
    seed: int = 0
    width: int | None = None  # None: the package's
    height: int | None = None
    frames: int | None = None
    fps: str | None = None  # "24000/1001"; None: the package's
    control_kind: str | None = None  # the scene pass the control is made from; None: the IC-LoRA's, else the package's
    ic_lora: str | None = None  # the bundle's IC-LoRA by name; None: the bundle's IC-LoRA for control_kind's pass
    attention_strength: float = 1.0  # [0, 1], multiplied by the package's per-frame strength / mask
    conditioning_strength: float = 1.0  # [0, 1], denoise strength of the reference tokens
    ic_lora_strength: float = 1.0
    loras: list[dict] = field(default_factory=list)  # [{"name": <name in the bundle>, "strength": float}]
    preview: bool = False  # stage 1 only, half size
    use_first_frame: bool = True  # condition frame 0 on the package's first_frame when present
    # keyframe looks: [{"frame": int, "strength": float in [0, 1]}], one image each, sent in this
    # order (shared/keyframes.py: any frame of the clip, 0 .. frames - 1)
    keyframes: list[dict] = field(default_factory=list)

    # --------------------------------------------------------------------------------- JSON
    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (validated)."""
        self.validate()
        return asdict(self)

    def to_json_text(self) -> str:
        return json.dumps(self.to_json())

    @classmethod
    def from_json(cls, obj) -> "GenerationSpec":
        """Build and validate a spec from a dict or JSON text; unknown keys are refused by name."""
        if isinstance(obj, (bytes, bytearray)):
            try:
                obj = bytes(obj).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UserError(f"spec: not UTF-8 text ({exc}); send the spec as UTF-8 JSON", "spec") from None
        if isinstance(obj, str):
            try:
                obj = json.loads(obj)
            except json.JSONDecodeError as exc:
                raise UserError(f"spec: not valid JSON ({exc})", "spec") from None
            except RecursionError:
                raise UserError(
                    "spec: JSON nested too deeply; a spec is one flat object (see GenerationSpec's fields)", "spec"
                ) from None
            except ValueError as exc:  # an integer past Python's int-digit limit
                raise UserError(f"spec: a number is too long to read ({exc})", "spec") from None
        if not isinstance(obj, dict):
            raise UserError(f"spec: expected a JSON object, got {type(obj).__name__}", "spec")
        bad = _first_non_unicode(obj)
        if bad is not None:
            raise UserError(
                f"{bad}: holds text that is not valid Unicode (a lone surrogate such as \\ud800); send UTF-8 text", bad
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(obj) - known)
        if unknown:
            raise UserError(f"{unknown[0]}: unknown spec key(s) {unknown}; allowed keys: {sorted(known)}", unknown[0])
        if "prompt" not in obj:
            raise UserError("prompt: the spec needs a prompt", "prompt")
        spec = cls(**obj)
        return spec.validate()

    # --------------------------------------------------------------------------------- checks
    def validate(self) -> "GenerationSpec":
        """Check every field; raise `UserError(field=...)`. Normalizes fps to "N/D" text. Returns self."""
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise UserError("prompt: write a prompt describing the video (it is empty)", "prompt")
        if len(self.prompt) > MAX_PROMPT_CHARS:
            raise UserError(f"prompt: {len(self.prompt)} characters, the limit is {MAX_PROMPT_CHARS}", "prompt")
        _int("seed", self.seed, 0, MAX_SEED)
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None:
                _int(name, value, 1, MAX_SIZE)
        if self.frames is not None:
            _int("frames", self.frames, 1, 100_000)
            check_frames(self.frames)
        if self.fps is not None:
            if isinstance(self.fps, bool) or not isinstance(self.fps, (str, numbers.Real)):
                raise UserError(f"fps: expected text such as '24000/1001', got {self.fps!r}", "fps")
            self.fps = format_fps(parse_fps(self.fps))
        if self.control_kind is not None and self.control_kind not in SCENE_PASSES:
            raise UserError(
                f"control_kind: expected a scene pass, one of {', '.join(SCENE_PASSES)} (or null for the "
                f"package's kind), got {self.control_kind!r}",
                "control_kind",
            )
        if self.ic_lora is not None and (
            not isinstance(self.ic_lora, str)
            or not self.ic_lora.strip()
            or len(self.ic_lora) > MAX_NAME_CHARS
            or "/" in self.ic_lora
            or "\\" in self.ic_lora
        ):
            raise UserError(
                f"ic_lora: expected the name of one of the model bundle's IC-LoRAs (no paths; /v1/models "
                f"lists them), or null for the bundle's IC-LoRA for control_kind; got {self.ic_lora!r}",
                "ic_lora",
            )
        _float("attention_strength", self.attention_strength, 0.0, 1.0)
        _float("conditioning_strength", self.conditioning_strength, 0.0, 1.0)
        _float("ic_lora_strength", self.ic_lora_strength, 0.0, 2.0)
        if not isinstance(self.loras, list):
            raise UserError('loras: expected a list of {"name": ..., "strength": ...}', "loras")
        for i, lora in enumerate(self.loras):
            if not isinstance(lora, dict) or set(lora) - set(LORA_KEYS) or "name" not in lora:
                raise UserError(
                    f'loras: entry {i} must be {{"name": <LoRA name in the bundle>, "strength": float}}, got {lora!r}',
                    "loras",
                )
            if (
                not isinstance(lora["name"], str)
                or not lora["name"].strip()
                or "/" in lora["name"]
                or "\\" in lora["name"]
            ):
                raise UserError(
                    f"loras: entry {i} name must be a LoRA name from the bundle (no paths), got {lora['name']!r}",
                    "loras",
                )
            _float("loras", lora.get("strength", 1.0), -2.0, 2.0, f"entry {i} strength")
        for name in ("preview", "use_first_frame"):
            if not isinstance(getattr(self, name), bool):
                raise UserError(f"{name}: expected true or false, got {getattr(self, name)!r}", name)
        self.keyframes = check_keyframe_entries(self.keyframes, self.frames)
        return self


def _first_non_unicode(obj: dict) -> str | None:
    """The spec key whose name or value holds a lone surrogate (text that cannot be written as
    UTF-8: it would break the job's record and every answer that shows the spec), else None."""
    stack = [(k, v, k) for k, v in obj.items()]
    while stack:
        key, value, top = stack.pop()
        for text in (key, value):
            if isinstance(text, str):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    return top.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(top, str) else "spec"
        if isinstance(value, dict):
            stack.extend((k, v, top) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((None, v, top) for v in value)
    return None


def _int(name: str, value, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UserError(f"{name}: expected an integer, got {value!r}", name)
    if not lo <= value <= hi:
        raise UserError(f"{name}: {value} is out of range; allowed {lo}..{hi}", name)


def _float(name: str, value, lo: float, hi: float, what: str | None = None) -> None:
    what = what or name
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise UserError(f"{name}: {what} must be a number in [{lo}, {hi}], got {value!r}", name)
    if not lo <= value <= hi:
        raise UserError(f"{name}: {what} is {value}, allowed range [{lo}, {hi}]", name)
