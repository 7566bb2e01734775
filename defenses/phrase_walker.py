"""Reading the phrase after an anchor ("I am", "as a", "the user is"), word by word.

The phrase may hold determiners, modifiers ("proud", "devout", "lifelong"), identity terms from the
taxonomy, stated ages, and person nouns ("voter", "nurse"); it ends at punctuation, a preposition, a
pronoun or a verb. Whether an identity word in it describes the speaker is decided by what follows
the word (see `walk`). Also here: the compiled term tables each language's phrases are read with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from defenses.age import AgeReader
from defenses.context import bounds
from defenses.lexicon import LEXICONS, Lexicon
from defenses.phrases import expansions, phrase_regex, plural
from defenses.taxonomy import LANGUAGES, Taxonomy
from defenses.textview import TextView
from defenses.wordlist_regex import compile_words, fold_match, spelling_variants

# An identity the phrase states: (axis, value, term start, term end, plural form used)
Hit = tuple[str, str, int, int, bool]


@dataclass(frozen=True, slots=True)
class TermInfo:
    axis: str
    value: str
    text: str
    head_only: bool
    needs_article: bool
    match_case: bool
    # a gendered person word that, followed by "of", makes an idiom ("a man of my word")
    core_person: bool
    # a head-only term that also counts right before a gendered person word ("an ace guy")
    before_person: bool


_TOPIC_NOUNS = frozenset(
    """food foods cuisine cooking recipes restaurant restaurants music rock pop rap gospel jazz art arts history
    literature film films cinema movie movies culture cultures studies politics rights issues affairs theology
    philosophy mythology league team market markets neighborhood neighbourhood district language languages name
    names holiday holidays festival festivals wedding weddings prayer prayers tradition traditions dance fashion
    style bar bars content news media books book novel novels poetry song songs jokes humor humour comedy dating""".split()
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
# Hyphenated modifiers whose first half is any word: "a Spanish-speaking Mexican woman", "a Texas-born Latina".
_COMPOUND_PARTICIPLES = frozenset("speaking born raised bred based educated identified identifying".split())
_PROUD = frozenset("proud happy glad lucky blessed honored honoured grateful".split())
_GENERIC_WORDS = frozenset("person individual human people persons individuals humans".split())
_MEMBERSHIP = frozenset("member members citizen citizens follower followers descendant descendants part".split())
_CORE_PERSON = frozenset("man woman guy lady gentleman child kid boy girl dude gal".split())
_NAME_LIKE = frozenset({"christian"})
_GREETING = re.compile(r"(?:^|\W)(?:hi|hello|hey|hiya|greetings|dear|good (?:morning|afternoon|evening)|my name is|name's|call me)\W")
_WORD = re.compile(r"[\w'’]+")
_HYPHENATED = re.compile(r"[\w'’]+(?:-[\w'’]+)+")
def skip_spaces(text: str, pos: int) -> int:
    """The offset after the spaces, tabs and no-break spaces at `pos`: a loop is cheaper than a regex call."""
    n = len(text)
    while pos < n and text[pos] in " \t\u00a0":
        pos += 1
    return pos


# Adverbs between "I'm" and a bare age ("I'm only 16"): the prefilter looks past them too.
SENTENCE_ADVERBS = frozenset("also just only still now currently actually really definitely technically".split())
_TRANS_WORDS = frozenset(("trans", "transgender", "transsexual"))
_TRANS_CODE = re.compile(r"[ \t]*(?:[(\[][ \t]*)?(?P<code>ftm|mtf|f2m|m2f)(?:[ \t]*[)\]])?(?![\w'’])")
_TO_BE = re.compile(r"\s+to\s+be(?![\w])")
_RELATIVE_CONTRACTIONS = frozenset(("who's", "who’s"))
_BEEN = re.compile(r"\s+(?:always\s+|long\s+)?been(?![\w])")
_SOMEONE = frozenset("someone somebody person individual one".split())
_RELATIVE_COPULA = re.compile(r"\s+(?:is|am|['’]s|es|est|ist)(?![\w])")
_NP_OPENERS = frozenset(
    "a an someone somebody one fellow devout proud practicing practising lifelong openly registered "
    "un una une ein eine einer person persona personne mensch individuo individu".split()
)
CLAUSE_STARTERS = {
    "en": frozenset("i i'm i’m im my me you your he she we they it this that there so because which who what "
                    "where when if but then please can could would will".split()),
    "es": frozenset("yo mi me tú tu él ella nosotros ellos que porque pero si cuando".split()),
    "fr": frozenset("je j' moi mon ma mes tu il elle nous vous ils elles que parce mais si quand".split()),
    "de": frozenset("ich mich mein meine du er sie wir ihr dass weil aber wenn".split()),
}


class PhraseWalker:
    """The term tables of every language, compiled once, and the walk over a phrase."""

    def __init__(self, taxonomy: Taxonomy, ages: AgeReader) -> None:
        self._ages = ages
        self._terms: dict[str, re.Pattern[str]] = {}
        self._info: dict[str, dict[str, TermInfo]] = {}
        self._idiom_firsts: dict[str, frozenset[str]] = {}
        self._idioms_by_first: dict[str, dict[str, re.Pattern[str]]] = {}
        self._idiom_starts: dict[str, re.Pattern[str] | None] = {}
        for lang in LANGUAGES:
            info: dict[str, TermInfo] = {}
            forms: set[str] = set()
            for value in taxonomy.all_values():
                for term in value.terms.get(lang, ()):
                    for form in spelling_variants(term.text, lang):
                        forms.add(form)
                        info.setdefault(fold_match(form), TermInfo(
                            value.axis, value.key, term.text, term.head_only, term.needs_article, term.match_case,
                            term.text.lower() in _CORE_PERSON, term.before_person,
                        ))
            self._terms[lang] = compile_words(forms)
            self._info[lang] = info
            idioms = taxonomy.idioms(lang)
            # An idiom can only start at one of its first words: trying the idioms only there keeps the
            # look-back around every identity word cheap.
            by_first: dict[str, list[str]] = {}
            for idiom in idioms:
                for first in {w.group() for e in expansions(idiom) if (w := _WORD.match(e.lower()))}:
                    by_first.setdefault(first, []).append(phrase_regex(idiom))
            # per first word, only the idioms that can start with it
            self._idioms_by_first[lang] = {w: re.compile("(?:" + "|".join(rs) + r")(?![\w])") for w, rs in by_first.items()}
            self._idiom_firsts[lang] = frozenset(by_first)
            firsts = sorted(self._idiom_firsts[lang], key=len, reverse=True)
            self._idiom_starts[lang] = re.compile(r"(?<![\w'’])(?:" + "|".join(map(re.escape, firsts)) + r")(?![\w'’])") if firsts else None
        # Plural forms, for "we are Muslims", "as Democrats, we ...", "you are talking to teenagers".
        plural_forms: set[str] = set()
        self._plural_info: dict[str, TermInfo] = {}
        for info_item in self._info["en"].values():
            form = plural(info_item.text)
            plural_forms.add(form)
            self._plural_info.setdefault(fold_match(form), info_item)
        self.plural_forms = frozenset(plural_forms)
        self._plural_terms = compile_words(plural_forms)
        # "someone with cerebral palsy": the objects of the statements that begin with "have".
        with_sources: list[str] = []
        self._with_values: dict[str, tuple[str, str]] = {}
        for value in taxonomy.all_values():
            for phrase in value.statements.get("en", ()):
                if phrase.lower().startswith("have "):
                    name = f"w{len(self._with_values)}"
                    with_sources.append(f"(?P<{name}>{phrase_regex(phrase[5:])})")
                    self._with_values[name] = (value.axis, value.key)
        self._with_objects = re.compile("(?:" + "|".join(with_sources) + r")(?![\w])") if with_sources else None
        self.gender_letters = gender_letters(taxonomy)
        self._gender_letters = self.gender_letters

    def np_starts(self, lowered: str, pos: int) -> bool:
        """Whether a noun phrase that could name an identity starts after `pos` ("as a ...", "as Muslims")."""
        at = skip_spaces(lowered, pos)
        word = _WORD.match(lowered, at)
        if word is None:
            return False
        if word.group() in _NP_OPENERS:
            return True
        return any(t.match(lowered, at) for t in self._terms.values()) or self._plural_terms.match(lowered, at) is not None

    def walk(
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
        starters = CLAUSE_STARTERS.get(lang, frozenset())
        state = _PhraseState(strict, pos)
        confirmed, pending, tentative, tentative_words = state.confirmed, state.pending, state.tentative, state.tentative_words
        settle = state.settle
        segment = 0  # index in `confirmed` where the current coordinated segment starts
        neg = negated
        past_next = False
        seen_det = False
        unknown = 0
        first = True
        after_coord = False
        last_end = pos
        i = pos
        generic_before = False  # the last word was "someone", "a person": "someone who is ..."

        ages_on = ages.enabled
        for _ in range(60):
            while i < n and lowered[i] in " \t\u00a0":  # skip_spaces, inlined: this runs for every token
                i += 1
            if i >= n:
                break
            ch = lowered[i]
            if ch == "," or ch in "/&+" or (ch in "-\u2013\u2014" and i + 1 < n and lowered[i + 1] in " \t" and (confirmed or pending or unknown)):
                if ch == ",":  # a comma lists more descriptions only if something was read and no clause follows
                    nxt = _next_word(lowered, i + 1)
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
            if ch in "-\u2010\u2011" and i + 1 < n and lowered[i + 1].isalnum():
                i += 1
                continue
            if not ch.isalnum():
                break
            age_leading = (leading and first) or after_coord

            # A stated age ("72", "a 16-year-old", "in my 70s"), or the forum form "48M".
            if ages_on and (ch.isdigit() or age_leading or ch in "ostfndeqvcszi" or (ch in "am" and not english)):
                if age_leading and ch.isdigit() and (compact := _COMPACT.match(lowered, i)):
                    value = ages.value_for(int(compact.group(1)))
                    gender = self._gender_letters.get(compact.group(2))
                    settle("term")
                    if not (neg or past_next):
                        if value:
                            pending.append((("age", value, i, compact.start(2), False), False, False, False))
                        if gender:
                            pending.append(((gender[0], gender[1], compact.start(2), compact.end(), False), False, False, False))
                    first = after_coord = False
                    last_end = i = compact.end()
                    continue
                in_decade = ch == "i" and lowered.startswith(("in my ", "in his ", "in her ", "in their ", "in our "), i)
                if ch != "i" or in_decade or (age_leading and lowered.startswith("in ", i)):
                    age = ages.phrase_at(lowered, i, lang, leading=age_leading or in_decade)
                    if age is not None:
                        settle("term")
                        if not (neg or past_next):
                            pending.append((("age", age[0], i, age[1], False), False, False, False))
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
                settle("term", gendered_next=ok and info is not None and info.core_person)
                first = after_coord = False
                if ok and info is not None:
                    if lowered.startswith(("'s", "’s"), te):
                        settle("clause", segment)  # "a woman's rights advocate": someone else's
                        i = te + 2
                        continue
                    if not (neg or past_next):
                        pending.append(((info.axis, info.value, ts, te, is_plural), info.head_only, info.needs_article, info.before_person))
                    else:
                        view.negated.add((info.axis, info.value))
                    past_next = False
                    if info.core_person and _next_word(lowered, te) in lex.of:
                        after = _WORD.match(lowered, skip_spaces(lowered, te))
                        colour = _next_word(lowered, after.end()) if after else None
                        if colour in ("color", "colour"):
                            settle("boundary")  # "a woman of color"
                            last_end = i = _WORD.match(lowered, skip_spaces(lowered, after.end())).end()  # type: ignore[union-attr]
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
            word_match = _WORD.match(lowered, i)
            if word_match is None:
                break
            if lowered.startswith("-", word_match.end()):  # "Spanish-speaking", "wheelchair-using": one word?
                hyphenated = _HYPHENATED.match(lowered, i)
                if hyphenated is not None and (
                    hyphenated.group() in lex.modifiers or hyphenated.group() in lex.person_nouns
                    or hyphenated.group().rsplit("-", 1)[1] in _COMPOUND_PARTICIPLES
                    or hyphenated.group().count("-") >= 2  # "a below-the-knee amputee", "a stay-at-home dad"
                ):
                    word_match = hyphenated
            word = word_match.group()
            w_end = word_match.end()
            was_first, first = first, False
            generic_before, after_generic = False, generic_before
            coord_before, after_coord = after_coord, False
            if english and word in _TRANS_WORDS and (code := _TRANS_CODE.match(lowered, w_end)) is not None:
                gender = self._gender_letters.get(code.group("code").replace("2", "t"))
                if gender is not None:  # "trans (ftm)", "trans mtf": which trans identity, in letters
                    settle("term")
                    if not (neg or past_next):
                        pending.append(((gender[0], gender[1], i, code.end(), False), False, False, False))
                    past_next = False
                    last_end = i = code.end()
                    continue
            if "-" in word and word.rsplit("-", 1)[1] in _COMPOUND_PARTICIPLES:
                if pending or tentative:  # "Spanish-speaking", "Texas-born": a modifier, whatever its first half
                    settle("boundary")
                i = w_end
                continue
            if word in lex.determiners:
                if seen_det and not (pending or tentative) and not coord_before:
                    break
                seen_det = True
                after_coord = coord_before
                i = w_end
                continue
            if word in lex.negators:
                follow = _next_word(lowered, w_end)
                if follow in ("only", "just", "merely", "simply", "solely"):
                    i = _WORD.match(lowered, skip_spaces(lowered, w_end)).end()  # type: ignore[union-attr]
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
                nxt = _next_word(lowered, w_end)
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
                    # "the user is a man or a woman": a choice between identities of one axis states neither
                    at = skip_spaces(lowered, w_end)
                    det = _WORD.match(lowered, at)
                    if det and det.group() in lex.determiners:
                        at = skip_spaces(lowered, det.end())
                    other = terms.match(lowered, at)
                    other_info = info_of.get(fold_match(other.group())) if other else None
                    if other_info is not None and any(h[0] == other_info.axis for h in confirmed[segment:]):
                        del confirmed[segment:]
                    break
                i = w_end
                continue
            if word in lex.coordinators:
                settle("boundary")
                nxt = _next_word(lowered, w_end)
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
                if _next_word(lowered, w_end) == "well":
                    settle("boundary")
                    i = _WORD.match(lowered, skip_spaces(lowered, w_end)).end()  # type: ignore[union-attr]
                    continue
                settle("drop")  # "white as a sheet", "blind as a bat"
                break
            if word in lex.modifiers:
                if word in _PROUD and _TO_BE.match(lowered, w_end):
                    w_end = lowered.index("be", w_end) + 2
                if pending or tentative:
                    settle("boundary")
                elif word in SENTENCE_ADVERBS:  # "I'm only 16", "I'm also 66": a bare age may still follow
                    first, after_coord = was_first, coord_before
                i = w_end
                continue
            if english and word.endswith(("'s", "’s")) and (confirmed or pending or tentative) and word not in _RELATIVE_CONTRACTIONS:
                settle("clause", segment)  # "a Jewish deli owner's nephew": the phrase so far is someone else
                segment = len(confirmed)
                i = w_end
                continue
            if self._person_noun(word, lex, plural):
                generic_before = word in _SOMEONE  # a relative clause may follow
                settle("generic" if word in _GENERIC_WORDS else "person")
                if confirmed:
                    last_end = w_end
                i = w_end
                # "someone with cerebral palsy", "a woman with a disability"
                if english and _next_word(lowered, w_end) == "with" and self._with_objects is not None:
                    at = skip_spaces(lowered, _WORD.match(lowered, skip_spaces(lowered, w_end)).end())  # type: ignore[union-attr]
                    if (obj := self._with_objects.match(lowered, at)) is not None and not neg:
                        target = next(((a, v) for name, (a, v) in self._with_values.items() if obj.group(name)), None)
                        if target:
                            confirmed.append((target[0], target[1], obj.start(), obj.end(), False))
                            last_end = i = obj.end()
                            continue
                # "a member of the Cherokee Nation", "a follower of Christ"
                if word in _MEMBERSHIP and _next_word(lowered, w_end) in lex.of:
                    i = _WORD.match(lowered, skip_spaces(lowered, w_end)).end()  # type: ignore[union-attr]
                    if _next_word(lowered, i) == "the":
                        i = _WORD.match(lowered, skip_spaces(lowered, i)).end()  # type: ignore[union-attr]
                    seen_det = True
                continue
            if english and word in _RELATIVE_CONTRACTIONS and (confirmed or pending or after_generic):
                # "a Black woman who's been passed over", "someone who's been in a wheelchair since 19"
                settle("boundary")
                been = _BEEN.match(lowered, w_end)
                i = been.end() if been else w_end
                seen_det = False
                if confirmed:
                    break
                continue
            if word in lex.relatives and (confirmed or pending or (after_generic and english)):
                rel = _RELATIVE_COPULA.match(lowered, w_end)
                settle("boundary")
                if rel:
                    i = rel.end()
                    seen_det = False
                    continue
                break
            if plural and word in ("both", "all"):
                first = was_first
                after_coord = True  # "we are both 65": a bare age may follow, as after "and"
                i = w_end
                continue
            if word in lex.clause_verbs:
                settle("clause" if (pending or segment > 0 or tentative) else "boundary", segment)
                break
            if word in lex.stops or (
                english and word.endswith("ing") and len(word) > 4
                and not (seen_det and not (confirmed or pending or tentative))  # "a nursing student", "a working mom"
            ):
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
                if text[i].isupper() and any(text[p[0][2]].isupper() for p in pending):
                    settle("drop")  # "Christian Bale", "White Sox": a name
                    break
                if pending:
                    settle("unknown")
                tentative_words.append(word)
                state.head_end = w_end
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
        end = max(last_end, max(h[3] for h in confirmed), max(state.confirmed_heads, default=pos))
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
        by_first = self._idioms_by_first.get(lang)
        if by_first:
            here = _WORD.match(lowered, ts)
            idioms = by_first.get(here.group()) if here is not None else None
            if idioms is not None and idioms.match(lowered, ts):
                return False
            # an idiom that starts a word or two earlier ("big kid", "the straight man")
            starts = self._idiom_starts[lang]
            if starts is not None:
                for word in starts.finditer(lowered, max(0, ts - 24), ts):
                    found = by_first[word.group()].match(lowered, word.start())
                    if found and found.end() > ts:
                        return False
        if lang == "en" and text[ts].isupper() and fold_match(text[ts:te]) in _NAME_LIKE:
            after = _WORD.match(text, skip_spaces(text, te))
            if after and after.group()[:1].isupper() and after.group().lower() not in LEXICONS["en"].person_nouns \
                    and after.group().lower() not in LEXICONS["en"].stops and self._terms["en"].match(lowered, after.start()) is None:
                return False  # "Christian Bale"
            sent_start, _, _ = bounds(lowered, anchor_start)
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



def _next_word(lowered: str, at: int) -> str | None:
    found = _WORD.match(lowered, skip_spaces(lowered, at))
    return found.group() if found else None


class _PhraseState:
    """What one walk has read so far: identities confirmed, pending (waiting for the next token) and
    tentative (followed by unknown words). An object rather than closures over the walk's locals:
    closures that call each other make a reference cycle per walk, which only the garbage collector frees."""

    __slots__ = ("strict", "confirmed", "pending", "tentative", "tentative_words", "confirmed_heads", "head_end")

    def __init__(self, strict: bool, pos: int) -> None:
        self.strict = strict
        self.confirmed: list[Hit] = []
        self.pending: list[tuple[Hit, bool, bool, bool]] = []  # (hit, head_only, needs_article, before_person)
        self.tentative: list[Hit] = []
        self.tentative_words: list[str] = []  # the unknown words after a tentative identity word
        self.confirmed_heads: list[int] = []
        self.head_end = pos  # end of the last unknown word after a tentative identity (the phrase's head)

    def resolve(self, person_follows: bool) -> None:
        """An identity word followed by unknown words, then a person noun or the end of the phrase.
        In "I'm a Presbyterian elder" the unknown word is the head, so a person; in "an Indian
        food lover", "a Christian rock fan", "a Christian school" the identity word describes a
        topic or an institution instead."""
        tentative, tentative_words = self.tentative, self.tentative_words
        if tentative and tentative_words:
            topic = tentative_words[0] in _TOPIC_NOUNS
            head = tentative_words[-1]
            if not (self.strict or topic or head in _FAN_NOUNS or (not person_follows and head in _INSTITUTIONS)):
                self.confirmed.extend(tentative)
                self.confirmed_heads.append(self.head_end)
        tentative.clear()
        tentative_words.clear()

    def settle(self, kind: str, segment: int = 0, gendered_next: bool = False) -> None:
        """The token after the pending identities decides whether they describe the speaker
        (`gendered_next`: that token is a gendered person word, "guy", "woman")."""
        pending, confirmed = self.pending, self.confirmed
        if kind == "boundary":
            confirmed.extend([p[0] for p in pending])
            self.resolve(False)
        elif kind == "generic":  # "person", "individual": even a head-only term may stand before it
            confirmed.extend([p[0] for p in pending if not (p[1] and p[2])])
            self.resolve(True)
        elif kind == "person" or kind == "term":
            confirmed.extend([p[0] for p in pending if not p[1] or (gendered_next and p[3])])
            self.resolve(True)
        elif kind == "unknown":
            self.tentative.extend([p[0] for p in pending if not p[1]])
        elif kind == "clause":
            del confirmed[segment:]
            self.tentative.clear()
            self.tentative_words.clear()
        elif kind == "drop":
            self.tentative.clear()
            self.tentative_words.clear()
        pending.clear()


def gender_letters(taxonomy: Taxonomy) -> dict[str, tuple[str, str]]:
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
