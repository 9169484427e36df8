"""Access control: the bearer token and the Host-header check.

- The token is random (`secrets.token_urlsafe(32)`), created at first start in `<data-dir>/token`
  with mode 0600 (created with those permissions, never widened later: a file found with wider
  permissions is tightened and reported). Clients on the same machine read it from there; remote
  clients get it pasted by the user.
- Every request under `/v1/` except `/v1/health` needs `Authorization: Bearer <token>`; the
  comparison is constant-time. The schema and its docs page (`/openapi.json`, `/docs`) are public:
  they describe the API and hold no data.
- DNS rebinding: a web page on `evil.example` whose name is re-pointed at 127.0.0.1 can make the
  browser talk to this server, but the browser still sends `Host: evil.example`. Requests whose
  Host is not one of the server's own names are refused before anything else runs. IP literals
  cannot be rebound, so a server bound to a non-loopback address also accepts any IP-literal Host.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import re
import secrets
import socket
import stat
from pathlib import Path

from shared.data_dir import TOKEN_FILE
from shared.errors import UserError

log = logging.getLogger("ltx_scene.server")

WORKER_PREFIX = "/v1/farm/"  # a farm's worker endpoints (backend/farm/callbacks.py): the worker token only
PUBLIC_PATHS = frozenset({"/v1/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
MIN_TOKEN_CHARS = 16
# A Host header is `name[:port]` or `[ipv6][:port]`, nothing else: `localhost:80@evil.com` is not
# `localhost` (a parser that splits on the first colon would say it is).
_HOST_RE = re.compile(r"^(?:\[(?P<v6>[0-9a-f:.%]+)\]|(?P<name>[a-z0-9._-]+))(?::(?P<port>[0-9]{1,5}))?$")


# ------------------------------------------------------------------------------------- the token
def load_or_create_token(data_dir: Path, name: str = TOKEN_FILE) -> str:
    """Return the server token, creating `<data_dir>/token` (0600) on first start. `name`: another
    token file in the same folder (a studio farm's `worker-token`), made and checked the same way."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("%s had permissions %o; tightened to 600 (owner only)", path, mode)
            os.chmod(path, 0o600)
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (UnicodeDecodeError, IsADirectoryError) as exc:
            raise UserError(
                f"{path} is not a token file ({exc}); delete it and restart the server to create a new one", "token"
            ) from None
        if len(token) < MIN_TOKEN_CHARS or not token.isascii() or not token.isprintable() or " " in token:
            raise UserError(
                f"{path} holds no usable token (it needs at least {MIN_TOKEN_CHARS} printable ASCII "
                "characters without spaces); delete the file and restart the server to create a new one",
                "token",
            )
        return token
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    return token


def token_matches(header_value: str | None, token: str) -> bool:
    """True when an `Authorization` header carries exactly `Bearer <token>` (constant time)."""
    if not header_value:
        return False
    scheme, _, given = header_value.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8", "replace"), token.encode("utf-8"))


# --------------------------------------------------------------------------------- the Host check
def host_name(host_header: str) -> str | None:
    """The name part of a Host header: `[::1]:8765` -> `::1`, `Localhost:80` -> `localhost`; None
    for anything that is not a plain `name[:port]` or `[ipv6][:port]`."""
    match = _HOST_RE.match(host_header.strip().lower())
    if match is None:
        return None
    return match.group("v6") or match.group("name")


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    """Which Host header names are this server's own."""

    def __init__(self, bind_host: str, extra_names: tuple[str, ...] = ()):
        names = set(LOOPBACK_NAMES)
        names.update(n.strip().lower() for n in extra_names if n.strip())
        bind = bind_host.strip().lower().strip("[]")
        self.loopback_only = _is_loopback(bind)
        if bind not in ("0.0.0.0", "::", ""):
            names.add(bind)
        if not self.loopback_only:
            # Exposed on a network on purpose: the machine's own names are its names too.
            for name in {socket.gethostname(), socket.getfqdn()}:
                if name:
                    names.add(name.lower())
        self.names = frozenset(names)

    def allows(self, host_header: str | None) -> bool:
        if not host_header:
            return False
        name = host_name(host_header)
        if name is None:
            return False
        if name in self.names:
            return True
        return not self.loopback_only and _is_ip_literal(name)


def _is_loopback(bind: str) -> bool:
    if bind == "localhost":
        return True
    try:
        return ipaddress.ip_address(bind).is_loopback
    except ValueError:
        return False


# ------------------------------------------------------------------------------------ middleware
class AccessGuard:
    """Pure ASGI middleware: Host check on every request, then the token on protected paths, then
    the declared body size (`Content-Length`) against `max_body_bytes`.

    It runs before routing and before any request body is read, so an unauthenticated client can
    neither reach an endpoint nor make the server parse an upload, and an upload that announces
    itself as too large is refused before a byte of it is read. (Bodies sent without a length are
    cut off by the route's own streaming limit.)
    """

    def __init__(
        self,
        app,
        token: str,
        hosts: HostPolicy,
        max_body_bytes: int | None = None,
        too_large_message: str = "the upload is too large",
        worker_token: str | None = None,
    ):
        """worker_token: a studio farm's front door (`serve --broker`): paths under WORKER_PREFIX
        take this token and only it (workers never hold the artists' token, and the artists' token
        opens no worker endpoint); None: those paths are refused like any other without the token."""
        self.app = app
        self.token = token
        self.worker_token = worker_token
        self.hosts = hosts
        self.max_body_bytes = max_body_bytes
        self.too_large_message = too_large_message

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":  # lifespan; no websocket routes exist
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        host = headers.get("host")
        if not self.hosts.allows(host):
            return await _refuse(
                send,
                400,
                f"Host header {host!r} is not this server's name; connect to it as "
                "127.0.0.1 or localhost (names for a network-exposed server: --allow-host)",
            )
        path = scope.get("path", "")
        expected = self.token
        if path.startswith(WORKER_PREFIX):
            expected = self.worker_token or ""
        if path not in PUBLIC_PATHS and (not expected or not token_matches(headers.get("authorization"), expected)):
            return await _refuse(
                send,
                401,
                "missing or wrong token: send 'Authorization: Bearer <token>' with the token from "
                "the server's data directory (file 'token')",
                extra=[(b"www-authenticate", b'Bearer realm="ltx-scene"')],
            )
        length = headers.get("content-length", "")
        if self.max_body_bytes is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return await _refuse(send, 413, self.too_large_message, extra=[(b"connection", b"close")])
        return await self.app(scope, receive, send)


def _headers(scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in scope.get("headers", ()):
        name = key.decode("latin-1").lower()
        if name not in out:  # the first one wins, like most servers
            out[name] = value.decode("latin-1")
    return out


async def _refuse(send, status: int, message: str, extra=()) -> None:
    body = json.dumps({"detail": message}).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra],
        }
    )
    await send({"type": "http.response.body", "body": body})
