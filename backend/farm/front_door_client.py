"""FrontDoorClient: the worker's HTTP calls to the front door (`callbacks.py`), with the worker token.

Results and progress go over HTTP rather than through a shared folder: a studio's GPU boxes need
no common file system (and none with working locks and atomic renames across machines), the front
door's job store stays the only writer of its folder, and the result arrives whole or not at all.

A front door that is down (a restart) is waited for, up to `retry_s`, for the calls that matter
(claim, inputs, result, end); a progress event that cannot be delivered is dropped (the next one
carries the newer state). Proxies from the environment are ignored: the front door is on the
studio's network.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import requests

log = logging.getLogger("ltx_scene.farm")


class FrontDoorGone(Exception):
    """The front door could not be reached within the retry time."""


class FrontDoorRefused(FrontDoorGone):
    """The front door refused the worker token (401): the worker has another front door's token."""


class FrontDoorClient:
    def __init__(self, base_url: str, token: str, retry_s: float, worker: str):
        self.base = base_url.rstrip("/") + "/v1/farm"
        self.retry_s = retry_s
        self.worker = worker
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, *, files_factory=None, **kw) -> requests.Response:
        deadline = time.monotonic() + self.retry_s
        delay, said = 0.2, False
        while True:
            try:
                if files_factory is not None:
                    with files_factory() as files:
                        r = self.session.request(method, self.base + path, files=files, timeout=(5, 600), **kw)
                else:
                    r = self.session.request(method, self.base + path, timeout=(5, 600), **kw)
                if r.status_code == 401:
                    raise FrontDoorRefused(
                        f"the front door {self.base} refused this worker's token: copy its <data-dir>/worker-token "
                        "to this machine and pass it with --token-file"
                    )
                if r.status_code < 500:
                    if said:
                        log.warning("worker %s: the front door %s answers again", self.worker, self.base)
                    return r
                problem = f"HTTP {r.status_code}"
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}"
            if time.monotonic() + delay > deadline:
                raise FrontDoorGone(f"the front door {self.base} did not answer within {self.retry_s:g} s ({problem})")
            if not said:
                log.warning(
                    "worker %s: the front door %s does not answer (%s); retrying", self.worker, self.base, problem
                )
                said = True
            time.sleep(delay)
            delay = min(delay * 2, 5.0)

    def claim(self, job_id: str, model_hash: str) -> dict | None:
        """The job (spec, inputs, attempt), or None when it is not to run (409: cancelled, taken, done)."""
        r = self._call("POST", f"/jobs/{job_id}/claim", json={"worker": self.worker, "model_hash": model_hash})
        if r.status_code == 409:
            log.info("job %s: not taken (%s)", job_id, _detail(r))
            return None
        r.raise_for_status()
        return r.json()

    def download_input(self, job_id: str, role: str, dest: Path) -> None:
        with self._call("GET", f"/jobs/{job_id}/inputs/{role}", stream=True) as r:
            r.raise_for_status()
            with open(dest, "wb") as fh:
                for chunk in r.iter_content(1 << 20):
                    fh.write(chunk)

    def progress(self, job_id: str, attempt: int, event: dict) -> str:
        """One event, not retried: "cancel", "refused" (409: not this run's job any more) or "ok"."""
        try:
            r = self.session.post(
                f"{self.base}/jobs/{job_id}/progress",
                json={"worker": self.worker, "attempt": attempt, "event": event},
                timeout=(2, 10),
            )
        except requests.RequestException:
            return "ok"  # the front door is away (a restart): the job goes on
        if r.status_code == 409:
            return "refused"
        if r.status_code != 200:
            return "ok"
        return "cancel" if r.json().get("cancel") else "ok"

    def result(self, job_id: str, attempt: int, meta: dict, files: dict[str, Path]) -> bool:
        """Upload the result files; False when the front door refused them (409)."""
        from contextlib import ExitStack, contextmanager

        @contextmanager
        def open_files():
            with ExitStack() as stack:
                yield {key: (path.name, stack.enter_context(open(path, "rb"))) for key, path in files.items()}

        data = {"meta": json.dumps({**meta, "worker": self.worker, "attempt": attempt})}
        r = self._call("POST", f"/jobs/{job_id}/result", data=data, files_factory=open_files)
        if r.status_code == 409:
            log.warning("job %s: result refused (%s)", job_id, _detail(r))
            return False
        r.raise_for_status()
        return True

    def end(self, job_id: str, attempt: int, status: str, text: str) -> None:
        r = self._call(
            "POST",
            f"/jobs/{job_id}/end",
            json={"worker": self.worker, "attempt": attempt, "status": status, "text": text},
        )
        if r.status_code == 409:
            log.warning("job %s: end refused (%s)", job_id, _detail(r))
            return
        r.raise_for_status()


def _detail(r: requests.Response) -> str:
    try:
        return str(r.json().get("detail"))
    except ValueError:
        return r.text[:200]
