"""The official weights `ltx-scene models download` knows (presets): Lightricks' published file names.

A preset names, per Hugging Face repository, the files of one complete IC-LoRA bundle: the
distilled checkpoint (the IC-LoRA pipeline needs a distilled model), the spatial upsampler, the
Gemma-3 text encoder (every file of its repository) and the IC-LoRA serving each control kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GEMMA_REPO = "google/gemma-3-12b-it-qat-q4_0-unquantized"
GEMMA_DIR = "gemma-3-12b-it-qat-q4_0-unquantized"


@dataclass(frozen=True)
class RemoteFile:
    repo_id: str
    filename: str


@dataclass(frozen=True)
class Preset:
    name: str
    architecture: str
    description: str
    checkpoint: RemoteFile
    upsampler: RemoteFile
    ic_loras: dict[str, RemoteFile]  # control kind -> file (one file may serve several kinds)
    gemma_repo: str = GEMMA_REPO
    gemma_dir: str = GEMMA_DIR
    approx_gb: float = 0.0
    ic_lora_strength: float = 1.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def files(self) -> list[RemoteFile]:
        """Every single file to fetch (the Gemma repository is fetched whole, separately)."""
        out = [self.checkpoint, self.upsampler]
        for remote in self.ic_loras.values():
            if remote not in out:
                out.append(remote)
        return out


_LTX23_UNION = RemoteFile(
    "Lightricks/LTX-2.3-22b-IC-LoRA-Union-Control", "ltx-2.3-22b-ic-lora-union-control-ref0.5.safetensors"
)
_LTX23_TRACKS = RemoteFile(
    "Lightricks/LTX-2.3-22b-IC-LoRA-Motion-Track-Control", "ltx-2.3-22b-ic-lora-motion-track-control-ref0.5.safetensors"
)

PRESETS: dict[str, Preset] = {
    "ltx-2.3": Preset(
        name="ltx-2.3",
        architecture="ltx-2.3",
        description="LTX-2.3 22B distilled + union control (depth/pose/canny) and motion-track IC-LoRAs",
        checkpoint=RemoteFile("Lightricks/LTX-2.3", "ltx-2.3-22b-distilled.safetensors"),
        upsampler=RemoteFile("Lightricks/LTX-2.3", "ltx-2.3-spatial-upscaler-x2-1.0.safetensors"),
        ic_loras={"depth": _LTX23_UNION, "pose": _LTX23_UNION, "canny": _LTX23_UNION, "tracks": _LTX23_TRACKS},
        approx_gb=72.0,
        notes=("The union IC-LoRA reads the control type from the image: depth, pose and canny share it.",),
    ),
    "ltx-2": Preset(
        name="ltx-2",
        architecture="ltx-2",
        description="LTX-2 19B distilled + separate depth, pose and canny IC-LoRAs (no motion tracks)",
        checkpoint=RemoteFile("Lightricks/LTX-2", "ltx-2-19b-distilled.safetensors"),
        upsampler=RemoteFile("Lightricks/LTX-2", "ltx-2-spatial-upscaler-x2-1.0.safetensors"),
        ic_loras={
            "depth": RemoteFile(
                "Lightricks/LTX-2-19b-IC-LoRA-Depth-Control", "ltx-2-19b-ic-lora-depth-control.safetensors"
            ),
            "pose": RemoteFile(
                "Lightricks/LTX-2-19b-IC-LoRA-Pose-Control", "ltx-2-19b-ic-lora-pose-control.safetensors"
            ),
            "canny": RemoteFile(
                "Lightricks/LTX-2-19b-IC-LoRA-Canny-Control", "ltx-2-19b-ic-lora-canny-control.safetensors"
            ),
        },
        approx_gb=66.0,
        notes=("LTX-2 has no official motion-track IC-LoRA: use the ltx-2.3 preset for tracks.",),
    ),
}

DEFAULT_PRESET = "ltx-2.3"


def preset_for_file(filename: str) -> Preset | None:
    """The preset that provides a file of this name, if any (to say which command fetches it)."""
    for preset in PRESETS.values():
        if any(remote.filename == filename for remote in preset.files()):
            return preset
    return None


def preset_for_architecture(architecture: str) -> Preset | None:
    for preset in PRESETS.values():
        if preset.architecture == architecture:
            return preset
    return None
