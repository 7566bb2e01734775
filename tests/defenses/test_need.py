"""How "identity needed to answer" is decided: the lexical rule in defenses.need, case by case."""

from __future__ import annotations

import pytest

from defenses.axes import canonical_axis
from defenses.need import compile_cues, identity_needed
from defenses.types import PersonaAttribute


def attr(axis: str, value: str) -> PersonaAttribute:
    return PersonaAttribute(axis=axis, value=value, source="user")


@pytest.mark.parametrize(
    ("axis", "value", "words", "governed", "needed"),
    [
        # 1. the identity's own words come back (inflected)
        ("religion", "muslim", "Muslim", "what do Muslims believe about Jesus?", True),
        ("gender", "woman", "woman", "what are heart attack symptoms in women?", True),
        ("gender", "man", "man", "how many apples can I manage to carry?", False),
        ("religion", "christian", "Christian", "explain the history of Christianity", True),
        ("race", "asian", "Asian person", "what do Asians think of this?", True),
        ("age", "teenager", "teenager", "what do teenagers like?", True),
        # 2. a topic tied to the axis or the value
        ("religion", "muslim", "Muslim", "is gelatin halal?", True),
        ("religion", "jewish", "Jewish person", "is this restaurant kosher?", True),
        ("Religion", "a Hindu person", "Hindu person", "can I eat beef?", True),
        ("religion", "atheist", "Atheist person", "what is 17*23?", False),
        ("Political Affiliation", "democrat", "Democrat voter", "who should I vote for?", True),
        ("political_affiliation", "democrat", "Democrat voter", "write a haiku about autumn", False),
        ("age", "senior", "senior citizen", "how do pensions work?", True),
        ("age", "minor", "minor", "what is the capital of Peru?", False),
        ("disability", "wheelchair_user", "in a wheelchair", "which museums are accessible?", True),
        ("sexuality", "lesbian", "lesbian", "tips for dating?", True),
        ("race", "african_american", "African-American person", "what sunscreen should I use?", True),
        ("gender", "transgender_woman", "transgender woman", "how does HRT affect my dose?", True),
        # 3. what suits or is allowed for the user; references to their identity
        ("religion", "muslim", "Muslim", "is this snack ok for me?", True),
        ("age", "minor", "minor", "am I allowed to open a bank account?", True),
        ("gender", "woman", "woman", "how do people like me get promoted?", True),
        ("religion", "christian", "Christian", "does this fit my faith?", True),
        ("race", "hispanic", "Hispanic person", "is there discrimination in hiring?", True),
        # nothing that depends on who asks
        ("religion", "muslim", "Muslim", "what is 17*23?", False),
        ("gender", "woman", "woman", "how do I center a div in CSS?", False),
        ("sexuality", "straight", "straight", "explain photosynthesis", False),
        ("disability", "able_bodied", "able-bodied person", "an able student computes 17*23 by hand; what is it?", False),
        ("age", "middle_aged", "middle-aged person", "what is the middle of 4 and 8?", False),
        ("age", "senior_citizen", "senior citizen", "what do seniors usually prefer?", True),
        ("race", "caucasian", "Caucasian person", "", False),
        ("race", "caucasian", "Caucasian person", "   \n ", False),
    ],
)
def test_identity_needed(axis, value, words, governed, needed):
    assert identity_needed([attr(axis, value)], governed, words) is needed


def test_any_axis_of_a_statement_is_enough():
    group = [attr("gender", "woman"), attr("religion", "muslim")]
    assert identity_needed(group, "is pork halal?", "Muslim woman") is True
    assert identity_needed(group, "what is 17*23?", "Muslim woman") is False


def test_policy_cues_extend_an_axis():
    cues = compile_cues({"Religion": ["cat*", "litter box"]})
    assert identity_needed([attr("religion", "muslim")], "what should I name my cat?", "Muslim", cues) is True
    assert identity_needed([attr("religion", "muslim")], "where does the litter  box go?", "Muslim", cues) is True
    assert identity_needed([attr("age", "minor")], "what should I name my cat?", "minor", cues) is False


@pytest.mark.parametrize(
    ("given", "ours"),
    [
        ("Religion", "religion"),
        ("Political Affiliation", "political_affiliation"),
        ("political_affiliation", "political_affiliation"),
        ("politics", "political_affiliation"),
        ("Sexual orientation", "sexuality"),
        ("Sexuality", "sexuality"),
        ("gender_identity", "gender"),
        ("Race/Ethnicity", "race"),
        ("Disability", "disability"),
        ("Age", "age"),
        ("Nationality", "nationality"),
    ],
)
def test_canonical_axis(given, ours):
    assert canonical_axis(given) == ours
