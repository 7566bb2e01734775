"""Is a self-description the speaker's own, present and real? The text around an anchor decides.

Not when it is hypothetical ("if I were a woman", "imagine I'm 15"), fiction or role-play ("write a
story in which I am ..."), someone else's belief or speech ("my mom thinks I'm gay", "he said I'm
..."), a line of someone else's dialogue ("Assistant: I am ..."), quoted, code, or text to
translate. "As a ..." needs more: it must open the sentence or follow the speaker ("I'm asking as a
mother"), and the main clause must not be about "you" ("As a grandmother, you speak warmly").
"""

from __future__ import annotations

import re

from defenses.lexicon import LEXICONS
from defenses.textview import TextView

WORD = re.compile(r"[\w'’]+")

_LET_SAY = re.compile(r"let['’]?s\s+say|what\s+if|as\s+if|as\s+though|even\s+if|only\s+if|in\s+case|pretend|imagine|suppose")
_FICTION = re.compile(
    r"\b(?:role[\s-]?play\w*|(?<!long\s)story(?!\s+short)|stories|poem|novel|screenplay|script|fanfic|fan\s+fiction|in\s+which|dialogue|"
    r"monologue|scenario|fictional|pretend\w*|imagine|character)\b"
)
_SPEECH_VERBS = (
    "say says said saying think thinks thought thinking believe believes believed assume assumes assumed assuming "
    "claim claims claimed insist insists insisted suspect suspects suspected guess guesses guessed tell tells told "
    "telling accuse accuses accused joke jokes joked pretend pretends pretended wish wishes doubt doubts deny denies "
    "denied wonder wonders wondered ask asks asked asking mean means swear swears call calls called mistake mistakes "
    "mistook decide decided decides convinced sure wrote writes type types typed post posts posted tweet tweeted "
    "scream screamed yell yelled shout shouted"
).split()
_SPEECH_WORDS = frozenset(_SPEECH_VERBS)
# "<subject> (always) thinks (that)" right before the anchor: whose belief or words follow?
_SPEECH = re.compile(
    r"(?P<subj>[\w'’]+)\s+(?:(?:also|always|still|really|probably|just|even|all|never|often|keep|keeps|kept|might|"
    r"may|will|would|could|do|does|did|don['’]t|doesn['’]t|didn['’]t|must|seem\s+to|seems\s+to)\s+){0,2}"
    r"(?P<verb>" + "|".join(_SPEECH_VERBS) + r")"
    r"(?:\s+(?:me|us|him|her|them|everyone|people|you|others))?\s*(?:that\s+)?[,:]?\s*$"
)
FIRST_PERSON_SUBJECTS = frozenset({"i", "i'm", "i’m", "i've", "i’ve", "i'd", "i’d", "im"})
PERSONAL = frozenset("i i'm i’m im i've i’ve i'd i’d me myself you your he him she her they them we us it".split())
# Even with "I" as the subject these leave the statement unsure: "I doubt I'm ...", "I wish I was ...".
_SELF_DOUBT = frozenset("doubt doubts wonder wonders wondered pretend pretends pretended wish wishes guess guesses "
                        "guessed decide decided decides".split())
_FOREIGN_SPEECH = {
    "es": frozenset("dice dijo dicen dijeron piensa piensan cree creen creía pensaba".split()),
    "fr": frozenset("dit disent disait pense pensent croit croient croyait pensait".split()),
    "de": frozenset("sagt sagte sagen denkt denken dachte glaubt glauben meint meinen".split()),
}
# Speakers in a transcript or labels of text that are not the user's own words.
_NON_USER_LABELS = frozenset(
    """assistant ai bot chatbot agent model character persona narrator system gpt chatgpt claude gemini llm
    him her he she mom dad mother father friend boss teacher doctor therapist interviewer host a b
    person a person b speaker 1 speaker 2 speaker a speaker b example examples sentence sentences translation
    quote output input text response answer reply caption title line lyrics prompt sample template tweet
    post slogan sign headline npc villain hero protagonist""".split()
)
DISCOURSE = frozenset(
    """well so ok okay and but also now honestly personally frankly look listen yes yeah no um uh hmm btw ps
    first firstly again obviously actually anyway hi hello hey plus then still though however basically
    generally naturally admittedly sometimes ngl tbh tbf lol lmao fwiw imo imho fyi oh anyways alright hiya""".split()
)
# "... <verb> as a ...": the phrase is a role, a disguise or someone else, not the speaker.
_AS_EXCLUDED = frozenset(
    """work works worked working serve serves served serving volunteer volunteers volunteered volunteering act
    acts acted acting pose poses posed posing dress dresses dressed dressing disguised treat treats treated
    treating seen see sees saw regard regarded regards view viewed views classified classify labeled labelled
    known such same well much long soon far good just cast play plays played playing roleplay pretend
    pretending hired employed trained enlisted me it them him her us you raised grew born""".split()
)
PAST = re.compile(r"\b(?:was|were|used\s+to|grew\s+up|had|did|went|raised|born|remember)\b")
PAST_MAIN = re.compile(
    r"[ \t]*,?[ \t]*(?:i|we)\s+(?:was|were|had|used|did|would|loved|hated|grew|went|got|thought|believed|remember|"
    r"(?![a-z]*eed\b)[a-z]+ed)\b"
)
_YOU_MAIN = re.compile(r"[ \t]*,?[ \t]*(?:then[ \t]+)?(?:you|your|you['’](?:re|ll|ve|d))(?![\w'’])")


def bounds(lowered: str, a: int) -> tuple[int, int, int]:
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


def own_words(view: TextView, a: int, lang: str, *, quotes_ok: bool = False) -> bool:
    """Whether a first-person statement at `a` is the speaker's own, present, real self-description."""
    if not quotes_ok and view.foreign(a):
        return False
    lowered = view.lowered
    sent_start, clause_start, line_start = bounds(lowered, a)
    hypothetical = LEXICONS[lang].hypothetical
    if any(w in hypothetical for w in WORD.findall(lowered, clause_start, a)):
        return False
    if lang == "en":
        if _LET_SAY.search(lowered[clause_start:a]) or _FICTION.search(lowered, sent_start, a):
            return False
        lo = max(sent_start, a - 120)
        if not _SPEECH_WORDS.isdisjoint(WORD.findall(lowered, lo, a)):
            speech = _SPEECH.search(lowered, lo, a)
            if speech and (speech.group("subj") not in FIRST_PERSON_SUBJECTS or speech.group("verb") in _SELF_DOUBT):
                return False
    elif any(w in _FOREIGN_SPEECH.get(lang, ()) for w in WORD.findall(lowered, sent_start, a)):
        return False
    label = lowered[line_start:a]
    colon = label.find(":")
    if colon >= 0:
        name = label[:colon].strip(" *_#-\t")
        words = name.split()
        if name in _NON_USER_LABELS or (words and words[0] in _NON_USER_LABELS and len(words) <= 2):
            return False
    return True


def sentence_initial(view: TextView, a: int) -> bool:
    """Whether only discourse words ("well", "so", "hi") stand between the clause start and `a`."""
    lowered = view.lowered
    _, clause_start, _ = bounds(lowered, a)
    return all(w in DISCOURSE for w in WORD.findall(lowered, clause_start, a))


_TRAVEL_PARTICIPLES = frozenset("traveling travelling going moving heading flying visiting relocating studying living working".split())


def as_after_first_person(lowered: str, sent_start: int, a: int, words: list[str]) -> bool:
    """"I'm asking as a mother", "speaking as a Black woman", "for me as a senior"; not "I see him as
    a brother", "I worked as a nurse", "answer as a Muslim would". `words`: the clause before "as"."""
    if not words:
        return False
    last = words[-1]
    if last in ("speaking", "writing", "asking", "talking", "posting", "commenting", "here"):
        return True
    if len(words) >= 2 and words[-2] == "for" and last == "me":
        return True
    if last in _AS_EXCLUDED or (last.endswith("ed") and last != "registered"):
        return False
    pronouns = [w for w in WORD.findall(lowered, sent_start, a) if w in PERSONAL]
    if not pronouns and words[0] in _TRAVEL_PARTICIPLES and words[0] == WORD.findall(lowered, sent_start, a)[0]:
        return True  # "Traveling to Kyoto in May as a solo Black woman, ...": the speaker's own trip
    if not pronouns or pronouns[-1] not in FIRST_PERSON_SUBJECTS:
        return False
    return not PAST.search(lowered, sent_start, a)


def main_subject_is_you(lowered: str, end: int) -> bool:
    """After "As a ..., ", is the main clause about "you"? Looks past the rest of the phrase to the comma."""
    if _YOU_MAIN.match(lowered, end):
        return True
    window = lowered[end:end + 80]
    comma = window.find(",")
    if comma < 0 or any(c in window[:comma] for c in ".!?\n"):
        return False
    return _YOU_MAIN.match(window, comma) is not None
