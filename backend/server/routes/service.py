"""`/v1/health` (public, minimal without the token) and `/v1/models`."""

from __future__ import annotations

import importlib.metadata
from typing import Any

from fastapi import APIRouter, Request

from .. import schemas
from ..auth import token_matches
from .deps import AUTH, State

router = APIRouter(tags=["service"])


def package_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@router.get("/v1/health", response_model=schemas.Health, response_model_exclude_unset=True)
def health(request: Request, state: State):
    """Without the token: only that a server is here and whether its models are ready (what a
    client needs before it asks for the token). With it: versions, device, queue, memory plan."""
    worker = state.worker
    if not token_matches(request.headers.get("authorization"), state.token):
        return schemas.Health(status="ok", engine=worker.engine_state, authenticated=False)
    memory_summary = getattr(state.engine, "memory_summary", None)
    farm = {} if state.farm is None else {"broker": state.farm.broker_state(), "workers": state.farm.workers()}
    return schemas.Health(
        status="ok",
        engine=worker.engine_state,
        authenticated=True,
        version=state.version,
        device=state.device,
        torch=package_version("torch"),
        ltx_core=package_version("ltx-core"),
        tiny_model=state.tiny_model,
        engine_error=worker.engine_error,
        queued=state.store.count_active(),
        memory=memory_summary() if memory_summary is not None else None,
        **farm,
    )


@router.get("/v1/models", dependencies=AUTH)
def models(state: State) -> dict[str, Any]:
    """The bundle: control kinds, each IC-LoRA's reference factor and size multiple."""
    worker = state.worker
    return {**state.engine.describe(), "engine": worker.engine_state, "engine_error": worker.engine_error}
