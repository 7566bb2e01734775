"""Structured profiles: "User profile: age 68; religion: Hindu", {"user": {"gender": "female"}},
"my religion is Islam", "| Ethnicity | Hispanic |", "<age>16</age>".

A field counts when its key is one of the taxonomy's profile keys, its value is a term of that axis,
and the profile is the user's: the key is "my ..."/"the user's ...", or the nearest cue before it
names the user ("User profile", "customer", "about me") rather than the assistant or a character;
in system messages a block of two or more such fields with no cue at all is taken as the user's.
Lists ("gender: male/female"), prose ("at age 5") and code in user messages do not count.
"""

from __future__ import annotations

import datetime
import re

from defenses.age import AgeReader
from defenses.statements import Found
from defenses.taxonomy import LANGUAGES, Taxonomy
from defenses.textview import TextView
from defenses.wordlist_regex import compile_words, fold_match, normalize_term, spelling_variants, trie_pattern

# "my religion", "the user's age", "user_gender", "userAge": the field belongs to the user.
_OWNER_BEFORE = re.compile(
    r"(?<![\w])(?:my|the\s+user['’]s|the\s+user|user['’]?s?|customer['’]?s?|client['’]?s?|patient['’]?s?|"
    r"member['’]?s?|student['’]?s?|caller['’]?s?|mi|mis|ma|mon|mes|meine?)[\s_.\-]*$"
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
# Cues before a field that say whose profile it is, as words ("user", "customer_profile", "about me").
_USER_WORDS = frozenset(
    """user users customer customers client clients patient patients member members caller callers visitor visitors
    student students learner learners human profile demographics demographic personalization personalisation usuario
    usuaria utilisateur utilisatrice nutzer nutzerin perfil profil""".split()
)
_MY_NOUNS = frozenset("profile details info information background demographics data stats perfil profil".split())
_OTHER_WORDS = frozenset(
    """assistant chatbot bot character agent npc fictional example examples sample dummy fake mock dataset column
    columns schema fixture persona's assistant's bot's character's""".split()
)
_NOT_THE_USERS = frozenset("his her their your its assistant bot character agent npc example sample dummy fake test mock".split())
_YOUR_NOUNS = frozenset("persona profile character identity role age religion gender".split())
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
        self._values: dict[str, tuple[re.Pattern[str], dict[str, str]]] = {}
        for axis_key in taxonomy.axes():
            axis = taxonomy.axis(axis_key)
            for lang in LANGUAGES:
                for key in axis.keys.get(lang, ()):
                    for form in {v for base in spelling_variants(key) for v in (base, base.replace(" ", "_"), base.replace(" ", ""))}:
                        key_forms.add(form)
                        key_axis.setdefault(fold_match(form).replace("_", ""), axis_key)
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
        self._key_axis = key_axis
        # The key first (a trie, fast to scan for); whose field it is ("my", "user_") is read backwards.
        self._keys = re.compile("(?P<key>" + compile_words(key_forms, tail="").pattern + r")(?![\w])" + _OWNER_AFTER)
        self._has_age = "age" in taxonomy.axes() and ages.enabled

    def read(self, view: TextView, out: list[Found], windows: list[tuple[int, int]]) -> None:
        """Read the profile fields whose keys fall within `windows` (around the key words)."""
        lowered = view.lowered
        fields: list[Found] = []
        owned: list[bool] = []
        keys = [m for ws, we in windows for m in self._keys.finditer(lowered, ws, we)]
        births = [m for ws, we in windows for m in _BIRTH_KEYS.finditer(lowered, ws, we)] if self._has_age else []
        for m in keys:
            key_start = m.start()
            if key_start and lowered[key_start - 1].isalnum() and not _OWNER_BEFORE.search(lowered, max(0, key_start - 24), key_start):
                continue  # inside a word ("page", "usage"), unless glued to an owner ("userage")
            axis = self._key_axis.get(fold_match(m.group("key")).replace("_", ""))
            if axis is None:
                continue
            poss = _OWNER_BEFORE.search(lowered, max(0, key_start - 24), key_start)
            field = self._field(view, m, axis, poss)
            if field is None:
                continue
            decision = self._owner(view, m, poss)
            if decision is False:
                continue
            fields.append(field)
            owned.append(decision is True)
        for m in births:
            value = self._ages.value_for(_this_year() - int(m.group("y")))
            decision = self._owner(view, m)
            if value and decision is not False:
                fields.append(("age", value, m.start(), m.end(), m.start("y"), m.end("y")))
                owned.append(decision is True)
        if not fields:
            return
        structured = view.system and len({f[0] for f in fields}) >= 2
        for field, is_owned in zip(fields, owned):
            if is_owned or structured:
                out.append(field)

    def _field(self, view: TextView, m: re.Match[str], axis: str, poss: re.Match[str] | None) -> Found | None:
        lowered = view.lowered
        key_start = m.start("key")
        sep = _SEP.match(lowered, m.end())
        explicit = bool(sep.group("colon") or sep.group("verb"))
        v = sep.end()
        if not explicit and (axis != "age" or poss is None and not _cue_on_line(lowered, key_start)):
            return None
        if axis == "age":
            before = _WORDS.findall(lowered, max(0, m.start() - 16), m.start())
            if before and before[-1] in _AGE_PROSE and poss is None:
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
        start = poss.start() if poss is not None else m.start()
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

    def _owner(self, view: TextView, m: re.Match[str], poss: re.Match[str] | None = None) -> bool | None:
        """True: the field is the user's; False: someone else's (or code); None: no cue either way."""
        lowered = view.lowered
        start = m.start()
        if not view.system and view.in_code(start):
            return False
        if poss is not None:
            return True
        if _OTHER_OWNER.search(lowered, max(0, start - 24), start):
            return False
        if not view.system and _PRONOUN_OWNER.search(lowered, max(0, start - 8), start):
            return False
        last = self._last_cue(view, start)
        if last is not None:
            return last
        return None if view.system else False

    @staticmethod
    def _last_cue(view: TextView, start: int) -> bool | None:
        """The nearest ownership cue within 400 characters before `start`: is it the user's?"""
        words = _WORDS.findall(view.lowered, max(0, start - 400), start)
        system = view.system
        for i in range(len(words) - 1, -1, -1):
            word = words[i]
            prev = words[i - 1] if i else ""
            parts = word.split("_") if "_" in word else (word,)
            if any(p in _OTHER_WORDS for p in parts):
                return False
            if prev in ("you", "act", "role", "for", "test") and word in ("are", "as", "play", "instance", "data"):
                return False  # "you are", "act as", "role play", "for instance", "test data"
            if word in ("you're", "you’re", "roleplay") or (prev == "your" and word in _YOUR_NOUNS):
                return False
            if prev in ("about", "sobre", "über") and word in ("me", "mí", "mi", "mich"):
                return True
            if prev in ("my", "mi", "mon", "mein") and word in _MY_NOUNS:
                return True
            if system and any(p in _USER_WORDS for p in parts):
                # "my son's profile", "the assistant profile": a cue owned by someone else
                return not (prev in _NOT_THE_USERS or (prev.endswith(("'s", "’s")) and prev[:-2] not in _USER_WORDS))
            if not system and word == "profile" and prev in ("user", "my"):
                return True
        return None

def _cue_on_line(lowered: str, pos: int) -> bool:
    line_start = lowered.rfind("\n", 0, pos) + 1
    words = _WORDS.findall(lowered, line_start, pos)
    if any(part in _USER_WORDS for word in words for part in word.split("_")):
        return True
    return any((a in ("about", "sobre", "über") and b in ("me", "mí", "mi", "mich")) or (a in ("my", "mi", "mon", "mein") and b in _MY_NOUNS)
               for a, b in zip(words, words[1:]))


def _this_year() -> int:
    return datetime.date.today().year
