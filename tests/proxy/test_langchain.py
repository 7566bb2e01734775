"""LangChain's ChatOpenAI works unchanged against the proxy."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from tests.proxy.test_app import WEATHER_TOOL


@pytest.fixture()
def llm(proxy) -> ChatOpenAI:
    return ChatOpenAI(base_url=f"{proxy.url}/v1", api_key="unused", model="fake-model", max_retries=0, stream_usage=True)


def test_invoke_multi_turn(llm, upstream_log):
    reply = llm.invoke([SystemMessage("Be brief."), HumanMessage("Hi"), AIMessage("Hello"), HumanMessage("Again")])
    assert reply.content == "Hello from the fake upstream."
    assert [m["role"] for m in upstream_log()[-1]["body"]["messages"]] == ["system", "user", "assistant", "user"]


def test_stream_with_usage(llm):
    chunks = list(llm.stream("Hi"))
    assert "".join(c.content for c in chunks) == "Hello from the fake upstream."
    total = chunks[0]
    for c in chunks[1:]:
        total = total + c
    assert total.usage_metadata["total_tokens"] > 0


def test_tools(llm):
    reply = llm.bind_tools([WEATHER_TOOL], tool_choice="auto").invoke("Weather in Paris?")
    assert reply.tool_calls[0]["name"] == "get_weather"
    assert reply.tool_calls[0]["args"] == {"location": "Paris"}


def test_json_mode(llm):
    reply = llm.bind(response_format={"type": "json_object"}).invoke("JSON please")
    assert reply.content == '{"answer": "fake"}'
