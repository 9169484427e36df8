"""uvicorn's HTTP protocol with a deadline for request headers.

uvicorn closes idle keep-alive connections, but a client that connects and sends nothing, or sends
half of its request headers and stops, holds the connection (and its memory) for as long as it
likes: a few hundred such clients exhaust the server. This protocol gives every request
`header_timeout_s` from its first byte (or from the connection's start) to the end of its headers,
then closes the connection. The body has its own limit: `upload_form.py` answers 408 when an upload
stalls.

`uvicorn_options(settings)` is what `ltx-scene serve` passes to `uvicorn.run`.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .settings import HEADER_TIMEOUT_S


class HeaderDeadlineProtocol(HttpToolsProtocol):
    header_timeout_s = HEADER_TIMEOUT_S
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_deadline_passed)

    def _disarm_header_deadline(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_deadline_passed(self) -> None:
        self._header_timer = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


def protocol_with_header_timeout(seconds: float) -> type[HeaderDeadlineProtocol]:
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout_s": float(seconds)})


def uvicorn_options(settings) -> dict:
    """Keyword arguments for `uvicorn.run` / `uvicorn.Config` that this server needs."""
    return {"http": protocol_with_header_timeout(settings.header_timeout_s)}
