"""Response models of the HTTP API (docs/contracts.md), published in the OpenAPI schema.

Requests need no models here: a job's spec is `shared.job_spec.GenerationSpec` sent as JSON text in
a multipart field, validated by its own `from_json` so that the CLI, the engine and the server
refuse the same things with the same messages.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

JobStatusName = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]


class FarmWorker(BaseModel):
    """One worker of a studio farm (`serve --broker`), as its last heartbeat said."""

    name: str = Field(description="the worker's name (`ltx-scene worker --name`, default host-gpu-pid)")
    host: str
    gpu: str = Field(description="the device it runs jobs on, e.g. 'cuda:0 (NVIDIA L40S)' or 'cpu'")
    memory_tier: str | None = Field(None, description="its engine's memory tier (resident, streamed, ...)")
    state: Literal["loading", "idle", "busy"]
    job: str | None = Field(None, description="the job it runs (busy)")
    model: str = Field(description="the bundle's name")
    model_hash: str = Field(description="the bundle's hash (a worker only takes jobs for its own bundle)")
    serves_this_model: bool = Field(description="whether it serves this server's bundle")


class Health(BaseModel):
    """Without the token only `status`, `engine` and `authenticated` (a server is here, and whether
    it is ready); with it everything else too."""

    status: Literal["ok"] = "ok"
    engine: Literal["loading", "ready", "failed"] = Field(description="model loading state")
    authenticated: bool = Field(description="whether the request carried the server's token")
    version: str | None = Field(None, description="ltx-scene-control version")
    device: str | None = Field(None, description="where jobs run, e.g. 'cpu' or 'cuda:0 (NVIDIA H100)'")
    torch: str | None = None
    ltx_core: str | None = None
    tiny_model: bool | None = Field(
        None, description="true when the bundle is the tiny test model (its output is noise)"
    )
    engine_error: str | None = None
    queued: int | None = Field(None, description="jobs queued or running")
    memory: dict[str, Any] | None = Field(None, description="the engine's memory plan in a few fields")
    broker: str | None = Field(None, description="a studio farm: the broker's state ('connected' or why not)")
    workers: list[FarmWorker] | None = Field(None, description="a studio farm: the workers alive now")


class JobResultInfo(BaseModel):
    frames: int
    fps: str
    width: int
    height: int


class JobStatus(BaseModel):
    id: str
    status: JobStatusName
    progress: float = Field(ge=0.0, le=1.0)
    stage: str | None = None
    step: int | None = None
    total: int | None = None
    eta_s: float | None = Field(None, description="estimated seconds left (running jobs)")
    message: str | None = None
    error: str | None = None
    created: float = Field(description="Unix time (seconds)")
    started: float | None = None
    finished: float | None = None
    spec: dict[str, Any]
    result: JobResultInfo | None = None
    worker: str | None = Field(None, description="a studio farm: the worker that runs or ran the job")
    attempts: int = Field(
        0, description="a studio farm: how many times a worker took it (2: its first worker was lost)"
    )


class JobList(BaseModel):
    jobs: list[JobStatus]


class JobCreated(BaseModel):
    id: str
    status: Literal["queued"] = "queued"


class ErrorMessage(BaseModel):
    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorMessage(BaseModel):
    detail: list[FieldError]
    message: str = Field(description="all field messages in one line, for display")
