"""Every HTTP route in-process (FastAPI's TestClient, the stand-in engine): answers, access
control, the error shapes, and the submit checks. Fast: part of `make test-fast`. The same API
against the real engine in a real server process: test_api_e2e.py (slow)."""

from __future__ import annotations

import json

import pytest

from backend.server.app import all_routes

from .api_fixtures import SPEC, open_api, running
from .helpers import control_video_bytes, depth_package_bytes, parse_sse, png_bytes

JOB_ROUTES = (
    "/v1/jobs/{job_id}",
    "/v1/jobs/{job_id}/cancel",
    "/v1/jobs/{job_id}/result",
    "/v1/jobs/{job_id}/sidecar",
    "/v1/jobs/{job_id}/control",
    "/v1/jobs/{job_id}/events",
)


@pytest.fixture
def api(tmp_path):
    with running(open_api(tmp_path / "data", max_upload_bytes=4 * 1024 * 1024)) as api:
        yield api


def _events(api, job_id: str) -> list[tuple[str, dict]]:
    with api.client.stream("GET", f"/v1/jobs/{job_id}/events") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        return [(kind, data) for kind, data, _ in parse_sse(r.iter_lines())]


def test_every_route_of_the_app_answers(api):
    """Each route the app has, called once as a client would; a route added without a case here
    fails this test (KeyError)."""
    done = api.submit_ok({**SPEC, "seed": 1})
    assert api.wait(done)["status"] == "succeeded"
    api.engine.hold()
    running_job = api.submit_ok({**SPEC, "seed": 2})
    api.engine.started.acquire()
    api.engine.started.acquire()  # the second job is in run() now, held
    calls = {
        ("GET", "/v1/health"): ("get", "/v1/health", 200),
        ("GET", "/v1/models"): ("get", "/v1/models", 200),
        ("POST", "/v1/jobs"): None,  # submit: above and in every test below
        ("GET", "/v1/jobs"): ("get", "/v1/jobs", 200),
        ("GET", "/v1/jobs/{job_id}"): ("get", f"/v1/jobs/{done}", 200),
        ("POST", "/v1/jobs/{job_id}/cancel"): ("post", f"/v1/jobs/{running_job}/cancel", 202),
        ("GET", "/v1/jobs/{job_id}/result"): ("get", f"/v1/jobs/{done}/result", 200),
        ("GET", "/v1/jobs/{job_id}/sidecar"): ("get", f"/v1/jobs/{done}/sidecar", 200),
        ("GET", "/v1/jobs/{job_id}/control"): ("get", f"/v1/jobs/{done}/control", 200),
        ("GET", "/v1/jobs/{job_id}/events"): ("get", f"/v1/jobs/{done}/events", 200),
        ("GET", "/openapi.json"): ("get", "/openapi.json", 200),
        ("GET", "/docs"): ("get", "/docs", 200),
    }
    routes = {(m, r.path) for r in all_routes(api.app) for m in r.methods if m != "HEAD"}
    assert routes == set(calls)
    for key in sorted(routes):
        if calls[key] is None:
            continue
        method, url, status = calls[key]
        r = getattr(api.client, method)(url)
        assert r.status_code == status, (key, r.text)
    api.engine.release()
    assert api.wait(running_job)["status"] == "cancelled"


def test_health_without_the_token_says_only_that_a_server_is_here(api):
    public = api.client.get("/v1/health", headers={"Authorization": ""}).json()
    assert public == {"status": "ok", "engine": "ready", "authenticated": False}
    full = api.client.get("/v1/health").json()
    assert full["authenticated"] is True and full["device"] == "cpu" and full["tiny_model"] is True
    assert full["queued"] == 0 and full["memory"] == {"tier": "resident", "summary": "stand-in: nothing to plan"}
    assert {"version", "torch", "ltx_core"} <= set(full)


def test_models_is_the_engines_description_with_its_state(api):
    models = api.client.get("/v1/models").json()
    assert models["control_kinds"] == list(api.engine.describe()["control_kinds"])
    assert models["engine"] == "ready" and models["engine_error"] is None


def test_submit_follow_and_download(api):
    job = api.submit_ok({**SPEC, "frames": 9})
    events = _events(api, job)
    assert events[0][0] == "status" and events[-1] == ("status", events[-1][1])
    assert events[-1][1]["status"] == "succeeded" and events[-1][1]["progress"] == 1.0
    status = api.client.get(f"/v1/jobs/{job}").json()
    assert status["result"] == {"frames": 9, "fps": "24", "width": 128, "height": 128}
    assert status["spec"]["prompt"] == SPEC["prompt"]
    r = api.client.get(f"/v1/jobs/{job}/result")
    assert r.headers["content-type"] == "video/mp4" and r.content.startswith(b"stand-in mp4 for seed 5")
    assert api.client.get(f"/v1/jobs/{job}/sidecar").json()["spec"]["seed"] == 5
    assert api.client.get(f"/v1/jobs/{job}/control").content == b"stand-in control video"
    assert [j["id"] for j in api.client.get("/v1/jobs").json()["jobs"]] == [job]


def test_a_control_video_gets_its_own_frame_rate(api, tmp_path):
    job = api.submit_ok({**SPEC, "control_kind": "depth"}, control_video_bytes(tmp_path), image=png_bytes())
    status = api.wait(job)
    assert status["status"] == "succeeded", status
    assert status["spec"]["fps"] == "24"


def test_cancel_queued_and_running_jobs_and_what_cannot_be_cancelled(api):
    api.engine.hold()
    first = api.submit_ok({**SPEC, "seed": 1})
    second = api.submit_ok({**SPEC, "seed": 2})
    api.engine.started.acquire()  # the first one is running (held)
    r = api.client.post(f"/v1/jobs/{second}/cancel")
    assert r.status_code == 202 and r.json()["status"] == "cancelled"
    r = api.client.post(f"/v1/jobs/{first}/cancel")
    assert r.status_code == 202 and r.json()["message"].startswith("cancelling")
    api.engine.release()
    assert api.wait(first)["status"] == "cancelled"
    assert api.engine.runs == [{**api.engine.runs[0], "seed": 1}]  # the queued one never ran
    r = api.client.post(f"/v1/jobs/{first}/cancel")
    assert r.status_code == 409 and "only queued or running" in r.json()["detail"]
    r = api.client.get(f"/v1/jobs/{first}/result")
    assert r.status_code == 409 and "cancelled" in r.json()["detail"]


def test_unknown_jobs_are_404_with_json(api):
    for path in (
        "/v1/jobs/20260101-000000-00000000",
        "/v1/jobs/20260101-000000-00000000/events",
        "/v1/jobs/not-an-id/sidecar",
        "/v1/jobs/%ED%A0%80",
    ):
        r = api.client.get(path)
        assert r.status_code == 404 and "no job" in r.json()["detail"], path
    assert api.client.post("/v1/jobs/20260101-000000-00000000/cancel").status_code == 404


def test_the_token_is_needed_everywhere_but_health_and_the_docs(api):
    for method, path in [
        ("get", "/v1/jobs"),
        ("get", "/v1/models"),
        ("post", "/v1/jobs"),
        ("get", "/v1/jobs/20260101-000000-00000000/result"),
    ]:
        for header in ("", "Bearer wrong-token-0123456789", f"Bearer {api.state.token}x"):
            r = getattr(api.client, method)(path, headers={"Authorization": header})
            assert r.status_code == 401 and "token" in r.json()["detail"], (path, header)
    for path in ("/v1/health", "/openapi.json", "/docs"):
        assert api.client.get(path, headers={"Authorization": ""}).status_code == 200


@pytest.mark.parametrize(
    "host",
    ["localhost:80@evil.com", "evil.example", "127.0.0.1.nip.io:8765", "localhost:80:80", "local host", "[::1]x", ""],
)
def test_foreign_or_malformed_host_headers_are_refused(api, host):
    r = api.client.get("/v1/jobs", headers={"Host": host})
    assert r.status_code == 400 and "Host header" in r.json()["detail"]


def test_options_gives_405_with_the_allowed_methods(api):
    r = api.client.options("/v1/jobs")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD, POST"
    assert "GET, HEAD, POST" in r.json()["detail"]
    r = api.client.delete("/v1/jobs/20260101-000000-00000000/result")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"


def test_docs_page_loads_nothing_from_elsewhere(api):
    page = api.client.get("/docs").text
    assert "/openapi.json" in page
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    assert api.client.get("/redoc").status_code in (401, 404)  # the CDN-based page is gone


def test_the_schema_documents_the_multipart_submit(api):
    doc = api.client.get("/openapi.json").json()
    body = doc["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["required"] == ["spec", "control"] and body["additionalProperties"] is False
    assert {"spec", "control", "image", "mask"} == set(body["properties"])
    assert "security" not in doc["paths"]["/v1/health"]["get"]
    assert doc["paths"]["/v1/jobs"]["get"]["security"] == [{"HTTPBearer": []}]


# ------------------------------------------------------------------------------ submit's answers
def _detail(r) -> tuple[list, str]:
    assert r.status_code == 422, r.text
    body = r.json()
    return body["detail"][0]["loc"], body["message"]


def test_image_and_mask_sent_as_null_are_absent_as_the_schema_says(api):
    r = api.client.post(
        "/v1/jobs",
        data={"spec": json.dumps(SPEC), "image": "null", "mask": ""},
        files={"control": ("c.npz", depth_package_bytes())},
    )
    assert r.status_code == 202, r.text
    assert api.wait(r.json()["id"])["status"] == "succeeded"


def test_unknown_and_repeated_parts_are_refused_by_name(api):
    r = api.client.post(
        "/v1/jobs", data={"spec": json.dumps(SPEC), "imagez": "x"}, files={"control": ("c.npz", depth_package_bytes())}
    )
    loc, message = _detail(r)
    assert loc == ["body", "imagez"] and "unknown form part" in message
    r = api.client.post(
        "/v1/jobs",
        data={"spec": json.dumps(SPEC)},
        files=[("control", ("a.npz", depth_package_bytes())), ("control", ("b.npz", b"x"))],
    )
    loc, message = _detail(r)
    assert loc == ["body", "control"] and "twice" in message


def test_missing_parts_and_a_body_that_is_not_a_form(api):
    r = api.client.post("/v1/jobs", data={"spec": json.dumps(SPEC)}, files={"image": ("i.png", png_bytes())})
    assert _detail(r)[0] == ["body", "control"]
    r = api.client.post("/v1/jobs", files={"control": ("c.npz", depth_package_bytes())})
    assert _detail(r)[0] == ["body", "spec"]
    r = api.client.post("/v1/jobs", json={"spec": SPEC})
    loc, message = _detail(r)
    assert loc == ["body"] and "multipart/form-data" in message


def test_a_spec_part_over_a_mebibyte_is_a_422_that_names_the_prompt_limit(api):
    r = api.submit({"prompt": "x" * (1024 * 1024 + 10)})
    loc, message = _detail(r)
    assert loc == ["body", "spec"]
    assert "1024 KiB" in message and "20000 characters" in message


def test_a_chunked_upload_over_the_limit_names_the_limit_and_the_option(api):
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="spec"\r\n\r\n{json.dumps(SPEC)}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="control"; filename="c.npz"\r\n\r\n'
    ).encode()

    def body():  # a generator: sent chunked, no Content-Length
        yield head
        for _ in range(5):
            yield b"\0" * (1024 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    r = api.client.post(
        "/v1/jobs", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert r.status_code == 413
    assert "4 MiB" in r.json()["detail"] and "--max-upload-mb" in r.json()["detail"]
    assert _leftovers(api) == []


def test_a_declared_length_over_the_limit_is_refused_before_reading(api):
    r = api.client.post(
        "/v1/jobs",
        content=b"x",
        headers={"Content-Length": str(5 * 1024 * 1024), "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 413 and "--max-upload-mb" in r.json()["detail"]


@pytest.mark.parametrize(
    "spec_text, field, words",
    [
        ("[" * 100_000 + "]" * 100_000, "spec", "nested too deeply"),
        ('{"prompt": "x", "seed": ' + "9" * 5000 + "}", "spec", "too long"),
        ('{"prompt": "a \\ud800 cube"}', "prompt", "not valid Unicode"),
        ('{"prompt": "x", "\\udfff": 1}', "\\udfff", "not valid Unicode"),
        ('{"prompt": "x", "stepz": 3}', "stepz", "unknown spec key"),
    ],
)
def test_hostile_spec_json_is_a_422_naming_the_field(api, spec_text, field, words):
    r = api.client.post("/v1/jobs", data={"spec": spec_text}, files={"control": ("c.npz", depth_package_bytes())})
    loc, message = _detail(r)
    assert loc[:2] == ["body", "spec"] and (loc[2:] or ["spec"])[0] == field
    assert words in message


def test_spec_bytes_that_are_not_utf8_are_refused(api):
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="spec"\r\n\r\n'.encode()
        + b'{"prompt": "caf\xe9"}'
        + f"\r\n--{boundary}\r\n".encode()
        + 'Content-Disposition: form-data; name="control"; filename="c.npz"\r\n\r\n'.encode()
        + depth_package_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    r = api.client.post("/v1/jobs", content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    loc, message = _detail(r)
    assert loc == ["body", "spec"] and "not UTF-8" in message


def _leftovers(api) -> list[str]:
    """Anything in jobs/ but job folders: staging folders, temporary files."""
    return sorted(p.name for p in api.state.store.root.iterdir() if p.name.startswith("."))


def test_a_refused_submit_leaves_no_files_and_makes_no_job(api, tmp_path):
    for spec, control in [({"prompt": "x", "frames": 10}, None), (SPEC, b"not a video"), (SPEC, b"")]:
        assert api.submit(spec, control).status_code == 422
    assert _leftovers(api) == [] and api.client.get("/v1/jobs").json()["jobs"] == []


def test_no_server_path_reaches_a_422(api):
    r = api.submit(SPEC, b"\x00\x00\x00\x18ftypmp42 but not really a video")
    loc, message = _detail(r)
    assert loc == ["body", "control"]
    text = r.text
    assert str(api.settings.data_dir) not in text and str(api.settings.data_dir.resolve()) not in text
    assert "/tmp" not in text and ".upload-" not in text


def test_a_short_token_file_stops_create_app_with_the_user_error_the_cli_prints(tmp_path):
    """cli.main prints a UserError as one line and exits 2: no traceback."""
    from backend.server.app import create_app
    from backend.server.settings import ServerSettings
    from shared.errors import UserError

    from .standin_engine import StandInEngine

    (tmp_path / "token").write_text("short\n")
    with pytest.raises(UserError, match="at least 16"):
        create_app(ServerSettings(data_dir=tmp_path), StandInEngine())
