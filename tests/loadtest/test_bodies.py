import re

import orjson

from loadtest.bodies import NEUTRAL_SYSTEM, build_bodies, load_identities

STATED = re.compile(r"^You are a helpful assistant\. I am (.+)\.$")


def test_identities_are_the_studys_31():
    identities = load_identities()
    assert len(identities) == 31
    assert "a Muslim person" in identities and "no_persona" not in identities


def test_bodies_are_about_1kb_and_half_state_an_identity():
    identities = set(load_identities())
    bodies = build_bodies(200, stream=False, seed=3)
    stated = []
    for raw in bodies:
        assert 1000 <= len(raw) <= 1024
        body = orjson.loads(raw)
        assert body["stream"] is False and body["messages"][-1]["role"] == "user"
        system = body["messages"][0]["content"]
        match = STATED.match(system)
        if match:
            assert match.group(1) in identities
            stated.append(match.group(1))
        else:
            assert system == NEUTRAL_SYSTEM
    assert len(stated) == 100
    assert len(set(stated)) > 15  # drawn across the study's identities, not one repeated


def test_only_the_newest_turn_is_new_in_every_body():
    bodies = [orjson.loads(b) for b in build_bodies(300, stream=False, seed=4)]
    assert len({b["messages"][-1]["content"] for b in bodies}) == 300
    assert len({b["messages"][1]["content"] for b in bodies}) <= 2  # earlier turns repeat
    assert len({b["messages"][0]["content"] for b in bodies}) <= 32  # 31 identities or none


def test_same_seed_same_bodies_other_seed_other_order():
    assert build_bodies(20, stream=True, seed=1) == build_bodies(20, stream=True, seed=1)
    assert build_bodies(20, stream=True, seed=1) != build_bodies(20, stream=True, seed=2)
    assert all(orjson.loads(b)["stream"] is True for b in build_bodies(4, stream=True))
