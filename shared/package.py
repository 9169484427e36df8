"""ControlPackage: what was captured from a scene, as one validated `.npz` file (format version 1).

The package is the file and wire format between the Blender add-on and the backend. It is an
ordinary NumPy `.npz` zip holding an entry `manifest` (uint8 bytes of UTF-8 JSON: kind, size, fps,
frame range, camera, provenance, the list of arrays) and one `.npy` entry per array. Coordinates
are output pixels of `width x height` (origin top-left, x right, y down).

Packages arrive from the network, so `load` trusts nothing: it reads the zip directory first and
refuses unknown entries, unsupported compression, entries or totals above `max_bytes` uncompressed
and headers that do not match their entry size, before decompressing a single array; arrays are
read with pickling disabled, then every field is validated. Each refusal is a `PackageError` whose
`field` names the offending entry or manifest key.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from .atomic_write import atomic_write
from .control_kinds import SCENE_PASSES
from .errors import UserError
from .raster.canny import canny_settings
from .video_rules import format_fps, parse_fps

FORMAT_NAME = "ltx-scene-control-package"
FORMAT_VERSION = 1
KINDS = SCENE_PASSES
DEFAULT_MAX_BYTES = 2 * 1024**3  # uncompressed, all entries together
MAX_MANIFEST_BYTES = 1024 * 1024
MAX_SIZE = 16384  # pixels per axis, a sanity bound
MAX_FRAMES = 100_000
_READ_CHUNK = 1024 * 1024  # bytes read from a zip entry at a time

# name -> (dtype, shape description, required by kinds)
ARRAY_FIELDS: dict[str, tuple[np.dtype, str]] = {
    "depth": (np.dtype(np.float32), "(F, Hd, Wd)"),
    "normal": (np.dtype(np.float32), "(F, Hn, Wn, 3)"),
    "pose_body": (np.dtype(np.float32), "(F, P, 18, 3)"),
    "pose_hands": (np.dtype(np.float32), "(F, P, 2, 21, 3)"),
    "pose_face": (np.dtype(np.float32), "(F, P, 68, 3)"),
    "tracks": (np.dtype(np.float32), "(N, F, 2)"),
    "tracks_visible": (np.dtype(np.bool_), "(N, F)"),
    "rgb": (np.dtype(np.uint8), "(F, Hr, Wr, 3)"),
    "mask": (np.dtype(np.float32), "(F, Hm, Wm)"),
    "attention_strength": (np.dtype(np.float32), "(F,)"),
    "first_frame": (np.dtype(np.uint8), "(H, W, 3)"),
}
REQUIRED_ARRAYS = {
    "render": ("rgb",),
    "depth": ("depth",),
    "normal": ("normal",),
    "mask": ("mask",),
    "pose": ("pose_body",),
    "tracks": ("tracks", "tracks_visible"),
    "canny": ("rgb",),
}
CAMERA_TYPES = ("PERSP", "ORTHO")
_MANIFEST_KEYS = {
    "format",
    "version",
    "kind",
    "width",
    "height",
    "fps",
    "frame_count",
    "frame_start",
    "camera",
    "source",
    "depth_units",
    "arrays",
    "canny",
}


class PackageError(UserError):
    """A ControlPackage that cannot be used; `field` names the entry or manifest key."""


@dataclass(eq=False)
class ControlPackage:
    """One captured control signal plus everything needed to rasterize it. See docs/contracts.md."""

    kind: str
    width: int
    height: int
    fps: Fraction
    frame_count: int
    frame_start: int = 0
    camera: dict | None = None
    source: dict = field(default_factory=dict)
    depth_units: str = "m"
    canny: dict | None = None  # canny packages: the edge settings (raster/canny.py); None: the default
    depth: np.ndarray | None = None
    normal: np.ndarray | None = None
    pose_body: np.ndarray | None = None
    pose_hands: np.ndarray | None = None
    pose_face: np.ndarray | None = None
    tracks: np.ndarray | None = None
    tracks_visible: np.ndarray | None = None
    rgb: np.ndarray | None = None
    mask: np.ndarray | None = None
    attention_strength: np.ndarray | None = None
    first_frame: np.ndarray | None = None

    # ------------------------------------------------------------------------------ validation
    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays that are present, by name."""
        return {name: getattr(self, name) for name in ARRAY_FIELDS if getattr(self, name) is not None}

    def validate(self) -> "ControlPackage":
        """Check every field; raise `PackageError(field=...)` on the first problem. Returns self."""
        if self.kind not in KINDS:
            raise PackageError(f"kind: expected one of {', '.join(KINDS)}, got {self.kind!r}", "kind")
        for name in ("width", "height"):
            _check_int(name, getattr(self, name), 1, MAX_SIZE)
        _check_int("frame_count", self.frame_count, 1, MAX_FRAMES)
        _check_int("frame_start", self.frame_start, -(2**31), 2**31 - 1)
        try:
            fps = parse_fps(self.fps)
        except UserError as exc:
            raise PackageError(str(exc), "fps") from None
        if not isinstance(self.fps, Fraction) or fps != self.fps:
            self.fps = fps
        _check_camera(self.camera)
        if not isinstance(self.source, dict):
            raise PackageError(f"source: expected a JSON object (dict), got {type(self.source).__name__}", "source")
        _check_json("source", self.source)
        if not isinstance(self.depth_units, str) or not self.depth_units:
            raise PackageError(
                f"depth_units: expected a unit name such as 'm', got {self.depth_units!r}", "depth_units"
            )
        if self.canny is not None:
            if self.kind != "canny":
                raise PackageError(
                    f"canny: edge settings belong to 'canny' packages, this one is {self.kind!r}", "canny"
                )
            try:
                self.canny = canny_settings(self.canny)
            except UserError as exc:
                raise PackageError(str(exc), "canny") from None
        for name in REQUIRED_ARRAYS[self.kind]:
            if getattr(self, name) is None:
                raise PackageError(
                    f"{name}: a '{self.kind}' package needs the array {name} "
                    f"{ARRAY_FIELDS[name][1]} ({ARRAY_FIELDS[name][0].name}); it is missing",
                    name,
                )
        for name, arr in self.arrays().items():
            if not isinstance(arr, np.ndarray):
                raise PackageError(f"{name}: expected a numpy array, got {type(arr).__name__}", name)
            getattr(self, f"_check_{name}")(arr)
        return self

    def _expect(self, name: str, arr: np.ndarray, ndim: int, fixed: dict[int, int], meaning: str) -> None:
        dtype, shape_text = ARRAY_FIELDS[name]
        ok = arr.dtype == dtype and arr.ndim == ndim and all(arr.shape[i] == v for i, v in fixed.items())
        if not ok:
            raise PackageError(
                f"{name}: expected {dtype.name} array of shape {shape_text}{meaning}, "
                f"got {arr.dtype.name} array of shape {tuple(arr.shape)}",
                name,
            )

    def _frames_note(self) -> str:
        return f" with F = frame_count = {self.frame_count}"

    def _check_depth(self, arr):
        self._expect("depth", arr, 3, {0: self.frame_count}, self._frames_note())
        hd, wd = arr.shape[1:]
        if hd < 1 or wd < 1 or abs(wd * self.height - hd * self.width) > max(self.width, self.height):
            raise PackageError(
                f"depth: the depth frames are {wd}x{hd} but the package is {self.width}x{self.height}; "
                f"depth may be smaller but must keep the aspect ratio",
                "depth",
            )
        if np.isnan(arr).any():
            raise PackageError("depth: contains NaN; use +inf for background (no geometry)", "depth")
        if (arr <= 0).any():  # -inf included; one bool temporary, not a copy of the values
            raise PackageError(
                "depth: planar view-space Z must be > 0 (in front of the camera) or +inf for "
                "background; found values <= 0 or -inf",
                "depth",
            )

    def _check_normal(self, arr):
        self._expect("normal", arr, 4, {0: self.frame_count, 3: 3}, self._frames_note())
        hn, wn = arr.shape[1:3]
        if hn < 1 or wn < 1 or abs(wn * self.height - hn * self.width) > max(self.width, self.height):
            raise PackageError(
                f"normal: the normal frames are {wn}x{hn} but the package is {self.width}x{self.height}; "
                f"normals may be smaller but must keep the aspect ratio",
                "normal",
            )
        if not np.isfinite(arr).all():
            raise PackageError("normal: contains NaN or infinity; use (0, 0, 0) for background", "normal")
        if (np.abs(arr) > 1.001).any():
            raise PackageError(
                "normal: camera-space unit normals must lie in [-1, 1] per axis (background (0, 0, 0))", "normal"
            )

    def _check_pose_body(self, arr):
        self._expect("pose_body", arr, 4, {0: self.frame_count, 2: 18, 3: 3}, self._frames_note())
        _check_keypoints("pose_body", arr)

    def _people(self) -> int | None:
        return None if self.pose_body is None else self.pose_body.shape[1]

    def _check_pose_hands(self, arr):
        self._expect("pose_hands", arr, 5, {0: self.frame_count, 2: 2, 3: 21, 4: 3}, self._frames_note())
        self._same_people("pose_hands", arr)
        _check_keypoints("pose_hands", arr)

    def _check_pose_face(self, arr):
        self._expect("pose_face", arr, 4, {0: self.frame_count, 2: 68, 3: 3}, self._frames_note())
        self._same_people("pose_face", arr)
        _check_keypoints("pose_face", arr)

    def _same_people(self, name, arr):
        people = self._people()
        if people is not None and arr.shape[1] != people:
            raise PackageError(
                f"{name}: has {arr.shape[1]} people (axis P) but pose_body has {people}; they must match", name
            )

    def _check_tracks(self, arr):
        self._expect("tracks", arr, 3, {1: self.frame_count, 2: 2}, self._frames_note())
        if not np.isfinite(arr).all():
            raise PackageError(
                "tracks: contains NaN or infinity; put hidden points in tracks_visible = False (or far off the canvas)",
                "tracks",
            )
        if self.tracks_visible is None:
            raise PackageError("tracks_visible: tracks need a tracks_visible (N, F) bool array", "tracks_visible")

    def _check_tracks_visible(self, arr):
        n = None if self.tracks is None else self.tracks.shape[0]
        fixed = {1: self.frame_count} if n is None else {0: n, 1: self.frame_count}
        note = self._frames_note() + ("" if n is None else f" and N = {n} tracks")
        self._expect("tracks_visible", arr, 2, fixed, note)
        if self.tracks is None:
            raise PackageError("tracks: tracks_visible is present but tracks is missing", "tracks")

    def _check_rgb(self, arr):
        self._expect("rgb", arr, 4, {0: self.frame_count, 3: 3}, self._frames_note())
        if arr.shape[1] < 1 or arr.shape[2] < 1:
            raise PackageError(f"rgb: frames must not be empty, got shape {arr.shape}", "rgb")

    def _check_mask(self, arr):
        self._expect("mask", arr, 3, {0: self.frame_count}, self._frames_note())
        if arr.shape[1] < 1 or arr.shape[2] < 1:
            raise PackageError(f"mask: frames must not be empty, got shape {arr.shape}", "mask")
        _check_unit_range("mask", arr)

    def _check_attention_strength(self, arr):
        self._expect("attention_strength", arr, 1, {0: self.frame_count}, self._frames_note())
        _check_unit_range("attention_strength", arr)

    def _check_first_frame(self, arr):
        self._expect("first_frame", arr, 3, {2: 3}, "")
        if arr.shape[0] < 1 or arr.shape[1] < 1:
            raise PackageError(f"first_frame: image must not be empty, got shape {arr.shape}", "first_frame")

    # ------------------------------------------------------------------------------ manifest
    def manifest(self) -> dict[str, Any]:
        """The JSON manifest stored in the `manifest` entry."""
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "kind": self.kind,
            "width": int(self.width),
            "height": int(self.height),
            "fps": format_fps(self.fps),
            "frame_count": int(self.frame_count),
            "frame_start": int(self.frame_start),
            "camera": self.camera,
            "source": self.source,
            "depth_units": self.depth_units,
            "arrays": sorted(self.arrays()),
            **({"canny": self.canny} if self.canny is not None else {}),
        }

    # ------------------------------------------------------------------------------ writing
    def to_bytes(self, compress: bool = True) -> bytes:
        """The validated package as `.npz` bytes (deflate-compressed unless `compress=False`)."""
        self.validate()
        manifest = json.dumps(self.manifest(), sort_keys=True).encode("utf-8")
        buf = io.BytesIO()
        entries = {"manifest": np.frombuffer(manifest, dtype=np.uint8)}
        entries.update({k: np.ascontiguousarray(v) for k, v in self.arrays().items()})
        (np.savez_compressed if compress else np.savez)(buf, **entries)
        return buf.getvalue()

    def save(self, path, compress: bool = True) -> str:
        """Write the package to `path` (atomically: a temporary file then a rename). Returns the path."""
        path = os.fspath(path)
        atomic_write(path, self.to_bytes(compress))
        return path

    # ------------------------------------------------------------------------------ reading
    @classmethod
    def load(cls, source, max_bytes: int = DEFAULT_MAX_BYTES) -> "ControlPackage":
        """Read and validate a package from a path, bytes, or a binary file object."""
        if isinstance(source, (bytes, bytearray, memoryview)):
            return cls._load_zip(io.BytesIO(bytes(source)), max_bytes)
        if hasattr(source, "read"):
            if not (hasattr(source, "seek") and getattr(source, "seekable", lambda: True)()):
                source = io.BytesIO(source.read())
            return cls._load_zip(source, max_bytes)
        path = os.fspath(source)
        try:
            with open(path, "rb") as fh:
                return cls._load_zip(fh, max_bytes)
        except FileNotFoundError:
            raise PackageError(f"package: file not found: {path}", "package") from None
        except IsADirectoryError:
            raise PackageError(f"package: {path} is a folder, expected a .npz file", "package") from None

    @classmethod
    def _load_zip(cls, fh, max_bytes: int) -> "ControlPackage":
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
            raise PackageError(
                f"package: not a ControlPackage .npz (zip) file, or it is truncated ({exc})", "package"
            ) from None
        with zf:
            infos = _check_directory(zf, max_bytes)
            manifest = _read_manifest(zf, infos.pop("manifest"))
            arrays = {name: _read_npy(zf, info, name) for name, info in infos.items()}
        listed = manifest.pop("arrays")
        twice = sorted({name for name in listed if listed.count(name) > 1})
        if twice:
            raise PackageError(
                f"{twice[0]}: the manifest lists the array {twice[0]!r} more than once; list each array once", twice[0]
            )
        if sorted(listed) != sorted(arrays):
            missing = sorted(set(listed) - set(arrays))
            extra = sorted(set(arrays) - set(listed))
            name = (missing or extra)[0]
            raise PackageError(
                f"{name}: the manifest lists arrays {sorted(listed)} but the file holds "
                f"{sorted(arrays)} (missing: {missing}, unlisted: {extra})",
                name,
            )
        manifest.pop("format")
        manifest.pop("version")
        pkg = cls(**manifest, **arrays)
        return pkg.validate()


# -------------------------------------------------------------------------------- loading helpers
def _check_directory(zf: zipfile.ZipFile, max_bytes: int) -> dict[str, zipfile.ZipInfo]:
    """Check the zip directory (names, methods, declared sizes) before decompressing anything."""
    infos: dict[str, zipfile.ZipInfo] = {}
    total = 0
    allowed = {"manifest", *ARRAY_FIELDS}
    for info in zf.infolist():
        name = info.filename
        stem = name[:-4] if name.endswith(".npy") else None
        if stem not in allowed:
            raise PackageError(
                f"{name}: unknown entry in the package; allowed entries are manifest and "
                f"{', '.join(ARRAY_FIELDS)} (each as <name>.npy)",
                name,
            )
        if stem in infos:
            raise PackageError(f"{stem}: the entry appears twice in the package", stem)
        if info.flag_bits & 0x1:
            raise PackageError(f"{stem}: encrypted entries are not allowed", stem)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise PackageError(
                f"{stem}: unsupported compression method {info.compress_type}; "
                f"use stored or deflate (numpy.savez / savez_compressed)",
                stem,
            )
        if info.file_size > max_bytes:
            raise PackageError(
                f"{stem}: entry is {info.file_size} bytes uncompressed, above the limit of {max_bytes} bytes", stem
            )
        # deflate cannot compress better than ~1032:1; a bigger claimed ratio is a forged header
        if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > 1100 * max(info.compress_size, 1) + 1024:
            raise PackageError(
                f"{stem}: declared size {info.file_size} bytes from {info.compress_size} compressed "
                f"bytes is impossible for deflate (zip bomb?)",
                stem,
            )
        total += info.file_size
        if total > max_bytes:
            raise PackageError(
                f"package: entries add up to more than {max_bytes} bytes uncompressed; "
                f"the limit is {max_bytes} bytes (entry {stem} crossed it)",
                stem,
            )
        infos[stem] = info
    if "manifest" not in infos:
        raise PackageError("manifest: the package has no manifest entry; is this a ControlPackage?", "manifest")
    return infos


def _read_npy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> np.ndarray:
    """Read one `.npy` entry without pickling, checking its header against the entry size first."""
    try:
        with zf.open(info) as fp:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
            else:
                raise PackageError(f"{name}: unsupported .npy format version {version}", name)
            if dtype.hasobject:
                raise PackageError(
                    f"{name}: object (pickled) arrays are not allowed; expected "
                    f"{ARRAY_FIELDS.get(name, (np.dtype(np.uint8),))[0].name}",
                    name,
                )
            count = math.prod(shape)
            nbytes = count * dtype.itemsize
            # the data must end exactly at the entry's end
            if nbytes != info.file_size - fp.tell():
                raise PackageError(
                    f"{name}: the header says shape {shape} {dtype} ({nbytes} bytes) but the entry "
                    f"holds {info.file_size} bytes",
                    name,
                )
            # Read straight into the array (no bytes object, no second copy): the peak memory of a
            # load is the arrays themselves, the sizes checked above bound it before allocation.
            flat = np.empty(count, dtype=dtype)
            view = memoryview(flat).cast("B") if nbytes else memoryview(b"")
            got = 0
            while got < nbytes:
                chunk = fp.read(min(nbytes - got, _READ_CHUNK))
                if not chunk:
                    break
                view[got : got + len(chunk)] = chunk
                got += len(chunk)
            if got != nbytes:
                raise PackageError(f"{name}: entry is truncated ({got} of {nbytes} bytes)", name)
            if fp.read(1):
                raise PackageError(f"{name}: entry has data after the array", name)
    except PackageError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, zlib.error) as exc:
        raise PackageError(
            f"{name}: cannot read this entry ({exc}); the file is damaged or not a numpy array", name
        ) from None
    arr = flat.reshape(shape, order="F" if fortran else "C")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr  # writable, native order


def _read_manifest(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict:
    if info.file_size > MAX_MANIFEST_BYTES:
        raise PackageError(f"manifest: {info.file_size} bytes, above the limit of {MAX_MANIFEST_BYTES}", "manifest")
    raw = _read_npy(zf, info, "manifest")
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise PackageError(
            f"manifest: expected uint8 bytes of UTF-8 JSON, got {raw.dtype.name} array of shape {raw.shape}", "manifest"
        )
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PackageError(f"manifest: not valid UTF-8 JSON ({exc})", "manifest") from None
    except RecursionError:
        raise PackageError(
            "manifest: JSON nested too deeply; a manifest is a flat object of plain "
            "values (see the ControlPackage format)",
            "manifest",
        ) from None
    except ValueError as exc:  # JSONDecodeError, or an integer past Python's digit limit
        raise PackageError(f"manifest: not valid JSON, or a number too long to read ({exc})", "manifest") from None
    bad = _first_non_unicode(manifest)
    if bad is not None:
        raise PackageError(
            f"{bad}: the manifest holds text that is not valid Unicode (a lone "
            "surrogate such as \\ud800); write it as UTF-8 text",
            bad,
        )
    if not isinstance(manifest, dict):
        raise PackageError("manifest: expected a JSON object", "manifest")
    if manifest.get("format") != FORMAT_NAME:
        raise PackageError(
            f"format: expected {FORMAT_NAME!r}, got {manifest.get('format')!r}; not a ControlPackage", "format"
        )
    if manifest.get("version") != FORMAT_VERSION:
        raise PackageError(
            f"version: this reader supports ControlPackage version {FORMAT_VERSION}, the file is "
            f"version {manifest.get('version')!r}; update LTX Scene Control",
            "version",
        )
    unknown = sorted(set(manifest) - _MANIFEST_KEYS)
    if unknown:
        raise PackageError(
            f"{unknown[0]}: unknown manifest key(s) {unknown}; allowed: {sorted(_MANIFEST_KEYS)}", unknown[0]
        )
    for key in ("kind", "width", "height", "fps", "frame_count", "arrays"):
        if key not in manifest:
            raise PackageError(f"{key}: the manifest has no {key!r}", key)
    if not isinstance(manifest["arrays"], list) or not all(isinstance(a, str) for a in manifest["arrays"]):
        raise PackageError("arrays: expected a list of array names", "arrays")
    if not isinstance(manifest["fps"], (str, int)):
        raise PackageError(f"fps: expected text such as '24000/1001', got {manifest['fps']!r}", "fps")
    try:
        manifest["fps"] = parse_fps(manifest["fps"])
    except UserError as exc:
        raise PackageError(str(exc), "fps") from None
    return manifest


def _first_non_unicode(value, where: str = "manifest") -> str | None:
    """The manifest key under which a string (key or value) holds a lone surrogate, else None.
    Such text cannot be encoded as UTF-8, so it would break every later write of the manifest."""
    stack = [(value, where)]
    while stack:
        item, key = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return key
        elif isinstance(item, dict):
            for k, v in item.items():
                label = (
                    key
                    if key != "manifest"
                    else (k.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(k, str) else str(k))
                )
                stack.append((k, label))
                stack.append((v, label))
        elif isinstance(item, list):
            stack.extend((v, key) for v in item)
    return None


# -------------------------------------------------------------------------------- field checks
def _check_int(name: str, value, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise PackageError(f"{name}: expected an integer, got {value!r}", name)
    if not lo <= int(value) <= hi:
        raise PackageError(f"{name}: {value} is out of range; allowed {lo}..{hi}", name)


def _check_json(name: str, value) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PackageError(f"{name}: must be JSON-serializable ({exc})", name) from None


def _check_camera(camera) -> None:
    if camera is None:
        return
    if not isinstance(camera, dict):
        raise PackageError(f"camera: expected a JSON object or null, got {type(camera).__name__}", "camera")
    _check_json("camera", camera)
    if "type" in camera and camera["type"] not in CAMERA_TYPES:
        raise PackageError(f"camera: type must be one of {CAMERA_TYPES}, got {camera['type']!r}", "camera")
    for key in ("lens_mm", "sensor_width_mm", "sensor_height_mm", "clip_start", "clip_end", "ortho_scale"):
        value = camera.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0
        ):
            raise PackageError(f"camera: {key} must be a positive number, got {value!r}", "camera")


def _check_keypoints(name: str, arr: np.ndarray) -> None:
    if not np.isfinite(arr).all():
        raise PackageError(f"{name}: contains NaN or infinity; mark missing keypoints with confidence 0 instead", name)
    conf = arr[..., 2]
    if conf.size and (conf.min() < 0 or conf.max() > 1):
        raise PackageError(f"{name}: confidence (last value of each keypoint) must be in [0, 1]", name)


def _check_unit_range(name: str, arr: np.ndarray) -> None:
    if np.isnan(arr).any():
        raise PackageError(f"{name}: contains NaN; values must be in [0, 1]", name)
    if arr.size and (arr.min() < 0 or arr.max() > 1):
        raise PackageError(f"{name}: values must be in [0, 1], found {float(arr.min())}..{float(arr.max())}", name)
