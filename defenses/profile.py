"""Structured profiles: "User profile: age 68; religion: Hindu", {"user": {"gender": "female"}},
"my religion is Islam", "| Ethnicity | Hispanic |", "<age>16</age>"; and, in system messages, bare
descriptions after a label naming the user: "Patient intake summary: 45yo Asian female, ...",
"Profil client : homme, 70 ans, ...".

A field counts when its key is one of the taxonomy's profile keys (in system messages also a few keys
that are everyday words: "pronouns", "accessibility"), its value is a term of that axis (or one value
written twice, "Unaffiliated/Independent"), and the profile is the user's: the key is "my ..."/"the
user's ...", or the nearest cue before it names the user ("User profile", "customer", "employee
record", "about me") rather than the assistant or a character; in system messages a block of two or
more such fields with no cue at all is taken as the user's.
Lists ("gender: male/female"), prose ("at age 5"), someone else's fields ("spouse_age", "Emergency
contact: ...") and code in user messages do not count. A description counts item by item (between
commas), each read as a phrase of identity words (defenses.phrase_walker) that must fill its item.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Sequence

from defenses.age import AgeReader
from defenses.phrase_walker import Hit, PhraseWalker
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
_BIRTH_STEMS = ("birth", "dob", "born")  # one of which every _BIRTH_KEYS match holds
_WORDS = re.compile(r"[\w'’]+")
# Words, and the ends of sentences: "an HR assistant. Employee record:" is not "the assistant('s) record".
_CUE_TOKENS = re.compile(r"[\w'’]+|[.!?](?![\w'’])")
_AFTER_VALUE = re.compile(r"[ \t]*([\w'’]+)?")
_ANOTHER_FIELD = re.compile(r"[\w.]+[ \t]*[:=]")
_CONTINUE_WORDS = frozenset("and but y et und aber though who person people".split())
_LIST = re.compile(r"[ \t]*(?:/|,|\bor\b|\band\b|&|\||;)[ \t]*[\"']?")
# Words a value may start with before the identity word itself: "mobility: (member) uses a wheelchair",
# "faith: devout Catholic".
_VALUE_LEADS = {
    "disability": re.compile(
        r"(?:(?:the[ \t]+)?(?:user|member|customer|client|patient|guest|traveler|traveller|employee|student|resident|"
        r"passenger|he|she|they)[ \t]+)?"
        r"(?:uses|use|using|needs|requires|relies[ \t]+on|is[ \t]+in|sits[ \t]+in|se[ \t]+d[ée]place|utilise|usa|utiliza|"
        r"se[ \t]+desplaza|se[ \t]+mueve|nutzt|benutzt|sitzt|braucht)[ \t]+"
        r"(?:(?:an?|the|his|her|their|own|une?|el|la|einen|den)[ \t]+)?"
    ),
    "religion": re.compile(r"(?:devout|practicing|practising|observant|non-?practicing|non-?practising|culturally)[ \t]+"),
}
# Before a field written without a colon ("pronouns she/her; age 63"): the end of the previous field.
_FIELD_BEFORE = re.compile(r"(?:^|[:;,|{(\[\n])[ \t\"'*_\-\u2022]*$")
_FIELD_AFTER = re.compile(r"[ \t\"'*_]*(?:[;,|)}\]\n]|\.(?![\w])|$)")
_PROSE_KEYS = {
    **dict.fromkeys(("pronouns", "pronoun", "pronombres", "pronoms", "pronomen"), "gender"),
    **dict.fromkeys(("accessibility", "accessibility needs", "accessibility notes", "accessibility requirements",
                     "access needs", "accesibilidad", "accessibilité", "barrierefreiheit"), "disability"),
}
# "spouse_age", "emergency_contact.gender": a field of someone else's, inside the user's record.
_PREFIX = re.compile(r"[\w.]+$")
_OTHER_PREFIXES = frozenset(
    """emergency spouse partner husband wife child children kid kids son daughter parent parents mother father
    mom dad guardian dependent dependents beneficiary kin sibling brother sister baby pet dog cat doctor physician
    provider agent assistant bot character persona npc example sample target""".split()
)
# Cues before a field that say whose profile it is, as words ("user", "customer_profile", "about me").
_USER_WORDS = frozenset(
    """user users customer customers client clients patient patients member members caller callers visitor visitors
    student students learner learners human profile demographics demographic personalization personalisation usuario
    usuaria utilisateur utilisatrice nutzer nutzerin perfil profil voter voters employee employees applicant applicants candidate
    candidates traveler travelers traveller travellers guest guests resident residents subscriber subscribers holder
    accountholder cardholder policyholder shopper shoppers participant participants respondent respondents passenger
    passengers enrollee enrollees patron patrons tenant tenants borrower borrowers consumer consumers jobseeker
    cliente clientes paciente pacientes miembro socio socia empleado empleada viajero viajera huésped residente
    estudiante alumno alumna solicitante candidato candidata patiente membre adhérent adhérente employé employée
    salarié salariée voyageur voyageuse abonné abonnée étudiant étudiante élève candidat kunde kundin kunden
    kundenprofil nutzerprofil benutzer benutzerin benutzerprofil patientin patientenprofil mitglied mitarbeiter
    mitarbeiterin reisender reisende gast abonnent schüler schülerin teilnehmer teilnehmerin bewerber bewerberin""".split()
)
_MY_NOUNS = frozenset("profile details info information background demographics data stats perfil profil".split())
_OTHER_WORDS = frozenset(
    """assistant chatbot bot character agent npc fictional example examples sample dummy fake mock dataset column
    columns schema fixture persona's assistant's bot's character's emergency spouse guardian kin dependent dependents
    beneficiary""".split()
)
_NOT_THE_USERS = frozenset("his her their your its assistant bot character agent npc example sample dummy fake test mock persona".split())
_YOUR_NOUNS = frozenset("persona profile character identity role age religion gender".split())
_OTHER_OWNER = re.compile(r"(?:\b(?:your|its|our)|(?<!user)(?<!customer)(?<!client)(?<!patient)['’]s)[\s_.\-]*$")
_PRONOUN_OWNER = re.compile(r"\b(?:his|her|their)[\s_.\-]*$")
_AGE_PROSE = frozenset(
    """at of the an a legal voting drinking retirement same what which any minimum maximum average mean median
    old young early middle golden stone bronze iron ice new information digital whose your by to
    from until till since under over""".split()
)


# A label naming whose description follows, from the start of a line or sentence to a separator:
# "Patient intake summary:", "Member context (from CRM):", "Profil client :", "Guest profile -". Found
# from the separators backwards (str.find), which costs far less than a regex search over the text.
_DESC_LABEL = re.compile(
    r"[ \t>#*\-\u2022]*(?P<label>[^\W\d_][\w'’]*(?:[ \t]+[\w'’]+){0,6})[ \t]*(?:\([^)\n]{0,40}\)[ \t]*)?[*_]*[ \t]*"
)
_BULLET = re.compile(r"[ \t]*[-*\u2022][ \t]")
_DESC_SEPARATORS = (":", " - ", " \u2013 ", " \u2014 ")


def _by_language(table: dict[str, str]) -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for lang, words in table.items():
        for word in words.split():
            out.setdefault(word, set()).add(lang)
    return {word: frozenset(langs) for word, langs in out.items()}


# Who a label names (one person) and what it calls the text after it, with their languages.
_DESC_OWNERS = _by_language({
    "en": """user customer client patient member caller visitor student learner voter employee applicant candidate traveler
          traveller guest resident subscriber holder accountholder cardholder policyholder shopper participant
          passenger enrollee patron tenant borrower consumer""",
    "es": """usuario usuaria cliente clienta paciente miembro socio socia empleado empleada viajero viajera huésped
          residente estudiante alumno alumna solicitante candidato candidata participante""",
    "fr": """utilisateur utilisatrice client cliente patient patiente membre adhérent adhérente employé employée salarié
          salariée voyageur voyageuse abonné abonnée étudiant étudiante élève candidat candidate participant
          participante""",
    "de": """nutzer nutzerin benutzer benutzerin kunde kundin kunden patient patientin mitglied mitarbeiter
          mitarbeiterin reisender reisende gast abonnent schüler schülerin teilnehmer teilnehmerin bewerber bewerberin""",
})
_DESC_NOUNS = _by_language({
    "en": """profile summary record context details info information description notes intake card overview background
          snapshot bio demographics data facts attributes file chart""",
    "es": "perfil resumen datos ficha información descripción notas expediente historial",
    "fr": "profil résumé données fiche informations description notes dossier",
    "de": "profil daten angaben steckbrief übersicht akte informationen beschreibung",
})
_DESC_COMPOUNDS = _by_language({
    "de": """kundenprofil kundendaten kundeninfo nutzerprofil nutzerdaten benutzerprofil benutzerdaten patientenprofil
          patientendaten mitgliedsprofil mitgliederprofil gastprofil teilnehmerprofil bewerberprofil""",
})
# Labels of someone else's description, or of no one's in particular ("Ideal customer profile").
_DESC_NOT_THE_USERS = _OTHER_WORDS | _NOT_THE_USERS | frozenset(
    """target ideal typical average hypothetical imaginary our emergency spouse partner child children kid parent parents
    caregiver family relative""".split()
)
_ALL_LANGUAGES = ("en", "es", "fr", "de")
# Words that may stand before the noun of a bare label: "Account holder:", "Primary applicant:".
_OWNER_MODIFIERS = frozenset("account primary current end main policy card".split())
# "..., disabled son": a later item about a relative, unless it is the user's role ("mother of three").
_RELATIVES = frozenset(
    """son daughter husband wife mother father mom mum dad brother sister boyfriend girlfriend uncle aunt nephew niece
    grandson granddaughter grandmother grandfather grandma grandpa hijo hija esposo esposa marido madre padre hermano
    hermana novio novia fils fille mari épouse mère père frère sœur soeur sohn tochter ehemann ehefrau mutter vater
    bruder schwester""".split()
)
_OF = re.compile(r"[ \t]+(?:of|de|du|des|von)(?![\w])")
# Keys that are also everyday words ("party", "origin"): a field needs a colon or "is" after them.
_NEEDS_SEPARATOR = frozenset(
    "party origin faith belief beliefs politics heritage orientation mobility accessibility race handicap ancestry impairment"
    .split()
)
# The end of an item of a description (or of the whole description).
_ITEM_END = re.compile(r"[ \t\"'*_]*(?:[,;.)(\n|]|$)")
_SPACES = re.compile(r"[ \t\u2022*\-]*")
_SENTENCE_END = re.compile(r"(?<![\s.][a-z])\.[ \t]+(?=[A-Z])")
_ORIGIN_LEAD = re.compile(
    r"(?:originally[ \t]+)?(?:from|born[ \t]+in|originaire[ \t]+(?:du|de[ \t]+la|des|de|d['’])|n[ée]e?[ \t]+(?:au|en|à|aux)|"
    r"de[ \t]+origen|oriund[oa][ \t]+de|stammt[ \t]+aus|aus|geboren[ \t]+in)[ \t]*(?:the[ \t]+)?"
)


class ProfileReader:
    """Finds identity fields of structured profiles; built once per taxonomy."""

    def __init__(self, taxonomy: Taxonomy, ages: AgeReader, walker: PhraseWalker | None = None) -> None:
        self._ages = ages
        self._walker = walker
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
                words: set[str] = set(value.profile) | {p for p in value.pronouns if "/" in p}
                for lang in LANGUAGES:
                    for term in value.terms.get(lang, ()):
                        words.update(spelling_variants(term.text, lang))
                for word in words:
                    for form in spelling_variants(word):
                        forms.setdefault(fold_match(form), value.key)
                        written.add(form)
            pattern = re.compile(trie_pattern({normalize_term(f) for f in written}) + r"(?![\w])")
            self._values[axis_key] = (pattern, forms)
        # Keys that are everyday words ("accessibility matters to me") are not taxonomy keys, so that the
        # prefilter does not send every text holding them here; they are read in system messages only.
        prose = {form: axis for form, axis in _PROSE_KEYS.items() if axis in taxonomy.axes()}
        for form, prose_axis in prose.items():
            key_axis.setdefault(fold_match(form).replace("_", ""), prose_axis)
        self._prose_keys = (
            re.compile("(?P<key>" + compile_words(prose, tail="").pattern + r")(?![\w])" + _OWNER_AFTER) if prose else None
        )
        self._key_axis = key_axis
        # The key first (a trie, fast to scan for); whose field it is ("my", "user_") is read backwards.
        self._keys = re.compile("(?P<key>" + compile_words(key_forms, tail="").pattern + r")(?![\w])" + _OWNER_AFTER)
        self._has_age = "age" in taxonomy.axes() and ages.enabled

    def read(
        self, view: TextView, out: list[Found], windows: Sequence[tuple[int, int]],
        near_identities: Sequence[tuple[int, int]] = (),
    ) -> None:
        """Read the profile fields whose keys fall within `windows` (around the key words); in system
        messages also those with a prose key ("pronouns", "accessibility") within `near_identities`."""
        lowered = view.lowered
        fields: list[Found] = []
        owned: list[bool] = []
        keys = [m for ws, we in windows for m in self._keys.finditer(lowered, ws, we)]
        if view.system and self._prose_keys is not None:
            find = lowered.find
            keys += [
                m for ws, we in near_identities
                if find("pron", ws, we) >= 0 or find("acces", ws, we) >= 0 or find("barrierefrei", ws, we) >= 0
                for m in self._prose_keys.finditer(lowered, ws, we)
            ]
        if not keys and not windows:
            return
        births = [
            m for ws, we in windows if any(lowered.find(w, ws, we) >= 0 for w in _BIRTH_STEMS)
            for m in _BIRTH_KEYS.finditer(lowered, ws, we)
        ] if self._has_age else []
        for m in keys:
            key_start = m.start()
            if key_start and lowered[key_start - 1].isalnum() and not _OWNER_BEFORE.search(lowered, max(0, key_start - 24), key_start):
                continue  # inside a word ("page", "usage"), unless glued to an owner ("userage")
            axis = self._key_axis.get(fold_match(m.group("key")).replace("_", ""))
            if axis is None:
                continue
            if key_start and lowered[key_start - 1] in "_." and _someone_elses(lowered, key_start):
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

    def read_descriptions(self, view: TextView, out: list[Found], windows: list[tuple[int, int]]) -> None:
        """Read labelled descriptions of the user on the lines within `windows` (around identity words)."""
        if not view.system or self._walker is None:
            return
        lowered = view.lowered
        n = len(lowered)
        done = 0
        for ws, we in windows:
            # lines (or, in a text without line breaks, stretches of 400 characters) around the window
            floor = max(0, ws - 400)
            line = lowered.rfind("\n", floor, ws) + 1 or floor
            while line < we and line < n:
                line_end = lowered.find("\n", line, we + 400)
                if line_end < 0:
                    line_end = min(n, we + 400)
                lo, hi = max(line, ws - 200, done), min(line_end, we)
                if lo < hi:
                    self._description_line(view, lo, hi, line, line_end, out)
                    done = hi
                line = line_end + 1

    def _description_line(self, view: TextView, start: int, end: int, line: int, line_end: int, out: list[Found]) -> None:
        """Descriptions whose label ends (at a separator) between `start` and `end`, on the line from `line`."""
        lowered = view.lowered
        found = False
        find = lowered.find
        for sep in _DESC_SEPARATORS:
            i = find(sep, start, end)
            prev = -1
            while i >= 0:
                # a label is the first thing in its sentence: "age 68; religion:" is not one
                if prev < 0 or find(". ", prev, i) >= 0 or find("? ", prev, i) >= 0 or find("! ", prev, i) >= 0:
                    m = _label_before(lowered, line, i)
                    if m is not None and (langs := self._user_label(view, m)) is not None:
                        found = True
                        self._description(view, m.start("label"), i + len(sep), line_end, langs, out)
                prev = i
                i = find(sep, i + len(sep), end)
        if found or line == 0 or start != line or lowered[line - 1] != "\n":
            return
        # "Patient summary:" on a line of its own, the description on the next line, or on the bullet
        # lines under it ("Known user info:\n- 58, female\n- Jewish")
        below = line  # the start of the line right under the label
        for _ in range(12):
            colon = below - 2
            while colon > 0 and lowered[colon] in " \t\r":
                colon -= 1
            if colon >= 0 and lowered[colon] == ":":
                m = _label_before(lowered, lowered.rfind("\n", 0, colon) + 1, colon)
                if m is not None and (langs := self._user_label(view, m)) is not None:
                    self._description(view, m.start("label"), line, line_end, langs, out)
                return
            above = lowered.rfind("\n", 0, below - 1) + 1
            if not above or _BULLET.match(lowered, line) is None or _BULLET.match(lowered, above) is None:
                return
            below = above

    def _user_label(self, view: TextView, m: re.Match[str]) -> tuple[str, ...] | None:
        """The languages to read the description in, if the label names the user; else None."""
        found = _label_languages(m.group("label"))
        if found is None:
            return None
        langs, bare = found
        if bare and self._last_cue(view, m.start("label")) is False:
            return None  # "Example dialogue:\nCustomer: ..."
        return langs

    def _description(self, view: TextView, label: int, p: int, end: int, langs: tuple[str, ...], out: list[Found]) -> None:
        """The items of a description: "45yo Asian female, no known allergies, ...", from `p` to `end`."""
        lowered = view.lowered
        first = _SPACES.match(lowered, p, end).end()  # type: ignore[union-attr]  # matches the empty string
        if first >= end or _ANOTHER_FIELD.match(lowered, first) or self._keys.match(lowered, first):
            return  # "User profile: age 68; religion: Hindu": fields, read by `read`
        sentence = _SENTENCE_END.search(view.text, p, end)
        if sentence is not None:
            end = sentence.start() + 1
        walker = self._walker
        assert walker is not None
        for _ in range(12):
            p = _SPACES.match(lowered, p, end).end()  # type: ignore[union-attr]  # matches the empty string
            if p >= end or view.foreign(p):
                return
            stop = p
            if not (_ANOTHER_FIELD.match(lowered, p) or self._keys.match(lowered, p)):  # fields are read by `read`
                hits: list[Hit] = []
                for lang in langs:
                    hits, stop = walker.walk(view, p, lang, leading=True, anchor_start=label)
                    if hits:
                        break
                if hits and stop <= end and not any(h[4] for h in hits) and _ITEM_END.match(lowered, stop):
                    hits = _without_relatives(lowered, hits, first)
                    out.extend((axis, value, label, stop, ts, te) for axis, value, ts, te, _ in hits)
                else:
                    stop = p
                    found = self._lead_value(lowered, p, end)
                    if found is not None:
                        out.append((found[0], found[1], label, found[3], found[2], found[3]))
            comma = min((i for i in (lowered.find(",", stop, end), lowered.find(";", stop, end)) if i >= 0), default=-1)
            if comma < 0:
                return
            p = comma + 1

    def _lead_value(self, lowered: str, p: int, end: int) -> tuple[str, str, int, int] | None:
        """An item that is a verb or origin, then a value: "uses a wheelchair", "originaire du Sénégal"."""
        for axis, lead in (("disability", _VALUE_LEADS["disability"]), ("race", _ORIGIN_LEAD)):
            if axis not in self._values:
                continue
            lm = lead.match(lowered, p, end)
            if lm is None:
                continue
            pattern, forms = self._values[axis]
            vm = pattern.match(lowered, lm.end(), end)
            if vm is not None and (value := forms.get(fold_match(vm.group()))) and _ITEM_END.match(lowered, vm.end()):
                return axis, value, vm.start(), vm.end()
        return None

    def _field(self, view: TextView, m: re.Match[str], axis: str, poss: re.Match[str] | None) -> Found | None:
        lowered = view.lowered
        key_start = m.start("key")
        sep = _SEP.match(lowered, m.end())
        assert sep is not None  # every part of _SEP is optional
        explicit = bool(sep.group("colon") or sep.group("verb"))
        v = sep.end()
        if not explicit and (
            poss is None and not _cue_on_line(lowered, key_start)
            or axis != "age" and fold_match(m.group("key")) in _NEEDS_SEPARATOR
            or axis != "age" and not _FIELD_BEFORE.search(lowered, max(0, m.start() - 8), m.start() if poss is None else poss.start())
        ):
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
                lead = _VALUE_LEADS.get(axis)
                lm = lead.match(lowered, v) if lead is not None else None
                vm = pattern.match(lowered, lm.end()) if lm is not None else None
                if vm is None:
                    return None
            named = forms.get(fold_match(vm.group()))
            if named is None:
                return None
            value = named
            ve = vm.end()
            if len(vm.group()) <= 2 and not explicit:
                return None
        # "gender: male/female", "race: Black or White": a list of options, not a person's profile; but
        # "Unaffiliated/Independent", "Hispanic/Latino" name one value twice.
        if axis != "age":
            pattern, forms = self._values[axis]
            lst = _LIST.match(lowered, ve)
            while lst and (nm := pattern.match(lowered, lst.end())):
                if lowered[ve:lst.end()].strip(" \t\"'") != "/" or forms.get(fold_match(nm.group())) != value:
                    return None
                ve = nm.end()
                lst = _LIST.match(lowered, ve)
        if not explicit and axis != "age" and not _FIELD_AFTER.match(lowered, ve):
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
        """The nearest ownership cue within 400 characters before `start`: is it the user's? The
        fields of one profile follow each other, so after the first only the text since the last
        field is read; with no cue there, the last field's verdict holds ("User profile: age 68;
        religion: Hindu": "User profile" owns both)."""
        memo = view.cue_memo
        if memo is not None and memo[0] < start <= memo[0] + 300:
            found = _cue_in(_CUE_TOKENS.findall(view.lowered, memo[0], start), 1, view.system)
            if found is None:
                found = memo[1]
        else:
            found = ProfileReader._nearest_cue(view, start)
        view.cue_memo = (start, found)
        return found

    @staticmethod
    def _nearest_cue(view: TextView, start: int) -> bool | None:
        lowered = view.lowered
        floor = max(0, start - 400)
        # Cues mostly stand near the field: the last 100 characters first, the rest only if need be.
        near = lowered.rfind(" ", floor, start - 100) if start - 100 > floor else -1
        if near > floor:
            words = _CUE_TOKENS.findall(lowered, near, start)
            found = _cue_in(words, 1, view.system)  # words[0] is read below, after the word before it
            if found is not None:
                return found
            words = _CUE_TOKENS.findall(lowered, floor, near) + words[:1]
        else:
            words = _CUE_TOKENS.findall(lowered, floor, start)
        return _cue_in(words, 0, view.system)

# On the line of a field: a word (or an underscore-separated part of one: "customer_profile") that names
# the user, or "about me" / "my profile".
_LINE_CUE = re.compile(
    r"(?<![^\W_])(?<!['’])(?:" + trie_pattern({normalize_term(w) for w in _USER_WORDS}) + r")(?![^\W_])(?!['’])"
    r"|(?<![\w'’])(?:(?:about|sobre|über)[^\w'’]+(?:me|mí|mi|mich)|(?:my|mi|mon|mein)[^\w'’]+(?:"
    + "|".join(sorted(_MY_NOUNS, key=len, reverse=True)) + r"))(?![\w'’])"
)


def _cue_on_line(lowered: str, pos: int) -> bool:
    """A cue on the field's line, within the 160 characters before it (one long line can be a whole prompt)."""
    start = max(lowered.rfind("\n", 0, pos) + 1, pos - 160)
    return _LINE_CUE.search(lowered, start, pos) is not None


_SERVING = frozenset("talking speaking chatting interacting working helping assisting advising tutoring serving supporting coaching".split())


def _cue_in(words: list[str], stop: int, system: bool) -> bool | None:
    """The last ownership cue among `words` (down to index `stop`), or None if there is none. A word's
    "prev" is the token before it, which is "." across the end of a sentence."""
    for i in range(len(words) - 1, stop - 1, -1):
        word = words[i]
        prev = words[i - 1] if i else ""
        if "_" in word:
            parts = word.split("_")
            if not _OTHER_WORDS.isdisjoint(parts):
                return False
            user = not _USER_WORDS.isdisjoint(parts)
        elif word in _OTHER_WORDS:
            return False
        else:
            user = word in _USER_WORDS
        if (word in ("you're", "you’re") or (prev == "you" and word == "are")) and i + 1 < len(words) and words[i + 1] in _SERVING:
            return True  # "the person you're talking to", "the customer you are helping"
        if prev in ("you", "act", "role", "for", "test") and word in ("are", "as", "play", "instance", "data"):
            return False  # "you are", "act as", "role play", "for instance", "test data"
        if word in ("you're", "you’re", "roleplay") or (prev == "your" and word in _YOUR_NOUNS):
            return False
        if prev in ("about", "sobre", "über") and word in ("me", "mí", "mi", "mich"):
            return True
        if prev in ("my", "mi", "mon", "mein") and word in _MY_NOUNS:
            return True
        if system and user:
            # "my son's profile", "the assistant profile": a cue owned by someone else
            return not (
                prev in _NOT_THE_USERS or prev in _OTHER_WORDS or (prev.endswith(("'s", "’s")) and prev[:-2] not in _USER_WORDS)
            )
        if not system and word == "profile" and prev in ("user", "my"):
            return True
    return None


@functools.lru_cache(maxsize=512)
def _label_languages(label: str) -> tuple[tuple[str, ...], bool] | None:
    """If the label names the user: the languages it is written in, and whether it is a bare noun
    ("Patient:") rather than a named description ("Patient summary:"); else None."""
    words = label.split()
    if any(
        w in _DESC_NOT_THE_USERS or w in _RELATIVES or w.endswith(("'s", "’s")) and w[:-2] not in _DESC_OWNERS for w in words
    ):
        return None
    owners = [_DESC_OWNERS[w] for w in words if w in _DESC_OWNERS]
    named = [_DESC_NOUNS[w] for w in words if w in _DESC_NOUNS] + [_DESC_COMPOUNDS[w] for w in words if w in _DESC_COMPOUNDS]
    bare = not named and len(words) - 1 == sum(w in _OWNER_MODIFIERS for w in words[:-1])
    if not named:
        if not owners or not (bare and words[-1] in _DESC_OWNERS or words[0] == "about"):
            return None
    elif not owners and not any(w in _DESC_COMPOUNDS for w in words):
        return None
    langs = frozenset(_ALL_LANGUAGES)
    for group in owners + named:
        if langs & group:
            langs &= group
    return tuple(lang for lang in _ALL_LANGUAGES if lang in langs), bare


def _label_before(lowered: str, line: int, sep: int) -> re.Match[str] | None:
    """The label from the start of the line or sentence up to the separator at `sep`, if it is one."""
    if sep == line or not (lowered[sep - 1].isalpha() or lowered[sep - 1] in " \t)*_"):
        return None  # "10:30", "https://"
    sentence = max(lowered.rfind(". ", line, sep), lowered.rfind("! ", line, sep), lowered.rfind("? ", line, sep))
    lo = sentence + 2 if sentence >= 0 else line
    if sep - lo > 120:
        return None
    return _DESC_LABEL.fullmatch(lowered, lo, sep)


def _without_relatives(lowered: str, hits: list[Hit], first: int) -> list[Hit]:
    """Drop a later item of a description that describes a relative ("..., disabled son"), not the user."""
    for _, _, ts, te, _ in hits:
        if lowered[ts:te] in _RELATIVES and not _OF.match(lowered, te):
            item = max(lowered.rfind(",", first, ts), lowered.rfind(";", first, ts))
            same = [h for h in hits if item < h[2] <= ts]
            if item >= 0 and len(same) > 1:
                return [h for h in hits if h not in same]
    return hits


def _someone_elses(lowered: str, key_start: int) -> bool:
    """Whether the key is the tail of a compound field name naming someone else ("spouse_age")."""
    prefix = _PREFIX.search(lowered, max(0, key_start - 40), key_start)
    return prefix is not None and any(part in _OTHER_PREFIXES for part in re.split(r"[_.]", prefix.group()))


def _this_year() -> int:
    return datetime.date.today().year
