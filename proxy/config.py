"""The proxy's configuration: one YAML file, environment overrides, and the `--upstream` quick start.

Unknown keys are errors here (unlike the wire models): a typo in a config file must not silently
turn a setting off.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

_STRICT = ConfigDict(extra="forbid")


class ConfigError(Exception):
    """A config file or environment value the proxy cannot start with."""


class Timeouts(BaseModel):
    model_config = _STRICT
    connect: float = 5.0
    read: float = 600.0  # between bytes; a slow model may think for a long time


class RetryConfig(BaseModel):
    """Retries of one upstream for non-streaming requests (and streams that failed before answering).

    Retried: connection failures, connect timeouts and the statuses in `on_status`. A `Retry-After`
    the upstream sends is honoured up to `retry_after_max` seconds; a longer one ends the retries
    (the next fallback, if any, is tried at once).
    """

    model_config = _STRICT
    max_retries: int = Field(default=0, ge=0, le=10)  # 0: no retries (OpenAI's SDKs retry by themselves)
    backoff_initial: float = Field(default=0.5, gt=0)
    backoff_multiplier: float = Field(default=2.0, ge=1)
    backoff_max: float = Field(default=8.0, gt=0)
    jitter: float = Field(default=0.5, ge=0, le=1)  # each wait is cut by up to this fraction, at random
    retry_after_max: float = Field(default=30.0, ge=0)
    on_status: list[int] = [429, 500, 502, 503, 504]


class UpstreamConfig(BaseModel):
    """Where requests for some models go.

    `kind: openai` is any OpenAI-compatible server (vLLM, llama.cpp, Ollama, OpenAI itself);
    `kind: litellm` reaches every other provider through litellm, imported only when configured.
    """

    model_config = _STRICT
    kind: Literal["openai", "litellm"] = "openai"
    base_url: str | None = None
    api_key: str | None = None
    api_key_env: str | None = None
    timeouts: Timeouts = Timeouts()
    max_connections: int = Field(default=256, ge=1)
    # Requests in flight to this upstream at once (per worker process); more get 429 at once.
    max_concurrency: int | None = Field(default=None, ge=1)
    retries: RetryConfig = RetryConfig()

    @model_validator(mode="after")
    def _check(self) -> "UpstreamConfig":
        if self.kind == "openai" and not self.base_url:
            raise ValueError("an openai upstream needs base_url")
        if self.base_url:
            self.base_url = self.base_url.rstrip("/")
        return self

    def key(self) -> str | None:
        """The upstream's API key: from the config, else from the named environment variable."""
        if self.api_key:
            return self.api_key
        return os.environ.get(self.api_key_env) if self.api_key_env else None


class Fallback(BaseModel):
    """Another upstream that serves the same model, tried when the first one fails."""

    model_config = _STRICT
    upstream: str
    upstream_model: str | None = None  # defaults to the route's upstream_model


class ModelRoute(BaseModel):
    """One model name clients use, and where it goes."""

    model_config = _STRICT
    upstream: str
    upstream_model: str | None = None  # the name the upstream knows; defaults to the client's name
    # Tried in order when the upstream cannot be reached or answers 429/5xx; a plain string names an upstream.
    fallbacks: list[Fallback] = []
    # Forward the client's Authorization header upstream instead of the upstream's own key.
    passthrough_auth: bool = False

    @field_validator("fallbacks", mode="before")
    @classmethod
    def _upstream_names(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"upstream": v} if isinstance(v, str) else v for v in value]
        return value


class AuthConfig(BaseModel):
    model_config = _STRICT
    # proxy key -> tenant name (or null). Empty: no key needed.
    keys: dict[str, str | None] = {}
    admin_key: str | None = None
    # Forward each client's Authorization header upstream for every model (clients bring their own keys).
    passthrough: bool = False

    @model_validator(mode="after")
    def _check_passthrough(self) -> "AuthConfig":
        if self.passthrough and self.keys:
            raise ValueError("auth.passthrough forwards the client's Authorization header upstream, so it cannot be combined with proxy keys (auth.keys)")
        return self


class AuditConfig(BaseModel):
    """The opt-in audit log: one JSON line per request saying what the proxy changed."""

    model_config = _STRICT
    enabled: bool = False
    path: Path | None = None  # None: standard error
    include_prompts: bool = False  # also the message texts as received and as forwarded


class ServerConfig(BaseModel):
    model_config = _STRICT
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = Field(default=1, ge=1)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    response_headers: bool = True  # x-evenhand-* headers on responses
    # Chat requests in flight at once (per worker process); more get 429 at once instead of queueing.
    max_concurrency: int | None = Field(default=None, ge=1)
    # On SIGTERM: stop accepting, then give in-flight requests and streams this long to finish.
    shutdown_grace_seconds: float = Field(default=30.0, ge=0)
    # Serve /metrics on this port as well (bind it where only Prometheus can reach it).
    metrics_port: int | None = Field(default=None, ge=1, le=65535)


class Config(BaseModel):
    model_config = _STRICT
    server: ServerConfig = ServerConfig()
    auth: AuthConfig = AuthConfig()
    upstreams: dict[str, UpstreamConfig] = {}
    models: dict[str, ModelRoute] = {}
    # Quick start: forward every model name unchanged to this upstream.
    default_upstream: str | None = None
    policies: list[Path] = []
    taxonomy_file: Path | None = None
    audit: AuditConfig = AuditConfig()

    @model_validator(mode="after")
    def _check_routes(self) -> "Config":
        for name, route in self.models.items():
            if route.upstream not in self.upstreams:
                raise ValueError(f"model {name!r} names upstream {route.upstream!r}, which is not in 'upstreams'")
            for fallback in route.fallbacks:
                if fallback.upstream not in self.upstreams:
                    raise ValueError(f"model {name!r} falls back to upstream {fallback.upstream!r}, which is not in 'upstreams'")
            if route.passthrough_auth and self.auth.keys:
                # the client's Authorization would carry a proxy key to the upstream
                raise ValueError(f"model {name!r} has passthrough_auth, which cannot be combined with proxy keys (auth.keys)")
        if self.default_upstream and self.default_upstream not in self.upstreams:
            raise ValueError(f"default_upstream {self.default_upstream!r} is not in 'upstreams'")
        return self

    @property
    def passthrough(self) -> bool:
        """Quick-start mode: any model name goes to the default upstream."""
        return self.default_upstream is not None


# Environment variables that override config values (documented in the README).
_ENV = {
    "EVENHAND_HOST": ("server", "host"),
    "EVENHAND_PORT": ("server", "port"),
    "EVENHAND_WORKERS": ("server", "workers"),
    "EVENHAND_MAX_BODY_BYTES": ("server", "max_body_bytes"),
    "EVENHAND_MAX_CONCURRENCY": ("server", "max_concurrency"),
    "EVENHAND_SHUTDOWN_GRACE_SECONDS": ("server", "shutdown_grace_seconds"),
    "EVENHAND_METRICS_PORT": ("server", "metrics_port"),
    "EVENHAND_ADMIN_KEY": ("auth", "admin_key"),
}


def load_config(path: Path | None = None, *, upstream: str | None = None, local: tuple[str, str] | None = None, env: dict[str, str] | None = None) -> Config:
    """Config from a YAML file (or defaults), then environment overrides, then the quick-start
    upstream and the local model ((model name, base URL) of a running llama.cpp server)."""
    env = os.environ if env is None else env
    data: dict = {}
    if path is not None:
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the config must be a mapping")
    for var, (section, key) in _ENV.items():
        if var in env:
            data.setdefault(section, {})[key] = env[var]
    if "EVENHAND_API_KEYS" in env:
        data.setdefault("auth", {})["keys"] = {k.strip(): None for k in env["EVENHAND_API_KEYS"].split(",") if k.strip()}
    upstream = upstream or env.get("EVENHAND_UPSTREAM")
    if upstream:
        ups = data.setdefault("upstreams", {})
        ups["default"] = {"kind": "openai", "base_url": upstream, "api_key_env": "EVENHAND_UPSTREAM_API_KEY"}
        data["default_upstream"] = "default"
    if local:
        name, base_url = local
        data.setdefault("upstreams", {})["local"] = {"kind": "openai", "base_url": base_url}
        data.setdefault("models", {})[name] = {"upstream": "local"}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        where = str(path) if path else "configuration"
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise ConfigError(f"{where}: {problems}") from None
    if not config.upstreams:
        raise ConfigError("no upstream configured: pass --upstream URL or a --config file with 'upstreams' and 'models'")
    return config
