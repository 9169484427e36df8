import io
import json
import zipfile
from fractions import Fraction

import numpy as np
import pytest

from shared.errors import UserError
from shared.package import DEFAULT_MAX_BYTES, ControlPackage, PackageError

F, W, H = 9, 64, 32


def full_package() -> ControlPackage:
    rng = np.random.default_rng(0)
    depth = rng.uniform(1, 10, (F, H // 2, W // 2)).astype(np.float32)
    depth[:, 0] = np.inf
    body = rng.uniform(0, 1, (F, 2, 18, 3)).astype(np.float32)
    return ControlPackage(
        kind="pose",
        width=W,
        height=H,
        fps=Fraction(24000, 1001),
        frame_count=F,
        frame_start=1001,
        camera={
            "type": "PERSP",
            "lens_mm": 50.0,
            "sensor_width_mm": 36.0,
            "sensor_fit": "AUTO",
            "clip_start": 0.1,
            "clip_end": 100.0,
        },
        source={"app": "Blender 5.0.1", "scene": "Scene"},
        depth=depth,
        pose_body=body,
        pose_hands=rng.uniform(0, 1, (F, 2, 2, 21, 3)).astype(np.float32),
        pose_face=rng.uniform(0, 1, (F, 2, 68, 3)).astype(np.float32),
        tracks=rng.uniform(-5, 70, (3, F, 2)).astype(np.float32),
        tracks_visible=rng.random((3, F)) > 0.3,
        rgb=rng.integers(0, 256, (F, H, W, 3), dtype=np.uint8),
        mask=rng.random((F, H, W), dtype=np.float32),
        attention_strength=np.linspace(0, 1, F, dtype=np.float32),
        first_frame=rng.integers(0, 256, (H, W, 3), dtype=np.uint8),
    )


def assert_same(a: ControlPackage, b: ControlPackage):
    assert a.manifest() == b.manifest()
    assert a.fps == b.fps == Fraction(24000, 1001)
    for name, arr in a.arrays().items():
        other = getattr(b, name)
        assert other.dtype == arr.dtype and other.shape == arr.shape
        np.testing.assert_array_equal(other, arr)


def test_round_trip_bytes_and_file(tmp_path):
    pkg = full_package()
    assert_same(pkg, ControlPackage.load(pkg.to_bytes()))
    path = pkg.save(tmp_path / "scene.npz")
    loaded = ControlPackage.load(path)
    assert_same(pkg, loaded)
    assert loaded.frame_start == 1001 and loaded.camera["lens_mm"] == 50.0
    with open(path, "rb") as fh:
        assert_same(pkg, ControlPackage.load(fh))


def test_manifest_is_uint8_json_and_no_pickle():
    data = full_package().to_bytes()
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        manifest = json.loads(npz["manifest"].tobytes().decode())
        assert npz["manifest"].dtype == np.uint8
    assert manifest["version"] == 1 and manifest["kind"] == "pose" and manifest["fps"] == "24000/1001"
    assert "depth" in manifest["arrays"]


def test_minimal_tracks_package():
    pkg = ControlPackage(
        "tracks",
        512,
        288,
        Fraction(24),
        9,
        tracks=np.zeros((1, 9, 2), np.float32),
        tracks_visible=np.ones((1, 9), bool),
    )
    assert ControlPackage.load(pkg.to_bytes()).tracks.shape == (1, 9, 2)


def error_of(pkg) -> PackageError:
    with pytest.raises(PackageError) as err:
        pkg.validate()
    assert isinstance(err.value, UserError)
    return err.value


def test_frame_count_mismatch_message():
    pkg = ControlPackage("depth", 512, 288, Fraction(24), 121, depth=np.ones((120, 288, 512), np.float32))
    err = error_of(pkg)
    assert err.field == "depth"
    assert str(err) == (
        "depth: expected float32 array of shape (F, Hd, Wd) with F = frame_count = 121, "
        "got float32 array of shape (120, 288, 512)"
    )


@pytest.mark.parametrize(
    "name, value, needle",
    [
        ("depth", np.ones((F, H, W), np.float64), "float32"),
        ("depth", np.ones((F, H, W, 1), np.float32), "(F, Hd, Wd)"),
        ("depth", np.full((F, H, W), np.nan, np.float32), "NaN"),
        ("depth", np.zeros((F, H, W), np.float32), "> 0"),
        ("depth", np.ones((F, H, H), np.float32), "aspect"),
        ("pose_body", np.ones((F, 1, 17, 3), np.float32), "(F, P, 18, 3)"),
        ("pose_body", np.full((F, 1, 18, 3), np.nan, np.float32), "NaN"),
        ("pose_body", np.full((F, 1, 18, 3), 2.0, np.float32), "confidence"),
        ("pose_hands", np.ones((F, 3, 2, 21, 3), np.float32), "people"),
        ("tracks", np.full((2, F, 2), np.inf, np.float32), "NaN or infinity"),
        ("tracks_visible", np.ones((2, F), np.uint8), "bool"),
        ("rgb", np.ones((F, H, W, 4), np.uint8), "(F, Hr, Wr, 3)"),
        ("mask", np.full((F, H, W), 1.5, np.float32), "[0, 1]"),
        ("attention_strength", np.ones((F + 1,), np.float32), "frame_count"),
        ("first_frame", np.ones((H, W), np.uint8), "(H, W, 3)"),
    ],
)
def test_bad_arrays_name_their_field(name, value, needle):
    pkg = full_package()
    setattr(pkg, name, value)
    if name == "tracks":
        pkg.tracks_visible = np.ones((2, F), bool)
    err = error_of(pkg)
    assert err.field == name
    assert needle in str(err)


@pytest.mark.parametrize(
    "field, value",
    [
        ("kind", "normals"),
        ("width", 0),
        ("height", 2.5),
        ("frame_count", 0),
        ("fps", "0"),
        ("camera", {"type": "FISHEYE"}),
        ("source", []),
        ("depth_units", ""),
    ],
)
def test_bad_metadata_names_field(field, value):
    pkg = full_package()
    setattr(pkg, field, value)
    assert error_of(pkg).field == field


def test_required_array_per_kind():
    pkg = ControlPackage("depth", W, H, Fraction(24), F)
    err = error_of(pkg)
    assert err.field == "depth" and "missing" in str(err)
    for kind, name in (("pose", "pose_body"), ("tracks", "tracks"), ("canny", "rgb")):
        assert error_of(ControlPackage(kind, W, H, Fraction(24), F)).field == name


# ------------------------------------------------------------------------------------- hostile files
def npz_bytes(entries: dict, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, payload in entries.items():
            zf.writestr(name, payload)
    return buf.getvalue()


def npy(arr, allow_pickle=False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def manifest_npy(**over) -> bytes:
    m = {
        "format": "ltx-scene-control-package",
        "version": 1,
        "kind": "depth",
        "width": W,
        "height": H,
        "fps": "24",
        "frame_count": F,
        "frame_start": 0,
        "camera": None,
        "source": {},
        "depth_units": "m",
        "arrays": ["depth"],
    }
    m.update(over)
    return npy(np.frombuffer(json.dumps(m).encode(), np.uint8))


def load_error(data, **kw) -> PackageError:
    with pytest.raises(PackageError) as err:
        ControlPackage.load(data, **kw)
    return err.value


def test_handmade_valid_file_loads():
    data = npz_bytes({"manifest.npy": manifest_npy(), "depth.npy": npy(np.ones((F, H, W), np.float32))})
    assert ControlPackage.load(data).depth.shape == (F, H, W)


def test_unknown_entry_refused():
    data = npz_bytes(
        {"manifest.npy": manifest_npy(), "depth.npy": npy(np.ones((F, H, W), np.float32)), "evil.npy": npy(np.ones(3))}
    )
    err = load_error(data)
    assert err.field == "evil.npy" and "unknown entry" in str(err)


def test_path_like_entry_refused():
    data = npz_bytes({"manifest.npy": manifest_npy(), "../depth.npy": npy(np.ones((F, H, W), np.float32))})
    assert load_error(data).field == "../depth.npy"


def test_oversized_entry_refused_before_decompressing():
    big = npy(np.zeros((F, 512, 1024), np.float32))  # ~19 MB of zeros, compresses to ~20 KB
    data = npz_bytes({"manifest.npy": manifest_npy(width=1024, height=512), "depth.npy": big})
    assert len(data) < 200_000
    err = load_error(data, max_bytes=1_000_000)
    assert err.field == "depth" and "limit" in str(err)


def test_total_size_limit():
    arr = npy(np.ones((F, H, W), np.float32))
    data = npz_bytes({"manifest.npy": manifest_npy(arrays=["depth", "mask"]), "depth.npy": arr, "mask.npy": arr})
    err = load_error(data, max_bytes=len(arr) + 1000)
    assert "add up" in str(err)
    assert DEFAULT_MAX_BYTES == 2 * 1024**3


def test_pickled_object_array_refused():
    obj = np.empty(3, dtype=object)
    obj[:] = [1, "two", {"three": 3}]
    data = npz_bytes({"manifest.npy": manifest_npy(), "depth.npy": npy(obj, allow_pickle=True)})
    err = load_error(data)
    assert err.field == "depth" and "object" in str(err)


def test_header_claiming_more_data_than_entry_holds():
    header_only = npy(np.ones((F, H, W), np.float32))[:200]
    data = npz_bytes({"manifest.npy": manifest_npy(), "depth.npy": header_only})
    err = load_error(data)
    assert err.field == "depth"


def test_wrong_dtype_in_file():
    data = npz_bytes({"manifest.npy": manifest_npy(), "depth.npy": npy(np.ones((F, H, W), np.float64))})
    err = load_error(data)
    assert err.field == "depth" and "float32" in str(err) and "float64" in str(err)


def test_nan_in_file():
    depth = np.ones((F, H, W), np.float32)
    depth[3, 4, 5] = np.nan
    err = load_error(npz_bytes({"manifest.npy": manifest_npy(), "depth.npy": npy(depth)}))
    assert err.field == "depth" and "NaN" in str(err)


def test_truncated_and_non_zip_bytes():
    good = full_package().to_bytes()
    for data in (good[: len(good) // 2], b"not a zip at all", b""):
        assert load_error(data).field == "package"


def test_missing_manifest_and_bad_manifest():
    assert load_error(npz_bytes({"depth.npy": npy(np.ones((F, H, W), np.float32))})).field == "manifest"
    depth = npy(np.ones((F, H, W), np.float32))
    assert load_error(npz_bytes({"manifest.npy": manifest_npy(version=2), "depth.npy": depth})).field == "version"
    assert load_error(npz_bytes({"manifest.npy": manifest_npy(colour="red"), "depth.npy": depth})).field == "colour"
    bad_json = npy(np.frombuffer(b"{not json", np.uint8))
    assert load_error(npz_bytes({"manifest.npy": bad_json, "depth.npy": depth})).field == "manifest"
    # listed but absent
    err = load_error(npz_bytes({"manifest.npy": manifest_npy(arrays=["depth", "mask"]), "depth.npy": depth}))
    assert err.field == "mask"


def test_missing_file(tmp_path):
    assert load_error(tmp_path / "nope.npz").field == "package"


def test_uncompressed_round_trip():
    pkg = full_package()
    data = pkg.to_bytes(compress=False)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
    assert_same(pkg, ControlPackage.load(data))
