"""Which model bundle the demo uses, in this order:

1. `--model BUNDLE` (a bundle.json or its folder),
2. the environment variable LTX_SCENE_MODEL,
3. a real (non-tiny) bundle installed under `ltx-scene models`' folder (the `ltx-2.3` preset first),
4. otherwise the tiny test bundle, made once into OUT/tiny-bundle and reused by later runs.

The tiny bundle is randomly initialized: what it generates is noise. `TINY_EXPLANATION` says so and
names the command that downloads the real weights; the demo prints it at the start and the end.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from backend.bundle import BUNDLE_FILE, Bundle, BundleError
from shared.data_dir import default_models_dir

ENV_VAR = "LTX_SCENE_MODEL"
TINY_DIR = "tiny-bundle"
REAL_WEIGHTS_HOWTO = (
    "For real video fetch the official weights with `ltx-scene models download ltx-2.3` (about 70 GB; "
    "generation needs a GPU with enough memory), then run `make demo` again (it finds the installed "
    f"bundle), or pass `--model BUNDLE` / set {ENV_VAR}=/path/to/bundle.json."
)
TINY_EXPLANATION = (
    "No real model bundle was found, so the demo uses the TINY TEST MODEL: it is randomly initialized "
    "and everything it generates is NOISE (the controls, the scene and the strips are real). " + REAL_WEIGHTS_HOWTO
)


@dataclass(frozen=True)
class ChosenBundle:
    bundle: Bundle
    how: str  # "--model", "LTX_SCENE_MODEL", "installed", "tiny (made now)", "tiny (reused)"

    @property
    def tiny(self) -> bool:
        return self.bundle.tiny

    def explanation(self) -> str:
        """What to tell the user about a tiny bundle ("" for a real one)."""
        if not self.tiny:
            return ""
        if self.how.startswith("tiny"):
            return TINY_EXPLANATION
        return (
            f"{self.bundle.path} (from {self.how}) is the TINY TEST MODEL: it is randomly initialized "
            "and everything it generates is NOISE (the controls, the scene and the strips are real). "
            + REAL_WEIGHTS_HOWTO
        )


def installed_real_bundles(models_dir: Path | None = None) -> list[Bundle]:
    """Usable, non-tiny bundles under the models folder; the default preset first, then by name."""
    models_dir = Path(models_dir or default_models_dir()).expanduser()
    if not models_dir.is_dir():
        return []
    found = []
    for path in sorted(models_dir.glob(f"*/{BUNDLE_FILE}")):
        try:
            bundle = Bundle.load(path)
        except BundleError:
            continue  # `ltx-scene models list` explains broken ones
        if not bundle.tiny:
            found.append(bundle)
    from backend.models_catalog import DEFAULT_PRESET

    return sorted(found, key=lambda b: (b.folder.name != DEFAULT_PRESET, b.folder.name))


def choose_bundle(
    explicit: str | Path | None, out_dir: Path, progress=None, models_dir: Path | None = None
) -> ChosenBundle:
    """The bundle to run, following the order above. Raises `BundleError` for a broken explicit one."""
    if explicit:
        return ChosenBundle(Bundle.load(explicit), "--model")
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        try:
            return ChosenBundle(Bundle.load(env), ENV_VAR)
        except BundleError as exc:
            raise BundleError(f"{ENV_VAR}={env}: {exc}; fix the variable or unset it", ENV_VAR) from None
    real = installed_real_bundles(models_dir)
    if real:
        return ChosenBundle(real[0], "installed")
    tiny_dir = Path(out_dir) / TINY_DIR
    if (tiny_dir / BUNDLE_FILE).is_file():
        try:
            bundle = Bundle.load(tiny_dir)
            if bundle.tiny:
                return ChosenBundle(bundle, "tiny (reused)")
        except BundleError:
            pass  # half-written by an interrupted run: make it again
    from backend.tiny_model import make_tiny_model

    path = make_tiny_model(tiny_dir, architecture="ltx-2.3", seed=0, progress=progress)
    return ChosenBundle(Bundle.load(path), "tiny (made now)")
