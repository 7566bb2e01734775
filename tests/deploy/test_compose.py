"""deploy/docker-compose.yml, without Docker: valid against the Compose specification (compose-spec,
a spec-compliant parser), and every reference in it and in the files it mounts leads somewhere real:
build contexts, mounted files, service names and ports, the proxy's config, Prometheus's scrape
target and config path, Grafana's data source, dashboard provider and home dashboard."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml

from proxy.config import Config
from tests.deploy.dashboards import DEPLOY

COMPOSE = DEPLOY / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict:
    from compose_spec import PyCompose

    return PyCompose.from_yaml(COMPOSE.read_text()).to_dict()


def mounts(service: dict) -> dict[PurePosixPath, Path]:
    """Container path -> host path, for the bind mounts of a service."""
    out = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith("."):
            out[PurePosixPath(target)] = (DEPLOY / source).resolve()
    return out


def host_path(service: dict, container_path: str) -> Path:
    """The host file behind a path inside a container, through the service's bind mounts."""
    path = PurePosixPath(container_path)
    for target, source in mounts(service).items():
        if path == target or target in path.parents:
            return source / path.relative_to(target)
    raise AssertionError(f"{container_path} is not mounted from the repository")


def published(service: dict) -> set[int]:
    return {int(p.rsplit(":", 1)[1]) for p in service.get("ports", [])}


def proxy_config() -> Config:
    return Config.model_validate(yaml.safe_load((DEPLOY / "evenhand.yaml").read_text()))


def test_compose_file_follows_the_compose_specification(compose: dict) -> None:
    assert set(compose["services"]) == {"model", "proxy", "prometheus", "grafana"}


def test_compose_validation_rejects_a_misspelt_key() -> None:
    from compose_spec import PyCompose

    with pytest.raises(ValueError, match="restartt"):
        PyCompose.from_yaml(COMPOSE.read_text().replace("restart:", "restartt:", 1))


def test_builds_mounts_and_dependencies_exist(compose: dict) -> None:
    services = compose["services"]
    for name, service in services.items():
        build = service.get("build")
        if build:
            context = (DEPLOY / build["context"]).resolve()
            assert (context / build.get("dockerfile", "Dockerfile")).is_file(), name
        for target, source in mounts(service).items():
            assert source.exists(), f"{name}: {source} (mounted at {target}) does not exist"
        assert set(service.get("depends_on", {})) <= set(services), name


def test_proxy_config_is_valid_and_reaches_the_model(compose: dict) -> None:
    config = proxy_config()
    proxy, model = compose["services"]["proxy"], compose["services"]["model"]
    assert config.server.host == "0.0.0.0" and config.server.port in published(proxy)
    assert config.server.workers > 1
    command = proxy["command"]
    config_path = command[command.index("--config") + 1]
    assert host_path(proxy, config_path) == DEPLOY / "evenhand.yaml"
    for policy in config.policies:
        assert host_path(proxy, str(policy)).is_file(), policy
    (upstream,) = config.upstreams.values()
    url = urlsplit(upstream.base_url or "")
    assert url.hostname == "model"
    dockerfile = (DEPLOY / model["build"]["dockerfile"]).read_text()
    assert f'"--port", "{url.port}"' in dockerfile and '"--host", "0.0.0.0"' in dockerfile
    alias = re.search(r'"--model_alias", "([^"]+)"', dockerfile)
    assert alias and set(config.models) == {alias.group(1)}


def test_prometheus_scrapes_the_proxy_with_the_shipped_config(compose: dict) -> None:
    service = compose["services"]["prometheus"]
    flags = dict(arg.split("=", 1) for arg in service["command"] if "=" in arg)
    config_file = host_path(service, flags["--config.file"])
    assert config_file == DEPLOY / "prometheus" / "prometheus.yml"
    config = yaml.safe_load(config_file.read_text())
    for rules in config["rule_files"]:
        assert (config_file.parent / rules).is_file()
    (job,) = config["scrape_configs"]
    (static,) = job["static_configs"]
    (target,) = static["targets"]
    host, port = target.split(":")
    assert host == "proxy" and int(port) == proxy_config().server.port
    assert 9090 in published(service)


def test_grafana_provisions_the_datasource_and_dashboard(compose: dict) -> None:
    service = compose["services"]["grafana"]
    provisioning = host_path(service, "/etc/grafana/provisioning")
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    url = urlsplit(source["url"])
    assert url.hostname == "prometheus" and url.port in published(compose["services"]["prometheus"])
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "evenhand.yml").read_text())["providers"]
    dashboards = host_path(service, provider["options"]["path"])
    assert (dashboards / "evenhand.json").is_file()
    home = service["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert host_path(service, home) == dashboards / "evenhand.json"
