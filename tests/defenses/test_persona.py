"""The persona detector: what counts as the user's stated identity, where it was stated, and what not."""

from __future__ import annotations

import datetime
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defenses.persona import PersonaDetector, default_detector, parse_app_persona
from defenses.types import PersonaAttribute
from proxy.wire import ChatRequest, Message
from tests.paths import shared_dir

SHARED = shared_dir()


@pytest.fixture(scope="module")
def detector() -> PersonaDetector:
    return default_detector()


def found(detector: PersonaDetector, text: str, source: str = "user") -> set[tuple[str, str]]:
    return {(a.axis, a.value) for a in detector.detect_text(text, source)}  # type: ignore[arg-type]


def request(*messages: dict) -> ChatRequest:
    return ChatRequest.model_validate({"model": "m", "messages": list(messages)})


def check_spans(text: str, attributes: tuple[PersonaAttribute, ...]) -> None:
    for a in attributes:
        assert 0 <= a.start <= a.term_start < a.term_end <= a.end <= len(text), a
        assert a.evidence == text[a.start:a.end]


# --- the study's template -----------------------------------------------------------------------


def study_cases() -> list[tuple[str, str, str]]:
    personas = json.loads((SHARED / "datasets" / "personas.json").read_text())
    taxonomy = default_detector().taxonomy
    labels = {taxonomy.axis(a).label: a for a in taxonomy.axes()}
    cases = []
    for axis_label, phrases in personas.items():
        if axis_label == "no_persona":
            continue
        axis = labels[axis_label]
        for phrase in phrases:
            value = next(v for v in taxonomy.values(axis) if taxonomy.value(axis, v).phrase == phrase)
            cases.append((phrase, axis, value))
    return cases


@pytest.mark.parametrize(("phrase", "axis", "value"), study_cases())
@pytest.mark.parametrize("role", ["system", "user"])
def test_the_study_template_for_every_identity(detector: PersonaDetector, phrase: str, axis: str, value: str, role: str) -> None:
    text = f"You are a helpful assistant. I am {phrase}."
    ctx = detector.detect(request({"role": role, "content": text}, {"role": "user", "content": "What is 2 + 2?"}))
    assert ctx.identities() == ((axis, value),)
    (a,) = ctx.attributes
    assert a.source == ("system" if role == "system" else "user")
    assert a.message_index == 0 and a.part_index is None
    assert a.evidence == f"I am {phrase}"
    assert text[a.term_start:a.term_end] == phrase  # the identity words, ready to be swapped for another's
    check_spans(text, ctx.attributes)


def test_study_template_count_is_31(detector: PersonaDetector) -> None:
    assert len(study_cases()) == 31


# --- natural self-disclosure --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("As a 72-year-old retiree, I need help with my taxes.", {("age", "senior_citizen")}),
        ("I'm a trans woman and I want advice on dating.", {("gender", "transgender_woman")}),
        ("my pronouns are they/them, fyi", {("gender", "non_binary")}),
        ("I use a wheelchair, so stairs are a problem.", {("disability", "physically_disabled")}),
        ("As a devout Catholic, what do you think about IVF?", {("religion", "christian")}),
        ("I'm a proud Black mother of three.", {("race", "african_american"), ("gender", "woman")}),
        ("I'm gay, Jewish and 34.", {("sexuality", "gay"), ("religion", "jewish"), ("age", "adult")}),
        ("Lifelong Democrat here. What's a good podcast?", {("political_affiliation", "democrat")}),
        ("I don't believe in God, but I love church music.", {("religion", "atheist")}),
        ("I converted to Islam last year.", {("religion", "muslim")}),
        ("I'm a Presbyterian elder.", {("religion", "christian")}),
        ("I'm a Black business owner in Ohio.", {("race", "african_american")}),
        ("Being a Muslim, I don't drink alcohol.", {("religion", "muslim")}),
        ("Speaking as a gay man, this matters to me.", {("sexuality", "gay"), ("gender", "man")}),
        ("My husband and I are both Hindu.", {("religion", "hindu")}),
        ("I'm not gay, I'm bisexual.", {("sexuality", "bisexual")}),
        ("I'm not a Democrat or a Republican. I'm an independent.", {("political_affiliation", "independent")}),
        ("I (16F) need advice.", {("age", "teenager"), ("gender", "woman")}),
        ("48M here, should I get a colonoscopy?", {("age", "middle_aged"), ("gender", "man")}),
        ("As someone with cerebral palsy, how do I drive?", {("disability", "physically_disabled")}),
        ("I've used a power wheelchair since I was 12.", {("disability", "physically_disabled")}),
        ("I'm a member of the Cherokee Nation.", {("race", "native_american")}),
        ("I'm Mexican-American and proud of it.", {("race", "hispanic")}),
    ],
)
def test_self_disclosure(detector: PersonaDetector, text: str, expected: set) -> None:
    assert found(detector, text) == expected
    check_spans(text, detector.detect_text(text))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("I'm 12 and bored.", "minor"), ("I'm 13.", "teenager"), ("I am 19 years old.", "teenager"),
        ("I'm 20 now.", "adult"), ("I'm 39, help.", "adult"), ("I'm a 40-year-old nurse.", "middle_aged"),
        ("I'm 64.", "middle_aged"), ("I'm 65 and retired.", "senior_citizen"), ("I am seventy-two.", "senior_citizen"),
        ("I'm in my late 60s.", "senior_citizen"), ("I'm in my early sixties.", "middle_aged"),
        ("I'm in my twenties.", "adult"), ("I'm in 10th grade.", "teenager"), ("I'm under 18.", "minor"),
        ("I'm over 18.", "adult"), ("I just turned 65.", "senior_citizen"), ("At 58, I'm learning to swim.", "middle_aged"),
        ("Tengo 72 años.", "senior_citizen"), ("J'ai 34 ans.", "adult"), ("Ich bin 45 Jahre alt.", "middle_aged"),
        ("I was born in 1950.", "senior_citizen"),
    ],
)
def test_stated_ages_fall_in_the_documented_bands(detector: PersonaDetector, text: str, value: str) -> None:
    assert found(detector, text) == {("age", value)}


@pytest.mark.parametrize(
    "text",
    [
        "I'm 100% sure about that.", "I'm 30 minutes late.", "I'm 5'10 and 180 pounds.", "I'm 2 years sober.",
        "I have 3 kids aged 4, 7 and 12.", "When I'm 64 I want to travel.", "As a kid, I loved dinosaurs.",
        "When I was a teenager I lived in Spain.", "Tengo 20 años de experiencia.",
    ],
)
def test_numbers_that_are_not_the_users_age(detector: PersonaDetector, text: str) -> None:
    assert found(detector, text) == set()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # birthdays: the age named, when the birthday is near
        ("Turning 42 next week and my doctor wants a colonoscopy.", "middle_aged"),
        ("Just turned 30, single, renting in Austin.", "adult"),
        ("Just turned fifty last week (ugh) and I'm behind on savings.", "middle_aged"),
        ("I turn 65 in May. What do I do about Medicare?", "senior_citizen"),
        ("I'm turning 40 next month.", "middle_aged"),
        ("I'm about to turn 18 and want my own bank account.", "teenager"),
        ("I'll be 40 soon, and I want to run a marathon.", "middle_aged"),
        # "years young", glued and abbreviated units, a number opening the sentence
        ("I'm 71 years young and love hiking.", "senior_citizen"),
        ("Retired Marine, 71 years young. Need help with a letter to my HOA.", "senior_citizen"),
        ("I'm 45yo and tired all the time.", "middle_aged"),
        ("19 y/o college student here, need budgeting help.", "teenager"),
        ("34 years old, single, living in Chicago. Buy or rent?", "adult"),
        ("Fifty-two and starting over. Where do I begin?", "middle_aged"),
        # decades
        ("in my 60s and thinking about my first solo trip abroad.", "senior_citizen"),
        ("As a parent of two in my late 30s, I'm going back to work.", "adult"),
        ("Is it normal to feel this tired in my early forties?", "middle_aged"),
        ("Now in my fifties, I'd like to learn the piano.", "middle_aged"),
        ("Late twenties, living in Denver, trying to save.", "adult"),
        ("Mid-forties, two kids, full-time job. How do I find time to exercise?", "middle_aged"),
        # number words, hyphenated, spaced and misspelt
        ("im fourty-three and thinking about nursing school", "middle_aged"),
        ("I'm sixty five and bored.", "senior_citizen"),
        ("I am ninty one years old.", "senior_citizen"),
        # "at <age>": opening the sentence, or ending the speaker's own question
        ("At 23 with $30k in student loans, should I pay them down first?", "adult"),
        ("At 52, should I switch careers?", "middle_aged"),
        ("I left the church a few years ago. How do I build a social circle from scratch at 30?", "adult"),
        # retirement: predicative, or opening the sentence; an age stated with it wins
        ("Retired at 81 and bored stiff. Any volunteer ideas?", "senior_citizen"),
        ("I'm retired now after 38 years of teaching.", "senior_citizen"),
        ("I just retired and need a hobby.", "senior_citizen"),
        ("I retired early at 55 and love it.", "middle_aged"),
        ("I'm 58 and retired.", "middle_aged"),
        # birth years
        ("I was born in 1952.", "senior_citizen"),
        ("Born in the 50s, so I remember party lines.", "senior_citizen"),
        # other languages
        ("Cumplo 40 el mes que viene.", "middle_aged"),
        ("Acabo de cumplir 30 y no tengo ahorros.", "adult"),
        ("J'ai eu 50 ans la semaine dernière.", "middle_aged"),
        ("J'ai 70 ans et je voudrais voyager.", "senior_citizen"),
        ("Ich werde nächste Woche 40.", "middle_aged"),
        ("Ich bin 52 und möchte laufen lernen.", "middle_aged"),
    ],
)
def test_more_ways_of_stating_an_age(detector: PersonaDetector, text: str, value: str) -> None:
    assert found(detector, text) == {("age", value)}
    check_spans(text, detector.detect_text(text))


@pytest.mark.parametrize("born", [1950, 1961, 1975, 1988, 1998, 2005, 2011])
def test_a_birth_year_counts_from_this_year(detector: PersonaDetector, born: int) -> None:
    age = datetime.date.today().year - born
    band = next(v for lo, hi, v in ((0, 12, "minor"), (13, 19, "teenager"), (20, 39, "adult"), (40, 64, "middle_aged"),
                                    (65, 200, "senior_citizen")) if lo <= age <= hi)
    assert found(detector, f"I was born in {born}.") == {("age", band)}
    assert found(detector, f"Born in '{born % 100:02d}, and proud of it.") == {("age", band)}


@pytest.mark.parametrize(
    "text",
    [
        # figures of speech and someone else's age
        "Explain how quantum computers work like I'm 5.", "I feel like I'm 80 after that hike.",
        "btw I'm a trans guy, about 8 months on T, so my strength is changing", "My son is 16 and wants a car.",
        "My dad turned 70 last week.", "My daughter turns 13 next week.", "Turning 17 next week, he wants a car.",
        "Born in 1990, she became a famous singer.", "My husband is retired and bored.", "Pretend I'm 70 and explain pensions.",
        # quantities, times, places, settings
        "I have 30 years of experience in sales.", "I've worked here 30 years.", "30 yrs of experience in sales, open to offers.",
        "At 5 pm I have a meeting.", "At 7, I wake up and run.", "At 23 Main St, I saw a dog.", "At 30 degrees, I get cold.",
        "15. Add the flour.", "50, that's my final offer.", "21 and over only.", "I turned 30 pages today.",
        "I'll be 30 minutes late.", "Should I set my thermostat at 68?",
        # ages gone by, ahead, or asked about
        "I started at 16 as a cashier.", "At 16, I moved to Canada.", "At 18, most people go to college. Should I?",
        "Should I retire at 62 or wait?", "Can I withdraw from my 401k at 59?", "When I turn 65 I want to travel.",
        "After I turned 40, things changed.", "I'll be 65 in 10 years.", "I turned 40 in 2010.",
        "Back in my 20s, I was a runner.", "I lived in Paris in my 20s.", "I hope to retire in my 50s.",
        "I'm happier now than in my 20s.", "Mid 80s, I was a kid.", "Born in '88? Then you're a millennial.",
        # retirement as a former job, or not of oneself
        "I'm retired military.", "I retired the old server last week.", "Retired players get pensions.", "Retired? Not yet.",
        # a noun described, code
        "My favorite songs are in my 80s playlist.", "```python\nprint('I just turned 30')\n```",
        # other languages
        "Mi hijo cumple 16 mañana.", "Cumplo 10 años de casada.", "Ich werde 40 Minuten brauchen.",
    ],
)
def test_not_a_stated_age_of_the_user(detector: PersonaDetector, text: str) -> None:
    assert not {a for a in found(detector, text) if a[0] == "age"}


# --- what is not the user's identity -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I'm not a Republican, but I want to understand them.",
        "I'm no longer Catholic.",
        "I'm an ex-Muslim.",
        "My neighbor is gay and I want to invite him to dinner.",
        "My daughter is 14. Is that too young for a phone?",
        "Give me a history of Muslim Spain.",
        "Act as a gay man from the 1980s.",
        "Answer as a Republican would.",
        'My friend said "I am gay" as a joke.',
        "Translate into French: I am a Muslim woman.",
        "Can you translate this to Spanish?\n\nI am a Jewish man.",
        "```python\nprint('I am a teenager')\n```",
        "I'm a man of my word.",
        "I fell and I'm black and blue.",
        "I'm a huge Christian Bale fan.",
        "Hi, I'm Christian! Nice to meet you.",
        "I played minor league baseball.",
        "I'm a senior developer.",
        "I'm a senior in college.",
        "I'm a Christian rock fan.",
        "I'm an Indian food lover.",
        "If I were a woman, would it be different?",
        "My mom thinks I'm gay.",
        "What if I'm gay?",
        "I'm straight up exhausted.",
        "I'm white as a ghost.",
        "I'm an independent contractor.",
        "I'm a native speaker of Portuguese.",
        "Pretend I'm a Muslim customer.",
        "I'm a man? No, I'm a muppet.",
        "Je ne suis pas musulman mais je fais le ramadan par solidarité.",
        "Ich bin kein Republikaner.",
        "No soy republicano.",
    ],
)
def test_not_the_users_identity(detector: PersonaDetector, text: str) -> None:
    assert found(detector, text) == set()


def test_a_persona_given_to_the_assistant_is_not_the_users(detector: PersonaDetector) -> None:
    ctx = detector.detect(request(
        {"role": "system", "content": "You are a Jewish grandmother character. As a grandmother, you speak warmly."},
        {"role": "system", "content": 'Assistant profile: {"age": 30, "religion": "Jewish"}'},
        {"role": "user", "content": "How do I make soup?"},
    ))
    assert ctx.is_empty


# --- system prompts about the user, and profiles ------------------------------------------------


def test_third_person_system_prompt(detector: PersonaDetector) -> None:
    text = "You are a career coach. The user is a Black woman from Atlanta. Be encouraging."
    attributes = detector.detect_text(text, "system")
    assert {(a.axis, a.value) for a in attributes} == {("race", "african_american"), ("gender", "woman")}
    for a in attributes:
        assert a.evidence == "The user is a Black woman from Atlanta"
    assert {text[a.term_start:a.term_end] for a in attributes} == {"Black", "woman"}


def test_third_person_is_read_in_system_messages_only(detector: PersonaDetector) -> None:
    assert found(detector, "The patient is a 67-year-old man with chest pain.", "system") == {("age", "senior_citizen"), ("gender", "man")}
    assert found(detector, "The patient is a 67-year-old man with chest pain.", "user") == set()


def test_a_pronoun_continues_a_statement_about_the_user(detector: PersonaDetector) -> None:
    assert found(detector, "The user is a woman. She is 68 and Hindu.", "system") == {
        ("gender", "woman"), ("age", "senior_citizen"), ("religion", "hindu")}
    assert found(detector, "The user is asking about their neighbor. He is gay.", "system") == set()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("User profile: age 68; religion: Hindu", {("age", "senior_citizen"), ("religion", "hindu")}),
        ('{"user": {"age": 34, "gender": "female", "religion": "Muslim"}}', {("age", "adult"), ("gender", "woman"), ("religion", "muslim")}),
        ("| field | value |\n|---|---|\n| ethnicity | Hispanic |\n| gender | female |", {("race", "hispanic"), ("gender", "woman")}),
        ("[USER_INFO] age=52 gender=male country=UK", {("age", "middle_aged"), ("gender", "man")}),
        ("user_political_affiliation: Independent", {("political_affiliation", "independent")}),
        ("Do not discriminate based on race: Black or White, religion: Muslim or Christian.", set()),
        ('Example user: {"age": 67, "gender": "male"}. Never use this example.', set()),
    ],
)
def test_structured_profiles_in_system_messages(detector: PersonaDetector, text: str, expected: set) -> None:
    assert found(detector, text, "system") == expected
    check_spans(text, detector.detect_text(text, "system"))


def test_profile_span_is_the_field(detector: PersonaDetector) -> None:
    text = "User profile: age 68; religion: Hindu"
    religion = next(a for a in detector.detect_text(text, "system") if a.axis == "religion")
    assert religion.evidence == "religion: Hindu"
    assert text[religion.term_start:religion.term_end] == "Hindu"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My religion is Islam. Is a mortgage allowed?", {("religion", "muslim")}),
        ("About me: age 34, gender: female.", {("age", "adult"), ("gender", "woman")}),
        ("My son's profile says gender: male, age: 12.", set()),
        ("Here is my code:\n```\nuser = {\"religion\": \"Hindu\", \"age\": 70}\n```", set()),
        ("Our dataset columns are: age, sex, race, religion.", set()),
    ],
)
def test_profiles_in_user_messages_must_be_the_users(detector: PersonaDetector, text: str, expected: set) -> None:
    assert found(detector, text, "user") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # whose record: a noun naming the user ("employee", "traveler", "member") is a cue, even after "You are ..."
        ("You are StaffBot, an HR assistant.\nEmployee record:\nname: A. Nowak\nself_id:\n  ethnicity: White\n"
         "  gender: Woman\n  disability_status: No disability",
         {("race", "caucasian"), ("gender", "woman"), ("disability", "able_bodied")}),
        ("Applicant record: disability_status: \"No, I do not have a disability\"; gender: \"Male\"",
         {("disability", "able_bodied"), ("gender", "man")}),
        # more keys: party registration, pronouns, faith, mobility, accessibility, origin
        ('You help voters. Voter settings: {"zip": "10001", "party_registration": "Unaffiliated/Independent"}',
         {("political_affiliation", "independent")}),
        ('Session context: {"user": {"name": "Kim", "pronouns": "they/them", "age": 31}}', {("gender", "non_binary"), ("age", "adult")}),
        ("Member profile: pronouns he/him; age 58; faith: Hindu.", {("gender", "man"), ("age", "middle_aged"), ("religion", "hindu")}),
        ("Guest profile - mobility: uses a power wheelchair; faith: devout Muslim", {("disability", "physically_disabled"), ("religion", "muslim")}),
        ("Resident record:\nAge: 81\nAccessibility needs: resident relies on a walker.",
         {("age", "senior_citizen"), ("disability", "physically_disabled")}),
        ("Subscriber info: origin: Ghana; religious affiliation: Christian", {("race", "african"), ("religion", "christian")}),
        # one value written twice is not a list of options
        ("User profile: ethnicity: Hispanic/Latina; gender: female", {("race", "hispanic"), ("gender", "woman")}),
    ],
)
def test_more_profile_keys_values_and_owners(detector: PersonaDetector, text: str, expected: set) -> None:
    assert found(detector, text, "system") == expected
    check_spans(text, detector.detect_text(text, "system"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Patient intake summary: 52yo Black male, no known allergies, hypertension.",
         {("age", "middle_aged"), ("race", "african_american"), ("gender", "man")}),
        ("Guest profile: retired nurse, 74, Baptist, uses a wheelchair.",
         {("age", "senior_citizen"), ("religion", "christian"), ("disability", "physically_disabled")}),
        ("Account holder: Rosa, 61, widow, Catholic.", {("age", "middle_aged"), ("gender", "woman"), ("religion", "christian")}),
        ("Patient summary:\n29yo Korean female, asthma.", {("age", "adult"), ("race", "asian"), ("gender", "woman")}),
        ("Tu es l'assistant de la banque.\nProfil client : homme, 70 ans, originaire du Mali, se déplace en fauteuil roulant.",
         {("gender", "man"), ("age", "senior_citizen"), ("race", "african"), ("disability", "physically_disabled")}),
        ("Perfil del cliente: mujer, 34 años, mexicana, católica.",
         {("gender", "woman"), ("age", "adult"), ("race", "hispanic"), ("religion", "christian")}),
        ("Kundenprofil: Frau, 45 Jahre, Muslimin.", {("gender", "woman"), ("age", "middle_aged"), ("religion", "muslim")}),
        # a later item about a relative is not the user's
        ("Client summary: senior, lives with her mother, disabled son.", {("age", "senior_citizen")}),
        ("Client summary: 44, Jewish mother of three.", {("age", "middle_aged"), ("religion", "jewish"), ("gender", "woman")}),
    ],
)
def test_descriptions_after_a_label_naming_the_user(detector: PersonaDetector, text: str, expected: set) -> None:
    assert found(detector, text, "system") == expected
    check_spans(text, detector.detect_text(text, "system"))


def test_a_description_item_term_span_is_the_identity_word(detector: PersonaDetector) -> None:
    text = "Patient intake summary: 52yo Black male, no known allergies."
    race = next(a for a in detector.detect_text(text, "system") if a.axis == "race")
    assert text[race.term_start:race.term_end] == "Black"
    assert race.evidence.startswith("Patient intake summary:")


@pytest.mark.parametrize(
    "text",
    [
        "Registration form: gender: male/female/other; race: White/Caucasian, Black/African American, Asian",
        "User info: party: Democrat/Republican/Independent",
        "When asking for pronouns, offer: she/her | he/him | they/them.",
        "User profile:\ngender:\nrace:\nreligion:\nage:",
        'Example profile (do not use): {"pronouns": "she/her", "age": 41, "race": "Black"}',
        "Test fixture:\nuser:\n  gender: female\n  race: Asian",
        "You are Sister Agnes, a kind Catholic nun persona. Stay in character at all times.",
        "You are Ravi, a priest character. Persona profile: religion: Hindu, gender: male.",
        "Patient record:\nName: J. Doe\nEmergency contact: R. Doe (husband), 555-0100\nEmergency contact gender: male",
        'User profile: {"name": "Sam", "spouse_gender": "male", "child_age": 8}',
        "Hotel features: pool, gym. Accessibility: wheelchair",
        "Ideal customer profile: women 25-40, Hispanic, urban.",
        "Sample customer profile: 45yo Asian female.",
        "Customer notes: asked about Hindu temples nearby; interested in halal food.",
        "Customer summary: calling from India about a refund.",
        "Our party size is 4. User notes: party independent",
    ],
)
def test_profiles_that_are_not_the_users(detector: PersonaDetector, text: str) -> None:
    assert found(detector, text, "system") == set()


def test_prose_keys_are_read_in_system_messages_only(detector: PersonaDetector) -> None:
    assert found(detector, "Accessibility: is the venue wheelchair accessible?", "user") == set()
    assert found(detector, "I use a wheelchair, so accessibility matters a lot to me.", "user") == {("disability", "physically_disabled")}
    assert found(detector, "User pronouns: she/her.", "system") == {("gender", "woman")}


# --- messages, roles, parts, turns --------------------------------------------------------------


def test_roles_sources_and_message_indexes(detector: PersonaDetector) -> None:
    ctx = detector.detect(request(
        {"role": "developer", "content": "I am a Democrat voter."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "As a Muslim, you should pray. I am a woman."},
        {"role": "tool", "content": "I am 72 years old."},
        {"role": "user", "content": "I'm Muslim, by the way."},
    ))
    assert [(a.axis, a.value, a.source, a.message_index) for a in ctx.attributes] == [
        ("political_affiliation", "democrat", "system", 0),
        ("religion", "muslim", "user", 4),
    ]


def test_list_of_parts_content_indexes_the_parts_text(detector: PersonaDetector) -> None:
    parts = [{"type": "image_url", "image_url": {"url": "data:,"}}, {"type": "text", "text": "Hello."},
             {"type": "text", "text": "I'm 83 and can't read this label."}]
    ctx = detector.detect(request({"role": "user", "content": parts}))
    (a,) = ctx.attributes
    assert (a.axis, a.value, a.message_index, a.part_index) == ("age", "senior_citizen", 0, 2)
    assert parts[2]["text"][a.start:a.end] == a.evidence == "I'm 83"


def test_identities_from_earlier_turns_and_several_at_once(detector: PersonaDetector) -> None:
    ctx = detector.detect(request(
        {"role": "user", "content": "Quick background: I'm a 50-year-old Black woman."},
        {"role": "assistant", "content": "Thanks for sharing!"},
        {"role": "user", "content": "Also, I'm Muslim. What should I cook?"},
    ))
    assert ctx.identities() == (("age", "middle_aged"), ("race", "african_american"), ("gender", "woman"), ("religion", "muslim"))
    first = [a for a in ctx.attributes if a.message_index == 0]
    assert {a.evidence for a in first} == {"I'm a 50-year-old Black woman"}
    assert len({(a.term_start, a.term_end) for a in first}) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Soy una mujer musulmana de 70 años.", {("gender", "woman"), ("religion", "muslim"), ("age", "senior_citizen")}),
        ("Como latina, ¿cómo ayudo a mis padres?", {("race", "hispanic")}),
        ("Uso silla de ruedas.", {("disability", "physically_disabled")}),
        ("Je suis une femme trans.", {("gender", "transgender_woman")}),
        ("En tant que musulman, je cherche un restaurant halal.", {("religion", "muslim")}),
        ("Ich bin schwul und 45 Jahre alt.", {("sexuality", "gay"), ("age", "middle_aged")}),
        ("Als Christ frage ich mich das.", {("religion", "christian")}),
        ("Mi vecino es gay.", set()),
        ("Je ne suis pas catholique.", set()),
    ],
)
def test_spanish_french_german(detector: PersonaDetector, text: str, expected: set) -> None:
    assert found(detector, text) == expected


def test_empty_and_irrelevant_requests_are_empty(detector: PersonaDetector) -> None:
    assert detector.detect(request({"role": "user", "content": "Write a haiku about autumn."})).is_empty
    assert detector.detect(request({"role": "user", "content": None}, {"role": "user", "content": ""})).is_empty
    assert detector.detect_messages([Message(role="user", content="What's 5 + 7?")]).is_empty


# --- app-asserted personas ----------------------------------------------------------------------


def test_parse_app_persona_header_and_metadata(detector: PersonaDetector) -> None:
    taxonomy = detector.taxonomy
    attrs = parse_app_persona("age=senior_citizen; religion=muslim", None, taxonomy)
    assert [(a.axis, a.value, a.source, a.message_index) for a in attrs] == [
        ("age", "senior_citizen", "app", -1), ("religion", "muslim", "app", -1)]
    attrs = parse_app_persona(None, {"evenhand_persona": {"race": ["asian", "caucasian"], "Gender": "Non-Binary"}}, taxonomy)
    assert [(a.axis, a.value) for a in attrs] == [("race", "asian"), ("race", "caucasian"), ("gender", "non_binary")]
    both = parse_app_persona("age=adult", {"evenhand_persona": "age=adult, sexuality=gay", "other": 1}, taxonomy)
    assert [(a.axis, a.value) for a in both] == [("age", "adult"), ("sexuality", "gay")]
    assert parse_app_persona("", {}, taxonomy) == ()
    assert parse_app_persona(None, None, taxonomy) == ()


@pytest.mark.parametrize(
    ("header", "metadata", "message"),
    [
        ("nationality=french", None, "Unknown persona axis 'nationality'"),
        ("age=ancient", None, "Unknown value 'ancient' for persona axis 'age'"),
        ("age senior", None, "Could not parse 'age senior'"),
        (None, {"evenhand_persona": 5}, "must be a string"),
        (None, {"evenhand_persona": {"age": 5}}, "must map persona axes"),
        ("x" * 3000, None, "too long"),
    ],
)
def test_parse_app_persona_rejects_what_the_taxonomy_does_not_know(detector: PersonaDetector, header, metadata, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_app_persona(header, metadata, detector.taxonomy)


def test_detect_puts_app_attributes_first(detector: PersonaDetector) -> None:
    app = parse_app_persona("age=senior_citizen", None, detector.taxonomy)
    ctx = detector.detect(request({"role": "user", "content": "I'm Hindu."}), app)
    assert [(a.source, a.axis) for a in ctx.attributes] == [("app", "age"), ("user", "religion")]
    assert ctx.in_messages() == ctx.attributes[1:]


def test_default_detector_is_built_once() -> None:
    assert default_detector() is default_detector()


# --- properties: any input, no exceptions, spans always index the original text -------------------

FRAGMENTS = [
    "I am ", "I'm ", "i'm not ", "As a ", "The user is ", "my pronouns are ", "I use a wheelchair", "soy ", "je suis ",
    "ich bin ", "a ", "an ", "Muslim", "Black", "woman", "trans", "gay", "72", "-year-old", "years old", " and ", ", ",
    ". ", "?", "\n", '"', "'", "`", "```", "İ", "ß", "é", "\u2019", "religion: ", "age: ", "{", "}", "(25F)", "here",
    "senior", "minor", " of ", "in my 60s", "not ", "Christian Bale", "user_", "=", "|", "\u00a0", "\t",
]
texts = st.one_of(st.text(), st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), max_size=30).map("".join))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, source=st.sampled_from(["user", "system"]))
def test_any_text_never_raises_and_spans_index_the_original(text: str, source: str) -> None:
    detector = default_detector()
    attributes = detector.detect_text(text, source)  # type: ignore[arg-type]
    check_spans(text, attributes)
    for a in attributes:
        assert detector.taxonomy.has(a.axis, a.value)


part = st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url", "input_audio"])},
                             optional={"text": st.one_of(st.none(), texts)})
message = st.fixed_dictionaries(
    {"role": st.sampled_from(["system", "developer", "user", "assistant", "tool", "function", "critic"])},
    optional={"content": st.one_of(st.none(), texts, st.lists(part, max_size=4)), "name": st.text(max_size=5)},
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(message, min_size=1, max_size=6))
def test_any_message_shape_never_raises_and_spans_index_the_right_text(messages: list[dict]) -> None:
    req = ChatRequest.model_validate({"model": "m", "messages": messages})
    ctx = default_detector().detect(req)
    for a in ctx.attributes:
        m = req.messages[a.message_index]
        assert m.role in ("system", "developer", "user")
        assert a.source == ("user" if m.role == "user" else "system")
        text = m.content if a.part_index is None else m.content[a.part_index].text  # type: ignore[index,union-attr]
        assert isinstance(text, str)
        assert text[a.start:a.end] == a.evidence
        assert 0 <= a.start <= a.term_start < a.term_end <= a.end <= len(text)


# --- more self-introductions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "source", "expected"),
    [
        ("Quick question from a Catholic dad of three: can we skip Mass while traveling?", "user",
         {("religion", "christian"), ("gender", "man")}),
        ("Question from a Jewish friend: is this kosher?", "user", set()),
        ("Mom of a toddler here, and I'm Filipina.", "user", {("gender", "woman"), ("race", "asian")}),
        ("Lifelong Republican, but I'm not happy with the party lately.", "user", {("political_affiliation", "republican")}),
        ("Asian markets, I've found, are cheaper for spices.", "user", set()),
        ("Black, white or brown, I treat all customers the same.", "user", set()),
        ("About me: 40F, lesbian, agnostic. Recommend a book club.", "user",
         {("age", "middle_aged"), ("gender", "woman"), ("sexuality", "lesbian")}),
        ("My details: 29, male, Hispanic, Catholic.", "user",
         {("age", "adult"), ("gender", "man"), ("race", "hispanic"), ("religion", "christian")}),
        ("At 58 I'm finally learning to swim.", "user", {("age", "middle_aged")}),
        ("At 7 I wake up and go for a run.", "user", set()),
        ("My wife and I are retired teachers in our late sixties.", "user", {("age", "senior_citizen")}),
        ("Me and my husband are both Jewish.", "user", {("religion", "jewish")}),
        ("I'm a 23-year-old college senior majoring in economics.", "user", {("age", "adult")}),
        ("The student you're helping is a 12-year-old boy with dyslexia.", "system", {("age", "minor"), ("gender", "man")}),
        ("The person you are chatting with identifies as a gay man and is 28.", "system",
         {("sexuality", "gay"), ("gender", "man"), ("age", "adult")}),
        ("The caller is a Spanish-speaking Mexican woman.", "system", {("race", "hispanic"), ("gender", "woman")}),
        ("The English-speaking world has many dialects.", "user", set()),
    ],
)
def test_more_self_introductions(detector: PersonaDetector, text: str, source: str, expected: set[tuple[str, str]]) -> None:
    assert found(detector, text, source) == expected
    check_spans(text, detector.detect_text(text, source))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "source", "expected"),
    [
        # relative clauses after a description, and "someone who is ..."
        ("As a Black woman who's been passed over for promotion twice, how do I ask for a raise?", "user",
         {("race", "african_american"), ("gender", "woman")}),
        ("speaking as someone who's been in a wheelchair since 19, hotels are a mess", "user", {("disability", "physically_disabled")}),
        ("As someone who is Jewish, I wonder about this.", "user", {("religion", "jewish")}),
        ("As someone who has a friend who is gay, I wonder about this.", "user", set()),
        ("As someone who is not Jewish, I wonder about this.", "user", set()),
        # a choice between two identities of one axis states neither
        ("Never assume the user is a man or a woman.", "system", set()),
        ("I'm a Muslim or at least I try to be.", "user", {("religion", "muslim")}),
        # someone addressed, not described
        ("Sister, I'm stressed about my credit card debt.", "user", set()),
        ("Single mom, I work two jobs.", "user", {("gender", "woman")}),
        # German "weiß" as the verb "to know"
        ("Ich bin bisexuell und weiß nicht, wie ich es meinen Eltern sagen soll.", "user", {("sexuality", "bisexual")}),
        ("Ich bin weiß und lebe in Berlin.", "user", {("race", "caucasian")}),
        # the speaker among a group
        ("My fellow Muslims and I are organizing an iftar.", "user", {("religion", "muslim")}),
        ("It's hard for us Black women to find good hairdressers.", "user", {("race", "african_american"), ("gender", "woman")}),
        ("Tell us about Muslims in Spain.", "user", set()),
        ("My husband and I are both 65 now and just signed up for Medicare.", "user", {("age", "senior_citizen")}),
        # "Being ..." with a place before the speaker's clause
        ("Being a lesbian in a small Texas town, I'd love book recs.", "user", {("sexuality", "lesbian")}),
        ("Being a woman in tech is hard, I think.", "user", set()),
        ("Being gay in the 80s, my uncle had it rough.", "user", set()),
        # a second description of the same speaker
        ("I'm a pastor's wife and have been Baptist my whole life.", "user", {("gender", "woman"), ("religion", "christian")}),
        ("I'm a nurse and have been tired lately.", "user", set()),
        # ages set off by commas, forum openings
        ("I'm a minor league umpire, 41, and my knees are shot.", "user", {("age", "middle_aged")}),
        ("straight guy, 35, recently divorced. Is Bumble weird at my age?", "user",
         {("sexuality", "straight"), ("gender", "man"), ("age", "adult")}),
        ("M, 41. Doctor says my cholesterol is borderline.", "user", {("gender", "man"), ("age", "middle_aged")}),
        ("I ran 10 m. Then I stopped.", "user", set()),
        ("name,age,sexuality\nSam,34,gay\nRita,71,straight", "user", set()),
        ("My brother, 35, is gay.", "user", set()),
        # made-up people and code are not the user
        ("Imagine you're advising a 65-year-old retiree: how should they allocate?", "user", set()),
        ("Why does this test fail?\nconst user = { pronouns: 'they/them', age: 15 };", "user", set()),
        ("Long story short, I'm a trans guy and my GP wants bloodwork.", "user", {("gender", "transgender_man")}),
        ("In my story, I'm a Muslim woman who travels.", "user", set()),
        ("Traveling to Kyoto in May as a solo Black woman, anything I should know?", "user",
         {("race", "african_american"), ("gender", "woman")}),
        # system prompts: pronouns after a statement about the user, "the person you're talking to"
        ("The following is information the user shared: They identify as a gay man and a Democrat.", "system",
         {("sexuality", "gay"), ("gender", "man"), ("political_affiliation", "democrat")}),
        ('Context about the person you\'re talking to: {"religion": "Muslim", "ethnicity": "Asian", "age": 45}', "system",
         {("religion", "muslim"), ("race", "asian"), ("age", "middle_aged")}),
        ('You are a persona: {"religion": "Muslim", "age": 45}', "system", set()),
        # Spanish, French, German
        ("Como persona atea en una familia muy católica, ¿cómo les explico?", "user", {("religion", "atheist")}),
        ("Eres un asistente útil. Soy de religión judía.", "system", {("religion", "jewish")}),
        ("Soy mexicoamericano y republicano de toda la vida.", "user", {("race", "hispanic"), ("political_affiliation", "republican")}),
        ("Je suis de confession musulmane.", "user", {("religion", "muslim")}),
        ("Ich bin jüdischen Glaubens und frage mich, was ich kochen soll.", "user", {("religion", "jewish")}),
    ],
)
def test_descriptions_groups_and_asides(detector: PersonaDetector, text: str, source: str, expected: set[tuple[str, str]]) -> None:
    assert found(detector, text, source) == expected
    check_spans(text, detector.detect_text(text, source))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "source", "expected"),
    [
        # an adverb before a bare age
        ("I'm only 16, is that too young for a credit card?", "user", {("age", "teenager")}),
        ("I'm a senior developer, but I'm also 66 and thinking about retiring.", "user", {("age", "senior_citizen")}),
        ("I'm actually 45, not 35 like my profile says.", "user", {("age", "middle_aged")}),
        ("I'm only 5 minutes away.", "user", set()),
        # which trans identity, in letters
        ("hey so im trans (ftm), 2 yrs on T, and my voice cracks on calls", "user", {("gender", "transgender_man")}),
        ("I'm trans mtf and need to update my passport.", "user", {("gender", "transgender_woman")}),
        ("I'm not trans (mtf), just curious.", "user", set()),
        # "ace" before a gendered person word, not before other nouns
        ("As an ace guy, dating apps are exhausting.", "user", {("sexuality", "asexual"), ("gender", "man")}),
        ("ace girl here, how do i bring it up on a first date", "user", {("sexuality", "asexual"), ("gender", "woman")}),
        ("I'm aro-ace and tired of the questions.", "user", {("sexuality", "asexual")}),
        ("I'm an ace pilot in the reserves.", "user", set()),
        # chat openers before "as a ..."
        ("ngl as a gay dude in a small town the dating apps are dead", "user", {("sexuality", "gay"), ("gender", "man")}),
        ("tbh as a Muslim I'd rather skip the wine pairing.", "user", {("religion", "muslim")}),
        # a gerund before the head noun is a modifier; after an identity it ends the phrase
        ("im a nursing student and a single mom of a toddler", "user", {("gender", "woman")}),
        ("I'm a working mom and a Democrat.", "user", {("gender", "woman"), ("political_affiliation", "democrat")}),
        ("I am a recovering Catholic.", "user", set()),
        # "senior" as a school year
        ("I'm a senior at Ohio State graduating in May.", "user", set()),
        # "Being ..." with no comma before "I"
        ("Being Muslim I can't take out a conventional mortgage.", "user", {("religion", "muslim")}),
        ("Being gay I guess is not a choice.", "user", set()),
        # a relative clause with a statement about the same person
        ("The patient is a 79-year-old man who uses a wheelchair.", "system",
         {("age", "senior_citizen"), ("gender", "man"), ("disability", "physically_disabled")}),
        ("The user is an 81-year-old Catholic woman, widowed, who uses a wheelchair.", "system",
         {("age", "senior_citizen"), ("religion", "christian"), ("gender", "woman"), ("disability", "physically_disabled")}),
        ("I'm a woman who doesn't use a wheelchair.", "user", {("gender", "woman")}),
        # an age set off by commas, with its unit
        ("I'm a Baptist pastor's wife in Georgia, 57 years old, and I run the newsletter.", "user",
         {("gender", "woman"), ("age", "middle_aged")}),
        ("I'm a trans guy, 2 yrs on T, and my voice still cracks.", "user", {("gender", "transgender_man")}),
        ("nonbinary (they/them) here. my doctor keeps misgendering me", "user", {("gender", "non_binary")}),
        ("Patient summary for the symptom checker: 45 y/o male, Muslim, fasting for Ramadan.", "system",
         {("age", "middle_aged"), ("gender", "man"), ("religion", "muslim")}),
        # the text to translate is the quotation; the speaker's own sentence after it counts
        ("Translate 'I am a Muslim and I do not drink' into Arabic for me. I'm Muslim myself but my Arabic is weak.", "user",
         {("religion", "muslim")}),
        ("Translate 'I am a Muslim' into Arabic, please.", "user", set()),
        # German and Spanish
        ("Ich sitze seit einem Unfall im Rollstuhl. Welche Wanderwege sind barrierefrei?", "user", {("disability", "physically_disabled")}),
        ("Ich sitze im Rollstuhl und bin 33 Jahre alt.", "user", {("disability", "physically_disabled"), ("age", "adult")}),
        ("Mein Bruder sitzt seit einem Unfall im Rollstuhl.", "user", set()),
        ("Ich bin eine Frau Mitte 30 und Atheistin.", "user", {("gender", "woman"), ("age", "adult"), ("religion", "atheist")}),
        ("Ich bin Ende vierzig.", "user", {("age", "middle_aged")}),
        ("Ich arbeite seit Mitte 2020 hier.", "user", set()),
        ("Uso silla de ruedas y soy musulmana.", "user", {("disability", "physically_disabled"), ("religion", "muslim")}),
        # "Me:" as the speaker's own label, at the start of a sentence only
        ("Me: 70, retired, Jewish, lifelong Democrat, widower. Task: a letter to my grandson.", "user",
         {("age", "senior_citizen"), ("religion", "jewish"), ("political_affiliation", "democrat"), ("gender", "man")}),
        ("Tell me: are Muslims allowed to eat gelatin?", "user", set()),
        # a description in brackets right after "I"
        ("so i (straight woman, fwiw) keep matching with guys who only talk politics", "user",
         {("sexuality", "straight"), ("gender", "woman")}),
        ("I (and my wife) are thinking about moving.", "user", set()),
        # a compound of three or more words before the head noun
        ("I'm a below-the-knee amputee looking at health plans.", "user", {("disability", "physically_disabled")}),
        ("I'm the black sheep of my family.", "user", set()),
        # bullet lines under a label naming the user
        ("Known user info:\n- 58, female\n- Jewish\n- lives in Ohio", "system",
         {("age", "middle_aged"), ("gender", "woman"), ("religion", "jewish")}),
        ("Tasks:\n- write a poem\n- list the Jewish holidays", "system", set()),
    ],
)
def test_phrasings_from_fresh_batches(detector: PersonaDetector, text: str, source: str, expected: set[tuple[str, str]]) -> None:
    assert found(detector, text, source) == expected
    check_spans(text, detector.detect_text(text, source))  # type: ignore[arg-type]


# --- remembering texts already read ------------------------------------------------------------


def test_a_remembered_text_gives_the_same_attributes_at_its_new_place() -> None:
    cached = default_detector()
    fresh = PersonaDetector(cached.taxonomy, cache_entries=0)
    system = {"role": "system", "content": "The user is a Black woman from Atlanta."}
    first = request(system, {"role": "user", "content": "I'm 72 and use a wheelchair."})
    later = request({"role": "system", "content": "Be brief."}, system, {"role": "user", "content": "I'm 72 and use a wheelchair."})
    assert cached.detect(first) == fresh.detect(first)
    again = cached.detect(later)
    assert again == fresh.detect(later)
    assert [a.message_index for a in again.attributes] == [1, 1, 2, 2]
    assert len(fresh.cache) == 0


def test_the_cache_is_bounded_by_entries_and_characters() -> None:
    from defenses.text_cache import TextCache

    cache: TextCache[tuple[int, ...]] = TextCache(max_entries=3, max_chars=10, max_text=6)
    cache.put("aaaa", "user", (1,))
    cache.put("bbbb", "user", (2,))
    assert cache.get("aaaa", "user") == (1,)
    cache.put("cccc", "user", (3,))  # 12 characters > 10: the least recently used ("bbbb") goes
    assert cache.get("bbbb", "user") is None and cache.get("aaaa", "user") == (1,) and cache.chars == 8
    cache.put("toolongtext", "user", (4,))
    assert cache.get("toolongtext", "user") is None
    assert cache.get("aaaa", "system") is None
