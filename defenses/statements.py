"""Self-descriptions in running text: "I am a Muslim person", "As a 72-year-old retiree", "I'm not a
Republican", "The user is a Black woman from Atlanta", "I use a wheelchair", "Soy musulmana".

How it reads: one precompiled regex finds the places where a statement about the user can start
(anchors: "I am", "as a", "the user is", "soy", "je suis", "ich bin", "I use ...", "my pronouns are").
From each anchor a small walker reads the phrase that follows word by word: determiners, modifiers
("proud", "devout"), identity terms from the taxonomy, person nouns ("voter", "nurse"), and stops
at the end of the phrase. A term counts only when the phrase describes the speaker: not negated
("I'm not ..."), not naming something else ("a Christian rock fan", "a senior developer", "black and
blue", "a man of my word", "Christian Bale"), not hypothetical ("if I were ..."), not someone else's
words (quotations, code, text to translate, "my mom thinks I'm ..."). Languages: en, es, fr, de.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from defenses.age import AgeReader, number_words
from defenses.lexicon import LEXICONS, Lexicon
from defenses.taxonomy import LANGUAGES, Taxonomy
from defenses.textview import TextView
from defenses.wordlist_regex import compile_words, fold_match, spelling_variants

# (axis, value, statement start, statement end, term start, term end)
Found = tuple[str, str, int, int, int, int]


@dataclass(frozen=True, slots=True)
class TermInfo:
    axis: str
    value: str
    text: str
    head_only: bool
    needs_article: bool
    match_case: bool
    core_person: bool


# Gendered person words that, followed by "of", form idioms ("a man of my word", "a child of the 80s").
_HERE = re.compile(r"(?<![\w'’])here(?![\w'’])")
_TOPIC_NOUNS = frozenset(
    """food foods cuisine cooking recipes restaurant restaurants music rock pop rap gospel jazz art arts history
    literature film films cinema movie movies culture cultures studies politics rights issues affairs theology
    philosophy mythology league team market markets neighborhood neighbourhood district language languages name
    names holiday holidays festival festivals wedding weddings prayer prayers tradition traditions dance fashion
    style bar bars content news media books book novel novels poetry song songs jokes humor humour comedy dating
    community-based heritage-month values culture-war""".split()
)
_FAN_NOUNS = frozenset(
    """fan fans lover lovers buff buffs enthusiast enthusiasts collector collectors aficionado aficionados
    connoisseur nerd nerds geek geeks junkie junkies addict snob fanatic devotee listener listeners watcher
    watchers""".split()
)
_INSTITUTIONS = frozenset(
    """school schools college university company business firm agency organization organisation charity nonprofit
    non-profit church temple mosque synagogue ministry group club band choir channel podcast blog brand restaurant
    store shop bakery startup clinic hospital newspaper magazine website app publication program programme
    association society foundation network union academy institute center centre""".split()
)
_COMPACT = re.compile(r"(\d{2})[ ]?([mf])(?![\w'’])")
_PROUD = frozenset("proud happy glad lucky blessed honored honoured grateful".split())
_GENERIC_WORDS = frozenset("person individual human people persons individuals humans".split())
_MEMBERSHIP = frozenset("member members citizen citizens follower followers descendant descendants part".split())
_CORE_PERSON = frozenset("man woman guy lady gentleman child kid boy girl dude gal".split())
_NAME_LIKE = frozenset({"christian"})
_GENERIC_HEADS = re.compile(r"[ \t]+(?:person|individual|voter|citizen|human being|human)(?![\w])")
_DETERMINER_BEFORE = re.compile(r"(?:^|(?<=[\s(\"'“]))(?:an?|the|un|una|une|ein|eine|einer)[ \t]+$")
_WORD = re.compile(r"[\w'’]+")
_HYPHENATED = re.compile(r"[\w'’]+(?:-[\w'’]+)+")
_SPACES = re.compile(r"[ \t\u00a0]*")
_PLACE = re.compile(r"[ \t]+(?:from|in|living in|based in|who lives in|de|aus)[ \t]+[A-Z][\w'’-]*(?:[ \t]+[A-Z][\w'’-]*){0,3}")
_GREETING = re.compile(r"(?:^|\W)(?:hi|hello|hey|hiya|greetings|dear|good (?:morning|afternoon|evening)|my name is|name's|call me)\W")
_LET_SAY = re.compile(r"let['’]?s\s+say|what\s+if|as\s+if|as\s+though|even\s+if|only\s+if|in\s+case|pretend|imagine|suppose")
_FICTION = re.compile(
    r"\b(?:role[\s-]?play\w*|story|stories|poem|novel|screenplay|script|fanfic|fan\s+fiction|in\s+which|dialogue|"
    r"monologue|scenario|fictional|pretend\w*|imagine|character)\b"
)
_SPEECH = re.compile(
    r"(?P<subj>[\w'’]+)\s+(?:(?:also|always|still|really|probably|just|even|all|never|often|keep|keeps|kept|might|"
    r"may|will|would|could|do|does|did|don['’]t|doesn['’]t|didn['’]t|must|seem\s+to|seems\s+to)\s+){0,2}"
    r"(?:say|says|said|saying|think|thinks|thought|thinking|believe|believes|believed|assume|assumes|assumed|"
    r"assuming|claim|claims|claimed|insist|insists|insisted|suspect|suspects|suspected|guess|guesses|guessed|"
    r"tell|tells|told|telling|accuse|accuses|accused|joke|jokes|joked|pretend|pretends|pretended|wish|wishes|"
    r"doubt|doubts|deny|denies|denied|wonder|wonders|wondered|ask|asks|asked|asking|mean|means|swear|swears|"
    r"call|calls|called|mistake|mistakes|mistook|decide|decided|decides|convinced|sure|wrote|writes|"
    r"type|types|typed|post|posts|posted|tweet|tweeted|scream|screamed|yell|yelled|shout|shouted)"
    r"(?:\s+(?:me|us|him|her|them|everyone|people|you|others))?\s*(?:that\s+)?[,:]?\s*$"
)
_SPEECH_WORDS = frozenset(re.findall(r"[a-z]+", _SPEECH.pattern.split("(?:say|")[1].split(")")[0] + " say"))
_FIRST_PERSON_SUBJECTS = frozenset({"i", "i'm", "i’m", "i've", "i’ve", "i'd", "i’d", "im"})
_SELF_DOUBT = frozenset({"doubt", "doubts", "wonder", "wonders", "wondered", "pretend", "pretends", "pretended",
                         "wish", "wishes", "guess", "guesses", "guessed", "decide", "decided", "decides"})
_FOREIGN_SPEECH = {
    "es": frozenset("dice dijo dicen dijeron piensa piensan cree creen creía pensaba".split()),
    "fr": frozenset("dit disent disait pense pensent croit croient croyait pensait".split()),
    "de": frozenset("sagt sagte sagen denkt denken dachte glaubt glauben meint meinen".split()),
}
_NON_USER_LABELS = frozenset(
    """assistant ai bot chatbot agent model character persona narrator system gpt chatgpt claude gemini llm
    him her he she mom dad mother father friend boss teacher doctor therapist interviewer host a b
    person a person b speaker 1 speaker 2 speaker a speaker b example examples sentence sentences translation
    quote output input text response answer reply caption title line lyrics prompt sample template tweet
    post slogan sign headline npc villain hero protagonist""".split()
)
_DISCOURSE = frozenset(
    """well so ok okay and but also now honestly personally frankly look listen yes yeah no um uh hmm btw ps
    first firstly again obviously actually anyway hi hello hey plus then still though however basically
    generally naturally admittedly sometimes""".split()
)
_AS_EXCLUDED = frozenset(
    """work works worked working serve serves served serving volunteer volunteers volunteered volunteering act
    acts acted acting pose poses posed posing dress dresses dressed dressing disguised treat treats treated
    treating seen see sees saw regard regarded regards view viewed views classified classify labeled labelled
    known such same well much long soon far good just cast play plays played playing roleplay pretend
    pretending hired employed trained enlisted me it them him her us you raised grew born""".split()
)
_PAST = re.compile(r"\b(?:was|were|used\s+to|grew\s+up|had|did|went|raised|born|remember)\b")
_PAST_MAIN = re.compile(
    r"[ \t]*,?[ \t]*(?:i|we)\s+(?:was|were|had|used|did|would|loved|hated|grew|went|got|thought|believed|remember|"
    r"(?![a-z]*eed\b)[a-z]+ed)\b"
)
_YOU_MAIN = re.compile(r"[ \t]*,?[ \t]*(?:then[ \t]+)?(?:you|your|you['’](?:re|ll|ve|d))(?![\w'’])")
_FIRST_MAIN = re.compile(r"[ \t]*,[ \t]*(?:i|i['’]m|i['’]ve|my|me|we)(?![\w])")
_AFTER_AT = re.compile(r"[ \t]*,?[ \t]*i(?![\w])")
_USER_COPULA = re.compile(
    r"\s*(?:['’]s|is|has\s+been|identifies\s+(?:(?:him|her|them)sel(?:f|ves)\s+)?as|self[\s-]?identifies\s+as|"
    r"describes\s+(?:him|her|them)sel(?:f|ves)\s+as|considers\s+(?:him|her|them)sel(?:f|ves)(?:\s+to\s+be)?|"
    r"happens\s+to\s+be|,(?=\s*(?:an?|the)\s)|:|es|se\s+identifica\s+como|est|s['’]identifie\s+comme|ist|"
    r"identifiziert\s+sich\s+als)(?:\s+(?:also|currently|now|actually|really))?(?![\w'’])"
)
_PRONOUN_COPULA = re.compile(r"\s*(?:['’]s|['’]re|is|are|identifies\s+as)(?:\s+(?:also|currently|now|actually))?(?![\w'’])")
_USER_CUE = re.compile(r"\b(?:the\s+user|user|customer|client|patient|student|learner|caller|member|person\s+you)\b")
_QUANTIFIERS = frozenset("every each any no some another other all most many few which whichever".split())
_CLAUSE_STARTERS = {
    "en": frozenset("i i'm i’m im my me you your he she we they it this that there so because which who what "
                    "where when if but then please can could would will".split()),
    "es": frozenset("yo mi me tú tu él ella nosotros ellos que porque pero si cuando".split()),
    "fr": frozenset("je j' moi mon ma mes tu il elle nous vous ils elles que parce mais si quand".split()),
    "de": frozenset("ich mich mein meine du er sie wir ihr dass weil aber wenn".split()),
}
_STATEMENT_ADVERBS = r"(?:(?:also|still|now|currently|actually|really|do|always|usually|just|personally|regularly|often|mostly|proudly|even|sometimes|normally|typically|generally)\s+){0,2}"
_THIRD_ADVERBS = r"(?:(?:also|still|now|currently|actually|really|does|always|usually|regularly|often|mostly)\s+){0,2}"


def phrase_regex(phrase: str) -> str:
    """Regex source for a taxonomy phrase: words, with "(a|b)" alternatives and "(a|b|)" optional words."""
    tokens = re.findall(r"\([^()]*\)|[^\s()]+", phrase.lower())
    out = []
    start_open = True
    for tok in tokens:
        if tok.startswith("("):
            alts = [a.strip() for a in tok[1:-1].split("|")]
            optional = "" in alts
            body = "(?:" + "|".join(_literal(a) for a in alts if a) + ")"
        else:
            optional, body = False, _literal(tok)
        if start_open:
            out.append(f"(?:{body}\\s+)?" if optional else body)
            start_open = optional
        else:
            out.append(f"(?:\\s+{body})?" if optional else f"\\s+{body}")
    return "".join(out)


def _literal(words: str) -> str:
    parts = []
    for word in words.split():
        escaped = re.sub(r"['’]", "['’]", re.escape(word)).replace(r"\-", r"[\s\-]?")
        parts.append(escaped)
    return r"\s+".join(parts)


def third_person(phrase: str) -> str:
    """"use (a|my) wheelchair" -> "uses (a|my) wheelchair": the phrase after "the user" or "someone who"."""
    tokens = re.findall(r"\([^()]*\)|[^\s()]+", phrase)
    if not tokens:
        return phrase
    first = tokens[0]
    if first.startswith("("):
        alts = [" ".join([_conjugate(a.split()[0])] + a.split()[1:]) if a.strip() else a for a in first[1:-1].split("|")]
        tokens[0] = "(" + "|".join(alts) + ")"
    else:
        tokens[0] = _conjugate(first)
    return " ".join(tokens)


def _lead_words(expansion: str) -> str:
    """The start phrase an anchor is looked up by: the first word, or the first two when the first is
    a common function word ("no creo", "me muevo"), so that common words do not trigger lookups."""
    words = re.split(r"[\s'’]+", expansion.lower())
    return " ".join(words[:2]) if words[0] in _FUNCTION_STARTS and len(words) > 1 else words[0]


_FUNCTION_STARTS = frozenset("no me ne n je j i we and a the de la el le les en y ich".split())


def perfect_forms(phrase: str) -> list[str]:
    """"use (a|my) wheelchair" -> "used (a|my) wheelchair", "been using (a|my) wheelchair": what follows
    "I have" when the statement is in the present perfect ("I've used a wheelchair since I was 12")."""
    tokens = re.findall(r"\([^()]*\)|[^\s()]+", phrase)
    if not tokens or tokens[0].startswith("(") or tokens[0].lower() in _NOT_VERBS:
        return []
    verb, rest = tokens[0].lower(), " ".join(tokens[1:])
    participle = _PARTICIPLES.get(verb) or (verb + "d" if verb.endswith("e") else verb[:-1] + "ied" if re.search(r"[^aeiou]y$", verb) else verb + "ed")
    gerund = verb[:-1] + "ing" if verb.endswith("e") and verb not in ("see", "be") else verb + "ing"
    forms = [f"{participle} {rest}".strip()]
    if verb not in ("have", "lose", "lost", "was", "converted", "reverted", "came", "accepted"):
        forms.append(f"been {gerund} {rest}".strip())
    return forms


_NOT_VERBS = frozenset("am was don't do not can't cannot lost converted reverted came accepted".split())
_PARTICIPLES = {"have": "had", "keep": "kept", "lose": "lost", "wear": "worn", "go": "gone", "get": "gotten",
                "pray": "prayed", "fast": "fasted", "live": "lived", "rely": "relied", "follow": "followed",
                "attend": "attended", "practice": "practiced", "practise": "practised", "vote": "voted",
                "lean": "leaned", "belong": "belonged", "support": "supported", "walk": "walked", "need": "needed"}


def _conjugate(verb: str) -> str:
    irregular = {"am": "is", "'m": "is", "have": "has", "do": "does", "don't": "doesn't", "go": "goes",
                 "was": "was", "lost": "lost", "came": "came", "can't": "can't", "cannot": "cannot"}
    low = verb.lower()
    if low in irregular:
        return irregular[low]
    if re.search(r"(?:s|sh|ch|x|z|o)$", low):
        return verb + "es"
    if re.search(r"[^aeiou]y$", low):
        return verb[:-1] + "ies"
    return verb + "s"


def _plural(term: str) -> str:
    words = term.split(" ")
    last = words[-1]
    low = last.lower()
    if low.endswith("man") and not low.endswith("human"):
        last = last[:-3] + ("men" if last[-3:].islower() else "MEN")
    elif re.search(r"(?:s|sh|ch|x|z)$", low):
        last += "es"
    elif re.search(r"[^aeiou]y$", low):
        last = last[:-1] + "ies"
    else:
        last += "s"
    return " ".join(words[:-1] + [last])


class StatementReader:
    """Finds self-descriptions in text; built once per taxonomy, everything compiled up front."""

    def __init__(self, taxonomy: Taxonomy, ages: AgeReader) -> None:
        self._ages = ages
        self._terms: dict[str, re.Pattern[str]] = {}
        self._info: dict[str, dict[str, TermInfo]] = {}
        self._idioms: dict[str, re.Pattern[str] | None] = {}
        self._statement_values: dict[str, list[tuple[re.Pattern[str], str, str]]] = {}
        self._third_values: list[tuple[re.Pattern[str], str, str]] = []
        self.trigger_words: set[str] = set()
        pronouns: dict[str, tuple[str, str]] = {}
        statement_sources: dict[str, list[str]] = {lang: [] for lang in LANGUAGES}
        statement_firsts: dict[str, set[str]] = {lang: set() for lang in LANGUAGES}
        am_sources: list[str] = []
        third_sources: list[str] = []
        perfect_sources: list[str] = []
        with_sources: list[str] = []
        with_values: dict[str, tuple[str, str]] = {}

        for lang in LANGUAGES:
            info: dict[str, TermInfo] = {}
            forms: set[str] = set()
            for value in taxonomy.all_values():
                for term in value.terms.get(lang, ()):
                    for form in spelling_variants(term.text, lang):
                        forms.add(form)
                        info.setdefault(fold_match(form), TermInfo(
                            value.axis, value.key, term.text, term.head_only, term.needs_article, term.match_case,
                            term.text.lower() in _CORE_PERSON,
                        ))
                        self._add_triggers(form)
                for phrase in value.statements.get(lang, ()):
                    am = lang == "en" and phrase.lower().startswith("am ")
                    source = phrase_regex(phrase[3:] if am else phrase)
                    self._statement_values.setdefault(lang, []).append((re.compile(source + r"(?![\w])"), value.axis, value.key))
                    (am_sources if am else statement_sources[lang]).append(source)
                    self._add_statement_triggers(phrase)
                    statement_firsts[lang].update(_lead_words(e) for e in _expansions(phrase))
                    if lang == "en" and not am:
                        for perfect in perfect_forms(phrase):
                            source = phrase_regex(perfect)
                            self._statement_values[lang].append((re.compile(source + r"(?![\w])"), value.axis, value.key))
                            perfect_sources.append(source)
                        if phrase.lower().startswith("have "):
                            name = f"w{len(with_values)}"
                            with_sources.append(f"(?P<{name}>{phrase_regex(phrase[5:])})")
                            with_values[name] = (value.axis, value.key)
                    if lang == "en":
                        third = phrase_regex(third_person(phrase))
                        third_sources.append(third)
                        self._third_values.append((re.compile(third + r"(?![\w])"), value.axis, value.key))
                for pronoun_set in value.pronouns:
                    pronouns[_fold_pronouns(pronoun_set)] = (value.axis, value.key)
                    self.trigger_words.add(pronoun_set.lower())
            self._terms[lang] = compile_words(forms)
            self._info[lang] = info
            idioms = taxonomy.idioms(lang)
            self._idioms[lang] = re.compile("(?:" + "|".join(phrase_regex(i) for i in idioms) + r")(?![\w])") if idioms else None

        # Plural forms, for "we are Muslims", "as Democrats, we ...", "you are talking to teenagers".
        plural_forms: set[str] = set()
        self._plural_info: dict[str, TermInfo] = {}
        for fold, info_item in self._info["en"].items():
            plural = _plural(info_item.text)
            plural_forms.add(plural)
            self._plural_info.setdefault(fold_match(plural), info_item)
            self._add_triggers(plural)
        self._plural_terms = compile_words(plural_forms)

        self._pronouns = pronouns
        pronoun_alt = "|".join(
            sorted((r"\s*/\s*".join(re.escape(p) for p in key.split("/")) for key in pronouns), key=len, reverse=True)
        ) or "(?!)"
        self._pronoun_set = re.compile(rf"(?P<set>{pronoun_alt})(?![\w/])")
        self._gender_letters = _gender_letters(taxonomy)
        self._with_values = with_values
        self._with_objects = re.compile("(?:" + "|".join(with_sources) + r")(?![\w])") if with_sources else None
        statement_sources["en_perfect"] = perfect_sources
        self._starts, self._dispatch = self._compile_anchors(statement_sources, am_sources, third_sources, pronoun_alt, statement_firsts)
        self.trigger_words.update(("pronouns", "pronoun", "pronombres", "pronoms", "pronomen", "grade", "grader",
                                   "teens", "twenties", "thirties", "forties", "fifties", "sixties", "seventies",
                                   "eighties", "nineties"))
        # Numbers count only next to an age cue ("I'm 72", "72 years", "(25F)"): see PersonaDetector.
        self.numeric_words: set[str] = set()
        for n in range(1, 131):
            self.numeric_words.update({str(n), f"{n}s", f"{n}yo", f"{n}m", f"{n}f", f"{n}nb", f"{n}y/o"})
        self.numeric_words.update(str(y) for y in range(1900, 2031))
        for lang in LANGUAGES:
            for words, number in number_words(lang).items():
                if number > 10:
                    self.numeric_words.update(p for p in re.split(r"[\s\-]+", words) if len(p) >= 5)

    # --- compile helpers ------------------------------------------------------------------------

    def _add_triggers(self, form: str) -> None:
        """One word per term, the rarest-looking, is enough: the prefilter only asks whether a text
        could hold the term at all."""
        pieces = [p for p in re.split(r"[\s\-\u2010\u2011'’]+", form.lower()) if p]
        if len(pieces) == 1:
            self.trigger_words.add(pieces[0])
            return
        self.trigger_words.add("".join(pieces))
        rare = [p for p in pieces if p not in _COMMON and p not in _TRIGGER_STOP]
        if rare:
            self.trigger_words.add(max(rare, key=len))

    def _add_statement_triggers(self, phrase: str) -> None:
        for alt_words in _expansions(phrase):
            pieces = [w for w in re.split(r"[\s\-'’]+", alt_words.lower()) if w]
            if pieces:
                self.trigger_words.add(_rarest(pieces))

    def _compile_anchors(
        self, statements: dict[str, list[str]], am: list[str], third: list[str], pronoun_alt: str,
        statement_firsts: dict[str, set[str]],
    ) -> tuple[re.Pattern[str], dict[str, tuple[tuple[str, str, re.Pattern[str]], ...]]]:
        """A trie regex of the words an anchor can start with, and per start word the anchor
        patterns to try there, in priority order. Trying a handful of small patterns at the few
        places a start word occurs is much cheaper than one alternation of them all at every position."""
        def alt(sources: list[str]) -> str:
            return "(?:" + "|".join(sources) + ")" if sources else "(?!)"

        def strip_groups(pattern: re.Pattern[str] | None) -> str:
            return re.sub(r"\(\?P<\w+>", "(?:", pattern.pattern) if pattern is not None else "(?!)"

        ages = self._ages
        subjects = r"(?:user|customer|client|patient|student|learner|caller|member|visitor|human|person)"
        subject_words = "user customer client patient student learner caller member visitor human person".split()
        es_firsts = {"yo", "también", "ya"} | statement_firsts["es"]
        en_firsts = statement_firsts["en"]
        dets = ("the", "this", "our", "your")
        subject_phrases = {f"{d} {m}{w}" for d in dets for m in ("", "current ", "end ") for w in subject_words}
        parts: list[tuple[str, str, str, set[str]]] = [
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
            ("rd", "en", r"(?:i|me)\s*[(\[]\s*(?:\d{1,2}\s*(?:[mf]|nb|ftm|mtf)?|(?:[mf]|nb)\s*\d{1,2})\s*[)\]]", {"i", "me"}),
            ("agest", "en", strip_groups(ages.statement_regex("en")), {"i just", "i recently", "i only", "i turned", "i turn", "i was"} | _I_AM),
            ("agest", "es", strip_groups(ages.statement_regex("es")), {"yo", "ya", "también", "tengo", "nací"}),
            ("agest", "fr", strip_groups(ages.statement_regex("fr")), {"j", "je"}),
            ("agest", "de", strip_groups(ages.statement_regex("de")), {"ich"}),
            ("stmt", "es", rf"(?:yo\s+)?(?:también\s+|ya\s+)?{alt(statements['es'])}(?![\w])", es_firsts),
            ("stmt", "fr", rf"(?:je\s+|j['’]\s*){alt(statements['fr'])}(?![\w])", {"je", "j"}),
            ("stmt", "de", rf"ich\s+(?:auch\s+)?{alt(statements['de'])}(?![\w])", {"ich"}),
            ("self", "en", r"i\s*(?:['’]\s*m|\s+am|am)(?![\w'’])|im(?=[ \t])|i\s*(?:['’]\s*ve|\s+have)\s+(?:always\s+|long\s+|now\s+)?been(?![\w])"
                           r"|i\s+(?:(?:also|personally|now|still|strongly|proudly|openly|mostly|would|['’]d|might|do)\s+)?(?:self[\s-]?)?identify\s+(?:myself\s+)?as(?![\w])"
                           r"|i\s+(?:(?:would|['’]d|might|also|personally)\s+)?(?:consider|call|describe|define|see|regard|count)\s+myself(?:\s+(?:to\s+be|as))?(?![\w])"
                           r"|i\s+came\s+out\s+as(?![\w])|i\s+(?:also\s+)?happen\s+to\s+be(?![\w])|i\s+live\s+as(?![\w])|i\s*,(?=\s*(?:an?)\s)",
             _I_AM | {"i've", "i’ve", "i have", "ive", "i", *(f"i {w}" for w in "also personally now still strongly proudly openly mostly would might do self identify consider call describe define see regard count came happen live".split()), "i'd", "i’d"}),
            ("being", "en", r"being(?=\s)", {"being"}),
            ("as", "en", r"as(?=\s)", {"as"}),
            ("we", "en", r"(?:we\s*(?:['’]\s*re|\s+are)|and\s+i\s+are)(?![\w'’])", {"we", "and i are"}),
            ("you", "en", r"you\s*(?:['’]\s*re|\s+are|['’]\s*ll\s+be|\s+will\s+be)\s+(?:now\s+)?(?:talking|speaking|chatting|interacting|working)\s+(?:to|with)(?![\w])"
                          r"|you\s*(?:['’]\s*re|\s+are|['’]\s*ll\s+be|\s+will\s+be)\s+(?:now\s+)?(?:helping|assisting|advising|tutoring|serving|supporting|coaching|counseling|counselling|mentoring)(?![\w])",
             {"you are", "you're", "you’re", "you'll be", "you’ll be", "you will be", "youre"}),
            ("user", "en", rf"(?:(?:the|this|our|your|current)\s+)?(?:current\s+|end\s+|human\s+)?(?:{subjects}(?!\s+(?:you|who))|person\s+you\s*(?:['’]re|\s+are|\s+will\s+be)\s+(?:talking|speaking|chatting|working|interacting)\s+(?:to|with))(?=\s*(?:,|:|['’]s\s|\s+(?:is|identifies|describes|self-identifies|self\s+identifies|considers|happens|has\s+been)(?![\w])))",
             subject_phrases | {"current user", "end user", "human user", *subject_words, "the person you", "the person you're", "the person you’re"}),
            ("label", "en", r"(?:(?:user|customer|client|patient|member|student|caller)(?:['’]s)?\s+)?(?:profile|bio|description|background|summary|persona|info|details)\s*:",
             {"user", "customer", "client", "patient", "member", "student", "caller", "profile", "bio", "description", "background", "summary", "persona", "info", "details"}),
            ("pron", "en", r"(?:she|he|they)(?=\s*(?:['’]s|['’]re|\s+is|\s+are|\s+identifies)(?![\w]))",
             {"she is", "she's", "she’s", "he is", "he's", "he’s", "they are", "they're", "they’re", "she identifies", "he identifies", "they identify"}),
            ("at", "en", r"at\s+(?:the\s+age\s+of\s+|age\s+)?(?=\d)", {"at"}),
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
        starts = re.compile(r"(?<![\w'’])" + compile_words(written, tail=r"(?![\w])").pattern)
        return starts, {key: tuple(entries) for key, entries in dispatch.items()}

    # --- reading ----------------------------------------------------------------------------------

    def read(self, view: TextView, out: list[Found]) -> None:
        lowered = view.lowered
        dispatch = self._dispatch
        after = 0
        for start in self._starts.finditer(lowered):
            pos = start.start()
            if pos < after:
                continue
            for kind, lang, regex in dispatch[_fold_start(start.group())]:
                m = regex.match(lowered, pos)
                if m is not None:
                    _HANDLERS[kind](self, view, m, lang, out)
                    after = m.end()
                    break
        if "here" in lowered:
            self._read_here(view, out)

    def _read_here(self, view: TextView, out: list[Found]) -> None:
        """"Lifelong atheist here.", "Trans woman here, 31", "48M here": the forum self-introduction,
        a phrase at the start of a sentence followed by "here"."""
        lowered = view.lowered
        for m in _HERE.finditer(lowered):
            sent_start, _, _ = _bounds(lowered, m.start())
            start = sent_start
            while (w := _WORD.match(lowered, _SPACES.match(lowered, start).end())) and w.group() in _DISCOURSE and w.end() < m.start():
                start = w.end()
                while start < m.start() and lowered[start] in " ,\t":
                    start += 1
            start = _SPACES.match(lowered, start).end()
            if start >= m.start() or not self._own_words(view, start, "en"):
                continue
            hits, end = self._walk(view, start, "en", leading=True, anchor_start=start, strict=True)
            if not hits or lowered[end:m.start()].strip(" ,"):
                continue
            end = m.end()
            after = _HERE_AFTER.match(lowered, end)
            if after:
                more, more_end = self._walk(view, after.end(), "en", leading=True, anchor_start=start)
                if more and all(h[0] == "age" or h[2] < more_end for h in more):
                    hits += more
                    end = more_end
            self._emit(view, hits, start, end, out)

    # Each handler checks the context of its anchor, then reads what follows.

    def _on_self(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        if not self._own_words(view, a, lang):
            return
        anchor = m.group()
        negated = (lang == "es" and _ES_NEGATED.match(anchor) is not None) or (lang == "fr" and _FR_NEGATED.search(anchor) is not None)
        leading = _NOT_LEADING.search(anchor) is None
        hits, end = self._walk(view, m.end(), lang, leading=leading, negated=negated, anchor_start=a)
        if hits and view.lowered[end:end + 2].lstrip().startswith("?") and self._sentence_initial(view, a):
            return  # "I'm a man? No, ..."
        self._emit(view, hits, a, end, out)

    def _on_being(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        if not self._sentence_initial(view, a) or view.foreign(a):
            return
        hits, end = self._walk(view, m.end(), lang, leading=True, anchor_start=a)
        if hits and _FIRST_MAIN.match(view.lowered, end):
            self._emit(view, hits, a, end, out)

    def _on_as(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        lowered = view.lowered
        if view.foreign(a):
            return
        sent_start, clause_start, _ = _bounds(lowered, a)
        prefix_words = _WORD.findall(lowered, clause_start, a)
        initial = all(w in _DISCOURSE for w in prefix_words)
        if lang != "en":
            if not initial:
                return
            hits, end = self._walk(view, m.end(), lang, leading=False, anchor_start=a)
            self._emit(view, hits, a, end, out)
            return
        if not initial:
            if not self._as_after_first_person(lowered, sent_start, clause_start, a, prefix_words):
                return
        elif not self._own_words(view, a, lang):
            return
        hits, end = self._walk(view, m.end(), lang, leading=False, plural=True, anchor_start=a)
        if not hits:
            return
        plural_hits = [h for h in hits if h[4]]
        if plural_hits and not _WE_MAIN.match(lowered, end):
            hits = [h for h in hits if not h[4]]
        if initial and _main_subject_is_you(lowered, end):
            return  # "As a Jewish grandmother, you speak warmly": the assistant's persona, or generic "you"
        if _PAST_MAIN.match(lowered, end) or _PAST.search(lowered, sent_start, a):
            hits = [h for h in hits if h[0] != "age"]  # "As a kid, I loved ...": no longer true
        self._emit(view, hits, a, end, out)

    def _as_after_first_person(self, lowered: str, sent_start: int, clause_start: int, a: int, words: list[str]) -> bool:
        """"I'm asking as a mother", "speaking as a Black woman", "for me as a senior"; not "I see him as
        a brother", "I worked as a nurse", "answer as a Muslim would"."""
        if not words:
            return False
        last = words[-1]
        if last in ("speaking", "writing", "asking", "talking", "posting", "commenting", "here"):
            return True
        if len(words) >= 2 and words[-2] == "for" and last == "me":
            return True
        if last in _AS_EXCLUDED or last.endswith("ed") and last not in ("registered",):
            return False
        pronouns = [w for w in _WORD.findall(lowered, sent_start, a) if w in _PERSONAL]
        if not pronouns or pronouns[-1] not in _FIRST_PERSON_SUBJECTS:
            return False
        return not _PAST.search(lowered, sent_start, a)

    def _on_we(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        if not self._own_words(view, a, lang):
            return
        hits, end = self._walk(view, m.end(), lang, leading=False, plural=True, anchor_start=a)
        if hits and view.lowered.startswith("and", a):
            _, clause_start, _ = _bounds(view.lowered, a)
            a = _SPACES.match(view.lowered, clause_start).end()  # "My husband and I are both Hindu"
        self._emit(view, hits, a, end, out)

    def _on_you(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        if view.foreign(a):
            return
        hits, end = self._walk(view, m.end(), lang, leading=False, plural=True, anchor_start=a)
        if hits:
            self._emit(view, hits, a, end, out)
            view.user_statements.append(end)

    def _on_user(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        if not view.system or view.foreign(a):
            return
        before = _WORD.findall(view.lowered, max(0, a - 12), a)
        if before and before[-1] in _QUANTIFIERS:
            return
        copula = _USER_COPULA.match(view.lowered, m.end())
        if copula is None:
            return
        hits, end = self._walk(view, copula.end(), lang, leading=True, anchor_start=a)
        if hits:
            self._emit(view, hits, a, end, out)
            view.user_statements.append(end)

    def _on_label(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        """"Profile: 34-year-old gay man, software engineer" in a system message: a label, then a
        description of the user. Not when the label is the assistant's or a character's."""
        a = m.start()
        if not view.system or view.foreign(a):
            return
        label = m.group()
        if label.split()[0].rstrip(":") in ("persona", "info", "details", "background", "summary", "description") and len(label.split()) == 1:
            before = _WORD.findall(view.lowered, max(0, a - 20), a)
            if not before or before[-1] not in ("user", "user's", "customer", "client", "patient", "member"):
                return
        before = _WORD.findall(view.lowered, max(0, a - 20), a)
        if before and before[-1] in ("assistant", "assistant's", "bot", "bot's", "character", "character's", "your", "his", "her", "npc", "agent", "example", "sample"):
            return
        hits, end = self._walk(view, m.end(), lang, leading=True, anchor_start=a)
        if hits:
            self._emit(view, hits, a, end, out)
            view.user_statements.append(end)

    def _on_pron(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        if not view.system or not view.user_statements or a - view.user_statements[-1] > 400 or view.foreign(a):
            return
        copula = _PRONOUN_COPULA.match(view.lowered, m.end())
        if copula is None:
            return
        hits, end = self._walk(view, copula.end(), lang, leading=True, anchor_start=a)
        if hits:
            self._emit(view, hits, a, end, out)
            view.user_statements.append(end)

    def _on_at(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        if not self._sentence_initial(view, a) or view.foreign(a):
            return
        age = self._ages.phrase_at(view.lowered, m.end(), lang, leading=True)
        if age is None:
            return
        value, end = age
        if not _AFTER_AT.match(view.lowered, end) or _PAST_MAIN.match(view.lowered, end):
            return
        out.append(("age", value, a, end, m.end(), end))

    def _on_statement(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        lowered = view.lowered
        if not self._own_words(view, a, lang):
            return
        if lang == "es":
            before = _WORD.findall(lowered, max(0, a - 12), a)
            if before and before[-1] in ("no", "nunca", "jamás", "ni"):
                return
        found = self._which_statement(self._statement_values.get(lang, ()), lowered, a, m.end())
        if found and (found[0], found[1]) not in view.negated:
            axis, value, ts = found
            out.append((axis, value, a, m.end(), ts, m.end()))

    def _on_statement_and(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        """"I'm 76 and use a wheelchair": a statement whose subject, "I", came earlier in the clause."""
        lowered = view.lowered
        sent_start, _, _ = _bounds(lowered, m.start())
        pronouns = [w for w in _WORD.findall(lowered, sent_start, m.start()) if w in _PERSONAL]
        if pronouns and pronouns[-1] in _FIRST_PERSON_SUBJECTS:
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
        found = self._which_statement(self._third_values, lowered, m.start(), m.end())
        if found:
            axis, value, ts = found
            out.append((axis, value, a, m.end(), ts, m.end()))

    @staticmethod
    def _which_statement(
        candidates: list[tuple[re.Pattern[str], str, str]] | tuple[()], lowered: str, start: int, end: int
    ) -> tuple[str, str, int] | None:
        """Which value's statement ends at `end`: try each from every word start in the anchor."""
        for ws in [start] + [w.start() for w in _WORD.finditer(lowered, start, end)][1:]:
            for regex, axis, value in candidates:
                found = regex.match(lowered, ws)
                if found and found.end() == end:
                    return axis, value, ws
        return None

    def _on_pronouns(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        if view.foreign(a) and not view.lowered.startswith("pronouns", a):
            return
        if not self._own_words(view, a, lang, quotes_ok=True):
            return
        found = None
        for found in self._pronoun_set.finditer(view.lowered, a, m.end()):
            pass
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
        hits, end = self._walk(view, m.end(), lang, leading=False, anchor_start=a)
        self._emit(view, hits, a, end, out)

    def _about_user(self, view: TextView, a: int) -> bool:
        """In a system message, whether the sentence (or the line's label) before `a` is about the user,
        with no one else's possessive in between ("the user's brother identifies as ...")."""
        if not view.system or view.foreign(a):
            return False
        lowered = view.lowered
        sent_start, _, line_start = _bounds(lowered, a)
        cue = None
        for cue in _USER_CUE.finditer(lowered, min(sent_start, line_start), a):
            pass
        if cue is None:
            return False
        between = lowered[cue.end():a]
        return _SOMEONE_ELSES.search(between) is None

    def _on_reddit(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        """"I (25F) ...": age and gender in the forum convention."""
        a = m.start()
        if not self._own_words(view, a, lang):
            return
        inner = re.search(r"[(\[]\s*(.*?)\s*[)\]]", m.group())
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
        if letters in self._gender_letters:
            axis, value = self._gender_letters[letters]
            pos = body.find(letters)
            out.append((axis, value, a, m.end(), base + pos, base + pos + len(letters)))

    def _on_age_statement(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        a = m.start()
        if not self._own_words(view, a, lang):
            return
        regex = self._ages.statement_regex(lang)
        full = regex.match(view.lowered, a) if regex else None
        if full is None:
            return
        value = self._ages.statement_value(full, lang)
        if value:
            digits = re.search(r"\d+|[a-zäöüéèàçñ]+(?:[\s-]+[a-zäöüéèàçñ]+)*\s+(?:años|ans)", full.group())
            ts = a + (digits.start() if digits else 0)
            out.append(("age", value, a, full.end(), ts, full.end()))

    # --- context ------------------------------------------------------------------------------------

    def _own_words(self, view: TextView, a: int, lang: str, *, quotes_ok: bool = False) -> bool:
        """Whether a first-person statement at `a` is the speaker's own, present, real self-description."""
        if not quotes_ok and view.foreign(a):
            return False
        lowered = view.lowered
        sent_start, clause_start, line_start = _bounds(lowered, a)
        lex = LEXICONS[lang]
        clause_words = _WORD.findall(lowered, clause_start, a)
        for w in clause_words:
            if w in lex.hypothetical:
                return False
        clause = lowered[clause_start:a]
        if lang == "en":
            if _LET_SAY.search(clause) or _FICTION.search(lowered, sent_start, a):
                return False
            speech = None
            if not _SPEECH_WORDS.isdisjoint(_WORD.findall(lowered, max(sent_start, a - 120), a)):
                speech = _SPEECH.search(lowered, max(sent_start, a - 120), a)
            if speech and (speech.group("subj") not in _FIRST_PERSON_SUBJECTS or _speech_verb(speech.group()) in _SELF_DOUBT):
                return False
        elif any(w in _FOREIGN_SPEECH.get(lang, ()) for w in _WORD.findall(lowered, sent_start, a)):
            return False
        label = lowered[line_start:a]
        colon = label.find(":")
        if colon >= 0:
            name = label[:colon].strip(" *_#-\t")
            if name in _NON_USER_LABELS or any(w in _NON_USER_LABELS for w in name.split()[:1]) and len(name.split()) <= 2:
                return False
        return True

    def _sentence_initial(self, view: TextView, a: int) -> bool:
        lowered = view.lowered
        _, clause_start, _ = _bounds(lowered, a)
        return all(w in _DISCOURSE for w in _WORD.findall(lowered, clause_start, a))

    # --- the phrase walker --------------------------------------------------------------------------

    def _walk(
        self, view: TextView, pos: int, lang: str, *, leading: bool, plural: bool = False, negated: bool = False,
        anchor_start: int = 0, strict: bool = False,
    ) -> tuple[list[tuple[str, str, int, int, bool]], int]:
        """Read the phrase after an anchor. Returns the identities it states, as
        (axis, value, term start, term end, plural), and where the statement ends.

        An identity word is held as pending until the next token shows what it was doing: a
        boundary, another identity or a person noun confirms it ("a Black woman", "a Muslim nurse");
        an unknown word after it makes it tentative (see `resolve`); a clause verb after it shows it began a
        new clause ("... and a man is cooking"); a name after it shows it was part of the name
        ("Christian Bale")."""
        lowered, text = view.lowered, view.text
        n = len(lowered)
        english = lang == "en"
        lex = LEXICONS[lang]
        terms = self._terms[lang]
        info_of = self._info[lang]
        ages = self._ages
        starters = _CLAUSE_STARTERS.get(lang, frozenset())
        confirmed: list[tuple[str, str, int, int, bool]] = []
        # pending: (hit, head_only, needs_article)
        pending: list[tuple[tuple[str, str, int, int, bool], bool, bool]] = []
        tentative: list[tuple[str, str, int, int, bool]] = []
        tentative_words: list[str] = []  # the unknown words after a tentative identity word
        confirmed_heads: list[int] = []
        segment = 0  # index in `confirmed` where the current coordinated segment starts
        neg = negated
        past_next = False
        seen_det = False
        unknown = 0
        first = True
        after_coord = False
        last_end = pos
        i = pos

        head_end = [pos]  # end of the last unknown word after a tentative identity (the phrase's head)

        def resolve(person_follows: bool) -> None:
            """An identity word followed by unknown words, then a person noun or the end of the phrase.
            In "I'm a Presbyterian elder" the unknown word is the head, so a person; in "an Indian
            food lover", "a Christian rock fan", "a Christian school" the identity word describes a
            topic or an institution instead."""
            if tentative and tentative_words:
                topic = tentative_words[0] in _TOPIC_NOUNS
                head = tentative_words[-1]
                if not (strict or topic or head in _FAN_NOUNS or (not person_follows and head in _INSTITUTIONS)):
                    confirmed.extend(tentative)
                    confirmed_heads.append(head_end[0])
            tentative.clear()
            tentative_words.clear()

        def settle(kind: str) -> None:
            """The token after the pending identities decides whether they describe the speaker."""
            if kind == "boundary":
                confirmed.extend(h for h, _, _ in pending)
                resolve(False)
            elif kind == "generic":  # "person", "individual": even a head-only term may stand before it
                confirmed.extend(h for h, head_only, needs_article in pending if not (head_only and needs_article))
                resolve(True)
            elif kind == "person":
                confirmed.extend(h for h, head_only, _ in pending if not head_only)
                resolve(True)
            elif kind == "term":
                confirmed.extend(h for h, head_only, _ in pending if not head_only)
                resolve(True)
            elif kind == "unknown":
                tentative.extend(h for h, head_only, _ in pending if not head_only)
            elif kind == "clause":
                del confirmed[segment:]
                tentative.clear()
                tentative_words.clear()
            elif kind == "drop":
                tentative.clear()
                tentative_words.clear()
            pending.clear()

        def next_word(at: int) -> str | None:
            found = _WORD.match(lowered, _SPACES.match(lowered, at).end())
            return found.group() if found else None

        for _ in range(60):
            i = _SPACES.match(lowered, i).end()
            if i >= n:
                break
            ch = lowered[i]
            if ch == ",":
                nxt = next_word(i + 1)
                if nxt is None or nxt in starters or not (confirmed or pending or tentative or unknown or seen_det):
                    if pending or tentative:
                        settle("boundary")
                    break
                settle("boundary")
                segment = len(confirmed)
                seen_det = False
                after_coord = True
                i += 1
                continue
            if ch in "/&+" or (ch in "-\u2013\u2014" and i + 1 < n and lowered[i + 1] in " \t" and (confirmed or pending or unknown)):
                settle("boundary")
                segment = len(confirmed)
                seen_det = False
                after_coord = True
                i += 1
                continue
            if ch in "-\u2010\u2011" and i + 1 < n and lowered[i + 1].isalnum():
                i += 1
                continue
            if not ch.isalnum():
                break
            age_leading = (leading and first) or after_coord

            # A stated age ("72", "a 16-year-old", "in my 70s"), or the forum form "48M".
            if ages.enabled and (ch.isdigit() or age_leading or ch in "ostfndeqvcszi"):
                if age_leading and ch.isdigit() and (compact := _COMPACT.match(lowered, i)):
                    value = ages.value_for(int(compact.group(1)))
                    gender = self._gender_letters.get(compact.group(2))
                    settle("term")
                    if not (neg or past_next):
                        if value:
                            pending.append((("age", value, i, compact.start(2), False), False, False))
                        if gender:
                            pending.append(((gender[0], gender[1], compact.start(2), compact.end(), False), False, False))
                    first = after_coord = False
                    last_end = i = compact.end()
                    continue
                in_decade = ch == "i" and lowered.startswith(("in my ", "in his ", "in her ", "in their "), i)
                if ch != "i" or in_decade or (age_leading and lowered.startswith("in ", i)):
                    age = ages.phrase_at(lowered, i, lang, leading=age_leading or in_decade)
                    if age is not None:
                        settle("term")
                        if not (neg or past_next):
                            pending.append((("age", age[0], i, age[1], False), False, False))
                        past_next = first = after_coord = False
                        unknown = 0
                        last_end = i = age[1]
                        continue

            # An identity term.
            match = terms.match(lowered, i)
            is_plural = False
            if plural and english:
                plural_match = self._plural_terms.match(lowered, i)
                if plural_match and (match is None or plural_match.end() > match.end()):
                    match, is_plural = plural_match, True
            if match is not None:
                ts, te = match.span()
                info = (self._plural_info if is_plural else info_of).get(fold_match(match.group()))
                ok = info is not None and self._term_counts(view, info, ts, te, lang, seen_det, anchor_start)
                if ok and te + 1 < n and lowered[te] in "-\u2010\u2011" and lowered[te + 1].isalpha():
                    ok = self._hyphen_joins(lowered, te + 1, lang)
                    if not ok:
                        compound = _HYPHENATED.match(lowered, ts)
                        te = compound.end() if compound else te
                settle("term")
                first = after_coord = False
                if ok and info is not None:
                    if lowered.startswith(("'s", "’s"), te):
                        settle("clause")  # "a woman's rights advocate": someone else's
                        i = te + 2
                        continue
                    if not (neg or past_next):
                        pending.append(((info.axis, info.value, ts, te, is_plural), info.head_only, info.needs_article))
                    else:
                        view.negated.add((info.axis, info.value))
                    past_next = False
                    if info.core_person and next_word(te) in lex.of:
                        after = _WORD.match(lowered, _SPACES.match(lowered, te).end())
                        colour = next_word(after.end()) if after else None
                        if colour in ("color", "colour"):
                            settle("boundary")  # "a woman of color"
                            last_end = i = _WORD.match(lowered, _SPACES.match(lowered, after.end()).end()).end()  # type: ignore[union-attr]
                            continue
                        pending.clear()  # "a man of my word", "a child of the 80s"
                        break
                    last_end = i = te
                    continue
                past_next = False
                if unknown >= 2:
                    break
                unknown += 1
                i = te
                continue

            # Any other word.
            word_match = _HYPHENATED.match(lowered, i)
            if word_match is None or not (word_match.group() in lex.modifiers or word_match.group() in lex.person_nouns):
                word_match = _WORD.match(lowered, i)
            if word_match is None:
                break
            word = word_match.group()
            w_end = word_match.end()
            first = False
            coord_before, after_coord = after_coord, False
            if word in lex.determiners:
                if seen_det and not (pending or tentative) and not coord_before:
                    break
                seen_det = True
                after_coord = coord_before
                i = w_end
                continue
            if word in lex.negators:
                follow = next_word(w_end)
                if follow in ("only", "just", "merely", "simply", "solely"):
                    i = _WORD.match(lowered, _SPACES.match(lowered, w_end).end()).end()  # type: ignore[union-attr]
                    continue
                if pending or tentative:
                    settle("boundary")
                neg = True
                i = w_end
                continue
            if word in lex.past:
                if pending or tentative:
                    settle("boundary")
                past_next = True
                i = w_end
                continue
            if word in lex.contrast:
                settle("boundary")
                nxt = next_word(w_end)
                if not neg or nxt is None or nxt in starters:
                    break
                neg = False
                segment = len(confirmed)
                seen_det = False
                i = w_end
                continue
            if word in lex.alternatives:
                settle("boundary")
                if not neg:
                    break
                i = w_end
                continue
            if word in lex.coordinators:
                settle("boundary")
                nxt = next_word(w_end)
                if nxt is None or nxt in starters:
                    break
                segment = len(confirmed)
                seen_det = False
                after_coord = True
                i = w_end
                continue
            if english and word in ("kind", "sort") and lowered.startswith(" of", w_end):
                i = w_end + 3
                continue
            if english and word == "as":
                if next_word(w_end) == "well":
                    settle("boundary")
                    i = _WORD.match(lowered, _SPACES.match(lowered, w_end).end()).end()  # type: ignore[union-attr]
                    continue
                settle("drop")  # "white as a sheet", "blind as a bat"
                break
            if word in lex.modifiers:
                if word in _PROUD and _TO_BE.match(lowered, w_end):
                    w_end = lowered.index("be", w_end) + 2
                if pending or tentative:
                    settle("boundary")
                i = w_end
                continue
            if self._person_noun(word, lex, plural):
                settle("generic" if word in _GENERIC_WORDS else "person")
                if confirmed:
                    last_end = w_end
                i = w_end
                # "someone with cerebral palsy", "a woman with a disability"
                if english and next_word(w_end) == "with" and self._with_objects is not None:
                    at = _SPACES.match(lowered, _WORD.match(lowered, _SPACES.match(lowered, w_end).end()).end()).end()  # type: ignore[union-attr]
                    if (obj := self._with_objects.match(lowered, at)) is not None and not neg:
                        target = next(((a, v) for name, (a, v) in self._with_values.items() if obj.group(name)), None)
                        if target:
                            confirmed.append((target[0], target[1], obj.start(), obj.end(), False))
                            last_end = i = obj.end()
                            continue
                # "a member of the Cherokee Nation", "a follower of Christ"
                if word in _MEMBERSHIP and next_word(w_end) in lex.of:
                    i = _WORD.match(lowered, _SPACES.match(lowered, w_end).end()).end()  # type: ignore[union-attr]
                    if next_word(i) == "the":
                        i = _WORD.match(lowered, _SPACES.match(lowered, i).end()).end()  # type: ignore[union-attr]
                    seen_det = True
                continue
            if word in lex.relatives and (confirmed or pending):
                rel = _RELATIVE_COPULA.match(lowered, w_end)
                settle("boundary")
                if rel:
                    i = rel.end()
                    seen_det = False
                    continue
                break
            if plural and word in ("both", "all"):
                i = w_end
                continue
            if word in lex.clause_verbs:
                settle("clause" if (pending or segment > 0 or tentative) else "boundary")
                break
            if word in lex.stops or (english and word.endswith("ing") and len(word) > 4):
                settle("boundary")
                break
            # An unknown word: inside the phrase before any identity ("a hardworking Black mother"), or
            # after one. In English it decides whether the identity word named a person at all ("a
            # Christian rock fan"); in Spanish, French and German adjectives and verbs follow nouns
            # ("una mujer musulmana", "Als Christ frage ich"), so it just ends or continues the phrase.
            if pending or tentative:
                if not english:
                    settle("boundary")
                    unknown += 1
                    if unknown > 2:
                        break
                    i = w_end
                    continue
                if text[i].isupper() and any(text[h[2]].isupper() for h, _, _ in pending):
                    settle("drop")  # "Christian Bale", "White Sox": a name
                    break
                if pending:
                    settle("unknown")
                tentative_words.append(word)
                head_end[0] = w_end
                if len(tentative_words) > 2:
                    settle("drop")
                    break
            elif confirmed:
                break
            else:
                unknown += 1
                if unknown > 2:
                    break
            i = w_end
        if pending or tentative:
            settle("boundary")
        if not confirmed:
            return [], pos
        end = max(last_end, max(h[3] for h in confirmed), max(confirmed_heads, default=pos))
        return confirmed, end

    @staticmethod
    def _person_noun(word: str, lex: Lexicon, plural: bool) -> bool:
        if word in lex.person_nouns or (plural and word.endswith("s") and word[:-1] in lex.person_nouns):
            return True
        # open-class person nouns of English: "dentist", "librarian", "cardiologist"
        return lex.lang == "en" and len(word) > 5 and word.endswith(("ist", "ian", "ists", "ians"))

    def _term_counts(self, view: TextView, info: TermInfo, ts: int, te: int, lang: str, seen_det: bool, anchor_start: int) -> bool:
        text, lowered = view.text, view.lowered
        if info.match_case and text[ts:te].replace("-", "") != info.text.replace("-", ""):
            return False
        if info.needs_article and not seen_det:
            return False
        idioms = self._idioms.get(lang)
        if idioms is not None:
            if idioms.match(lowered, ts):
                return False
            prev = lowered.rfind(" ", max(0, ts - 12), ts - 1)
            if prev >= 0 and (found := idioms.match(lowered, prev + 1)) and found.end() > ts:
                return False
        if lang == "en" and fold_match(text[ts:te]) in _NAME_LIKE and text[ts].isupper():
            after = _WORD.match(text, _SPACES.match(text, te).end())
            if after and after.group()[:1].isupper() and after.group().lower() not in LEXICONS["en"].person_nouns \
                    and self._terms["en"].match(lowered, after.start()) is None:
                return False  # "Christian Bale"
            sent_start, _, _ = _bounds(lowered, anchor_start)
            if _GREETING.search(" " + lowered[sent_start:anchor_start]) and not seen_det:
                return False  # "Hi, I'm Christian."
        return True

    def _hyphen_joins(self, lowered: str, pos: int, lang: str) -> bool:
        """"African-American", "Chinese-American", "Black-Jewish": the hyphen joins identities.
        "gay-friendly", "Muslim-majority", "bi-curious": it makes a compound that is not one."""
        word = _WORD.match(lowered, pos)
        if word is None:
            return False
        w = word.group()
        return (
            w in LEXICONS[lang].person_nouns or w in ("american", "americans", "born", "identified", "identifying")
            or self._terms[lang].match(lowered, pos) is not None
            or self._ages.phrase_at(lowered, pos, lang, leading=False) is not None
        )

    def _emit(self, view: TextView, hits: list[tuple[str, str, int, int, bool]], start: int, end: int, out: list[Found]) -> None:
        if not hits:
            return
        place = _PLACE.match(view.text, end)
        if place:
            end = place.end()
        if len(hits) == 1:
            axis, value, ts, te, _ = hits[0]
            det = _DETERMINER_BEFORE.search(view.lowered, max(start, ts - 8), ts)
            if det:
                ts = det.start()
            head = _GENERIC_HEADS.match(view.lowered, te)
            if head and head.end() <= end:
                te = head.end()
            out.append((axis, value, start, end, ts, te))
            return
        for axis, value, ts, te, _ in hits:
            out.append((axis, value, start, end, ts, te))


_PERSONAL = frozenset("i i'm i’m im i've i’ve i'd i’d me myself you your he him she her they them we us it".split())
_TRIGGER_STOP = frozenset("a an the of in to my de la le en un une el y et und der die das with for as at on me con du des".split())


# Words too common to serve as a term's prefilter word when the term has a better one.
_COMMON = frozenset(
    """first under user day times five missing one two have has use get around need lost born without live with
    all any party person people school high old older young new american state free middle age little grade
    witness saint latter power higher god gods lord savior saviour keep go attend follow support belong vote
    always lean registered am my both an the a of in to as at on for with and not don't do no from by into one's
    can't cannot was were one's own is are it its this that who way left right lower""".split()
)


def _rarest(pieces: list[str]) -> str:
    pieces = [p for p in pieces if p not in _CONTRACTION_PIECES] or pieces
    good = [p for p in pieces if p not in _COMMON and p not in _TRIGGER_STOP and len(p) >= 3] or [p for p in pieces if len(p) > 3] or pieces
    return max(good, key=len)


_CONTRACTION_PIECES = frozenset("don doesn didn isn aren wasn weren can couldn won wouldn shouldn t s ve ll re m d".split())


_HERE_AFTER = re.compile(r"[ \t]*[,:(\u2014\u2013-][ \t]*")
_ES_NEGATED = re.compile(r"(?:yo\s+)?(?:no|ya\s+no|nunca|jamás)\s")
_FR_NEGATED = re.compile(r"\bne\b|n['’]")
_NOT_LEADING = re.compile(r"identif|consider|call|describe|define|see|regard|count|came|live|happen|bezeichne|betrachte|sehe|considère|définis|décris")
_WE_MAIN = re.compile(r"[ \t]*,?[ \t]*(?:we|us|our)(?![\w])")
_SOMEONE_ELSES = re.compile(r"['’]s\s|\b(?:his|her|their)\s+(?!pronouns)\w+\s+(?:is|identifies|uses)")
_TO_BE = re.compile(r"\s+to\s+be(?![\w])")
_RELATIVE_COPULA = re.compile(r"\s+(?:is|am|['’]s|es|est|ist)(?![\w])")
_I_AM = frozenset({"i'm", "i’m", "i am", "iam", "im"})
_ADVERB_WORDS = frozenset(
    "also still now currently actually really do always usually just personally regularly often mostly proudly even "
    "sometimes normally typically generally".split()
)


def _fold_start(matched: str) -> str:
    if " " not in matched and "'" not in matched and "’" not in matched and "-" not in matched:
        return matched
    return fold_match(matched)


def _bounds(lowered: str, a: int) -> tuple[int, int, int]:
    """(sentence start, clause start, line start) for the text before offset `a`, within 240 characters."""
    lo = max(0, a - 240)
    line_start = max(lo, lowered.rfind("\n", lo, a) + 1)
    sent = max(lowered.rfind(". ", line_start, a), lowered.rfind("! ", line_start, a), lowered.rfind("? ", line_start, a))
    sent_start = sent + 2 if sent >= 0 else line_start
    clause = max(lowered.rfind(",", sent_start, a), lowered.rfind(";", sent_start, a), lowered.rfind(":", sent_start, a),
                 lowered.rfind("(", sent_start, a), lowered.rfind("\u2014", sent_start, a), lowered.rfind(" - ", sent_start, a))
    conj = max(lowered.rfind(" but ", sent_start, a), lowered.rfind(" and ", sent_start, a), lowered.rfind(" so ", sent_start, a))
    clause_start = max(clause + 1 if clause >= 0 else sent_start, conj + 4 if conj >= 0 else sent_start)
    return sent_start, clause_start, line_start


def _main_subject_is_you(lowered: str, end: int) -> bool:
    """After "As a ..., ", is the main clause about "you"? Looks past the rest of the phrase to the comma."""
    if _YOU_MAIN.match(lowered, end):
        return True
    window = lowered[end:end + 80]
    comma = window.find(",")
    if comma < 0 or any(c in window[:comma] for c in ".!?\n"):
        return False
    return _YOU_MAIN.match(window, comma) is not None


def _speech_verb(matched: str) -> str:
    words = _WORD.findall(matched)
    verbs = [w for w in words[1:] if w not in ("me", "us", "him", "her", "them", "everyone", "people", "you", "others", "that")]
    return verbs[-1] if verbs else ""


def _fold_pronouns(text: str) -> str:
    return "/".join(p.strip() for p in text.lower().split("/"))


def _expansions(phrase: str) -> list[str]:
    """Every wording a taxonomy phrase allows ("use (a|my) wheelchair" -> "use a wheelchair", "use my wheelchair")."""
    tokens = re.findall(r"\([^()]*\)|[^\s()]+", phrase)
    results = [""]
    for tok in tokens:
        options = [a.strip() for a in tok[1:-1].split("|")] if tok.startswith("(") else [tok]
        results = [f"{r} {o}".strip() for r in results for o in options][:64]
    return results


def _gender_letters(taxonomy: Taxonomy) -> dict[str, tuple[str, str]]:
    letters: dict[str, tuple[str, str]] = {}
    if "gender" not in taxonomy.axes():
        return letters
    for value in taxonomy.axis("gender").values.values():
        for word in value.profile:
            if len(word) <= 2:
                letters.setdefault(word.lower(), ("gender", value.key))
    if taxonomy.has("gender", "non_binary"):
        letters.setdefault("nb", ("gender", "non_binary"))
    if taxonomy.has("gender", "transgender_man"):
        letters.setdefault("ftm", ("gender", "transgender_man"))
    if taxonomy.has("gender", "transgender_woman"):
        letters.setdefault("mtf", ("gender", "transgender_woman"))
    return letters


_HANDLERS = {
    "self": StatementReader._on_self,
    "being": StatementReader._on_being,
    "as": StatementReader._on_as,
    "we": StatementReader._on_we,
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
    "agest": StatementReader._on_age_statement,
}
