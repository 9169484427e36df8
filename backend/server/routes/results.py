"""The files of a finished job: `/result` (mp4), `/sidecar` (JSON), `/control` (the control video)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

from ..jobs import SUCCEEDED
from .deps import AUTH, CONFLICT, NOT_FOUND, Job, State

router = APIRouter(tags=["results"], dependencies=AUTH)

MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".avi": "video/x-msvideo",
    ".mov": "video/quicktime",
    ".nut": "application/octet-stream",
    ".json": "application/json",
}


class ResultFile(FileResponse):
    """Results are read in 1 MiB chunks, not Starlette's 64 KiB: each chunk is a thread-pool hop,
    and a few-MB mp4 took ~40 of them (bench_server: download time of the result)."""

    chunk_size = 1024 * 1024


def download(state, record, which: str, media_type: str | None, suffix: str):
    if record.status != SUCCEEDED:
        raise HTTPException(
            409,
            f"job {record.id} is {record.status}: its files are available "
            "once it has succeeded" + (f" ({record.error})" if record.error else ""),
        )
    path = state.store.result_path(record.id, which)
    if path is None:
        raise HTTPException(404, f"job {record.id} has no {which} file")
    media = media_type or MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
    # stat here (the file was just found): saves FileResponse a thread-pool hop per download
    return ResultFile(path, media_type=media, filename=f"{record.id}{suffix or path.suffix}", stat_result=path.stat())


@router.get(
    "/v1/jobs/{job_id}/result",
    responses={**NOT_FOUND, **CONFLICT, 200: {"content": {"video/mp4": {}}, "description": "H.264 + AAC mp4"}},
)
async def job_result(state: State, record: Job):
    """The generated video with its audio (mp4)."""
    return download(state, record, "video", "video/mp4", ".mp4")


@router.get(
    "/v1/jobs/{job_id}/sidecar",
    responses={
        **NOT_FOUND,
        **CONFLICT,
        200: {"content": {"application/json": {}}, "description": "what was generated, how"},
    },
)
async def job_sidecar(state: State, record: Job):
    """The sidecar JSON written beside the video (spec, seed, sizes, timings)."""
    return download(state, record, "sidecar", "application/json", ".json")


@router.get(
    "/v1/jobs/{job_id}/control",
    responses={**NOT_FOUND, **CONFLICT, 200: {"content": {"video/*": {}}, "description": "the control video used"}},
)
async def job_control(state: State, record: Job):
    """The exact control video the model was conditioned on."""
    return download(state, record, "control", None, "")
