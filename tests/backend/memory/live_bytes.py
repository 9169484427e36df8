"""Bytes of tensor storage alive during a job on the CPU, per stage: what the activation model is checked
against. A dispatch mode sees every op's outputs; a storage no input shares is a new allocation, and
its Python object lives exactly as long as the storage (torch keeps them one to one), so a weakref
finalizer counts it freed at the right moment."""

from __future__ import annotations

import weakref

import torch
from torch.utils import _pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode


class LiveBytes(TorchDispatchMode):
    def __init__(self, stages=("stage1", "stage2")):
        super().__init__()
        self.stages = tuple(stages)
        self.live = 0
        self.stage = None
        self.stage_base = 0
        self.stage_peak: dict[str, int] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {
            id(t.untyped_storage())
            for t in pytree.tree_leaves((args, kwargs))
            if isinstance(t, torch.Tensor) and t.layout == torch.strided
        }
        for t in pytree.tree_leaves(out):
            if not isinstance(t, torch.Tensor) or t.layout != torch.strided:
                continue
            storage = t.untyped_storage()
            if id(storage) in inputs or getattr(storage, "_ltx_counted", False):
                continue
            nbytes = storage.nbytes()
            storage._ltx_counted = True
            self.live += nbytes
            weakref.finalize(storage, self._free, nbytes)
            self._note()
        return out

    def _free(self, nbytes: int) -> None:
        self.live -= nbytes

    def _note(self) -> None:
        if self.stage is not None:
            peak = self.live - self.stage_base
            if peak > self.stage_peak.get(self.stage, 0):
                self.stage_peak[self.stage] = peak

    def on_progress(self, event) -> None:
        """A job's progress callback: counts within the denoising stages only (`stages`); the mode is
        entered when one begins and left when it ends, so the VAE and text stages run at full speed."""
        if event.stage == self.stage:
            return
        if self.stage in self.stages:
            self.__exit__(None, None, None)
        self.stage = event.stage
        self.stage_base = self.live
        if self.stage in self.stages:
            self.__enter__()

    def finish(self) -> None:
        if self.stage in self.stages:
            self.__exit__(None, None, None)
        self.stage = None
