"""Words of danger to life or property, in Chinese and English; risks, negations and
look-alikes do not count."""

from __future__ import annotations

import random
import re

import pytest

from urbangov.dispatch import emergency


@pytest.mark.parametrize(
    "text",
    [
        "楼道里燃气泄漏了，味道很大",
        "隔壁厨房起火了，冒出浓烟",
        "老房子墙体坍塌，有人被困",
        "暴雨后地下车库被淹，水很深",
        "有人被困在电梯里半小时了",
        "路边电线掉落在地上，怕有人触电",
        "煤氣洩漏，請馬上派人",
        "There is a gas leak in the hallway",
        "the building next door is on fire",
        "Basement flooding after the storm",
        "a wall collapsed onto the sidewalk",
    ],
)
def test_danger_is_found(text: str) -> None:
    assert emergency.find(text)


@pytest.mark.parametrize(
    "text",
    [
        "楼道堆放杂物，存在火灾隐患",
        "电动车在楼道充电，有火灾风险",
        "消防通道被占用",
        "没有起火，只是烟味",
        "燃气费账单有误",
        "fire hazard: bikes charging in the stairwell",
        "the fire hydrant is leaking",
        "fireworks at midnight are too loud",
        "no flooding, just a small puddle",
        "小区路灯不亮",
    ],
)
def test_risks_negations_and_lookalikes_are_not_danger(text: str) -> None:
    assert emergency.find(text) == []


def test_city_terms_are_added() -> None:
    assert emergency.find("化粪池满溢") == []
    assert [m.term for m in emergency.find("化粪池满溢", ("化粪池满溢",))] == ["化粪池满溢"]


def test_every_english_pattern_starts_with_a_letter() -> None:
    # What the quick English pattern's look for a letter relies on.
    for term in emergency.TERMS_EN:
        assert re.match(r"(?:\(\?:)?[a-z]", term), term
        assert not re.search(r"^\(\?:[^)]*\|[^a-z]", term), term


def test_the_quick_search_finds_what_the_whole_alternation_finds() -> None:
    # Texts made of danger words (overlapping ones, upper case, risks and negations),
    # look-alikes and filler in both scripts, with and without a city's own terms (English
    # ones among them, which the English patterns may also match).
    pieces = [
        *emergency.TERMS_ZH,
        "很大的煤气味",
        "气泄漏",
        "gas leaking",
        "Smells of gas",
        "ON FIRE",
        "a fire",
        "The fire",
        "fire hazard",
        "firefly",
        "bonfire",
        "thick smoke",
        "explosions",
        "collapsed",
        "sinkhole",
        "trapped",
        "electrocuted",
        "live wire",
        "power lines down",
        "downed line",
        "flooded",
        "drowning",
        "danger to life",
        "people are hurt",
        "a person was injured",
        "missing manhole cover",
        "chemical spill",
        "没有",
        "隐患",
        "no ",
        "not ",
        "楼道里",
        "，",
        "。",
        " ",
        "\n",
        "x",
        "3号楼",
        "路灯不亮",
        "garbage",
        "leak",
    ]
    rnd = random.Random(12)
    for extra in ((), ("化粪池满溢", "Gas", "leak", "气泄", "fire door")):
        finder = emergency._Finder.make(extra)
        whole = emergency._pattern(extra)
        for _ in range(3000):
            text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 30)))
            expected = [(m.start(), m.end(), m.group(0)) for m in whole.finditer(text)]
            got = [(m.start(), m.end(), m.group(0)) for m in finder.matches(text)]
            assert got == expected, text
        # And as find() reports them, risks and negations left out.
        text = "没有起火，但是楼道里燃气泄漏了; the GAS leak is bad, fire hazard"
        assert [m.term for m in emergency.find(text, extra)] == [
            t
            for m in whole.finditer(text)
            if not emergency._RISK_AFTER.search(text[m.end() : m.end() + 8])
            and not emergency._NEGATED_BEFORE.search(text[max(0, m.start() - 8) : m.start()])
            for t in [m.group(0)]
        ]
