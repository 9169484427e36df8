"""FarmPlanner: the front door's stand-in for the engine it no longer runs.

A front door checks every submit as a single-machine server does (sizes, frames, control kind,
LoRAs: `backend.engine.plan.make_plan` on the bundle) and answers `/v1/models` from the bundle,
without building a model or planning memory: the jobs run on the workers, each of which plans its
own card's memory and fails a job that does not fit with the same message as one machine would.
"""

from __future__ import annotations


class FarmPlanner:
    def __init__(self, bundle, bundle_hash: str):
        self.bundle = bundle
        self.bundle_hash = bundle_hash
        self.device = "Celery workers (studio farm)"

    def plan(self, spec, control):
        from backend.engine.plan import make_plan

        return make_plan(spec, control, self.bundle)

    def describe(self) -> dict:
        return {**self.bundle.describe(), "device": self.device, "model_hash": self.bundle_hash}
