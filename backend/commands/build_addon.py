"""`ltx-scene build-addon --out dist`: the installable Blender extension zip.

`dist/ltx_scene_control-<version>.zip` holds, at its root, `blender_manifest.toml` and the files of
`blender_addon/`, with `shared/` copied in as a real sub-package (in the repository
`blender_addon/shared` is a symlink to `../shared`: it is dereferenced), so the extension is
self-contained: relative imports only, no `sys.path` edits, no pip at run time. `blender_addon/`
holds only what ships (the headless entry points and scenes live in `tools/`), so nothing is picked
out: only what Python and editors leave behind is skipped (`__pycache__`, compiled files, hidden
files, editor backups).

The manifest is checked here (the fields Blender requires, and their rules); when the bpy module is
installed its own validator (`blender_ext.py validate`, what `blender --command extension validate`
runs) checks the zip too. Neither needs Blender to run: bpy is never imported here.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from shared.atomic_write import finish_atomic, temp_path_beside
from shared.errors import UserError

NAME = "build-addon"
HELP = "Build the Blender extension zip (dist/ltx_scene_control-<version>.zip)"

REPO_ROOT = Path(__file__).resolve().parents[2]
ADDON_DIR = "blender_addon"
MANIFEST = "blender_manifest.toml"
LEFT_BEHIND_SUFFIXES = (".pyc", ".pyo", ".orig", ".rej", ".swp", "~")  # by Python and editors, not sources

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
REQUIRED = (
    "schema_version",
    "id",
    "version",
    "name",
    "tagline",
    "maintainer",
    "type",
    "blender_version_min",
    "license",
)
PERMISSIONS = ("files", "network", "clipboard", "camera", "microphone")


class ManifestError(UserError):
    """The extension manifest breaks a rule Blender enforces."""


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def _terse(field: str, text) -> None:
    """Blender's rule for taglines and permission reasons: short, no trailing punctuation."""
    if not isinstance(text, str) or not text.strip():
        raise ManifestError(f"{field}: must be a non-empty string", field)
    if len(text) > 64:
        raise ManifestError(f"{field}: {len(text)} characters, at most 64 allowed ({text!r})", field)
    if not text[-1].isalnum():
        raise ManifestError(f"{field}: must end with a letter or digit, not punctuation ({text!r})", field)


def check_manifest(manifest: dict) -> dict:
    """Check the fields Blender requires of an add-on extension; returns the manifest."""
    missing = [k for k in REQUIRED if k not in manifest]
    if missing:
        raise ManifestError(f"{MANIFEST}: missing required field(s) {', '.join(missing)}", missing[0])
    if manifest["schema_version"] != "1.0.0":
        raise ManifestError(f'schema_version: expected "1.0.0", got {manifest["schema_version"]!r}', "schema_version")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", str(manifest["id"])):
        raise ManifestError(f"id: {manifest['id']!r} must be a lower-case Python identifier", "id")
    if not SEMVER.match(str(manifest["version"])):
        raise ManifestError(f"version: {manifest['version']!r} is not semantic (e.g. 1.2.3)", "version")
    _terse("tagline", manifest["tagline"])
    if manifest["type"] != "add-on":
        raise ManifestError(f'type: expected "add-on", got {manifest["type"]!r}', "type")
    minimum = str(manifest["blender_version_min"])
    if not re.fullmatch(r"\d+\.\d+\.\d+", minimum) or _version_tuple(minimum) < (4, 2, 0):
        raise ManifestError(
            f"blender_version_min: {minimum!r} must be a version >= 4.2.0 (extensions start with Blender 4.2)",
            "blender_version_min",
        )
    licenses = manifest["license"]
    if (
        not isinstance(licenses, list)
        or not licenses
        or not all(isinstance(x, str) and x.startswith("SPDX:") for x in licenses)
    ):
        raise ManifestError(
            'license: expected a list of "SPDX:..." identifiers, e.g. ["SPDX:GPL-3.0-or-later"]', "license"
        )
    permissions = manifest.get("permissions", {})
    if not isinstance(permissions, dict):
        raise ManifestError('permissions: expected a table of name = "reason"', "permissions")
    for key, reason in permissions.items():
        if key not in PERMISSIONS:
            raise ManifestError(
                f"permissions: unknown permission {key!r}; allowed: {', '.join(PERMISSIONS)}", "permissions"
            )
        _terse(f"permissions.{key}", reason)
    return manifest


def load_manifest(root: Path = REPO_ROOT) -> dict:
    path = root / MANIFEST
    try:
        with open(path, "rb") as fh:
            return check_manifest(tomllib.load(fh))
    except FileNotFoundError:
        raise ManifestError(f"{path} is missing", "manifest") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML ({exc})", "manifest") from None


def _files(addon_dir: Path):
    """(path on disk, name in the zip) for every file of the add-on, symlinks followed."""
    for folder, dirs, files in os.walk(addon_dir, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(LEFT_BEHIND_SUFFIXES) or name.startswith("."):
                continue
            path = Path(folder) / name
            yield path, path.relative_to(addon_dir).as_posix()


def build(out_dir: Path, root: Path = REPO_ROOT) -> Path:
    """Write the extension zip into `out_dir`; returns its path."""
    manifest = load_manifest(root)
    addon_dir = root / ADDON_DIR
    if not (addon_dir / "__init__.py").is_file():
        raise UserError(f"{addon_dir} has no __init__.py; run from the repository", "addon")
    if not (addon_dir / "shared" / "__init__.py").is_file():
        raise UserError(f"{addon_dir / 'shared'} is missing: it must be a symlink to ../shared", "shared")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{manifest['id']}-{manifest['version']}.zip"
    part = temp_path_beside(target, ".zip")
    with zipfile.ZipFile(part, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(root / MANIFEST, MANIFEST)
        for path, name in _files(addon_dir):
            zf.write(path, name)
    finish_atomic(part, target)
    return target


def blender_validator() -> Path | None:
    """Blender's own extension tool (`blender_ext.py`), found beside the bpy module without
    importing it; None when bpy is not installed."""
    try:
        spec = importlib.util.find_spec("bpy")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        for found in sorted(Path(base).glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py")):
            return found
    return None


def validate_with_blender(zip_path: Path) -> str | None:
    """Run Blender's validator on the zip; None when it is not available. Raises on failure."""
    tool = blender_validator()
    if tool is None:
        return None
    result = subprocess.run(
        [sys.executable, str(tool), "validate", str(zip_path)], capture_output=True, text=True, timeout=120
    )
    text = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise ManifestError(f"Blender's extension validator refused {zip_path}: {text}", "manifest")
    return text


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="dist", help="output folder (default: dist)")
    parser.add_argument(
        "--no-validate", action="store_true", help="skip Blender's own validator (the manifest is checked anyway)"
    )


def run(args) -> int:
    target = build(Path(args.out))
    print(f"wrote {target} ({target.stat().st_size / 1024:.0f} KiB)")
    if not args.no_validate:
        text = validate_with_blender(target)
        if text is None:
            print("Blender's validator is not installed (pip install bpy); manifest checked here")
        else:
            print(f"Blender's validator: {text or 'ok'}")
    return 0
