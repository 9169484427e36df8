"""The model bundle: which files make up one usable LTX-2 / LTX-2.3 IC-LoRA setup.

A bundle is a folder with a `bundle.json` (format "ltx-scene-bundle", version 1)::

    {"format": "ltx-scene-bundle", "version": 1, "name": "ltx-2.3", "architecture": "ltx-2.3",
     "tiny": false,
     "checkpoint": "ltx-2.3-22b-distilled.safetensors",
     "upsampler": "ltx-2.3-spatial-upscaler-x2-1.0.safetensors",
     "gemma_root": "gemma-3-12b-it-qat-q4_0-unquantized",
     "ic_loras": {"depth": {"path": "...union-control-ref0.5.safetensors", "strength": 1.0}, ...,
                  "blockout-to-render": {"path": "studio-blockout.safetensors", "pass": "render",
                                         "strength": 0.9, "description": "our blockout look"}},
     "loras": {"my-style": {"path": "style.safetensors", "strength": 0.8}},
     "quantization": "none"}

`ic_loras` maps each IC-LoRA's *name* to its file and the scene pass that feeds it
(shared/control_kinds.py: render, depth, normal, pose, tracks, canny, mask). A name that is itself a
pass needs no `"pass"` (bundles written before IC-LoRAs had names list exactly the built-in names
depth / pose / tracks / canny and load unchanged); any other name must say its pass.
Paths are relative to the bundle.json (absolute paths are accepted). `Bundle.load` checks every
file before anything heavy is built, reading only safetensors headers (no torch import), and every
problem is a `BundleError` naming the file or field and the command that fixes it. The
`reference_downscale_factor` of each IC-LoRA is read from its safetensors metadata, like the
official pipeline does.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from shared.control_kinds import SCENE_PASSES, ic_lora_name, is_scene_pass
from shared.errors import UserError
from shared.video_rules import size_multiple as _size_multiple

BUNDLE_FILE = "bundle.json"
FORMAT = "ltx-scene-bundle"
VERSION = 1
ARCHITECTURES = ("ltx-2.3", "ltx-2")
QUANTIZATIONS = ("none", "fp8-cast")
CHECKPOINT_SECTIONS = ("transformer", "vae", "audio_vae", "vocoder")
_REQUIRED = ("format", "version", "name", "architecture", "checkpoint", "upsampler", "gemma_root", "ic_loras")
_OPTIONAL = ("tiny", "loras", "quantization", "note", "seed", "preset", "source", "created")
_MAX_HEADER = 100 * 1024 * 1024
_IC_KEYS = ("path", "pass", "strength", "description")
MAX_NAME_CHARS = 200
TINY_GEMMA_FLAG = "ltx_scene_tiny"
TINY_NOTE = (
    "This is the tiny, randomly initialized test model: its output is noise. For real video run "
    "`ltx-scene models download ltx-2.3` (about 70 GB) and point the backend at that bundle."
)


class BundleError(UserError):
    """A model bundle that cannot be used, with the file or field at fault and the fix."""


def read_safetensors_header(path: Path) -> tuple[dict, dict[str, str]]:
    """(tensor entries, `__metadata__`) of a safetensors file, reading the header only.

    Raises ValueError (with the reason) when the file is not a safetensors file.
    """
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise ValueError(f"it is {size} bytes long, too short for a safetensors header")
        length = int.from_bytes(head, "little")
        if length <= 0 or length > _MAX_HEADER or 8 + length > size:
            raise ValueError("its first 8 bytes are not a safetensors header length")
        raw = f.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"its header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ValueError("its header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise ValueError("its __metadata__ is not a JSON object")
    return header, metadata


def is_tiny_gemma_root(gemma_root: Path) -> bool:
    """Whether a Gemma folder is the tiny test Gemma (its config.json carries `"ltx_scene_tiny": true`)."""
    try:
        return bool(json.loads((Path(gemma_root) / "config.json").read_text()).get(TINY_GEMMA_FLAG, False))
    except (OSError, ValueError, AttributeError):
        return False


@dataclass(frozen=True)
class LoraEntry:
    """One LoRA of the bundle: absolute path, strength and its reference downscale factor; an IC-LoRA
    also names the scene pass its control video is made from (`scene_pass`, "" for other LoRAs)."""

    name: str
    path: Path
    strength: float
    reference_downscale_factor: int = 1
    metadata: dict = field(default_factory=dict, compare=False, repr=False)
    scene_pass: str = ""
    description: str = ""


@dataclass(frozen=True)
class Bundle:
    path: Path  # the bundle.json
    name: str
    architecture: str  # "ltx-2.3" | "ltx-2"
    tiny: bool
    checkpoint: Path
    upsampler: Path
    gemma_root: Path
    ic_loras: dict[str, LoraEntry]  # IC-LoRA name -> entry (its scene_pass says what feeds it)
    loras: dict[str, LoraEntry]  # extra style / effect LoRAs by name
    quantization: str  # "none" | "fp8-cast"
    model_version: str = ""
    checkpoint_config: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def control_kinds(self) -> tuple[str, ...]:
        """The IC-LoRA names a job may ask for, in bundle.json order (the built-in names for an
        official bundle: depth, pose, tracks, canny)."""
        return tuple(self.ic_loras)

    def offered(self) -> str:
        """What the bundle offers, for messages: "depth (depth), blockout (render)"."""
        return ", ".join(f"{name} ({e.scene_pass})" for name, e in self.ic_loras.items()) or "none"

    # --- loading ------------------------------------------------------------------------------
    @classmethod
    def load(cls, path_or_dir) -> Bundle:
        """Read and check a bundle.json (or the folder holding one)."""
        path = Path(path_or_dir).expanduser()
        if path.is_dir() or (not path.exists() and path.suffix != ".json"):
            path = path / BUNDLE_FILE  # a folder (also one that does not exist yet: say so by its name)
        path = path.resolve()
        if not path.is_file():
            raise BundleError(
                f"no model bundle at {path}: expected a {BUNDLE_FILE} there. Make the tiny test model with "
                f"`ltx-scene make-tiny-model {path.parent}` or fetch real weights with "
                f"`ltx-scene models download ltx-2.3`; `ltx-scene models list` shows what is installed.",
                "bundle",
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise BundleError(f"{path} is not valid JSON ({exc}); fix or recreate it", "bundle") from None
        return cls.from_dict(data, path)

    @classmethod
    def from_dict(cls, data, path: Path) -> Bundle:
        path = Path(path)
        if not isinstance(data, dict):
            raise BundleError(f"{path}: expected a JSON object, got {type(data).__name__}", "bundle")
        if data.get("format") != FORMAT:
            raise BundleError(
                f"{path}: format is {data.get('format')!r}, expected {FORMAT!r}; "
                f"this is not an ltx-scene bundle description",
                "format",
            )
        if data.get("version") != VERSION:
            raise BundleError(
                f"{path}: version is {data.get('version')!r}; this program reads version {VERSION}. "
                f"Recreate the bundle with this version of ltx-scene",
                "version",
            )
        missing = [key for key in _REQUIRED if key not in data]
        if missing:
            raise BundleError(f"{path}: missing field(s) {', '.join(missing)}", missing[0])
        unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
        if unknown:
            raise BundleError(
                f"{path}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(_REQUIRED + _OPTIONAL)}",
                unknown[0],
            )
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            raise BundleError(f"{path}: name must be a non-empty string, got {name!r}", "name")
        architecture = data["architecture"]
        if architecture not in ARCHITECTURES:
            raise BundleError(
                f"{path}: architecture {architecture!r} is not known; use one of {', '.join(ARCHITECTURES)}",
                "architecture",
            )
        tiny = data.get("tiny", False)
        if not isinstance(tiny, bool):
            raise BundleError(f"{path}: tiny must be true or false, got {tiny!r}", "tiny")
        quantization = data.get("quantization", "none")
        if quantization not in QUANTIZATIONS:
            raise BundleError(
                f"{path}: quantization {quantization!r} is not supported; use one of {', '.join(QUANTIZATIONS)}",
                "quantization",
            )

        ctx = _Context(path, architecture, tiny)
        checkpoint = ctx.file("checkpoint", data["checkpoint"])
        config, model_version = _check_checkpoint(ctx, checkpoint)
        upsampler = ctx.file("upsampler", data["upsampler"])
        _check_upsampler(ctx, upsampler)
        gemma_root = _check_gemma(ctx, data["gemma_root"])

        ic_raw = data["ic_loras"]
        if not isinstance(ic_raw, dict) or not ic_raw:
            raise BundleError(
                f'{path}: ic_loras must map IC-LoRA names to {{"path", "pass", "strength"}} (the pass one of '
                f"{', '.join(SCENE_PASSES)}), got {ic_raw!r}",
                "ic_loras",
            )
        ic_loras = {name: _ic_lora_entry(ctx, name, entry) for name, entry in ic_raw.items()}
        loras_raw = data.get("loras", {}) or {}
        if not isinstance(loras_raw, dict):
            raise BundleError(f'{path}: loras must map names to {{"path", "strength"}}, got {loras_raw!r}', "loras")
        loras = {}
        for lname, entry in loras_raw.items():
            if not isinstance(lname, str) or not lname.strip():
                raise BundleError(f"{path}: every LoRA needs a non-empty name, got {lname!r}", "loras")
            loras[lname] = _lora_entry(ctx, f"loras.{lname}", lname, entry, ic=False)

        bundle = cls(
            path=path,
            name=name,
            architecture=architecture,
            tiny=tiny,
            checkpoint=checkpoint,
            upsampler=upsampler,
            gemma_root=gemma_root,
            ic_loras=ic_loras,
            loras=loras,
            quantization=quantization,
            model_version=model_version,
            checkpoint_config=config,
        )
        for kind in bundle.control_kinds:  # every IC-LoRA must be combinable with every extra LoRA
            bundle.job_loras(kind, list(loras))
        return bundle

    # --- queries ------------------------------------------------------------------------------
    def ic_lora(self, kind: str) -> LoraEntry:
        """The IC-LoRA named `kind`, else the first one fed by the scene pass `kind`."""
        return self.ic_loras[self.ic_lora_key(kind)]

    def ic_lora_key(self, kind: str) -> str:
        """The name of the IC-LoRA a job asking for `kind` gets: `kind` itself when the bundle has an
        IC-LoRA of that name, else the first (bundle.json order) one fed by the scene pass `kind`."""
        if kind in self.ic_loras:
            return kind
        for name, entry in self.ic_loras.items():
            if entry.scene_pass == kind:
                return name
        if kind == "tracks" and self.architecture == "ltx-2":
            hint = (
                " The ltx-2 preset has no motion-track IC-LoRA; use the ltx-2.3 preset "
                "(`ltx-scene models download ltx-2.3`)."
            )
        elif is_scene_pass(kind):
            hint = (
                f' Add an IC-LoRA on the {kind!r} pass to {self.path} (ic_loras.NAME = {{"path", "pass": "{kind}"}}).'
            )
        else:
            hint = " Ask for one of those names."
        raise BundleError(
            f"IC-LoRA {kind!r}: bundle {self.name!r} has no IC-LoRA of that name or on that scene pass "
            f"(it has: {self.offered()}).{hint}",
            "ic_lora" if not is_scene_pass(kind) else "control_kind",
        )

    def resolve_ic_lora(self, ic_lora: str | None, control_kind: str | None) -> tuple[str, LoraEntry]:
        """(name, entry) of a job's IC-LoRA: `ic_lora` by name (its pass must agree with `control_kind`
        when both are given), else the bundle's IC-LoRA for `control_kind` (a name or a pass)."""
        if ic_lora is not None:
            if ic_lora not in self.ic_loras:
                raise BundleError(
                    f"ic_lora: bundle {self.name!r} has no IC-LoRA named {ic_lora!r}; it has: {self.offered()}",
                    "ic_lora",
                )
            entry = self.ic_loras[ic_lora]
            if control_kind is not None and control_kind not in (entry.scene_pass, ic_lora):
                raise BundleError(
                    f"control_kind: IC-LoRA {ic_lora!r} follows the {entry.scene_pass!r} pass, but the job asks for "
                    f"{control_kind!r}; leave control_kind empty or set it to {entry.scene_pass!r}",
                    "control_kind",
                )
            return ic_lora, entry
        if control_kind is None:
            raise BundleError(
                f"ic_lora: say which IC-LoRA to use (one of: {self.offered()})",
                "ic_lora",
            )
        key = self.ic_lora_key(control_kind)
        return key, self.ic_loras[key]

    def reference_downscale_factor(self, kind: str) -> int:
        return self.ic_lora(kind).reference_downscale_factor

    def size_multiple(self, kind: str) -> int:
        """Width and height of a `kind` job must be multiples of this (64 x the reference factor)."""
        return _size_multiple(self.reference_downscale_factor(kind))

    def job_loras(self, kind: str, names: list[str] | tuple[str, ...] = ()) -> tuple[list[LoraEntry], int]:
        """The LoRAs one job uses (the kind's IC-LoRA first, then the named extras) and their common
        reference downscale factor. Refuses unknown names and LoRAs whose factors disagree (the
        official pipeline cannot combine them)."""
        entries = [self.ic_lora(kind)]
        for lname in names:
            if lname not in self.loras:
                have = ", ".join(sorted(self.loras)) or "none"
                raise BundleError(f"loras: {lname!r} is not in bundle {self.name!r} (it has: {have})", "loras")
            entries.append(self.loras[lname])
        factor, source = 1, None
        for entry in entries:
            if entry.reference_downscale_factor == 1:
                continue
            if factor not in (1, entry.reference_downscale_factor):
                raise BundleError(
                    f"{entry.path.name} has reference_downscale_factor {entry.reference_downscale_factor} but "
                    f"{source.path.name} has {factor}: LoRAs used in the same job must share one reference "
                    f"factor. Remove one of them from the job or from {self.path}",
                    "loras",
                )
            factor, source = entry.reference_downscale_factor, entry
        return entries, factor

    def files(self) -> dict[str, Path]:
        """Role -> path of every model file a job may read (the sidecar records their hashes)."""
        out = {"checkpoint": self.checkpoint, "upsampler": self.upsampler}
        out.update({ic_lora_name(kind): e.path for kind, e in self.ic_loras.items()})
        out.update({f"lora:{name}": e.path for name, e in self.loras.items()})
        for p in sorted(self.gemma_root.rglob("*.safetensors")):
            out[f"text_encoder:{p.relative_to(self.gemma_root)}"] = p
        return out

    def check_files(self) -> None:
        """Refuse a bundle whose files went away after it was loaded (e.g. deleted while a server starts)."""
        missing = [f"{role}: {p}" for role, p in self.files().items() if not Path(p).is_file()]
        if not self.gemma_root.is_dir():
            missing.append(f"gemma_root: {self.gemma_root}")
        if missing:
            raise BundleError(
                "model bundle: missing file(s): "
                + "; ".join(missing)
                + ". Re-download the weights (`ltx-scene models download`) or fix bundle.json",
                "model",
            )

    def describe(self) -> dict:
        """What /v1/models reports: no server paths, only file names."""
        return {
            "name": self.name,
            "architecture": self.architecture,
            "model_version": self.model_version,
            "tiny_model": self.tiny,
            "quantization": self.quantization,
            "checkpoint": self.checkpoint.name,
            "upsampler": self.upsampler.name,
            "text_encoder": self.gemma_root.name,
            "control_kinds": list(self.control_kinds),
            "ic_loras": {
                name: {
                    "file": entry.path.name,
                    "pass": entry.scene_pass,
                    "description": entry.description,
                    "strength": entry.strength,
                    "reference_downscale_factor": entry.reference_downscale_factor,
                    "size_multiple": self.size_multiple(name),
                }
                for name, entry in self.ic_loras.items()
            },
            "loras": {
                name: {
                    "file": e.path.name,
                    "strength": e.strength,
                    "reference_downscale_factor": e.reference_downscale_factor,
                }
                for name, e in self.loras.items()
            },
            "note": TINY_NOTE if self.tiny else "",
        }


# --- checks -------------------------------------------------------------------------------------


@dataclass
class _Context:
    path: Path
    architecture: str
    tiny: bool

    @property
    def folder(self) -> Path:
        return self.path.parent

    def fix(self, filename: str | None = None) -> str:
        """The command that (re)creates the files of this bundle."""
        if self.tiny:
            arch = "" if self.architecture == "ltx-2.3" else f" --architecture {self.architecture}"
            return f"run `ltx-scene make-tiny-model {self.folder}{arch}` to rebuild the tiny test model"
        from .models_catalog import preset_for_architecture, preset_for_file

        preset = (preset_for_file(filename) if filename else None) or preset_for_architecture(self.architecture)
        if preset is None:
            return "download the file again"
        dir_arg = f" --dir {self.folder.parent}" if self.folder.name == preset.name else ""
        return f"run `ltx-scene models download {preset.name}{dir_arg}`"

    def resolve(self, field_name: str, value) -> Path:
        if not isinstance(value, str) or not value.strip():
            raise BundleError(
                f"{self.path}: {field_name} must be a file path (relative to the bundle.json), got {value!r}",
                field_name,
            )
        p = Path(value).expanduser()
        return (p if p.is_absolute() else self.folder / p).resolve()

    def file(self, field_name: str, value) -> Path:
        p = self.resolve(field_name, value)
        if not p.is_file():
            where = "is a folder, not a file" if p.is_dir() else "not found"
            raise BundleError(f"{field_name} {p.name} {where} in {p.parent}: {self.fix(p.name)}", field_name)
        return p

    def header(self, field_name: str, p: Path) -> tuple[dict, dict]:
        try:
            return read_safetensors_header(p)
        except (OSError, ValueError) as exc:
            raise BundleError(
                f"{field_name} {p} is not a safetensors file: {exc}. "
                f"It may be truncated or the wrong file; {self.fix(p.name)}",
                field_name,
            ) from None


def _check_checkpoint(ctx: _Context, p: Path) -> tuple[dict, str]:
    tensors, metadata = ctx.header("checkpoint", p)
    if "config" not in metadata:
        raise BundleError(
            f"checkpoint {p.name} has no `config` metadata: it is not an official LTX-2 "
            f"single-file checkpoint (a diffusers folder or a stripped file?); {ctx.fix(p.name)}",
            "checkpoint",
        )
    try:
        config = json.loads(metadata["config"])
    except ValueError as exc:
        raise BundleError(
            f"checkpoint {p.name}: its `config` metadata is not JSON ({exc}); {ctx.fix(p.name)}", "checkpoint"
        ) from None
    missing = [s for s in CHECKPOINT_SECTIONS if not isinstance(config, dict) or s not in config]
    if missing:
        raise BundleError(
            f"checkpoint {p.name}: its config lacks the section(s) {', '.join(missing)} "
            f"(needed: {', '.join(CHECKPOINT_SECTIONS)}); {ctx.fix(p.name)}",
            "checkpoint",
        )
    if not any(k.startswith("model.diffusion_model.") for k in tensors):
        raise BundleError(
            f"checkpoint {p.name} holds no transformer weights (model.diffusion_model.*); {ctx.fix(p.name)}",
            "checkpoint",
        )
    found = "ltx-2.3" if config["transformer"].get("caption_proj_before_connector") else "ltx-2"
    if found != ctx.architecture:
        raise BundleError(
            f"checkpoint {p.name} is an {found} checkpoint but {ctx.path.name} says architecture "
            f'{ctx.architecture!r}; set "architecture": "{found}" or use the matching checkpoint',
            "architecture",
        )
    return config, str(metadata.get("model_version", ""))


def _check_upsampler(ctx: _Context, p: Path) -> None:
    tensors, metadata = ctx.header("upsampler", p)
    if "config" not in metadata:
        raise BundleError(
            f"upsampler {p.name} has no `config` metadata: it is not an LTX-2 spatial upsampler; {ctx.fix(p.name)}",
            "upsampler",
        )
    if any(k.startswith("model.diffusion_model.") for k in tensors):
        raise BundleError(
            f"upsampler {p.name} is a model checkpoint, not the spatial upsampler; {ctx.fix(p.name)}", "upsampler"
        )


def _check_gemma(ctx: _Context, value) -> Path:
    root = ctx.resolve("gemma_root", value)
    if ctx.tiny:
        fix = ctx.fix()
    else:
        from .models_catalog import GEMMA_REPO

        fix = f"{ctx.fix()} (the text encoder is every file of {GEMMA_REPO})"
    if not root.is_dir():
        raise BundleError(f"gemma_root {root.name} not found in {root.parent}: {fix}", "gemma_root")
    for pattern, what in (
        ("model*.safetensors", "the Gemma weights"),
        ("tokenizer.model", "the tokenizer"),
        ("preprocessor_config.json", "the image processor config"),
    ):
        if next(root.rglob(pattern), None) is None:
            raise BundleError(f"gemma_root {root}: no {pattern} ({what}) in it; {fix}", "gemma_root")
    tiny_gemma = is_tiny_gemma_root(root)
    if tiny_gemma and not ctx.tiny:
        raise BundleError(
            f'gemma_root {root} holds the tiny test Gemma but {ctx.path.name} says "tiny": false; '
            f'point gemma_root at the real Gemma-3 folder or set "tiny": true',
            "gemma_root",
        )
    if ctx.tiny and not tiny_gemma:
        raise BundleError(
            f"gemma_root {root} is not a tiny test Gemma (its config.json lacks "
            f'"ltx_scene_tiny": true) but {ctx.path.name} says "tiny": true; {fix}',
            "gemma_root",
        )
    return root


def _ic_lora_entry(ctx: _Context, name, entry) -> LoraEntry:
    """One `ic_loras` entry: its name, the scene pass that feeds it, its file (reference factor read
    from the file's metadata), strength and description."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS or "/" in name or "\\" in name:
        raise BundleError(
            f"{ctx.path}: every IC-LoRA needs a short name without slashes (jobs ask for it by name), got {name!r}",
            "ic_loras",
        )
    field_name = f"ic_loras.{name}"
    if not isinstance(entry, dict) or "path" not in entry:
        raise BundleError(
            f'{ctx.path}: {field_name} must be {{"path": ..., "pass": ..., "strength": ...}}, got {entry!r}',
            field_name,
        )
    extra = sorted(set(entry) - set(_IC_KEYS))
    if extra:
        raise BundleError(
            f"{ctx.path}: {field_name} has unknown key(s) {', '.join(extra)}; allowed: {', '.join(_IC_KEYS)}",
            field_name,
        )
    scene_pass = entry.get("pass", name if is_scene_pass(name) else None)
    if scene_pass is None:
        raise BundleError(
            f'{ctx.path}: {field_name} needs a "pass": the scene pass that feeds this IC-LoRA, one of '
            f"{', '.join(SCENE_PASSES)}",
            f"{field_name}.pass",
        )
    if not is_scene_pass(scene_pass):
        raise BundleError(
            f"{ctx.path}: {field_name}.pass {scene_pass!r} is not a scene pass; use one of {', '.join(SCENE_PASSES)}",
            f"{field_name}.pass",
        )
    description = entry.get("description", "")
    if not isinstance(description, str) or len(description) > 1000:
        raise BundleError(
            f"{ctx.path}: {field_name}.description must be text (at most 1000 characters), got {description!r}",
            f"{field_name}.description",
        )
    plain = {k: v for k, v in entry.items() if k in ("path", "strength")}
    lora = _lora_entry(ctx, field_name, name, plain, ic=True)
    return replace(lora, scene_pass=scene_pass, description=description)


def _lora_entry(ctx: _Context, field_name: str, name: str, entry, ic: bool) -> LoraEntry:
    if not isinstance(entry, dict) or "path" not in entry:
        raise BundleError(
            f'{ctx.path}: {field_name} must be {{"path": ..., "strength": ...}}, got {entry!r}', field_name
        )
    extra = sorted(set(entry) - {"path", "strength"})
    if extra:
        raise BundleError(
            f"{ctx.path}: {field_name} has unknown key(s) {', '.join(extra)}; allowed: path, strength", field_name
        )
    strength = entry.get("strength", 1.0)
    low, high = (0.0, 2.0) if ic else (-2.0, 2.0)
    if (
        isinstance(strength, bool)
        or not isinstance(strength, (int, float))
        or not math.isfinite(strength)
        or not low <= strength <= high
        or (ic and strength == 0)
    ):
        bounds = "in (0, 2]" if ic else "in [-2, 2]"
        raise BundleError(
            f"{ctx.path}: {field_name}.strength must be a number {bounds}, got {strength!r}", f"{field_name}.strength"
        )
    return _read_lora_file(ctx, field_name, name, ctx.file(field_name, entry["path"]), float(strength))


def lora_entry_from_file(name: str, path, strength: float, field_name: str = "loras") -> LoraEntry:
    """A LoRA given by path for one job (`ltx-scene generate --lora FILE=S`), checked like a bundle's."""
    p = Path(path).expanduser().resolve()
    ctx = _Context(p, "", tiny=False)
    if not p.is_file():
        raise BundleError(f"{field_name}: LoRA file {p} not found; check the path", field_name)
    return _read_lora_file(ctx, field_name, name, p, float(strength))


def _read_lora_file(ctx: _Context, field_name: str, name: str, p: Path, strength: float) -> LoraEntry:
    """The checks every LoRA file gets and the one place its reference_downscale_factor is read."""
    if p.suffix != ".safetensors":
        raise BundleError(
            f"{field_name} {p.name} is not a .safetensors file; LoRAs must be safetensors "
            f"(convert it or download the .safetensors release)",
            field_name,
        )
    tensors, metadata = ctx.header(field_name, p)
    if not any(k.endswith(".lora_A.weight") for k in tensors):
        raise BundleError(
            f"{field_name} {p.name} has no LoRA weights (*.lora_A.weight / *.lora_B.weight keys); "
            f"it is not a LoRA in the format ltx-core loads",
            field_name,
        )
    raw_factor = metadata.get("reference_downscale_factor", "1")
    try:
        factor = int(raw_factor)
    except (TypeError, ValueError):
        factor = 0
    if factor < 1:
        raise BundleError(
            f"{field_name} {p.name}: its reference_downscale_factor metadata is {raw_factor!r}, "
            f"expected a positive integer; the file is damaged or not an IC-LoRA",
            field_name,
        )
    return LoraEntry(name=name, path=p, strength=strength, reference_downscale_factor=factor, metadata=dict(metadata))
