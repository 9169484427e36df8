"""The HTTP client of the backend's API (docs/contracts.md, "HTTP API").

No bpy here: this runs on the worker thread. Every failure the user can act on becomes a
`BackendError` (a `UserError`) whose message says what happened and what to do: the server is not
running, the token is wrong, the URL is not an LTX Scene backend, a job failed.

- Loopback URLs bypass system proxies (`trust_env = False`): a corporate HTTP_PROXY must not
  swallow requests to 127.0.0.1. Other hosts are refused unless `allow_remote` (Blender's
  "Allow Online Access") is on.
- Every request has a connect and a read timeout; the event stream reads with a longer one.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import requests

from ..shared.atomic_write import finish_atomic, temp_path_beside
from ..shared.data_dir import default_token_file
from ..shared.errors import UserError
from ..shared.video_rules import size_multiple

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 30.0
EVENTS_READ_TIMEOUT_S = 120.0  # a step of a big model on a slow card can take this long
FINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled", "interrupted"})


class BackendError(UserError):
    """The backend could not be reached, refused the request or failed the job."""


def is_loopback_url(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_token(url: str, token: str) -> str:
    """The token to send: the configured one, else (for a loopback server) the default token file."""
    token = (token or "").strip()
    if token or not is_loopback_url(url):
        return token
    try:
        return default_token_file().read_text(encoding="utf-8").strip()
    except OSError:
        return ""


@dataclass
class Event:
    """One Server-Sent Event: `event` ("progress" | "status") and its JSON `data`."""

    event: str
    data: dict


def parse_sse(lines: Iterator[str]) -> Iterator[Event]:
    """Server-Sent Events from an iterator of decoded lines (the text/event-stream framing)."""
    name, data = "message", []
    for line in lines:
        if line == "":
            if data:
                text = "\n".join(data)
                try:
                    payload = json.loads(text)
                except json.JSONDecodeError:
                    payload = {"text": text}
                yield Event(name, payload)
            name, data = "message", []
            continue
        if line.startswith(":"):
            continue  # a comment / keep-alive
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if data:
        yield Event(name, json.loads("\n".join(data)))


@dataclass(frozen=True)
class BackendSettings:
    """How to reach the backend, as plain values (read from the add-on preferences on the main
    thread by `settings.backend_settings`). `connect()` is how the add-on builds every client."""

    url: str
    token: str = ""
    allow_remote: bool = True
    connect_timeout: float = CONNECT_TIMEOUT_S
    read_timeout: float = READ_TIMEOUT_S
    start_command: str = ""

    def connect(self) -> "BackendClient":
        """A new client session (close it when done); raises `BackendError` for an unusable URL."""
        return BackendClient(
            self.url,
            self.token,
            allow_remote=self.allow_remote,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
        )


class BackendClient:
    """A session against one backend: `BackendClient("http://127.0.0.1:8765", token)`, or
    `BackendSettings(...).connect()`."""

    def __init__(
        self,
        url: str,
        token: str = "",
        *,
        allow_remote: bool = True,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
    ):
        url = (url or "").strip().rstrip("/")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BackendError(
                f"backend URL {url!r} is not an http(s) URL; set it in the add-on preferences, "
                "e.g. http://127.0.0.1:8765",
                "backend_url",
            )
        self.loopback = is_loopback_url(url)
        if not self.loopback and not allow_remote:
            raise BackendError(
                f"backend URL {url} is not on this machine and Blender's online access is off; "
                "enable Preferences > System > Network > Allow Online Access, or use a local backend",
                "backend_url",
            )
        self.url = url
        self.token = resolve_token(url, token)
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        self.session.trust_env = not self.loopback  # no system proxy for 127.0.0.1 / localhost
        if self.token:
            self.session.headers["Authorization"] = f"Bearer {self.token}"

    def close(self) -> None:
        self.session.close()

    # ----------------------------------------------------------------------------- plumbing
    def _request(self, method: str, path: str, *, timeout=None, stream=False, **kwargs):
        target = f"{self.url}{path}"
        try:
            response = self.session.request(method, target, timeout=timeout or self.timeout, stream=stream, **kwargs)
        except requests.exceptions.ConnectTimeout:
            raise BackendError(
                f"the backend at {self.url} did not answer within {self.timeout[0]:.0f} s; check the "
                "URL in the add-on preferences and that `ltx-scene serve` is running there"
            ) from None
        except requests.exceptions.ConnectionError:
            raise BackendError(
                f"no LTX Scene backend is running at {self.url} (connection refused); start one with "
                "`ltx-scene serve --model BUNDLE` (or the preferences' start command) or fix the URL "
                "in the add-on preferences"
            ) from None
        except requests.exceptions.Timeout:
            raise BackendError(
                f"the backend at {self.url} did not answer {method} {path} within {(timeout or self.timeout)[1]:.0f} s"
            ) from None
        if response.status_code == 401 or response.status_code == 403:
            response.close()
            hint = (
                "no token is set: copy the token from the server's data folder "
                "(<data-dir>/token) into the add-on preferences"
                if not self.token
                else "the token in the add-on preferences is wrong: copy it from the server's <data-dir>/token"
            )
            raise BackendError(f"the backend at {self.url} refused the request: {hint}", "token")
        if response.status_code >= 400:
            detail = _error_detail(response)
            response.close()
            raise BackendError(f"the backend refused {method} {path} ({response.status_code}): {detail}")
        return response

    def _json(self, method: str, path: str, **kwargs) -> dict:
        response = self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise BackendError(f"{self.url}{path} did not answer JSON; is {self.url} an LTX Scene backend?") from None

    # ----------------------------------------------------------------------------- the API
    def health(self) -> dict:
        data = self._json("GET", "/v1/health")
        if data.get("status") != "ok":
            raise BackendError(f"the backend at {self.url} is not healthy: {data}")
        return data

    def models(self) -> dict:
        return self._json("GET", "/v1/models")

    def submit(
        self,
        spec: dict,
        control: bytes,
        control_name: str = "control.npz",
        image: bytes | None = None,
        image_name: str = "first_frame.png",
        mask: bytes | None = None,
        mask_name: str = "mask.npz",
        keyframes: list[tuple[str, bytes]] = (),
    ) -> dict:
        """POST /v1/jobs; returns `{"id", "status"}`. keyframes: (file name, image bytes) for each entry
        of spec["keyframes"], in its order (the parts keyframe_0, keyframe_1, ...)."""
        files = {"control": (control_name, control, "application/octet-stream")}
        if image is not None:
            kind = "image/jpeg" if image_name.lower().endswith((".jpg", ".jpeg")) else "image/png"
            files["image"] = (image_name, image, kind)
        if mask is not None:
            files["mask"] = (mask_name, mask, "application/octet-stream")
        for i, (name, data) in enumerate(keyframes):
            kind = "image/jpeg" if name.lower().endswith((".jpg", ".jpeg")) else "image/png"
            files[f"keyframe_{i}"] = (name, data, kind)
        data = {"spec": json.dumps(spec)}
        # uploads can be large: allow a long read (the server answers once it stored them)
        return self._json(
            "POST", "/v1/jobs", data=data, files=files, timeout=(self.timeout[0], max(self.timeout[1], 120.0))
        )

    def status(self, job_id: str) -> dict:
        return self._json("GET", f"/v1/jobs/{job_id}")

    def cancel(self, job_id: str) -> dict:
        return self._json("POST", f"/v1/jobs/{job_id}/cancel")

    def events(self, job_id: str, read_timeout: float = EVENTS_READ_TIMEOUT_S) -> Iterator[Event]:
        """The job's Server-Sent Events until its final status."""
        response = self._request(
            "GET",
            f"/v1/jobs/{job_id}/events",
            stream=True,
            timeout=(self.timeout[0], read_timeout),
            headers={"Accept": "text/event-stream"},
        )
        try:
            lines = (
                line.decode("utf-8") if isinstance(line, bytes) else line
                for line in response.iter_lines(decode_unicode=False)
            )
            yield from parse_sse(lines)
        except requests.exceptions.RequestException as exc:
            raise BackendError(f"the progress stream of job {job_id} broke off: {exc}") from None
        finally:
            response.close()

    def download(self, job_id: str, what: str, dest: Path) -> Path:
        """Save `/v1/jobs/{id}/{what}` (result | sidecar | control) to `dest` (atomically)."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = temp_path_beside(dest, dest.suffix)
        response = self._request(
            "GET", f"/v1/jobs/{job_id}/{what}", stream=True, timeout=(self.timeout[0], max(self.timeout[1], 120.0))
        )
        try:
            with open(part, "wb") as fh:
                for chunk in response.iter_content(chunk_size=1 << 20):
                    fh.write(chunk)
        except requests.exceptions.RequestException as exc:
            part.unlink(missing_ok=True)
            raise BackendError(f"downloading the {what} of job {job_id} failed: {exc}") from None
        finally:
            response.close()
        finish_atomic(part, dest, fsync=False)
        return dest


def _error_detail(response) -> str:
    try:
        body = response.json()
    except ValueError:
        return (response.text or "").strip()[:300] or response.reason
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]  # the server's one-line summary
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, dict):
        detail = detail.get("message") or detail.get("error") or detail
    if isinstance(detail, list):  # FastAPI validation errors
        detail = (
            "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" for d in detail if isinstance(d, dict))
            or detail
        )
    return str(detail)


def size_rules(models: dict) -> dict:
    """Per IC-LoRA name `{"factor": int, "multiple": int, "pass": str, "description": str}` from a
    `/v1/models` answer (plain values): the bundle's IC-LoRAs, the scene pass that feeds each (servers
    before named IC-LoRAs send none: the name is the pass) and their size rules.

    The add-on snaps sizes with these instead of assuming reference factor 2, and its panel lists them."""
    rules = {}
    for name, described in (models.get("ic_loras") or {}).items():  # what /v1/models says of each
        if not isinstance(described, dict):
            continue
        factor = int(described.get("reference_downscale_factor") or 1)
        multiple = int(described.get("size_multiple") or size_multiple(factor))
        fed_by = described.get("pass") if isinstance(described.get("pass"), str) and described.get("pass") else name
        about = described.get("description") if isinstance(described.get("description"), str) else ""
        rules[str(name)] = {"factor": factor, "multiple": multiple, "pass": fed_by, "description": about}
    return rules
