"""The configuration: the README's example is a valid config, environment overrides apply, typos fail."""

from __future__ import annotations

import re

import pytest

from proxy.config import ConfigError, load_config
from tests.servers import REPO


def test_the_readme_example_config_loads(tmp_path):
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## Configuration.*?```yaml\n(.*?)```", readme, re.S).group(1)
    path = tmp_path / "evenhand.yaml"
    path.write_text(block)
    config = load_config(path, env={})
    assert config.models["gpt-4o-mini"].upstream == "openai"
    assert config.upstreams["anthropic"].kind == "litellm"


def test_environment_overrides(tmp_path):
    config = load_config(upstream="http://127.0.0.1:1/v1", env={"EVENHAND_PORT": "9999", "EVENHAND_API_KEYS": "a, b", "EVENHAND_ADMIN_KEY": "root"})
    assert config.server.port == 9999
    assert set(config.auth.keys) == {"a", "b"}
    assert config.auth.admin_key == "root"
    assert config.passthrough


@pytest.mark.parametrize(
    "text, problem",
    [
        ("servr: {port: 1}\nupstreams: {a: {base_url: 'http://x/v1'}}", "servr"),
        ("upstreams: {a: {kind: openai}}", "base_url"),
        ("upstreams: {a: {base_url: 'http://x/v1'}}\nmodels: {m: {upstream: b}}", "upstream 'b'"),
        ("[1, 2]", "mapping"),
    ],
)
def test_bad_configs_name_the_problem(tmp_path, text, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert str(path) in str(err.value) and problem in str(err.value)


def test_no_upstream_is_an_error():
    with pytest.raises(ConfigError, match="no upstream"):
        load_config(env={})
