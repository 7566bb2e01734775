"""The OpenAPI description of the chat route's body and errors, derived from the wire models.

The route handlers read the raw body (see `proxy/app.py`), so FastAPI cannot describe it by
itself; `chat_openapi_extra()` is passed as the route's `openapi_extra`. The schema is the wire
models' own JSON Schema with its `$defs` inlined (an OpenAPI document resolves `#/...` against the
whole document) and the checks `parse_chat_request` adds by hand (roles, at least one message), so
that a request the schema allows is a request the proxy accepts.
"""

from __future__ import annotations

import copy
from typing import Any

from proxy.wire import ROLES, ChatRequest

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(copy.deepcopy(defs[ref.removeprefix("#/$defs/")]), defs)
        # `default: null` says nothing a client needs, and FastAPI drops it from the document
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs" and not (k == "default" and v is None)}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def chat_body_schema() -> dict[str, Any]:
    """JSON Schema of a chat request the proxy accepts, self-contained."""
    raw = ChatRequest.model_json_schema()
    schema = _inline(raw, raw.get("$defs", {}))
    schema["properties"]["messages"]["minItems"] = 1
    message = schema["properties"]["messages"]["items"]
    message["properties"]["role"]["enum"] = sorted(ROLES)
    # what `_message_problem` checks: content for every role but assistant, tool_call_id for tools
    message["allOf"] = [
        {"if": {"properties": {"role": {"not": {"const": "assistant"}}}}, "then": {"required": ["content"], "properties": {"content": {"not": {"type": "null"}}}}},
        {"if": {"properties": {"role": {"const": "assistant"}}}, "then": {"anyOf": [{"required": ["content"], "properties": {"content": {"not": {"type": "null"}}}}, {"required": ["tool_calls"], "properties": {"tool_calls": {"type": "array", "minItems": 1}}}, {"required": ["function_call"], "properties": {"function_call": {"type": "object", "minProperties": 1}}}]}},
        {"if": {"properties": {"role": {"const": "tool"}}}, "then": {"required": ["tool_call_id"], "properties": {"tool_call_id": {"type": "string"}}}},
    ]
    return schema


def chat_request_schema() -> dict[str, Any]:
    """The OpenAPI `requestBody` object of `POST /v1/chat/completions`."""
    return {"required": True, "content": {"application/json": {"schema": chat_body_schema()}}}


def error_responses() -> dict[str, Any]:
    """OpenAPI `responses` for every error the route can answer, all in OpenAI's error format."""
    content = {"application/json": {"schema": ERROR_SCHEMA}}
    described = {
        "400": "Malformed JSON or not a valid chat request",
        "401": "Missing or wrong proxy key",
        "404": "Unknown model",
        "413": "Body over the size limit",
        "429": "A concurrency limit is full, or the upstream's own rate limit",
        "502": "The upstream could not be reached or answered something that is not a chat completion",
        "504": "The upstream timed out",
    }
    return {status: {"description": text, "content": content} for status, text in described.items()}


def chat_responses() -> dict[str, Any]:
    """OpenAPI `responses` of the chat route: the answer, whole or streamed, and every error."""
    ok = {
        "description": "A chat completion; with `stream: true`, server-sent events of chat completion chunks ending in `data: [DONE]`",
        "content": {"application/json": {"schema": {"type": "object"}}, "text/event-stream": {}},
    }
    return {"200": ok, **error_responses()}


def chat_openapi_extra() -> dict[str, Any]:
    """What `@app.post("/v1/chat/completions", openapi_extra=...)` takes."""
    return {"requestBody": chat_request_schema(), "responses": chat_responses()}
