"""ProgressEvent bookkeeping: order, monotonic progress, ETA, cancellation points."""

from __future__ import annotations

import threading

import pytest

from backend.engine.progress import STAGES, JobCancelled, JobTracker, stage_weights


def test_weights_sum_to_one_and_skip_what_does_not_run():
    for preview in (False, True):
        for load in (False, True):
            w = stage_weights(preview, load)
            assert sum(w.values()) == pytest.approx(1.0)
            assert (w["stage2"] == 0) == preview and (w["load"] == 0) == (not load)


def test_events_are_monotonic_and_end_at_one():
    events = []
    t = JobTracker(events.append, None, stage_weights(False, False))
    for stage in STAGES[1:]:
        total = {"stage1": 8, "stage2": 3}.get(stage, 1)
        t.begin(stage, total)
        for step in range(1, total + 1):
            t.report(stage, step, total)
    t.finish()
    progress = [e.progress for e in events]
    assert progress == sorted(progress) and progress[-1] == pytest.approx(1.0)
    assert events[-1].eta_s == pytest.approx(0.0, abs=1e-9)
    assert [e.step for e in events if e.stage == "stage1"] == list(range(9))
    assert set(t.stage_seconds) == set(STAGES[1:])
    # A report that would go backwards (a stage reported again) does not lower the progress.
    t.report("prompt", 0, 1)
    assert events[-1].progress == pytest.approx(1.0)


def test_cancel_is_raised_at_the_next_check():
    cancel = threading.Event()
    t = JobTracker(None, cancel, stage_weights(False, False))
    t.begin("prompt")
    t.check_cancel()
    cancel.set()
    with pytest.raises(JobCancelled):
        t.check_cancel()
    with pytest.raises(JobCancelled):
        t.begin("stage1", 8)
