"""Pydantic models of the OpenAI chat wire format.

Every model keeps unknown fields (`extra="allow"`): clients send fields we do not know (tools,
response_format, vendor extensions) and we pass them on untouched. Strict mode, so nothing a
client sends is silently coerced into something else before it reaches the upstream.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from proxy.errors import ProxyError

_CONFIG = ConfigDict(extra="allow", strict=True)


class ContentPart(BaseModel):
    """One element of a message's list-of-parts content (text, image_url, input_audio, ...)."""

    model_config = _CONFIG
    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = _CONFIG
    role: str
    content: str | list[ContentPart] | None = None

    def texts(self) -> list[tuple[int | None, str]]:
        """The message's text pieces as (part index or None for plain string content, text)."""
        content = self.content
        if content is None:
            return []
        if isinstance(content, str):
            return [(None, content)]
        return [(i, p.text) for i, p in enumerate(content) if p.text is not None]


class ChatRequest(BaseModel):
    """A `POST /v1/chat/completions` body."""

    model_config = _CONFIG
    model: str
    messages: list[Message]
    stream: bool | None = None
    user: str | None = None
    metadata: dict[str, Any] | None = None

    def to_json(self) -> bytes:
        """Serialize what the client sent (plus our rewrites), nothing added: unset fields stay unset."""
        return orjson.dumps(self.model_dump(exclude_unset=True))


CONTROL_PREFIX = "evenhand_"


def without_control_metadata(request: ChatRequest) -> ChatRequest:
    """The request without the `metadata` keys addressed to the proxy (`evenhand_persona`,
    `evenhand_expected`): an expected answer or an asserted identity must not reach the model's
    provider. The same object when there are none, so the common case costs one check."""
    metadata = request.metadata
    if not metadata or not any(k.startswith(CONTROL_PREFIX) for k in metadata):
        return request
    kept = {k: v for k, v in metadata.items() if not k.startswith(CONTROL_PREFIX)}
    copy = request.model_copy(update={"metadata": kept or None})
    if not kept:  # the client sent metadata only for us: forward none at all, not `null`
        copy.__pydantic_fields_set__.discard("metadata")
    return copy


def parse_chat_request(body: bytes) -> ChatRequest:
    """Bytes from the client -> validated request, or a 400 that says which field is wrong."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProxyError(400, f"We could not parse the JSON body of your request: {exc}", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ProxyError(400, "The request body must be a JSON object.", code="invalid_request_body")
    try:
        request = ChatRequest.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        param = ".".join(str(p) for p in err["loc"])
        raise ProxyError(400, f"Invalid value for '{param}': {err['msg']}.", param=param, code="invalid_request_body") from None
    if not request.messages:
        raise ProxyError(400, "'messages' must contain at least one message.", param="messages", code="invalid_request_body")
    for i, message in enumerate(request.messages):
        problem = _message_problem(message)
        if problem:
            raise ProxyError(400, f"Invalid message at 'messages.{i}': {problem}", param=f"messages.{i}", code="invalid_request_body")
    return request


ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def _message_problem(message: Message) -> str | None:
    """What OpenAI would reject in a message. Some upstreams answer these with a 500 (llama.cpp's
    server does), so the proxy checks them itself and the client gets a clear 400."""
    role = message.role
    if role not in ROLES:
        return f"unknown role {role!r}; expected one of {', '.join(sorted(ROLES))}."
    extra = message.model_extra or {}
    if role == "assistant":
        if message.content is None and not extra.get("tool_calls") and not extra.get("function_call"):
            return "an assistant message needs 'content' or 'tool_calls'."
    elif message.content is None:
        return f"a {role} message needs 'content'."
    if role == "tool" and not isinstance(extra.get("tool_call_id"), str):
        return "a tool message needs 'tool_call_id'."
    return None
