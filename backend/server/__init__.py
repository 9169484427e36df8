"""The HTTP backend (`ltx-scene serve`): FastAPI app, on-disk job store, worker, access control.

See README.md beside this file and the HTTP API section of docs/contracts.md.
"""
