"""Training pairs: the scene's shots as target renders + control videos + a dataset.jsonl row each
(see README.md). `export_training(scene, settings, progress, note)` is the one entry point; the
operator and `python -m tools.headless export-training` both call it."""

from .settings import TrainingSettings  # noqa: F401
