"""The labelled PII corpus: sentences with their expected spans marked inline.

Each ``*.txt`` file beside this module holds one sentence a line (``#`` starts a comment line).
An expected span is written ``[[TYPE:text]]``, e.g. ``请联系[[PERSON:张伟]]，电话[[PHONE:13812345678]]``;
everything outside the brackets is text that must *not* be reported. Types are the names of
``urbangov.analytics.pii.PiiType``.

Numbers that carry a check digit are written as placeholders and filled in here, by a generator
that shares no code with the detector (the ID check digit by the recursive ISO 7064 MOD 11-2
definition, the card check digit by Luhn's doubling written out; both verified below against
published examples), with a fixed seed so that every run sees the same corpus:

=================  ============================================================
``{ID18}``         a valid 18-digit resident ID number
``{ID18X}``        a valid one whose check character is X
``{ID15}``         a valid 15-digit (first-generation) ID number
``{ID18_BADCHECK}`` 18 digits with a real region and date but a wrong check digit
``{ID18_BADDATE}`` 18 digits with a right check digit but an impossible birth date
``{CARD16}`` / ``{CARD19}``  a Luhn-valid UnionPay (62…) card of 16 / 19 digits
``{CARD16_SPACED}`` the same in groups of four
``{VISA}`` / ``{VISA_SPACED}``  a Luhn-valid 16-digit Visa (4…) number
``{CARD_BAD}``     a 16-digit 62… number that fails Luhn
=================  ============================================================

Labelling conventions (docs/privacy.md gives them too):

- PERSON: a personal name, surname and given name, without titles (``[[PERSON:王秀英]]女士``).
  A Chinese surname with a title alone (张先生, 老李) is not labelled: a surname shared by
  tens of millions does not identify anyone. An English surname after a title is
  (``Mr [[PERSON:Smith]]``).
- ADDRESS: a place precise enough to find a building or dwelling: a road with a house number,
  or a compound with a building, unit or room. From the first administrative unit joined to it
  (省, 市, 区, 街道) to the most precise part; English from the flat or house number to the
  street, unit, city, state and postcode that follow it. A road, district, compound or
  landmark alone is not labelled.
- PHONE: with its country code, brackets and extension. Service numbers (12345, 110, 95588,
  400/800 numbers) are not personal and are not labelled.
- ID_NUMBER: mainland resident ID numbers; US social security numbers; UK National
  Insurance numbers.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = ("zh_dev.txt", "en_dev.txt", "zh_heldout.txt", "en_heldout.txt")
MARK = re.compile(r"\[\[([A-Z_]+):(.+?)\]\]")
PLACEHOLDER = re.compile(r"\{([A-Z0-9_]+)\}")

# Real county-level region codes (GB/T 2260), a few per province.
REGIONS = (
    "110101",
    "110105",
    "110108",
    "120101",
    "130102",
    "140105",
    "150102",
    "210102",
    "220102",
    "230103",
    "310104",
    "310115",
    "320102",
    "320583",
    "330106",
    "340104",
    "350203",
    "360102",
    "370202",
    "410105",
    "420106",
    "430104",
    "440106",
    "440305",
    "450103",
    "460106",
    "500103",
    "510107",
    "520102",
    "530102",
    "540102",
    "610113",
    "620102",
    "630102",
    "640104",
    "650102",
)


def iso7064_check(body: str) -> str:
    """ISO 7064 MOD 11-2 by its recursive definition: p ← 2(p + digit) mod 11 over the 17
    digits; the check character c makes p + c ≡ 1 (mod 11); 10 is written X."""
    p = 0
    for ch in body:
        p = (2 * (p + int(ch))) % 11
    c = (12 - p) % 11
    return "X" if c == 10 else str(c)


def luhn_check_digit(payload: str) -> str:
    """Luhn: from the right of the payload, double every other digit starting with the last,
    subtract 9 from a two-digit result, and choose the digit that brings the sum to 0 mod 10."""
    total = 0
    for position, ch in enumerate(reversed(payload)):
        value = int(ch)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


# The generator's own checks, against published values: GB 11643-1999's example number and
# the well-known test card numbers (Visa, MasterCard, Amex, Discover, UnionPay).
assert iso7064_check("11010519491231002") == "X"
assert iso7064_check("44052418800101001") == "4"
for _card in (
    "4111111111111111",
    "5555555555554444",
    "378282246310005",
    "6011111111111117",
    "6200000000000005",
    "6205500000000000004",
):
    assert luhn_check_digit(_card[:-1]) == _card[-1], _card


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def _birth(self) -> date:
        return date(1940, 1, 1) + timedelta(days=self.rng.randrange(365 * 70))

    def _body17(self) -> str:
        seq = f"{self.rng.randrange(1000):03d}"
        return self.rng.choice(REGIONS) + self._birth().strftime("%Y%m%d") + seq

    def id18(self, want_x: bool = False) -> str:
        while True:
            body = self._body17()
            check = iso7064_check(body)
            if (check == "X") == want_x:
                return body + check

    def id15(self) -> str:
        return (
            self.rng.choice(REGIONS)
            + self._birth().strftime("%y%m%d")
            + f"{self.rng.randrange(1000):03d}"
        )

    def id18_badcheck(self) -> str:
        body = self._body17()
        right = iso7064_check(body)
        wrong = self.rng.choice([c for c in "0123456789" if c != right])
        return body + wrong

    def id18_baddate(self) -> str:
        while True:
            body = (
                self.rng.choice(REGIONS)
                + f"19{self.rng.randrange(50, 99)}"
                + self.rng.choice(["13", "00", "14"])
                + f"{self.rng.randrange(1, 28):02d}"
                + f"{self.rng.randrange(1000):03d}"
            )
            check = iso7064_check(body)
            if check != "X":
                return body + check

    def card(self, prefix: str, length: int) -> str:
        payload = prefix + "".join(
            str(self.rng.randrange(10)) for _ in range(length - len(prefix) - 1)
        )
        return payload + luhn_check_digit(payload)

    def card_bad(self) -> str:
        good = self.card("6222", 16)
        wrong = self.rng.choice([c for c in "0123456789" if c != good[-1]])
        return good[:-1] + wrong

    @staticmethod
    def spaced(number: str) -> str:
        return " ".join(number[i : i + 4] for i in range(0, len(number), 4))

    def fill(self, name: str) -> str:
        match name:
            case "ID18":
                return self.id18()
            case "ID18X":
                return self.id18(want_x=True)
            case "ID15":
                return self.id15()
            case "ID18_BADCHECK":
                return self.id18_badcheck()
            case "ID18_BADDATE":
                return self.id18_baddate()
            case "CARD16":
                return self.card(self.rng.choice(["6222", "6217", "6228", "6214", "6259"]), 16)
            case "CARD19":
                return self.card(self.rng.choice(["6222", "6217", "6228", "6212"]), 19)
            case "CARD16_SPACED":
                return self.spaced(self.card(self.rng.choice(["6222", "6226", "6225"]), 16))
            case "VISA":
                return self.card("4", 16)
            case "VISA_SPACED":
                return self.spaced(self.card("4", 16))
            case "CARD_BAD":
                return self.card_bad()
        raise ValueError(f"unknown placeholder {{{name}}}")


@dataclass(frozen=True)
class Example:
    source: str  # file:line
    text: str
    spans: tuple[tuple[int, int, str], ...]  # (start, end, type), offsets in str code points

    @property
    def language(self) -> str:
        return self.source[:2]

    @property
    def split(self) -> str:
        return "heldout" if "heldout" in self.source else "dev"


def parse(line: str, source: str = "") -> Example:
    """The sentence without its marks, and the marked spans in it."""
    text: list[str] = []
    spans: list[tuple[int, int, str]] = []
    at = 0
    pos = 0
    for match in MARK.finditer(line):
        plain = line[pos : match.start()]
        if "[[" in plain or "]]" in plain:
            raise ValueError(f"{source}: malformed mark in {line!r}")
        text.append(plain)
        at += len(plain)
        kind, value = match.group(1), match.group(2)
        spans.append((at, at + len(value), kind))
        text.append(value)
        at += len(value)
        pos = match.end()
    rest = line[pos:]
    if "[[" in rest or "]]" in rest:
        raise ValueError(f"{source}: malformed mark in {line!r}")
    text.append(rest)
    return Example(source=source, text="".join(text), spans=tuple(spans))


def load(seed: int = 20240601, files: tuple[str, ...] = FILES) -> list[Example]:
    examples: list[Example] = []
    for name in files:
        generator = Generator(seed + sum(map(ord, name)))
        for number, raw in enumerate((HERE / name).read_text(encoding="utf-8").splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            line = PLACEHOLDER.sub(lambda m, g=generator: g.fill(m.group(1)), line)
            examples.append(parse(line, f"{name}:{number}"))
    return examples
