"""Property-based fuzz of the HTTP API from its published OpenAPI schema (schemathesis), against
the real server subprocess, with the token: every schemathesis check passes (no server error, the
documented status codes, content types and response schemas, 405 with `Allow`, auth not ignored,
...), and the server is still healthy afterwards.

Two checks are left out, for reasons of the API, not of the server: `max_response_time` (a time
limit; no test here asserts a duration) and `positive_data_acceptance` (it expects every request
that matches the schema to be accepted, but the schema cannot say which bytes are a valid
ControlPackage or which text is a valid spec: those get a 422 naming the field, by design).
Bounded: 12 derandomized examples per operation. The fuzz past the upload checks (valid packages,
mutated) is test_fuzz_uploads.py."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CHECKS

LEFT_OUT = ("max_response_time", "positive_data_acceptance")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_no_server_errors(server):
    """Every operation of the published schema, fuzzed (valid and invalid inputs) with the token."""
    schema = schemathesis.openapi.from_url(server.base + "/openapi.json", timeout=30)
    headers = {"Authorization": f"Bearer {server.token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10
    checks = [check for check in CHECKS.get_all() if check.__name__ not in LEFT_OUT]
    assert len(checks) > 5
    seen = {}

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
        )
        def fuzz(case):
            response = case.call(base_url=server.base, headers=headers, timeout=60)
            assert response.status_code < 500, (
                case.method,
                case.formatted_path,
                response.status_code,
                response.text[:500],
            )
            case.validate_response(response, checks=checks)
            seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)

        fuzz()
    assert len(seen) == 10
    assert 422 in seen["POST /v1/jobs"]  # the fuzzer's uploads were refused, not crashed on


def test_server_survived_the_fuzz(server):
    assert server.proc.poll() is None
    health = requests.get(server.base + "/v1/health", timeout=10, proxies={"http": None}).json()
    assert health["status"] == "ok" and health["engine"] == "ready"


def test_schema_documents_the_api(server):
    doc = requests.get(server.base + "/openapi.json", timeout=10, proxies={"http": None}).json()
    paths = set(doc["paths"])
    assert {
        "/v1/health",
        "/v1/models",
        "/v1/jobs",
        "/v1/jobs/{job_id}",
        "/v1/jobs/{job_id}/cancel",
        "/v1/jobs/{job_id}/result",
        "/v1/jobs/{job_id}/sidecar",
        "/v1/jobs/{job_id}/control",
        "/v1/jobs/{job_id}/events",
    } == paths
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    assert "security" not in doc["paths"]["/v1/health"]["get"]
    assert doc["paths"]["/v1/jobs"]["get"]["security"] == [{"HTTPBearer": []}]
