from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from proxy.local_model import LocalModelServer, smollm2_gguf
from tests.evaluation.scripted_server import OpenAIServer, start_scripted_server


@pytest.fixture()
def openai_server() -> Iterator[OpenAIServer]:
    """A scripted server of its own per test, so a request a failed run left in flight cannot reach the next test."""
    server, stop = start_scripted_server()
    yield server
    stop()


@pytest.fixture(scope="session")
def datasets_dir(shared: Path) -> Path:
    return shared / "datasets"


@pytest.fixture(scope="session")
def llama_url() -> Iterator[str]:
    """llama.cpp serving SmolLM2-135M-Instruct; its base URL (…/v1)."""
    server = LocalModelServer(smollm2_gguf(), threads=1, ctx=2048)
    try:
        yield server.start(timeout=180)
    finally:
        server.stop()
