"""The Kubernetes manifests in deploy/k8s: valid against Kubernetes' own schemas (kubernetes-validate,
strict: unknown fields are errors), consistent with each other and with the proxy, and the policy
ConfigMap reloads live when the kubelet swaps its files."""

from __future__ import annotations

import copy
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import kubernetes_validate
import pytest
import yaml

from proxy.config import Config
from proxy.policy import read_policies
from tests.servers import REPO, Server, start_fake_upstream, start_proxy

K8S = REPO / "deploy" / "k8s"
VERSIONS = ("1.29.0", "1.37.0")  # the oldest Kubernetes still commonly run, and the newest known here

# The part of the Prometheus Operator's ServiceMonitor CRD these manifests use (no schema ships here).
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": {"type": "object", "properties": {"matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}}},
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                            "scrapeTimeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                        },
                    },
                },
            },
        },
    },
}


def resources() -> list[dict]:
    return [doc for path in sorted(K8S.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def manifests() -> dict[str, dict]:
    """kind -> the one resource of that kind (ConfigMaps: `configmap()`)."""
    return {doc["kind"]: doc for doc in resources() if doc["kind"] != "ConfigMap"}


def configmap(name: str) -> dict:
    found = [doc for doc in resources() if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == name]
    assert len(found) == 1, f"ConfigMap {name}"
    return found[0]


def proxy_config() -> Config:
    return Config.model_validate(yaml.safe_load(configmap("evenhand-config")["data"]["evenhand.yaml"]))


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_kubernetes(version):
    checked = 0
    for resource in resources():
        kind = resource["kind"]
        if kind == "ServiceMonitor":
            jsonschema.validate(resource, SERVICE_MONITOR)
        elif kind != "Kustomization":
            kubernetes_validate.validate(resource, version, strict=True)
        checked += 1
    assert checked == 8


def test_the_validator_catches_a_misspelt_field():
    deployment = copy.deepcopy(manifests()["Deployment"])
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["livenesProbe"] = container.pop("livenessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def test_kustomization_lists_every_manifest():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_the_pieces_fit_together():
    found = manifests()
    deployment, service, monitor, hpa, pdb = (found[k] for k in ("Deployment", "Service", "ServiceMonitor", "HorizontalPodAutoscaler", "PodDisruptionBudget"))
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= {p["name"] for p in service["spec"]["ports"]}
    assert (hpa["spec"]["scaleTargetRef"]["kind"], hpa["spec"]["scaleTargetRef"]["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert hpa["spec"]["minReplicas"] >= pdb["spec"]["minAvailable"] + 1

    container = deployment["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= set(ports)
    assert (container["livenessProbe"]["httpGet"]["path"], container["readinessProbe"]["httpGet"]["path"]) == ("/healthz", "/readyz")
    config = proxy_config()
    assert ports["http"] == config.server.port and ports["metrics"] == config.server.metrics_port
    assert config.server.host == "0.0.0.0" and config.server.workers == 1
    # Kubernetes waits preStop + the proxy's grace before it kills the pod
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > pre_stop + config.server.shutdown_grace_seconds
    # the image's user (Dockerfile: useradd --uid 10001), nothing writable but /tmp
    security = deployment["spec"]["template"]["spec"]["securityContext"]
    assert security["runAsNonRoot"] and security["runAsUser"] == 10001
    assert "--uid 10001" in (REPO / "Dockerfile").read_text()
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_config_mounts_where_it_says(tmp_path):
    deployment = manifests()["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    config_path = container["args"][container["args"].index("--config") + 1]
    config_mount = mounts["config"]
    assert config_mount["mountPath"] == config_path and volumes["config"]["configMap"]["name"] == "evenhand-config"
    assert config_mount["subPath"] in configmap("evenhand-config")["data"]
    # policies: a whole directory (a subPath mount would never see ConfigMap edits)
    policies_mount = mounts["policies"]
    assert "subPath" not in policies_mount
    assert [str(p) for p in proxy_config().policies] == [policies_mount["mountPath"]]
    for name, text in configmap(volumes["policies"]["configMap"]["name"])["data"].items():
        (tmp_path / name).write_text(text)
    loaded, errors = read_policies([tmp_path])
    assert not errors and loaded


# --- live reload through the kubelet's atomic writer -------------------------------------------


class ConfigMapVolume:
    """A directory laid out and updated the way the kubelet's AtomicWriter does it for a ConfigMap:
    the files are symlinks into `..data`, itself a symlink to a timestamped directory; an update
    writes a new timestamped directory and renames a new `..data` over the old one."""

    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.root = root
        self.generation = 0
        root.mkdir(parents=True, exist_ok=True)
        self.update(files)
        for name in files:
            (root / name).symlink_to(f"..data/{name}")

    def update(self, files: dict[str, str]) -> None:
        self.generation += 1
        stamped = self.root / f"..2026_01_01_00_00_00.{self.generation:09d}"
        stamped.mkdir()
        for name, text in files.items():
            (stamped / name).write_text(text)
        old = os.readlink(self.root / "..data") if (self.root / "..data").is_symlink() else None
        tmp = self.root / "..data_tmp"
        tmp.symlink_to(stamped.name)
        os.rename(tmp, self.root / "..data")
        if old:
            shutil.rmtree(self.root / old)


ADMIN = "sk-k8s-admin"


def policy(name: str) -> str:
    return yaml.safe_dump({"name": name, "mode": "enforce", "defenses": []})


@pytest.fixture()
def mounted(tmp_path) -> Iterator[tuple[Server, ConfigMapVolume]]:
    volume = ConfigMapVolume(tmp_path / "policies", {"default.yaml": policy("first")})
    upstream = start_fake_upstream()
    config = {"auth": {"admin_key": ADMIN}, "upstreams": {"u": {"base_url": f"{upstream.url}/v1"}}, "default_upstream": "u", "policies": [str(volume.root)]}
    (tmp_path / "evenhand.yaml").write_text(yaml.safe_dump(config))
    proxy = start_proxy("--config", str(tmp_path / "evenhand.yaml"))
    yield proxy, volume
    proxy.stop()
    upstream.stop()


def configured_policies(proxy: Server) -> list[str]:
    view = httpx.get(f"{proxy.url}/v1/evenhand/policies", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10).json()
    return [p["name"] for p in view["policies"] if p["source"] == "configured"]


def test_a_configmap_edit_reloads_live(mounted):
    proxy, volume = mounted
    assert configured_policies(proxy) == ["first"]
    volume.update({"default.yaml": policy("second")})
    deadline = time.monotonic() + 10
    while configured_policies(proxy) != ["second"]:
        assert time.monotonic() < deadline, "the ConfigMap update was not reloaded"
