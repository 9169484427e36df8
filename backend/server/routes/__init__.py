"""The HTTP API's routes, one APIRouter per area; each reads the server from `app.state.server`
(`deps.server_state`). `ROUTERS` is what `create_app` includes, in this order."""

from __future__ import annotations

from . import docs, jobs, results, service

ROUTERS = (service.router, jobs.router, results.router, docs.router)
