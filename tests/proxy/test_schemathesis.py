"""Schemathesis against the proxy's own OpenAPI description (`/openapi.json`), valid and invalid
inputs alike: no 5xx caused by the proxy, every error in OpenAI's format.

The chat route reads its body raw, so the description the app serves may lack the request body; it
is completed here from `proxy/openapi.py` (the same function the app passes as `openapi_extra`),
and `test_the_app_describes_its_chat_body` says whether the app does so itself.
"""

from __future__ import annotations

import httpx
import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from proxy.openapi import ERROR_SCHEMA, chat_openapi_extra
from tests.servers import Server

_ERROR = jsonschema.Draft202012Validator(ERROR_SCHEMA)


def openai_error_format(ctx, response, case) -> bool | None:
    """Every error the proxy answers is `{"error": {"message", "type", "param", "code"}}`."""
    if response.status_code >= 400:
        _ERROR.validate(response.json())
    return None


def upstream_passthrough_is_not_ours(ctx, response, case) -> bool | None:
    """5xx caused by the proxy itself: internal errors (upstream 5xx passed on are the upstream's)."""
    if response.status_code >= 500:
        error = response.json()["error"]
        assert error["code"] not in ("internal_error", None), f"the proxy failed: {error}"
    return None


# Upstream 5xx passed on are the upstream's (the fake upstream fails on some vendor fields it reads),
# so the chat route is held to "no 5xx of ours" rather than "no 5xx".
CHAT_CHECKS = [openai_error_format, upstream_passthrough_is_not_ours, content_type_conformance, response_schema_conformance]
OTHER_CHECKS = [not_a_server_error, openai_error_format, content_type_conformance]


def described(proxy: Server) -> dict:
    raw = httpx.get(f"{proxy.url}/openapi.json", timeout=10).json()
    operation = raw["paths"]["/v1/chat/completions"]["post"]
    extra = chat_openapi_extra()
    operation.setdefault("requestBody", extra["requestBody"])
    operation["responses"] = {**operation.get("responses", {}), **extra["responses"]}
    return raw


def operations(proxy: Server) -> list:
    return [result.ok() for result in schemathesis.openapi.from_dict(described(proxy)).get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api(proxy: Server, mode: GenerationMode):
    """Every operation, with data that fits its description and data that does not.

    (Schemathesis' lazy pytest loader does not run under this pytest, so its strategies are driven
    with hypothesis directly.)"""
    for operation in operations(proxy):
        if mode is GenerationMode.NEGATIVE and "requestBody" not in operation.definition.raw:
            continue  # nothing to get wrong in a request without parameters

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case) -> None:
            response = case.call(base_url=proxy.url, timeout=30)
            if case.path == "/metrics":  # text/plain by design
                assert response.status_code == 200
                return
            case.validate_response(response, checks=CHAT_CHECKS if case.path == "/v1/chat/completions" else OTHER_CHECKS)

        check()


def test_openapi_is_served(proxy: Server):
    response = httpx.get(f"{proxy.url}/openapi.json", timeout=10)
    assert response.status_code == 200
    assert "/v1/chat/completions" in response.json()["paths"]


def test_the_app_describes_its_chat_body(proxy: Server):
    operation = httpx.get(f"{proxy.url}/openapi.json", timeout=10).json()["paths"]["/v1/chat/completions"]["post"]
    assert operation["requestBody"] == chat_openapi_extra()["requestBody"]
    assert "400" in operation["responses"]
