from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evaluation.models import free_port, smollm2_gguf, start_llama_server, stop_server, wait_ready
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
    port = free_port()
    proc = start_llama_server(smollm2_gguf(), port, n_threads=1)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_ready(url, proc=proc, timeout=180)
        yield url
    finally:
        stop_server(proc)
