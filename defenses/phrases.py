"""The taxonomy's phrase syntax, and the bits of English morphology the detector needs.

Statements and idioms in the taxonomy are words with "(a|b)" alternatives ("use (a|my) wheelchair");
this module turns them into regexes and derives the other forms people use: after "the user" or
"someone who" ("uses a wheelchair"), in the present perfect ("I've used a wheelchair"), and plurals
("we are Muslims").
"""

from __future__ import annotations

import re

_TOKENS = re.compile(r"\([^()]*\)|[^\s()]+")
_APOSTROPHE = re.compile(r"['’]")
_CONSONANT_Y = re.compile(r"[^aeiou]y$")
_SIBILANT = re.compile(r"(?:s|sh|ch|x|z)$")


def phrase_regex(phrase: str) -> str:
    """Regex source for a taxonomy phrase: words, with "(a|b)" alternatives and "(a|b|)" optional words."""
    out = []
    start_open = True
    for tok in _TOKENS.findall(phrase.lower()):
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
    return r"\s+".join(_APOSTROPHE.sub("['’]", re.escape(word)).replace(r"\-", r"[\s\-]?") for word in words.split())


def expansions(phrase: str) -> list[str]:
    """Every wording a phrase allows ("use (a|my) wheelchair" -> "use a wheelchair", "use my wheelchair")."""
    results = [""]
    for tok in _TOKENS.findall(phrase):
        options = [a.strip() for a in tok[1:-1].split("|")] if tok.startswith("(") else [tok]
        results = [f"{r} {o}".strip() for r in results for o in options][:64]
    return results


def lead_words(expansion: str) -> str:
    """The start phrase an anchor is looked up by: the first word, or the first two when the first is
    a common function word ("no creo", "me muevo"), so that common words do not trigger lookups."""
    words = re.split(r"[\s'’]+", expansion.lower())
    return " ".join(words[:2]) if words[0] in _FUNCTION_STARTS and len(words) > 1 else words[0]


_FUNCTION_STARTS = frozenset("no me ne n je j i we and a the de la el le les en y ich".split())


def statement_index(entries: list[tuple[re.Pattern[str], str, str]]) -> tuple[re.Pattern[str], list[tuple[str, str]]] | None:
    """One regex of all statements, a group per statement, to tell which one a span is."""
    if not entries:
        return None
    source = "|".join(f"(?P<s{i}>{regex.pattern})" for i, (regex, _, _) in enumerate(entries))
    return re.compile(source), [(axis, value) for _, axis, value in entries]


def third_person(phrase: str) -> str:
    """"use (a|my) wheelchair" -> "uses (a|my) wheelchair": the phrase after "the user" or "someone who"."""
    tokens = _TOKENS.findall(phrase)
    if not tokens:
        return phrase
    first = tokens[0]
    if first.startswith("("):
        alts = [" ".join([_conjugate(a.split()[0])] + a.split()[1:]) if a.strip() else a for a in first[1:-1].split("|")]
        tokens[0] = "(" + "|".join(alts) + ")"
    else:
        tokens[0] = _conjugate(first)
    return " ".join(tokens)


def perfect_forms(phrase: str) -> list[str]:
    """"use (a|my) wheelchair" -> "used (a|my) wheelchair", "been using (a|my) wheelchair": what follows
    "I have" when the statement is in the present perfect ("I've used a wheelchair since I was 12")."""
    tokens = _TOKENS.findall(phrase)
    if not tokens or tokens[0].startswith("(") or tokens[0].lower() in _NOT_VERBS:
        return []
    verb, rest = tokens[0].lower(), " ".join(tokens[1:])
    participle = _PARTICIPLES.get(verb) or (
        verb + "d" if verb.endswith("e") else verb[:-1] + "ied" if _CONSONANT_Y.search(verb) else verb + "ed"
    )
    gerund = verb[:-1] + "ing" if verb.endswith("e") and verb not in ("see", "be") else verb + "ing"
    forms = [f"{participle} {rest}".strip()]
    if verb not in ("have", "lose"):
        forms.append(f"been {gerund} {rest}".strip())
    return forms


_NOT_VERBS = frozenset("am was don't do not can't cannot lost converted reverted came accepted".split())
_PARTICIPLES = {"have": "had", "keep": "kept", "lose": "lost", "wear": "worn", "go": "gone", "get": "gotten"}


def _conjugate(verb: str) -> str:
    irregular = {"am": "is", "'m": "is", "have": "has", "do": "does", "don't": "doesn't", "go": "goes",
                 "was": "was", "lost": "lost", "came": "came", "can't": "can't", "cannot": "cannot"}
    low = verb.lower()
    if low in irregular:
        return irregular[low]
    if _SIBILANT.search(low) or low.endswith("o"):
        return verb + "es"
    if _CONSONANT_Y.search(low):
        return verb[:-1] + "ies"
    return verb + "s"


def plural(term: str) -> str:
    """"woman" -> "women", "Democrat" -> "Democrats", "senior citizen" -> "senior citizens"."""
    words = term.split(" ")
    last = words[-1]
    low = last.lower()
    if low.endswith("man") and not low.endswith("human"):
        last = last[:-3] + ("men" if last[-3:].islower() else "MEN")
    elif _SIBILANT.search(low):
        last += "es"
    elif _CONSONANT_Y.search(low):
        last = last[:-1] + "ies"
    else:
        last += "s"
    return " ".join(words[:-1] + [last])
