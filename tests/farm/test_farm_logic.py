"""The farm's pure logic, without Redis or workers (fast): what a lost worker's job becomes, the
worker registry's expiry on an injected clock, a bundle's queue, the Celery settings, and the
front door's job transitions (claims, attempts, cancel) on a real job store."""

from __future__ import annotations

import io

import pytest

from backend.farm.attempts import INTERRUPT, REQUEUE, after_worker_lost
from backend.farm.celery_app import QUEUE_PREFIX, celery_config, queue_for
from backend.farm.dispatcher import Dispatcher, Refused
from backend.farm.registry import BUSY, IDLE, WorkerInfo, WorkerRegistry
from backend.farm.settings import FarmSettings
from backend.server.jobs import JobStore
from shared.errors import UserError

HASH = "ab" * 32
OTHER = "cd" * 32


# ----------------------------------------------------------------------------- attempts
def test_a_lost_workers_job_runs_again_once_when_another_worker_is_left():
    decision = after_worker_lost("w1", attempts=1, max_attempts=2, workers_left=1)
    assert decision.action == REQUEUE and "attempt 2 of 2" in decision.message and "w1" in decision.message


def test_a_job_lost_twice_is_interrupted_even_with_workers_left():
    decision = after_worker_lost("w2", attempts=2, max_attempts=2, workers_left=3)
    assert decision.action == INTERRUPT and "2 time(s)" in decision.message


def test_a_lost_workers_job_is_interrupted_when_no_worker_is_left():
    decision = after_worker_lost("w1", attempts=1, max_attempts=2, workers_left=0)
    assert decision.action == INTERRUPT and "no other worker" in decision.message


# ----------------------------------------------------------------------------- registry
def info(name: str, seq: int, state: str = IDLE, job: str | None = None, model_hash: str = HASH) -> WorkerInfo:
    return WorkerInfo(name, "box", "cpu", "resident", "tiny", model_hash, state, job, seq)


def test_a_worker_is_alive_while_its_sequence_number_moves_on_the_front_doors_clock():
    reg = WorkerRegistry(timeout_s=10, now=0.0)
    reg.observe([info("w1", 1)], now=1.0)
    for t in (5.0, 11.0, 12.0):
        reg.observe([info("w1", int(t))], now=t)  # beating
    assert reg.alive("w1", 22.0)
    reg.observe([info("w1", 12)], now=20.0)  # the same beat read again: no news
    assert reg.alive("w1", 22.0) and not reg.alive("w1", 22.5)
    assert [i.name for i in reg.live_workers(22.0)] == ["w1"] and reg.live_workers(22.5) == []


def test_nobody_expires_during_the_grace_after_start_and_unknown_workers_are_lost_after_it():
    reg = WorkerRegistry(timeout_s=10, now=100.0)
    assert reg.alive("never-seen", 109.0)  # a job's worker from before a front door restart: wait for it
    assert not reg.alive("never-seen", 110.5)
    assert not reg.alive(None, 110.5)


def test_after_a_broker_outage_the_workers_get_a_fresh_grace():
    reg = WorkerRegistry(timeout_s=10, now=0.0)
    reg.observe([info("w1", 1)], now=11.0)
    # Redis was away from t=12 to t=40: no heartbeat could be read or written
    assert not reg.alive("w1", 40.0)
    reg.reconnected(now=40.0)
    assert reg.alive("w1", 49.0)
    reg.observe([info("w1", 1)], now=49.0)  # still the old beat: it never came back
    assert not reg.alive("w1", 50.5)


def test_dead_workers_are_forgotten_after_ten_timeouts():
    reg = WorkerRegistry(timeout_s=1, now=0.0)
    reg.observe([info("w1", 1), info("w2", 1)], now=2.0)
    reg.observe([info("w2", 2)], now=12.5)
    reg.forget_dead(now=12.5)
    assert [i.name for i in reg.live_workers(12.5)] == ["w2"]
    reg.reconnected(now=13.0)  # a forgotten worker does not come back with the grace
    assert [i.name for i in reg.live_workers(13.0)] == ["w2"]


def test_heartbeat_json_round_trips_and_garbage_is_ignored():
    original = info("w1", 7, BUSY, "job-1")
    assert WorkerInfo.from_json(original.to_json()) == original
    assert WorkerInfo.from_json(b"not json") is None
    assert WorkerInfo.from_json('{"name": 3}') is None


# ----------------------------------------------------------------------------- queue and settings
def test_a_bundles_queue_is_named_after_its_hash():
    assert queue_for(HASH) == QUEUE_PREFIX + HASH[:16]
    assert queue_for(HASH) != queue_for(OTHER)
    with pytest.raises(ValueError):
        queue_for("../etc")


def test_celery_runs_one_job_at_a_time_acknowledged_late_and_redelivered_after_the_longest_job():
    conf = celery_config(FarmSettings("redis://127.0.0.1:6379/0"))
    assert conf["worker_prefetch_multiplier"] == 1 and conf["worker_pool"] == "solo"
    assert conf["task_acks_late"] is True and conf["task_reject_on_worker_lost"] is True
    options = conf["broker_transport_options"]
    assert options["visibility_timeout"] >= 3600  # well above a long job
    assert options["unacked_restore_interval"] <= 10 and options["unacked_restore_throttle"] == 1
    assert conf["broker_connection_max_retries"] is None  # a Redis restart is waited out


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"broker_url": "amqp://x"}, "broker"),
        ({"worker_timeout_s": 3.0}, "worker_timeout_s"),  # not more than twice the 2 s heartbeat
        ({"visibility_timeout_s": 60}, "visibility_timeout_s"),
    ],
)
def test_farm_settings_refuse_what_cannot_work(changes, field):
    settings = FarmSettings(**{"broker_url": "redis://h:6379/0", **changes})
    with pytest.raises(UserError) as err:
        settings.check()
    assert err.value.field == field


# ----------------------------------------------------------------------------- the dispatcher
@pytest.fixture
def dispatch(tmp_path):
    store, _ = JobStore.open(tmp_path, interrupt_running=False)
    published: list[str] = []
    dispatcher = Dispatcher(store, publish=published.append, model_hash=HASH, max_package_bytes=1 << 20, max_attempts=2)
    control = tmp_path / "c.npz"
    control.write_bytes(b"x")
    job = store.create({"prompt": "p", "seed": 1}, {"control": (control, "control.npz")}).id
    dispatcher.submit(job)
    return dispatcher, store, published, job


def test_a_job_is_claimed_once_however_often_its_message_comes(dispatch):
    dispatcher, store, published, job = dispatch
    assert published == [job]
    claim = dispatcher.claim(job, "w1", HASH)
    assert claim["attempt"] == 1 and claim["spec"]["seed"] == 1 and claim["inputs"] == {"control": "control.npz"}
    record = store.get(job)
    assert record.status == "running" and record.worker == "w1" and record.attempts == 1
    with pytest.raises(Refused):
        dispatcher.claim(job, "w2", HASH)  # a duplicate message (republished, or redelivered by Redis)
    assert store.get(job).worker == "w1"


def test_a_worker_with_another_bundle_is_refused(dispatch):
    dispatcher, store, _, job = dispatch
    with pytest.raises(Refused, match="needs the bundle"):
        dispatcher.claim(job, "w1", OTHER)
    assert store.get(job).status == "queued"


def test_progress_and_result_only_from_the_jobs_current_run(dispatch):
    dispatcher, store, published, job = dispatch
    dispatcher.claim(job, "w1", HASH)
    event = {"stage": "stage1", "step": 2, "total": 8, "progress": 0.2, "eta_s": 3.0, "message": "m"}
    assert dispatcher.progress(job, "w1", 1, event) is False
    record = store.get(job)
    assert (record.stage, record.step, record.progress, record.eta_s) == ("stage1", 2, 0.2, 3.0)
    assert dispatcher.progress(job, "w1", 1, {**event, "progress": 0.1}) is False
    assert store.get(job).progress == 0.2  # never goes back
    # w1 is taken for lost; the job runs again on w2
    assert dispatcher.worker_lost(job, "w1", workers_left=1) == "requeue"
    assert store.get(job).status == "queued" and published == [job, job]
    assert dispatcher.claim(job, "w2", HASH)["attempt"] == 2
    with pytest.raises(Refused):
        dispatcher.progress(job, "w1", 1, event)  # the first run came back: refused, it stops
    with pytest.raises(Refused):
        dispatcher.accept_result(job, "w1", 1, {"frames": 9, "fps": "24", "width": 1, "height": 1}, {})
    meta = {"frames": 9, "fps": "24", "width": 128, "height": 128}
    dispatcher.accept_result(job, "w2", 2, meta, {"video": ("video.mp4", io.BytesIO(b"mp4"))})
    record = store.get(job)
    assert record.status == "succeeded" and record.worker == "w2" and record.attempts == 2
    assert store.result_path(job, "video").read_bytes() == b"mp4"


def test_a_job_whose_worker_is_lost_twice_is_interrupted(dispatch):
    dispatcher, store, _, job = dispatch
    dispatcher.claim(job, "w1", HASH)
    dispatcher.worker_lost(job, "w1", workers_left=1)
    dispatcher.claim(job, "w2", HASH)
    assert dispatcher.worker_lost(job, "w2", workers_left=1) == "interrupted"
    record = store.get(job)
    assert record.status == "interrupted" and "2 time(s)" in record.error


def test_cancel_a_queued_job_at_once_and_a_running_one_at_its_next_progress(dispatch):
    dispatcher, store, _, job = dispatch
    control = store.input_path(job, "control")
    second = store.create({"prompt": "q", "seed": 2}, {"control": (control, "control.npz")}).id
    assert dispatcher.cancel(second) is True and store.get(second).status == "cancelled"
    with pytest.raises(Refused):
        dispatcher.claim(second, "w1", HASH)  # its message comes later: nobody runs it
    dispatcher.claim(job, "w1", HASH)
    assert dispatcher.cancel(job) is True and store.get(job).status == "running"
    assert dispatcher.progress(job, "w1", 1, {"stage": "stage1", "step": 1, "progress": 0.1}) is True
    assert store.get(job).message.startswith("cancelling")
    dispatcher.report_end(job, "w1", 1, "cancelled", "cancelled")
    assert store.get(job).status == "cancelled"
    assert dispatcher.cancel(job) is False


def test_a_running_job_survives_a_front_door_restart(tmp_path, dispatch):
    dispatcher, store, _, job = dispatch
    dispatcher.claim(job, "w1", HASH)
    reopened, queued = JobStore.open(store.root.parent, interrupt_running=False)
    assert reopened.get(job).status == "running" and reopened.get(job).worker == "w1" and queued == []
    single, _ = JobStore.open(store.root.parent)  # one machine: a running job died with its server
    assert single.get(job).status == "interrupted"


def test_a_cancel_asked_before_a_front_door_restart_still_reaches_the_worker(dispatch):
    dispatcher, store, _, job = dispatch
    dispatcher.claim(job, "w1", HASH)
    dispatcher.cancel(job)
    reopened, _ = JobStore.open(store.root.parent, interrupt_running=False)
    after = Dispatcher(reopened, publish=lambda _: None, model_hash=HASH, max_package_bytes=1, max_attempts=2)
    assert after.progress(job, "w1", 1, {"stage": "stage1", "step": 2, "progress": 0.2}) is True
