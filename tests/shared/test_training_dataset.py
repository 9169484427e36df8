"""The training-pair rules of shared/training_dataset.py: shots, bucket snapping, the row schema, the
trainer-style row check (with an injected probe) and the locked, atomic append that replaces a
re-exported shot's row."""

from __future__ import annotations

import json

import pytest

from shared import training_dataset as td


# ------------------------------------------------------------------------------------------ shots
def test_frame_range_is_one_shot():
    assert td.shots_from_range(1, 121, "Scene") == [td.Shot("Scene", 1, 121)]
    with pytest.raises(td.DatasetError, match="empty"):
        td.shots_from_range(10, 9)


def test_markers_pair_up_in_frame_order():
    shots = td.shots_from_markers([("B_end", 40), ("A", 1), ("A_end", 17), ("B", 20)])
    assert shots == [td.Shot("A", 1, 17), td.Shot("B", 20, 40)]


def test_an_odd_marker_is_refused_by_name():
    with pytest.raises(td.DatasetError, match=r"\('C' at frame 50\) has no end marker"):
        td.shots_from_markers([("A", 1), ("A_end", 17), ("C", 50)])
    with pytest.raises(td.DatasetError, match="needs pairs"):
        td.shots_from_markers([("A", 1)])
    with pytest.raises(td.DatasetError, match="both at frame 5"):
        td.shots_from_markers([("A", 5), ("B", 5)])


@pytest.mark.parametrize(
    ("start", "end", "expected_end"),
    [(1, 121, 121), (1, 120, 113), (10, 30, 26), (0, 8, 8)],
)
def test_shot_cut_to_the_longest_8k_plus_1_inside_it(start, end, expected_end):
    cut, note = td.snap_shot_frames(td.Shot("s", start, end))
    assert (cut.frame_start, cut.frame_end) == (start, expected_end)
    assert (cut.frame_count - 1) % 8 == 0
    if expected_end == end:
        assert note is None
    else:
        assert note == (
            f"shot 's': {end - start + 1} frames ({start}-{end}) cut to {cut.frame_count} (8k+1): "
            f"frames {start}-{expected_end}"
        )


def test_a_shot_under_nine_frames_is_refused():
    with pytest.raises(td.DatasetError, match="has 8 frames; the trainer needs at least 9"):
        td.snap_shot_frames(td.Shot("s", 1, 8))


def test_bucket_size_snaps_to_64_times_the_reference_factor_and_says_so():
    assert td.bucket_size(768, 512) == (768, 512, None)
    assert td.bucket_size(1000, 560) == (1024, 576, "size 1000x560 snapped to 1024x576 (multiples of 64)")
    assert td.bucket_size(768, 512, 2)[:2] == (768, 512)
    assert td.bucket_size(740, 500, 2) == (768, 512, "size 740x500 snapped to 768x512 (multiples of 128)")


def test_resolution_buckets_string_is_process_datasets_format():
    assert td.resolution_buckets([(768, 512, 121), (768, 512, 121), (512, 512, 49)]) == "768x512x121;512x512x49"


# ------------------------------------------------------------------------------------ names, rows
def test_shot_id_and_files_are_stable_and_file_name_safe():
    sid = td.shot_id("/proj/My Scene.blend", "Shot 1/a", td.Shot("A", 1, 17))
    assert sid == "My_Scene-Shot_1_a-f00001-00017"
    assert td.shot_id("/other/My Scene.blend", "Shot 1/a", td.Shot("B", 1, 17)) == sid  # frames, not names
    files = td.shot_files(sid)
    assert (files.video, files.reference_video, files.video_mask) == (
        f"videos/{sid}.mp4",
        f"references/{sid}.mov",
        f"masks/{sid}.mov",
    )
    assert td.shot_id("", "S", td.Shot("x", -3, 5)).startswith("unsaved-S-fm0003-")


def test_row_has_the_trainer_columns_only():
    files = td.shot_files("a")
    assert td.make_row(" walk ", files, False) == {
        "caption": "walk",
        "video": "videos/a.mp4",
        "reference_video": "references/a.mov",
    }
    assert td.make_row("walk", files, True)["video_mask"] == "masks/a.mov"
    with pytest.raises(td.DatasetError, match="needs a caption") as info:
        td.make_row("  ", files, False)
    assert info.value.field == "caption"


# ------------------------------------------------------------------------------------------ check
def _dataset(tmp_path, rows, files=()):
    for name in files:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    path = tmp_path / "dataset.jsonl"
    path.write_text(td.dump_rows(rows), encoding="utf-8")
    return path


ROW = {"caption": "c", "video": "videos/a.mp4", "reference_video": "references/a.mov"}
FILES = ("videos/a.mp4", "references/a.mov")


def test_paths_resolve_next_to_the_dataset_file(tmp_path):
    path = _dataset(tmp_path, [ROW], FILES)
    assert td.check_dataset(path) == [{}]
    (tmp_path / "references/a.mov").unlink()
    with pytest.raises(td.DatasetError, match="'reference_video' 'references/a.mov' does not exist") as info:
        td.check_dataset(path)
    assert str(tmp_path / "references/a.mov") in str(info.value)


def test_an_image_path_is_refused_as_a_video(tmp_path):
    path = _dataset(tmp_path, [{**ROW, "reference_video": "r.png"}], ("videos/a.mp4", "r.png"))
    with pytest.raises(td.DatasetError, match="single image"):
        td.check_dataset(path)


def _probe(shapes):
    return lambda path: shapes[path.name]


def test_frames_must_be_8k_plus_1_and_sizes_multiples_of_32(tmp_path):
    path = _dataset(tmp_path, [ROW], FILES)
    assert td.check_dataset(path, _probe({"a.mp4": (17, 128, 64), "a.mov": (17, 128, 64)})) == [
        {"video": (17, 128, 64), "reference_video": (17, 128, 64)}
    ]
    with pytest.raises(td.DatasetError, match="has 16 frames; the trainer's buckets need 8k\\+1 \\(e.g. 9\\)"):
        td.check_dataset(path, _probe({"a.mp4": (16, 128, 64), "a.mov": (16, 128, 64)}))
    with pytest.raises(td.DatasetError, match="multiples of 32 \\(height 40\\)"):
        td.check_dataset(path, _probe({"a.mp4": (17, 128, 40), "a.mov": (17, 128, 40)}))


def test_target_and_reference_must_match(tmp_path):
    path = _dataset(tmp_path, [ROW], FILES)
    with pytest.raises(td.DatasetError, match="'reference_video' has 9 frames but 'video' has 17"):
        td.check_dataset(path, _probe({"a.mp4": (17, 128, 64), "a.mov": (9, 128, 64)}))
    with pytest.raises(td.DatasetError, match="'reference_video' is 64x64 but 'video' is 128x64"):
        td.check_dataset(path, _probe({"a.mp4": (17, 128, 64), "a.mov": (17, 64, 64)}))
    # a half-size reference of the same shape is fine (the trainer downscales references itself)
    td.check_dataset(path, _probe({"a.mp4": (17, 128, 64), "a.mov": (17, 64, 32)}))


def test_every_row_needs_the_first_rows_columns(tmp_path):
    rows = [ROW, {**ROW, "video": "videos/b.mp4", "video_mask": "masks/b.mov"}]
    path = _dataset(tmp_path, rows, FILES + ("videos/b.mp4", "masks/b.mov"))
    with pytest.raises(td.DatasetError, match="row 2: .*first row") as info:
        td.check_dataset(path)
    assert info.value.field == "video_mask"


def test_a_target_twice_and_a_missing_caption_are_refused(tmp_path):
    path = _dataset(tmp_path, [ROW, ROW], FILES)
    with pytest.raises(td.DatasetError, match="row 2: 'video' 'videos/a.mp4' is already row 1"):
        td.check_dataset(path)
    path = _dataset(tmp_path, [{**ROW, "caption": ""}], FILES)
    with pytest.raises(td.DatasetError, match="row 1: 'caption' is missing or empty"):
        td.check_dataset(path)


def test_a_broken_line_names_its_number(tmp_path):
    path = tmp_path / "dataset.jsonl"
    path.write_text(json.dumps(ROW) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(td.DatasetError, match="line 2: not JSON"):
        td.read_rows(path)


# ----------------------------------------------------------------------------------------- append
def _row(name, mask=False):
    return td.make_row(f"caption {name}", td.shot_files(name), mask)


def _prov(rows, source="/a.blend"):
    return {row["video"]: {"source": source, "frames": [1, 9]} for row in rows}


def test_append_adds_then_replaces_the_same_shot_in_place(tmp_path):
    first = [_row("a"), _row("b")]
    assert td.append_rows(tmp_path, first, "depth", _prov(first))["added"] == 2
    again = [td.make_row("new caption", td.shot_files("a"), False), _row("c")]
    summary = td.append_rows(tmp_path, again, "depth", _prov(again))
    assert (summary["rows"], summary["replaced"], summary["added"]) == (3, 1, 1)
    rows = td.read_rows(tmp_path / "dataset.jsonl")
    assert [r["video"] for r in rows] == ["videos/a.mp4", "videos/b.mp4", "videos/c.mp4"]
    assert rows[0]["caption"] == "new caption"
    record = td.load_record(tmp_path)
    assert record["kind"] == "depth" and set(record["rows"]) == {r["video"] for r in rows}
    assert not (tmp_path / td.LOCK_NAME).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset.jsonl", "export_training.json"]  # no temp files


def test_a_second_kind_or_another_source_with_the_same_shot_is_refused(tmp_path):
    rows = [_row("a")]
    td.append_rows(tmp_path, rows, "depth", _prov(rows))
    with pytest.raises(td.DatasetError, match="holds 'depth' pairs") as info:
        td.append_rows(tmp_path, [_row("b")], "pose", _prov([_row("b")]))
    assert info.value.field == "control"
    with pytest.raises(td.DatasetError, match="exported from /a.blend, not /b.blend"):
        td.append_rows(tmp_path, rows, "depth", _prov(rows, "/b.blend"))
    assert len(td.read_rows(tmp_path / "dataset.jsonl")) == 1  # refusals change nothing


def test_rows_with_and_without_a_mask_do_not_mix(tmp_path):
    rows = [_row("a")]
    td.append_rows(tmp_path, rows, "depth", _prov(rows))
    with pytest.raises(td.DatasetError, match="rows are without a mask and this export is with one"):
        td.append_rows(tmp_path, [_row("b", mask=True)], "depth", _prov([_row("b", True)]))
    td.check_mask_columns(td.read_rows(tmp_path / "dataset.jsonl"), False)
    td.check_mask_columns([], True)


def test_a_held_lock_waits_then_says_what_to_do(tmp_path):
    now = [0.0]
    (tmp_path / td.LOCK_NAME).write_text("123")

    def sleep(seconds):
        now[0] += seconds

    lock = td.DatasetLock(tmp_path, clock=lambda: now[0], sleep=sleep, wait_s=1.0)
    with pytest.raises(td.DatasetError, match="another export is writing this dataset"):
        lock.__enter__()
    assert now[0] > 1.0
    (tmp_path / td.LOCK_NAME).unlink()
    with td.DatasetLock(tmp_path, clock=lambda: now[0], sleep=sleep):
        assert (tmp_path / td.LOCK_NAME).exists()
    assert not (tmp_path / td.LOCK_NAME).exists()
