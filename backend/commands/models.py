"""`ltx-scene models list|download`: what model bundles are installed, and fetching official ones.

Bundles live in MODELS_DIR/<name>/bundle.json (default MODELS_DIR: $XDG_DATA_HOME/ltx-scene/models).
`download PRESET` fetches a preset's files (backend/models_catalog.py) with huggingface_hub, which
shows a progress bar per file, then writes the bundle.json and checks it like every user does.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

NAME = "models"
HELP = "list installed model bundles, or download official weights (ltx-scene models download ltx-2.3)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION")
    sub.required = True
    p_list = sub.add_parser(
        "list",
        help="show installed bundles and what is missing",
        description="Show the bundles in MODELS_DIR, whether each is usable, and the presets not installed yet.",
    )
    p_list.add_argument(
        "--dir", type=Path, default=None, help="models folder (default: $XDG_DATA_HOME/ltx-scene/models)"
    )
    p_down = sub.add_parser(
        "download",
        help="fetch a preset's official weights from Hugging Face",
        description="Fetch a preset's official weights with huggingface_hub into "
        "MODELS_DIR/PRESET and write its bundle.json. Finished files are kept: "
        "running it again resumes.",
    )
    p_down.add_argument("preset", metavar="PRESET", help="ltx-2.3 or ltx-2")
    p_down.add_argument(
        "--dir", type=Path, default=None, help="models folder (default: $XDG_DATA_HOME/ltx-scene/models)"
    )
    p_down.add_argument(
        "--quantization",
        choices=("none", "fp8-cast"),
        default="none",
        help="store fp8-cast in the bundle to run the transformer in float8 (less GPU memory)",
    )


def run(args: argparse.Namespace) -> int:
    from shared.data_dir import default_models_dir

    models_dir = (args.dir or default_models_dir()).expanduser()
    if args.models_command == "list":
        return _list(models_dir)
    return _download(args.preset, models_dir, args.quantization)


# --- list -----------------------------------------------------------------------------------------


def _list(models_dir: Path) -> int:
    from backend.bundle import BUNDLE_FILE, Bundle, BundleError
    from backend.models_catalog import PRESETS

    print(f"Model bundles in {models_dir}:")
    found = sorted(p.parent for p in models_dir.glob(f"*/{BUNDLE_FILE}")) if models_dir.is_dir() else []
    installed = set()
    for folder in found:
        try:
            bundle = Bundle.load(folder)
        except BundleError as exc:
            print(f"  {folder.name}: BROKEN - {exc}")
            continue
        installed.add(bundle.name)
        kinds = ", ".join(
            f"{k}{'' if e.scene_pass == k else ' on ' + e.scene_pass} (x{e.reference_downscale_factor})"
            for k, e in bundle.ic_loras.items()
        )
        tag = " [tiny test model: output is noise]" if bundle.tiny else ""
        print(
            f"  {folder.name}: ok - {bundle.architecture}, controls: {kinds}, quantization {bundle.quantization}{tag}"
        )
    if not found:
        print("  (none)")
    missing = [p for name, p in PRESETS.items() if name not in installed]
    if missing:
        print("Not installed:")
        for preset in missing:
            print(
                f"  {preset.name}: {preset.description} (about {preset.approx_gb:.0f} GB) - "
                f"run `ltx-scene models download {preset.name}"
                f"{'' if models_dir == _default() else f' --dir {models_dir}'}`"
            )
    print("For tests and the demo without downloads: `ltx-scene make-tiny-model DIR` (its output is noise).")
    return 0


def _default() -> Path:
    from shared.data_dir import default_models_dir

    return default_models_dir()


# --- download -------------------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    """A short human reason for a failed request, from the exception chain."""
    text = " ".join(str(e) for e in _chain(exc))
    if "Name or service not known" in text or "NameResolution" in text or "Temporary failure in name" in text:
        return "the host name could not be resolved (no network or no DNS)"
    if "Connection refused" in text:
        return "the connection was refused"
    if "timed out" in text.lower() or "Timeout" in text:
        return "the connection timed out"
    if "offline" in text.lower() and "HF_HUB_OFFLINE" in text:
        return "HF_HUB_OFFLINE is set"
    return type(exc).__name__


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _network_error(preset, endpoint: str, exc: BaseException):
    from shared.errors import UserError

    return UserError(
        f"cannot reach {endpoint}: {_reason(exc)}. `ltx-scene models download {preset.name}` needs a network "
        f"connection to fetch the official {preset.architecture} weights (about {preset.approx_gb:.0f} GB). Check "
        f"the connection or the proxy settings (HTTPS_PROXY; HF_ENDPOINT for a mirror), then run the same command "
        f"again: files already fetched are kept. Without network, `ltx-scene make-tiny-model DIR` writes a tiny "
        f"test model that runs everything on a CPU (its output is noise).",
        "network",
    )


def _download(preset_name: str, models_dir: Path, quantization: str) -> int:
    import json

    from backend.bundle import BUNDLE_FILE, FORMAT, VERSION, Bundle
    from backend.models_catalog import PRESETS
    from shared.errors import UserError

    if preset_name not in PRESETS:
        raise UserError(
            f"preset {preset_name!r} is not known; choose one of {', '.join(PRESETS)} "
            f"(`ltx-scene models list` describes them)",
            "preset",
        )
    preset = PRESETS[preset_name]

    import huggingface_hub
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download
    from huggingface_hub import constants as hf_constants
    from huggingface_hub import errors as hf_errors

    endpoint = hf_constants.ENDPOINT
    if hf_constants.HF_HUB_OFFLINE:
        raise UserError(
            f"HF_HUB_OFFLINE is set, so `ltx-scene models download {preset.name}` cannot fetch "
            f"anything: unset HF_HUB_OFFLINE and run it again",
            "network",
        )
    target = models_dir / preset.name

    # One quick request first: without network it fails at once, with one clear message, instead of
    # huggingface_hub's retry loop; it also catches gated or missing repositories before 70 GB of work.
    import requests

    api = HfApi()
    try:
        api.model_info(preset.checkpoint.repo_id, timeout=20)
    except (requests.ConnectionError, requests.Timeout, hf_errors.OfflineModeIsEnabled) as exc:
        raise _network_error(preset, endpoint, exc) from None
    except hf_errors.HfHubHTTPError as exc:
        raise UserError(
            f"{endpoint} refused {preset.checkpoint.repo_id}: {str(exc).splitlines()[0]}. "
            f"Log in with `hf auth login` (or set HF_TOKEN) if the repository is gated, and "
            f"accept its license on the website; then run the same command again",
            "network",
        ) from None

    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {target}: {exc}; choose another folder with --dir", "dir") from None
    free_gb = shutil.disk_usage(target).free / 1e9
    if free_gb < preset.approx_gb:
        print(
            f"warning: {free_gb:.0f} GB free in {target}, the {preset.name} preset needs about "
            f"{preset.approx_gb:.0f} GB",
            flush=True,
        )
    steps = [(f.repo_id, f.filename) for f in preset.files()]
    total = len(steps) + 1
    try:
        for i, (repo_id, filename) in enumerate(steps, 1):
            print(f"[{i}/{total}] {repo_id} / {filename}", flush=True)
            hf_hub_download(repo_id=repo_id, filename=filename, local_dir=target)
        print(f"[{total}/{total}] {preset.gemma_repo} (text encoder, every file)", flush=True)
        snapshot_download(repo_id=preset.gemma_repo, local_dir=target / preset.gemma_dir)
    except (requests.ConnectionError, requests.Timeout, hf_errors.LocalEntryNotFoundError) as exc:
        raise _network_error(preset, endpoint, exc) from None
    except (
        hf_errors.GatedRepoError,
        hf_errors.RepositoryNotFoundError,
        hf_errors.EntryNotFoundError,
        hf_errors.HfHubHTTPError,
    ) as exc:
        raise UserError(
            f"download failed: {str(exc).splitlines()[0]}. If the repository is gated (Gemma is), "
            f"log in with `hf auth login` or set HF_TOKEN and accept its license on "
            f"{endpoint}; then run the same command again (finished files are kept)",
            "network",
        ) from None
    except OSError as exc:
        raise UserError(
            f"download failed writing to {target}: {exc}. Free some disk space or choose another "
            f"folder with --dir, then run the same command again",
            "dir",
        ) from None

    bundle_json = {
        "format": FORMAT,
        "version": VERSION,
        "name": preset.name,
        "architecture": preset.architecture,
        "tiny": False,
        "checkpoint": preset.checkpoint.filename,
        "upsampler": preset.upsampler.filename,
        "gemma_root": preset.gemma_dir,
        "ic_loras": {
            kind: {"path": f.filename, "strength": preset.ic_lora_strength} for kind, f in preset.ic_loras.items()
        },
        "loras": {},
        "quantization": quantization,
        "preset": preset.name,
        "source": f"huggingface_hub {huggingface_hub.__version__} from {endpoint}",
    }
    path = target / BUNDLE_FILE
    path.write_text(json.dumps(bundle_json, indent=2) + "\n")
    bundle = Bundle.load(path)
    print(f"Bundle {bundle.name} ready: {path}")
    for kind in bundle.control_kinds:
        print(
            f"  {kind}: {bundle.ic_loras[kind].path.name} (reference factor "
            f"{bundle.reference_downscale_factor(kind)}, sizes multiple of {bundle.size_multiple(kind)})"
        )
    return 0
