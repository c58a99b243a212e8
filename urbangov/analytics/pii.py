"""Personal data in free text: find it, and mask it so that the text stays readable.

Pure: no Django, no I/O of ours (jieba reads its own dictionary from its package, once, on
first use). Chinese and English.

    >>> [(s.start, s.end, s.type.name) for s in detect("请联系张伟，电话13812345678")]
    [(3, 5, 'PERSON'), (8, 19, 'PHONE')]
    >>> redact("请联系张伟，电话13812345678")
    '请联系张*，电话138****5678'

Offsets are indices into the Python ``str`` (Unicode code points), end exclusive.

What each type covers (docs/privacy.md has the details and the known limits):

- ``ID_NUMBER``: mainland resident ID numbers, 18 digits with a valid region, birth date and
  ISO 7064 MOD 11-2 check character, or 15 digits (first generation, no check digit) with a
  valid region and date; US social security numbers (``123-45-6789``, the ranges never issued
  excluded); UK National Insurance numbers (HMRC's allocation rules).
- ``PHONE``: mainland mobile numbers (allocated prefixes), landlines with an area code,
  a bare 7-8 digit local number right after a word such as 电话; North American numbers
  written with separators; UK numbers; any number written with ``+`` and a country code.
  Service numbers (12345, 110, 95566, 400/800 and toll-free numbers) are not personal.
- ``EMAIL``; ``BANK_CARD``: 13-19 digits with a card issuer's prefix that pass Luhn.
- ``PLATE``: mainland plates, new-energy plates included, UK plates, and any plate written
  after the word "plate" or "registration".
- ``PERSON``: Chinese names (a surname from the list + one or two characters) confirmed by
  the words around them (居民…, …先生, 我叫…) or found by jieba as a new personal name;
  English names after a title (Mr, Ms, Dr…), after "my name is" and similar words, or
  a common given name or a pinyin surname followed by a capitalised word.
- ``ADDRESS``: Chinese addresses down to the building and room (…路…号…栋…单元…室, a
  compound with its building), English street addresses with a house number, flat or
  apartment, and the city, state and postcode that follow.
"""

from __future__ import annotations

import logging
import re
import threading
from calendar import monthrange
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

__all__ = [
    "PiiType",
    "Span",
    "detect",
    "is_valid_bank_card",
    "is_valid_id_number",
    "luhn_valid",
    "mask",
    "redact",
    "warm_up",
]


class PiiType(StrEnum):
    ID_NUMBER = "ID_NUMBER"
    PHONE = "PHONE"
    EMAIL = "EMAIL"
    BANK_CARD = "BANK_CARD"
    PLATE = "PLATE"
    PERSON = "PERSON"
    ADDRESS = "ADDRESS"


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """``text[start:end]`` is personal data of ``type``."""

    start: int
    end: int
    type: PiiType

    def as_dict(self) -> dict[str, int | str]:
        return {"start": self.start, "end": self.end, "type": self.type.value}


# When two candidates overlap, the more specific kind of evidence wins (a checksum beats a
# pattern, a pattern beats a guess from context).
_PRIORITY = {
    PiiType.EMAIL: 0,
    PiiType.ID_NUMBER: 1,
    PiiType.BANK_CARD: 2,
    PiiType.PHONE: 3,
    PiiType.PLATE: 4,
    PiiType.ADDRESS: 5,
    PiiType.PERSON: 6,
}

_HAN = "\u4e00-\u9fff"
# Patterns use \d, which matches any Unicode decimal digit: full-width １３８… counts too, and
# int() reads them.


def _words(s: str) -> frozenset[str]:
    return frozenset(s.split())


def _digits(s: str) -> str:
    return "".join(str(int(c)) for c in s if c.isdecimal())


def _nearby(text: str, start: int, words: re.Pattern[str], before: int = 8) -> bool:
    return bool(words.search(text, max(0, start - before), start))


# Words that name a number which is not personal (an order, a ticket, an invoice…). A number
# that a check digit cannot tell apart from an ID, card or phone is not reported after them.
_NOT_PERSONAL = re.compile(
    r"订单|单号|编号|编码|代码|流水|工号|学号|账号|条码|取件码|验证码|发票|合同|注册号|税号|"
    r"批次|序列号|会员|工单|商品|货号|批号|order|invoice|tracking|reference|ref\.|imei|isbn|serial",
    re.IGNORECASE,
)
_PHONE_WORDS = re.compile(
    r"电话|手机|座机|号码|致电|拨打|回电|来电|联系|传真|tel|phone|call|mobile|fax", re.IGNORECASE
)

# ---------------------------------------------------------------------------- ID numbers

# GB/T 2260 province-level codes.
_PROVINCES = _words(
    """11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65
    71 81 82 83"""
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2**(17-i) mod 11
_ID_CHECK = "10X98765432"  # indexed by the weighted sum mod 11


def _real_date(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= monthrange(year, month)[1]


def id_check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a mainland ID number's first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_valid_id_number(value: str) -> bool:
    """A mainland resident ID number: 18 characters with a province code, a real birth date
    (1800-2099, as in GB 11643's own example) and the right check character; or 15 digits with a province code and a real
    date (19YY). Spaces are ignored."""
    s = "".join(value.split()).upper().replace("Ｘ", "X")
    if len(s) == 18:
        body, check = s[:17], s[17]
        if not body.isdecimal() or not (check.isdecimal() or check == "X"):
            return False
        body = _digits(body)
        year, month, day = int(body[6:10]), int(body[10:12]), int(body[12:14])
        return (
            body[:2] in _PROVINCES
            and 1800 <= year <= 2099
            and _real_date(year, month, day)
            and id_check_character(body) == (check if check == "X" else str(int(check)))
        )
    if len(s) == 15 and s.isdecimal():
        s = _digits(s)
        year, month, day = 1900 + int(s[6:8]), int(s[8:10]), int(s[10:12])
        return s[:2] in _PROVINCES and _real_date(year, month, day)
    return False


_ID18 = re.compile(r"(?<!\d)\d{6}( ?)\d{8}\1\d{3}[\dXxＸ](?![\dA-Za-z])")
_ID15 = re.compile(r"(?<!\d)\d{15}(?!\d)")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d-])")
_SSN_BARE = re.compile(
    r"(?:SSN|social security (?:number|no\.?))\D{0,6}((?!000|666|9)\d{3}(?!00)\d{2}(?!0000)\d{4})(?!\d)",
    re.IGNORECASE,
)
_NINO = re.compile(
    r"(?<![A-Za-z0-9])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r"( ?)\d{2}\1\d{2}\1\d{2}\1[A-D](?![A-Za-z0-9])"
)


def _ids(text: str) -> Iterator[Span]:
    for m in _ID18.finditer(text):
        if is_valid_id_number(m.group()):
            yield Span(m.start(), m.end(), PiiType.ID_NUMBER)
    for m in _ID15.finditer(text):
        if is_valid_id_number(m.group()) and not _nearby(text, m.start(), _NOT_PERSONAL):
            yield Span(m.start(), m.end(), PiiType.ID_NUMBER)
    for m in _SSN.finditer(text):
        yield Span(m.start(), m.end(), PiiType.ID_NUMBER)
    for m in _SSN_BARE.finditer(text):
        yield Span(m.start(1), m.end(1), PiiType.ID_NUMBER)
    for m in _NINO.finditer(text):
        yield Span(m.start(), m.end(), PiiType.ID_NUMBER)


# ---------------------------------------------------------------------------- bank cards

_LUHN_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_valid(number: str) -> bool:
    """Luhn's mod-10 check over the digits of ``number`` (separators ignored)."""
    digits = _digits(number)
    if len(digits) < 2:
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        total += _LUHN_DOUBLE[d] if i % 2 else d
    return total % 10 == 0


def _issuer_length_ok(d: str) -> bool:
    n = len(d)
    if d[0] == "4":  # Visa
        return n in (13, 16, 19)
    if d[:2] in ("34", "37"):  # American Express
        return n == 15
    if "51" <= d[:2] <= "55" or "2221" <= d[:4] <= "2720":  # Mastercard
        return n == 16
    if d[:2] in ("30", "36", "38"):  # Diners
        return 14 <= n <= 16
    if d[:2] == "35" or d[0] == "6" or d[:2] in ("50", "56", "57", "58"):  # JCB, UnionPay,
        return 16 <= n <= 19  # Discover, Maestro
    return False


def is_valid_bank_card(value: str) -> bool:
    """13-19 digits with a card issuer's prefix and length that pass Luhn."""
    d = _digits(value)
    return 13 <= len(d) <= 19 and _issuer_length_ok(d) and luhn_valid(d)


_CARD = re.compile(
    r"(?<![\d-])(?:\d{13,19}"
    r"|\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?"
    r"|\d{4}([ -])\d{6}\2\d{4,5}"
    r"|\d{6}([ -])\d{10,13})(?![\d-])"
)


def _cards(text: str) -> Iterator[Span]:
    for m in _CARD.finditer(text):
        if is_valid_bank_card(m.group()) and not _nearby(text, m.start(), _NOT_PERSONAL):
            yield Span(m.start(), m.end(), PiiType.BANK_CARD)


# ---------------------------------------------------------------------------- phones

# Mainland mobile prefixes allocated for people's phones (data-only and IoT ranges left out).
_MOBILE_PREFIXES = frozenset(
    [f"13{i}" for i in range(10)]
    + ["145", "147", "149", "150", "151", "152", "153", "155", "156", "157", "158", "159"]
    + ["162", "165", "166", "167", "170", "171", "172", "173", "175", "176", "177", "178"]
    + [f"18{i}" for i in range(10)]
    + ["190", "191", "192", "193", "195", "196", "197", "198", "199"]
)
_CN_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)86[\s-]?|86-)?(1\d{2})([\s-]?)\d{4}\2\d{4}(?!\d)")
_AREA = r"(?:010|02\d|0[3-9]\d\d)"  # Beijing, the 02x cities, then four-digit codes
_CN_LANDLINE = re.compile(
    rf"(?<![\d+])(?:[(（]({_AREA})[)）]\s?|({_AREA})([\s-]?))([2-9]\d{{6,7}})"
    r"((?:-|转|分机)\d{1,5})?(?!\d)"
)
_CN_LOCAL = re.compile(r"(?:电话|座机|固话)[是为:：\s]{0,3}([2-9]\d{3}[\s-]?\d{3,4})(?!\d)")
_NANP = re.compile(
    r"(?<![\d+])(?:\+?1[\s.-]?)?(?:\(([2-9]\d{2})\)\s?|([2-9]\d{2})([\s.-]))[2-9]\d{2}[\s.-]\d{4}"
    r"(?:\s*(?:ext\.?|x|extension)\s*\d{1,5})?(?!\d)"
)
_NANP_PLUS = re.compile(
    r"(?<![\d+])\+1[\s.-]?\(?([2-9]\d{2})\)?[\s.-]?[2-9]\d{2}[\s.-]?\d{4}(?!\d)"
)
_UK = re.compile(r"(?<![\d+])(?:\+44\s?(?:\(0\)\s?)?|0)[1-9](?:[ -]?\d){8,9}(?!\d)")
_INTL = re.compile(r"(?<![\d+])\+[1-9]\d{0,2}(?:[\s-]?\(?\d{1,4}\)?){2,5}(?!\d)")


def _phone_ok(text: str, start: int) -> bool:
    return not _nearby(text, start, _NOT_PERSONAL) or _nearby(text, start, _PHONE_WORDS, 6)


def _phones(text: str) -> Iterator[Span]:
    for m in _CN_MOBILE.finditer(text):
        if m.group(1) in _MOBILE_PREFIXES and _phone_ok(text, m.start()):
            yield Span(m.start(), m.end(), PiiType.PHONE)
    for m in _CN_LANDLINE.finditer(text):
        area = m.group(1) or m.group(2)
        local = m.group(4)
        if len(area) == 3 and len(local) != 8:
            continue  # Beijing and the 02x cities have eight-digit numbers
        if not m.group(1) and not m.group(3) and not _phone_ok(text, m.start()):
            continue
        yield Span(m.start(), m.end(), PiiType.PHONE)
    for m in _CN_LOCAL.finditer(text):
        yield Span(m.start(1), m.end(1), PiiType.PHONE)
    for pattern in (_NANP, _NANP_PLUS):
        for m in pattern.finditer(text):
            area = next(g for g in m.groups()[:2] if g)
            # N00 (toll-free, premium, non-geographic), N11 (service codes) and N9X
            # (reserved) are not a person's line.
            if not (area[1:] == "00" or area[1:] == "11" or area[1] == "9"):
                yield Span(m.start(), m.end(), PiiType.PHONE)
    for m in _UK.finditer(text):
        digits = _digits(m.group())
        national = digits[2:] if m.group().startswith("+") else digits[1:]
        if national[:3] in ("800", "808") or national[:1] in ("9",):
            continue  # freephone and premium rate
        if not m.group().startswith("+") and " " not in m.group() and "-" not in m.group():
            continue  # a bare run of digits starting with 0: the mainland patterns decide
        yield Span(m.start(), m.end(), PiiType.PHONE)
    for m in _INTL.finditer(text):
        n = len(_digits(m.group()))
        if 8 <= n <= 15:
            yield Span(m.start(), m.end(), PiiType.PHONE)


# ---------------------------------------------------------------------------- e-mail

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)


def _emails(text: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(text):
        yield Span(m.start(), m.end(), PiiType.EMAIL)


# ---------------------------------------------------------------------------- plates

_PROVINCE_CHARS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_LETTER = "A-HJ-NP-Z"  # no I or O
_CN_PLATE = re.compile(
    rf"[{_PROVINCE_CHARS}][{_PLATE_LETTER}][·•・\s-]?"
    rf"(?:[DF][{_PLATE_LETTER}0-9]\d{{4}}|\d{{5}}[DF]"
    rf"|[{_PLATE_LETTER}0-9]{{5}}|[{_PLATE_LETTER}0-9]{{4}}[挂学警港澳领试超])"
    r"(?![A-Za-z0-9])"
)
_UK_PLATE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2} ?[A-Z]{3}(?![A-Za-z0-9])")
_PLATE_CONTEXT = re.compile(
    r"(?:licen[cs]e plate|plate(?: number| no\.?)?|registration(?: number| no\.?)?|车牌号?)"
    r"(?:\s+is)?[\s:：]*([A-Z0-9]{2,4}[\s-]?[A-Z0-9]{2,4})(?![A-Za-z0-9])",
    re.IGNORECASE,
)


def _plates(text: str) -> Iterator[Span]:
    for m in _CN_PLATE.finditer(text):
        tail = re.sub(r"[·•・\s-]", "", m.group())[2:]
        if len(tail) == 5 and sum(c.isdigit() for c in tail) < 3:
            continue  # ordinary plates carry at most two letters
        if (
            len(tail) == 5
            and tail[-1] in "挂学警港澳领试超"
            and sum(c.isdigit() for c in tail[:-1]) < 3
        ):
            continue
        yield Span(m.start(), m.end(), PiiType.PLATE)
    for m in _UK_PLATE.finditer(text):
        yield Span(m.start(), m.end(), PiiType.PLATE)
    for m in _PLATE_CONTEXT.finditer(text):
        value = m.group(1)
        has_both = any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
        if has_both and value == value.upper():
            yield Span(m.start(1), m.end(1), PiiType.PLATE)


# ---------------------------------------------------------------------------- jieba

_jieba_lock = threading.Lock()
_jieba_ready = False


def warm_up() -> None:
    """Load jieba's dictionary now (it is otherwise loaded on first use, about a second)."""
    _posseg()


def _posseg() -> Any:
    global _jieba_ready
    import jieba
    import jieba.posseg

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return jieba.posseg


@lru_cache(maxsize=1)
def _dictionary() -> dict[str, int]:
    """jieba's word frequencies; every prefix of a word is there too, with frequency 0."""
    import jieba

    _posseg()
    return jieba.dt.FREQ


@lru_cache(maxsize=1)
def _word_tags() -> dict[str, str]:
    return _posseg().dt.word_tag_tab


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    word: str
    tag: str


class _Tokens:
    """jieba's words of a text with their offsets, computed once per text when needed."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._tokens: list[_Token] | None = None

    @property
    def tokens(self) -> list[_Token]:
        if self._tokens is None:
            posseg = _posseg()
            at = 0
            out: list[_Token] = []
            for pair in posseg.cut(self.text):
                word, tag = pair.word, pair.flag
                out.append(_Token(at, at + len(word), word, tag))
                at += len(word)
            self._tokens = out
        return self._tokens

    @property
    def starts(self) -> set[int]:
        return {t.start for t in self.tokens}

    @property
    def ends(self) -> set[int]:
        return {t.end for t in self.tokens}

    def at(self, start: int) -> _Token | None:
        for t in self.tokens:
            if t.start == start:
                return t
            if t.start > start:
                return None
        return None


# ---------------------------------------------------------------------------- Chinese names

# The surnames of nearly all of the population (the 400 most frequent, and the compound ones
# still in use), from the public surname frequency tables.
_SURNAMES_1 = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦"
    "俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房"
    "滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应"
    "臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池乐匡蔺薄官苑亓蒯郁桑揭麻宿谈"
    "闻井强储杭郜怀晋厉尉竺於富靖满燕钮凤隆霍雍伏蔚禹"
)
_SURNAMES_2 = _words(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 端木 南宫 西门 独孤 百里 呼延 澹台 万俟 闻人 申屠 太史 钟离 拓跋 赫连 公羊 第五"
)

# Words right before a name that say a person follows.
_CN_BEFORE = re.compile(
    r"(?:我叫|名叫|名字叫|名字是|叫做|我是|本人|姓名|联系人|来电人|反映人|投诉人|举报人|诉求人|申请人|"
    r"当事人|收件人|寄件人|收货人|经办人|负责人|代表人|开户人|持卡人|户名|户主|业主|租户|住户|房东|"
    r"居民|市民|村民|患者|病人|家属|老人|学生|同学|监护人|原告|被告|司机|快递员|骑手|师傅|"
    r"儿子|女儿|丈夫|妻子|母亲|父亲|爱人|孩子|同事|邻居|联系|致电|转告|告知|请|\d[（(])"
    r"[\s:：]*$"
)
# …and right after it.
_CN_AFTER = re.compile(
    r"(?:先生|女士|同志|老师|师傅|医生|护士|阿姨|叔叔|大爷|大妈|奶奶|爷爷|老人|同学|经理|主任|"
    r"夫妇|夫妻|一家|来电|反映|投诉|举报|咨询|表示|说|称|认为|要求|申请|的家长|的银行卡|的身份证|"
    r"的电话|的手机|的邮箱|的车|[，,]\s*[男女][，,]|[，,、\s]\s*(?:联系)?(?:电话|手机|身份证|证件|邮箱)|"
    r"[，,\s]*(?:\+86)?\s*1[3-9]\d{9}|[，,\s]*0\d{2,3}[-\s]?\d{7}|\s+\d{15}|[）)])"
)
_NAME_TAGS = frozenset({"nr", "nrfg", "nrt"})
# Everyday words jieba's dictionary tags as names (谢谢 is "nr" there): never a name.
_MISTAGGED_WORDS = frozenset({"谢谢"})
# Parts of speech that a word inside a name never has: when a candidate's given name is such a
# word (高兴, 于是), it is not a name without context on both sides.
_COMMON_TAGS = frozenset({"v", "vn", "a", "ad", "an", "d", "p", "c", "u", "r", "m", "q", "t", "f"})


def _surname_at(text: str, i: int) -> int:
    if text[i : i + 2] in _SURNAMES_2:
        return 2
    if text[i] in _SURNAMES_1:
        return 1
    return 0


def _is_han(s: str) -> bool:
    return bool(s) and all("\u4e00" <= c <= "\u9fff" for c in s)


# A surname followed by one of these is a form of address (张先生, 李阿姨), not a name.
_TITLE_AFTER_SURNAME = re.compile(
    r"(?:先生|女士|小姐|老师|师傅|同志|阿姨|叔叔|大爷|大妈|大姐|大哥|奶奶|爷爷|老板|经理|主任|"
    r"医生|护士|律师|警官|书记|局长|科长|处长|总|工|姐|哥|某|家|氏)"
)
# A name is not followed by a place or an institution's suffix (亮马桥站, 王府井大街).
_PLACE_AFTER = re.compile(
    r"[站路街道桥村镇乡县市区省山河湖江园楼店厂馆局院所校寺塔港湾岛州庄屯营坊巷]"
)


def _chinese_names(text: str, tokens: _Tokens) -> Iterator[Span]:
    found: list[Span] = []
    taken: set[int] = set()
    words = _dictionary()
    tags = _word_tags()
    starts = tokens.starts
    ends = tokens.ends
    for i, ch in enumerate(text):
        if i in taken or not ("\u4e00" <= ch <= "\u9fff"):
            continue
        sl = _surname_at(text, i)
        if not sl or _TITLE_AFTER_SURNAME.match(text, i + sl):
            continue
        before = bool(_CN_BEFORE.search(text, max(0, i - 8), i))
        # Inside a word: 联系方式 is not 联系 + 方式. jieba does glue the last character of a cue
        # to a surname (来电人王秀英 → 来电/人王/秀英); that one may stand.
        inside = i not in starts and i > 0 and _is_han(text[i - 1])
        if inside and not (before and (i - 1) in starts):
            continue
        token = tokens.at(i)
        chosen: int | None = None
        for given in (2, 1):
            end = i + sl + given
            name = text[i:end]
            if end > len(text) or not _is_han(name):
                continue
            after = bool(_CN_AFTER.match(text, end))
            at_edge = end == len(text) or not _is_han(text[end])
            aligned = end in ends
            common = name in _MISTAGGED_WORDS or (
                words.get(name, 0) > 0 and tags.get(name, "") not in _NAME_TAGS
            )
            if before and after:
                ok = True
            elif before or after:
                ok = not common and (after or at_edge or aligned)
            else:
                # No context: only a name jieba itself found and does not know as a word
                # (jieba's dictionary tags 阳光, 文明 and 王府井 as names too).
                jieba_name = token is not None and token.end == end and token.tag in _NAME_TAGS
                split_name = (
                    token is not None
                    and token.end == i + sl
                    and token.tag in _NAME_TAGS
                    and (nxt := tokens.at(i + sl)) is not None
                    and nxt.end == end
                    and nxt.tag in _NAME_TAGS
                )
                given_word = words.get(name[sl:], 0) > 0 and tags.get(name[sl:], "") in _COMMON_TAGS
                ok = (
                    (jieba_name or split_name)
                    and not words.get(name, 0)
                    and not given_word
                    and not _PLACE_AFTER.match(text, end)
                )
            if ok:
                chosen = end
                break
        if chosen is not None:
            found.append(Span(i, chosen, PiiType.PERSON))
            taken.update(range(i, chosen))
    # A name listed with another one (张三、李四夫妇) shares its evidence.
    for span in list(found):
        j = span.start - 1
        if j < 2 or text[j] not in "、和与及":
            continue
        for length in (3, 2, 4):
            start = j - length
            if start < 0 or start in taken or (start > 0 and _is_han(text[start - 1])):
                continue
            sl = _surname_at(text, start)
            if sl and _is_han(text[start:j]) and 1 <= length - sl <= 2:
                found.append(Span(start, j, PiiType.PERSON))
                taken.update(range(start, j))
                break
    yield from found


# ---------------------------------------------------------------------------- English names

_GIVEN_NAMES = _words(
    """James John Robert Michael William David Richard Joseph Thomas Charles Christopher Daniel
    Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy
    Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin
    Scott Brandon Benjamin Samuel Gregory Alexander Frank Patrick Raymond Jack Dennis Jerry
    Tyler Aaron Jose Adam Nathan Henry Douglas Zachary Peter Kyle Ethan Walter Noah Jeremy
    Christian Keith Roger Terry Gerald Harold Sean Austin Carl Arthur Lawrence Dylan Jesse
    Jordan Bryan Billy Joe Bruce Gabriel Logan Albert Willie Alan Juan Wayne Elijah Randy Roy
    Vincent Ralph Eugene Russell Bobby Mason Philip Louis Harry Oliver Jamie Liam Callum Mary
    Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty
    Margaret Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah
    Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma
    Nicole Helen Samantha Katherine Christine Debra Rachel Carolyn Janet Catherine Maria Heather
    Diane Ruth Julie Olivia Joyce Virginia Kelly Christina Lauren Joan Evelyn Judith Megan
    Andrea Cheryl Hannah Jacqueline Martha Gloria Teresa Ann Sara Madison Frances Kathryn Janice
    Jean Abigail Alice Judy Sophia Grace Denise Amber Doris Marilyn Danielle Beverly Isabella
    Theresa Diana Natalie Brittany Charlotte Marie Kayla Alexis Lori Sophie Chloe Lucy Ella
    Amelia Jessica Fatima Aisha Mohammed Muhammad Ahmed Ali Omar Hassan Priya Raj Arjun Anil
    Sunita Ravi Deepak Carlos Luis Miguel Jorge Pedro Ana Sofia Lucia Carmen Rosa Juan Pablo
    Diego Yuki Hiroshi Kenji Min Ji Hyun Wei Mei Ling Nguyen Thanh"""
)
_PINYIN_SURNAMES = _words(
    """Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Gao Lin Luo Zheng
    Liang Xie Song Tang Han Feng Deng Cao Peng Zeng Xiao Tian Dong Pan Yuan Cai Jiang Yu Du Ye
    Cheng Wei Su Lu Ding Ren Shen Yao Cui Zhong Tan Fan Jin Shi Liao Jia Xia Fu Fang Bai Zou
    Meng Xiong Qin Qiu Hou Duan Lei Qian Kong Mao Kang Wen Niu Ouyang"""
)
_PINYIN = re.compile(
    r"^(?:(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ueng|ang|eng|ing|ong|ian|iao|uai|uan|ai|ei|ao|ou|an|en|in|un|ia|ie|iu|"
    r"ua|uo|ui|ue|ve|er|a|o|e|i|u|v)){1,2}$"
)
# Capitalised words that end a run of name words: places and institutions, not surnames.
_NOT_NAME_WORDS = _words(
    """Street St Road Rd Avenue Ave Boulevard Blvd Lane Ln Drive Dr Court Ct Place Pl Way Terrace
    Close Crescent Square Sq Parkway Highway Hwy Row Walk Gardens Garden Grove Hill Mews Circle
    Trail Alley Plaza Station Park Museum Library Hall Center Centre River Bridge Market Heights
    School Hospital University College Church Airport Bank Hotel Mall Tower House Office
    Department Dept County City Town Village Island Lake Beach Valley Bay Port Harbour Harbor
    Council Committee Association Company Inc Ltd Group Services Service Agency Authority Monday
    Tuesday Wednesday Thursday Friday Saturday Sunday January February March April June July
    August September October November December The A An And Or Of In On At To For From By With I
    We You He She They It This That My Our Your His Her Their Please Thanks Hi Hello Dear Yes No
    Not Case Order Ref Reference Road Apartment Apt Suite Unit Flat Floor Room Mr Mrs Ms Miss Mx
    Dr Prof Sir Madam Mister"""
)
_WORD = r"(?:[A-Z]'[A-Z][a-z]+|[A-Z][a-z]+(?:[A-Z][a-z]+)?(?:-[A-Z][a-z]+)?)"
_EN_TITLE = re.compile(
    rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Madam|Mister)\.?\s+({_WORD}(?:\s+{_WORD}){{0,2}})"
)
_EN_CUE = re.compile(
    r"\b(?i:my name is|name is|name:|named|i am|i'm|this is|call me|signed|regards,|thanks,|"
    r"caller|resident|tenant|landlord|neighbou?r|applicant|complainant|contact:?|reported by|"
    r"submitted by|filed by|written by|from|husband|wife|son|daughter|mother|father|"
    r"please call|call|email|ask for)[,:]?\s+"
    rf"({_WORD}(?:\s+{_WORD}){{0,2}})"
)
_EN_PAIR = re.compile(rf"\b({_WORD})\s+({_WORD})")


_SELF_NAMING = re.compile(
    r"(?:name is|name:|i am|i'm|this is|signed|regards,|thanks,)\s*$", re.IGNORECASE
)


def _trim_name_words(words: list[str]) -> list[str]:
    out: list[str] = []
    for w in words:
        if w in _NOT_NAME_WORDS:
            break
        out.append(w)
    return out


def _english_names(text: str) -> Iterator[Span]:
    for pattern in (_EN_TITLE, _EN_CUE):
        for m in pattern.finditer(text):
            raw = m.group(1)
            words = _trim_name_words(raw.split())
            if not words:
                continue
            # "From Paris", "call Tuesday": a lone capitalised word after a cue is a name only
            # when it is a known given name, or follows "my name is" and the like.
            lone = pattern is _EN_CUE and len(words) == 1 and words[0] not in _GIVEN_NAMES
            if lone and not _SELF_NAMING.search(text, 0, m.start(1)):
                continue
            end = m.start(1) + _span_len(raw, len(words))
            yield Span(m.start(1), end, PiiType.PERSON)
    for m in _EN_PAIR.finditer(text):
        first, last = m.group(1), m.group(2)
        if last in _NOT_NAME_WORDS or first in _NOT_NAME_WORDS:
            continue
        if first in _GIVEN_NAMES or (first in _PINYIN_SURNAMES and _PINYIN.match(last.lower())):
            yield Span(m.start(), m.end(), PiiType.PERSON)


def _span_len(raw: str, words: int) -> int:
    parts = list(re.finditer(r"\S+", raw))
    return parts[words - 1].end()


# ---------------------------------------------------------------------------- addresses

# Characters that do not occur in a place name but do right before one (住在, 位于, 是…).
_STOP = "在于是的我你他她它了请从住到将把被给说及或这那哪去回搬寄送找位对有个近旁也就还"
_NC = rf"(?:(?![{_STOP}])[{_HAN}])"
_NUMCH = "一二三四五六七八九十百"
_ADMIN = (
    rf"(?:{_NC}{{2,7}}?(?:省|自治区|特别行政区)|{_NC}{{1,6}}?(?:市|自治州|地区|盟)"
    rf"|{_NC}{{1,7}}?(?:区|县|旗)|{_NC}{{1,6}}?(?:街道|镇|乡))"
)
_ROAD = (
    rf"(?:{_NC}|\d){{1,10}}?(?:大道|大街|路|街|巷|胡同|弄|道)"
    rf"(?:[东西南北中]段|[{_NUMCH}\d]+段|[东西南北]口)?"
)
_HOUSE = r"\d+(?:[-之]\d+)?号(?:院)?"
_COMPOUND_SUFFIX = (
    r"小区|花园|家园|公寓|大厦|广场|中心|新村|新城|山庄|公馆|华府|国际|大酒店|酒店|宿舍|"
    r"社区|村|苑|庭|府|城|园|里"
)
# Greedy, so that the longest name ending in a suffix is taken (耀江国际大厦, not 耀江国际).
_COMPOUND = rf"(?:{_NC}|[A-Za-z\d]){{1,12}}(?:{_COMPOUND_SUFFIX})(?:[{_NUMCH}\d]+期)?"
_BUILDING = rf"(?:(?:[A-Za-z]?\d+|[{_NUMCH}]+)(?:栋|幢|座|号楼)|[A-Z](?:座|栋)|[A-Z]\d?区)"
_UNIT = rf"(?:\d+|[{_NUMCH}]+)单元"
_FLOOR = rf"(?:\d+|[{_NUMCH}]+)(?:层|楼)"
_ROOM = r"(?:\d+(?:室|户|号房)|\d{3,4}(?![\d号]))"
_ROOM_WORD = r"\d+(?:室|号房)"
# Below the street: a compound with any detail; without a compound, a building with its unit
# or room, a unit, or a room (室). A building, floor or 3号楼 alone is not an address.
_DETAIL = (
    rf"(?:{_COMPOUND}(?:{_BUILDING}(?:{_UNIT})?(?:{_FLOOR})?(?:{_ROOM})?"
    rf"|{_UNIT}(?:{_FLOOR})?(?:{_ROOM})?|(?:{_FLOOR})?{_ROOM_WORD})"
    rf"|{_BUILDING}(?:{_UNIT}(?:{_FLOOR})?(?:{_ROOM})?|(?:{_FLOOR})?{_ROOM})"
    rf"|{_UNIT}(?:{_FLOOR})?(?:{_ROOM})?|{_ROOM_WORD})"
)
_CN_ADDRESS = re.compile(
    rf"(?:{_ADMIN}){{0,4}}"
    rf"(?:{_ROAD}{_HOUSE}(?:{_COMPOUND})?(?:{_BUILDING})?(?:{_UNIT})?(?:{_FLOOR})?(?:{_ROOM})?"
    rf"|{_DETAIL})"
)
# Words the pattern can take in front of a place name: verbs and function words, by jieba's
# tags, and the words that introduce an address.
_LEADING_TAGS = frozenset({"v", "vd", "p", "r", "c", "u", "ud", "d", "y", "e", "o", "t", "zg"})
_LEADING_WORDS = re.compile(
    r"(?:地址|住址|地点|位置|位于|门牌|家住|住在|反映|投诉|举报|核实|核查|前往|发现|本)[是为:：]?"
)
_GENERIC_COMPOUND = re.compile(rf"(?:{_COMPOUND_SUFFIX})(?=[\dA-Z{_NUMCH}])")


def _chinese_addresses(text: str, tokens: _Tokens) -> Iterator[Span]:
    for m in _CN_ADDRESS.finditer(text):
        start, end = m.start(), m.end()
        if end - start < 3 or not any(c.isdecimal() for c in m.group()):
            continue
        start = _trim_leading(text, start, end, tokens)
        # a bare 小区 left in front of the building (本小区9号楼) names no place
        bare = _GENERIC_COMPOUND.match(text, start)
        if bare:
            start = bare.end()
        if end - start >= 3:
            yield Span(start, end, PiiType.ADDRESS)


_PLACE_WORD = re.compile(
    rf"(?:省|自治区|市|自治州|地区|盟|区|县|旗|街道|镇|乡|大道|大街|路|街|巷|胡同|弄|道|{_COMPOUND_SUFFIX})$"
)


def _trim_leading(text: str, start: int, end: int, tokens: _Tokens) -> int:
    """Drop what the pattern took in front of the place name (业主马晓燕反映|阳光花园12栋):
    everything up to the last verb or function word before the first word that is a place
    (jieba's ns, or a word ending in 省, 市, 路, 小区…); begin at the start of a place word the
    pattern cut into."""
    first_digit = next((i for i in range(start, end) if text[i].isdecimal()), end)
    new_start = start
    for t in tokens.tokens:
        if t.end <= start:
            continue
        if t.start >= first_digit:
            break
        if t.start < start:
            new_start = t.start if t.tag.startswith("ns") else t.end
            continue
        if t.tag.startswith("ns") or _PLACE_WORD.search(t.word):
            break
        if t.tag in _LEADING_TAGS or _LEADING_WORDS.fullmatch(t.word):
            new_start = t.end
    while True:
        m = _LEADING_WORDS.match(text, new_start)
        if not m or m.end() >= first_digit:
            break
        new_start = m.end()
    return new_start


_EN_STREET_TYPES = (
    r"Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Terrace|"
    r"Close|Crescent|Square|Sq|Parkway|Pkwy|Highway|Hwy|Row|Walk|Gardens|Grove|Hill|Mews|Circle|"
    r"Cir|Trail|Alley|Plaza"
)
_UNIT_WORDS = r"Apt|Apartment|Unit|Suite|Ste|Flat|Room|Rm|Floor|Fl"
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"
_EN_ADDRESS = re.compile(
    rf"(?:\b(?:{_UNIT_WORDS})\.?\s+[A-Z0-9-]+,\s+)?"
    rf"\b\d{{1,5}}[A-Z]?(?:-\d+)?\s+"
    rf"(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\.?\s+)?"
    rf"(?:[A-Z][a-z]+|\d+(?:st|nd|rd|th))(?:\s+[A-Z][a-z]+){{0,3}}?\s+"
    rf"(?:{_EN_STREET_TYPES})\b"
    rf"(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?"
    rf"(?:,?\s+(?:{_UNIT_WORDS})\.?\s*#?\s*[A-Z0-9-]+\b|\s*#\s*[A-Z0-9-]+\b)?"
    rf"(?:,\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*,\s+[A-Z]{{2}}\s+\d{{5}}(?:-\d{{4}})?"
    rf"|,?\s+(?:[A-Z][a-z]+\s+)?{_UK_POSTCODE}\b)?"
)


def _english_addresses(text: str) -> Iterator[Span]:
    for m in _EN_ADDRESS.finditer(text):
        yield Span(m.start(), m.end(), PiiType.ADDRESS)


# ---------------------------------------------------------------------------- detect

_HAS_HAN = re.compile(rf"[{_HAN}]")
_HAS_DIGIT = re.compile(r"\d")


# Full-width digits, letters and signs read as their ASCII forms: one character for one, so
# that offsets stay those of the original text.
_FULL_WIDTH = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
        **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
        "＠": "@",
        "．": ".",
        "－": "-",
        "＋": "+",
        "\u3000": " ",
    }
)


def _candidates(text: str, wanted: frozenset[PiiType]) -> Iterator[Span]:
    text = text.translate(_FULL_WIDTH)
    if "@" in text:
        yield from _emails(text)
    has_digit = bool(_HAS_DIGIT.search(text))
    if has_digit:
        yield from _ids(text)
        yield from _cards(text)
        yield from _phones(text)
        yield from _plates(text)
    elif PiiType.PLATE in wanted:
        yield from _plates(text)
    if not wanted & {PiiType.PERSON, PiiType.ADDRESS}:
        return
    tokens = _Tokens(text)
    has_han = bool(_HAS_HAN.search(text))
    if PiiType.ADDRESS in wanted:
        if has_han and has_digit:
            yield from _chinese_addresses(text, tokens)
        if has_digit:
            yield from _english_addresses(text)
    if PiiType.PERSON in wanted:
        if has_han:
            yield from _chinese_names(text, tokens)
        yield from _english_names(text)


def _resolve(candidates: Iterable[Span]) -> list[Span]:
    chosen: list[Span] = []
    ordered = sorted(
        set(candidates), key=lambda s: (_PRIORITY[s.type], -(s.end - s.start), s.start)
    )
    for span in ordered:
        if all(span.end <= c.start or span.start >= c.end for c in chosen):
            chosen.append(span)
    return sorted(chosen)


def detect(text: str, *, types: Collection[PiiType] | None = None) -> list[Span]:
    """The personal data in ``text``, in order, without overlaps; only of ``types`` if given.

    Offsets index the ``str`` (code points). Names and addresses need jieba; a call that asks
    for neither does not load it.
    """
    wanted = frozenset(PiiType) if types is None else frozenset(PiiType(t) for t in types)
    if not text:
        return []
    return [s for s in _resolve(_candidates(text, wanted)) if s.type in wanted]


# ---------------------------------------------------------------------------- masking


def _keep_digits(value: str, head: int, tail: int) -> str:
    """Mask every digit (and letter) but the first ``head`` and last ``tail``; separators
    stay where they are."""
    positions = [i for i, c in enumerate(value) if c.isalnum()]
    keep = set(positions[:head]) | set(positions[len(positions) - tail :] if tail else [])
    return "".join(c if (i in keep or not c.isalnum()) else "*" for i, c in enumerate(value))


_COUNTRY_CODE = re.compile(r"^(?:\+|00)\d{1,3}(?=[\s-])[\s-]?|^(?:\+|00)86|^\+1(?=\d{10}$)")


def _mask_phone(value: str) -> str:
    prefix = ""
    m = _COUNTRY_CODE.match(value)
    if m:
        prefix, value = value[: m.end()], value[m.end() :]
    n = sum(c.isdecimal() for c in value)
    return prefix + (_keep_digits(value, 3, 4) if n >= 10 else _keep_digits(value, 0, 4))


def mask(value: str, type: PiiType) -> str:
    """The readable mask of one value of ``type``:

    ======== =============================== ===============================
    PERSON   the first character              张伟 → 张*, John Smith → J*********
    PHONE    country code, first 3, last 4    13812345678 → 138****5678 (under 10 digits: last 4)
    ID       first 3 and last 4 (18/15 long)  110***********1234; SSN, NINO: last 4 only
    CARD     first 4 and last 4               6222 **** **** 1234
    EMAIL    first character of the name      z***@example.com
    PLATE    province and city letter         京A*****
    ADDRESS  a label                          [地址] (Chinese) or [ADDRESS]
    ======== =============================== ===============================
    """
    t = PiiType(type)
    if t is PiiType.PERSON:
        v = value.strip()
        return v[:1] + "*" * max(1, len(v) - 1) if v else ""
    if t is PiiType.PHONE:
        return _mask_phone(value)
    if t is PiiType.ID_NUMBER:
        n = sum(c.isalnum() for c in value)
        return _keep_digits(value, 3, 4) if n >= 15 else _keep_digits(value, 0, 4)
    if t is PiiType.BANK_CARD:
        return _keep_digits(value, 4, 4)
    if t is PiiType.EMAIL:
        local, _, domain = value.partition("@")
        return (local[:1] + "***@" + domain) if domain else "***"
    if t is PiiType.PLATE:
        return _keep_digits(value, 2, 0)
    return "[地址]" if _HAS_HAN.search(value) else "[ADDRESS]"


def redact(
    text: str,
    spans: Iterable[Span] | None = None,
    *,
    keep: Collection[PiiType] = frozenset(),
    masker: Callable[[str, PiiType], str] = mask,
) -> str:
    """``text`` with each span (``detect(text)`` if not given) masked, except those of the
    types in ``keep`` (a reader who holds the purpose for phones keeps the phones)."""
    found = detect(text) if spans is None else sorted(spans)
    kept = frozenset(PiiType(k) for k in keep)
    out: list[str] = []
    at = 0
    for span in found:
        if span.type in kept or span.start < at:
            continue
        out.append(text[at : span.start])
        out.append(masker(text[span.start : span.end], span.type))
        at = span.end
    out.append(text[at:])
    return "".join(out)
