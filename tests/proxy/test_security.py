"""Security rules: clients cannot pick the upstream URL, upstream keys never leave the proxy, the
client's key goes upstream only for passthrough models, and /metrics can live on its own port.

That the client's Authorization is not forwarded by default is tested in test_errors.py
(`test_upstream_never_sees_the_clients_key`); proxy keys and the admin key in constant time in
proxy/auth.py's tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import yaml

from proxy.auth import Caller
from proxy.config import Config
from proxy.litellm_params import litellm_kwargs
from proxy.metrics_app import MetricsServer
from proxy.passthrough import Passthrough
from tests.proxy.blackhole import blackhole
from tests.proxy.flaky_upstream import flaky_upstream_fixture
from tests.servers import Server, free_port, start_proxy, start_proxy_with_config

UPSTREAM_KEY = "sk-upstream-secret-7f3a9c"
LITELLM_KEY = "sk-litellm-secret-51b2e8"
CLIENT_KEY = "sk-client-own-key-c0ffee"


def chat(model: str, **extra) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "Hi"}], **extra}


# --- litellm keyword arguments ----------------------------------------------------------------


def test_only_openai_parameters_become_litellm_kwargs():
    body = {
        **chat("m"),
        "temperature": 0.2,
        "tools": [],
        "top_k": 5,
        "api_base": "http://evil/v1",
        "base_url": "http://evil/v1",
        "api_key": "sk-evil",
        "headers": {"x": "1"},
        "extra_headers": {"Authorization": "Bearer sk-evil"},
        "custom_llm_provider": "openai",
        "mock_response": "pwned",
        "fallbacks": [{"model": "gpt-4o"}],
        "model_list": [],
        "timeout": 0.001,
        "metadata": {"a": "b"},
        "extra_body": {"model": "other-model"},
    }
    kwargs = litellm_kwargs(body)
    assert set(kwargs) == {"model", "messages", "temperature", "tools", "extra_body"}
    # everything else travels as a body field to the provider, where it cannot redirect anything
    assert kwargs["extra_body"]["api_base"] == "http://evil/v1" and kwargs["extra_body"]["top_k"] == 5
    assert "metadata" not in kwargs["extra_body"]
    assert kwargs["extra_body"]["extra_body"] == {"model": "other-model"}  # not merged: cannot replace the model


# Where a malicious client would like the proxy to send its request and key.
attacker = flaky_upstream_fixture("attacker")
real = flaky_upstream_fixture("real")


@pytest.fixture(scope="module")
def litellm_proxy(real: Server, tmp_path_factory) -> Iterator[Server]:
    config = {
        "upstreams": {
            "lite": {"kind": "litellm", "base_url": f"{real.url}/v1", "api_key": LITELLM_KEY},
            "lite-default": {"kind": "litellm", "api_key": LITELLM_KEY},  # the provider's default URL
        },
        "models": {"m": {"upstream": "lite", "upstream_model": "openai/plain"}, "m-default": {"upstream": "lite-default", "upstream_model": "openai/plain"}},
    }
    path = tmp_path_factory.mktemp("cfg") / "litellm.yaml"
    path.write_text(yaml.safe_dump(config))
    # the provider's default URL, pointed at loopback so that nothing here leaves the machine
    server = start_proxy("--config", str(path), env={"OPENAI_BASE_URL": f"{real.url}/v1", "OPENAI_API_BASE": f"{real.url}/v1"})
    yield server
    server.stop()


def attacker_saw(attacker: Server) -> list[dict]:
    return httpx.get(f"{attacker.url}/flaky/log").json()


@pytest.mark.parametrize("model, field", [("m", "base_url"), ("m-default", "base_url"), ("m-default", "api_base")])
@pytest.mark.parametrize("stream", [False, True])
def test_a_client_cannot_choose_the_litellm_upstream_url(litellm_proxy, attacker, real, model, field, stream):
    """litellm lets a `base_url` argument override the configured `api_base`, and `api_base` the
    provider's default: passed through, the client picks where the proxy's key goes."""
    before = len(attacker_saw(attacker))
    response = httpx.post(f"{litellm_proxy.url}/v1/chat/completions", json=chat(model, stream=stream, **{field: f"{attacker.url}/v1"}), timeout=30)
    assert response.status_code == 200
    assert len(attacker_saw(attacker)) == before, "the request (with the upstream key) went to the client's URL"
    assert httpx.get(f"{real.url}/flaky/log").json()[-1]["authorization"] == f"Bearer {LITELLM_KEY}"


def test_a_client_cannot_use_litellms_own_options(litellm_proxy, real):
    response = httpx.post(f"{litellm_proxy.url}/v1/chat/completions", json=chat("m", mock_response="pwned"), timeout=30)
    assert response.status_code == 200 and "pwned" not in response.text
    httpx.post(f"{litellm_proxy.url}/v1/chat/completions", json=chat("m", extra_headers={"Authorization": "Bearer sk-evil"}), timeout=30)
    assert httpx.get(f"{real.url}/flaky/log").json()[-1]["authorization"] == f"Bearer {LITELLM_KEY}"


def test_vendor_fields_still_reach_a_litellm_upstream(litellm_proxy, real):
    response = httpx.post(f"{litellm_proxy.url}/v1/chat/completions", json=chat("m", top_k=3, temperature=0.5), timeout=30)
    assert response.status_code == 200
    assert httpx.get(f"{real.url}/flaky/log").json()[-1]["extra"] == {"top_k": 3, "temperature": 0.5}


# --- upstream keys never leak -----------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed_proxy(real: Server, tmp_path_factory) -> Iterator[Server]:
    """An upstream key on every upstream kind, and a route to each failure the proxy can meet."""
    with blackhole() as dark:
        dead = f"http://127.0.0.1:{free_port()}/v1"
        fast = {"connect": 1, "read": 1}
        config = {
            "upstreams": {
                "ok": {"base_url": f"{real.url}/v1", "api_key": UPSTREAM_KEY, "timeouts": fast},
                "dead": {"base_url": dead, "api_key": UPSTREAM_KEY, "timeouts": fast},
                "dark": {"base_url": f"http://127.0.0.1:{dark}/v1", "api_key": UPSTREAM_KEY, "timeouts": fast},
                "lite": {"kind": "litellm", "base_url": f"{real.url}/v1", "api_key": LITELLM_KEY, "timeouts": fast},
                "lite-dead": {"kind": "litellm", "base_url": dead, "api_key": LITELLM_KEY, "timeouts": fast},
            },
            "models": {
                "e429": {"upstream": "ok", "upstream_model": "fail:k:99999:429"},
                "e500": {"upstream": "ok", "upstream_model": "fail:k:99999:500"},
                "e401": {"upstream": "ok", "upstream_model": "fail:k:99999:401"},
                "drop": {"upstream": "ok", "upstream_model": "drop:k:99999"},
                "slow": {"upstream": "ok", "upstream_model": "slow:k:5"},
                "cut": {"upstream": "ok", "upstream_model": "cut:k"},
                "garbage": {"upstream": "ok", "upstream_model": "garbage"},
                "refused": {"upstream": "dead"},
                "dark": {"upstream": "dark"},
                "lite429": {"upstream": "lite", "upstream_model": "openai/fail:k:99999:429"},
                "lite500": {"upstream": "lite", "upstream_model": "openai/fail:k:99999:500"},
                "lite401": {"upstream": "lite", "upstream_model": "openai/fail:k:99999:401"},
                "litedrop": {"upstream": "lite", "upstream_model": "openai/drop:k:99999"},
                "liteslow": {"upstream": "lite", "upstream_model": "openai/slow:k:5"},
                "litecut": {"upstream": "lite", "upstream_model": "openai/cut:k"},
                "litedead": {"upstream": "lite-dead", "upstream_model": "openai/plain"},
                "litebadprovider": {"upstream": "lite", "upstream_model": "no-such-provider/x"},
            },
        }
        path = tmp_path_factory.mktemp("cfg") / "keys.yaml"
        server = start_proxy_with_config(path, config)
        yield server
        server.stop()


ERROR_MODELS = ["e429", "e500", "e401", "drop", "slow", "cut", "garbage", "refused", "dark", "lite429", "lite500", "lite401", "litedrop", "liteslow", "litecut", "litedead", "litebadprovider", "no-such-model"]


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_keys_never_appear_in_responses_or_logs(keyed_proxy, stream):
    texts = []
    for model in ERROR_MODELS:
        response = httpx.post(f"{keyed_proxy.url}/v1/chat/completions", json=chat(model, stream=stream), timeout=30)
        texts.append(f"{model} {response.status_code} {dict(response.headers)} {response.text}")
    for bad in (b"{", b'{"model": 1}', b"[]"):
        texts.append(httpx.post(f"{keyed_proxy.url}/v1/chat/completions", content=bad, timeout=30).text)
    texts.append(httpx.get(f"{keyed_proxy.url}/readyz", timeout=30).text)
    texts.append(httpx.get(f"{keyed_proxy.url}/metrics", timeout=30).text)
    everything = "\n".join(texts) + keyed_proxy.output()
    for key in (UPSTREAM_KEY, LITELLM_KEY, UPSTREAM_KEY[-8:], LITELLM_KEY[-8:]):
        assert key not in everything
    assert "127.0.0.1" not in "\n".join(texts), "an error names the upstream's address"


# --- passthrough ------------------------------------------------------------------------------


def test_passthrough_cannot_be_combined_with_proxy_keys():
    with pytest.raises(ValueError, match="passthrough"):
        Config.model_validate({"auth": {"keys": {"k": None}, "passthrough": True}})
    with pytest.raises(ValueError, match="passthrough"):
        Config.model_validate({"auth": {"keys": {"k": None}}, "upstreams": {"u": {"base_url": "http://x/v1"}}, "models": {"m": {"upstream": "u", "passthrough_auth": True}}})


def test_passthrough_forwards_only_for_configured_models_and_never_the_admin_key():
    config = Config.model_validate({"auth": {"admin_key": "sk-admin"}, "upstreams": {"u": {"base_url": "http://x/v1"}}, "models": {"own": {"upstream": "u", "passthrough_auth": True}, "shared": {"upstream": "u"}}})
    passthrough = Passthrough(config)
    headers = {"authorization": f"Bearer {CLIENT_KEY}"}
    assert passthrough.authorization("own", headers, Caller("x")) == f"Bearer {CLIENT_KEY}"
    assert passthrough.authorization("shared", headers, Caller("x")) is None
    assert passthrough.authorization("own", headers, Caller("admin", "admin", True)) is None
    assert passthrough.authorization("own", {}, Caller("x")) is None
    assert passthrough.authorization("own", {"authorization": "Basic abc"}, Caller("x")) is None
    assert not Passthrough(Config()).enabled


@pytest.fixture(scope="module")
def passthrough_proxy(real: Server, tmp_path_factory) -> Iterator[Server]:
    config = {
        "upstreams": {"ok": {"base_url": f"{real.url}/v1", "api_key": UPSTREAM_KEY}, "lite": {"kind": "litellm", "base_url": f"{real.url}/v1", "api_key": LITELLM_KEY}},
        "models": {
            "byok": {"upstream": "ok", "upstream_model": "plain", "passthrough_auth": True},
            "byok-lite": {"upstream": "lite", "upstream_model": "openai/plain", "passthrough_auth": True},
            "shared": {"upstream": "ok", "upstream_model": "plain"},
        },
    }
    path = tmp_path_factory.mktemp("cfg") / "passthrough.yaml"
    server = start_proxy_with_config(path, config)
    yield server
    server.stop()


def upstream_saw(real: Server) -> str | None:
    return httpx.get(f"{real.url}/flaky/log").json()[-1]["authorization"]


def test_without_passthrough_the_upstream_gets_its_own_key(passthrough_proxy, real):
    headers = {"Authorization": f"Bearer {CLIENT_KEY}"}
    assert httpx.post(f"{passthrough_proxy.url}/v1/chat/completions", json=chat("shared"), headers=headers, timeout=30).status_code == 200
    assert upstream_saw(real) == f"Bearer {UPSTREAM_KEY}"


@pytest.mark.parametrize("model", ["byok", "byok-lite"])
@pytest.mark.parametrize("stream", [False, True])
def test_passthrough_models_forward_the_clients_key(passthrough_proxy, real, model, stream):
    headers = {"Authorization": f"Bearer {CLIENT_KEY}"}
    assert httpx.post(f"{passthrough_proxy.url}/v1/chat/completions", json=chat(model, stream=stream), headers=headers, timeout=30).status_code == 200
    assert upstream_saw(real) == f"Bearer {CLIENT_KEY}"


# --- /metrics on its own port -----------------------------------------------------------------


def test_metrics_server_serves_only_metrics():
    port = free_port()
    server = MetricsServer("127.0.0.1", port, lambda: b"evenhand_up 1\n").start()
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/metrics")
        assert response.status_code == 200 and response.text == "evenhand_up 1\n"
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        missing = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=chat("m"))
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_route"
        assert httpx.post(f"http://127.0.0.1:{port}/metrics").status_code == 405
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics")


def test_metrics_port_moves_metrics_off_the_api_port(real, tmp_path_factory):
    metrics_port = free_port()
    config = {"server": {"metrics_port": metrics_port}, "upstreams": {"ok": {"base_url": f"{real.url}/v1"}}, "models": {"m": {"upstream": "ok", "upstream_model": "plain"}}}
    path = tmp_path_factory.mktemp("cfg") / "metrics.yaml"
    server = start_proxy_with_config(path, config)
    try:
        assert httpx.post(f"{server.url}/v1/chat/completions", json=chat("m"), timeout=30).status_code == 200
        assert httpx.get(f"{server.url}/metrics").status_code == 404
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert scraped.status_code == 200 and 'model="m"' in scraped.text
    finally:
        server.stop()
