"""Issue 14's failures, each reproduced against the in-process server (stand-in engine): hostile
files, memory per upload, the data folder, a full disk, concurrent submits, stalled uploads and
the checks that belong at submit. Fast: part of `make test-fast`."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import stat
import subprocess
import threading
import tracemalloc
from fractions import Fraction

import numpy as np
import pytest

from shared.package import ControlPackage

from .api_fixtures import (
    SPEC,
    manifest_text,
    npy_bytes,
    npy_header_only,
    npz_bytes,
    open_api,
    package_with_manifest,
    png_header_only,
    running,
)
from .helpers import control_video_bytes, depth_package_bytes, parse_sse


@pytest.fixture
def api(tmp_path):
    with running(open_api(tmp_path / "data", max_upload_bytes=64 * 1024 * 1024)) as api:
        yield api


def _refused(r, loc: list, *words: str) -> str:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"][0]["loc"] == loc, body
    for word in words:
        assert word in body["message"], body["message"]
    return body["message"]


def _leftovers(api) -> list[str]:
    return sorted(p.name for p in api.state.store.root.iterdir() if p.name.startswith("."))


# ------------------------------------------------------------------------------ hostile manifests
@pytest.mark.parametrize(
    "manifest, loc, words",
    [
        ('{"a":' * 50_000 + "1" + "}" * 50_000, "manifest", ["nested too deeply"]),
        (
            manifest_text(frame_count=0).replace('"frame_count": 0', '"frame_count": ' + "7" * 5000),
            "manifest",
            ["too long"],
        ),
        (manifest_text(arrays=["depth", "depth"]), "depth", ["more than once"]),
        (manifest_text(source={"\ud800": 1}), "source", ["not valid Unicode"]),
        (manifest_text()[:-1] + ', "\\ud800": 1}', "\\ud800", ["not valid Unicode"]),
    ],
)
def test_hostile_manifests_are_a_422_naming_the_field(api, manifest, loc, words):
    r = api.submit(SPEC, package_with_manifest(manifest))
    message = _refused(r, ["body", "control", loc] if loc != "control" else ["body", "control"], *words)
    assert "Traceback" not in message
    assert api.client.get("/v1/health").status_code == 200  # still serving


def test_a_mask_whose_header_declares_a_huge_shape_is_refused_before_allocating(api):
    mask = npz_bytes({"mask.npy": npy_header_only((100_000, 100_000, 100_000))})
    r = api.submit(SPEC, None, mask=mask)
    _refused(r, ["body", "mask"], "mask")
    package = npz_bytes(
        {
            "manifest.npy": npy_bytes(np.frombuffer(manifest_text().encode(), np.uint8)),
            "depth.npy": npy_header_only((9, 10**6, 10**6)),
        }
    )
    r = api.submit(SPEC, package)
    _refused(r, ["body", "control", "depth"], "header says shape")


def test_a_mask_zip_bomb_is_refused_by_its_ratio(api):
    raw = io.BytesIO()
    np.lib.format.write_array(raw, np.zeros((64, 512, 512), np.uint8))
    mask = npz_bytes({"mask.npy": raw.getvalue()})
    data = bytearray(mask)
    cd = data.rfind(b"PK\x01\x02")  # declared size x100 in the central directory
    size = int.from_bytes(data[cd + 24 : cd + 28], "little")
    data[cd + 24 : cd + 28] = (size * 100).to_bytes(4, "little")
    _refused(api.submit(SPEC, None, mask=bytes(data)), ["body", "mask"], "impossible for deflate")


# ------------------------------------------------------------------------------ checked at submit
def test_more_frames_than_the_package_has_is_refused_at_submit(api):
    _refused(api.submit({**SPEC, "frames": 17}), ["body", "spec", "frames"], "17 frames", "package has 9")


def test_more_frames_than_the_control_video_has_is_refused_at_submit(api, tmp_path):
    r = api.submit({**SPEC, "frames": 17, "control_kind": "depth"}, control_video_bytes(tmp_path))
    _refused(r, ["body", "spec", "frames"], "control video has 9")


def test_a_mask_with_too_few_frames_is_refused_at_submit(api):
    buf = io.BytesIO()
    np.savez_compressed(buf, mask=np.ones((5, 128, 128), np.float32))
    _refused(api.submit(SPEC, None, mask=buf.getvalue()), ["body", "mask"], "has 5 frames", "needs 9")
    buf = io.BytesIO()
    np.savez_compressed(buf, mask=np.ones((128, 128), np.uint8))  # one mask for every frame: fine
    assert api.submit(SPEC, None, mask=buf.getvalue()).status_code == 202


def test_a_huge_first_frame_is_refused_at_submit_without_decoding_it(api):
    r = api.submit(SPEC, None, image=png_header_only(12000, 12000))
    _refused(r, ["body", "image"], "12000x12000", "8192")


def test_a_job_with_a_lone_surrogate_in_its_prompt_is_refused_and_answers_stay_json(api):
    r = api.client.post(
        "/v1/jobs", data={"spec": '{"prompt": "\\ud800"}'}, files={"control": ("c.npz", depth_package_bytes())}
    )
    _refused(r, ["body", "spec", "prompt"], "not valid Unicode")
    assert api.client.get("/v1/jobs").json() == {"jobs": []}


# ------------------------------------------------------------------------------ memory per upload
def _peak_during(call) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_peak_memory_of_a_package_upload_is_within_twice_its_arrays(api):
    """255 KB that decode to 64 MiB of depth: the server's extra memory for the whole submit
    (streaming the body, reading and validating the package, planning) stays under 2x that."""
    depth = np.full((16, 1024, 1024), 3.0, np.float32)
    depth[:, :8] = np.inf
    pkg = ControlPackage(kind="depth", width=1024, height=1024, fps=Fraction(24), frame_count=16, depth=depth)
    body = pkg.to_bytes()
    decoded = depth.nbytes
    del pkg, depth
    assert len(body) < decoded // 100
    api.engine.hold()  # the worker does nothing while it is measured
    results = []
    peak = _peak_during(lambda: results.append(api.submit({**SPEC, "frames": 9}, body)))
    assert results[0].status_code == 202, results[0].text
    assert decoded <= peak < 2 * decoded, f"peak {peak / 2**20:.0f} MiB for {decoded / 2**20:.0f} MiB of arrays"


def test_peak_memory_of_a_uint8_mask_upload_is_within_twice_the_mask(api, tmp_path):
    """The mask is checked as stored (uint8), not converted to float32 at submit (4x)."""
    mask = np.full((9, 2048, 2048), 255, np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, mask=mask)
    decoded = mask.nbytes
    del mask
    api.engine.hold()
    results = []
    peak = _peak_during(lambda: results.append(api.submit(SPEC, None, mask=buf.getvalue())))
    assert results[0].status_code == 202, results[0].text
    assert decoded <= peak < 2 * decoded, f"peak {peak / 2**20:.0f} MiB for {decoded / 2**20:.0f} MiB of mask"


# ------------------------------------------------------------------------------ concurrency
def _parallel_submits(api, count: int) -> list:
    results = [None] * count
    barrier = threading.Barrier(count)

    def one(i):
        barrier.wait()
        results[i] = api.submit({**SPEC, "seed": i})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_submits_respect_max_queued_exactly(tmp_path):
    with running(open_api(tmp_path / "data", max_queued=3)) as api:
        api.engine.hold()  # nothing finishes while they arrive
        results = _parallel_submits(api, 10)
        codes = sorted(r.status_code for r in results)
        assert codes == [202] * 3 + [429] * 7, codes
        assert all("--max-queued" in r.json()["detail"] for r in results if r.status_code == 429)
        assert api.state.store.count_active() == 3


def test_jobs_submitted_in_parallel_run_in_the_order_they_were_accepted(api):
    api.engine.hold()
    blocker = api.submit_ok({**SPEC, "seed": 1000})
    api.engine.started.acquire()
    results = _parallel_submits(api, 8)
    assert all(r.status_code == 202 for r in results)
    api.engine.release()
    ids = [r.json()["id"] for r in results]
    for job in ids:
        assert api.wait(job)["status"] == "succeeded"
    by_created = sorted(ids, key=lambda j: api.state.store.get(j).created)
    seed_of = {j: api.state.store.get(j).spec["seed"] for j in ids}
    ran = [spec["seed"] for spec in api.engine.runs[1:]]
    assert ran == [seed_of[j] for j in by_created]
    assert [j["id"] for j in api.client.get("/v1/jobs").json()["jobs"]] == [blocker] + by_created


# ------------------------------------------------------------------------------ stalled uploads
def test_a_stalled_upload_is_answered_408_and_leaves_nothing(tmp_path):
    api = open_api(tmp_path / "data", upload_stall_timeout_s=0.05)
    try:
        boundary = "b0undary"
        first = (f'--{boundary}\r\nContent-Disposition: form-data; name="spec"\r\n\r\n{json.dumps(SPEC)}\r\n').encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/jobs",
            "raw_path": b"/v1/jobs",
            "root_path": "",
            "query_string": b"",
            "server": ("127.0.0.1", 8765),
            "client": ("127.0.0.1", 5000),
            "headers": [
                (b"host", b"127.0.0.1:8765"),
                (b"authorization", f"Bearer {api.state.token}".encode()),
                (b"content-type", f"multipart/form-data; boundary={boundary}".encode()),
            ],
        }
        sent = []

        async def main():
            chunks = [{"type": "http.request", "body": first, "more_body": True}]
            never = asyncio.Event()

            async def receive():
                if chunks:
                    return chunks.pop(0)
                await never.wait()  # the client sends nothing more

            async def send(message):
                sent.append(message)

            await api.app(scope, receive, send)

        asyncio.run(main())
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        assert start["status"] == 408
        assert "stalled" in json.loads(body)["detail"]
        assert _leftovers(api) == []
    finally:
        api.app.state.data_lock.close()


# ------------------------------------------------------------------------------ the data folder
def test_an_existing_data_folder_keeps_its_mode_and_files_the_server_did_not_make(tmp_path):
    data = tmp_path / "shared-folder"
    (data / "uploads").mkdir(parents=True)
    (data / "uploads" / "notes.txt").write_text("mine")
    (data / "jobs").mkdir()
    (data / "jobs" / "README").write_text("also mine")
    os.chmod(data, 0o755)
    with running(open_api(data)) as api:
        job = api.submit_ok()
        assert api.wait(job)["status"] == "succeeded"
    assert stat.S_IMODE(data.stat().st_mode) == 0o755
    assert (data / "uploads" / "notes.txt").read_text() == "mine"
    assert (data / "jobs" / "README").read_text() == "also mine"
    with running(open_api(data)) as api:  # a restart deletes none of them either
        assert [j["id"] for j in api.client.get("/v1/jobs").json()["jobs"]] == [job]
    assert (data / "uploads" / "notes.txt").exists() and (data / "jobs" / "README").exists()


def test_a_new_data_folder_is_created_owner_only(tmp_path):
    with running(open_api(tmp_path / "new" / "data")):
        pass
    assert stat.S_IMODE((tmp_path / "new" / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new" / "data" / "jobs").stat().st_mode) == 0o700


# ------------------------------------------------------------------------------ a full disk
@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs (root, as here and in CI); skipped where mounting is not possible."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs (the disk-full tests)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path, leave_bytes: int):
    """Fill the file system of `path` up to `leave_bytes` free; returns the filler file."""
    filler = path / "filler"
    free = shutil.disk_usage(path).free
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(free - leave_bytes, 0))
    return filler


def _no_temporaries(root) -> list[str]:
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.name.startswith(".") or p.name.endswith(".tmp")
    )


def test_submit_on_a_full_disk_is_a_507_about_disk_space_and_works_once_space_is_free(small_disk):
    with running(open_api(small_disk / "data")) as api:
        filler = _fill(small_disk, 0)
        r = api.submit()
        assert r.status_code == 507, r.text
        assert "disk is full" in r.json()["detail"] and "Free space" in r.json()["detail"]
        assert api.client.get("/v1/jobs").json() == {"jobs": []}
        assert _no_temporaries(small_disk / "data" / "jobs") == []
        filler.unlink()
        job = api.submit_ok()
        assert api.wait(job)["status"] == "succeeded"


def test_a_job_that_fills_the_disk_fails_with_a_disk_message_and_disk_and_api_agree(small_disk):
    engine = None
    with running(open_api(small_disk / "data")) as api:
        engine = api.engine
        api.engine.hold()
        api.engine.output_bytes = 1024 * 1024  # a result larger than the space left
        job = api.submit_ok()
        api.engine.started.acquire()  # running, held before it writes its files
        filler = _fill(small_disk, 16 * 1024)  # its outputs no longer fit
        with api.client.stream("GET", f"/v1/jobs/{job}/events") as stream:
            api.engine.release()
            events = [(kind, data["status"]) for kind, data, _ in parse_sse(stream.iter_lines())]
        assert events[-1] == ("status", "failed")  # the stream ended with the final status
        status = api.client.get(f"/v1/jobs/{job}").json()
        assert status["status"] == "failed" and "disk is full" in status["error"]
        on_disk = json.loads((api.state.store.root / job / "job.json").read_text())
        assert (on_disk["status"], on_disk["error"]) == ("failed", status["error"])
        assert _no_temporaries(small_disk / "data" / "jobs") == []
        assert not (api.state.store.root / job / "out").exists()  # partial outputs removed
        filler.unlink()
        again = api.submit_ok()
        assert api.wait(again)["status"] == "succeeded"
    assert engine is not None
    with running(open_api(small_disk / "data")) as api:  # after a restart: the same story
        assert api.client.get(f"/v1/jobs/{job}").json()["status"] == "failed"
