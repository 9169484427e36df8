"""Training pairs for a new IC-LoRA in the LTX trainer's dataset format (standard library only).

The trainer (`ltx-trainer`, `scripts/process_dataset.py`) reads a CSV / JSON / JSONL file whose
rows name a `caption`, a target `video`, an IC-LoRA control `reference_video` and optionally a
`video_mask`. Its rules, restated here so a dataset is checked before hours of preprocessing:

- media paths are resolved relative to the folder of the dataset file (absolute paths also work);
  every path must exist, and names ending in .png/.jpg/.jpeg are read as single images;
- the columns are detected from the *first* JSONL row only and then read from every row, so all
  rows must carry the same media columns (a `video_mask` in some rows only breaks it);
- videos are bucketed width x height x frames: width and height multiples of the VAE's 32 px (times
  the reference downscale factor for the reference), frames of the form 8k+1; a video is cut to
  its bucket's first frames, so a target and its reference must have the same frame count and
  shape for frame k to match frame k.

This module owns the project's side of that: the shots of a scene (its frame range, or pairs of
timeline markers), snapping a shot to 8k+1 frames and a size to the bucket multiples (with a note
saying what changed), the row schema and stable file names, checking rows the way the trainer
would (decoding is injected: `probe(path) -> (frames, width, height)`), and appending rows to a
`dataset.jsonl` atomically, replacing the row of a shot that is exported again.

**Identity of a row.** A shot is named after its source file's stem, its scene and its first and
last frame (`shot_id`); its files are `videos/<id>.mp4`, `references/<id>.mov` and
`masks/<id>.mov`. A row is identified by its `video` path: exporting the same shot again replaces
its row (and its files) in place; a different shot appends. The export's own record
(`export_training.json` beside the dataset) keeps, per row, where it came from, and refuses a second
control kind in one dataset or a shot id that another source file already claimed.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from .atomic_write import atomic_write
from .errors import UserError
from .video_rules import MIN_FRAMES, size_multiple, snap_size

DATASET_NAME = "dataset.jsonl"
RECORD_NAME = "export_training.json"
LOCK_NAME = ".dataset.lock"
VIDEO_DIR, REFERENCE_DIR, MASK_DIR = "videos", "references", "masks"
TARGET_SUFFIX, REFERENCE_SUFFIX, MASK_SUFFIX = ".mp4", ".mov", ".mov"

# The trainer's default VAE: 32 x 32 px per latent cell, 8 frames per latent frame after the first.
VAE_SPATIAL = 32
VAE_TEMPORAL = 8
REQUIRED_COLUMNS = ("caption", "video", "reference_video")
OPTIONAL_COLUMNS = ("video_mask",)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")  # the trainer reads these as single images, not videos
RECORD_FORMAT = "ltx-scene-training-export"


class DatasetError(UserError):
    """A shot, size, row or dataset file the trainer would refuse (or misread)."""


# ------------------------------------------------------------------------------------------ shots
@dataclass(frozen=True)
class Shot:
    """Scene frames frame_start .. frame_end (inclusive), named for messages and file names."""

    name: str
    frame_start: int
    frame_end: int

    @property
    def frame_count(self) -> int:
        return self.frame_end - self.frame_start + 1


def shots_from_range(frame_start: int, frame_end: int, name: str = "range") -> list[Shot]:
    """The scene's frame range as one shot."""
    if frame_end < frame_start:
        raise DatasetError(
            f"shots: the frame range {frame_start}-{frame_end} is empty; set the scene's end frame after its start",
            "shots",
        )
    return [Shot(name, int(frame_start), int(frame_end))]


def shots_from_markers(markers) -> list[Shot]:
    """Timeline markers [(name, frame), ...] taken in frame order two at a time: each pair is one
    shot from the first marker's frame to the second's (inclusive). An odd marker out is refused."""
    ordered = sorted(((int(frame), str(name)) for name, frame in markers), key=lambda m: (m[0], m[1]))
    if len(ordered) < 2:
        raise DatasetError(
            f"shots: 'markers' needs pairs of timeline markers (start, end of each shot), the scene has "
            f"{len(ordered)}; add markers or use the frame range",
            "shots",
        )
    if len(ordered) % 2:
        frame, name = ordered[-1]
        raise DatasetError(
            f"shots: {len(ordered)} markers do not pair up; the last one ('{name}' at frame {frame}) has no "
            "end marker; add one after it or remove it",
            "shots",
        )
    shots = []
    for (start, a), (end, b) in zip(ordered[::2], ordered[1::2]):
        if end == start:
            raise DatasetError(
                f"shots: markers '{a}' and '{b}' are both at frame {start}; a shot needs an end after its start",
                "shots",
            )
        shots.append(Shot(a, start, end))
    return shots


def snap_shot_frames(shot: Shot) -> tuple[Shot, str | None]:
    """The shot cut to the longest 8k+1 frames it holds (never past its end: that would be the next
    shot); refuses shots under 9 frames. Returns (shot, note or None)."""
    n = shot.frame_count
    if n < MIN_FRAMES:
        raise DatasetError(
            f"shot '{shot.name}' (frames {shot.frame_start}-{shot.frame_end}) has {n} frames; the trainer needs "
            f"at least {MIN_FRAMES} (8k+1); make it longer",
            "frames",
        )
    count = (n - 1) // VAE_TEMPORAL * VAE_TEMPORAL + 1
    if count == n:
        return shot, None
    cut = Shot(shot.name, shot.frame_start, shot.frame_start + count - 1)
    return cut, (
        f"shot '{shot.name}': {n} frames ({shot.frame_start}-{shot.frame_end}) cut to {count} (8k+1): "
        f"frames {cut.frame_start}-{cut.frame_end}"
    )


def bucket_size(width: int, height: int, reference_factor: int = 1) -> tuple[int, int, str | None]:
    """(width, height, note or None): the nearest size the trainer buckets exactly and this project
    generates at: multiples of 64 x the reference factor (the trainer needs 32 x the factor for the
    downscaled reference; generation's stage 1 runs at half size, hence 64)."""
    multiple = size_multiple(reference_factor)
    w, h = snap_size(width, height, multiple)
    note = (
        None
        if (w, h) == (int(width), int(height))
        else (f"size {width}x{height} snapped to {w}x{h} (multiples of {multiple})")
    )
    return w, h, note


def resolution_buckets(shapes) -> str:
    """The `--resolution-buckets` value of process_dataset.py for (width, height, frames) shapes."""
    seen = []
    for w, h, f in shapes:
        key = f"{int(w)}x{int(h)}x{int(f)}"
        if key not in seen:
            seen.append(key)
    return ";".join(seen)


# ------------------------------------------------------------------------------------ names, rows
def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("._-")
    return slug or "untitled"


def shot_id(source: str, scene: str, shot: Shot) -> str:
    """A stable, file-name-safe id: `<source stem>-<scene>-f<first>-<last>`."""
    stem = Path(source).stem if source else "unsaved"
    first, last = (f"{f:05d}" if f >= 0 else f"m{-f:04d}" for f in (shot.frame_start, shot.frame_end))
    return f"{_slug(stem)}-{_slug(scene)}-f{first}-{last}"


@dataclass(frozen=True)
class ShotFiles:
    """The paths of one shot's files, relative to the dataset folder (POSIX separators: they go
    into the JSONL as they are and resolve on every system)."""

    video: str
    reference_video: str
    video_mask: str


def shot_files(sid: str) -> ShotFiles:
    return ShotFiles(
        f"{VIDEO_DIR}/{sid}{TARGET_SUFFIX}",
        f"{REFERENCE_DIR}/{sid}{REFERENCE_SUFFIX}",
        f"{MASK_DIR}/{sid}{MASK_SUFFIX}",
    )


def make_row(caption: str, files: ShotFiles, with_mask: bool) -> dict:
    """One dataset row in the trainer's column names (only those: unknown columns are noise)."""
    caption = (caption or "").strip()
    if not caption:
        raise DatasetError(
            "caption: a training row needs a caption; give --caption TEXT or write the scene's prompt", "caption"
        )
    row = {"caption": caption, "video": files.video, "reference_video": files.reference_video}
    if with_mask:
        row["video_mask"] = files.video_mask
    return row


# ------------------------------------------------------------------------------------------ check
def resolve_media(dataset_file, value: str) -> Path:
    """A row's media path as the trainer resolves it: the dataset file's folder joined with the
    stripped value (an absolute value stays absolute)."""
    return Path(dataset_file).parent / Path(str(value).strip())


def check_row(row, dataset_file, probe=None, index: int | None = None) -> dict:
    """Check one row as the trainer would read it; returns {"video": (frames, w, h), ...} for the
    media that were probed. `probe(path) -> (frames, width, height)` decodes (None: paths only)."""
    where = f"row {index + 1}" if index is not None else "row"
    if not isinstance(row, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(row).__name__}", "row")
    for column in REQUIRED_COLUMNS:
        if not isinstance(row.get(column), str) or not row[column].strip():
            raise DatasetError(f"{where}: '{column}' is missing or empty; the IC-LoRA trainer needs it", column)
    shapes = {}
    for column in REQUIRED_COLUMNS[1:] + OPTIONAL_COLUMNS:
        if column not in row:
            continue
        value = row[column]
        if not isinstance(value, str) or not value.strip():
            raise DatasetError(f"{where}: '{column}' must be a path, got {value!r}", column)
        path = resolve_media(dataset_file, value)
        if path.suffix.lower() in IMAGE_SUFFIXES:
            raise DatasetError(
                f"{where}: '{column}' is {value!r}, which the trainer reads as a single image; give a video", column
            )
        if not path.is_file():
            raise DatasetError(
                f"{where}: '{column}' {value!r} does not exist (resolved relative to the dataset file: {path})",
                column,
            )
        if probe is None:
            continue
        frames, width, height = probe(path)
        if column != "video_mask":
            if (frames - 1) % VAE_TEMPORAL or frames < MIN_FRAMES:
                raise DatasetError(
                    f"{where}: '{column}' {value!r} has {frames} frames; the trainer's buckets need 8k+1 "
                    f"(e.g. {(frames - 1) // VAE_TEMPORAL * VAE_TEMPORAL + 1 if frames > MIN_FRAMES else MIN_FRAMES})",
                    column,
                )
            bad = [f"{n} {v}" for n, v in (("width", width), ("height", height)) if v % VAE_SPATIAL]
            if bad:
                raise DatasetError(
                    f"{where}: '{column}' {value!r} is {width}x{height}; the trainer's buckets need multiples of "
                    f"{VAE_SPATIAL} ({', '.join(bad)})",
                    column,
                )
        shapes[column] = (int(frames), int(width), int(height))
    if probe is not None:
        video = shapes["video"]
        for column in ("reference_video", "video_mask"):
            other = shapes.get(column)
            if other is None:
                continue
            if other[0] < video[0] or (column == "reference_video" and other[0] != video[0]):
                raise DatasetError(
                    f"{where}: '{column}' has {other[0]} frames but 'video' has {video[0]}; frame k of the "
                    "control must be frame k of the target: export them together",
                    column,
                )
            if not math.isclose(other[1] / other[2], video[1] / video[2], rel_tol=1e-3):
                raise DatasetError(
                    f"{where}: '{column}' is {other[1]}x{other[2]} but 'video' is {video[1]}x{video[2]}; the "
                    "trainer crops each to its bucket, so different shapes no longer line up",
                    column,
                )
    return shapes


def read_rows(dataset_file) -> list[dict]:
    """The rows of a JSONL dataset ([] when the file does not exist); blank lines are skipped."""
    path = Path(dataset_file)
    if not path.exists():
        return []
    rows = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise DatasetError(f"{path.name} line {number}: not JSON ({exc}); fix or remove the line", "dataset")
            if not isinstance(row, dict):
                raise DatasetError(f"{path.name} line {number}: expected a JSON object per line", "dataset")
            rows.append(row)
    return rows


def check_dataset(dataset_file, probe=None) -> list[dict]:
    """Every row checked (see `check_row`), the columns consistent (the trainer takes them from the
    first row), no target twice. Returns the per-row shapes."""
    path = Path(dataset_file)
    if path.suffix.lower() != ".jsonl":
        raise DatasetError(f"dataset: {path.name} is not a .jsonl file", "dataset")
    rows = read_rows(path)
    if not rows:
        raise DatasetError(f"dataset: {path} holds no rows", "dataset")
    columns = set(rows[0])
    seen = {}
    shapes = []
    for i, row in enumerate(rows):
        media = {c for c in row if c in OPTIONAL_COLUMNS}
        first_media = {c for c in columns if c in OPTIONAL_COLUMNS}
        if media != first_media:
            raise DatasetError(
                f"row {i + 1}: has {sorted(media) or 'no optional columns'} but row 1 has "
                f"{sorted(first_media) or 'none'}; the trainer takes the columns from the first row, so every "
                "row needs the same ones",
                "video_mask",
            )
        shapes.append(check_row(row, path, probe, i))
        key = row["video"].strip()
        if key in seen:
            raise DatasetError(f"row {i + 1}: 'video' {key!r} is already row {seen[key] + 1}", "video")
        seen[key] = i
    return shapes


# ----------------------------------------------------------------------------------------- append
def check_mask_columns(existing: list[dict], with_mask: bool) -> None:
    """Refuse rows with a `video_mask` into a dataset without (or the reverse): the trainer takes the
    columns from the first row, so every row needs one or none. Checked before anything renders."""
    if existing and any(("video_mask" in row) != with_mask for row in existing):
        has = "with" if "video_mask" in existing[0] else "without"
        raise DatasetError(
            f"video_mask: the dataset's rows are {has} a mask and this export is "
            f"{'with' if with_mask else 'without'} one; the trainer takes the columns from the first row, so every "
            "row needs a mask or none: set the same mask for every export into this folder, or use another --out",
            "video_mask",
        )


def merge_rows(existing: list[dict], new: list[dict]) -> tuple[list[dict], int, int]:
    """(rows, replaced, added): rows whose `video` matches a new row's are replaced in place, the
    other new rows appended in order. Refuses mixing rows with and without `video_mask`."""
    if len({("video_mask" in row) for row in new}) > 1:
        raise DatasetError("video_mask: every new row needs a mask or none", "video_mask")
    index = {row.get("video"): i for i, row in enumerate(existing)}
    rows = list(existing)
    replaced = added = 0
    for row in new:
        at = index.get(row["video"])
        if at is None:
            index[row["video"]] = len(rows)
            rows.append(row)
            added += 1
        else:
            rows[at] = row
            replaced += 1
    check_mask_columns(existing, any("video_mask" in row for row in new))
    return rows, replaced, added


def dump_rows(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


class DatasetLock:
    """An exclusive lock file beside the dataset while rows are merged (several exports into one
    folder must not lose each other's rows). A lock older than `stale_s` is taken over."""

    def __init__(self, folder, clock=time.monotonic, sleep=time.sleep, wait_s: float = 60.0, stale_s: float = 600.0):
        self.path = Path(folder) / LOCK_NAME
        self.clock, self.sleep, self.wait_s, self.stale_s = clock, sleep, wait_s, stale_s

    def __enter__(self):
        start = self.clock()
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                return self
            except FileExistsError:
                try:
                    age = time.time() - self.path.stat().st_mtime
                except FileNotFoundError:
                    continue
                if age > self.stale_s:
                    self.path.unlink(missing_ok=True)
                    continue
                if self.clock() - start > self.wait_s:
                    raise DatasetError(
                        f"dataset: another export is writing this dataset (lock {self.path}); wait for it, or "
                        "remove the lock file if no export is running",
                        "out",
                    ) from None
                self.sleep(0.2)

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)


def load_record(folder) -> dict:
    path = Path(folder) / RECORD_NAME
    if not path.exists():
        return {"format": RECORD_FORMAT, "version": 1, "kind": None, "rows": {}}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise DatasetError(f"{path}: not JSON ({exc}); remove it to start the record again", "out") from None
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        raise DatasetError(f"{path}: not an export record of this tool; remove it or use another --out", "out")
    record.setdefault("rows", {})
    return record


def check_export_allowed(record: dict, kind: str, sources: dict[str, str]) -> None:
    """Refuse a second control kind in one dataset, and a shot id (by its video path) that another
    source file already wrote. `sources`: video path -> absolute source file of this export."""
    if record.get("kind") not in (None, kind):
        raise DatasetError(
            f"control: this dataset holds '{record['kind']}' pairs; an IC-LoRA learns one control, so write "
            f"'{kind}' pairs into another --out folder",
            "control",
        )
    for video, source in sources.items():
        old = record["rows"].get(video)
        if old is not None and old.get("source") not in (None, source):
            raise DatasetError(
                f"dataset: {video} was exported from {old['source']}, not {source}; two files with the same name "
                "and scene would overwrite each other's shots: rename one of them, or use another --out",
                "out",
            )


def append_rows(folder, new_rows: list[dict], kind: str, provenance: dict[str, dict]) -> dict:
    """Merge `new_rows` into folder/dataset.jsonl and the export record, atomically and under the
    lock. `provenance`: video path -> {"source", "scene", "frames", ...}. Returns a summary."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dataset = folder / DATASET_NAME
    with DatasetLock(folder):
        record = load_record(folder)
        check_export_allowed(record, kind, {v: p.get("source") for v, p in provenance.items()})
        rows, replaced, added = merge_rows(read_rows(dataset), new_rows)
        record["kind"] = kind
        record["rows"].update(provenance)
        atomic_write(dataset, dump_rows(rows))
        atomic_write(folder / RECORD_NAME, json.dumps(record, indent=1, sort_keys=True) + "\n")
    return {"dataset": str(dataset), "rows": len(rows), "replaced": replaced, "added": added}
