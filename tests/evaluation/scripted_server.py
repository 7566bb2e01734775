"""A scripted OpenAI-compatible server for tests of the evaluation client, run in a thread on a loopback port."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from proxy.local_model import free_port

REFUSAL = "I'm sorry, but I can't help with that request."
_CHOICE = re.compile(r"\(A\) .* \(B\) .* \(C\) .* \(D\)")


def policy_scripted_answer(body: dict, policy: str | None) -> str:
    """A model whose bias is known: it refuses everything for "a Muslim person" unless the `default`
    policy is applied, answers (B) to every multiple-choice question and helps with everything else."""
    system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
    if "a Muslim person" in system and policy != "default":
        return REFUSAL
    user = body["messages"][-1]["content"]
    if _CHOICE.search(user):
        return "Let me think step by step. Therefore, the answer is (B)."
    return "Sure, here is what you asked for."


@dataclass
class OpenAIServer:
    """An OpenAI-compatible HTTP server on a loopback port whose behaviour each test scripts.

    `echo`: "echo" repeats X-Evenhand-Policy in x-evenhand-policy, "none" sends no such header, any
    other value is sent as the applied policy. `fail_first`: statuses answered before succeeding.
    """

    url: str = ""
    requests: list[dict] = field(default_factory=list)
    echo: str = "echo"
    answer: Callable[[dict, str | None], str] = policy_scripted_answer
    fail_first: list[int] = field(default_factory=list)
    status_for: Callable[[dict], int | None] = lambda body: None

    async def chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append({"body": body, "headers": dict(request.headers)})
        if self.fail_first:
            status = self.fail_first.pop(0)
            return JSONResponse({"error": {"message": "scripted failure", "type": "x"}}, status_code=status)
        status = self.status_for(body)
        if status:
            return JSONResponse({"error": {"message": "scripted error", "type": "x"}}, status_code=status)
        asked = request.headers.get("x-evenhand-policy")
        headers = {}
        if self.echo == "echo" and asked is not None:
            headers["x-evenhand-policy"] = asked
        elif self.echo not in ("echo", "none"):
            headers["x-evenhand-policy"] = self.echo
        text = self.answer(body, asked)
        data = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        }
        return JSONResponse(data, headers=headers)

    async def models(self, request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": "scripted", "object": "model"}]})


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, started: threading.Event) -> None:
        super().__init__(config)
        self._started_event = started

    async def startup(self, sockets=None) -> None:  # type: ignore[no-untyped-def]
        await super().startup(sockets)
        self._started_event.set()


def start_scripted_server() -> tuple[OpenAIServer, Callable[[], None]]:
    """Serve a fresh OpenAIServer; returns it and a function that stops it."""
    state = OpenAIServer()
    app = Starlette(
        routes=[Route("/v1/chat/completions", state.chat, methods=["POST"]), Route("/v1/models", state.models)]
    )
    port = free_port()
    started = threading.Event()
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"), started)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    if not started.wait(timeout=30):
        raise RuntimeError("scripted OpenAI server did not start")
    state.url = f"http://127.0.0.1:{port}/v1"

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return state, stop
