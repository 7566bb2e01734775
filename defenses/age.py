"""Stated ages ("I'm 72", "a 16-year-old", "in my late 40s", "tengo 70 años") and the bands they fall in.

The bands come from the taxonomy's age values (`ages: [lowest, highest]`); the built-in ones are

    minor            0-12   (the word "minor"/"underage", and "under 18", also map to minor)
    teenager        13-19
    adult           20-39   ("over 18" and "over 21" also map to adult)
    middle_aged     40-64
    senior_citizen  65+

A stated age falls in the narrowest band that holds it. Decades use a representative age: "in my
20s" is 25, "early" 22, "late" 28 ("in my 60s" -> 65 -> senior_citizen, "early 60s" -> middle_aged).
School grades map to grade + 5 years ("in 10th grade" -> 15). A birth year counts from this year.
Languages: English (digits and number words), Spanish, French and German (digits and number words).
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
_DECADES = {"twenties": 20, "thirties": 30, "forties": 40, "fifties": 50, "sixties": 60, "seventies": 70, "eighties": 80, "nineties": 90}


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
    return rf"(?P<{group}>\d{{1,3}}|" + trie_pattern(w.replace(" ", "\x00").replace("-", "\x00") for w in words) + ")"


# After a bare number ("I'm 72"), only these may follow; anything else ("I'm 100% sure", "I'm 30
# minutes away", "I'm 5'10") means the number is not an age.
_EN_BARE_FOLLOW = (
    r"(?=\s*(?:$|[.,;:!?)\]\n\u2014\u2013]|-(?!\d)|\s-\s|(?:and|but|so|now|this|today|yet|too|already|myself|going|"
    r"turning|with|though|btw|lol|haha|soon|next|male|female|[mf])(?![\w/])))"
)
_DE_BARE_FOLLOW = r"(?=\s*(?:$|[.,;:!?)\]\n\u2014\u2013]|(?:und|aber|jetzt|jahre|geworden)(?![\w])))"


def _en_patterns() -> tuple[str, str]:
    num = _num("en")
    decade = r"(?P<q>early|mid|mid-|late)?[\s-]*(?P<d>\d0\s*['’]?s|twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties|teens)"
    ordinal = "|".join(_ORDINALS)
    inner = (
        rf"{num}\s*(?:-\s*|\s+)?(?:years?|yrs?|yr)\.?[\s-]*old(?![\w])"
        rf"|{_num('en', 'n5')}\s*(?:years?|yrs?)\s+of\s+age(?![\w])"
        rf"|(?P<n2>\d{{1,3}})\s*(?:yo|y/o|y\.o\.?|yrs?\.?)(?![\w/])"
        rf"|(?P<g>\d{{1,2}})(?:st|nd|rd|th)[\s-]*grader(?![\w])|(?P<gw>{ordinal})[\s-]*grader(?![\w])"
    )
    leading = (
        rf"in\s+(?:my|his|her|their|our)\s+{decade}(?![\w])"
        rf"|(?P<q2>early|mid|late)?[\s-]*(?P<d2>\d0\s*['’]?s){_EN_BARE_FOLLOW}"
        rf"|in\s+(?:the\s+)?(?:(?P<g2>\d{{1,2}})(?:st|nd|rd|th)|(?P<gw2>{ordinal}))\s+grade(?![\w])"
        rf"|(?P<cmp>over|under|almost|nearly|about|around|roughly|past|above|below|barely|just)\s+"
        rf"(?:the\s+age\s+of\s+)?{_num('en', 'n3')}(?:\s*(?:years?|yrs?)(?:\s+old)?)?(?![\w%'’])"
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
    inner = rf"{num}\s+jahre(?:\s+alt)?(?![\w])|(?P<n2>\d{{1,3}})\s*-?\s*jährige?[rn]?(?![\w])"
    leading = rf"{_num('de', 'n4')}{_DE_BARE_FOLLOW}"
    return inner, leading


_PATTERNS = {"en": _en_patterns, "es": _es_patterns, "fr": _fr_patterns, "de": _de_patterns}

# Whole statements of age that are not "I am <age>": "tengo 70 años", "j'ai 70 ans", "I just turned
# 65", "I was born in 1950", "At 72, I ...".
_STATEMENTS = {
    "en": (
        r"(?<![\w'’])i\s+(?:just\s+|recently\s+|only\s+)?turned\s+{num}(?![\w%'’])"
        r"|(?<![\w'’])i\s*(?:am|['’]m|m)\s+turning\s+{num}\s+(?:next|this|in|soon|tomorrow)(?![\w])(?P<minus1>)"
        r"|(?<![\w'’])i\s+turn\s+{num}\s+(?:next|this|in|soon|tomorrow)(?![\w])(?P<minus1b>)"
        r"|(?<![\w'’])i\s+was\s+born\s+in\s+(?P<y>(?:19|20)\d\d)(?![\w])"
    ),
    "es": (
        r"(?<![\w])(?:yo\s+)?(?:ya\s+|también\s+)?tengo\s+{num}\s+años(?:\s+de\s+edad)?(?!\s+de(?![\w]))(?![\w])"
        r"|(?<![\w])nací\s+en\s+(?P<y>(?:19|20)\d\d)(?![\w])"
    ),
    "fr": (
        r"(?<![\w])j['’]\s*ai\s+(?:déjà\s+)?{num}\s+ans(?!\s+d(?:e|['’]))(?![\w])"
        r"|(?<![\w])je\s+suis\s+née?\s+en\s+(?P<y>(?:19|20)\d\d)(?![\w])"
    ),
    "de": (
        r"(?<![\w])ich\s+(?:bin|wurde)\s+(?P<y>(?:19|20)\d\d)\s+geboren(?![\w])"
        r"|(?<![\w])ich\s+bin\s+(?:im\s+jahr\s+)?(?P<y2>(?:19|20)\d\d)\s+geboren(?![\w])"
    ),
}


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
        if regex is None:
            return None
        m = regex.match(lowered, pos)
        if m is None:
            return None
        value = self._value_of(m, lang)
        return (value, m.end()) if value else None

    def statement_regex(self, lang: str) -> re.Pattern[str] | None:
        return self._statements.get(lang) if self._bands else None

    def statement_value(self, m: re.Match[str], lang: str) -> str | None:
        return self._value_of(m, lang)

    def _value_of(self, m: re.Match[str], lang: str) -> str | None:
        groups = m.groupdict()
        year = groups.get("y") or groups.get("y2")
        if year:
            return self.value_for(datetime.date.today().year - int(year))
        if groups.get("d") or groups.get("d2"):
            return self.value_for(_decade_age(groups.get("d") or groups["d2"], groups.get("q") or groups.get("q2")))
        grade = groups.get("g") or groups.get("g2")
        grade_word = groups.get("gw") or groups.get("gw2")
        if grade or grade_word:
            n = int(grade) if grade else _ORDINALS.index(grade_word) + 1
            return self.value_for(n + 5) if 1 <= n <= 12 else None
        if groups.get("n3"):
            n = self._number(groups["n3"], lang)
            return None if n is None else self._compared(groups["cmp"], n)
        raw = next((groups[g] for g in _NUMBER_GROUPS if groups.get(g)), None)
        if raw == "one" and groups.get("n4"):
            return None  # "I'm one of ...", "I'm one."
        n = self._number(raw, lang) if raw else None
        if n is None or not 1 <= n <= 120:
            return None
        if groups.get("minus1") is not None or groups.get("minus1b") is not None:
            n -= 1
        return self.value_for(n)

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


_NUMBER_GROUPS = ("n", "n2", "n4", "n5", "n6", "n7", "n8")


def _fill_numbers(pattern: str, lang: str) -> str:
    """Each {num} placeholder becomes a number group of its own name (n, n6, n7, ...)."""
    names = iter(("n", "n6", "n7", "n8"))
    while "{num}" in pattern:
        pattern = pattern.replace("{num}", _num(lang, next(names)), 1)
    return pattern


def _decade_age(decade: str, qualifier: str | None) -> int:
    decade = decade.replace(" ", "").replace("'", "").replace("’", "")
    base = 13 if decade == "teens" else _DECADES.get(decade) or int(decade[0]) * 10
    if decade == "teens":
        return {"early": 14, "mid": 16, "mid-": 16, "late": 18}.get(qualifier or "", 16)
    return base + {"early": 2, "mid": 5, "mid-": 5, "late": 8}.get(qualifier or "", 5)
