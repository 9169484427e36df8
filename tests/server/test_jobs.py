"""The on-disk job store (backend/server/jobs.py): persistence, restart recovery, retention."""

from __future__ import annotations

import json
import time

import pytest

from backend.server import jobs
from backend.server.jobs import CANCELLED, FAILED, INTERRUPTED, QUEUED, RUNNING, SUCCEEDED, JobStore, valid_job_id

SPEC = {"prompt": "a cube", "seed": 3}


def _new(store, tmp_path, name="control.npz", content=b"PK\x03\x04data", now=None):
    upload = tmp_path / f"upload-{time.perf_counter_ns()}"
    upload.write_bytes(content)
    return store.create(SPEC, {"control": (upload, name)}, now=now)


def test_create_writes_folder_atomically_and_moves_the_upload(tmp_path):
    store, queued = JobStore.open(tmp_path / "data")
    assert queued == []
    record = _new(store, tmp_path)
    assert valid_job_id(record.id) and record.status == QUEUED and record.progress == 0.0
    folder = tmp_path / "data" / "jobs" / record.id
    assert (folder / "inputs" / "control.npz").read_bytes() == b"PK\x03\x04data"
    on_disk = json.loads((folder / "job.json").read_text())
    assert on_disk["spec"] == SPEC and on_disk["status"] == "queued"
    assert store.input_path(record.id, "control") == folder / "inputs" / "control.npz"
    assert store.input_path(record.id, "image") is None
    assert [p.name for p in (tmp_path / "data" / "jobs").iterdir()] == [record.id]


def test_public_status_has_the_contract_fields_and_no_paths(tmp_path):
    store, _ = JobStore.open(tmp_path)
    status = _new(store, tmp_path).public()
    for key in (
        "id",
        "status",
        "progress",
        "stage",
        "step",
        "total",
        "eta_s",
        "error",
        "created",
        "started",
        "finished",
        "spec",
    ):
        assert key in status
    assert "inputs" not in status and str(tmp_path) not in json.dumps(status)


def test_listeners_get_status_and_progress_kinds_with_increasing_revisions(tmp_path):
    store, _ = JobStore.open(tmp_path)
    seen = []
    store.add_listener(lambda kind, status, rev: seen.append((kind, status["status"], status["progress"], rev)))
    record = _new(store, tmp_path)
    store.update(record.id, status=RUNNING, started=time.time())
    store.update(record.id, progress=0.5, stage="stage1")
    store.update(record.id, status=SUCCEEDED, progress=1.0)
    assert [s[:3] for s in seen] == [
        ("status", QUEUED, 0.0),
        ("status", RUNNING, 0.0),
        ("progress", RUNNING, 0.5),
        ("status", SUCCEEDED, 1.0),
    ]
    assert [s[3] for s in seen] == [1, 2, 3, 4]


class SteppedClock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_progress_is_written_when_the_last_write_is_old_bursts_stay_in_memory_status_always(tmp_path):
    clock = SteppedClock()
    store, _ = JobStore.open(tmp_path, clock=clock)
    record = _new(store, tmp_path)
    job_json = tmp_path / "jobs" / record.id / "job.json"
    on_disk = lambda: json.loads(job_json.read_text())  # noqa: E731
    store.update(record.id, status=RUNNING, started=1.0)  # a status change: written at once
    assert on_disk()["status"] == RUNNING
    clock.t += jobs.PROGRESS_PERSIST_INTERVAL_S / 2
    store.update(record.id, progress=0.1, stage="prompt", step=0)  # the last write is recent: memory only ...
    store.update(record.id, progress=0.2, stage="control", step=0)
    assert on_disk()["stage"] is None and on_disk()["progress"] == 0.0
    assert store.get(record.id).stage == "control"  # ... where readers see it
    clock.t += jobs.PROGRESS_PERSIST_INTERVAL_S / 2
    store.update(record.id, progress=0.3, stage="stage1", step=0)  # the last write is old: written
    assert (on_disk()["stage"], on_disk()["step"], on_disk()["progress"]) == ("stage1", 0, 0.3)
    store.update(record.id, progress=0.4, stage="stage1", step=1)  # a step right after: not
    assert on_disk()["step"] == 0
    store.update(record.id, status=SUCCEEDED, progress=1.0)  # status: at once, with the newest progress
    assert (on_disk()["status"], on_disk()["step"], on_disk()["progress"]) == (SUCCEEDED, 1, 1.0)


def test_a_failed_write_changes_nothing_in_memory_and_tells_no_listener(tmp_path, monkeypatch):
    store, _ = JobStore.open(tmp_path)
    record = _new(store, tmp_path)
    seen = []
    store.add_listener(lambda kind, status, rev: seen.append(status["status"]))

    def disk_full(path, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(jobs, "_write_json", disk_full)
    with pytest.raises(OSError):
        store.update(record.id, status=RUNNING, started=1.0)
    assert store.get(record.id).status == QUEUED and seen == []
    on_disk = json.loads((tmp_path / "jobs" / record.id / "job.json").read_text())
    assert on_disk["status"] == QUEUED  # memory and disk agree


def test_created_times_follow_the_order_of_the_calls_even_when_the_clock_stands_still(tmp_path):
    store, _ = JobStore.open(tmp_path, wall_clock=lambda: 5000.0)
    made = [_new(store, tmp_path).id for _ in range(5)]
    created = [store.get(j).created for j in made]
    assert created == sorted(created) and len(set(created)) == 5
    assert [r.id for r in store.list()] == made
    _, queued = JobStore.open(tmp_path)  # after a restart: the same order
    assert queued == made


def test_a_lone_surrogate_in_the_spec_is_stored_and_read_back(tmp_path):
    store, _ = JobStore.open(tmp_path)
    upload = tmp_path / "upload"
    upload.write_bytes(b"PK\x03\x04data")
    record = store.create({"prompt": "a \ud800 cube"}, {"control": (upload, "control.npz")})
    again, _ = JobStore.open(tmp_path)
    assert again.get(record.id).spec["prompt"] == "a \ud800 cube"


def test_snapshots_are_independent_of_later_updates(tmp_path):
    store, _ = JobStore.open(tmp_path)
    record = _new(store, tmp_path)
    before = store.get(record.id)
    store.update(record.id, status=RUNNING, progress=0.5, stage="stage1", result={"video": "a.mp4"})
    assert (before.status, before.progress, before.stage, before.result) == (QUEUED, 0.0, None, None)
    after = store.get(record.id)
    store.update(record.id, result={"video": "b.mp4"})
    assert after.result == {"video": "a.mp4"} and store.get(record.id).result == {"video": "b.mp4"}


def test_restart_keeps_finished_requeues_queued_and_interrupts_running(tmp_path):
    store, _ = JobStore.open(tmp_path)
    done = _new(store, tmp_path, now=100.0)
    store.update(done.id, status=SUCCEEDED, progress=1.0, finished=time.time())
    running = _new(store, tmp_path, now=101.0)
    store.update(running.id, status=RUNNING, progress=0.4, stage="stage1")
    second = _new(store, tmp_path, now=103.0)
    first = _new(store, tmp_path, now=102.0)

    store2, queued = JobStore.open(tmp_path)  # a new process after a crash
    assert queued == [first.id, second.id]  # submission order, not id order
    assert store2.get(done.id).status == SUCCEEDED
    interrupted = store2.get(running.id)
    assert interrupted.status == INTERRUPTED and interrupted.finished is not None
    assert "submit it again" in interrupted.error
    on_disk = json.loads((tmp_path / "jobs" / running.id / "job.json").read_text())
    assert on_disk["status"] == INTERRUPTED


def test_restart_removes_half_uploaded_jobs_and_skips_garbage(tmp_path):
    store, _ = JobStore.open(tmp_path)
    good = _new(store, tmp_path)
    (tmp_path / "jobs" / ".new-20260101-000000-deadbeef" / "inputs").mkdir(parents=True)
    bad = tmp_path / "jobs" / "20260101-000000-00000000"
    bad.mkdir()
    (bad / "job.json").write_text("{not json")
    store2, queued = JobStore.open(tmp_path)
    assert queued == [good.id]
    assert not (tmp_path / "jobs" / ".new-20260101-000000-deadbeef").exists()
    assert [r.id for r in store2.list()] == [good.id]


def test_retention_by_age_and_count_spares_active_jobs(tmp_path):
    store = JobStore.open(tmp_path, keep_days=1.0, keep_jobs=2)[0]
    now = 1_000_000.0
    ids = []
    for i, status in enumerate([SUCCEEDED, FAILED, CANCELLED, SUCCEEDED]):
        record = _new(store, tmp_path, now=now - 10 * 86400 + i)
        store.update(record.id, status=status, finished=now - (3 - i) * 3600)  # 3 h, 2 h, 1 h, 0 h ago
        ids.append(record.id)
    old = _new(store, tmp_path, now=now - 5 * 86400)
    store.update(old.id, status=SUCCEEDED, finished=now - 2 * 86400)  # 2 days old
    queued = _new(store, tmp_path, now=now - 30 * 86400)  # old but still queued
    deleted = store.cleanup(now=now)
    assert sorted(deleted) == sorted([old.id, ids[0], ids[1]])
    assert {r.id for r in store.list()} == {ids[2], ids[3], queued.id}
    assert not (tmp_path / "jobs" / old.id).exists()


def test_result_path_stays_inside_the_job_folder(tmp_path):
    store, _ = JobStore.open(tmp_path)
    record = _new(store, tmp_path)
    out = store.out_dir(record.id)
    out.mkdir()
    (out / "video.mp4").write_bytes(b"x")
    (tmp_path / "secret.txt").write_text("s")
    store.update(record.id, status=SUCCEEDED, result={"video": "video.mp4", "sidecar": "../../../secret.txt"})
    assert store.result_path(record.id, "video") == (out / "video.mp4").resolve()
    assert store.result_path(record.id, "sidecar") is None
    assert store.result_path(record.id, "control") is None


def test_ids_are_validated(tmp_path):
    store, _ = JobStore.open(tmp_path)
    for bad in ("../x", "", "20260101-000000-0000000g", "a" * 30):
        assert not valid_job_id(bad)
        with pytest.raises(KeyError):
            store.job_dir(bad)
    assert store.get("../etc") is None


def test_one_server_per_data_dir(tmp_path):
    from backend.server.jobs import lock_data_dir
    from shared.errors import UserError

    held = lock_data_dir(tmp_path)
    with pytest.raises(UserError, match="already using the data dir"):
        lock_data_dir(tmp_path)
    held.close()  # the process ends (or is killed): lock released
    lock_data_dir(tmp_path).close()
