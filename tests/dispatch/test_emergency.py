"""Words of danger to life or property, in Chinese and English; risks, negations and
look-alikes do not count."""

from __future__ import annotations

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
