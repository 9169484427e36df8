"""Memory tiers: decide before loading where every model component lives, and keep to it.

- `sizes.py`: bytes of every component (and of each transformer block / Gemma layer), from a bundle's
  configs or the official full-size presets, counted on the meta device (no weights read).
- `activations.py`: the stated model of the activation peaks per stage (checked against the tiny
  model's measured peaks by tests/backend/memory).
- `budget.py`: the device and host budgets (measured free memory or the user's `--vram/--ram`).
- `planner.py`: `plan_memory(...) -> MemoryPlan`: the tier, each component's place, the peaks; the
  table `ltx-scene memory-plan` prints and the JSON `/v1/health` and the add-on show.
- `packed.py`, `streaming.py`, `placement.py`: what the engine does with a plan: weights packed into
  one host buffer per block / component, blocks streamed through two device slots, components
  brought to the device for their stage only.
"""

from .budget import Budgets, detect_budgets
from .planner import MemoryPlan, MemoryPlanError, plan_memory  # noqa: E402
from .sizes import ModelSizes, preset_sizes, sizes_from_bundle

__all__ = [
    "Budgets",
    "MemoryPlan",
    "MemoryPlanError",
    "ModelSizes",
    "detect_budgets",
    "plan_memory",
    "preset_sizes",
    "sizes_from_bundle",
]
