"""Reading the shipped Grafana dashboard: its panels' PromQL, with Grafana's variables filled in, and
its conformance to Grafana's dashboard schema.

The schema check uses grafana-foundation-sdk, whose models are generated from Grafana's own schema
(its CUE kinds): the dashboard is decoded into those typed models (panel options and field config by
panel type, queries by data source type), every value is checked against the model's declared type
(enums, literals, numbers, strings, nested models), and encoding it back must keep every key we wrote:
a key the schema does not know is dropped on the way, so a misspelt or invented field fails.
"""

from __future__ import annotations

import enum
import json
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.servers import REPO

DEPLOY = REPO / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "evenhand.json"
ALL = ".*"  # what Grafana sends for a variable set to "All" (the variables' allValue)
VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")


@dataclass(frozen=True)
class Query:
    panel: str
    ref: str
    expr: str
    legend: str
    instant: bool

    @property
    def key(self) -> tuple[str, str]:
        return (self.panel, self.ref)


def load(path: Path = DASHBOARD) -> dict[str, Any]:
    return json.loads(path.read_text())


def panels(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", ())  # collapsed rows keep their panels inside


def queries(dashboard: Mapping[str, Any]) -> list[Query]:
    return [
        Query(p["title"], t["refId"], t["expr"], t.get("legendFormat", ""), bool(t.get("instant")))
        for p in panels(dashboard)
        for t in p.get("targets", ())
    ]


def fill(expr: str, values: Mapping[str, str]) -> str:
    """The PromQL Grafana sends: `$name` and `${name}` replaced by concrete values."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"no value for ${name} in {expr!r}")
        return values[name]

    return VARIABLE.sub(one, expr)


def variables_used(text: str) -> set[str]:
    return {m.group(1) or m.group(2) for m in VARIABLE.finditer(text)}


# --- Grafana's schema ------------------------------------------------------------------------


def schema_problems(dashboard: dict[str, Any]) -> list[str]:
    """What Grafana's dashboard schema (as grafana-foundation-sdk models it) does not accept."""
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard

    register_default_plugins()
    problems: list[str] = []
    try:
        model = Dashboard.from_json(dashboard)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        return [f"does not decode as a Grafana dashboard: {exc!r}"]
    _check_model(model, "dashboard", problems)
    encoded = json.loads(json.dumps(model, cls=JSONEncoder))
    _check_kept(dashboard, encoded, "dashboard", problems)
    return problems


def _check_model(obj: Any, path: str, problems: list[str]) -> None:
    try:
        hints = typing.get_type_hints(type(obj))
    except Exception as exc:  # a model whose annotations cannot be resolved: nothing to check against
        problems.append(f"{path}: cannot read the schema of {type(obj).__name__}: {exc!r}")
        return
    for name, hint in hints.items():
        if hasattr(obj, name):
            _check_value(getattr(obj, name), hint, f"{path}.{name}", problems)


def _check_value(value: Any, hint: Any, path: str, problems: list[str]) -> None:
    if value is None:
        return
    if hint is Any or hint is object:
        if hasattr(value, "to_json"):  # panel options and field config, decoded by panel type
            _check_model(value, path, problems)
        return
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        decoded_as = [a for a in options if isinstance(a, type) and hasattr(a, "to_json") and isinstance(value, a)]
        if decoded_as or len(options) == 1:  # Optional[X], or decoded into one of the union's models
            _check_value(value, (decoded_as or options)[0], path, problems)
            return
        for option in options:
            found: list[str] = []
            _check_value(value, option, path, found)
            if not found:
                return
        problems.append(f"{path}: {value!r} matches none of {hint}")
        return
    if origin is typing.Literal:
        if value not in args:
            problems.append(f"{path}: {value!r} is not one of {args}")
        return
    if origin is list:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {value!r}")
            return
        for i, item in enumerate(value):
            _check_value(item, args[0] if args else Any, f"{path}[{i}]", problems)
        return
    if origin is dict:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object, got {value!r}")
            return
        for k, item in value.items():
            _check_value(item, args[1] if len(args) == 2 else Any, f"{path}.{k}", problems)
        return
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        allowed = {e.value for e in hint}
        if (value.value if isinstance(value, enum.Enum) else value) not in allowed:
            problems.append(f"{path}: {value!r} is not one of {sorted(map(str, allowed))}")
        return
    if hint is bool:
        if not isinstance(value, bool):
            problems.append(f"{path}: expected a boolean, got {value!r}")
        return
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: expected an integer, got {value!r}")
        return
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected a number, got {value!r}")
        return
    if hint is str:
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string, got {value!r}")
        return
    if isinstance(hint, type):
        if isinstance(value, hint):
            if hasattr(value, "to_json"):
                _check_model(value, path, problems)
            return
        if isinstance(value, dict) and hasattr(hint, "from_json"):
            # Left undecoded by its parent's decoder (e.g. transformations): decode it here.
            _check_decoded(value, hint, path, problems)
        elif hasattr(hint, "to_json"):
            problems.append(f"{path}: expected {hint.__name__}, got {type(value).__name__}")
        elif not isinstance(value, hint):
            problems.append(f"{path}: expected {hint.__name__}, got {value!r}")


def _check_decoded(data: dict[str, Any], model: type, path: str, problems: list[str]) -> None:
    from grafana_foundation_sdk.cog.encoder import JSONEncoder

    try:
        decoded = model.from_json(data)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        problems.append(f"{path}: does not decode as {model.__name__}: {exc!r}")
        return
    _check_model(decoded, path, problems)
    _check_kept(data, json.loads(json.dumps(decoded, cls=JSONEncoder)), path, problems)


def _check_kept(original: Any, encoded: Any, path: str, problems: list[str]) -> None:
    """Every key and value we wrote survives decoding into the schema's models and encoding back."""
    if isinstance(original, dict):
        if not isinstance(encoded, dict):
            problems.append(f"{path}: became {encoded!r}")
            return
        for key, value in original.items():
            if key not in encoded:
                problems.append(f"{path}.{key}: not in Grafana's schema (dropped when decoded)")
            else:
                _check_kept(value, encoded[key], f"{path}.{key}", problems)
    elif isinstance(original, list):
        if not isinstance(encoded, list) or len(encoded) != len(original):
            problems.append(f"{path}: list changed to {encoded!r}")
            return
        for i, (a, b) in enumerate(zip(original, encoded)):
            _check_kept(a, b, f"{path}[{i}]", problems)
    elif original != encoded:
        problems.append(f"{path}: {original!r} became {encoded!r}")
