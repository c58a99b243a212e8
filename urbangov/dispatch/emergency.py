"""Danger to life or property in a resident's words (gas leak, fire, collapse, flooding …).

A case whose text speaks of such danger gets the emergency class (2 hours) and goes to the
head of the operators' queue, whatever the classifier makes of it. Words that only name a
risk ("fire hazard", "火灾隐患", "消防通道"), or say the danger is absent ("没有起火",
"no one was injured"), do not count. Cities add their own words in the admin
(:class:`urbangov.dispatch.models.EmergencyTerm`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# Simplified and Traditional forms where they differ.
TERMS_ZH = (
    "燃气泄漏",
    "燃气泄露",
    "煤气泄漏",
    "煤气泄露",
    "天然气泄漏",
    "天然气泄露",
    "液化气泄漏",
    "燃氣洩漏",
    "煤氣洩漏",
    "燃气漏气",
    "煤气漏气",
    "闻到煤气味",
    "闻到燃气味",
    "很大的煤气味",
    "很大的燃气味",
    "煤氣味",
    "起火",
    "着火",
    "著火",
    "失火",
    "火灾",
    "火災",
    "大火",
    "浓烟",
    "濃煙",
    "爆炸",
    "坍塌",
    "倒塌",
    "垮塌",
    "塌方",
    "塌陷",
    "被困",
    "困在电梯",
    "电梯困人",
    "電梯困人",
    "触电",
    "觸電",
    "电线断落",
    "电线掉落",
    "电线掉在地上",
    "高压线断",
    "洪水",
    "内涝",
    "內澇",
    "被淹",
    "淹水",
    "决堤",
    "溺水",
    "危及生命",
    "生命危险",
    "有人受伤",
    "高空坠物",
    "井盖丢失",
    "井盖缺失",
    "没有井盖",
    "有毒气体",
    "化学品泄漏",
)
TERMS_EN = (
    r"gas leak(?:s|ing)?",
    r"smell(?:s|ing)? (?:of )?gas",
    r"on fire",
    r"(?:a |the )?fire\b(?! (?:hazard|risk|exit|door|lane|hydrant|station|alarm|escape|safety|drill|code|inspection))",
    r"thick smoke",
    r"explosion",
    r"collaps(?:e|ed|ing)",
    r"sinkhole",
    r"trapped",
    r"electrocut\w*",
    r"live wire",
    r"(?:power )?lines? down",
    r"downed (?:power )?lines?",
    r"flood(?:ing|ed)?",
    r"drown\w*",
    r"danger to life",
    r"(?:someone|people|a person) (?:is |are |was |were )?(?:hurt|injured)",
    r"missing manhole cover",
    r"chemical spill",
)
# A risk, not a present danger: "火灾隐患", "fire hazard".
_RISK_AFTER = re.compile(r"^.{0,3}(隐患|隱患|风险|風險|演练|演練|通道|hazard|risk|drill)")
# The danger said to be absent just before: "没有起火", "no flooding".
_NEGATED_BEFORE = re.compile(
    r"(没有|沒有|并未|並未|未|无|無|不是|不会|不會|防止|预防|預防|\bno|\bnot|\bwithout|\bprevent)\s?\S{0,2}$"
)


@dataclass(frozen=True)
class Match:
    term: str
    start: int


def _literals(extra: Iterable[str]) -> list[str]:
    """The literal terms, the city's own among them, the longer first (tried first)."""
    return sorted(set(TERMS_ZH) | {t for t in extra if t}, key=len, reverse=True)


def _pattern(extra: Iterable[str]) -> re.Pattern[str]:
    """Every term in one alternation, in the order they are tried at a position (the longer
    literal first, then the English patterns): what a match is."""
    parts = [re.escape(t) for t in _literals(extra)] + [rf"\b{t}" for t in TERMS_EN]
    return re.compile("|".join(parts), re.IGNORECASE)


@dataclass(frozen=True)
class _Finder:
    """The whole alternation, and two patterns that find where it can match quickly: the
    regular-expression engine tries all ~80 alternatives at every position of the whole one
    (1 ms for a long text), but skips ahead on a set of literals alone, and on the English
    patterns behind a look for a letter (every one of them starts with a letter)."""

    whole: re.Pattern[str]
    literal: re.Pattern[str]
    english: re.Pattern[str]

    @classmethod
    def make(cls, extra: Iterable[str]) -> _Finder:
        extra = tuple(extra)  # read twice
        return cls(
            whole=_pattern(extra),
            literal=re.compile("|".join(re.escape(t) for t in _literals(extra)), re.IGNORECASE),
            english=re.compile(r"(?=[a-z])\b(?:" + "|".join(TERMS_EN) + ")", re.IGNORECASE),
        )

    def matches(self, text: str) -> Iterator[re.Match[str]]:
        """What ``whole.finditer(text)`` gives: at each step the leftmost position where any
        alternative matches is where one of the two quick patterns first matches, and the
        whole alternation, asked there, picks the alternative it would have picked."""
        pos = 0
        while True:
            starts = [m.start() for p in (self.literal, self.english) if (m := p.search(text, pos))]
            if not starts:
                return
            m = self.whole.search(text, min(starts))
            if m is None:  # cannot happen (a quick match is one of its alternatives)
                return
            yield m
            pos = m.end()


_default = _Finder.make(())
_cache: dict[tuple[str, ...], _Finder] = {}


def find(text: str, extra: tuple[str, ...] = ()) -> list[Match]:
    """The words of danger in ``text`` (not negated, not a mere risk), in order."""
    if extra:
        finder = _cache.get(extra)
        if finder is None:
            finder = _cache[extra] = _Finder.make(extra)
    else:
        finder = _default
    found: list[Match] = []
    for m in finder.matches(text):
        before = text[max(0, m.start() - 8) : m.start()]
        after = text[m.end() : m.end() + 8]
        if _RISK_AFTER.search(after) or _NEGATED_BEFORE.search(before):
            continue
        found.append(Match(m.group(0), m.start()))
    return found
