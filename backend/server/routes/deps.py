"""Dependencies shared by the routers: the server state, the token check, the job lookup."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path as PathParam, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .. import schemas
from ..auth import token_matches
from ..jobs import JobRecord, valid_job_id
from ..state import ServerState

JOB_ID_DOC = "a job id as returned by POST /v1/jobs"
NOT_FOUND = {404: {"model": schemas.ErrorMessage, "description": "no such job"}}
CONFLICT = {409: {"model": schemas.ErrorMessage, "description": "not possible in the job's state"}}

bearer = HTTPBearer(auto_error=False, description="the token from <data-dir>/token")


def server_state(request: Request) -> ServerState:
    return request.app.state.server


State = Annotated[ServerState, Depends(server_state)]


async def require_token(state: State, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    """AccessGuard already refused requests without the token; this documents the scheme in the
    OpenAPI schema and checks again (defence in depth)."""
    if cred is None or not token_matches(f"Bearer {cred.credentials}", state.token):
        raise HTTPException(401, "missing or wrong token", headers={"WWW-Authenticate": "Bearer"})


AUTH = [Depends(require_token)]


async def existing_job(
    state: State, job_id: Annotated[str, PathParam(description=JOB_ID_DOC, max_length=64)]
) -> JobRecord:
    record = state.store.get(job_id) if valid_job_id(job_id) else None
    if record is None:
        shown = job_id.encode("ascii", "backslashreplace").decode("ascii")
        raise HTTPException(
            404, f"no job {shown!r} on this server (finished jobs are kept {state.settings.keep_days:g} days)"
        )
    return record


Job = Annotated[JobRecord, Depends(existing_job)]
