"""The HTTP surface: OpenAI's routes, health, metrics. It moves bytes; `proxy/pipeline.py` decides.

Route handlers take the raw request and parse the body with orjson themselves: FastAPI's typed
body parameters would validate and copy every request a second time on the hot path.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from proxy.auth import KeyChecker
from proxy.config import Config
from proxy.errors import ProxyError, error_body
from proxy.limits import LimitMiddleware, global_limit
from proxy.openapi import chat_openapi_extra
from proxy.passthrough import Passthrough
from proxy.metrics import Metrics
from proxy.observe import Observation, parse_completion
from proxy.pipeline import Pipeline
from proxy.resend import retry_if_refused, start_probe
from proxy.routing import Router
from proxy.streaming import RelayResponse, relay

log = logging.getLogger("evenhand")

JSON = "application/json"


@dataclass
class State:
    config: Config
    router: Router
    pipeline: Pipeline
    keys: KeyChecker
    metrics: Metrics


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) as soon as it is known to pass the limit."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ProxyError(413, f"The request body is larger than this proxy's limit of {limit} bytes.", code="request_too_large")
    parts: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise ProxyError(413, f"The request body is larger than this proxy's limit of {limit} bytes.", code="request_too_large")
            parts.append(chunk)
    except ClientDisconnect:
        raise ProxyError(499, "The client closed the connection before sending the whole body.", code="client_disconnected") from None
    return parts[0] if len(parts) == 1 else b"".join(parts)


def upstream_error_response(status: int, body: bytes, headers: dict[str, str], upstream: str) -> Response:
    """An upstream's own error, passed on with its status; bodies that are not JSON are wrapped so
    clients always get the OpenAI error shape."""
    try:
        parsed = orjson.loads(body)
        ok = isinstance(parsed, dict) and "error" in parsed
    except orjson.JSONDecodeError:
        ok = False
    if not ok:
        body = error_body(f"The upstream '{upstream}' answered with status {status}.", "upstream_error", f"upstream_{status}")
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def create_app(config: Config, pipeline_factory=None) -> FastAPI:
    """The ASGI app for a config. `pipeline_factory(router, metrics) -> Pipeline` plugs in the stages."""
    router = Router(config)
    metrics = Metrics()
    pipeline = pipeline_factory(router, metrics) if pipeline_factory else Pipeline(router, metrics)
    state = State(config, router, pipeline, KeyChecker(config.auth.keys, config.auth.admin_key), metrics)
    limit = config.server.max_body_bytes
    extra_headers = config.server.response_headers

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for upstream in router.upstreams.values():
                await upstream.start()
                stack.push_async_callback(upstream.aclose)
            if config.passthrough:
                await _learn_models(state)
            await pipeline.start()
            stack.push_async_callback(pipeline.stop)
            gc.collect()
            gc.freeze()  # start-up objects leave the collector's generations: full collections stay short
            yield

    app = EvenhandApp(title="Evenhand", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None, telemetry=NO_TELEMETRY)
    app.state.evenhand = state
    limiter = global_limit(config.server.max_concurrency) if config.server.max_concurrency is not None else None
    if limiter is not None:
        app.add_middleware(LimitMiddleware, limit=limiter, on_reject=lambda err: metrics.error(err.status, err.code))
    passthrough = Passthrough(config)

    @app.exception_handler(ProxyError)
    async def _proxy_error(request: Request, exc: ProxyError) -> Response:
        metrics.error(exc.status, exc.code)
        return exc.response()

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            err = ProxyError(404, f"Unknown route: {request.method} {request.url.path}", code="unknown_route")
        elif exc.status_code == 405:
            err = ProxyError(405, f"Method {request.method} is not allowed on {request.url.path}.", code="method_not_allowed", headers=dict(exc.headers or {}))
        else:
            err = ProxyError(exc.status_code, str(exc.detail), code=None)
        metrics.error(err.status, err.code)
        return err.response()

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        metrics.error(400, "invalid_request")
        return ProxyError(400, "Invalid request.", code="invalid_request").response()

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return internal_error(request.method, request.url.path)

    def internal_error(method: str, path: str) -> Response:
        log.exception("unexpected error on %s %s", method, path)
        metrics.error(500, "internal_error")
        return ProxyError(500, "The proxy hit an internal error; it has been logged.", code="internal_error", type="server_error").response()

    @app.post("/v1/chat/completions", openapi_extra=chat_openapi_extra())
    async def chat_completions(request: Request) -> Response:
        started = time.perf_counter()
        caller = state.keys.caller(request.headers.get("authorization"))
        raw = await read_body(request, limit)
        exchange = pipeline.prepare(raw, caller, request.headers, started)
        if passthrough.enabled:
            exchange.authorization = passthrough.authorization(exchange.request.model, request.headers, caller)
        if exchange.stream:
            return await _stream(exchange)
        upstream = exchange.route.upstream
        upstream_started = time.perf_counter()
        try:
            reply = await upstream.complete(exchange.body, authorization=exchange.authorization)
        except ProxyError as err:
            failed(exchange, upstream_started, err.status)
            raise
        if reply.status >= 300:
            failed(exchange, upstream_started, reply.status)
            return upstream_error_response(reply.status, reply.body, headers_for(exchange, reply.headers), upstream.name)
        parsed = parse_completion(reply.body)
        if parsed is None:
            failed(exchange, upstream_started, 502)
            raise ProxyError(502, f"The upstream '{upstream.name}' sent an answer that is not a chat completion.", code="upstream_malformed_response")
        exchange.upstream_seconds = time.perf_counter() - upstream_started
        response_id, text = parsed
        observation = pipeline.observe_text(exchange, text)
        reply, observation = await retry_if_refused(pipeline, exchange, reply, observation)
        pipeline.record(exchange, observation, reply.status, response_id=response_id)
        start_probe(pipeline, exchange, observation, response_id)
        return Response(reply.body, status_code=reply.status, media_type=JSON, headers=headers_for(exchange, reply.headers))

    def headers_for(exchange, upstream_headers: dict[str, str]) -> dict[str, str]:
        """Ours (after every defense, the retry included, has acted), then the upstream's passed-on ones."""
        return {**pipeline.response_headers(exchange), **upstream_headers} if extra_headers else upstream_headers

    def failed(exchange, upstream_started: float, status: int) -> None:
        """Record a request whose upstream failed: there is no answer to observe."""
        exchange.upstream_seconds = time.perf_counter() - upstream_started
        pipeline.record(exchange, Observation(), status)

    async def _stream(exchange) -> Response:
        upstream = exchange.route.upstream
        upstream_started = time.perf_counter()
        stack = AsyncExitStack()
        try:
            reply = await stack.enter_async_context(upstream.stream(exchange.body, authorization=exchange.authorization))
        except ProxyError as err:
            await stack.aclose()
            failed(exchange, upstream_started, err.status)
            raise
        headers = headers_for(exchange, reply.headers)
        if reply.status >= 300:
            await stack.aclose()
            failed(exchange, upstream_started, reply.status)
            return upstream_error_response(reply.status, reply.body, headers, upstream.name)
        return RelayResponse(relay(pipeline, exchange, reply, upstream_started, stack), stack.aclose, headers)

    async def fast_chat(scope: Scope, receive: Receive, send: Send) -> None:
        """POST /v1/chat/completions without the framework: the same handler and error mapping as
        the exception handlers above, minus the middleware stack and dependency solving."""
        request = Request(scope, receive)
        try:
            response = await chat_completions(request)
        except ProxyError as exc:
            response = await _proxy_error(request, exc)
        except Exception:
            response = internal_error("POST", CHAT_PATH)
        await response(scope, receive, send)

    # The fast path skips the app's middleware stack, so it takes the same concurrency limit itself.
    app.fast_chat = LimitMiddleware(fast_chat, limit=limiter, on_reject=lambda err: metrics.error(err.status, err.code)) if limiter is not None else fast_chat

    @app.get("/v1/models")
    async def list_models(request: Request) -> Response:
        state.keys.caller(request.headers.get("authorization"))
        if config.passthrough:
            upstream = router.upstreams[config.default_upstream]  # type: ignore[index]
            data = await upstream.list_models()
        else:
            data = [{"id": name, "object": "model", "created": 0, "owned_by": "evenhand"} for name in router.configured]
        return Response(orjson.dumps({"object": "list", "data": data}), media_type=JSON)

    @app.get("/v1/evenhand/policies")
    async def policies(request: Request) -> Response:
        state.keys.admin(request.headers.get("authorization"))
        return Response(orjson.dumps(pipeline.admin_view()), media_type=JSON)

    @app.post("/v1/evenhand/feedback")
    async def feedback(request: Request) -> Response:
        state.keys.caller(request.headers.get("authorization"))
        response_id, correct = parse_feedback(await read_body(request, 64 * 1024))
        labels = pipeline.feedback.take(response_id)
        if labels is None:
            raise ProxyError(404, f"No recent response has the id '{response_id[:100]}', or feedback on it was already received (ids are kept for a limited time).", param="id", code="unknown_response_id")
        metrics.count(metrics.feedback, (k + ("correct" if correct else "incorrect",) for k in labels))
        return Response(orjson.dumps({"id": response_id, "recorded": True}), media_type=JSON)

    @app.get("/healthz")
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type=JSON)

    @app.get("/readyz")
    async def readyz() -> Response:
        results = {name: await up.ping() for name, up in router.upstreams.items()}
        ready = all(results.values())
        body = {"status": "ready" if ready else "not_ready", "upstreams": {k: "ok" if v else "unreachable" for k, v in results.items()}}
        return Response(orjson.dumps(body), status_code=200 if ready else 503, media_type=JSON)

    if config.server.metrics_port is None:  # else on its own port only (proxy/metrics_app.py, started by server.py)

        @app.get("/metrics")
        async def metrics_route() -> Response:
            return Response(metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app


def parse_feedback(body: bytes) -> tuple[str, bool]:
    """`{"id": "<response id>", "correct": true|false}`, or a 400 saying what is wrong."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ProxyError(400, "The feedback body must be JSON.", code="invalid_json") from None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        raise ProxyError(400, "Feedback needs 'id': the id of the chat completion it is about.", param="id", code="invalid_request_body")
    if not isinstance(data.get("correct"), bool):
        raise ProxyError(400, "Feedback needs 'correct': true or false.", param="correct", code="invalid_request_body")
    return data["id"], data["correct"]


# Evenhand exports Prometheus metrics; FastAPI's own OpenTelemetry hooks would otherwise look up
# the tracer provider in os.environ on every request.
NO_TELEMETRY = {"tracing": False, "metrics": False, "logs": False}
CHAT_PATH = "/v1/chat/completions"


class EvenhandApp(FastAPI):
    """FastAPI, with the hot route served before the framework's middleware and dependency stack."""

    fast_chat = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == CHAT_PATH and scope["method"] == "POST" and self.fast_chat is not None:
            scope["app"] = self
            await self.fast_chat(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


async def _learn_models(state: State) -> None:
    """Quick-start mode: the upstream's own model names become the allowed metric labels."""
    upstream = state.router.upstreams[state.config.default_upstream]  # type: ignore[index]
    try:
        models = await upstream.list_models()
    except ProxyError as err:
        log.warning("could not list the upstream's models (%s); model labels will read 'other'", err.message)
        return
    state.router.learn_labels([str(m.get("id")) for m in models if m.get("id")])
