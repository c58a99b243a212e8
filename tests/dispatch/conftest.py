"""A small trained dispatcher for the shared test city: three categories learnt from a few
hundred synthetic reports, registered and put in service through the real actions."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from tests.conftest import City
from urbangov.algorithms.models import AlgorithmVersion
from urbangov.analytics import textclf
from urbangov.dispatch import actions, classifier, routing

WATER = [
    "楼下水管漏水，水流了一地",
    "自来水管爆裂，到处都是水",
    "厨房的水管破了一直在漏水",
    "小区主水管漏水严重，浪费自来水",
    "卫生间水管接口滴水不停",
    "the water pipe is leaking in the basement",
]
NOISE = [
    "晚上广场舞噪音太大影响休息",
    "楼上装修电钻声音太吵",
    "酒吧音乐声半夜还很响，吵得睡不着",
    "工地夜间施工噪音扰民",
    "邻居家狗整夜叫，噪音很大",
    "loud music from the bar every night, too noisy",
]
GAS = [
    "燃气表读数不对，请燃气公司核查",
    "燃气管道老化需要更换",
    "燃气灶点不着火，燃气压力不够",
    "申请开通燃气，燃气公司一直不来",
    "燃气费账单有误",
    "the gas meter reading is wrong",
]
FILLER = [
    "",
    "请尽快处理。",
    "麻烦相关部门看一下。",
    "已经好几天了。",
    "谢谢！",
    "please fix it soon.",
]


def corpus(n_per_class: int = 60, seed: int = 7) -> tuple[list[str], list[str], list[str]]:
    rnd = random.Random(seed)
    titles: list[str] = []
    texts: list[str] = []
    labels: list[str] = []
    for label, phrases in (("water.leak", WATER), ("noise", NOISE), ("gas", GAS)):
        for _ in range(n_per_class):
            a, b = rnd.sample(phrases, 2)
            titles.append(a[:12])
            texts.append(f"{a}，{b}。{rnd.choice(FILLER)}{rnd.randint(1, 99)}号楼")
            labels.append(label)
    return titles, texts, labels


def lexicon() -> dict[int, str]:
    return textclf.lexicon_keys(
        ["水管", "漏水", "自来水", "噪音", "装修", "燃气", "燃气表", "施工"]
    )


def train_model(seed: int = 7) -> textclf.Model:
    titles, texts, labels = corpus(seed=seed)
    return textclf.fit(titles, texts, labels, lexicon=lexicon())


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    classifier.forget()
    routing.invalidate()
    yield
    classifier.forget()
    routing.invalidate()


@pytest.fixture
def model_in_service(city: City, fresh_caches: None) -> AlgorithmVersion:
    """A trained model, registered and activated as the dispatcher's version 1."""
    model = train_model()
    version = actions.register_model(
        actor=None,
        artefact=model.to_bytes(),
        trained_on={"source": "tests", "n": model.info["n"]},
        metrics={},
    )
    actions.activate(actor=None, version=version, reason="tests")
    classifier.forget()
    return version
