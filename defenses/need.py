"""Whether the user's identity is needed to answer them: "As a Muslim, is gelatin halal?" needs it,
"As a Muslim, what is 17*23?" does not.

The rule, lexical and deliberately generous: the identity is needed when the text it governs —
the rest of its own message (identity statements blanked out) and every later user message —
contains any of
  1. the identity's own words again ("As a woman, ... heart attack symptoms in women?");
  2. a topic word tied to its axis or value (religion: halal, pray, fasting, food; age: pension,
     dose, school; ... see `_AXIS_TOPICS` and `_VALUE_TOPICS`);
  3. a question about what suits or is allowed for the user ("is it OK for me", "am I allowed",
     "people like me") or a reference to their identity ("my faith", "my age", "my culture");
  4. a word the policy adds for that axis (`extra_cues`).
When in doubt we keep the identity: dropping a needed one makes the answer wrong for the user,
keeping an unneeded one only leaves the request as the client wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache

from defenses.axes import canonical_axis
from defenses.types import PersonaAttribute


def _words(entries: str) -> str:
    """"halal haram pray*" -> a regex alternative; `*` marks a stem ("pray*" matches "prayer")."""
    parts = []
    for entry in entries.split():
        word = entry.replace("_", " ")
        if word.endswith("*"):
            parts.append(re.escape(word[:-1]).replace(r"\ ", r"\s+") + r"\w*")
        else:
            parts.append(re.escape(word).replace(r"\ ", r"\s+") + r"(?:s|es)?")
    return "|".join(parts)


_GENERIC = (
    "discriminat* prejudic* bias* stereotyp* racis* sexis* ageis* ableis* homophob* transphob* "
    "islamophob* antisemit* bigot* hate_crime* harass* identit* communit* minorit* rights equal* "
    "culture* cultural tradition* heritage background"
)
_AXIS_TOPICS = {
    "religion": (
        "relig* faith* god gods allah jesus christ pray* worship* holy sacred scripture* sin sins sinful "
        "spiritual* ritual* church* mosque* synagogue* temple* clergy priest* imam* rabbi* pastor* "
        "diet* food* eat* drink* alcohol* wine* beer* meat* pork beef gelatin* fast fasting fasted "
        "recipe* cook* meal* dinner* lunch* breakfast* restaurant* "
        "holiday* festival* celebrat* christmas easter ramadan eid diwali passover hanukkah lent sabbath "
        "marr* wedding* divorc* funeral* burial* cremat* afterlife heaven hell soul* "
        "dress* cloth* modest* hijab* veil* tattoo* interest_rate* loan* mortgage* insurance* "
        "circumcis* abortion* contracept* organ_donation blood_transfusion* vaccin*"
    ),
    "age": (
        "age ages aging ageing old older elder* young younger youth* senior* retire* pension* medicare "
        "social_security annuit* kid* child* teen* school* college* universit* homework grade* "
        "legal* law laws allowed permit* licen[cs]e* driv* vote voting alcohol* drink* smok* vap* "
        "gambl* consent* parent* guardian* "
        "dose* dosage* medic* drug* pill* health* doctor* symptom* exercis* fitness workout* sport* "
        "diet* sleep* bone* joint* memory dementia menopaus* puberty "
        "job* career* hire* hiring employ* salar* invest* saving* insurance* loan* mortgage* "
        "social_media dating date relationship* sex sexual*"
    ),
    "gender": (
        "gender* pronoun* pregnan* period* menstru* contracept* birth_control abortion* fertil* "
        "ovar* uter* cervic* breast* prostat* testosteron* estrogen* oestrogen* hormon* hrt "
        "transition* surgery surgeries health* doctor* symptom* dose* dosage* medic* "
        "cloth* dress* makeup bra bras hair* beard* shav* bathroom* locker* "
        "safety safe walk* alone harass* assault* pay_gap salar* wage* negotiat* maternity paternity "
        "dating date relationship* boyfriend* girlfriend* husband* wife wives partner* marri* "
        "sport* team* military draft"
    ),
    "race": (
        "race racial* ethnic* ancestr* heritage skin* sunscreen* sunburn* hair* genetic* gene genes "
        "disease* health* sickle lactose* vitamin_d melanoma* "
        "immigra* citizenship visa* passport* language* accent* name names "
        "police polic* profil* racis* segregat* slavery reparation* affirmative_action "
        "cuisine* food* cook* recipe* tradition*"
    ),
    "disability": (
        "disab* wheelchair* access* ramp* elevator* stairs mobility accommodat* ada "
        "benefit* ssdi ssi insurance* caregiver* care carer* assist* aid aids "
        "prosthe* braille sign_language deaf* blind* hearing vision chronic pain* therap* rehab* "
        "travel* transport* flight* drive* driving car parking job* work* employ* interview* "
        "exercise* sport* fitness home* house* apartment* kitchen* bathroom* health* doctor* medic*"
    ),
    "sexuality": (
        "sexual* orientation* gay lesbian* bisexual* asexual* queer lgbt* pride coming_out come_out "
        "dating date relationship* partner* boyfriend* girlfriend* husband* wife wives marri* wedding* "
        "sex std* sti sti's prep hiv condom* family famil* parent* adopt* surrogac* ivf "
        "homophob* closet*"
    ),
    "political_affiliation": (
        "politic* vote* voting elect* ballot* candidate* party parties democrat* republican* "
        "independent* liberal* conservative* progressive* left-wing right-wing "
        "government* congress* senat* president* governor* law laws policy policies legislat* "
        "tax* abortion* gun* immigra* climate healthcare welfare minimum_wage union* "
        "news opinion* debate* argu* campaign* donat* protest* activis* petition*"
    ),
}
_VALUE_TOPICS = {
    "muslim": "islam* halal haram ramadan eid mosque* quran* koran* hijab* imam* zakat hajj mecca sharia* pork alcohol*",
    "jewish": "judaism jew jews kosher shabbat sabbath synagogue* torah talmud passover rabbi* bar_mitzvah bat_mitzvah yom_kippur hanukkah",
    "christian": "christ* jesus church* bible* easter christmas lent communion baptis* pastor* priest* prayer*",
    "hindu": "hinduism temple* diwali holi vegetarian* beef cow* karma puja veda* ayurved*",
    "atheist": "atheism god gods secular* afterlife religion* belief* faith*",
}
_SELF_REFERENCE = (
    r"\b(?:ok|okay|safe|appropriate|allowed|permitted|permissible|suitable|right|acceptable|forbidden|"
    r"good|bad|healthy|legal|halal|kosher)\s+for\s+(?:me|us|someone\s+like\s+me|people\s+like\s+(?:me|us))\b"
    r"|\b(?:someone|people|others|those)\s+like\s+(?:me|us)\b"
    r"|\bam\s+i\s+(?:allowed|permitted|able|eligible|supposed)\b|\bcan\s+i\s+still\b|\bmay\s+i\b"
    r"|\bis\s+it\s+(?:a\s+sin|allowed|permitted|forbidden|haram|halal|kosher)\b"
    r"|\b(?:my|our)\s+(?:religion|faith|beliefs?|god|church|age|gender|sex|race|ethnicity|culture|heritage|"
    r"background|disability|condition|wheelchair|sexuality|orientation|identity|community|politics|party|"
    r"views|values|pronouns|body|people)\b"
    r"|\b(?:given|because|since)\s+(?:that\s+)?(?:i'm|i\s+am|we're|we\s+are)\b"
    r"|\bin\s+my\s+(?:situation|position|case|community|culture|tradition)\b"
)
_IDENTITY_WORD = re.compile(r"[A-Za-z][A-Za-z-]{2,}")
_NOT_IDENTITY_WORDS = frozenset(
    "person people persons user users individual individuals someone guy voter voters "
    "citizen citizens the and who year years old able non middle".split()
)
_IRREGULAR = {"man": "m[ae]n", "woman": "wom[ae]n", "men": "m[ae]n", "women": "wom[ae]n"}


def compile_cues(extra: Mapping[str, Sequence[str]]) -> dict[str, re.Pattern[str]]:
    """A policy's extra cue words per axis, compiled once at load time."""
    compiled = {}
    for axis, words in extra.items():
        if words:
            compiled[canonical_axis(axis)] = re.compile(
                r"\b(?:" + _words(" ".join(w.replace(" ", "_") for w in words)) + r")\b", re.IGNORECASE
            )
    return compiled


def identity_needed(
    group: Sequence[PersonaAttribute],
    governed: str,
    identity_text: str,
    extra: Mapping[str, re.Pattern[str]] | None = None,
) -> bool:
    """Whether any identity in `group` (one statement) is needed to answer `governed`, the text it governs.

    `identity_text` is the statement's identity words ("Muslim person"), whose reappearance counts.
    """
    if not governed.strip():
        return False
    own = _identity_pattern(frozenset(_identity_words(group, identity_text)))
    if own is not None and own.search(governed):
        return True
    for attribute in group:
        axis = canonical_axis(attribute.axis)
        if _topics(axis, _value_key(attribute.value)).search(governed):
            return True
        if extra:
            cue = extra.get(axis)
            if cue is not None and cue.search(governed):
                return True
    return False


@lru_cache(maxsize=512)
def _topics(axis: str, value: str) -> re.Pattern[str]:
    """One pattern for rules 2 and 3 of an (axis, value): what the identity bears on, what refers to it."""
    parts = [_SELF_REFERENCE, r"\b(?:" + _words(_GENERIC) + r")\b"]
    if axis in _AXIS_TOPICS:
        parts.append(r"\b(?:" + _words(_AXIS_TOPICS[axis]) + r")\b")
    if value in _VALUE_TOPICS:
        parts.append(r"\b(?:" + _words(_VALUE_TOPICS[value]) + r")\b")
    return re.compile("|".join(f"(?:{p})" for p in parts), re.IGNORECASE)


@lru_cache(maxsize=1024)
def _identity_pattern(words: frozenset[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    return re.compile("|".join(_word_forms(w) for w in sorted(words)), re.IGNORECASE)


@lru_cache(maxsize=256)
def _value_key(value: str) -> str:
    v = value.lower()
    for key in _VALUE_TOPICS:
        if key in v:
            return key
    return v


def _word_forms(word: str) -> str:
    """The identity word and its inflections: "muslim" -> Muslims, "christian" -> Christianity, "woman" -> women."""
    if word in _IRREGULAR:
        return r"\b" + _IRREGULAR[word] + r"\b"
    if len(word) >= 6:
        return r"\b" + re.escape(word[:-1]) + r"\w*"
    return r"\b" + re.escape(word) + r"(?:s|es)?\b"


def _identity_words(group: Iterable[PersonaAttribute], identity_text: str) -> set[str]:
    words = set(_IDENTITY_WORD.findall(identity_text))
    for attribute in group:
        words.update(_IDENTITY_WORD.findall(attribute.value.replace("_", " ")))
    return {w.lower() for w in words if w.lower() not in _NOT_IDENTITY_WORDS}
