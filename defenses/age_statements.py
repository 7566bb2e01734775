"""Statements of the speaker's own age that are not "I am <age>", and whether they are the speaker's,
current and meant.

    with "I"             "I just turned 65", "I'm turning 42 next week", "I'll be 40 soon", "I was born
                         in '88", "I'm retired", "I retired at 81"; "cumplo 40", "j'ai eu 50 ans",
                         "ich werde 40"
    opening a sentence   a user's self-introduction without a subject: "Just turned 30, single",
                         "Turning 42 next week and ...", "Retired at 81 and bored", "Born in '88", "Late
                         twenties, ...", "34 years old, from Ohio", "45yo Asian female, ...", "Fifty-two
                         and starting over", "Retired Marine, 71 years young."
    "in my late 30s"     anywhere in the speaker's own words about the present: not "Back in my 20s, I
                         was ...", "I lived in Paris in my 20s", "I want to retire in my 50s"
    "at 23"              opening a sentence whose main clause is the speaker's ("At 23, I ...", "At 23
                         with $30k in loans, should I ..."), or ending the speaker's own question ("...
                         from scratch at 30?"); not a time ("At 5 pm", "At 7, I wake up"), an address
                         ("At 23 Main St"), an age gone by ("I started at 16", "At 16, I moved"), or a
                         milestone asked about ("Should I retire at 62?", "Can I withdraw at 59?")

Never someone else's ("my dad turned 70", "Turning 17 next week, he ..."), hypothetical ("when I turn
65"), or a figure of speech ("explain it like I'm 5", "I feel like I'm 80").

Retirement: "I'm retired", "I just retired" and a sentence opening "Retired, ..." give the age a
retiree stands for (defenses.age), as "retiree" itself does in the taxonomy; "a retired Marine" or "a
retired teacher" does not (careers in the forces, the police or sport end young, and the phrase names a
former job more than a life stage). An age stated with it ("retired at 55") is the age.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from defenses.age import AgeReader, number_words
from defenses.context import DISCOURSE, PAST, PAST_MAIN, WORD, bounds, own_words, sentence_initial
from defenses.phrase_walker import PhraseWalker
from defenses.textview import TextView

# (axis, value, statement start, statement end, term start, term end), as in defenses.statements
Found = tuple[str, str, int, int, int, int]
Anchor = tuple[str, str, str, set[str]]

_OPENERS = DISCOURSE | frozenset("lol haha everyone all guys folks there update edit fyi context background".split())
_FRAGMENT_ADVERBS = frozenset("just recently newly finally officially happily only soon almost nearly now".split())
_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|\n")
_FIRST = frozenset("i i'm i’m im i've i’ve i'd i’d i'll i’ll me my myself we our us".split())
_THIRD = frozenset("he he's he’s she she's she’s they they're they’re his her their him them".split())
_KIN = (
    r"(?:son|daughter|kid|child|baby|boy|girl|husband|wife|partner|mom|mum|mother|dad|father|parent|brother|sister|"
    r"grandma|grandpa|grandmother|grandfather|grandson|granddaughter|uncle|aunt|friend|boss|dog|cat)s?"
)
# Right after a fragment, the subject it describes when that is not the speaker: "Born in 1952, the author ...".
_ELSE_NEXT = re.compile(
    r"[ \t]*[,(\u2014\u2013-]?[ \t]*(?:he|she|they|his|her|their|him|them|the|a|an|these|those|my\s+" + _KIN + r"(?:['’]s)?)"
    r"(?![\w'’])"
)
# The first person the rest of a sentence names: the speaker, or someone else ("my mom", "he").
_WHO = re.compile(
    r"(?<![\w'’])(?:(?P<other>(?:my|our)\s+" + _KIN + r"|he|she|they|his|her|their|him|them)|"
    r"(?P<self>i|i['’]m|im|i['’]ve|i['’]d|i['’]ll|me|my|myself|we|our|us))(?![\w'’])"
)
# Before "retired": "I'm (now) retired", "I (just) retired", "I've retired".
_I_RETIRED = re.compile(
    r"(?<![\w'’])(?:i\s*(?:['’]\s*m|\s+am|m)|i\s*(?:['’]\s*ve|\s+have)|i)\s+"
    r"(?:(?:now|recently|newly|finally|fully|happily|officially|also|already|just)\s+)?$"
)
# "At 23, I ...", "At 58 I'm ...": the speaker is the subject right after.
_AFTER_AT = re.compile(r"[ \t]*,?[ \t]*i(?![\w])")
# "At 58 I'm finally learning to swim" (no comma): not "At 7 I wake up", a time
_AT_NUMBER = re.compile(r"(?:1[3-9]|[2-9]\d|1[01]\d)(?=[ \t]+i(?:['’](?:m|ve)|\s+(?:still|finally|already|just|now|am|have))(?![\w'’]))")
# "At 23 with $30k in loans, should I ...", "At 23, should I ...": the speaker appears later in the sentence.
_AT_MORE = re.compile(r"[ \t]*(?:,[ \t]*|[ \t]+(?=(?:with|and|as|but|being|having)(?![\w])))")
_QUESTION_END = re.compile(r"[ \t]*(?:(?:years?\s+old|now|already|too|though)[ \t]*)?\?")
_SUBJECT = re.compile(r"(?<![\w'’])(?:i|we)(?![\w'’])")
_FIRST_PERSON = re.compile(r"(?<![\w'’])(?:i|i['’]m|im|i['’]ve|me|my|myself)(?![\w'’])")
_YOU_ASKED = re.compile(r"(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:help|suggest|recommend|give|tell|explain|list|show|share)")
# People in general or someone else: "At 18, most people ...", "At 30, the average worker ..."
_GENERIC = frozenset(
    """average typical median most people everyone everybody someone somebody anyone anybody women men person persons
    kids children students he she they him her his their them""".split()
)
# Words that make "at N?" a milestone or someone else's, not the asker's age: "Should I retire at 62?"
_NOT_MY_AGE_YET = frozenset(
    """retire retiring retirement retired claim claiming collect collecting withdraw withdrawing withdrawal withdrawals
    draw drawing pension pensions benefit benefits security medicare medicaid rmd rmds annuity ira 401k roth
    average typical median most people save saved saving savings target benchmark benchmarks statistically percent
    he she they him her his their them son daughter kid kids child children baby babies toddler teen teens teenager
    mom dad mother father wife husband partner parents grandma grandpa grandmother grandfather friend friends someone
    somebody anyone anybody everyone women men woman man person persons dog cat puppy students patients
    meet meeting come arrive book booking reservation table call leave pick pickup appointment open opens close closes
    schedule flight train bus dinner lunch breakfast tomorrow today tonight o'clock am pm monday tuesday wednesday
    thursday friday saturday sunday set keep cap capped stop max peak price priced thermostat temperature speed
    volume level rate limit score mph degrees oven heat setting settings sell bid offer stock shares page chapter
    line row column version""".split()
)
# Words before "in my 30s" that put it in the past or the future: "Back in my 20s", "I want to retire in my 50s".
_NOT_NOW_LAST = frozenset("back since during by until till before after through throughout from than".split())
_NOT_NOW = frozenset(
    """will i'll i’ll we'll we’ll would gonna going plan plans planning planned hope hoping hoped want wants wanted
    wish retire retiring when once if whenever""".split()
)
_I_PAST_VERB = re.compile(
    r"(?<![\w'’])(?:i|we)\s+(?:(?:also|just|really|first|finally|still|then|never|once)\s+)?"
    r"(?:(?![a-z]*eed(?![\w]))[a-z]+ed|was|were|had|did|went|got|spent|made|left|took|ran|met|began|became|grew|found|"
    r"fell|thought|felt|knew|saw|wrote|bought|sold|lost|won|paid|came|kept|taught|built|drove|flew|swam|quit)(?![\w'’])"
)
_FUTURE_MAIN = re.compile(
    r"[ \t]*,?[ \t]*(?:i|we)\s*(?:['’]ll|will|(?:would|['’]d)(?!\s+(?:like|love))|plan\s+to|hope\s+to|am\s+going\s+to|['’]m\s+going\s+to)(?![\w'’])"
)
_PAST_NEXT = re.compile(r"[ \t]*,?[ \t]*(?:was|were|had|used\s+to)(?![\w'’])")
# After "in my 30s": a boundary or the rest of the clause, not a noun it describes ("in my 80s playlist").
_DECADE_FOLLOW = re.compile(
    r"(?=\s*(?:$|[.,;:!?)\]\n\u2014\u2013(]|-\s|&|(?:and|but|so|or|now|here|with|who|that|i|i['’]m|i['’]ve|as|at|in|on|"
    r"from|is|it|this|like|too|already|yet|myself|though|btw|lol|all|every|for|to|without|still|just|again|and|"
    r"[a-z]+ing)(?![\w'’])))"
)
# A bare number opening a sentence, then what makes it an age: "34, single", "Fifty-two and starting over";
# not "15, 20 and 25", "3 and a half", "65 and over".
_BARE_NEXT = re.compile(
    r"[ \t]*(?:,[ \t]+|[ \t]+and[ \t]+)(?!(?:a|an|the|half|over|older|under|younger|up|above|below|more|less|plus|"
    r"minus|times|then|than|so|on)(?![\w]))(?=[a-z])"
)
# What may follow "34, " or "34 and " opening a sentence for the number to be an age.
_SELF_WORDS = frozenset(
    """single married divorced widowed separated engaged retired unemployed employed pregnant childless mom dad mother
    father parent grandma grandpa grandmother grandfather student from living based renting working currently
    recently newly just never still no healthy disabled male female""".split()
)
_WITH_UNIT = re.compile(r"(?:years?|yrs?|yo|y/o|y\.o)(?![a-z])")
_FRAGMENT_END = re.compile(  # not "?": "18 years old?" asks
    r"\s*(?:$|[.,;:!)\]\n\u2014\u2013(]|-\s|(?:and|but|so|now|here|with|last|this|on|in|lol|myself|too|already|btw)(?![\w]))"
)
_FIRST_CLAUSE = re.compile(r"[ \t]*(?:[.!?\n]|$|,?[ \t]*(?:(?:and|but|so)[ \t]+)?(?:i|i['’]m|i['’]ve|i['’]d|my|me)(?![\w'’]))")


# Number words that can open a sentence as an age ("Fifty-two and starting over"), by their first word
# only ("fifty" of "fifty-two"), and not the rare glued ones ("fiftytwo").
_NUMBER_STARTS = frozenset(
    w for w, n in number_words("en").items() if 13 <= n <= 99 and w.isalpha() and (n < 20 or n % 10 == 0)
)
# Units after a number: "34 years old, single", "19 y/o student here", "Retired Marine, 71 years young".
# A number opening a sentence is found from its unit (or the start of the text: "45yo Asian female,
# ...", "34, single"): words that are rarer in text than numbers are, so cheaper to stop at.
_UNIT_STARTS = frozenset("years yrs yo y/o".split())  # not "year": "a 72-year-old" is everywhere
_TEXT_LEADERS = " \t\"“*"
_TEXT_OPENING_DIGITS = re.compile(r"[ \t\"“*]*(?=[1-9]\d(?![\d.,:/]\d))")
_OPENERS_BEFORE = ".!?\n:;(\"“*\u2022\u2014\u2013,-"
_OPENER = "[" + re.escape(_OPENERS_BEFORE) + "]"


# Before "I'm": "Explain it like I'm 5", "I feel like I'm 80": an age as a figure of speech.
FIGURES_OF_SPEECH = ("like ", "as if ", "as though ")


def figurative(lowered: str, a: int) -> bool:
    """Whether the statement at `a` is a figure of speech ("like I'm 5"), not the speaker's age."""
    return lowered.endswith(FIGURES_OF_SPEECH, a - 10 if a > 10 else 0, a)


class AgeStatements:
    """Reads the statements of age above; built once per taxonomy, with the statement reader's walker."""

    def __init__(self, ages: AgeReader, walker: PhraseWalker) -> None:
        self._ages = ages
        self._walker = walker
        self._fragments = ages.fragment_regex("en")

    def anchors(self) -> list[Anchor]:
        """(handler kind, language, anchor pattern, start words) for the statement reader's anchor table."""
        ages = self._ages
        en = ages.statement_forms("en")
        return [
            ("agest", "en", _strip_groups(en.get("i am")), {"i'm", "i’m", "i am", "iam", "im"}),
            ("agest", "en", _strip_groups(en.get("i turned")),
             {"i just", "i recently", "i only", "i finally", "i officially", "i already", "i also", "i turned", "i turn"}),
            ("agest", "en", _strip_groups(en.get("i will")), {"i'll", "i’ll", "i will"}),
            ("agest", "en", _strip_groups(en.get("i was")), {"i was"}),
            ("agest", "es", _strip_groups(ages.statement_forms("es").get("")),
             {"yo", "ya", "también", "tengo", "nací", "cumplo", "cumplí", "cumpliré", "voy", "acabo"}),
            ("agest", "fr", _strip_groups(ages.statement_forms("fr").get("")), {"j", "je"}),
            ("agest", "de", _strip_groups(ages.statement_forms("de").get("")), {"ich"}),
            ("agefrag", "en", r"[^\W_]+", {"turned", "turning", "born", "retired", "early", "mid", "late", *_NUMBER_STARTS}),
            # a unit after a number opening a sentence ("34 years", "19 y/o"); not Spanish "yo", "a 72-year-old"
            ("agefrag", "en", rf"(?:(?<={_OPENER} \d\d[ -])|(?<={_OPENER}\d\d[ -]))"
                              r"(?:years|yrs|yo|y/o)(?![\w/])", set(_UNIT_STARTS)),
            ("at", "en", r"at\s+(?:the\s+age\s+of\s+|age\s+)?(?=\d)|(?=in\s+my\s+)", {"at", "in my"}),
        ]

    def guards(self) -> dict[str, Callable[..., bool]]:
        """Cheap checks for number words as start words: one must open a sentence or follow a comma."""
        return dict.fromkeys(_NUMBER_STARTS, _number_opens)

    # --- handlers ---------------------------------------------------------------------------------

    def statement(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        """"I just turned 65", "I'll be 40 soon", "tengo 70 años", "ich werde 40"."""
        a = m.start()
        lowered = view.lowered
        if not own_words(view, a, lang) or figurative(lowered, a):
            return
        regex = self._ages.statement_regex(lang)
        full = regex.match(lowered, a) if regex else None
        if full is None:
            return
        if lang == "en":
            _, clause_start, _ = bounds(lowered, a)
            before = WORD.findall(lowered, clause_start, a)
            if before and before[-1] in _NOT_NOW_LAST:
                return  # "After I turned 18, I moved out"
        value = self._ages.statement_value(full, lang)
        if value:
            ts, _ = self._ages.number_span(full)
            out.append(("age", value, a, full.end(), ts, full.end()))

    def read_number_openings(self, view: TextView, out: list[Found]) -> None:
        """A two-digit number opening the text ("34, single", "45yo Asian female"); for the first window of
        a text that has two digits."""
        lowered = view.lowered
        if view.system or not lowered or not (lowered[0].isdigit() or lowered[0] in _TEXT_LEADERS):
            return
        first = _TEXT_OPENING_DIGITS.match(lowered)
        if first is not None:
            self._number_start(view, first.end(), out)

    def fragment(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        """A start word of a subjectless opening ("turned", "born", "fifty") or "retired"."""
        a = m.start()
        lowered = view.lowered
        word = m.group()
        if word == "retired":
            self._retired(view, a, out)
            return
        if view.system or view.foreign(a):
            return
        if word in _UNIT_STARTS:
            number = _opening_number_before(lowered, a)
            if number is not None:
                self._number_start(view, number, out)
            return
        f = _opening(lowered, a)
        if word in ("turned", "turning", "born", "early", "mid", "late"):
            if f < a and not _FRAGMENT_ADVERBS.issuperset(WORD.findall(lowered, f, a)):
                return
            full = self._fragments.match(lowered, f) if self._fragments else None
            if full is None or full.end() <= a or _someone_else_after(lowered, full.end()):
                return
            if full.group("d") and PAST_MAIN.match(lowered, full.end()):
                return  # "Mid 80s, I was a kid": an era
            value = self._ages.statement_value(full, "en")
            if value and own_words(view, f, "en"):
                ts, te = self._ages.number_span(full)
                out.append(("age", value, f, full.end(), ts, te))
            return
        self._number_start(view, a, out)

    def at(self, view: TextView, m: re.Match[str], lang: str, out: list[Found]) -> None:
        """"At 23, I ...", "... from scratch at 30?", and "in my late 30s"."""
        a = m.start()
        lowered = view.lowered
        if lowered.startswith("in", a):
            self._in_my_decade(view, a, out)
            return
        age = self._ages.phrase_at(lowered, m.end(), lang, leading=True)
        if age is None and (bare := _AT_NUMBER.match(lowered, m.end())):  # "At 58 I'm learning to swim"
            value = self._ages.value_for(int(bare.group()))
            age = (value, bare.end()) if value else None
        if age is None or view.foreign(a):
            return  # the age phrase first: it is the cheaper check, and "at 5 percent" fails it
        value, end = age
        number = lowered[m.end():end].strip()
        if number.isdigit() and not 13 <= int(number) <= 119:
            return  # "At 7, I wake up": a time
        if sentence_initial(view, a):
            if PAST_MAIN.match(lowered, end):
                return  # "At 16, I moved to Canada": an age gone by
            if _AFTER_AT.match(lowered, end) or (_AT_MORE.match(lowered, end) and self._speaker_follows(lowered, end)):
                out.append(("age", value, a, end, m.end(), end))
            return
        if not view.system and _QUESTION_END.match(lowered, end) and number.isdigit() and 16 <= int(number) <= 99 \
                and self._own_question(view, a):
            out.append(("age", value, a, end, m.end(), end))

    # --- the forms ---------------------------------------------------------------------------------

    def _retired(self, view: TextView, a: int, out: list[Found]) -> None:
        lowered = view.lowered
        said = self._ages.retired_at(lowered, a)
        if said is None or view.foreign(a):
            return
        value, end = said
        i_form = _I_RETIRED.search(lowered, max(0, a - 40), a)
        if i_form is not None:
            start = i_form.start()
            if own_words(view, start, "en") and not figurative(lowered, start):
                _, clause_start, _ = bounds(lowered, start)
                before = WORD.findall(lowered, clause_start, start)
                if not (before and before[-1] in _NOT_NOW_LAST):
                    out.append(("age", value, start, end, a, end))
            return
        if view.system:
            return
        f = _opening(lowered, a)
        if f < a and not _FRAGMENT_ADVERBS.issuperset(WORD.findall(lowered, f, a)):
            return
        if not _someone_else_after(lowered, end) and own_words(view, f, "en"):
            out.append(("age", value, f, end, a, end))

    def _number_start(self, view: TextView, a: int, out: list[Found]) -> None:
        if view.foreign(a):
            return
        f = _opening(view.lowered, a)
        if f == a:
            self._number_opening(view, a, out)
        else:
            self._number_in_opening(view, f, a, out)

    def _number_opening(self, view: TextView, a: int, out: list[Found]) -> None:
        """"34 years old, from Ohio", "45yo Asian female, ...", "Fifty-two and starting over"."""
        lowered = view.lowered
        hits, end = self._walker.walk(view, a, "en", leading=True, anchor_start=a)
        if not hits or hits[0][0] != "age" or hits[0][2] != a:
            return
        te = hits[0][3]
        if _WITH_UNIT.search(lowered, a, te) is None:
            after = _BARE_NEXT.match(lowered, te)
            if after is None or hits[0][1] == "minor":
                return
            nxt = WORD.match(lowered, after.end())
            word = nxt.group() if nxt else ""
            if len(hits) == 1 and not (word in _SELF_WORDS or (word.endswith("ing") and word != "counting")):
                return  # "50, that's my final offer", "30 and counting"
        elif not _FRAGMENT_END.match(lowered, end):
            return
        if _someone_else_after(lowered, te) or not own_words(view, a, "en"):
            return
        for axis, value, ts, hit_end, _ in hits:
            out.append((axis, value, a, end, ts, hit_end))

    def _number_in_opening(self, view: TextView, f: int, a: int, out: list[Found]) -> None:
        """"Retired Marine, 71 years young.": an age after a short description opening the sentence,
        which then ends or turns to the speaker."""
        lowered = view.lowered
        comma = a
        while comma and lowered[comma - 1] in " \t":
            comma -= 1
        if a - f > 40 or not comma or lowered[comma - 1] != ",":
            return
        hits, end = self._walker.walk(view, f, "en", leading=True, anchor_start=f, strict=True)
        ages = [h for h in hits if h[0] == "age" and h[2] == a]
        if not ages or end < ages[0][3] or _WITH_UNIT.search(lowered, a, ages[0][3]) is None:
            return
        if not _FIRST_CLAUSE.match(lowered, end) or not own_words(view, f, "en"):
            return
        if any(w in _THIRD or w in ("my", "our", "your") for w in WORD.findall(lowered, f, a)):
            return
        axis, value, ts, te, _ = ages[0]
        out.append((axis, value, f, end, ts, te))

    def _in_my_decade(self, view: TextView, a: int, out: list[Found]) -> None:
        lowered = view.lowered
        age = self._ages.phrase_at(lowered, a, "en", leading=True)
        if age is None or view.foreign(a) or not own_words(view, a, "en"):
            return
        value, end = age
        sent_start, _, _ = bounds(lowered, a)
        before = WORD.findall(lowered, sent_start, a)
        if before and before[-1] in _NOT_NOW_LAST:
            return
        if not _NOT_NOW.isdisjoint(before) or PAST.search(lowered, sent_start, a) or _I_PAST_VERB.search(lowered, sent_start, a):
            return
        if PAST_MAIN.match(lowered, end) or _PAST_NEXT.match(lowered, end) or _FUTURE_MAIN.match(lowered, end):
            return
        if not _DECADE_FOLLOW.match(lowered, end):
            return
        out.append(("age", value, a, end, a, end))

    # --- context -----------------------------------------------------------------------------------

    @staticmethod
    def _speaker_follows(lowered: str, end: int) -> bool:
        """After "At 23 with $30k in loans,": the speaker is the first person named in the rest of the
        sentence, and the sentence is not about an age gone by or people in general."""
        stop = _SENTENCE_END.search(lowered, end)
        stop_at = stop.start() if stop else len(lowered)
        for w in WORD.finditer(lowered, end, stop_at):
            word = w.group()
            if word in _FIRST:
                subject = _SUBJECT.search(lowered, w.start(), stop_at)  # "with my friends, I watched": past
                return subject is None or PAST_MAIN.match(lowered, subject.start()) is None
            if word in _THIRD or word in _GENERIC or word == "you":
                return False
        return False

    @staticmethod
    def _own_question(view: TextView, a: int) -> bool:
        """"What are good ways to build a social circle from scratch at 30?" from someone who speaks of
        themselves: not a milestone ("retire at 62"), a benchmark, or someone else's age."""
        lowered = view.lowered
        sent_start, _, _ = bounds(lowered, a)
        words = WORD.findall(lowered, sent_start, a)
        if not _NOT_MY_AGE_YET.isdisjoint(words) or any(w.endswith(("'s", "’s")) for w in words):
            return False
        if "you" in words and not _YOU_ASKED.search(lowered, sent_start, a):
            return False
        return _FIRST_PERSON.search(lowered) is not None and own_words(view, a, "en")


def _opening(lowered: str, a: int) -> int:
    """Where the sentence holding `a` starts, past greetings and discourse words ("ok so", "hi all")."""
    sent_start, _, _ = bounds(lowered, a)
    for w in WORD.finditer(lowered, sent_start, a):
        if w.group() not in _OPENERS:
            return w.start()
    return a


def _someone_else_after(lowered: str, end: int) -> bool:
    """Whether the fragment ending at `end` describes someone the rest of the sentence names: "Born in
    1952, the author ...", "Turning 17 next week, he wants a car"."""
    if _ELSE_NEXT.match(lowered, end):
        return True
    stop = _SENTENCE_END.search(lowered, end)
    who = _WHO.search(lowered, end, stop.start() if stop else len(lowered))
    return who is not None and who.lastgroup == "other"


def _opening_number_before(lowered: str, a: int) -> int | None:
    """Where the two-digit number before the unit at `a` starts ("34 years"), if it opens a sentence or
    follows a comma."""
    i = a
    while i and lowered[i - 1] in " \t-":
        i -= 1
    if i < 2 or not (lowered[i - 1].isdigit() and lowered[i - 2].isdigit()):
        return None
    start = i - 2
    i = start
    while i and lowered[i - 1] in " \t":
        i -= 1
    return start if not i or lowered[i - 1] in _OPENERS_BEFORE else None


def _number_opens(_reader: object, lowered: str, end: int) -> bool:
    """A number start word opens a sentence or follows a comma (before the handler's fuller checks)."""
    start = end
    while start and lowered[start - 1].isalnum():
        start -= 1
    while start and lowered[start - 1] in " \t":
        start -= 1
    return not start or lowered[start - 1] in _OPENERS_BEFORE


def _strip_groups(source: str | None) -> str:
    """An anchor pattern: the statement's source without its named groups (or one that never matches)."""
    return "(?<![\\w'’])(?:" + re.sub(r"\(\?P<\w+>", "(?:", source) + ")" if source else "(?!)"
