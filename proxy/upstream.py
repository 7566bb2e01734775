"""Upstreams: where chat requests are forwarded.

`OpenAIUpstream` speaks to any OpenAI-compatible server over one shared keep-alive pool per
upstream. It uses aiohttp's client directly: measured on this machine, httpx's default transport
cost 0.76-1.67 ms of CPU per proxied request and httpx on the aiohttp transport 0.41 ms, against
0.22 ms for aiohttp alone, and the whole proxy has a budget of 0.5 ms (see loadtest/README.md).
`LiteLLMUpstream` reaches every other provider through litellm, imported only when configured.

Both raise `ProxyError` 502 when the upstream cannot be reached and 504 when it times out; an
upstream's own error statuses and bodies are returned as they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp
import orjson

from proxy.config import UpstreamConfig
from proxy.errors import ProxyError
from proxy.litellm_params import litellm_kwargs

# Upstream response headers worth passing on to the client; everything else is hop-by-hop or ours.
PASSED_HEADERS = ("retry-after", "x-request-id", "openai-processing-ms", "openai-version")
_PASSED_PREFIXES = ("x-ratelimit-",)


def passed_headers(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower() in PASSED_HEADERS or k.lower().startswith(_PASSED_PREFIXES)}


@dataclass(slots=True)
class Reply:
    """A whole (non-streaming) upstream answer."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class StreamReply:
    """A streaming upstream answer: on a non-2xx status `body` holds the error and `chunks` is empty."""

    status: int
    chunks: AsyncIterator[bytes]
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class Upstream(Protocol):
    name: str

    async def start(self) -> None: ...

    async def complete(self, body: bytes, authorization: str | None = None) -> Reply: ...

    def stream(self, body: bytes, authorization: str | None = None) -> Any:
        """An async context manager yielding a StreamReply; leaving it closes the upstream request."""
        ...

    async def list_models(self) -> list[dict[str, Any]]: ...

    async def ping(self) -> bool: ...

    async def aclose(self) -> None: ...


async def _no_chunks() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover


class OpenAIUpstream:
    """Any OpenAI-compatible server, reached at `base_url` (the URL that ends in /v1)."""

    def __init__(self, name: str, config: UpstreamConfig) -> None:
        self.name = name
        self._config = config
        assert config.base_url
        self._chat_url = config.base_url + "/chat/completions"
        self._models_url = config.base_url + "/models"
        self._headers = {"Content-Type": "application/json", "Accept-Encoding": "identity"}
        key = config.key()
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=config.timeouts.connect, sock_read=config.timeouts.read)
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._config.max_connections, ttl_dns_cache=300, enable_cleanup_closed=True)
            # DummyCookieJar: an upstream's Set-Cookie must never be replayed on other clients' requests.
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, auto_decompress=False, skip_auto_headers=("User-Agent",), cookie_jar=aiohttp.DummyCookieJar())

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError(f"upstream {self.name} used before start()")
        return self._session

    def _fail(self, exc: BaseException) -> ProxyError:
        # Never echo the upstream URL or key: the message names only the upstream's config name.
        if isinstance(exc, aiohttp.ConnectionTimeoutError):  # nothing was sent: a retry or fallback is safe
            return ProxyError(504, f"The upstream '{self.name}' could not be reached in time.", code="upstream_connect_timeout")
        if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
            return ProxyError(504, f"The upstream '{self.name}' did not answer in time.", code="upstream_timeout")
        return ProxyError(502, f"The upstream '{self.name}' could not be reached or broke the connection ({type(exc).__name__}).", code="upstream_unavailable")

    def _with(self, authorization: str | None) -> dict[str, str]:
        """Request headers: the upstream's own key, or the client's for a passthrough model."""
        return self._headers if authorization is None else {**self._headers, "Authorization": authorization}

    async def complete(self, body: bytes, authorization: str | None = None) -> Reply:
        try:
            async with self.session.post(self._chat_url, data=body, headers=self._with(authorization)) as resp:
                data = await resp.read()
                return Reply(resp.status, data, passed_headers(resp.headers))
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise self._fail(exc) from None

    @asynccontextmanager
    async def stream(self, body: bytes, authorization: str | None = None) -> AsyncIterator[StreamReply]:
        try:
            resp = await self.session.post(self._chat_url, data=body, headers=self._with(authorization))
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise self._fail(exc) from None
        try:
            if resp.status >= 300:
                try:
                    data = await resp.read()
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    raise self._fail(exc) from None
                yield StreamReply(resp.status, _no_chunks(), data, passed_headers(resp.headers))
            else:
                yield StreamReply(resp.status, self._chunks(resp), b"", passed_headers(resp.headers))
        finally:
            resp.release() if resp.content.at_eof() else resp.close()

    async def _chunks(self, resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        try:
            async for chunk in resp.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise self._fail(exc) from None

    async def list_models(self) -> list[dict[str, Any]]:
        try:
            async with self.session.get(self._models_url, headers=self._headers, timeout=aiohttp.ClientTimeout(total=10)) as resp:
                if resp.status != 200:
                    raise ProxyError(502, f"The upstream '{self.name}' answered {resp.status} when asked for its models.", code="upstream_error")
                data = orjson.loads(await resp.read())
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise self._fail(exc) from None
        except orjson.JSONDecodeError:
            raise ProxyError(502, f"The upstream '{self.name}' sent a model list that is not JSON.", code="upstream_error") from None
        models = data.get("data") if isinstance(data, dict) else None
        return [m for m in models if isinstance(m, dict)] if isinstance(models, list) else []

    async def ping(self) -> bool:
        try:
            async with self.session.get(self._models_url, headers=self._headers, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                await resp.read()
                return resp.status < 500
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class LiteLLMUpstream:
    """Every provider litellm knows (Anthropic, Bedrock, Vertex, ...), answering in OpenAI's format.

    Route models to it with `upstream_model` in litellm's naming ("anthropic/claude-...").
    """

    def __init__(self, name: str, config: UpstreamConfig) -> None:
        self.name = name
        self._config = config
        self._litellm: Any = None

    async def start(self) -> None:
        if self._litellm is None:
            import litellm  # heavy: only when a litellm upstream is configured

            litellm.telemetry = False
            litellm.drop_params = False
            self._litellm = litellm

    def _kwargs(self, body: bytes, authorization: str | None = None) -> dict[str, Any]:
        kwargs = litellm_kwargs(orjson.loads(body))  # never litellm's own options (base_url, api_base, ...) from a client
        if self._config.base_url:
            kwargs["api_base"] = self._config.base_url
        key = authorization[7:].strip() if authorization else self._config.key()
        if key:
            kwargs["api_key"] = key
        kwargs["timeout"] = self._config.timeouts.read
        return kwargs

    def _error(self, exc: Exception) -> ProxyError | Reply:
        status = getattr(exc, "status_code", None)
        if isinstance(status, int) and 400 <= status < 600 and status not in (408,):
            message = str(getattr(exc, "message", "") or exc)
            body = orjson.dumps({"error": {"message": message, "type": type(exc).__name__, "param": None, "code": None}})
            return Reply(status, body)
        if isinstance(exc, asyncio.TimeoutError) or "Timeout" in type(exc).__name__:
            return ProxyError(504, f"The upstream '{self.name}' did not answer in time.", code="upstream_timeout")
        return ProxyError(502, f"The upstream '{self.name}' failed ({type(exc).__name__}).", code="upstream_unavailable")

    async def complete(self, body: bytes, authorization: str | None = None) -> Reply:
        try:
            response = await self._litellm.acompletion(**self._kwargs(body, authorization))
        except Exception as exc:  # litellm raises its own exception family for every provider
            mapped = self._error(exc)
            if isinstance(mapped, ProxyError):
                raise mapped from None
            return mapped
        return Reply(200, orjson.dumps(response.model_dump(mode="json")))

    @asynccontextmanager
    async def stream(self, body: bytes, authorization: str | None = None) -> AsyncIterator[StreamReply]:
        try:
            stream = await self._litellm.acompletion(**self._kwargs(body, authorization))
        except Exception as exc:
            mapped = self._error(exc)
            if isinstance(mapped, ProxyError):
                raise mapped from None
            yield StreamReply(mapped.status, _no_chunks(), mapped.body)
            return

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in stream:
                    yield b"data: " + orjson.dumps(chunk.model_dump(mode="json", exclude_none=True)) + b"\n\n"
            except Exception as exc:
                mapped = self._error(exc)
                raise (mapped if isinstance(mapped, ProxyError) else ProxyError(502, f"The upstream '{self.name}' failed mid-stream.", code="upstream_error")) from None
            yield b"data: [DONE]\n\n"

        try:
            yield StreamReply(200, chunks())
        finally:
            close = getattr(stream, "aclose", None)
            if close is not None:
                try:
                    await close()
                except Exception:
                    pass

    async def list_models(self) -> list[dict[str, Any]]:
        return []

    async def ping(self) -> bool:
        return self._litellm is not None

    async def aclose(self) -> None:
        return None


def build_upstream(name: str, config: UpstreamConfig) -> Upstream:
    if config.kind == "litellm":
        return LiteLLMUpstream(name, config)
    return OpenAIUpstream(name, config)

