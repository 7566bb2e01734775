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
    return request
