"""Policies: which defenses apply to which traffic. Loaded from YAML, validated by pydantic, chosen per request.

A policy file holds one policy (see `policies/default.yaml`, which explains every field). A request
is matched against the configured policies' scopes; the shipped policies in `policies/` can always
be chosen by name with the admin-only `X-Evenhand-Policy` header.

Precedence — when several configured policies match, the most specific scope wins. A scope has four
dimensions, compared in this order, each one outranking all the ones after it together:
    keys > tenants > models > axes
so a policy naming API keys beats one naming tenants, whatever else either names; between two
policies that both name keys, one that also names models wins; and so on down to a policy with no
scope at all (the catch-all). Between equally specific matches, the one loaded first wins: the
order of `--policy` arguments, files of a directory in name order. A dimension left empty matches
everything; a request with no match gets no policy (`NO_POLICY`: policy "none", mode `off`, arm "none").

Arms — every decision carries an `arm` label for metrics and headers:
    all        the policy applies to all the traffic it matches (rollout 1, the default);
    treatment  rollout < 1 and this request's key fell inside the share: the policy applies;
    control    rollout < 1 and it fell outside: the request is forwarded untouched and still recorded
               (a `counterfactual_probe` still runs, since it changes nothing, so the arms can be compared);
    override   an admin chose the policy by name for this request (the evaluation does this);
    none       no policy matched (`Decision.policy` is "none" too).
The key is the request's `user` field when set, else the caller's key id; the same key always lands
in the same arm of a policy, across requests, restarts and replicas.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import policies as _shipped_package
from defenses.axes import canonical_axis
from defenses.instructions import Instruction
from defenses.probe import CounterfactualProbeParams
from defenses.refusal_retry import RefusalRetryParams
from defenses.registry import DEFENSES, DefenseSpec, RewriteStep, plan
from defenses.sampling import sampled
from defenses.types import PersonaContext
from proxy.auth import Caller
from proxy.errors import ProxyError
from proxy.wire import ChatRequest

Mode = Literal["enforce", "monitor", "off"]
Arm = Literal["all", "treatment", "control", "override", "none"]

SHIPPED_DIR = Path(_shipped_package.__file__).resolve().parent
DEFAULT_POLICY = SHIPPED_DIR / "default.yaml"

PolicyName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
KeyId = Annotated[str, Field(pattern=r"^[0-9a-f]{12}$")]


class Scope(BaseModel):
    """Which requests the policy takes. Every listed dimension must match; an empty one matches all."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    keys: list[KeyId] = Field(
        default_factory=list,
        description="API key ids (first 12 hex digits of the key's SHA-256, as Evenhand logs them); never the keys.",
    )
    tenants: list[str] = Field(default_factory=list, description="Tenant names from the proxy's key configuration.")
    models: list[str] = Field(
        default_factory=list, description="Model names as the client sends them; shell-style wildcards allowed (gpt-4o*)."
    )
    axes: list[str] = Field(
        default_factory=list,
        description="Persona axes (age, disability, gender, political_affiliation, race, religion, sexuality): the request must carry "
        "an identity on one of them.",
    )


class Policy(BaseModel):
    """An Evenhand policy: which defenses apply, to which traffic, in which mode."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Evenhand policy")
    name: PolicyName = Field(description="Unique name; shown in the x-evenhand-policy header and the `policy` metric label.")
    description: str = Field("", description="What the policy is for.")
    mode: Mode = Field(
        "enforce",
        description="enforce: apply the defenses; monitor: compute and record what they would change but forward the "
        "original; off: do nothing.",
    )
    scope: Scope = Field(default_factory=Scope, description="Which requests the policy takes (empty: all).")
    rollout: float = Field(
        1.0, ge=0.0, le=1.0, description="Share of matching traffic in the treatment arm; the rest is the control arm."
    )
    apply_always: bool = Field(False, description="Apply the defenses to requests with no identity detected, too.")
    headers: bool = Field(True, description="Tell the caller the policy and defenses applied (x-evenhand-* headers).")
    defenses: list[DefenseSpec] = Field(default_factory=list, description="The defenses, in the order they run.")


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one request: everything the later stages need, precomputed per policy and arm."""

    policy: str
    mode: Mode
    arm: Arm
    defenses: tuple[str, ...] = ()  # names, in policy order, of the defenses acting on this request
    rewrites: tuple[RewriteStep, ...] = ()
    instructions: tuple[Instruction, ...] = ()
    retry_on_refusal: RefusalRetryParams | None = None
    probe: CounterfactualProbeParams | None = None
    apply_always: bool = False
    headers: bool = True


NO_POLICY = Decision(policy="none", mode="off", arm="none")


class PolicyError(Exception):
    """A policy file we cannot use. `errors` holds every problem found, this one first."""

    def __init__(self, file: str | Path, line: int, field: str, message: str) -> None:
        self.file = str(file)
        self.line = line
        self.field = field
        self.message = message
        self.errors: tuple[PolicyError, ...] = (self,)
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line > 0 else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    @classmethod
    def group(cls, errors: Sequence[PolicyError]) -> PolicyError:
        first = errors[0]
        first.errors = tuple(errors)
        return first


@dataclass(frozen=True, slots=True)
class LoadedPolicy:
    policy: Policy
    file: Path
    sha256: str
    source: Literal["configured", "shipped"]

    @property
    def name(self) -> str:
        return self.policy.name


# --- choosing -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Compiled:
    loaded: LoadedPolicy
    order: int
    rank: tuple[bool, bool, bool, bool]
    keys: frozenset[str]
    tenants: frozenset[str]
    model_names: frozenset[str]
    model_patterns: tuple[re.Pattern[str], ...]
    axes: frozenset[str]
    decisions: dict[str, Decision] = field(default_factory=dict)

    def matches(self, model: str, caller: Caller, persona: PersonaContext) -> bool:
        if self.keys and caller.key_id not in self.keys:
            return False
        if self.tenants and caller.tenant not in self.tenants:
            return False
        if (self.model_names or self.model_patterns) and model not in self.model_names:
            if not any(p.match(model) for p in self.model_patterns):
                return False
        if self.axes:
            return any(canonical_axis(a.axis) in self.axes for a in persona.attributes)
        return True


def specificity(scope: Scope) -> tuple[bool, bool, bool, bool]:
    """The precedence rank of a scope: compare tuples, the larger wins (keys > tenants > models > axes)."""
    return (bool(scope.keys), bool(scope.tenants), bool(scope.models), bool(scope.axes))


def _compile(loaded: LoadedPolicy, order: int) -> _Compiled:
    scope = loaded.policy.scope
    wild = [m for m in scope.models if any(c in m for c in "*?[")]
    compiled = _Compiled(
        loaded=loaded,
        order=order,
        rank=specificity(scope),
        keys=frozenset(scope.keys),
        tenants=frozenset(scope.tenants),
        model_names=frozenset(m for m in scope.models if m not in wild),
        model_patterns=tuple(re.compile(fnmatch.translate(m)) for m in wild),
        axes=frozenset(canonical_axis(a) for a in scope.axes),
    )
    compiled.decisions = _decisions(loaded.policy)
    return compiled


def _decisions(policy: Policy) -> dict[str, Decision]:
    if policy.mode == "off":
        return {arm: Decision(policy.name, "off", arm, headers=policy.headers) for arm in ("all", "treatment", "control", "override")}  # type: ignore[arg-type]
    p = plan(policy.defenses)
    full = {
        arm: Decision(
            policy=policy.name,
            mode=policy.mode,
            arm=arm,  # type: ignore[arg-type]
            defenses=p.names,
            rewrites=p.rewrites,
            instructions=p.instructions,
            retry_on_refusal=p.retry_on_refusal,
            probe=p.probe,
            apply_always=policy.apply_always,
            headers=policy.headers,
        )
        for arm in ("all", "treatment", "override")
    }
    full["control"] = Decision(
        policy=policy.name,
        mode=policy.mode,
        arm="control",
        defenses=("counterfactual_probe",) if p.probe is not None else (),
        probe=p.probe,
        headers=policy.headers,
    )
    return full


class PolicySet:
    """The policies in force: the configured ones take traffic by scope; the shipped ones answer to their
    names through the override (a configured policy of the same name takes precedence)."""

    def __init__(self, configured: Sequence[LoadedPolicy], shipped: Sequence[LoadedPolicy] = ()) -> None:
        self.configured = tuple(configured)
        self.shipped = tuple(shipped)
        compiled = [_compile(p, i) for i, p in enumerate(self.configured)]
        self._ordered = sorted(compiled, key=lambda c: (tuple(not r for r in c.rank), c.order))
        self._by_name: dict[str, _Compiled] = {p.name: _compile(p, -1) for p in self.shipped}
        self._by_name.update((c.loaded.name, c) for c in compiled)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    def get(self, name: str) -> LoadedPolicy | None:
        found = self._by_name.get(name)
        return found.loaded if found is not None else None

    def choose(
        self, request: ChatRequest, caller: Caller, persona: PersonaContext, override: str | None = None
    ) -> Decision:
        """The decision for one request. `override` is a policy name from an admin caller's header."""
        if override is not None:
            chosen = self._by_name.get(override)
            if chosen is None:
                known = ", ".join(sorted(self._by_name))
                raise ProxyError(
                    400,
                    f"Unknown policy '{override}' in the X-Evenhand-Policy header. Known policies: {known}.",
                    code="unknown_policy",
                )
            return chosen.decisions["override"]
        model = request.model
        for candidate in self._ordered:
            if candidate.matches(model, caller, persona):
                rollout = candidate.loaded.policy.rollout
                if rollout >= 1.0:
                    return candidate.decisions["all"]
                key = request.user or caller.key_id
                inside = sampled(f"arm:{candidate.loaded.name}", key, rollout)
                return candidate.decisions["treatment" if inside else "control"]
        return NO_POLICY

    def describe(self) -> list[dict[str, Any]]:
        """Every policy reachable, for the admin endpoint: configured ones in precedence order, then shipped."""
        out = []
        seen = set()
        for c in self._ordered:
            out.append(_describe(c.loaded))
            seen.add(c.loaded.name)
        for p in self.shipped:
            if p.name not in seen:
                out.append(_describe(p))
        return out


def _describe(p: LoadedPolicy) -> dict[str, Any]:
    policy = p.policy
    return {
        "name": policy.name,
        "source": p.source,
        "file": str(p.file),
        "sha256": p.sha256,
        "mode": policy.mode,
        "rollout": policy.rollout,
        "apply_always": policy.apply_always,
        "scope": policy.scope.model_dump(),
        "defenses": [d.name for d in policy.defenses],
        "description": policy.description,
    }


# --- loading --------------------------------------------------------------------------------------


def load_policies(paths: Sequence[Path]) -> PolicySet:
    """The policy set for `--policy` paths (files or directories); with none, `policies/default.yaml`.

    Raises PolicyError (all problems in `.errors`) if any file is bad: a set is used whole or not at all.
    """
    configured, errors = read_policies(paths or [DEFAULT_POLICY])
    shipped = []
    for path in sorted(SHIPPED_DIR.glob("*.yaml")):
        loaded, problems, _ = read_policy(path, "shipped")
        errors.extend(problems)
        if loaded is not None:
            shipped.append(loaded)
    if errors:
        raise PolicyError.group(errors)
    return PolicySet(configured, shipped)


def read_policies(paths: Sequence[Path]) -> tuple[list[LoadedPolicy], list[PolicyError]]:
    """Every policy in the paths, in load order, and every problem found (names must be unique)."""
    errors: list[PolicyError] = []
    loaded_policies: list[LoadedPolicy] = []
    first_file: dict[str, Path] = {}
    for path in expand(paths, errors):
        loaded, problems, lines = read_policy(path, "configured")
        errors.extend(problems)
        if loaded is None:
            continue
        if loaded.name in first_file:
            errors.append(
                PolicyError(
                    path, lines.get(("name",), 1), "name", f"the name '{loaded.name}' is already used by {first_file[loaded.name]}"
                )
            )
            continue
        first_file[loaded.name] = path
        loaded_policies.append(loaded)
    return loaded_policies, errors


def expand(paths: Iterable[Path], errors: list[PolicyError]) -> list[Path]:
    """Files for the given paths: a directory stands for its *.yaml / *.yml files, in name order."""
    files: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
            if not found:
                errors.append(PolicyError(path, 0, "", "the directory has no .yaml policy files"))
        elif path.is_file():
            found = [path]
        else:
            errors.append(PolicyError(path, 0, "", "no such file or directory"))
            found = []
        for f in found:
            resolved = f.resolve()
            if resolved not in seen:
                seen.add(resolved)
                files.append(f)
    return files


Lines = dict[tuple[Any, ...], int]


class PolicyLoader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. Under YAML 1.1 `mode: off` would read as `mode: false`,
    and `name: off` as a boolean; here they stay the strings the policy author wrote."""


PolicyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
PolicyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_policy(
    path: Path, source: Literal["configured", "shipped"] = "configured"
) -> tuple[LoadedPolicy | None, list[PolicyError], Lines]:
    """One file -> the policy, or every problem in it with its line and field."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [PolicyError(path, 0, "", f"cannot read the file: {exc.strerror}")], {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [PolicyError(path, 0, "", f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})")], {}
    errors: list[PolicyError] = []
    data, lines = _parse_yaml(text, path, errors)
    if errors:
        return None, errors, lines
    if data is None:
        return None, [PolicyError(path, 1, "", "the file is empty; a policy needs at least a `name:`")], lines
    if not isinstance(data, dict):
        kind = type(data).__name__
        return None, [PolicyError(path, 1, "", f"a policy file holds one mapping (name:, mode:, defenses:, ...), not a {kind}")], lines
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        found = [_error(path, lines, e) for e in exc.errors(include_url=False)]
        return None, sorted(found, key=lambda e: e.line), lines
    seen: dict[str, int] = {}
    for i, spec in enumerate(policy.defenses):
        if spec.name in seen:
            errors.append(
                PolicyError(
                    path,
                    lines.get(("defenses", i, "name"), lines.get(("defenses", i), 1)),
                    f"defenses[{i}].name",
                    f"'{spec.name}' is already listed (defenses[{seen[spec.name]}]); list each defense once",
                )
            )
        seen.setdefault(spec.name, i)
    if errors:
        return None, errors, lines
    return LoadedPolicy(policy, path, hashlib.sha256(raw).hexdigest(), source), [], lines


def _parse_yaml(text: str, path: Path, errors: list[PolicyError]) -> tuple[Any, Lines]:
    """Parse YAML keeping the line of every mapping key and sequence item (1-based), keyed by path."""
    lines: Lines = {}
    loader = PolicyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines
        _walk(node, (), lines, path, errors)
        if errors:
            return None, lines
        return loader.construct_document(node), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        errors.append(PolicyError(path, line, "", f"invalid YAML: {exc.problem or exc.context}"))
        return None, lines
    except yaml.YAMLError as exc:
        errors.append(PolicyError(path, 0, "", f"invalid YAML: {exc}"))
        return None, lines
    finally:
        loader.dispose()


def _walk(node: yaml.Node, at: tuple[Any, ...], lines: Lines, path: Path, errors: list[PolicyError]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            here = (*at, key)
            line = key_node.start_mark.line + 1
            if here in lines:
                errors.append(PolicyError(path, line, _field(here), f"duplicate key (first at line {lines[here]})"))
                continue
            lines[here] = line
            _walk(value_node, here, lines, path, errors)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*at, i)] = item.start_mark.line + 1
            _walk(item, (*at, i), lines, path, errors)


def _error(path: Path, lines: Lines, err: Any) -> PolicyError:
    """A pydantic error -> file, line and field. The discriminator's tag in the location is dropped,
    and a bad defense name points at its `name:` key."""
    loc: list[Any] = []
    for part in err["loc"]:
        if isinstance(part, str) and len(loc) >= 2 and loc[-2] == "defenses" and isinstance(loc[-1], int) and part in DEFENSES:
            continue
        loc.append(part)
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc.append("name")
    line = 1
    for n in range(len(loc), 0, -1):
        found = lines.get(tuple(loc[:n]))
        if found is not None:
            line = found
            break
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        message = "unknown field (check the spelling; `evenhand policy schema` lists every field)"
    elif err["type"] == "union_tag_invalid":
        message = f"unknown defense '{err['input'].get('name') if isinstance(err['input'], dict) else err['input']}'; known: {', '.join(DEFENSES)}"
    elif err["type"] == "union_tag_not_found":
        message = f"each defense needs a `name:`; known: {', '.join(DEFENSES)}"
    elif err["type"] == "string_pattern_mismatch" and loc == ["name"]:
        message = "a policy name is 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"
    elif err["type"] == "value_error":
        message = message.removeprefix("Value error, ")
    return PolicyError(path, line, _field(tuple(loc)), message)


def _field(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def policy_schema() -> dict[str, Any]:
    """The JSON Schema of a policy file, for editors (yaml-language-server) and `evenhand policy schema`."""
    schema = Policy.model_json_schema()
    for definition in schema.get("$defs", {}).values():
        # `name` has a default in Python (so tests can build parameters directly) but a file must say it
        if definition.get("properties", {}).get("name", {}).get("const") in DEFENSES:
            definition["required"] = ["name", *[r for r in definition.get("required", []) if r != "name"]]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
