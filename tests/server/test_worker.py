"""The worker with the real engine and tiny bundle: failures inside a job (out of memory, an
unexpected exception) fail that job with a useful message and leave the worker serving.

The failures are raised through the worker's documented test hook (`fault_hook`), which is called
inside the job from the engine's progress callback: the exception leaves `engine.run` mid-stage and
travels the real handler path, exactly like a failure raised by torch.
"""

from __future__ import annotations

import time

import pytest
import torch

from backend.server.jobs import FAILED, JobStore
from backend.server.worker import Worker

from .helpers import control_video_bytes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def engine(tiny_bundle):
    from backend.engine import Engine

    return Engine(tiny_bundle, device="cpu")


def _job(store, tmp_path, seed):
    upload = tmp_path / f"upload-{seed}"
    upload.write_bytes(control_video_bytes(tmp_path))
    spec = {"prompt": "a cube", "seed": seed, "control_kind": "depth", "preview": True, "fps": "24"}
    return store.create(spec, {"control": (upload, "control.mkv")}).id


def _wait(store, job_id, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = store.get(job_id)
        if record.status in ("succeeded", "failed", "cancelled", "interrupted"):
            return record
        time.sleep(0.05)
    raise TimeoutError(job_id)


def test_out_of_memory_and_crashing_jobs_fail_cleanly_and_the_worker_goes_on(engine, tmp_path):
    store, _ = JobStore.open(tmp_path / "data")
    faults = {}

    def fault_hook(job_id, event):
        if event.stage == "stage1" and event.step == 1 and job_id in faults:
            raise faults[job_id]

    worker = Worker(store, engine, max_package_bytes=2**30, fault_hook=fault_hook)
    oom, crash, fine = (_job(store, tmp_path, s) for s in (1, 2, 3))
    faults[oom] = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    faults[crash] = RuntimeError("boom in the sampler")
    worker.start([oom, crash, fine])
    try:
        a, b, c = (_wait(store, j) for j in (oom, crash, fine))
        assert a.status == FAILED and a.stage == "stage1"
        assert a.error.startswith("out of CPU memory during stage1")
        for advice in ("Lower the frame count", "the size", "fp8-cast", "preview", "ready for the next job"):
            assert advice in a.error, a.error
        assert b.status == FAILED
        assert b.error.startswith("internal error: RuntimeError: boom in the sampler")
        assert c.status == "succeeded", c.error
        assert (store.out_dir(fine) / c.result["video"]).is_file()
        assert worker._thread.is_alive()
        # MemoryError (host RAM) takes the same path
        again = _job(store, tmp_path, 4)
        faults[again] = MemoryError()
        worker.submit(again)
        assert _wait(store, again).error.startswith("out of CPU memory during stage1")
    finally:
        worker.stop(timeout=60)
    assert not worker._thread.is_alive()


def test_shutdown_mid_job_reports_interrupted_and_keeps_queued(engine, tmp_path):
    store, _ = JobStore.open(tmp_path / "data")
    started = {}

    def fault_hook(job_id, event):  # not a fault: notes that stage 1 is under way
        if event.stage == "stage1":
            started.setdefault(job_id, time.monotonic())

    worker = Worker(store, engine, max_package_bytes=2**30, fault_hook=fault_hook)
    running, queued = _job(store, tmp_path, 5), _job(store, tmp_path, 6)
    worker.start([running, queued])
    deadline = time.monotonic() + 300
    while running not in started and time.monotonic() < deadline:
        time.sleep(0.02)
    worker.stop(timeout=120)
    record = store.get(running)
    assert record.status == "interrupted" and "stopped" in record.error
    assert store.get(queued).status == "queued"
    assert JobStore.open(tmp_path / "data")[1] == [queued]


def test_model_that_fails_to_load_fails_jobs_with_the_reason(tiny_bundle, tmp_path):
    import shutil

    from backend.engine import Engine

    bundle_dir = tmp_path / "bundle"
    shutil.copytree(tiny_bundle.parent, bundle_dir)
    engine = Engine(bundle_dir / "bundle.json", device="cpu")  # headers read: fine so far
    checkpoint = next(bundle_dir.glob("*distilled*.safetensors"))
    checkpoint.write_bytes(checkpoint.read_bytes()[:4096])  # damaged after the check
    store, _ = JobStore.open(tmp_path / "data")
    worker = Worker(store, engine, max_package_bytes=2**30)
    job = _job(store, tmp_path, 7)
    worker.start([job])
    try:
        record = _wait(store, job)
        assert worker.engine_state == "failed"
        assert worker.engine_error.startswith("the model could not be loaded")
        assert record.status == FAILED and record.error == worker.engine_error
        assert worker._thread.is_alive()
    finally:
        worker.stop(timeout=30)


def test_the_package_checked_at_submit_is_used_and_the_stored_file_read_only_without_it(engine, tmp_path, monkeypatch):
    """A job runs on the package the submit already loaded (no second decode); without one (too
    large to hold, or after a restart) the stored file is read. The stored file is damaged after
    the submit, so which of the two the job used shows in its outcome."""
    from shared.package import ControlPackage

    from backend.server import worker as worker_module

    from .helpers import depth_package_bytes

    store, _ = JobStore.open(tmp_path / "data")
    worker = Worker(store, engine, max_package_bytes=2**30)
    worker.start()
    data = depth_package_bytes()
    spec = {"prompt": "a cube", "seed": 1, "preview": True}

    def submit(name):
        upload = tmp_path / name
        upload.write_bytes(data)
        package = ControlPackage.load(upload)
        job = store.create(spec, {"control": (upload, "control.npz")}).id
        store.input_path(job, "control").write_bytes(b"PK\x03\x04 damaged after the submit")
        worker.submit(job, package=package)
        return _wait(store, job)

    try:
        assert submit("held").status == "succeeded"
        monkeypatch.setattr(worker_module, "PRELOAD_BUDGET_BYTES", 1)  # too large to hold
        record = submit("not-held")
        assert record.status == FAILED and "control" in record.error.lower()
        assert worker._preloaded == {}
    finally:
        worker.stop(timeout=30)
