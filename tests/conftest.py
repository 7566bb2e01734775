from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.paths import shared_dir
from tests.servers import Server, start_fake_upstream, start_proxy


@pytest.fixture(scope="session")
def shared() -> Path:
    path = shared_dir()
    if not path.is_dir():
        pytest.fail(f"the shared data directory {path} is missing (set EVENHAND_SHARED)")
    return path


@pytest.fixture(scope="session")
def openai_schema(shared: Path):
    """A validator factory for OpenAI's own response schemas."""
    from jsonschema import Draft202012Validator

    def load(name: str) -> Draft202012Validator:
        return Draft202012Validator(json.loads((shared / "openai-schemas" / f"{name}.json").read_text()))

    return load


@pytest.fixture(scope="session")
def fake_upstream() -> Iterator[Server]:
    server = start_fake_upstream()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def proxy(fake_upstream: Server) -> Iterator[Server]:
    """The proxy in quick-start mode in front of the fake upstream."""
    server = start_proxy("--upstream", f"{fake_upstream.url}/v1")
    yield server
    server.stop()


@pytest.fixture()
def upstream_log(fake_upstream: Server):
    """Reads what the fake upstream received, starting from an empty log."""
    httpx.delete(f"{fake_upstream.url}/fake/requests")

    def received() -> list[dict]:
        return httpx.get(f"{fake_upstream.url}/fake/requests").json()

    return received
