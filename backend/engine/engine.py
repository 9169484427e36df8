"""The engine: every model built once and kept resident; one job at a time on top of them.

A job follows the stock `ltx_pipelines.ic_lora.ICLoraPipeline.__call__` step for step, composed from
the same official building blocks (ModelLedger builders, the conditioning items,
`denoise_audio_video`, `upsample_video`, `decode_video` / `decode_audio`), with three differences
that change no number:
- models come from the resident set instead of being rebuilt from disk for every job;
- stage 1 runs with the IC-LoRA switched on at run time on the one resident transformer and stage 2
  with it off (`lora.RuntimeLoras`, bit-identical to the stock build-time fusion);
- the denoising loop is the stock Euler loop plus a progress event and a cancellation check per step.
Prompt encodings are cached per prompt text.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np
import torch

import ltx_pipelines  # noqa: F401  (import before ltx_core.quantization: circular import otherwise)
from ltx_core.components.diffusion_steps import EulerDiffusionStep
from ltx_core.components.noisers import GaussianNoiser
from ltx_core.model.audio_vae import decode_audio as vae_decode_audio
from ltx_core.model.upsampler import upsample_video
from ltx_core.model.video_vae import SpatialTilingConfig, TemporalTilingConfig, TilingConfig
from ltx_core.model.video_vae import decode_video as vae_decode_video
from ltx_core.quantization import QuantizationPolicy
from ltx_core.types import VideoPixelShape
from ltx_pipelines.utils import denoise_audio_video, simple_denoising_func
from ltx_pipelines.utils.constants import DISTILLED_SIGMA_VALUES, STAGE_2_DISTILLED_SIGMA_VALUES
from ltx_pipelines.utils.helpers import post_process_latent
from ltx_pipelines.utils.types import PipelineComponents

from backend.bundle import QUANTIZATIONS as BUNDLE_QUANTIZATIONS
from backend.bundle import Bundle
from backend.file_hashes import FileHashes, default_cache_file
from backend.memory import MemoryPlan, detect_budgets, plan_memory, sizes_from_bundle
from backend.memory.activations import JobShape
from backend.memory.planner import TILINGS
from shared.errors import UserError
from shared.job_spec import GenerationSpec

from . import conditioning as cond
from .control import ControlInput, KeyframeImage, attention_mask_frames, control_frames, keyframe_images
from .device import free_memory, resolve_device, synchronize
from .host_memory import keep_host_memory
from .lora import precheck_loras
from .models import Models, build_models
from .plan import JobPlan, first_frame_image, make_plan
from .progress import JobCancelled, JobTracker, ProgressEvent, stage_weights
from .sidecar import build_sidecar, decoded_digests, keyframe_record, write_sidecar

__all__ = [
    "ControlInput",
    "Engine",
    "GeneratedMedia",
    "GenerationResult",
    "JobCancelled",
    "KeyframeImage",
    "ProgressEvent",
]

PROMPT_CACHE_SIZE = 32
QUANTIZATIONS = {"none": None, "fp8-cast": QuantizationPolicy.fp8_cast}
assert set(QUANTIZATIONS) == set(BUNDLE_QUANTIZATIONS)


@dataclass(frozen=True)
class MemoryOptions:
    """What the memory plan is made for (`serve` / `generate` options; tests force tiers).

    vram_gb / ram_gb: the card and the RAM (None: measured free memory / available RAM).
    width / height / frames: the largest job the plan must hold (jobs above it are refused).
    tier / resident_blocks: force a tier (and the transformer blocks kept resident) instead of choosing.
    disk_dir: where the `disk` tier maps its weight files from (default: the system's temp folder).
    """

    vram_gb: float | None = None
    ram_gb: float | None = None
    width: int = 768
    height: int = 512
    frames: int = 121
    tier: str | None = None
    resident_blocks: int | None = None
    disk_dir: Path | None = None


@dataclass
class GenerationResult:
    video_path: Path
    sidecar_path: Path
    control_video_path: Path
    frames: int
    fps: Fraction
    width: int
    height: int


@dataclass
class GeneratedMedia:
    """A job's output before it is written: what `Engine.generate` returns (and the parity tests compare)."""

    video: np.ndarray  # (F, H, W, 3) uint8
    audio: np.ndarray  # (channels, samples) float32
    sample_rate: int
    control: np.ndarray  # (F, h, w, 3) uint8, the control video at the reference size
    plan: JobPlan
    has_mask: bool
    has_first_frame: bool
    stage_seconds: dict[str, float] = field(default_factory=dict)
    keyframes: list[KeyframeImage] = field(default_factory=list)  # the images used, in the spec's order


class Engine:
    """`Engine(bundle, device="auto")`; `run(spec, control, out_dir, on_progress, cancel)`; `describe()`.

    Models load on the first job (its "load" stage) or on `load()`; they then stay resident. Jobs
    are serialized by a lock: the server may call `run` from several threads.
    """

    def __init__(
        self,
        bundle: Bundle | str | Path,
        device: str | torch.device = "auto",
        tiling: TilingConfig | None = None,
        quantization: str | None = None,
        memory: MemoryOptions | None = None,
        tune_host_malloc: bool = False,
        hashes: FileHashes | None = None,
    ):
        """bundle: a `Bundle` or its path. quantization: None = the bundle's; "none" / "fp8-cast" override it.

        memory: what the memory plan is made for (default: this device's free memory and RAM, a
        768x512x121 job); the plan is decided here, before any weight loads, and a budget that cannot
        work raises `MemoryPlanError`. tune_host_malloc: apply `host_memory.keep_host_memory()` (glibc
        malloc settings for a CPU engine in a long-running server; see that module). hashes: where model
        file hashes are remembered (default: the data folder's `file-hashes.json`).
        """
        if not isinstance(bundle, Bundle):
            bundle = Bundle.load(bundle)
        if quantization is not None:
            if quantization not in QUANTIZATIONS:
                raise UserError(
                    f"quantization {quantization!r} is not supported; allowed: {', '.join(QUANTIZATIONS)}",
                    field="quantization",
                )
            bundle = replace(bundle, quantization=quantization)
        bundle.check_files()
        self.bundle = bundle
        self.device = resolve_device(device)
        if tune_host_malloc and self.device.type == "cpu":
            keep_host_memory()  # before any worker thread allocates: see host_memory.py
        self.dtype = torch.bfloat16
        precheck_loras(bundle)
        self.hashes = hashes if hashes is not None else FileHashes(default_cache_file())
        self.memory_options = memory or MemoryOptions()
        self.memory_plan: MemoryPlan = self._plan_memory(self.memory_options)
        self.tiling = tiling if tiling is not None else _tiling_config(self.memory_plan.tiling)
        self.components = PipelineComponents(dtype=self.dtype, device=self.device)
        self._models: Models | None = None
        self._prompts: OrderedDict[str, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()
        self._lock = threading.RLock()
        self.load_seconds: float | None = None

    def _plan_memory(self, opts: MemoryOptions) -> MemoryPlan:
        factor = max(e.reference_downscale_factor for e in self.bundle.ic_loras.values())
        job = JobShape(opts.width, opts.height, opts.frames, reference_downscale_factor=factor)
        budgets = detect_budgets(self.device, opts.vram_gb, opts.ram_gb)
        return plan_memory(
            sizes_from_bundle(self.bundle),
            job,
            budgets,
            force_tier=opts.tier,
            force_resident_blocks=opts.resident_blocks,
        )

    # ------------------------------------------------------------------------------------ models
    @property
    def loaded(self) -> bool:
        return self._models is not None

    def load(self) -> None:
        """Build every model once (idempotent)."""
        with self._lock:
            if self._models is not None:
                return
            t0 = time.perf_counter()
            with torch.inference_mode(False):
                self._models = self._build()
            self.load_seconds = time.perf_counter() - t0
            # The sidecar records every model file's SHA-256; for real weights (~70 GB) that takes about
            # a minute, so it starts now in the background instead of delaying the first job's write.
            threading.Thread(target=self._hash_files, name="ltx-scene-hash", daemon=True).start()

    def _hash_files(self) -> None:
        for path in self.bundle.files().values():
            try:
                self.hashes.sha256(path)
            except OSError:
                pass

    def _build(self) -> Models:
        factory = QUANTIZATIONS[self.bundle.quantization]
        return build_models(
            self.bundle,
            self.memory_plan,
            self.device,
            self.dtype,
            factory() if factory is not None else None,
            self.memory_options.disk_dir,
        )

    def describe(self) -> dict:
        """What GET /v1/models reports: the bundle's description plus what this engine runs it with."""
        return {
            **self.bundle.describe(),
            "device": str(self.device),
            "dtype": "bfloat16",
            "loaded": self.loaded,
            "memory": self.memory_summary(),
            "frames_rule": "8k+1, at least 9",
            "preview": "stage 1 only, half the width and height",
            "stages": {
                "stage1_steps": len(DISTILLED_SIGMA_VALUES) - 1,
                "stage2_steps": len(STAGE_2_DISTILLED_SIGMA_VALUES) - 1,
            },
        }

    def memory_summary(self) -> dict:
        """The plan in a few fields (`/v1/health`, the add-on's Backend panel, the sidecar)."""
        d = self.memory_plan.describe()
        return {
            k: d[k]
            for k in (
                "tier",
                "summary",
                "peak_device_bytes",
                "peak_host_bytes",
                "pinned_bytes",
                "resident_blocks",
                "blocks",
                "storage",
                "text_encoder_on_demand",
            )
        }

    # ------------------------------------------------------------------------------------ jobs
    def plan(self, spec: GenerationSpec, control: ControlInput) -> JobPlan:
        """Validate a job without running it (no model work): raises UserError on bad input."""
        plan = make_plan(spec, control, self.bundle)
        self.memory_plan.check_job(
            JobShape(
                plan.width,
                plan.height,
                plan.frames,
                float(plan.fps),
                plan.reference_downscale_factor,
                masked=control.mask is not None or plan.attention_strength < 1.0,
                keyframes=sum(1 for k in plan.keyframes if k["frame"] != 0),  # frame 0 replaces, adds none
            )
        )
        return plan

    def run(
        self,
        spec: GenerationSpec,
        control: ControlInput,
        out_dir,
        on_progress=None,
        cancel: threading.Event | None = None,
    ) -> GenerationResult:
        """Generate and write `video.mp4`, `control.mkv` (lossless) and `video.json` into out_dir."""
        plan = self.plan(spec, control)
        with self._lock:
            tracker = JobTracker(on_progress, cancel, stage_weights(plan.preview, needs_load=not self.loaded))
            media = self._generate(plan, control, tracker)
            tracker.begin("write", 3, "writing the mp4, the control video and the sidecar")
            result = self._write(media, Path(out_dir), tracker)
            tracker.report("write", 3, 3, "done")
            tracker.finish()
            return result

    def generate(
        self,
        spec: GenerationSpec,
        control: ControlInput,
        on_progress: Callable[[ProgressEvent], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> GeneratedMedia:
        """The job without writing files: frames, audio and the control used (for tests and tools)."""
        plan = self.plan(spec, control)
        with self._lock:
            tracker = JobTracker(on_progress, cancel, stage_weights(plan.preview, needs_load=not self.loaded))
            media = self._generate(plan, control, tracker)
            tracker.finish()
            media.stage_seconds = dict(tracker.stage_seconds)
            return media

    def _generate(self, plan: JobPlan, control: ControlInput, tracker: JobTracker) -> GeneratedMedia:
        # Array-side preparation first: bad control data fails before any model loads.
        control_video = control_frames(control, plan.kind, plan.frames, plan.ref_width, plan.ref_height)
        mask = attention_mask_frames(control, plan.frames, plan.stage1_width, plan.stage1_height)
        image = first_frame_image(plan.spec, control)
        keyframes = keyframe_images(plan.spec, control)

        if not self.loaded:
            tracker.begin("load", 1, "building the models (once per engine)")
            self.load()
            tracker.report("load", 1, 1, f"models ready in {self.load_seconds:.1f} s")
        m = self._models
        try:
            with torch.inference_mode():
                return self._sample(plan, m, control_video, mask, image, keyframes, tracker)
        finally:
            free_memory(self.device)

    def _encode_prompt(self, prompt: str, m: Models) -> tuple[torch.Tensor, torch.Tensor]:
        if prompt in self._prompts:
            self._prompts.move_to_end(prompt)
            return self._prompts[prompt]
        with m.on_device("text_encoder", "embeddings_processor"):
            hidden_states, attention_mask = m.text_encoder.encode(prompt)
            out = m.embeddings_processor.process_hidden_states(hidden_states, attention_mask)
        value = (out.video_encoding, out.audio_encoding)
        self._prompts[prompt] = value
        while len(self._prompts) > PROMPT_CACHE_SIZE:
            self._prompts.popitem(last=False)
        return value

    def _loop(self, stage: str, transformer, video_context, audio_context, tracker: JobTracker):
        """The stock `euler_denoising_loop`, plus a cancellation check before and an event after each step."""
        denoise_fn = simple_denoising_func(
            video_context=video_context, audio_context=audio_context, transformer=transformer
        )

        def loop(sigmas, video_state, audio_state, stepper):
            total = len(sigmas) - 1
            for step_idx in range(total):
                tracker.check_cancel()
                denoised_video, denoised_audio = denoise_fn(video_state, audio_state, sigmas, step_idx)
                denoised_video = post_process_latent(denoised_video, video_state.denoise_mask, video_state.clean_latent)
                denoised_audio = post_process_latent(denoised_audio, audio_state.denoise_mask, audio_state.clean_latent)
                video_state = replace(
                    video_state, latent=stepper.step(video_state.latent, denoised_video, sigmas, step_idx)
                )
                audio_state = replace(
                    audio_state, latent=stepper.step(audio_state.latent, denoised_audio, sigmas, step_idx)
                )
                synchronize(self.device)
                tracker.report(stage, step_idx + 1, total, f"{stage} step {step_idx + 1}/{total}")
            return video_state, audio_state

        return loop

    def _sample(
        self,
        plan: JobPlan,
        m: Models,
        control_video: np.ndarray,
        mask: np.ndarray | None,
        image: np.ndarray | None,
        keyframes: list[KeyframeImage],
        tracker: JobTracker,
    ) -> GeneratedMedia:
        device, dtype = self.device, self.dtype
        fps = float(plan.fps)
        generator = torch.Generator(device=device).manual_seed(plan.seed)
        noiser = GaussianNoiser(generator=generator)
        stepper = EulerDiffusionStep()

        tracker.begin("prompt", 1, "encoding the prompt")
        video_context, audio_context = self._encode_prompt(plan.prompt, m)
        tracker.report("prompt", 1, 1, "prompt encoded")

        tracker.begin("control", 2, "encoding the control video")
        s1 = VideoPixelShape(batch=1, frames=plan.frames, width=plan.stage1_width, height=plan.stage1_height, fps=fps)
        stage1_items = []
        with m.on_device("video_encoder"):
            if image is not None:
                stage1_items.append(
                    cond.first_frame_item(m.video_encoder, cond.image_tensor(image, s1.height, s1.width, device, dtype))
                )
            # Keyframe looks: the stock `images` list in the spec's order, before the reference tokens.
            stage1_items += self._keyframe_items(plan, m, keyframes, s1)
            reference = cond.reference_video_tensor(control_video, plan.ref_height, plan.ref_width, device, dtype)
            mask_t = cond.mask_tensor(mask, device) if mask is not None else None
            stage1_items.append(
                cond.reference_item(
                    m.video_encoder,
                    reference,
                    plan.reference_downscale_factor,
                    plan.conditioning_strength,
                    plan.attention_strength,
                    mask_t,
                )
            )
        tracker.report("control", 2, 2, "control encoded")

        stage1_sigmas = torch.Tensor(DISTILLED_SIGMA_VALUES).to(device)
        tracker.begin("stage1", len(stage1_sigmas) - 1, "stage 1: half size, with the IC-LoRA")
        with m.loras.enabled(plan.lora_strengths()):
            video_state, audio_state = denoise_audio_video(
                output_shape=s1,
                conditionings=stage1_items,
                noiser=noiser,
                sigmas=stage1_sigmas,
                stepper=stepper,
                denoising_loop_fn=self._loop("stage1", m.transformer, video_context, audio_context, tracker),
                components=self.components,
                dtype=dtype,
                device=device,
            )
        del stage1_items, reference, mask_t

        if not plan.preview:
            tracker.check_cancel()
            s2 = VideoPixelShape(batch=1, frames=plan.frames, width=plan.width, height=plan.height, fps=fps)
            stage2_items = []
            with m.on_device("video_encoder", "upsampler"):
                upscaled = upsample_video(
                    latent=video_state.latent[:1], video_encoder=m.video_encoder, upsampler=m.upsampler
                )
                if image is not None:
                    stage2_items.append(
                        cond.first_frame_item(
                            m.video_encoder, cond.image_tensor(image, s2.height, s2.width, device, dtype)
                        )
                    )
                stage2_items += self._keyframe_items(plan, m, keyframes, s2)
            stage2_sigmas = torch.Tensor(STAGE_2_DISTILLED_SIGMA_VALUES).to(device)
            tracker.begin("stage2", len(stage2_sigmas) - 1, "stage 2: upsampled x2, refined without the IC-LoRA")
            video_state, audio_state = denoise_audio_video(
                output_shape=s2,
                conditionings=stage2_items,
                noiser=noiser,
                sigmas=stage2_sigmas,
                stepper=stepper,
                denoising_loop_fn=self._loop("stage2", m.transformer, video_context, audio_context, tracker),
                components=self.components,
                dtype=dtype,
                device=device,
                noise_scale=stage2_sigmas[0],
                initial_video_latent=upscaled,
                initial_audio_latent=audio_state.latent,
            )
            del upscaled, stage2_items

        tracker.begin("decode", 2, "decoding video and audio")
        with m.on_device("video_decoder"):
            chunks = [c.cpu() for c in vae_decode_video(video_state.latent, m.video_decoder, self.tiling, generator)]
        video = torch.cat(chunks, dim=0).numpy()
        tracker.report("decode", 1, 2, "video decoded")
        with m.on_device("audio_decoder", "vocoder"):
            audio = vae_decode_audio(audio_state.latent, m.audio_decoder, m.vocoder)
        waveform = audio.waveform.float().cpu().numpy().astype(np.float32)
        if waveform.ndim == 1:
            waveform = waveform[None]
        tracker.report("decode", 2, 2, "audio decoded")
        return GeneratedMedia(
            video=video,
            audio=waveform,
            sample_rate=int(audio.sampling_rate),
            control=control_video,
            plan=plan,
            has_mask=mask is not None,
            has_first_frame=image is not None,
            stage_seconds=dict(tracker.stage_seconds),
            keyframes=keyframes,
        )

    def _keyframe_items(self, plan: JobPlan, m: Models, keyframes: list[KeyframeImage], shape: VideoPixelShape):
        """The keyframe conditionings of one stage at its size (the stock pipeline encodes them per stage)."""
        return [
            cond.keyframe_item(
                m.video_encoder,
                cond.image_tensor(key.image, shape.height, shape.width, self.device, self.dtype),
                entry["frame"],
                entry["strength"],
            )
            for entry, key in zip(plan.keyframes, keyframes)
        ]

    def _write(self, media: GeneratedMedia, out_dir: Path, tracker: JobTracker) -> GenerationResult:
        from backend.video import write_lossless_video, write_mp4

        plan = media.plan
        out_dir.mkdir(parents=True, exist_ok=True)
        video_path = out_dir / "video.mp4"
        control_path = out_dir / "control.mkv"
        sidecar_path = out_dir / "video.json"
        write_mp4(video_path, media.video, plan.fps, audio=(media.audio, media.sample_rate))
        tracker.report("write", 1, 3, "mp4 written")
        write_lossless_video(control_path, media.control, plan.fps)
        tracker.report("write", 2, 3, "control video written")
        unmatched = {name: len(lora.unmatched) for name, lora in self._models.loras.loras.items()}
        record = build_sidecar(
            plan=plan,
            bundle=self.bundle,
            hashes=self.hashes,
            memory=self.memory_summary(),
            device=str(self.device),
            dtype="bfloat16",
            has_mask=media.has_mask,
            has_first_frame=media.has_first_frame,
            keyframes=keyframe_record(plan.keyframes, media.keyframes),
            audio_sample_rate=media.sample_rate,
            files={"video": video_path.name, "control": control_path.name},
            stage_seconds={**media.stage_seconds, **tracker.stage_seconds},
            lora_unmatched=unmatched,
            decoded_sha256=decoded_digests(media.video, media.audio),
        )
        write_sidecar(sidecar_path, record)
        return GenerationResult(
            video_path=video_path,
            sidecar_path=sidecar_path,
            control_video_path=control_path,
            frames=int(media.video.shape[0]),
            fps=plan.fps,
            width=int(media.video.shape[2]),
            height=int(media.video.shape[1]),
        )


def _tiling_config(tiling: tuple[int, int, int, int]) -> TilingConfig:
    """ltx-core's tiling for the plan's (tile px, overlap px, tile frames, overlap frames)."""
    if tiling == TILINGS[0]:
        return TilingConfig.default()
    px, px_overlap, frames, frames_overlap = tiling
    return TilingConfig(
        spatial_config=SpatialTilingConfig(px, px_overlap), temporal_config=TemporalTilingConfig(frames, frames_overlap)
    )
