"""Structured profiles: "User profile: age 68; religion: Hindu", {"user": {"gender": "female"}},
"my religion is Islam", "| Ethnicity | Hispanic |", "<age>16</age>".

A field counts when its key is one of the taxonomy's profile keys, its value is a term of that axis,
and the profile is the user's: the key is "my ..."/"the user's ...", or the nearest cue before it
names the user ("User profile", "customer", "about me") rather than the assistant or a character;
in system messages a block of two or more such fields with no cue at all is taken as the user's.
Lists ("gender: male/female"), prose ("at age 5") and code in user messages do not count.
"""

from __future__ import annotations

import bisect
import datetime
import re

from defenses.age import AgeReader
from defenses.statements import Found
from defenses.taxonomy import LANGUAGES, Taxonomy
from defenses.textview import TextView
from defenses.wordlist_regex import compile_words, fold_match, normalize_term, spelling_variants, trie_pattern

_OWNER = (
    r"(?P<poss>(?:my|the\s+user['’]s|the\s+user|user['’]?s?|customer['’]?s?|client['’]?s?|patient['’]?s?|"
    r"member['’]?s?|student['’]?s?|caller['’]?s?|mi|mis|ma|mon|mes|meine?)[\s_.\-]*)?"
)
_OWNER_AFTER = r"(?:\s+(?:del\s+usuario|de\s+la\s+usuaria|de\s+l['’]utilisat(?:eur|rice)|des\s+nutzers|der\s+nutzerin))?"
_SEP = re.compile(
    r"[ \t]*[\"'`*_\]]*[ \t]*(?:(?P<colon>=>|->|[:=|>\-\u2013\u2014])|(?P<verb>is|are|was|es|est|ist|sind|son|sont)(?![\w]))?"
    r"[ \t]*[\"'`*_\[(<]*[ \t]*"
)
_AGE_VALUE = re.compile(
    r"(?P<n>\d{1,3})(?:[ \t]*(?P<plus>\+)|[ \t]*(?:-|\u2013|to)[ \t]*(?P<hi>\d{1,3}))?"
    r"(?:[ \t]*(?:years?|yrs?|y/o|yo|años|ans|jahre)(?:[ \t]+(?:old|alt))?)?(?![\w%])"
)
_BIRTH_KEYS = re.compile(
    r"(?<![\w])(?:date\s+of\s+birth|dob|birth\s*date|birthday|birth\s*year|year\s+of\s+birth|born(?:\s+in|\s+on)?)"
    r"[\"'`*_]*[ \t]*[:=]?[ \t]*[\"']?(?:\d{1,2}[/.-]\d{1,2}[/.-]|[a-z]+\.?\s+\d{1,2},?\s+)?(?P<y>(?:19|20)\d\d)(?![\w])"
)
_WORDS = re.compile(r"[\w'’]+")
_AFTER_VALUE = re.compile(r"[ \t]*([\w'’]+)?")
_ANOTHER_FIELD = re.compile(r"[\w.]+[ \t]*[:=]")
_CONTINUE_WORDS = frozenset("and but y et und aber though who person people".split())
_LIST = re.compile(r"[ \t]*(?:/|,|\bor\b|\band\b|&|\||;)[ \t]*[\"']?")
# Cues before a field that say whose profile it is. Letter boundaries, not \b, so that keys such as
# "customer_profile" and "user.age" count.
_POSITIVE = re.compile(
    r"(?:users?|customers?|clients?|patients?|members?|callers?|visitors?|students?|learners?|human|"
    r"end[\s-]user|about\s+me|my\s+(?:profile|details|info|information|background|demographics|data|stats)|"
    r"profile|demographics?|personali[sz]ation|usuario|usuaria|utilisateur|utilisatrice|nutzer|nutzerin|perfil|profil)(?![a-z])"
)
# In a user's own message only first-person cues say the profile is theirs ("my son's profile" is not).
_POSITIVE_FIRST_PERSON = re.compile(
    r"(?:about\s+me|my\s+(?:profile|details|info|information|background|demographics|data|stats)|"
    r"me\s*:|myself\s*:|(?:user|my)\s+profile|sobre\s+m[ií]|mi\s+perfil|[àa]\s+propos\s+de\s+moi|mon\s+profil|"
    r"über\s+mich|mein\s+profil)(?![a-z])"
)
_NEGATIVE = re.compile(
    r"(?:assistant|chatbot|bot|character|agent|npc|you\s+are|you['’]re|your\s+(?:persona|profile|character|"
    r"identity|role|age|religion|gender)|act\s+as|role[\s-]?play|fictional|example|sample|e\.g\.|for\s+instance|"
    r"test\s+data|dummy|fake|mock|dataset|columns?|schema|fixture|form\s+for)(?![a-z])"
)
# A positive cue owned by someone else: "my son's profile", "the assistant profile", "his details".
_OTHER_CUE_OWNER = re.compile(r"(?:(?<![a-z])(?:his|her|their|your|its|assistant|bot|character|agent|npc|example|sample|dummy|fake|test|mock)|(?<!user)(?<!customer)(?<!client)(?<!patient)(?<!member)['’]s)[\s_.\-]*$")
_OTHER_OWNER = re.compile(r"(?:\b(?:your|its|our)|(?<!user)(?<!customer)(?<!client)(?<!patient)['’]s)[\s_.\-]*$")
_PRONOUN_OWNER = re.compile(r"\b(?:his|her|their)[\s_.\-]*$")
_AGE_PROSE = frozenset(
    """at of the an a legal voting drinking retirement same what which any minimum maximum average mean median
    old young early middle golden stone bronze iron ice new information digital whose your by to
    from until till since under over""".split()
)


class ProfileReader:
    """Finds identity fields of structured profiles; built once per taxonomy."""

    def __init__(self, taxonomy: Taxonomy, ages: AgeReader) -> None:
        self._ages = ages
        key_axis: dict[str, str] = {}
        key_forms: set[str] = set()
        self.trigger_words: set[str] = set()
        self._values: dict[str, tuple[re.Pattern[str], dict[str, str]]] = {}
        for axis_key in taxonomy.axes():
            axis = taxonomy.axis(axis_key)
            for lang in LANGUAGES:
                for key in axis.keys.get(lang, ()):
                    for form in {v for base in spelling_variants(key) for v in (base, base.replace(" ", "_"), base.replace(" ", ""))}:
                        key_forms.add(form)
                        key_axis.setdefault(fold_match(form).replace("_", ""), axis_key)
                        # the key's first word is enough to say a text may hold the field
                        self.trigger_words.add(re.split(r"[\s\-/'’_]+", form.lower())[0])
            forms: dict[str, str] = {}
            written: set[str] = set()
            for value in axis.values.values():
                words: set[str] = set(value.profile)
                for lang in LANGUAGES:
                    for term in value.terms.get(lang, ()):
                        words.update(spelling_variants(term.text, lang))
                for word in words:
                    for form in spelling_variants(word):
                        forms.setdefault(fold_match(form), value.key)
                        written.add(form)
            pattern = re.compile(trie_pattern({normalize_term(f) for f in written}) + r"(?![\w])")
            self._values[axis_key] = (pattern, forms)
        self.trigger_words.update({"dob", "birth", "born", "birthday", "birthdate", "birthyear"})
        self._key_axis = key_axis
        self._keys = re.compile(r"(?<![\w])" + _OWNER + "(?P<key>" + compile_words(key_forms, tail="").pattern + r")(?![\w])" + _OWNER_AFTER)
        self._has_age = "age" in taxonomy.axes() and ages.enabled

    def read(self, view: TextView, out: list[Found]) -> None:
        lowered = view.lowered
        fields: list[Found] = []
        owned: list[bool] = []
        for m in self._keys.finditer(lowered):
            axis = self._key_axis.get(fold_match(m.group("key")).replace("_", ""))
            if axis is None:
                continue
            field = self._field(view, m, axis)
            if field is None:
                continue
            decision = self._owner(view, m)
            if decision is False:
                continue
            fields.append(field)
            owned.append(decision is True)
        if self._has_age:
            for m in _BIRTH_KEYS.finditer(lowered):
                value = self._ages.value_for(_this_year() - int(m.group("y")))
                if value and self._owner(view, m) is not False:
                    fields.append(("age", value, m.start(), m.end(), m.start("y"), m.end("y")))
                    owned.append(self._owner(view, m) is True)
        if not fields:
            return
        structured = view.system and len({f[0] for f in fields}) >= 2
        for field, is_owned in zip(fields, owned):
            if is_owned or structured:
                out.append(field)

    def _field(self, view: TextView, m: re.Match[str], axis: str) -> Found | None:
        lowered = view.lowered
        key_start = m.start("key")
        sep = _SEP.match(lowered, m.end())
        explicit = bool(sep.group("colon") or sep.group("verb"))
        v = sep.end()
        if not explicit and (axis != "age" or not m.group("poss") and not _cue_on_line(lowered, key_start)):
            return None
        if axis == "age":
            before = _WORDS.findall(lowered, max(0, m.start() - 16), m.start())
            if before and before[-1] in _AGE_PROSE and not m.group("poss"):
                return None
            found = self._age_value(lowered, v)
            if found is None:
                return None
            value, ve = found
        else:
            pattern, forms = self._values[axis]
            vm = pattern.match(lowered, v)
            if vm is None:
                return None
            value = forms.get(fold_match(vm.group()))
            if value is None:
                return None
            ve = vm.end()
            if len(vm.group()) <= 2 and not explicit:
                return None
        # "gender: male/female", "race: Black or White": a list of options, not a person's profile.
        if axis != "age":
            pattern, _ = self._values[axis]
            lst = _LIST.match(lowered, ve)
            if lst and pattern.match(lowered, lst.end()):
                return None
        after = _AFTER_VALUE.match(lowered, ve)
        if (
            after and after.group(1) and lowered[ve:ve + 1] not in ",;.\n\"'`)]}|<*_"
            and after.group(1) not in _CONTINUE_WORDS and not self._keys.match(lowered, after.start(1))
            and not _ANOTHER_FIELD.match(lowered, after.start(1))
        ):
            return None  # "religion: Hindu nationalism" (but "age=52 gender=male" is two fields)
        start = m.start()
        if start > 0 and lowered[start - 1] in "\"'`<":
            start -= 1
        end = ve
        if end < len(lowered) and lowered[end] in "\"'`" and lowered[v - 1:v] in "\"'`":
            end += 1
        return (axis, value, start, end, v, ve)

    def _age_value(self, lowered: str, v: int) -> tuple[str, int] | None:
        m = _AGE_VALUE.match(lowered, v)
        if m:
            lo = int(m.group("n"))
            hi = int(m.group("hi")) if m.group("hi") else lo
            if hi < lo or hi > 120:
                return None
            value = self._ages.value_for(lo if m.group("plus") else (lo + hi) // 2)
            return (value, m.end()) if value else None
        pattern, forms = self._values["age"]
        vm = pattern.match(lowered, v)
        if vm and (value := forms.get(fold_match(vm.group()))):
            return value, vm.end()
        return None

    def _owner(self, view: TextView, m: re.Match[str]) -> bool | None:
        """True: the field is the user's; False: someone else's (or code); None: no cue either way."""
        lowered = view.lowered
        start = m.start()
        if not view.system and view.in_code(start):
            return False
        poss = m.groupdict().get("poss")
        if poss:
            return True
        if _OTHER_OWNER.search(lowered, max(0, start - 24), start):
            return False
        if not view.system and _PRONOUN_OWNER.search(lowered, max(0, start - 8), start):
            return False
        cues = self._cues(view)
        i = bisect.bisect_left(cues, (start, -1)) - 1
        if i >= 0 and cues[i][0] >= start - 400:
            return cues[i][1]
        return None if view.system else False

    def _cues(self, view: TextView) -> list[tuple[int, bool]]:
        """(end, is the user's) of every ownership cue in the text, in order; computed once per text."""
        if view.cues is not None:
            return view.cues
        lowered = view.lowered
        cues: list[tuple[int, bool]] = []
        for c in (_POSITIVE if view.system else _POSITIVE_FIRST_PERSON).finditer(lowered):
            if c.start() and lowered[c.start() - 1].isalpha():
                continue
            owned_by_other = _OTHER_CUE_OWNER.search(lowered, max(0, c.start() - 16), c.start()) is not None
            cues.append((c.end(), not owned_by_other))
        for c in _NEGATIVE.finditer(lowered):
            if c.start() and lowered[c.start() - 1].isalpha():
                continue
            cues.append((c.end(), False))
        cues.sort()
        view.cues = cues
        return cues


def _cue_on_line(lowered: str, pos: int) -> bool:
    line_start = lowered.rfind("\n", 0, pos) + 1
    return _POSITIVE.search(lowered, line_start, pos) is not None


def _this_year() -> int:
    return datetime.date.today().year
