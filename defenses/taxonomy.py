"""The identity taxonomy: axes, values and the words that name them, loaded from YAML.

The built-in file (`taxonomy.yaml` beside this module) holds the study's 7 axes and 31 identities;
a deployment may merge its own file over it to add axes, values or words without code changes.
Everything downstream speaks only in the snake_case keys, so metric labels stay bounded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

BUILTIN_FILE = Path(__file__).with_name("taxonomy.yaml")
LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de")
AGE_AXIS = "age"

_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_FIELDS = frozenset({"version", "axes", "idioms"})
_AXIS_FIELDS = frozenset({"label", "keys", "values"})
_VALUE_FIELDS = frozenset({"label", "phrase", "terms", "statements", "profile", "pronouns", "ages", "replace"})
_TERM_OPTIONS = frozenset({"term", "head_only", "needs_article", "match_case", "before_person"})
_PHRASE_CHARS = re.compile(r"^[^\[\]{}\\*+?^$]+$")


@dataclass(frozen=True, slots=True)
class Term:
    """One way of naming a value, with the options that keep it from matching where it means something else."""

    text: str
    head_only: bool = False
    needs_article: bool = False
    match_case: bool = False
    before_person: bool = False


@dataclass(frozen=True, slots=True)
class Value:
    axis: str
    key: str
    label: str
    phrase: str
    terms: Mapping[str, tuple[Term, ...]]
    statements: Mapping[str, tuple[str, ...]]
    profile: tuple[str, ...]
    pronouns: tuple[str, ...]
    ages: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class Axis:
    key: str
    label: str
    keys: Mapping[str, tuple[str, ...]]
    values: Mapping[str, Value]


class Taxonomy:
    """Axes -> values, each value with its phrasings and synonyms per language."""

    def __init__(self, axes: Mapping[str, Axis], idioms: Mapping[str, tuple[str, ...]], sources: tuple[str, ...]) -> None:
        self._axes = MappingProxyType(dict(axes))
        self._idioms = MappingProxyType(dict(idioms))
        self.sources = sources

    @classmethod
    def load(cls, extra_file: Path | None = None) -> Taxonomy:
        """The built-in taxonomy, with `extra_file` (a user's YAML of the same shape) merged over it."""
        raw: dict[str, Any] = {"axes": {}, "idioms": {}}
        _merge(raw, _read(BUILTIN_FILE), str(BUILTIN_FILE))
        sources = [str(BUILTIN_FILE)]
        if extra_file is not None:
            extra = _read(Path(extra_file))
            _merge(raw, extra, str(extra_file))
            sources.append(str(extra_file))
        return _build(raw, sources[-1])._with_sources(tuple(sources))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "<mapping>") -> Taxonomy:
        """A taxonomy from already-parsed data of the YAML shape (a full definition, nothing merged)."""
        raw: dict[str, Any] = {"axes": {}, "idioms": {}}
        _merge(raw, data, source)
        return _build(raw, source)._with_sources((source,))

    def _with_sources(self, sources: tuple[str, ...]) -> Taxonomy:
        self.sources = sources
        return self

    def axes(self) -> tuple[str, ...]:
        return tuple(self._axes)

    def values(self, axis: str) -> tuple[str, ...]:
        return tuple(self._axes[axis].values)

    def has(self, axis: str, value: str) -> bool:
        spec = self._axes.get(axis)
        return spec is not None and value in spec.values

    def axis(self, axis: str) -> Axis:
        return self._axes[axis]

    def value(self, axis: str, value: str) -> Value:
        return self._axes[axis].values[value]

    def all_values(self) -> tuple[Value, ...]:
        return tuple(v for a in self._axes.values() for v in a.values.values())

    def idioms(self, lang: str) -> tuple[str, ...]:
        return self._idioms.get(lang, ())

    def age_bands(self) -> tuple[tuple[int, int, str], ...]:
        """(lowest, highest, value) for each age value with stated-age bounds, narrowest first."""
        if AGE_AXIS not in self._axes:
            return ()
        bands = [(v.ages[0], v.ages[1], v.key) for v in self._axes[AGE_AXIS].values.values() if v.ages]
        return tuple(sorted(bands, key=lambda b: b[1] - b[0]))

    def __repr__(self) -> str:
        return f"Taxonomy(axes={list(self._axes)}, sources={list(self.sources)})"


def load_taxonomy(extra_file: Path | None = None) -> Taxonomy:
    return Taxonomy.load(extra_file)


# --- reading and merging -------------------------------------------------------------------------


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the taxonomy file: {exc.strerror or exc}") from None
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        raise ValueError(f"{path}: the taxonomy file is empty")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the taxonomy file must be a mapping with 'axes' (and optionally 'idioms')")
    return data


def _merge(base: dict[str, Any], extra: Mapping[str, Any], file: str) -> None:
    """Validate `extra` and merge it into `base` in place: add axes and values, extend word lists."""
    if not isinstance(extra, Mapping):
        raise ValueError(f"{file}: the taxonomy must be a mapping")
    unknown = set(extra) - _TOP_FIELDS
    if unknown:
        raise ValueError(f"{file}: unknown top-level field(s) {sorted(map(str, unknown))}; expected {sorted(_TOP_FIELDS)}")
    if "version" in extra and extra["version"] != 1:
        raise ValueError(f"{file}: version must be 1, got {extra['version']!r}")
    axes = extra.get("axes", {})
    if not isinstance(axes, Mapping):
        raise ValueError(f"{file}: 'axes' must be a mapping of axis key -> definition")
    base_axes = base.setdefault("axes", {})
    for axis_key, axis in axes.items():
        where = f"axes.{axis_key}"
        _check_key(axis_key, file, where)
        if not isinstance(axis, Mapping):
            raise ValueError(f"{file}: {where} must be a mapping with 'values'")
        unknown = set(axis) - _AXIS_FIELDS
        if unknown:
            raise ValueError(f"{file}: {where}: unknown field(s) {sorted(map(str, unknown))}; expected {sorted(_AXIS_FIELDS)}")
        target = base_axes.get(axis_key)
        if target is None:
            if not axis.get("values"):
                raise ValueError(f"{file}: {where}: a new axis needs at least one value under 'values'")
            target = base_axes[axis_key] = {"label": _label_of(axis_key), "keys": {}, "values": {}}
        if "label" in axis:
            target["label"] = _string(axis["label"], file, f"{where}.label")
        if "keys" in axis:
            _extend_by_language(target["keys"], axis["keys"], file, f"{where}.keys")
        values = axis.get("values", {})
        if not isinstance(values, Mapping):
            raise ValueError(f"{file}: {where}.values must be a mapping of value key -> definition")
        for value_key, value in values.items():
            _merge_value(target["values"], axis_key, value_key, value, file, f"{where}.values.{value_key}")
    idioms = extra.get("idioms", {})
    _extend_by_language(base.setdefault("idioms", {}), idioms, file, "idioms", phrases=True)


def _merge_value(values: dict[str, Any], axis_key: str, key: Any, value: Any, file: str, where: str) -> None:
    _check_key(key, file, where)
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{file}: {where} must be a mapping (label, phrase, terms, ...)")
    unknown = set(value) - _VALUE_FIELDS
    if unknown:
        raise ValueError(f"{file}: {where}: unknown field(s) {sorted(map(str, unknown))}; expected {sorted(_VALUE_FIELDS)}")
    replace = value.get("replace", False)
    if not isinstance(replace, bool):
        raise ValueError(f"{file}: {where}.replace must be true or false")
    target = values.get(key)
    if target is None or replace:
        target = values[key] = {
            "label": _label_of(key), "phrase": "", "terms": {}, "statements": {}, "profile": [], "pronouns": [], "ages": None,
        }
    for field in ("label", "phrase"):
        if field in value:
            target[field] = _string(value[field], file, f"{where}.{field}")
    if "terms" in value:
        _extend_by_language(target["terms"], value["terms"], file, f"{where}.terms", terms=True)
    if "statements" in value:
        _extend_by_language(target["statements"], value["statements"], file, f"{where}.statements", phrases=True)
    for field in ("profile", "pronouns"):
        if field in value:
            target[field].extend(_strings(value[field], file, f"{where}.{field}"))
    if "ages" in value:
        if axis_key != AGE_AXIS:
            raise ValueError(f"{file}: {where}.ages is only allowed on the '{AGE_AXIS}' axis")
        ages = value["ages"]
        if (
            not isinstance(ages, list) or len(ages) != 2
            or not all(isinstance(a, int) and not isinstance(a, bool) for a in ages)
            or not 0 <= ages[0] <= ages[1] <= 150
        ):
            raise ValueError(f"{file}: {where}.ages must be [lowest, highest] whole years, 0 <= lowest <= highest <= 150")
        target["ages"] = (ages[0], ages[1])


def _extend_by_language(
    target: dict[str, list[Any]], data: Any, file: str, where: str, *, terms: bool = False, phrases: bool = False
) -> None:
    """Lists per language code; a bare list means English."""
    if isinstance(data, list):
        data = {"en": data}
    if not isinstance(data, Mapping):
        raise ValueError(f"{file}: {where} must be a list, or a mapping of language ({', '.join(LANGUAGES)}) -> list")
    for lang, items in data.items():
        if lang not in LANGUAGES:
            raise ValueError(f"{file}: {where}: unsupported language {lang!r}; supported: {', '.join(LANGUAGES)}")
        if terms:
            new = [_term(item, file, f"{where}.{lang}[{i}]") for i, item in enumerate(_list(items, file, f"{where}.{lang}"))]
        else:
            new = _strings(items, file, f"{where}.{lang}")
            if phrases:
                for i, phrase in enumerate(new):
                    _check_phrase(phrase, file, f"{where}.{lang}[{i}]")
        target.setdefault(lang, []).extend(new)


def _term(item: Any, file: str, where: str) -> Term:
    if isinstance(item, str):
        return Term(_word(item, file, where))
    if isinstance(item, Mapping):
        unknown = set(item) - _TERM_OPTIONS
        if unknown or "term" not in item:
            raise ValueError(f"{file}: {where}: a term mapping needs 'term' and may have head_only, needs_article, match_case, before_person")
        options = {}
        for name in ("head_only", "needs_article", "match_case", "before_person"):
            flag = item.get(name, False)
            if not isinstance(flag, bool):
                raise ValueError(f"{file}: {where}.{name} must be true or false")
            options[name] = flag
        return Term(_word(item["term"], file, f"{where}.term"), **options)
    raise ValueError(f"{file}: {where} must be a string or a mapping with 'term' (quote words such as yes/no/on/off)")


def _word(text: Any, file: str, where: str) -> str:
    text = _string(text, file, where).strip()
    if not text or not any(c.isalnum() for c in text):
        raise ValueError(f"{file}: {where}: a term needs at least one letter or digit")
    if not _PHRASE_CHARS.match(text):
        raise ValueError(f"{file}: {where}: {text!r} contains characters a term cannot have ([]{{}}\\*+?^$)")
    return text


def _check_phrase(phrase: str, file: str, where: str) -> None:
    depth = 0
    for ch in phrase:
        depth += (ch == "(") - (ch == ")")
        if depth < 0 or depth > 1:
            raise ValueError(f"{file}: {where}: {phrase!r} has unbalanced or nested parentheses")
    if depth:
        raise ValueError(f"{file}: {where}: {phrase!r} has unbalanced parentheses")
    if not phrase.strip() or not _PHRASE_CHARS.match(phrase):
        raise ValueError(f"{file}: {where}: {phrase!r} is not a phrase of words with (a|b) alternatives")


def _list(items: Any, file: str, where: str) -> list[Any]:
    if not isinstance(items, list):
        raise ValueError(f"{file}: {where} must be a list")
    return items


def _strings(items: Any, file: str, where: str) -> list[str]:
    return [_string(item, file, f"{where}[{i}]") for i, item in enumerate(_list(items, file, where))]


def _string(item: Any, file: str, where: str) -> str:
    if isinstance(item, bool) or not isinstance(item, (str, int, float)):
        raise ValueError(f"{file}: {where} must be a string (quote words such as yes/no/on/off), got {item!r}")
    return str(item)


def _check_key(key: Any, file: str, where: str) -> None:
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError(f"{file}: {where}: keys must be snake_case (lowercase letters, digits, underscores), got {key!r}")


def _label_of(key: str) -> str:
    return key.replace("_", " ").capitalize()


# --- building -----------------------------------------------------------------------------------


def _build(raw: Mapping[str, Any], file: str) -> Taxonomy:
    axes: dict[str, Axis] = {}
    owner: dict[tuple[str, str], str] = {}
    for axis_key, axis in raw.get("axes", {}).items():
        values: dict[str, Value] = {}
        for value_key, v in axis["values"].items():
            terms = {lang: tuple(_dedupe(ts, key=lambda t: t.text.casefold())) for lang, ts in v["terms"].items()}
            for lang, ts in terms.items():
                for t in ts:
                    norm = (lang, _fold(t.text))
                    other = owner.setdefault(norm, f"{axis_key}.{value_key}")
                    if other != f"{axis_key}.{value_key}":
                        raise ValueError(
                            f"{file}: term {t.text!r} ({lang}) is given for both {other} and {axis_key}.{value_key}; "
                            "a term must name one value"
                        )
            values[value_key] = Value(
                axis=axis_key,
                key=value_key,
                label=v["label"],
                phrase=v["phrase"] or v["label"],
                terms=MappingProxyType(terms),
                statements=MappingProxyType({lang: tuple(_dedupe(s)) for lang, s in v["statements"].items()}),
                profile=tuple(_dedupe(v["profile"])),
                pronouns=tuple(_dedupe(v["pronouns"])),
                ages=v["ages"],
            )
        axes[axis_key] = Axis(
            key=axis_key,
            label=axis["label"],
            keys=MappingProxyType({lang: tuple(_dedupe(k)) for lang, k in axis["keys"].items()}),
            values=MappingProxyType(values),
        )
    if not axes:
        raise ValueError(f"{file}: the taxonomy defines no axes")
    idioms = {lang: tuple(_dedupe(items)) for lang, items in raw.get("idioms", {}).items()}
    return Taxonomy(axes, idioms, (file,))


def _fold(text: str) -> str:
    """How terms compare: case, spaces and hyphens do not matter ("Non-binary" == "nonbinary")."""
    return re.sub(r"[\s\-\u2010\u2011]+", "", text.casefold())


def _dedupe(items: list[Any], key: Any = None) -> list[Any]:
    seen: set[Any] = set()
    out = []
    for item in items:
        k = key(item) if key else item
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out
