"""Self-descriptions in running text: "I am a Muslim person", "As a 72-year-old retiree", "I'm not a
Republican", "The user is a Black woman from Atlanta", "I use a wheelchair", "Soy musulmana".

How it reads: a trie regex of anchor start words finds where a statement about the user can start
("I am", "as a", "the user is", "soy", "je suis", "ich bin", "I use ...", "my pronouns are"), within
the windows the prefilter found; per start word a few anchor patterns are tried. Each anchor has a
handler that checks the context (defenses.context: is it the speaker's own, real statement?) and
reads the phrase after it (defenses.phrase_walker), or matches a taxonomy statement ("I use a
wheelchair"). A term counts only when the phrase describes the speaker: not negated ("I'm not ..."),
not naming something else ("a Christian rock fan", "a senior developer", "black and blue", "a man of
my word", "Christian Bale"), not hypothetical ("if I were ..."), not someone else's words
(quotations, code, text to translate, "my mom thinks I'm ..."). Languages: en, es, fr, de.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet

from defenses.age import AgeReader
from defenses.age_statements import FIGURES_OF_SPEECH, AgeStatements
from defenses.context import (
    DISCOURSE, FIRST_PERSON_SUBJECTS, PAST, PAST_MAIN, PERSONAL, WORD, as_after_first_person, bounds,
    main_subject_is_you, own_words, sentence_initial,
)
from defenses.lexicon import LEXICONS
from defenses.phrase_walker import CLAUSE_STARTERS, Hit, PhraseWalker, skip_spaces
from defenses.phrases import expansions, lead_words, perfect_forms, phrase_regex, statement_index, third_person
from defenses.taxonomy import LANGUAGES, Taxonomy
from defenses.textview import TextView
from defenses.wordlist_regex import compile_words, fold_match

# (axis, value, statement start, statement end, term start, term end)
Found = tuple[str, str, int, int, int, int]
# per start word as written: its guard, then (handler, language, anchor pattern) in priority order
_Route = tuple[Callable[..., bool] | None, tuple[tuple[Callable[..., None], str, re.Pattern[str]], ...]]


_HERE = re.compile(r"here(?![\w'’])")
_OWNED_LABELS = frozenset("persona info details background summary description notes note context facts record attributes".split())
_LABELS = ("profile", "bio", "description", "background", "summary", "persona", "info", "details", "notes", "note",
           "context", "facts", "record", "attributes")
# Two patterns, each opening with a character class, which the regex engine skips to quickly ("25F", "M, 34").
_COMPACT_END = r"(?![\w'’])(?=[ \t]*(?:[,:;)]|\.(?:\s|$)|[\u2014\u2013-]\s))"
_COMPACT_INTROS = (
    re.compile(r"(?P<age>\d{2}) ?(?P<sex>[mf])" + _COMPACT_END),
    re.compile(r"(?P<sex2>[mf]) ?[,/]? ?(?P<age2>\d{2})" + _COMPACT_END),
)
_DIGIT_RUNS = re.compile(r"\d{2,}")
_GENERIC_HEADS = re.compile(r"[ \t]+(?:person|individual|voter|citizen|human being|human)(?![\w])")
_DETERMINER_BEFORE = re.compile(r"(?:^|(?<=[\s(\"'“]))(?:an?|the|un|una|une|ein|eine|einer)[ \t]+$")
_PLACE = re.compile(r"[ \t]+(?:from|in|living in|based in|who lives in|de|aus)[ \t]+[A-Z][\w'’-]*(?:[ \t]+[A-Z][\w'’-]*){0,3}")
# The speaker as the main clause's subject after a fronted description; without the comma only "I"/"we"
# ("Being Muslim I can't ...").
_FIRST_MAIN = re.compile(
    r"[ \t]*(?:,[ \t]*(?P<subject>i|i['’]m|i['’]ve|my|me|we)(?![\w])"
    r"|[ \t]+(?P<bare>i|i['’]m|i['’]ve|i['’]d|we)(?![\w'’])(?![ \t]+(?:guess|think|mean|feel|believe|suppose|know|heard|read|hear)(?![\w])))"
)
_PLACE_TAIL = re.compile(
    r"[ \t]+(?:in|at|from|on|with|for|since|during|near|across|around|living|working|raised|born)(?![\w'’])"
    r"(?:(?![ \t](?:is|are|was|were|has|have|had|can|could|will|would|makes?|feels?|means?|sucks?)(?![\w'’]))[^,.;:!?\n]){0,60}(?=,)"
)
_USER_COPULA = re.compile(
    r"\s*(?:['’]s|is|has\s+been|identifies\s+(?:(?:him|her|them)sel(?:f|ves)\s+)?as|self[\s-]?identifies\s+as|"
    r"describes\s+(?:him|her|them)sel(?:f|ves)\s+as|considers\s+(?:him|her|them)sel(?:f|ves)(?:\s+to\s+be)?|"
    r"happens\s+to\s+be|,(?=\s*(?:an?|the)\s)|:|es|se\s+identifica\s+como|est|s['’]identifie\s+comme|ist|"
    r"identifiziert\s+sich\s+als)(?:\s+(?:also|currently|now|actually|really))?(?![\w'’])"
)
_PRONOUN_COPULA = re.compile(r"\s*(?:['’]s|['’]re|is|are|identif(?:y|ies)\s+as)(?:\s+(?:also|currently|now|actually))?(?![\w'’])")
_USER_CUE = re.compile(r"\b(?:the\s+user|user|customer|client|patient|student|learner|caller|member|person\s+you)\b")
_QUANTIFIERS = frozenset("every each any no some another other all most many few which whichever".split())
_STATEMENT_ADVERBS = r"(?:(?:also|still|now|currently|actually|really|do|always|usually|just|personally|regularly|often|mostly|proudly|even|sometimes|normally|typically|generally)\s+){0,2}"
_THIRD_ADVERBS = r"(?:(?:also|still|now|currently|actually|really|does|always|usually|regularly|often|mostly)\s+){0,2}"


class StatementReader:
    """Finds self-descriptions in text; built once per taxonomy, everything compiled up front."""

    def __init__(self, taxonomy: Taxonomy, ages: AgeReader, walker: PhraseWalker) -> None:
        self._ages = ages
        self._walker = walker
        # one-word profile keys ("age", "religion"): after "User profile:" they start fields, which the
        # profile reader reads
        self._field_keys = frozenset(
            key.lower() for axis in taxonomy.axes() for keys in taxonomy.axis(axis).keys.values() for key in keys if " " not in key
        )
        self._statement_values: dict[str, list[tuple[re.Pattern[str], str, str]]] = {}
        self._third_values: list[tuple[re.Pattern[str], str, str]] = []
        pronouns: dict[str, tuple[str, str]] = {}
        statement_sources: dict[str, list[str]] = {lang: [] for lang in LANGUAGES}
        statement_firsts: dict[str, set[str]] = {lang: set() for lang in LANGUAGES}
        am_sources: list[str] = []
        third_sources: list[str] = []
        perfect_sources: list[str] = []
        for value in taxonomy.all_values():
            for lang in LANGUAGES:
                for phrase in value.statements.get(lang, ()):
                    am = lang == "en" and phrase.lower().startswith("am ")
                    source = phrase_regex(phrase[3:] if am else phrase)
                    self._statement_values.setdefault(lang, []).append((re.compile(source + r"(?![\w])"), value.axis, value.key))
                    (am_sources if am else statement_sources[lang]).append(source)
                    statement_firsts[lang].update(lead_words(e) for e in expansions(phrase))
                    if lang != "en":
                        continue
                    third = phrase_regex(third_person(phrase))
                    third_sources.append(third)
                    self._third_values.append((re.compile(third + r"(?![\w])"), value.axis, value.key))
                    if not am:
                        for perfect in perfect_forms(phrase):
                            source = phrase_regex(perfect)
                            self._statement_values[lang].append((re.compile(source + r"(?![\w])"), value.axis, value.key))
                            perfect_sources.append(source)
            for pronoun_set in value.pronouns:
                pronouns[_fold_pronouns(pronoun_set)] = (value.axis, value.key)
        self._pronouns = pronouns
        pronoun_alt = "|".join(
            sorted((r"\s*/\s*".join(re.escape(p) for p in key.split("/")) for key in pronouns), key=len, reverse=True)
        ) or "(?!)"
        self._pronoun_set = re.compile(rf"(?P<set>{pronoun_alt})(?![\w/])")
        self._statement_index = {lang: statement_index(entries) for lang, entries in self._statement_values.items()}
        self._third_index = statement_index(self._third_values)
        # (language, statement as written) -> (axis, value, offset of its words) or (): statements repeat
        # ("i use a wheelchair"), and finding which value's statement matched tries them all
        self._which_memo: dict[tuple[str, str], tuple[str, str, int] | tuple[()]] = {}
        statement_sources["en_perfect"] = perfect_sources
        self._routes: dict[str, _Route] = {}
        self._age_statements = AgeStatements(ages, walker)
        self._age_guards = self._age_statements.guards()
        self._starts, self._dispatch = self._compile_anchors(statement_sources, am_sources, third_sources, pronoun_alt, statement_firsts)

    def _compile_anchors(
        self, statements: dict[str, list[str]], am: list[str], third: list[str], pronoun_alt: str,
        statement_firsts: dict[str, set[str]],
    ) -> tuple[re.Pattern[str], dict[str, tuple[tuple[str, str, re.Pattern[str]], ...]]]:
        """A trie regex of the words an anchor can start with, and per start word the anchor
        patterns to try there, in priority order. Trying a handful of small patterns at the few
        places a start word occurs is much cheaper than one alternation of them all at every position."""
        def alt(sources: list[str]) -> str:
            return "(?:" + "|".join(sources) + ")" if sources else "(?!)"

        subjects = r"(?:user|customer|client|patient|student|learner|caller|member|visitor|human|person)"
        subject_words = "user customer client patient student learner caller member visitor human person".split()
        es_firsts = {"yo", "también", "ya"} | statement_firsts["es"]
        en_firsts = statement_firsts["en"]
        dets = ("the", "this", "our", "your")
        subject_phrases = {f"{d} {m}{w}" for d in dets for m in ("", "current ", "end ") for w in subject_words}
        parts: list[tuple[str, str, str, AbstractSet[str]]] = [
            ("stmt", "en", rf"i\s+{_STATEMENT_ADVERBS}{alt(statements['en'])}(?![\w])", {f"i {w}" for w in en_firsts | _ADVERB_WORDS}),
            ("stmt", "en", rf"i\s*(?:['’]\s*m|\s+am)\s+{_STATEMENT_ADVERBS}{alt(am)}(?![\w])", _I_AM),
            ("stmt", "en", rf"we\s+{_STATEMENT_ADVERBS}{alt(statements['en'])}(?![\w])", {f"we {w}" for w in en_firsts | _ADVERB_WORDS}),
            ("stmt", "en", rf"i\s*(?:['’]\s*ve|\s+have)\s+(?:(?:always|long|also|now|recently|just|since)\s+)?{alt(statements['en_perfect'])}(?![\w])", {"i've", "i’ve", "i have", "ive"}),
            ("stmtand", "en", rf"and\s+{_STATEMENT_ADVERBS}{alt(statements['en'])}(?![\w])", {f"and {w}" for w in en_firsts | _ADVERB_WORDS}),
            ("stmt3", "en", rf"(?:(?:the|this|our|your)\s+(?:current\s+|end\s+)?{subjects}|(?:someone|somebody|a\s+person|anyone)\s+who)\s+{_THIRD_ADVERBS}{alt(third)}(?![\w])",
             subject_phrases | {"someone who", "somebody who", "a person who", "anyone who"}),
            ("pro", "en", rf"(?:(?:my|(?:the\s+)?user['’]?s?)\s+(?:preferred\s+)?pronouns\s*(?:are|is|[:=\-])|pronouns\s*[:=]|i\s+(?:use|go\s+by|prefer)(?=\s+[a-z]+\s*/))\s*[\"'(]?\s*(?:{pronoun_alt})(?![\w/])",
             {"my pronouns", "my preferred", "the user's", "the user’s", "the users", "user's", "user’s", "users", "pronouns", "i use", "i go", "i prefer"}),
            ("pro3", "en", rf"(?:(?:his|her|their)\s+(?:preferred\s+)?pronouns\s*(?:are|is|[:=\-])|(?:uses|goes\s+by|prefers)(?=\s+[a-z]+\s*/))\s*[\"'(]?\s*(?:{pronoun_alt})(?![\w/])",
             {"his pronouns", "her pronouns", "their pronouns", "his preferred", "her preferred", "their preferred", "uses", "goes by", "prefers"}),
            ("userverb", "en", r"(?:self[\s-]?)?identifies\s+(?:(?:him|her|them)sel(?:f|ves)\s+)?as(?![\w])|describes\s+(?:him|her|them)sel(?:f|ves)\s+as(?![\w])",
             {"self", "identifies", "describes"}),
            ("pro", "es", rf"mis\s+pronombres\s+son\s*(?:{pronoun_alt})(?![\w/])", {"mis pronombres"}),
            ("pro", "fr", rf"mes\s+pronoms\s+sont\s*(?:{pronoun_alt})(?![\w/])", {"mes pronoms"}),
            ("pro", "de", rf"meine\s+pronomen\s+sind\s*(?:{pronoun_alt})(?![\w/])", {"meine pronomen"}),
            ("rd", "en", r"(?:i|me|i\s*['’]\s*m|i\s+am|im)\s*[(\[]\s*(?:\d{1,2}\s*(?:[mf]|nb|ftm|mtf)?|(?:[mf]|nb)\s*\d{1,2})\s*[)\]]", {"i", "me"} | _I_AM),
            ("aside", "en", r"(?:i|me)\s*\((?=[ \t]*[a-z])", {"i", "me"}),  # "so i (straight woman, fwiw) keep ..."
            *self._age_statements.anchors(),  # "I just turned 65", "Born in '88", "At 23, I ...", "in my 30s"
            ("stmt", "es", rf"(?:yo\s+)?(?:también\s+|ya\s+)?{alt(statements['es'])}(?![\w])", es_firsts),
            ("stmt", "fr", rf"(?:je\s+|j['’]\s*){alt(statements['fr'])}(?![\w])", {"je", "j"}),
            ("stmt", "de", rf"ich\s+(?:auch\s+)?{alt(statements['de'])}(?![\w])", {"ich"}),
            ("self", "en", r"i\s*(?:['’]\s*m|\s+am|am)(?![\w'’])|im(?=[ \t])|i\s*(?:['’]\s*ve|\s+have)\s+(?:always\s+|long\s+|now\s+)?been(?![\w])"
                           r"|i\s+(?:(?:also|personally|now|still|strongly|proudly|openly|mostly|would|['’]d|might|do)\s+)?(?:self[\s-]?)?identify\s+(?:myself\s+)?as(?![\w])"
                           r"|i\s+(?:(?:would|['’]d|might|also|personally)\s+)?(?:consider|call|describe|define|see|regard|count)\s+myself(?:\s+(?:to\s+be|as))?(?![\w])"
                           r"|i\s+came\s+out\s+as(?![\w])|i\s+(?:also\s+)?happen\s+to\s+be(?![\w])|i\s+live\s+as(?![\w])|i\s*,(?=\s*(?:an?)\s)",
             _I_AM | {"i've", "i’ve", "i have", "ive", "i", *[f"i {w}" for w in "also personally now still strongly proudly openly mostly would might do self identify consider call describe define see regard count came happen live".split()], "i'd", "i’d"}),
            ("being", "en", r"being(?=\s)", {"being"}),
            ("as", "en", r"as(?=\s)", {"as"}),
            ("we", "en", r"(?:we\s*(?:['’]\s*re|\s+are)|and\s+i\s+are|me\s+and\s+(?:my|our)\s+[\w'’]+\s+are)(?![\w'’])", {"we", "and i are", "me"}),
            ("we", "en", r"my\s+fellow(?=\s)|us(?=[ \t]+(?!all\b|both\b|two\b|three\b)[\w-]+)", {"my fellow", "us"}),
            ("from", "en", r"from\s+(?=an?\s)", {"from"}),
            ("mylabel", "en", r"(?:about\s+me|me|my\s+(?:details|info|background|profile|bio|stats|demographics))\s*:", {"about me", "me", *[f"my {w}" for w in "details info background profile bio stats demographics".split()]}),
            ("you", "en", r"you\s*(?:['’]\s*re|\s+are|['’]\s*ll\s+be|\s+will\s+be)\s+(?:now\s+)?(?:talking|speaking|chatting|interacting|working)\s+(?:to|with)(?![\w])"
                          r"|you\s*(?:['’]\s*re|\s+are|['’]\s*ll\s+be|\s+will\s+be)\s+(?:now\s+)?(?:helping|assisting|advising|tutoring|serving|supporting|coaching|counseling|counselling|mentoring)(?![\w])",
             {"you are", "you're", "you’re", "you'll be", "you’ll be", "you will be", "youre"}),
            ("user", "en", rf"(?:(?:the|this|our|your|current)\s+)?(?:current\s+|end\s+|human\s+)?(?:{subjects}(?!\s+(?:you|who))|(?:person|{subjects}|child|kid)\s+you\s*(?:['’]re|\s+are|\s+will\s+be|['’]ll\s+be)\s+(?:(?:talking|speaking|chatting|working|interacting)\s+(?:to|with)|helping|assisting|tutoring|teaching|serving|supporting|coaching|advising|mentoring))(?=\s*(?:,|:|['’]s\s|\s+(?:is|identifies|describes|self-identifies|self\s+identifies|considers|happens|has\s+been)(?![\w])))",
             subject_phrases | {"current user", "end user", "human user", *subject_words, "the person you", "the person you're", "the person you’re"}),
            ("label", "en", rf"(?:(?:user|customer|client|patient|member|student|caller)(?:['’]s)?\s+)?(?:{'|'.join(_LABELS)})\s*:",
             {f"{owner}{label}:" for owner in ("", "user ", "user's ", "customer ", "client ", "patient ", "member ", "student ", "caller ")
              for label in _LABELS}),
            ("pron", "en", r"(?:she|he|they)(?=\s*(?:['’]s|['’]re|\s+is|\s+are|\s+identify|\s+identifies)(?![\w]))",
             {"she is", "she's", "she’s", "he is", "he's", "he’s", "they are", "they're", "they’re", "she identifies", "he identifies", "they identify"}),
            ("self", "es", r"(?:yo\s+)?(?:(?:no|ya\s+no|nunca\s+he\s+sido|jamás\s+he\s+sido)\s+)?(?:también\s+)?(?:soy|estoy)(?![\w])|me\s+(?:identifico|considero|defino|declaro)(?:\s+como)?(?![\w])",
             {"yo", "no soy", "no estoy", "ya no", "nunca he", "jamás he", "también", "soy", "estoy", "me identifico", "me considero", "me defino", "me declaro"}),
            ("as", "es", r"(?:como|siendo)(?=\s)", {"como", "siendo"}),
            ("user", "es", r"(?:el|la)\s+(?:usuario|usuaria|cliente|paciente|estudiante)(?=\s+(?:es|se\s+identifica)(?![\w]))",
             {f"{d} {w}" for d in ("el", "la") for w in ("usuario", "usuaria", "cliente", "paciente", "estudiante")}),
            ("self", "fr", r"(?:je\s+(?:ne\s+|n['’]\s*)?suis|j['’]\s*suis)(?![\w])|je\s+me\s+(?:considère|définis|décris)(?:\s+comme)?(?![\w])|je\s+m['’]identifie(?:\s+comme)?(?![\w])", {"je", "j"}),
            ("as", "fr", r"en\s+tant\s+qu(?:e(?=\s)|['’])|(?:comme|étant)(?=\s)", {"en tant", "comme", "étant"}),
            ("user", "fr", r"l['’]utilisat(?:eur|rice)(?=\s+(?:est|s['’]identifie)(?![\w]))", {"l'utilisateur", "l'utilisatrice", "l’utilisateur", "l’utilisatrice"}),
            ("self", "de", r"ich\s+bin(?![\w])|ich\s+(?:identifiziere|bezeichne|betrachte|sehe)\s+mich\s+(?:selbst\s+)?als(?![\w])", {"ich"}),
            ("as", "de", r"als(?=\s)", {"als"}),
            ("user", "de", r"(?:der|die)\s+(?:nutzer|nutzerin|benutzer|benutzerin|kunde|kundin|patient|patientin)(?=\s+(?:ist|identifiziert)(?![\w]))",
             {f"{d} {w}" for d in ("der", "die") for w in ("nutzer", "nutzerin", "benutzer", "benutzerin", "kunde", "kundin", "patient", "patientin")}),
        ]
        dispatch: dict[str, list[tuple[str, str, re.Pattern[str]]]] = {}
        written: set[str] = set()
        for kind, lang, source, firsts in parts:
            compiled = re.compile(source)
            for phrase in firsts:
                written.add(phrase)
                entries = dispatch.setdefault(fold_match(phrase), [])
                if (kind, lang, compiled) not in entries:
                    entries.append((kind, lang, compiled))
        # The lookbehind drops starts inside words ("what", "chat") in the regex engine, which is
        # cheaper than yielding them as matches to skip.
        starts = re.compile(r"(?<![\w'’])(?:" + compile_words(written, tail=r"(?![\w])").pattern + ")")
        return starts, {key: tuple(entries) for key, entries in dispatch.items()}

    # --- reading ----------------------------------------------------------------------------------

    def read(self, view: TextView, out: list[Found], windows: list[tuple[int, int]]) -> None:
        """Read the statements that start within `windows` (the stretches of text around identity words)."""
        for ws, we in windows:
            self._read_window(view, out, ws, we)

    def _read_window(self, view: TextView, out: list[Found], ws: int, we: int) -> None:
        lowered = view.lowered
        routes = self._routes
        after = view.read_up_to
        for start in self._starts.finditer(lowered, ws, we):
            pos = start.start()
            if pos < after:
                continue
            raw = start.group()
            route = routes.get(raw)
            if route is None:
                route = self._route(raw)
            guard, entries = route
            if guard is not None and not guard(self, lowered, start.end()):
                continue
            for handler, lang, regex in entries:
                m = regex.match(lowered, pos)
                if m is not None:
                    handler(self, view, m, lang, out)
                    after = view.read_up_to = m.end()
                    break
        if lowered.find("here", ws, we) >= 0:
            self._read_here(view, out, ws, we)
        if lowered.find(",", ws, we) >= 0:
            self._read_apposition(view, out, ws, we)
        runs = [r.span() for r in _DIGIT_RUNS.finditer(lowered, ws, we)]
        if not runs:
            return  # the forms below all need a number of two digits or more; most windows have none
        for a, b in runs:
            if b - a == 2:  # the forum form: "25F", "M, 34"; its letter is at most four characters before the age
                self._compact_intro_at(view, a, ws, we, out)
        self._read_opening_age(view, out, ws, we)
        if not ws:
            self._age_statements.read_number_openings(view, out)  # "34, single", "45yo Asian female, ..."

    def _route(self, raw: str) -> _Route:
        """The guard and the (handler, language, pattern) list for a start word as written."""
        key = _fold_start(raw)
        route = (_GUARDS.get(key) or self._age_guards.get(key), tuple((_HANDLERS[kind], lang, regex) for kind, lang, regex in self._dispatch[key]))
        if len(self._routes) < 4096:  # spellings as written ("i  am", "I'M"): bounded
            self._routes[raw] = route
        return route

    def _compact_intro_at(self, view: TextView, a: int, ws: int, we: int, out: list[Found]) -> None:
        """The forum form around the two-digit number at `a`, if it is one."""
        lowered = view.lowered
        age_first, sex_first = _COMPACT_INTROS
        for start in (a, a - 4, a - 3, a - 2, a - 1):
            if start < ws or (start != a and lowered[start] not in "mf"):
                continue
            if start and (lowered[start - 1].isalnum() or lowered[start - 1] in "_(["):
                continue
            m = (age_first if start == a else sex_first).match(lowered, start, we)
            if m is not None:
                self._on_compact_intro(view, m, out)
                if start != a:
                    return

    def _on_compact_intro(self, view: TextView, m: re.Match[str], out: list[Found]) -> None:
        """"25F, just moved to a new city", "M, 34, looking for ...": the forum form opening a sentence."""
        a = m.start()
        if not sentence_initial(view, a) or not own_words(view, a, "en"):
            return
        age, sex = ("age", "sex") if "age" in m.re.groupindex else ("age2", "sex2")
        value = self._ages.value_for(int(m.group(age)))
        gender = self._walker.gender_letters.get(m.group(sex))
        if value:
            out.append(("age", value, a, m.end(), m.start(age), m.end(age)))
        if gender:
            out.append((gender[0], gender[1], a, m.end(), m.start(sex), m.end(sex)))

    def _read_apposition(self, view: TextView, out: list[Found], ws: int, we: int) -> None:
        """"Lifelong Republican, but I'm not happy with the party", "Muslim convert, I've been ...": a
        bare description opening the sentence, set off by a comma before the speaker's own clause."""
        lowered = view.lowered
        for m in _APPOSITION.finditer(lowered, ws, we):
            comma = m.start()
            sent_start, _, _ = bounds(lowered, comma)
            start = sent_start
            while (w := WORD.match(lowered, skip_spaces(lowered, start))) and w.group() in DISCOURSE and w.end() < comma:
                start = w.end()
                while start < comma and lowered[start] in " ,\t":
                    start += 1
            start = skip_spaces(lowered, start)
            if start >= comma or comma - start > 60 or self._starts.match(lowered, start):
                continue  # a sentence opening with "As a ...", "I'm ...": its anchor has been read
            first = WORD.match(lowered, start)
            if first is None or first.group() in _NOT_A_DESCRIPTION:
                continue  # "For context, I am ...", "Thanks, I ...": no description opens the sentence
            if not own_words(view, start, "en"):
                continue
            hits, end = self._walker.walk(view, start, "en", leading=True, anchor_start=start, strict=True)
            if hits and not lowered[end:comma].strip():
                if all(h[0] == "gender" for h in hits) and WORD.fullmatch(lowered, start, comma):
                    continue  # "Sister, I'm stressed", "Man, I'm tired": someone addressed or an exclamation
                if PAST_MAIN.match(lowered, comma):
                    hits = [h for h in hits if h[0] != "age"]  # "Back in my 20s, I was a runner": no longer true
                self._emit(view, hits, start, end, out)

    def _read_opening_age(self, view: TextView, out: list[Found], ws: int, we: int) -> None:
        """"straight guy, 35, recently divorced.", "Black woman, 29, new to Atlanta": a description
        opening a message or a line, then the speaker's age set off by commas."""
        lowered = view.lowered
        for m in _COMMA_NUMBER.finditer(lowered, ws, we):
            comma = m.start()
            start = skip_spaces(lowered, lowered.rfind("\n", 0, comma) + 1)
            if comma - start > 50 or not lowered[start:start + 1].isalpha() or "," in lowered[start:comma]:
                continue
            if self._starts.match(lowered, start) or not own_words(view, start, "en"):
                continue
            hits, end = self._walker.walk(view, start, "en", leading=True, anchor_start=start, strict=True)
            if not hits:
                continue
            if any(h[0] == "age" for h in hits):  # the walk read on past the comma: "Black woman, 29"
                if end < comma or _AFTER_OPENING.match(lowered, end) is None:
                    continue
            else:
                age = _OPENING_AGE.match(lowered, end)
                value = self._ages.value_for(int(age.group("n"))) if age is not None and end <= comma else None
                if age is None or value is None:
                    continue
                hits = [*hits, ("age", value, age.start("age"), age.end("age"), False)]
                end = age.end("age")
            self._emit(view, hits, start, end, out)

    def _read_here(self, view: TextView, out: list[Found], ws: int, we: int) -> None:
        """"Lifelong atheist here.", "Trans woman here, 31", "48M here": the forum self-introduction,
        a phrase at the start of a sentence followed by "here"."""
        lowered = view.lowered
        for m in _HERE.finditer(lowered, ws, we):
            if m.start() and (lowered[m.start() - 1].isalnum() or lowered[m.start() - 1] in "_'’"):
                continue  # "there", "where"
            sent_start, _, _ = bounds(lowered, m.start())
            start = sent_start
            while (w := WORD.match(lowered, skip_spaces(lowered, start))) and w.group() in DISCOURSE and w.end() < m.start():
                start = w.end()
                while start < m.start() and lowered[start] in " ,\t":
                    start += 1
            start = skip_spaces(lowered, start)
            if start >= m.start() or not own_words(view, start, "en"):
                continue
            hits, end = self._walker.walk(view, start, "en", leading=True, anchor_start=start, strict=True)
            place = _PLACE.match(view.text, end)
            if place and place.end() <= m.start():
                end = place.end()  # "Black Democrat from Georgia here"
            if not hits:
                continue
            rest = lowered[end:m.start()].strip(" ,")
            if rest and not (hits[-1][0] != "age" and _KIN_OF.fullmatch(rest)) and not _ASIDE.fullmatch(rest):
                continue  # but "nonbinary (they/them) here", "Muslim mom of three here"
            end = m.end()
            after = _HERE_AFTER.match(lowered, end)
            if after:
                more, more_end = self._walker.walk(view, after.end(), "en", leading=True, anchor_start=start)
                if more and all(h[0] == "age" or h[2] < more_end for h in more):
                    hits += more
                    end = more_end
            self._emit(view, hits, start, end, out)

    # Each handler checks the context of its anchor, then reads what follows.

    def _on_self(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        anchor = m.group()
        negated = (lang == "es" and _ES_NEGATED.match(anchor) is not None) or (lang == "fr" and _FR_NEGATED.search(anchor) is not None)
        leading = _NOT_LEADING.search(anchor) is None
        # The phrase first: most "I'm ..." are "I'm trying", "I'm not sure", and end here cheaply.
        hits, end = self._walker.walk(view, m.end(), lang, leading=leading, negated=negated, anchor_start=a)
        if lang == "en" and not negated and (age := _APPOSITIVE_AGE.match(view.lowered, m.end())) is not None:
            # "I'm a minor league umpire, 41, and ...": the age set off by commas after the description
            value = self._ages.value_for(int(age.group("n")))
            if value and not any(h[0] == "age" for h in hits):
                hits = [*hits, ("age", value, age.start("age"), age.end("age"), False)]
                end = max(end, age.end("age"))
        if not hits or not own_words(view, a, lang):
            return
        if (more := _AND_SELF[lang].match(view.lowered, end)) is not None:
            # "I'm a pastor's wife and have been Baptist my whole life": the same speaker, a second description
            extra, extra_end = self._walker.walk(view, more.end(), lang, leading=True, anchor_start=a)
            if extra:
                hits, end = hits + extra, extra_end
        if _peek(view.lowered, end) == "?" and sentence_initial(view, a):
            return  # "I'm a man? No, ..."
        if lang == "en" and view.lowered.endswith(FIGURES_OF_SPEECH, a - 10 if a > 10 else 0, a):
            hits = [h for h in hits if h[0] != "age"]  # "Explain it like I'm 5": a figure of speech
        self._emit(view, hits, a, end, out)

    def _on_being(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        if not sentence_initial(view, a) or view.foreign(a):
            return
        hits, end = self._walker.walk(view, m.end(), lang, leading=True, anchor_start=a)
        if not hits:
            return
        lowered = view.lowered
        if _FIRST_MAIN.match(lowered, end):
            self._emit(view, hits, a, end, out)
            return
        place = _PLACE_TAIL.match(lowered, end)  # "Being a lesbian in a small Texas town, I'd love ..."
        main = _FIRST_MAIN.match(lowered, place.end()) if place else None
        if main and main.group("subject") not in ("my", "me"):  # after a place, the speaker must be the subject
            self._emit(view, hits, a, end, out)

    def _on_as(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        lowered = view.lowered
        if view.foreign(a):
            return
        sent_start, clause_start, _ = bounds(lowered, a)
        prefix_words = WORD.findall(lowered, clause_start, a)
        initial = all(w in DISCOURSE for w in prefix_words)
        if lang != "en":
            if not initial:
                return
            hits, end = self._walker.walk(view, m.end(), lang, leading=False, anchor_start=a)
            self._emit(view, hits, a, end, out)
            return
        if not initial:
            if not as_after_first_person(lowered, sent_start, a, prefix_words):
                return
        elif not own_words(view, a, lang):
            return
        hits, end = self._walker.walk(view, m.end(), lang, leading=False, plural=True, anchor_start=a)
        if not hits:
            return
        plural_hits = [h for h in hits if h[4]]
        if plural_hits and not _WE_MAIN.match(lowered, end):
            hits = [h for h in hits if not h[4]]
        if initial and main_subject_is_you(lowered, end):
            return  # "As a Jewish grandmother, you speak warmly": the assistant's persona, or generic "you"
        if PAST_MAIN.match(lowered, end) or PAST.search(lowered, sent_start, a):
            hits = [h for h in hits if h[0] != "age"]  # "As a kid, I loved ...": no longer true
        self._emit(view, hits, a, end, out)

    def _on_we(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        if not own_words(view, a, lang):
            return
        hits, end = self._walker.walk(view, m.end(), lang, leading=False, plural=True, anchor_start=a)
        if hits and view.lowered.startswith("and", a):
            _, clause_start, _ = bounds(view.lowered, a)
            a = skip_spaces(view.lowered, clause_start)  # "My husband and I are both Hindu"
        self._emit(view, hits, a, end, out)

    def _on_you(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        if view.foreign(a):
            return
        sent_start, _, _ = bounds(view.lowered, a)
        if not LEXICONS[lang].hypothetical.isdisjoint(WORD.findall(view.lowered, sent_start, a)):
            return  # "Imagine you're advising a 65-year-old retiree": a made-up client, not the user
        hits, end = self._walker.walk(view, m.end(), lang, leading=False, plural=True, anchor_start=a)
        if hits:
            self._emit(view, hits, a, end, out)
            view.user_statements.append(end)

    def _on_user(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        if not view.system or view.foreign(a):
            return
        before = WORD.findall(view.lowered, max(0, a - 12), a)
        if before and before[-1] in _QUANTIFIERS:
            return
        self._subject_is(view, _USER_COPULA.match(view.lowered, m.end()), lang, a, out)

    def _and_copula(self, view: TextView, hits: list[Hit], end: int, lang: str, a: int) -> tuple[list[Hit], int]:
        """"The user identifies as a gay man and is 28": the same subject, a second description."""
        more = _AND_COPULA.match(view.lowered, end) if lang == "en" else None
        if more is None:
            return hits, end
        extra, extra_end = self._walker.walk(view, more.end(), lang, leading=True, anchor_start=a)
        return (hits + extra, extra_end) if extra else (hits, end)

    def _on_from(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        """"Quick question from a Catholic dad of three:", "Greetings from a retired nurse": the
        speaker introducing themselves as the sender of the message."""
        a = m.start()
        lowered = view.lowered
        sent_start, _, _ = bounds(lowered, a)
        words = WORD.findall(lowered, sent_start, a)
        if not words or not all(w in _FROM_INTRO for w in words) or _FROM_NOUNS.isdisjoint(words):
            return
        if not own_words(view, sent_start, lang):
            return
        hits, end = self._walker.walk(view, m.end(), lang, leading=False, anchor_start=a)
        if hits and _RELATIONS.isdisjoint(WORD.findall(lowered, m.end(), _next_word_end(lowered, end))):
            self._emit(view, hits, a, end, out)  # not "a question from a Jewish friend": someone else's

    def _on_my_label(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        """"About me: 40F, lesbian", "My details: 29, male, Hispanic", "Me: 70, retired, Jewish": the
        speaker's own label, then a description of the speaker."""
        a = m.start()
        if not own_words(view, a, lang) or (view.lowered.startswith("me", a) and not sentence_initial(view, a)):
            return  # but "Tell me: ..."
        hits, end = self._walker.walk(view, m.end(), lang, leading=True, anchor_start=a)
        self._emit(view, hits, a, end, out)

    def _on_label(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        """"Profile: 34-year-old gay man, software engineer" in a system message: a label, then a
        description of the user. Not when the label is the assistant's or a character's."""
        a = m.start()
        if not view.system or view.foreign(a):
            return
        label = m.group()
        if label.split()[0].rstrip(":") in _OWNED_LABELS and len(label.split()) == 1:
            before = WORD.findall(view.lowered, max(0, a - 20), a)
            if not before or before[-1] not in ("user", "user's", "customer", "client", "patient", "member"):
                return
        before = WORD.findall(view.lowered, max(0, a - 20), a)
        if before and before[-1] in ("assistant", "assistant's", "bot", "bot's", "character", "character's", "your", "his", "her", "npc", "agent", "example", "sample"):
            return
        field = _FIELD_START.match(view.lowered, m.end())
        if field is not None and field.group("key") in self._field_keys:
            view.user_statements.append(m.end())  # "User profile: age 68; religion: Hindu": fields, not a phrase
            return
        hits, end = self._walker.walk(view, m.end(), lang, leading=True, anchor_start=a)
        if hits:
            self._emit(view, hits, a, end, out)
            view.user_statements.append(end)

    def _on_pron(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        """"The user is a woman. She is 68.", "About the user: she is Muslim.": a pronoun whose antecedent
        is the user, in a system message."""
        a = m.start()
        follows_user = view.user_statements and a - view.user_statements[-1] <= 400
        if not view.system or view.foreign(a) or not (follows_user or self._about_user(view, a, same_sentence=True)):
            return
        self._subject_is(view, _PRONOUN_COPULA.match(view.lowered, m.end()), lang, a, out)

    def _subject_is(self, view: TextView, copula: re.Match[str] | None, lang: str, a: int, out: list[Found]) -> None:
        """After "the user is" / "she is" (starting at `a`): the descriptions that follow, and a second
        one joined by "and is"; remembered as a statement about the user for later pronouns."""
        if copula is None:
            return
        hits, end = self._walker.walk(view, copula.end(), lang, leading=True, anchor_start=a)
        if hits:
            hits, end = self._and_copula(view, hits, end, lang, a)
            self._emit(view, hits, a, end, out)
            view.user_statements.append(end)

    def _on_at(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        self._age_statements.at(view, m, lang, out)  # "At 23, I ...", "in my late 30s", "... at 30?"

    def _on_age_fragment(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        self._age_statements.fragment(view, m, lang, out)  # "Just turned 30, single", "Retired at 81 and ..."

    def _on_statement(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        lowered = view.lowered
        if not own_words(view, a, lang):
            return
        if lang == "es":
            before = WORD.findall(lowered, max(0, a - 12), a)
            if before and before[-1] in ("no", "nunca", "jamás", "ni"):
                return
        found = self._which_statement_memo(lang, self._statement_index.get(lang), lowered, a, m.end())
        if found and (found[0], found[1]) not in view.negated:
            axis, value, ts = found
            out.append((axis, value, a, m.end(), ts, m.end()))
        if (more := _AND_SELF[lang].match(lowered, m.end())) is not None:
            hits, end = self._walker.walk(view, more.end(), lang, leading=True, anchor_start=a)
            self._emit(view, hits, a, end, out)

    def _on_statement_and(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        """"I'm 76 and use a wheelchair": a statement whose subject, "I", came earlier in the clause."""
        lowered = view.lowered
        sent_start, _, _ = bounds(lowered, m.start())
        pronouns = [w for w in WORD.findall(lowered, sent_start, m.start()) if w in PERSONAL]
        if pronouns and pronouns[-1] in FIRST_PERSON_SUBJECTS:
            self._on_statement(view, m, lang, out)

    def _on_statement3(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        lowered = view.lowered
        if view.foreign(a):
            return
        someone = lowered.startswith(("someone", "somebody", "a person", "anyone"), a)
        if someone:
            if not lowered[max(0, a - 4):a].rstrip().endswith("as"):
                return
            a = a - 3 if lowered[a - 3:a - 1] == "as" else a
        elif not view.system:
            return
        found = self._which_statement_memo("third", self._third_index, lowered, m.start(), m.end())
        if found:
            axis, value, ts = found
            out.append((axis, value, a, m.end(), ts, m.end()))

    def _which_statement_memo(
        self, key: str, candidates: tuple[re.Pattern[str], list[tuple[str, str]]] | None, lowered: str, start: int, end: int
    ) -> tuple[str, str, int] | None:
        piece = lowered[start:end]
        found = self._which_memo.get((key, piece))
        if found is None:
            found = self._which_statement(candidates, piece, 0, len(piece)) or ()
            if len(self._which_memo) >= 4096:
                self._which_memo.clear()
            self._which_memo[(key, piece)] = found
        return (found[0], found[1], start + found[2]) if found else None

    @staticmethod
    def _which_statement(
        candidates: tuple[re.Pattern[str], list[tuple[str, str]]] | None, lowered: str, start: int, end: int
    ) -> tuple[str, str, int] | None:
        """Which value's statement spans up to `end`, and where its words start (after "I", adverbs)."""
        if candidates is None:
            return None
        regex, values = candidates
        for ws in [w.start() for w in WORD.finditer(lowered, start, end)]:
            found = regex.fullmatch(lowered, ws, end)
            if found is not None:
                axis, value = values[int(found.lastgroup[1:])]  # type: ignore[index]
                return axis, value, ws
        return None

    def _on_pronouns(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        if view.foreign(a) and not view.lowered.startswith("pronouns", a):
            return
        if not view.system and _CODE_LINE.search(view.lowered, view.lowered.rfind("\n", 0, a) + 1, a):
            return  # "const user = { pronouns: 'they/them' }": data in code, not the speaker
        if not own_words(view, a, lang, quotes_ok=True):
            return
        found = _last(self._pronoun_set.finditer(view.lowered, a, m.end()))
        if found is None:
            return
        target = self._pronouns.get(_fold_pronouns(found.group("set")))
        if target:
            out.append((target[0], target[1], a, m.end(), found.start(), found.end()))

    def _on_pronouns3(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        if self._about_user(view, m.start()):
            self._on_pronouns(view, m, lang, out)

    def _on_user_verb(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        """"User context: born in 1988, identifies as non-binary": a verb whose subject is the user."""
        a = m.start()
        if not self._about_user(view, a):
            return
        hits, end = self._walker.walk(view, m.end(), lang, leading=False, anchor_start=a)
        self._emit(view, hits, a, end, out)

    def _about_user(self, view: TextView, a: int, *, same_sentence: bool = False) -> bool:
        """In a system message, whether the sentence (or the line's label) before `a` is about the user,
        with no one else's possessive in between ("the user's brother identifies as ...")."""
        if not view.system or view.foreign(a):
            return False
        lowered = view.lowered
        sent_start, _, line_start = bounds(lowered, a)
        cue = _last(_USER_CUE.finditer(lowered, sent_start if same_sentence else min(sent_start, line_start), a))
        if cue is None:
            return False
        between = lowered[cue.end():a]
        return _SOMEONE_ELSES.search(between) is None

    def _on_reddit(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        """"I (25F) ...": age and gender in the forum convention."""
        a = m.start()
        if not own_words(view, a, lang):
            return
        inner = _BRACKETED.search(m.group())
        if not inner:
            return
        body = inner.group(1)
        number = re.search(r"\d{1,2}", body)
        letters = re.sub(r"[\d\s]", "", body)
        base = a + inner.start(1)
        if number:
            value = self._ages.value_for(int(number.group()))
            if value:
                out.append(("age", value, a, m.end(), base + number.start(), base + number.end()))
        if letters in self._walker.gender_letters:
            axis, value = self._walker.gender_letters[letters]
            pos = body.find(letters)
            out.append((axis, value, a, m.end(), base + pos, base + pos + len(letters)))

    def _on_aside(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        """A description in brackets right after "I": "so i (straight woman, fwiw) keep matching ..."."""
        a = m.start()
        close = view.lowered.find(")", m.end(), m.end() + 60)
        if close < 0 or not own_words(view, a, lang):
            return
        hits, end = self._walker.walk(view, m.end(), lang, leading=True, anchor_start=a, strict=True)
        if hits and end <= close:
            self._emit(view, hits, a, close + 1, out)

    def _on_age_statement(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        self._age_statements.statement(view, m, lang, out)

    # --- context ------------------------------------------------------------------------------------

    def _emit(self, view: TextView, hits: list[Hit], start: int, end: int, out: list[Found]) -> None:
        if not hits:
            return
        place = _PLACE.match(view.text, end)
        if place:
            end = place.end()
        who = self._who_does(view.lowered, end)
        if who is not None:
            end = who[3]
        if len(hits) == 1:
            axis, value, ts, te, _ = hits[0]
            det = _DETERMINER_BEFORE.search(view.lowered, max(start, ts - 8), ts)
            if det:
                ts = det.start()
            head = _GENERIC_HEADS.match(view.lowered, te)
            if head and head.end() <= end:
                te = head.end()
            out.append((axis, value, start, end, ts, te))
        else:
            for axis, value, ts, te, _ in hits:
                out.append((axis, value, start, end, ts, te))
        if who is not None:
            out.append((who[0], who[1], start, end, who[2], who[3]))

    def _who_does(self, lowered: str, end: int) -> tuple[str, str, int, int] | None:
        """"a 79-year-old man who uses a wheelchair": a relative clause stating more about the person
        just described, as (axis, value, start, end) of the statement."""
        if self._third_index is None or (rel := _WHO.match(lowered, end)) is None:
            return None
        regex, values = self._third_index
        found = regex.match(lowered, rel.end())
        if found is None or found.lastgroup is None:
            return None
        axis, value = values[int(found.lastgroup[1:])]
        return axis, value, rel.end(), found.end()


# "..., who uses", "..., widowed, who uses": a word or two set off by commas may come first
_ASIDE = re.compile(r"\([^()\n]{1,24}\)")
_WHO = re.compile(r"(?:[ \t]*,[ \t]*[a-z-]+){0,2}[ \t]*,?[ \t]*(?:who|that)[ \t]+(?:also[ \t]+|now[ \t]+|still[ \t]+)?")
_YEARS_OLD = r"(?:[ \t]*(?:years?|yrs?)[ \t]+old|[ \t]*y/?o)?"
_APPOSITIVE_AGE = re.compile(r"[ \t]+an?[ \t]+[^,.;:!?()\n\d]{1,40},[ \t]*(?P<age>(?P<n>[1-9]\d)" + _YEARS_OLD + r")(?![\w'’%])[ \t]*(?=,|\.|;|$|and(?![\w'’]))")
# A description opening a message or a line, then an age: "straight guy, 35, recently divorced."
_COMMA_NUMBER = re.compile(r",[ \t]+[1-9]\d(?![\w'’%])")  # a space after the comma: not a CSV row
_AFTER_OPENING = re.compile(r"[ \t]*(?:[,.;]|$)")
_OPENING_AGE = re.compile(r"[ \t]*,[ \t]*(?P<age>(?P<n>[1-9]\d)" + _YEARS_OLD + r")(?![\w'’%])[ \t]*(?=,|\.|;|$)")
_CODE_LINE = re.compile(r"[{}=;\[]|\b(?:const|let|var|def|return|new|function|class)\s")
_FIELD_START = re.compile(r"[ \t\n]*[\"'*_-]*[ \t]*(?P<key>[^\W\d_]+)[\"'*_]*[ \t]*(?:[:=]|(?=\d))")
_NOT_A_DESCRIPTION = LEXICONS["en"].stops | CLAUSE_STARTERS["en"]
# The same speaker goes on to describe themselves: "I'm a pastor's wife and have been Baptist ...",
# "Ich sitze im Rollstuhl und bin 33 Jahre alt".
_AND_SELF = {
    "en": re.compile(r"[ \t]*,?[ \t]*and\s+(?:am|also\s+am|have\s+(?:always\s+|long\s+)?been|['’]ve\s+(?:always\s+)?been|identify\s+as)(?![\w'’])"),
    "es": re.compile(r"[ \t]*,?[ \t]*y\s+(?:también\s+)?soy(?![\w])"),
    "fr": re.compile(r"[ \t]*,?[ \t]*et\s+(?:je\s+)?suis(?![\w])"),
    "de": re.compile(r"[ \t]*,?[ \t]*und\s+(?:auch\s+)?bin(?![\w])"),
}
_AND_COPULA = re.compile(r"[ \t]*,?[ \t]*and\s+(?:is|['’]s|has\s+been)(?![\w'’])")
_KIN_OF = re.compile(r"of\s+(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d{1,2})(?:\s+[\w'’-]+){0,2}")
_APPOSITION = re.compile(r",[ \t]*(?:(?:but|and|so)[ \t]+)?(?:i|i['’]m|i['’]ve|i['’]d|my)(?![\w'’])")
_RELATIONS = frozenset(
    """friend friends colleague colleagues coworker coworkers co-worker neighbor neighbour neighbors relative cousin
    acquaintance reader readers follower followers listener listeners viewer viewers client clients customer customers
    student students patient patients user users member members subscriber subscribers fan fans""".split()
)
_FROM_NOUNS = frozenset("question questions greetings hello hi hey note message request plea".split())
_FROM_INTRO = _FROM_NOUNS | frozenset("quick a an another one honest serious genuine simple small random".split())
_HERE_AFTER = re.compile(r"[ \t]*[,:(\u2014\u2013-][ \t]*")
_ES_NEGATED = re.compile(r"(?:yo\s+)?(?:no|ya\s+no|nunca|jamás)\s")
_FR_NEGATED = re.compile(r"\bne\b|n['’]")
_NOT_LEADING = re.compile(r"identif|consider|call|describe|define|see|regard|count|came|live|happen|bezeichne|betrachte|sehe|considère|définis|décris")
_WE_MAIN = re.compile(r"[ \t]*,?[ \t]*(?:we|us|our)(?![\w])")
_SOMEONE_ELSES = re.compile(r"['’]s\s|\b(?:his|her|their)\s+(?!pronouns)\w+\s+(?:is|identifies|uses)")


# Cheap checks before trying the anchor patterns of very common start words.
_GUARDS = {
    "i": lambda self, lowered, end: _peek(lowered, end) in ("(", "[", ","),
    "me": lambda self, lowered, end: _peek(lowered, end) in ("(", "[", ":") or lowered.startswith(" and ", end),
    "from": lambda self, lowered, end: lowered.startswith((" a ", " an "), end),
    "at": lambda self, lowered, end: _peek(lowered, end).isdigit() or lowered.startswith((" the age", " age"), end),
    "as": lambda self, lowered, end: self._walker.np_starts(lowered, end),
    "como": lambda self, lowered, end: self._walker.np_starts(lowered, end),
    "comme": lambda self, lowered, end: self._walker.np_starts(lowered, end),
    "als": lambda self, lowered, end: self._walker.np_starts(lowered, end),
    "siendo": lambda self, lowered, end: self._walker.np_starts(lowered, end),
    "étant": lambda self, lowered, end: self._walker.np_starts(lowered, end),
}
_I_AM = frozenset({"i'm", "i’m", "i am", "iam", "im"})
_ADVERB_WORDS = frozenset(
    "also still now currently actually really do always usually just personally regularly often mostly proudly even "
    "sometimes normally typically generally".split()
)


_BRACKETED = re.compile(r"[(\[]\s*(.*?)\s*[)\]]")


def _last(matches: Iterator[re.Match[str]]) -> re.Match[str] | None:
    found = None
    for found in matches:  # noqa: B007 - the loop only finds the last match
        pass
    return found


def _next_word_end(lowered: str, end: int) -> int:
    """Where the word after `end` ends (or `end`, if none follows)."""
    word = WORD.match(lowered, skip_spaces(lowered, end))
    return word.end() if word else end


def _peek(lowered: str, end: int) -> str:
    """The first character after `end` that is not a space or tab."""
    at = skip_spaces(lowered, end)
    return lowered[at:at + 1]


def _fold_start(matched: str) -> str:
    if " " not in matched and "'" not in matched and "’" not in matched and "-" not in matched:
        return matched
    return fold_match(matched)


def _fold_pronouns(text: str) -> str:
    return "/".join(p.strip() for p in text.lower().split("/"))


_HANDLERS = {
    "self": StatementReader._on_self,
    "being": StatementReader._on_being,
    "as": StatementReader._on_as,
    "we": StatementReader._on_we,
    "from": StatementReader._on_from,
    "mylabel": StatementReader._on_my_label,
    "you": StatementReader._on_you,
    "user": StatementReader._on_user,
    "pron": StatementReader._on_pron,
    "label": StatementReader._on_label,
    "at": StatementReader._on_at,
    "stmt": StatementReader._on_statement,
    "stmt3": StatementReader._on_statement3,
    "stmtand": StatementReader._on_statement_and,
    "pro": StatementReader._on_pronouns,
    "pro3": StatementReader._on_pronouns3,
    "userverb": StatementReader._on_user_verb,
    "rd": StatementReader._on_reddit,
    "aside": StatementReader._on_aside,
    "agest": StatementReader._on_age_statement,
    "agefrag": StatementReader._on_age_fragment,
}
