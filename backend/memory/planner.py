"""The memory plan: decided before anything loads, from the sizes, the job's shape and the budgets.

Tiers, from the fastest to the leanest (the first whose peak fits the usable device memory wins):
- `resident`: every model on the device for the life of the engine.
- `text-encoder-on-demand`: all but Gemma resident; Gemma's small parts come in for a new prompt
  and its layers stream through two slots; the prompt cache keeps its output, so a job with a cached
  prompt touches no Gemma weight.
- `streamed`: as many transformer blocks resident as the budget allows, spread evenly, the rest
  streamed from pinned host memory through two device slots; the VAEs, upsampler, vocoder and text
  parts brought to the device for their stage only; VAE decode tiles sized to what is left.
- `disk`: as `streamed`, but the streamed weights are memory-mapped from a file instead of pinned,
  because the host RAM cannot hold them pinned (pinned memory is capped at half the RAM).

A plan that cannot fit is refused with `MemoryPlanError`, naming what to lower.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.errors import UserError

from . import activations as act
from .activations import JobShape
from .budget import GIB, HOST_BASELINE, Budgets
from .sizes import ModelSizes

TIERS = ("resident", "text-encoder-on-demand", "streamed", "disk")
STAGES = ("prompt", "control", "stage1", "upsample", "stage2", "decode", "audio")
# (tile px, overlap px, tile frames, overlap frames), largest first; the first is ltx-core's default.
PER_STAGE = ("video_encoder", "video_decoder", "audio_decoder", "vocoder", "upsampler")
TILINGS = (
    (512, 64, 64, 24),
    (512, 64, 32, 8),
    (384, 64, 32, 8),
    (256, 64, 32, 8),
    (256, 64, 16, 8),
    (192, 32, 16, 8),
    (128, 32, 16, 8),
)


class MemoryPlanError(UserError):
    """No tier fits the budgets: the message names what to lower."""


@dataclass
class Placement:
    name: str
    bytes: int
    place: str  # "resident" | "streamed" | "per-stage" | "on-demand"
    host_bytes: int = 0  # kept in host memory (pinned or mapped)
    pinned_bytes: int = 0
    detail: str = ""


@dataclass
class MemoryPlan:
    tier: str
    sizes: ModelSizes
    budgets: Budgets
    job: JobShape
    resident_blocks: list[int]
    storage: str  # host storage of streamed weights: "pinned" | "host" | "disk"
    tiling: tuple[int, int, int, int]
    stage_peaks: dict[str, int]
    components: list[Placement] = field(default_factory=list)
    text_encoder_on_demand: bool = False
    components_per_stage: bool = False
    storages: dict[str, str] = field(default_factory=dict)  # "blocks" / "components" / "text" -> storage

    @property
    def blocks(self) -> int:
        return len(self.sizes.blocks)

    @property
    def streamed_blocks(self) -> list[int]:
        return [i for i in range(self.blocks) if i not in set(self.resident_blocks)]

    @property
    def peak_device_bytes(self) -> int:
        return max(self.stage_peaks.values())

    @property
    def pinned_bytes(self) -> int:
        return sum(c.pinned_bytes for c in self.components)

    @property
    def peak_host_bytes(self) -> int:
        # Weights mapped from disk are page cache the kernel may drop: not counted; "host" storage
        # (a CPU device) is ordinary RAM.
        unpinned = sum(c.host_bytes for c in self.components) - self.pinned_bytes
        counted = unpinned if self.storage == "host" else 0
        return HOST_BASELINE + self.pinned_bytes + counted

    def summary(self) -> str:
        card = f"{self.budgets.device_bytes / GIB:.0f} GB"
        peak = f"about {self.peak_device_bytes / GIB:.1f} GB peak"
        if self.tier == "resident":
            return f"{card}: everything resident, {peak}"
        if self.tier == "text-encoder-on-demand":
            return f"{card}: text encoder on demand, {peak}"
        where = {"pinned": "pinned RAM", "host": "RAM", "disk": "disk"}[self.storage]
        return (
            f"{card}: {len(self.resident_blocks)} of {self.blocks} blocks resident, the rest streamed "
            f"from {where}, {peak}"
        )

    def describe(self) -> dict:
        return {
            "tier": self.tier,
            "summary": self.summary(),
            "peak_device_bytes": self.peak_device_bytes,
            "peak_host_bytes": self.peak_host_bytes,
            "pinned_bytes": self.pinned_bytes,
            "resident_blocks": len(self.resident_blocks),
            "blocks": self.blocks,
            "storage": self.storage,
            "text_encoder_on_demand": self.text_encoder_on_demand,
            "vae_tiling": {
                "tile_pixels": self.tiling[0],
                "overlap_pixels": self.tiling[1],
                "tile_frames": self.tiling[2],
                "overlap_frames": self.tiling[3],
            },
            "stage_peaks": dict(self.stage_peaks),
            "components": [c.__dict__.copy() for c in self.components],
            "budgets": self.budgets.describe(),
            "job": self.job.describe(),
            "model": self.sizes.describe(),
        }

    def table(self) -> str:
        gb = lambda n: f"{n / GIB:.2f}"  # noqa: E731
        rows = [("component", "GB", "where", "host GB", "pinned GB")]
        rows += [
            (
                c.name,
                gb(c.bytes),
                c.place + (f" ({c.detail})" if c.detail else ""),
                gb(c.host_bytes),
                gb(c.pinned_bytes),
            )
            for c in self.components
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        stages = ", ".join(f"{s} {gb(b)}" for s, b in self.stage_peaks.items())
        return "\n".join(
            [
                f"memory plan: {self.summary()}",
                f"  model: {self.sizes.source}, quantization {self.sizes.quantization}; job {self.job.width}x"
                f"{self.job.height}x{self.job.frames}; device budget {gb(self.budgets.device_bytes)} GB "
                f"({self.budgets.device_source}, {gb(self.budgets.usable_device_bytes)} usable), host "
                f"{gb(self.budgets.host_bytes)} GB ({self.budgets.host_source})",
                *["  " + line for line in lines],
                f"  peak device GB per stage: {stages}",
                f"  tier {self.tier}: peak device {gb(self.peak_device_bytes)} GB, peak host {gb(self.peak_host_bytes)} GB, "
                f"pinned {gb(self.pinned_bytes)} GB; VAE tiles {self.tiling[0]} px x {self.tiling[2]} frames",
            ]
        )

    def check_job(self, job: JobShape) -> None:
        """Refuse a job whose activations would not fit next to the weights this plan keeps."""
        peaks = _stage_peaks(
            self.sizes,
            job,
            self.tier,
            len(self.resident_blocks),
            self.tiling,
            self.text_encoder_on_demand,
            self.components_per_stage,
        )
        worst = max(peaks, key=peaks.get)
        if peaks[worst] > self.budgets.usable_device_bytes:
            raise MemoryPlanError(
                f"this job ({job.width}x{job.height}, {job.frames} frames) needs about "
                f"{peaks[worst] / GIB:.1f} GB in its {worst} stage, more than the "
                f"{self.budgets.usable_device_bytes / GIB:.1f} GB this server plans with ({self.summary()}); "
                "use fewer frames or a smaller size, or restart the server for this size "
                "(`--width/--height/--frames` pick the size it plans for)",
                field="frames",
            )


# --- the decision ------------------------------------------------------------------------------------


def _stage_peaks(
    s: ModelSizes, job: JobShape, tier: str, k: int, tiling, te_on_demand: bool, per_stage: bool
) -> dict[str, int]:
    comps = s.components
    n = len(s.blocks)
    streamed = n - k
    slots = 2 * s.largest_block if streamed else 0
    resident_t = s.transformer_other + comps.get("loras", 0) + sum(sorted(s.blocks)[:k]) + slots
    base = resident_t
    if not te_on_demand:
        base += s.text_encoder + comps["embeddings_processor"]
    if not per_stage:
        base += sum(comps[c] for c in ("video_encoder", "video_decoder", "audio_decoder", "vocoder", "upsampler"))

    def extra(*names):
        return sum(comps[c] for c in names) if per_stage else 0

    text = (s.text_encoder_other + 2 * s.largest_text_layer + comps["embeddings_processor"]) if te_on_demand else 0
    s1 = act.transformer_step_bytes(job.stage1_tokens, job.audio_tokens, s.video_dim, s.audio_dim, job.masked)
    s2 = act.transformer_step_bytes(job.stage2_tokens, job.audio_tokens, s.video_dim, s.audio_dim, False)
    f = job.reference_downscale_factor
    ref_w, ref_h = job.width // 2 // f, job.height // 2 // f
    return {
        "prompt": base + text + act.text_encoder_bytes(s.gemma_hidden, s.gemma_layers),
        "control": base + extra("video_encoder") + act.encode_bytes(ref_w, ref_h, job.frames),
        "stage1": base + s1,
        "upsample": base
        + extra("video_encoder", "upsampler")
        + act.encode_bytes(job.width // 2, job.height // 2, 1) * 4,
        "stage2": base + s2,
        "decode": base
        + extra("video_decoder")
        + act.decode_bytes(tiling[0], tiling[2], job.width, job.height, job.frames),
        "audio": base + extra("audio_decoder", "vocoder") + act.audio_bytes(job.frames, job.fps),
    }


def _components(s: ModelSizes, k: int, storage: dict[str, str], te_on_demand: bool, per_stage: bool) -> list[Placement]:
    pinned = storage.get("blocks") == "pinned"
    streamed_bytes = sum(sorted(s.blocks)[k:]) if k < len(s.blocks) else 0
    out = [Placement("transformer (non-block)", s.transformer_other, "resident")]
    n = len(s.blocks)
    if k >= n:
        out.append(Placement(f"transformer blocks x{n}", sum(s.blocks), "resident"))
    else:
        out.append(
            Placement(
                f"transformer blocks x{n}",
                sum(s.blocks),
                "streamed",
                host_bytes=streamed_bytes,
                pinned_bytes=streamed_bytes if pinned else 0,
                detail=f"{k} resident, {n - k} through 2 slots of {s.largest_block / GIB:.2f} GB, "
                f"from {'pinned RAM' if pinned else storage.get('blocks')}",
            )
        )
    out.append(Placement("IC-LoRAs / LoRAs", s.components.get("loras", 0), "resident"))
    pinned = storage.get("text") == "pinned"
    if te_on_demand:
        out.append(
            Placement(
                "text encoder (Gemma)",
                s.text_encoder,
                "on-demand",
                host_bytes=s.text_encoder,
                pinned_bytes=s.text_encoder if pinned else 0,
                detail=f"new prompts only; {len(s.text_encoder_layers)} layers through 2 slots",
            )
        )
        out.append(
            Placement(
                "embeddings processor",
                s.components["embeddings_processor"],
                "on-demand",
                host_bytes=s.components["embeddings_processor"],
                pinned_bytes=s.components["embeddings_processor"] if pinned else 0,
            )
        )
    else:
        out.append(Placement("text encoder (Gemma)", s.text_encoder, "resident"))
        out.append(Placement("embeddings processor", s.components["embeddings_processor"], "resident"))
    pinned = storage.get("components") == "pinned"
    for name, label in (
        ("video_encoder", "video VAE encoder"),
        ("video_decoder", "video VAE decoder"),
        ("upsampler", "spatial upsampler"),
        ("audio_decoder", "audio VAE decoder"),
        ("vocoder", "vocoder"),
    ):
        b = s.components[name]
        if per_stage:
            out.append(Placement(label, b, "per-stage", host_bytes=b, pinned_bytes=b if pinned else 0))
        else:
            out.append(Placement(label, b, "resident"))
    return out


def _choose_tiling(sizes: ModelSizes, job: JobShape, tier: str, k: int, te_on_demand: bool, per_stage: bool):
    """The largest VAE tile whose decode peak is not the job's peak (so tiles never cost a resident
    block); the smallest when every tile is."""
    for tiling in TILINGS:
        peaks = _stage_peaks(sizes, job, tier, k, tiling, te_on_demand, per_stage)
        if peaks["decode"] <= max(v for name, v in peaks.items() if name != "decode"):
            return tiling
    return TILINGS[-1]


def _storage(sizes: ModelSizes, budgets: Budgets, streamed_bytes: int, te_on_demand: bool, per_stage: bool):
    """Host storage of each streamed group, in order of need: the transformer's streamed blocks, the
    per-stage components, then Gemma (used for new prompts only), each pinned while the cap allows."""
    if budgets.device_kind != "cuda":
        return {"blocks": "host", "components": "host", "text": "host"}
    left = budgets.pinned_cap_bytes
    out = {}
    groups = [("blocks", streamed_bytes)]
    if per_stage:
        groups.append(("components", sum(sizes.components[c] for c in PER_STAGE)))
    if te_on_demand:
        groups.append(("text", sizes.text_encoder + sizes.components["embeddings_processor"]))
    for name, nbytes in groups:
        if nbytes <= left:
            out[name], left = "pinned", left - nbytes
        else:
            out[name] = "disk"
    return out


def plan_memory(
    sizes: ModelSizes,
    job: JobShape,
    budgets: Budgets,
    force_tier: str | None = None,
    force_resident_blocks: int | None = None,
) -> MemoryPlan:
    """The plan for `sizes` at `job`'s shape within `budgets` (tests may force a tier / block count)."""
    usable = budgets.usable_device_bytes
    n = len(sizes.blocks)
    for tier in TIERS:
        if force_tier is not None and tier != force_tier:
            continue
        te_on_demand = tier != "resident"
        per_stage = tier in ("streamed", "disk")
        if tier in ("resident", "text-encoder-on-demand"):
            k = n
        elif force_resident_blocks is not None:
            k = max(0, min(n, force_resident_blocks))
        else:
            tiling0 = _choose_tiling(sizes, job, tier, 0, te_on_demand, per_stage)
            zero = max(_stage_peaks(sizes, job, tier, 0, tiling0, te_on_demand, per_stage).values())
            room = usable - zero
            if room < 0:
                continue
            k = int(min(n - 1, room // max(1, sizes.largest_block)))
        tiling = _choose_tiling(sizes, job, tier, k, te_on_demand, per_stage) if per_stage else TILINGS[0]
        peaks = _stage_peaks(sizes, job, tier, k, tiling, te_on_demand, per_stage)
        if max(peaks.values()) > usable and force_tier is None:
            continue
        streamed = sum(sorted(sizes.blocks)[k:]) if k < n else 0
        storage = _storage(sizes, budgets, streamed, te_on_demand, per_stage)
        if force_tier is None and (tier == "disk") != (storage["blocks"] == "disk") and k < n:
            continue  # pinned blocks belong to "streamed", mapped ones to "disk"
        if tier == "disk":
            storage = {name: "disk" for name in storage}
        return MemoryPlan(
            tier=tier,
            sizes=sizes,
            budgets=budgets,
            job=job,
            resident_blocks=sorted(_spread(k, n)),
            storage=storage["blocks"],
            tiling=tiling,
            stage_peaks=peaks,
            components=_components(sizes, k, storage, te_on_demand, per_stage),
            text_encoder_on_demand=te_on_demand,
            components_per_stage=per_stage,
            storages=storage,
        )
    tiling = TILINGS[-1]
    zero_peaks = _stage_peaks(sizes, job, "streamed", 0, tiling, True, True)
    worst = max(zero_peaks, key=zero_peaks.get)
    raise MemoryPlanError(
        f"memory: even with every transformer block streamed and the smallest VAE tiles, this job "
        f"({job.width}x{job.height}, {job.frames} frames, {sizes.source}, quantization {sizes.quantization}) needs "
        f"about {zero_peaks[worst] / GIB:.1f} GB in its {worst} stage but {usable / GIB:.1f} GB of "
        f"{budgets.device_bytes / GIB:.1f} GB are usable. Lower the frames or the size, use "
        f"--quantization fp8-cast, or a card with more memory",
        field="memory",
    )


def _spread(count: int, total: int) -> set[int]:
    from .streaming import spread

    return spread(count, total)
