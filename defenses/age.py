"""Stated ages ("I'm 72", "a 16-year-old", "in my late 40s", "tengo 70 años") and the bands they fall in.

The bands come from the taxonomy's age values (`ages: [lowest, highest]`); the built-in ones are

    minor            0-12   (the word "minor"/"underage", and "under 18", also map to minor)
    teenager        13-19
    adult           20-39   ("over 18" and "over 21" also map to adult)
    middle_aged     40-64
    senior_citizen  65+

A stated age falls in the narrowest band that holds it. Decades use a representative age: "in my
20s" is 25, "early" 22, "late" 28 ("in my 60s" -> 65 -> senior_citizen, "early 60s" -> middle_aged).
School grades map to grade + 5 years ("in 10th grade" -> 15). A birth year counts from this year
("born in '88" is 1988, "in '05" 2005); a birth decade ("born in the 90s") gives a band only when the
whole decade falls in one. A birthday close enough to name ("I'm turning 42 next week", "I turn 65 in
May", "I'll be 40 soon") counts as the age named: people already speak of themselves by it; one
years away ("I'll be 65 in 10 years", "by then") is no statement of age now. Retirement without an age ("I'm
retired", "Retired, and bored") counts as 65, the age "retiree" stands for; "retired at 81" as 81.
Languages: English (digits and number words, "fourty" and "ninty" too), Spanish, French and German
(digits and number words). Whose age it is, and whether it is current, is decided by the reader that
found the statement (defenses.age_statements).
"""

from __future__ import annotations

import datetime
import re

from defenses.taxonomy import Taxonomy
from defenses.wordlist_regex import trie_pattern

_EN_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_EN_TENS = {20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty", 70: "seventy", 80: "eighty", 90: "ninety"}
_ES_UNITS = "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciséis diecisiete dieciocho diecinueve veinte".split()
_ES_TWENTIES = "veintiuno veintidós veintitrés veinticuatro veinticinco veintiséis veintisiete veintiocho veintinueve".split()
_ES_TENS = {30: "treinta", 40: "cuarenta", 50: "cincuenta", 60: "sesenta", 70: "setenta", 80: "ochenta", 90: "noventa"}
_FR_UNITS = "zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize dix-sept dix-huit dix-neuf".split()
_FR_TENS = {20: "vingt", 30: "trente", 40: "quarante", 50: "cinquante", 60: "soixante"}
_DE_UNITS = "null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn vierzehn fünfzehn sechzehn siebzehn achtzehn neunzehn".split()
_DE_TENS = {20: "zwanzig", 30: "dreißig", 40: "vierzig", 50: "fünfzig", 60: "sechzig", 70: "siebzig", 80: "achtzig", 90: "neunzig"}
_ORDINALS = "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split()
# Words other than numbers an English age phrase opens with ("in my 70s", "early 30s", "over 65").
_EN_OPENERS = frozenset(
    "in early mid late over under almost nearly about around roughly past above below barely just".split()
)
_EN_MISSPELT_TENS = {40: "fourty", 90: "ninty"}  # as often written
_DECADES = {"twenties": 20, "thirties": 30, "forties": 40, "fifties": 50, "sixties": 60, "seventies": 70, "eighties": 80, "nineties": 90,
            "zwanzig": 20, "dreißig": 30, "dreissig": 30, "vierzig": 40, "fünfzig": 50, "sechzig": 60, "siebzig": 70, "achtzig": 80,
            "neunzig": 90}


def number_words(lang: str) -> dict[str, int]:
    """Number words of `lang` (es, fr, de, en) up to 100 -> their value."""
    words: dict[str, int] = {}
    if lang == "en":
        words.update({w: i for i, w in enumerate(_EN_UNITS)})
        for tens, w in _EN_TENS.items():
            words[w] = tens
            for unit in range(1, 10):
                for sep in ("-", " ", ""):
                    words[f"{w}{sep}{_EN_UNITS[unit]}"] = tens + unit
        for tens, w in _EN_MISSPELT_TENS.items():
            words[w] = tens
            for unit in range(1, 10):
                for sep in ("-", " ", ""):
                    words[f"{w}{sep}{_EN_UNITS[unit]}"] = tens + unit
        words["ninteen"] = 19
        words["a hundred"] = words["one hundred"] = words["hundred"] = 100
    elif lang == "es":
        words.update({w: i for i, w in enumerate(_ES_UNITS)})
        words.update({w: 21 + i for i, w in enumerate(_ES_TWENTIES)})
        for tens, w in _ES_TENS.items():
            words[w] = tens
            for unit in range(1, 10):
                words[f"{w} y {_ES_UNITS[unit]}"] = tens + unit
        words["cien"] = 100
    elif lang == "fr":
        words.update({w: i for i, w in enumerate(_FR_UNITS)})
        for tens, w in _FR_TENS.items():
            words[w] = tens
            words[f"{w} et un"] = words[f"{w}-et-un"] = tens + 1
            for unit in range(2, 10):
                words[f"{w}-{_FR_UNITS[unit]}"] = tens + unit
        for unit in range(0, 20):
            words[f"soixante-{_FR_UNITS[unit]}" if unit != 11 else "soixante et onze"] = 60 + unit
        words["soixante-et-onze"] = 71
        words["quatre-vingts"] = words["quatre-vingt"] = 80
        for unit in range(1, 20):
            words[f"quatre-vingt-{_FR_UNITS[unit]}"] = 80 + unit
        words["cent"] = 100
    elif lang == "de":
        words.update({w: i for i, w in enumerate(_DE_UNITS)})
        words["ein"] = 1
        for tens, w in _DE_TENS.items():
            words[w] = tens
            for unit in range(1, 10):
                unit_word = "ein" if unit == 1 else _DE_UNITS[unit]
                words[f"{unit_word}und{w}"] = tens + unit
        words["hundert"] = words["einhundert"] = 100
    return words


def _num(lang: str, group: str = "n") -> str:
    words = sorted(number_words(lang))
    return rf"(?P<{group}>\d{{1,3}}|" + trie_pattern([w.replace(" ", "\x00").replace("-", "\x00") for w in words]) + ")"


# After a bare number ("I'm 72"), only these may follow; anything else ("I'm 100% sure", "I'm 30
# minutes away", "I'm 5'10") means the number is not an age.
_EN_BARE_FOLLOW = (
    r"(?=\s*(?:$|[.,;:!?)\]\n\u2014\u2013]|-(?!\d)|\s-\s|(?:and|but|so|now|this|today|yet|too|already|myself|going|"
    r"turning|with|though|btw|lol|haha|soon|next|male|female|[mf])(?![\w/])))"
)
# After "over 65", "about 40": the same, and a few more words; not "about 8 months", "almost 30 years into".
_EN_COMPARED_FOLLOW = (
    r"(?=\s*(?:$|[.,;:!?)\]\n\u2014\u2013]|-(?!\d)|\s-\s|(?:and|but|so|now|this|today|yet|too|already|myself|going|"
    r"turning|with|though|btw|lol|haha|soon|next|male|female|in|on|at|from|who|living|here|[mf])(?![\w/])))"
)
# Things counted or measured, not years of age: "turned 90 degrees", "I'll turn 5 pages".
_UNITS = (
    r"(?:degrees?|°|percent|pages?|cards?|points?|times|seconds?|secs?|minutes?|mins?|hours?|hrs|days?|weeks?|months?|"
    r"dollars?|bucks|euros?|pounds?|lbs?|kilos?|kg|miles?|km|feet|foot|ft|laps?|steps?|people|kids|children)(?![\w])"
)
# "45 yrs" is an age, "2 yrs on T", "10 yrs in", "3 yrs sober" a time span.
_NOT_A_DURATION = r"(?!\.?\s+(?:on|in|into|of|since|ago|later|clean|sober|married|together|experience)(?![\w]))"
_DE_BARE_FOLLOW = r"(?=\s*(?:$|[.,;:!?)\]\n\u2014\u2013]|(?:und|aber|jetzt|jahre|geworden)(?![\w])))"


def _en_patterns() -> tuple[str, str]:
    num = _num("en")
    decade = r"(?P<q>early|mid|mid-|late)?[\s-]*(?P<d>\d0\s*['’]?s|twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties|teens)"
    ordinal = "|".join(_ORDINALS)
    inner = (
        rf"{num}\s*(?:-\s*|\s+)?(?:years?|yrs?|yr)\.?[\s-]*(?:old|young)(?![\w])"
        rf"|{_num('en', 'n5')}\s*(?:years?|yrs?)\s+of\s+age(?![\w])"
        rf"|(?P<n2>\d{{1,3}})\s*-?\s*(?:yo|y/o|y\.o|yrs?)(?:\.(?![\s]|$))?(?![\w/]){_NOT_A_DURATION}"
        rf"|(?P<g>\d{{1,2}})(?:st|nd|rd|th)[\s-]*grader(?![\w])|(?P<gw>{ordinal})[\s-]*grader(?![\w])"
    )
    leading = (
        rf"in\s+(?:my|his|her|their|our)\s+{decade}(?![\w]|-[a-z])"
        rf"|(?P<q2>early|mid|late)?[\s-]*(?P<d2>\d0\s*['’]?s){_EN_BARE_FOLLOW}"
        rf"|in\s+(?:the\s+)?(?:(?P<g2>\d{{1,2}})(?:st|nd|rd|th)|(?P<gw2>{ordinal}))\s+grade(?![\w])"
        rf"|(?P<cmp>over|under|almost|nearly|about|around|roughly|past|above|below|barely|just)\s+"
        rf"(?:the\s+age\s+of\s+)?{_num('en', 'n3')}(?:\s*(?:years?|yrs?)\s+old(?![\w])|(?![\w%'’]){_EN_COMPARED_FOLLOW})"
        rf"|{_num('en', 'n4')}(?:\s*(?:years?|yrs?)(?:\s+old)?)?{_EN_BARE_FOLLOW}"
    )
    return inner, leading


def _es_patterns() -> tuple[str, str]:
    num = _num("es")
    inner = rf"(?:de\s+)?{num}\s+años(?:\s+de\s+edad)?(?!\s+de(?![\w]))(?![\w])"
    return inner, r"(?!)"


def _fr_patterns() -> tuple[str, str]:
    num = _num("fr")
    inner = rf"(?:âgée?\s+)?(?:de\s+)?{num}\s+ans(?!\s+d(?:e|['’]))(?![\w])"
    return inner, r"(?!)"


def _de_patterns() -> tuple[str, str]:
    num = _num("de")
    decades = "|".join(w for w, n in _DECADES.items() if not w.endswith(("ies", "s")))
    inner = (
        rf"{num}\s+jahre(?:\s+alt)?(?![\w])|(?P<n2>\d{{1,3}})\s*-?\s*jährige?[rn]?(?![\w])"
        rf"|(?P<q>anfang|mitte|ende)\s+(?P<d>[1-9]0|{decades})(?![\w])"  # "Mitte 30", "Anfang vierzig": the decade
    )
    leading = rf"{_num('de', 'n4')}{_DE_BARE_FOLLOW}"
    return inner, leading


_PATTERNS = {"en": _en_patterns, "es": _es_patterns, "fr": _fr_patterns, "de": _de_patterns}

# A birthday near enough to name: "next week", "in May", "soon"; not "in 10 years", "in 2030".
_SOON = (
    r"(?=\s+(?:(?:next|this|soon|tomorrow|tonight|today|on|later\s+this|at\s+the\s+end)(?![\w])|"
    r"in\s+(?!(?:(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a\s+few|few|several|a\s+couple\s+of|couple\s+of)"
    r"\s+(?:more\s+)?(?:years?|decades?)|(?:19|20)\d\d)(?![\w]))))"
)
_SOON_OR_END = r"(?:" + _SOON + r"|(?=\s*(?:$|[.,;:!?)\n\u2014\u2013]|(?:and|but|so)(?![\w]))))"
# "I turned 40" now, not "I turned 40 in 2010" or "two years ago"; not "turned 90 degrees".
_TURNED = r"(?![\w%'’°])(?!\s*-?\s*" + _UNITS + r")(?!\s+in\s+(?:19|20)\d\d)(?!\s+(?:[\w-]+\s+)?(?:years?|decades?)\s+ago)"
# After a sentence-opening fragment: a boundary or the next part of the sentence, not a noun it describes.
_FRAGMENT_END = (
    r"(?=\s*(?:$|[.,;:!)\]\n\u2014\u2013(]|-\s|(?:and|but|so|now|here|with|last|this|yesterday|today|on|in|ugh|lol|"
    r"haha|myself|too|already|btw|though|yet|&)(?![\w])))"
)
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_BIRTH = (
    r"(?:in\s+|on\s+)?(?:" + _MONTHS + r"\s+(?:\d{1,2}(?:st|nd|rd|th)?,?\s+)?)?"
    r"(?:(?P<y>(?:19|20)\d\d)|['’](?P<yy>\d\d)|the\s+(?:(?P<bq>early|mid|late)[\s-]*)?"
    r"(?P<bd>(?:19|20)?\d0\s*['’]?s|fifties|sixties|seventies|eighties|nineties))(?![\w'’])"
)
_RETIREMENT_AGE = 65

# The English statements by the words they start with, so that each start word ("I'm", "I just",
# "I'll", "I was") tries only its own: "I'm" is in many texts, and most of its statements are no age.
_EN_STATEMENT_FORMS = {
    "i am": (
        r"i\s*(?:am|['’]m|m)\s+(?:(?:(?:just|finally|officially|also)\s+)?turning\s+{num}" + _SOON_OR_END +
        r"|(?:about|going)\s+to\s+turn\s+{num}" + _SOON_OR_END +
        r"|(?:going\s+to|gonna)\s+(?:be|turn)\s+{num}(?:\s+years?\s+old)?" + _SOON + r")"
    ),
    "i turned": (
        r"i\s+(?:(?:just|recently|only|finally|officially|already)\s+)?turned\s+{num}" + _TURNED +
        r"|i\s+(?:(?:also|finally)\s+)?turn\s+{num}" + _SOON_OR_END
    ),
    "i will": r"i\s*(?:['’]\s*ll|\s+will)\s+(?:be|turn)\s+{num}(?:\s+years?\s+old)?" + _SOON,
    "i was": r"i\s+was\s+born\s+" + _BIRTH,
}

# Whole statements of age that are not "I am <age>": "tengo 70 años", "j'ai 70 ans", "I just turned
# 65", "I was born in 1950", "I'll be 40 soon". Each {num} becomes a number group of its own.
_STATEMENTS = {
    "en": r"(?<![\w'’])(?:" + "|".join(_EN_STATEMENT_FORMS.values()) + ")",
    "es": (
        r"(?<![\w])(?:yo\s+)?(?:ya\s+|también\s+)?tengo\s+{num}\s+años(?:\s+de\s+edad)?(?!\s+de(?![\w]))(?![\w])"
        r"|(?<![\w])(?:yo\s+)?(?:ya\s+)?(?:cumplo|cumplí|cumpliré|voy\s+a\s+cumplir|acabo\s+de\s+cumplir)\s+{num}(?:\s+años)?"
        r"(?=\s*(?:$|[.,;:!?)\n]|(?:el|este|esta|mañana|pronto|hoy|ayer|y|pero|la\s+semana|el\s+mes|en\s+(?:enero|febrero|"
        r"marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre))(?![\w])))"
        r"|(?<![\w])nací\s+en\s+(?P<y>(?:19|20)\d\d)(?![\w])"
    ),
    "fr": (
        r"(?<![\w])j['’]\s*(?:ai\s+(?:déjà\s+|eu\s+)?|aurai\s+)?{num}\s+ans(?!\s+d(?:e|['’]))(?![\w])"
        r"|(?<![\w])je\s+(?:vais\s+avoir|fête\s+mes)\s+{num}\s+ans(?!\s+d(?:e|['’]))(?![\w])"
        r"|(?<![\w])je\s+suis\s+née?\s+en\s+(?P<y>(?:19|20)\d\d)(?![\w])"
    ),
    "de": (
        r"(?<![\w])ich\s+(?:bin|wurde)\s+(?P<y>(?:19|20)\d\d)\s+geboren(?![\w])"
        r"|(?<![\w])ich\s+bin\s+(?:im\s+jahr\s+)?(?P<y2>(?:19|20)\d\d)\s+geboren(?![\w])"
        r"|(?<![\w])ich\s+werde\s+(?:(?:bald|morgen|übermorgen|demnächst|nächste[nrs]?\s+\w+|im\s+\w+|dieses\s+jahr)\s+)?"
        r"{num}(?:\s+jahre(?:\s+alt)?)?(?=\s*(?:$|[.,;:!?)\n]|(?:und|aber)(?![\w])))"
        r"|(?<![\w])ich\s+bin\s+(?:(?:gerade|kürzlich|gestern|eben|letzte\s+woche|vor\s+kurzem)\s+)?{num}(?:\s+jahre(?:\s+alt)?)?\s+geworden(?![\w])"
    ),
}

# Sentence openings without a subject, the speaker's by default: "Just turned 30, single", "Turning 42
# next week and ...", "Born in '88", "Late twenties, ...". (Retirement is read by `retired_at`.)
_FRAGMENTS = {
    "en": (
        r"(?:(?:just|recently|finally|officially|only)\s+)?turned\s+{num}" + _TURNED + _FRAGMENT_END +
        r"|(?:(?:just|soon|officially|almost|nearly)\s+)?turning\s+{num}" + _SOON_OR_END +
        r"|born\s+" + _BIRTH + _FRAGMENT_END +
        r"|(?P<q>early|mid|late)[\s-]*(?P<d>\d0\s*['’]?s|twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties)"
        + _FRAGMENT_END
    ),
}

# "retired", "retired early at 55": what may follow it when it says the speaker is retired (not "I
# retired the old server", "a retired Marine").
_RETIRED = (
    r"retired(?:\s+early)?(?:\s+(?:now\s+)?at\s+(?:the\s+age\s+of\s+|age\s+)?{num}(?![\w%'’]))?"
    r"(?=\s*(?:$|[.,;:!)\]\n\u2014\u2013(]|-\s|(?:now|and|but|so|after|from|since|last|this|recently|early|in|on|with|"
    r"too|already|myself|lol|though|btw|for|a\s+(?:few|couple|year|month|week|decade)|(?:\d+|two|three|four|five|six|"
    r"several|many)\s+(?:years?|months?))(?![\w])))"
)


class AgeReader:
    """Reads stated ages in the languages the detector covers and maps them to the taxonomy's age values."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self._bands = taxonomy.age_bands()
        values = set(taxonomy.values("age")) if "age" in taxonomy.axes() else set()
        self._minor = "minor" if "minor" in values else None
        self._adult = "adult" if "adult" in values else None
        self._words = {lang: number_words(lang) for lang in _PATTERNS}
        self._inner: dict[str, re.Pattern[str]] = {}
        self._leading: dict[str, re.Pattern[str]] = {}
        self._statements: dict[str, re.Pattern[str]] = {}
        for lang, build in _PATTERNS.items():
            inner, leading = build()
            self._inner[lang] = re.compile(inner)
            self._leading[lang] = re.compile(f"{inner}|{leading}")
            self._statements[lang] = re.compile(_fill_numbers(_STATEMENTS[lang], lang))
        self._fragments = {lang: re.compile(_fill_numbers(source, lang)) for lang, source in _FRAGMENTS.items()}
        # The words an English age phrase can open with: most phrases walked start with none of them
        # ("a Muslim person"), and trying the whole age pattern on them is not free.
        firsts = {re.split(r"[\s-]", w)[0] for w in self._words["en"]} - {"a"}
        firsts |= set(_ORDINALS) | _EN_OPENERS
        self._en_start = re.compile(r"\d|a\s+hundred|(?:" + "|".join(sorted(firsts, key=len, reverse=True)) + r")(?![\w'’])")
        self._retired = re.compile(_fill_numbers(_RETIRED, "en"))

    @property
    def enabled(self) -> bool:
        return bool(self._bands)

    def value_for(self, age: int) -> str | None:
        """The narrowest age band holding `age`, or None."""
        for lo, hi, value in self._bands:
            if lo <= age <= hi:
                return value
        return None

    def phrase_at(self, lowered: str, pos: int, lang: str, *, leading: bool) -> tuple[str, int] | None:
        """An age phrase starting at `pos`: (age value, end). `leading` allows the forms that may only
        directly follow "I am" ("I'm 72", "I'm in my 70s", "I'm over 65")."""
        if not self._bands:
            return None
        regex = (self._leading if leading else self._inner).get(lang)
        if regex is None or (lang == "en" and self._en_start.match(lowered, pos) is None):
            return None
        m = regex.match(lowered, pos)
        if m is None:
            return None
        value = self._value_of(m, lang)
        return (value, m.end()) if value else None

    def statement_regex(self, lang: str) -> re.Pattern[str] | None:
        return self._statements.get(lang) if self._bands else None

    def statement_forms(self, lang: str) -> dict[str, str]:
        """The statement regex of `lang` split by the words its forms start with (English: "i am",
        "i turned", "i will", "i was"), as pattern sources; one form, "", for the other languages."""
        if not self._bands:
            return {}
        if lang == "en":
            return {start: _fill_numbers(source, lang) for start, source in _EN_STATEMENT_FORMS.items()}
        return {"": self._statements[lang].pattern} if lang in self._statements else {}

    def statement_value(self, m: re.Match[str], lang: str) -> str | None:
        return self._value_of(m, lang)

    def fragment_regex(self, lang: str) -> re.Pattern[str] | None:
        """Subjectless sentence openings that state an age ("Just turned 30", "Born in '88")."""
        return self._fragments.get(lang) if self._bands else None

    def retired_at(self, lowered: str, pos: int) -> tuple[str, int] | None:
        """"retired", "retired at 81" starting at `pos`, said of oneself: (age value, end)."""
        m = self._retired.match(lowered, pos) if self._bands else None
        if m is None:
            return None
        n = self._number(m.group("n"), "en") if m.group("n") else _RETIREMENT_AGE
        value = self.value_for(n) if n is not None and 1 <= n <= 120 else None
        return (value, m.end()) if value else None

    @staticmethod
    def number_span(m: re.Match[str]) -> tuple[int, int]:
        """Where the age itself (number, year or decade) is in a statement matched by these regexes."""
        for name in ("y", "y2", "yy", "bd", "d", *_NUMBER_GROUPS):
            try:
                if m.group(name):
                    return m.span(name)
            except IndexError:
                continue
        return m.span()

    def _value_of(self, m: re.Match[str], lang: str) -> str | None:
        groups = m.groupdict()
        year = groups.get("y") or groups.get("y2")
        if year:
            return self.value_for(datetime.date.today().year - int(year))
        if groups.get("yy"):
            return self.value_for(_this_year() - _full_year(int(groups["yy"])))
        if groups.get("bd"):
            return self._born_in_decade(groups["bd"], groups.get("bq"))
        if groups.get("d") or groups.get("d2"):
            return self.value_for(_decade_age(groups.get("d") or groups["d2"], groups.get("q") or groups.get("q2")))
        grade = groups.get("g") or groups.get("g2")
        grade_word = groups.get("gw") or groups.get("gw2")
        if grade or grade_word:
            year = int(grade) if grade else _ORDINALS.index(grade_word or "") + 1
            return self.value_for(year + 5) if 1 <= year <= 12 else None
        if groups.get("n3"):
            compared = self._number(groups["n3"], lang)
            return None if compared is None else self._compared(groups["cmp"], compared)
        raw = next((groups[g] for g in _NUMBER_GROUPS if groups.get(g)), None)
        if raw == "one" and groups.get("n4"):
            return None  # "I'm one of ...", "I'm one."
        n = self._number(raw, lang) if raw else None
        if n is None or not 1 <= n <= 120:
            return None
        return self.value_for(n)

    def _born_in_decade(self, decade: str, qualifier: str | None) -> str | None:
        """"born in the 90s": a band only if everyone born in that (part of the) decade is in it now."""
        decade = decade.replace(" ", "").replace("'", "").replace("’", "")
        if decade in _DECADES:
            start = 1900 + _DECADES[decade]
        else:
            digits = decade.rstrip("s")
            start = int(digits) if len(digits) == 4 else 1900 + int(digits)
        first, last = {"early": (0, 3), "mid": (3, 6), "late": (6, 9)}.get(qualifier or "", (0, 9))
        year = _this_year()
        oldest, youngest = self.value_for(year - start - first), self.value_for(year - start - last)
        return oldest if oldest == youngest else None

    def _compared(self, comparison: str, n: int) -> str | None:
        if comparison in ("under", "below"):
            if n <= 18 and self._minor:
                return self._minor
            return self.value_for(n - 1)
        if comparison in ("over", "above", "past"):
            if n in (18, 21) and self._adult:
                return self._adult
            return self.value_for(n + 1)
        if comparison in ("almost", "nearly"):
            return self.value_for(n - 1)
        return self.value_for(n)

    def _number(self, raw: str, lang: str) -> int | None:
        if raw.isdigit():
            return int(raw)
        key = re.sub(r"[\s\-\u2010\u2011]+", " ", raw)
        words = self._words[lang]
        for candidate in (key, key.replace(" ", "-"), key.replace(" ", "")):
            if candidate in words:
                return words[candidate]
        return None


_NUMBER_GROUPS = ("n", "n2", "n4", "n5", "n6", "n7", "n8", "n9", "n10", "n11", "n12")


def _this_year() -> int:
    return datetime.date.today().year


def _full_year(yy: int) -> int:
    """'88 -> 1988, '05 -> 2005: a two-digit birth year is in the last hundred years."""
    year = _this_year()
    full = year - year % 100 + yy
    return full if full <= year else full - 100


def _fill_numbers(pattern: str, lang: str) -> str:
    """Each {num} placeholder becomes a number group of its own name (n, n6, n7, ...)."""
    names = iter(("n", "n6", "n7", "n8", "n9", "n10", "n11", "n12"))
    while "{num}" in pattern:
        pattern = pattern.replace("{num}", _num(lang, next(names)), 1)
    return pattern


def _decade_age(decade: str, qualifier: str | None) -> int:
    decade = decade.replace(" ", "").replace("'", "").replace("’", "")
    base = 13 if decade == "teens" else _DECADES.get(decade) or int(decade[0]) * 10
    if decade == "teens":
        return {"early": 14, "mid": 16, "mid-": 16, "late": 18}.get(qualifier or "", 16)
    return base + {"early": 2, "mid": 5, "mid-": 5, "late": 8, "anfang": 2, "mitte": 5, "ende": 8}.get(qualifier or "", 5)
