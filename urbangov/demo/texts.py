"""Words of the Demo City: names of places and people, and the text of residents' requests,
of the units' replies and of the ratings — written here, template by template, with slots.

Nothing here is copied from a real data set, and nothing imports Django. Every function takes
a ``random.Random`` so that the same seed always writes the same words.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from urbangov.demo.catalogue import (
    INDUSTRIAL,
    NEW_TOWN,
    OLD_TOWN,
    RIVERSIDE,
    SUBURBAN,
    UNIVERSITY,
)

# --- names of places -----------------------------------------------------------------------

STREET_WORDS: dict[str, tuple[str, ...]] = {
    OLD_TOWN: (
        "钟楼",
        "府前",
        "文庙",
        "东关",
        "西关",
        "南门",
        "北门",
        "大井",
        "书院",
        "仓巷",
        "马市",
        "县前",
        "城隍",
        "鼓楼",
    ),
    RIVERSIDE: (
        "滨江",
        "望江",
        "沿河",
        "码头",
        "渡口",
        "江湾",
        "临江",
        "观澜",
        "江心",
        "柳堤",
        "洲头",
    ),
    NEW_TOWN: (
        "云岭",
        "高新",
        "金融城",
        "科创",
        "未来城",
        "锦绣",
        "云栖",
        "悦湖",
        "星海",
        "中央公园",
    ),
    INDUSTRIAL: ("东港", "工业园", "物流港", "临港", "北港", "新材", "机场", "港城", "创业"),
    UNIVERSITY: ("文华", "大学城", "学府", "书香", "博学", "明德", "知行", "致远", "青藤"),
    SUBURBAN: ("北原", "杨庄", "李集", "柳河", "长岗", "双桥", "石桥", "王店", "孟楼", "白沙"),
}

COMMUNITY_WORDS: dict[str, tuple[str, ...]] = {
    OLD_TOWN: (
        "府学",
        "马市街",
        "城隍庙",
        "米市",
        "柴市",
        "南关",
        "北关",
        "书院街",
        "井巷",
        "太平巷",
        "双井",
        "槐树",
        "枣林",
        "铁路新村",
        "纺织新村",
        "机械厂",
        "供销",
        "粮站",
        "老街",
        "状元",
        "青石巷",
        "三元",
    ),
    RIVERSIDE: (
        "滨河",
        "江景",
        "望月",
        "帆影",
        "柳岸",
        "长堤",
        "渔港",
        "灯塔",
        "江畔",
        "沙洲",
        "湾头",
        "星光",
        "花港",
        "月亮湾",
    ),
    NEW_TOWN: (
        "金融港",
        "御景",
        "星汇",
        "天悦",
        "锦城",
        "华庭",
        "科苑",
        "悦湖",
        "翠湖",
        "碧水",
        "蓝湾",
        "云栖",
        "未来",
        "紫金",
        "阳光",
        "中央",
    ),
    INDUSTRIAL: (
        "工人新村",
        "产业园",
        "港湾",
        "物流",
        "纺织",
        "机电",
        "新港",
        "安置",
        "兴业",
        "创新",
        "港东",
        "港西",
        "临港",
        "鑫源",
    ),
    UNIVERSITY: (
        "学苑",
        "博文",
        "明理",
        "求是",
        "致远",
        "德润",
        "文昌",
        "书苑",
        "敏学",
        "启航",
        "青藤",
        "桃李",
        "杏坛",
        "知新",
    ),
    SUBURBAN: (
        "张庄",
        "刘集",
        "陈楼",
        "王桥",
        "大李",
        "小孟",
        "前营",
        "后营",
        "东岗",
        "西岗",
        "柳林",
        "杏园",
        "枣园",
        "梨园",
        "桃园",
        "河湾",
        "沙河",
        "清水",
        "石岗",
        "孙店",
        "马庄",
        "周寨",
    ),
}
GENERIC_COMMUNITY_WORDS = (
    "和平",
    "幸福",
    "康乐",
    "安居",
    "长青",
    "向阳",
    "红旗",
    "团结",
    "胜利",
    "建设",
    "光明",
    "育新",
    "新华",
    "友谊",
    "朝阳",
    "春风",
    "丽水",
    "东湖",
    "西苑",
    "南苑",
    "北苑",
    "翠竹",
    "桂花",
    "紫薇",
    "海棠",
    "玉兰",
    "牡丹",
    "芙蓉",
    "银杏",
    "梧桐",
    "金桥",
    "银河",
    "锦华",
    "万福",
    "天和",
    "润泽",
    "嘉禾",
    "恒安",
    "瑞景",
    "永安",
    "长乐",
    "福寿",
    "康宁",
    "荷花",
    "百合",
    "青年",
    "民主",
    "五一",
    "前进",
    "红星",
)

XIAOQU_PREFIX = (
    "金桂",
    "翠湖",
    "阳光",
    "锦绣",
    "紫荆",
    "丽景",
    "御景",
    "春晖",
    "碧水",
    "蓝湾",
    "世纪",
    "盛世",
    "润泽",
    "怡景",
    "康乐",
    "天润",
    "星河",
    "绿洲",
    "凤凰",
    "梧桐",
    "枫林",
    "桃源",
    "荷塘",
    "兰亭",
    "观澜",
    "书香",
    "学府",
    "嘉和",
    "恒信",
    "东方",
    "华府",
    "明珠",
    "龙腾",
    "馨园",
    "悦府",
    "泰和",
    "安康",
    "祥瑞",
    "银座",
    "锦江",
)
XIAOQU_SUFFIX: dict[str, tuple[str, ...]] = {
    OLD_TOWN: ("家属院", "宿舍", "新村", "小区", "里", "坊"),
    RIVERSIDE: ("花园", "江景苑", "公寓", "名苑", "湾", "广场"),
    NEW_TOWN: ("华府", "名邸", "公馆", "壹号", "国际", "御府", "天地"),
    INDUSTRIAL: ("工人新村", "安置小区", "员工公寓", "小区", "家园"),
    UNIVERSITY: ("教师公寓", "学苑", "小区", "雅居", "公寓"),
    SUBURBAN: ("安置区", "新村", "小区", "家园", "村"),
}
OLD_TOWN_UNITS = (
    "纺织厂",
    "机械厂",
    "供销社",
    "粮食局",
    "自来水公司",
    "棉麻厂",
    "铁路",
    "邮电局",
    "化肥厂",
    "印刷厂",
)

ROAD_WORDS = (
    "人民",
    "解放",
    "建设",
    "和平",
    "文化",
    "工业",
    "光明",
    "新华",
    "胜利",
    "友谊",
    "长江",
    "黄河",
    "泰山",
    "青年",
    "迎宾",
    "育才",
    "学院",
    "科技",
    "创业",
    "振兴",
    "繁华",
    "银杏",
    "梧桐",
    "紫荆",
    "丹桂",
    "玉兰",
    "望江",
    "滨河",
    "云岭",
    "锦绣",
    "长安",
    "永安",
    "民生",
    "开元",
    "太白",
    "仓颉",
    "书院",
    "钟楼",
    "府前",
    "东关",
    "西关",
    "学府",
    "文昌",
    "明德",
    "致远",
    "港城",
    "物流",
    "临港",
    "金港",
    "柳河",
    "白沙",
    "杨庄",
    "石桥",
    "双桥",
    "朝阳",
    "东风",
    "红旗",
    "交通",
    "健康",
    "幸福",
    "花园",
    "纬一",
    "纬二",
    "纬三",
    "经一",
    "经二",
    "经三",
    "经四",
    "经五",
    "湖滨",
    "星海",
    "未来",
    "天和",
    "嘉禾",
    "怡和",
    "康宁",
    "春晖",
)
ROAD_SUFFIX: dict[str, tuple[str, ...]] = {
    OLD_TOWN: ("街", "巷", "路", "大街"),
    RIVERSIDE: ("路", "大道", "街"),
    NEW_TOWN: ("大道", "路"),
    INDUSTRIAL: ("路", "大道"),
    UNIVERSITY: ("路", "街"),
    SUBURBAN: ("路", "公路"),
}

SURNAMES = (
    "王",
    "李",
    "张",
    "刘",
    "陈",
    "杨",
    "黄",
    "赵",
    "吴",
    "周",
    "徐",
    "孙",
    "马",
    "朱",
    "胡",
    "郭",
    "何",
    "高",
    "林",
    "罗",
    "郑",
    "梁",
    "谢",
    "宋",
    "唐",
    "许",
    "韩",
    "冯",
    "邓",
    "曹",
    "彭",
    "曾",
    "肖",
    "田",
    "董",
    "袁",
    "潘",
    "于",
    "蒋",
    "蔡",
    "余",
    "杜",
    "叶",
    "程",
    "苏",
    "魏",
    "吕",
    "丁",
    "任",
    "沈",
    "姚",
    "卢",
    "姜",
    "崔",
    "钟",
    "谭",
    "陆",
    "汪",
    "范",
    "金",
)
# Surnames are far from uniform: the first ones are much more common.
SURNAME_WEIGHTS = tuple(1.0 / (i + 4) for i in range(len(SURNAMES)))
GIVEN_CHARS = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀",
    "霞",
    "平",
    "刚",
    "桂",
    "英",
    "华",
    "玉",
    "萍",
    "红",
    "建",
    "文",
    "辉",
    "力",
    "鹏",
    "宇",
    "浩",
    "欣",
    "怡",
    "婷",
    "雪",
    "琳",
    "晨",
    "凯",
    "峰",
    "斌",
    "俊",
    "佳",
    "梅",
    "兰",
    "德",
    "福",
    "国",
    "志",
    "海",
    "春",
    "冬",
    "云",
    "子",
    "思",
    "雨",
    "嘉",
    "博",
)
ELDER_GIVEN = (
    "桂英",
    "秀兰",
    "玉兰",
    "凤英",
    "建国",
    "国庆",
    "德福",
    "福生",
    "淑珍",
    "秀珍",
    "建华",
    "长林",
    "永福",
    "金花",
    "玉珍",
)
FOREIGN_NAMES = (
    "John Miller",
    "Emma Schmidt",
    "Lucas Martin",
    "Sofia Rossi",
    "Kim Min-jun",
    "Tanaka Yuki",
    "Ahmed Hassan",
    "Olga Ivanova",
    "Carlos Silva",
    "Priya Sharma",
    "David Brown",
    "Nguyen Thi Lan",
    "Mohammed Ali",
    "Anna Kowalska",
    "James Wilson",
    "Aiko Suzuki",
)
PHONE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "176",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)

COMPANY_WORDS = (
    "宏达",
    "鑫源",
    "恒通",
    "华泰",
    "永盛",
    "金鼎",
    "瑞丰",
    "博远",
    "中诚",
    "天宇",
    "顺发",
    "盛达",
    "隆兴",
    "昌盛",
    "汇丰源",
    "远航",
    "腾飞",
    "广厦",
)


def person_name(rng: random.Random, *, elderly: bool = False) -> str:
    surname = rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]
    style = rng.random()
    if style < 0.30:
        # Callers often give only a surname.
        if elderly:
            return surname + rng.choice(("大爷", "阿姨", "奶奶", "老先生", "女士", "先生"))
        return surname + rng.choice(("先生", "女士", "先生", "女士", "同学"))
    if elderly and style < 0.7:
        return surname + rng.choice(ELDER_GIVEN)
    given = rng.choice(GIVEN_CHARS)
    if rng.random() < 0.65:
        given += rng.choice(GIVEN_CHARS)
    return surname + given


def phone_number(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def foreign_name(rng: random.Random) -> str:
    return rng.choice(FOREIGN_NAMES)


def unique_names(
    rng: random.Random,
    pool: Sequence[str],
    count: int,
    taken: set[str],
    *,
    suffix: str,
    fallback: Sequence[str] = GENERIC_COMMUNITY_WORDS,
) -> list[str]:
    """``count`` names not yet ``taken``: from ``pool`` first, then composed variants."""
    names: list[str] = []
    candidates = list(pool)
    rng.shuffle(candidates)
    extra = list(fallback)
    rng.shuffle(extra)
    candidates += extra
    candidates += [d + w for w in extra for d in "东西南北新" if w[0] not in "东西南北新"]
    for word in candidates:
        name = word + suffix
        if name not in taken:
            taken.add(name)
            names.append(name)
            if len(names) == count:
                return names
    raise ValueError(f"ran out of names for {suffix}")


def xiaoqu_names(rng: random.Random, character: str, count: int, taken: set[str]) -> list[str]:
    """Names of housing estates (小区) in one community, in its district's style."""
    names: list[str] = []
    suffixes = XIAOQU_SUFFIX[character]
    for _ in range(200):
        if character == OLD_TOWN and rng.random() < 0.5:
            name = rng.choice(OLD_TOWN_UNITS) + rng.choice(("宿舍", "家属院", "家属楼"))
        else:
            name = rng.choice(XIAOQU_PREFIX) + rng.choice(suffixes)
        if name not in taken:
            taken.add(name)
            names.append(name)
            if len(names) == count:
                break
    while len(names) < count:
        name = f"{names[len(names) % max(len(names), 1)] if names else '新建'}{len(names) + 1}期"
        taken.add(name)
        names.append(name)
    return names


def road_names(rng: random.Random, character: str, count: int, taken: set[str]) -> list[str]:
    names: list[str] = []
    words = list(ROAD_WORDS)
    rng.shuffle(words)
    for word in words:
        for suffix in rng.sample(ROAD_SUFFIX[character], len(ROAD_SUFFIX[character])):
            name = word + suffix
            if name not in taken:
                taken.add(name)
                names.append(name)
                break
        if len(names) == count:
            return names
    for word in words:
        for direction in ("东路", "西路", "南路", "北路"):
            name = word + direction
            if name not in taken:
                taken.add(name)
                names.append(name)
                if len(names) == count:
                    return names
    raise ValueError("ran out of road names")


@dataclass(frozen=True)
class Place:
    """Where a case is: the names a resident would use."""

    district: str
    street: str  # 街道, e.g. 钟楼街道
    community: str  # 社区, e.g. 府学社区
    xiaoqu: tuple[str, ...]  # housing estates in the community
    roads: tuple[str, ...]  # roads of the street
    character: str


# --- slots ---------------------------------------------------------------------------------

CN_DIGITS = "零一二三四五六七八九十"


def cn_number(n: int) -> str:
    """Small numbers the way people say them: 3 → 三, 12 → 十二, 25 → 二十五."""
    if n <= 10:
        return CN_DIGITS[n]
    if n < 20:
        return "十" + CN_DIGITS[n - 10]
    tens, ones = divmod(n, 10)
    return CN_DIGITS[tens] + "十" + (CN_DIGITS[ones] if ones else "")


DURATIONS = (
    "两天",
    "三天",
    "好几天",
    "一个星期",
    "一个多星期",
    "半个月",
    "十来天",
    "快一个月",
    "两个多月",
    "大半年",
    "一整天",
    "四五天",
)
LONG_DURATIONS = ("半年多", "一年多", "快两年", "三个多月", "大半年", "八九个月")
SINCE = (
    "昨天下午",
    "前天晚上",
    "今天早上",
    "上周五",
    "上个周末",
    "前几天",
    "昨天半夜",
    "这个月初",
    "上个月中旬",
    "大前天",
)
NIGHT = (
    "晚上十点以后",
    "凌晨一两点",
    "每天早上五六点",
    "半夜十二点多",
    "晚上十一点左右",
    "每天晚上",
    "凌晨三四点",
)
SHOPS = (
    "楼下的烧烤店",
    "小区门口的KTV",
    "隔壁的棋牌室",
    "一家新开的酒吧",
    "对面的饭店",
    "楼下的水果店",
    "路边的大排档",
    "小区底商的健身房",
    "一家麻将馆",
    "街角的网吧",
)
SQUARES = ("小区中心广场", "小区篮球场", "公园入口", "社区文化广场", "河边的空地")
HOSPITALS = (
    "市第一人民医院",
    "市第二人民医院",
    "市中医院",
    "市妇幼保健院",
    "市儿童医院",
    "区人民医院",
    "市第三人民医院",
)
AMOUNTS = (
    "八千多元",
    "一万二千元",
    "两万三千元",
    "六千五百元",
    "三万多元",
    "四千八百元",
    "一万五千元",
    "九千元",
)
TEMPS = ("十二三度", "十四度", "十五六度", "不到十六度", "十三度左右", "只有十一度")
BUS_LINES = tuple(
    f"{n}路" for n in (3, 5, 8, 11, 16, 23, 27, 31, 42, 56, 63, 71, 88, 102, 115, 203, 306)
)
AGES = tuple(range(66, 92))
BEFORE = ("上个月", "上周", "前两个月", "年初", "去年年底", "半个月前", "上上周")
SCHOOL_KINDS = ("小学", "实验小学", "中学", "幼儿园")


class Slots(dict[str, str]):
    """Values for a template's slots, drawn the first time each is asked for, so that the
    title and the text of one case name the same estate, road and school."""

    def __init__(self, rng: random.Random, place: Place, *, who: str = "") -> None:
        """``who`` names the resident in the third person (an operator taking a call writes
        来电人); empty for a resident writing in the first person."""
        super().__init__()
        self.rng = rng
        self.place = place
        self.who = who

    def __missing__(self, key: str) -> str:
        value = self._draw(key)
        self[key] = value
        return value

    def _draw(self, key: str) -> str:  # one branch per slot reads best
        rng, place = self.rng, self.place
        if key == "xq":
            return rng.choice(place.xiaoqu)
        if key == "road":
            return rng.choice(place.roads)
        if key == "road2":
            others = [r for r in place.roads if r != self["road"]] or list(place.roads)
            return rng.choice(others)
        if key == "community":
            return place.community
        if key == "street":
            return place.street
        if key == "district":
            return place.district
        if key == "bld":
            return f"{rng.randint(1, 28)}栋" + (
                f"{rng.randint(1, 4)}单元" if rng.random() < 0.6 else ""
            )
        if key == "room":
            return f"{rng.randint(1, 26)}0{rng.randint(1, 4)}"
        if key == "num":
            return f"{rng.randint(1, 399)}号"
        if key == "loc":
            return rng.choice(
                (
                    f"{self['xq']}{self['bld']}",
                    f"{self['xq']}",
                    f"{self['road']}{self['num']}",
                    f"{self['road']}与{self['road2']}交叉口",
                    f"{self['xq']}东门",
                    f"{self['xq']}北门附近",
                    f"{self['road']}{self['xq']}门口",
                )
            )
        if key == "dur":
            return rng.choice(DURATIONS)
        if key == "long":
            return rng.choice(LONG_DURATIONS)
        if key == "since":
            return rng.choice(SINCE)
        if key == "night":
            return rng.choice(NIGHT)
        if key == "n":
            return cn_number(rng.randint(2, 9))
        if key == "floor":
            return cn_number(rng.randint(2, 18))
        if key == "shop":
            return rng.choice(SHOPS)
        if key == "square":
            return rng.choice(SQUARES)
        if key == "company":
            return rng.choice(COMPANY_WORDS) + rng.choice(
                (
                    "建筑工程有限公司",
                    "电子科技有限公司",
                    "物流有限公司",
                    "机械制造有限公司",
                    "服装有限公司",
                    "装饰工程有限公司",
                )
            )
        if key == "property_co":
            return rng.choice(COMPANY_WORDS) + "物业服务有限公司"
        if key == "developer":
            return rng.choice(COMPANY_WORDS) + "置业有限公司"
        if key == "amount":
            return rng.choice(AMOUNTS)
        if key == "months":
            return cn_number(rng.randint(2, 7)) + "个月"
        if key == "temp":
            return rng.choice(TEMPS)
        if key == "bus":
            return rng.choice(BUS_LINES)
        if key == "hosp":
            return rng.choice(HOSPITALS)
        if key == "school":
            stem = place.community.removesuffix("社区")
            return stem + rng.choice(SCHOOL_KINDS)
        if key == "age":
            return cn_number(rng.choice(AGES))
        if key == "before":
            return rng.choice(BEFORE)
        if key == "nth":
            return cn_number(rng.randint(2, 6))
        if key == "wo":
            return self.who or "我"
        if key == "wojia":
            return self.who + "家" if self.who else "我家"
        if key == "women":
            return "居民们" if self.who else "我们"
        if key == "who":
            return self.who or "我"
        if key == "brand":
            return rng.choice(("某品牌", "网购的", "超市买的", "商场买的", "直播间买的"))
        raise KeyError(key)


def fill(template: str, slots: Slots) -> str:
    return template.format_map(slots)


# --- what residents write, by sub-category: (short title, body) ----------------------------

T = tuple[str, str]

BODIES: dict[str, tuple[T, ...]] = {
    "construction.water_supply": (
        ("停水", "{loc}从{since}开始停水，到现在已经{dur}了，事先没有看到任何停水通知。"),
        (
            "水压太低",
            "{xq}{bld}楼层高的住户水压特别低，{floor}楼以上白天基本接不到水，洗澡做饭都成问题。",
        ),
        ("自来水发黄", "{xq}的自来水最近放出来是黄色的，还有一股铁锈味，不敢给孩子喝。"),
        (
            "停水无通知",
            "{xq}又停水了，物业说是市政管网的问题，供水公司说是小区二次供水的问题，互相推诿。",
        ),
        ("水管爆裂", "{road}{num}附近的供水管道爆裂，水流了一地，路面都淹了。"),
    ),
    "construction.drainage": (
        ("下水道堵塞", "{xq}{bld}下水道堵塞，污水从一楼地漏往外冒，臭气熏天。"),
        ("路面积水", "一下雨{road}与{road2}交叉口就积水，水深到小腿，车辆行人都没法通行。"),
        ("污水外溢", "{loc}的污水井满溢，黑水流到路上，{dur}了没人来疏通。"),
        ("化粪池满溢", "{xq}化粪池满了往外溢，整个楼道都是臭味，夏天根本不敢开窗。"),
        ("雨水篦子堵塞", "{road}的雨水篦子被垃圾堵死了，稍微下点雨就排不出去。"),
    ),
    "construction.power": (
        ("频繁停电", "{xq}这个月已经停了{n}次电了，{since}又停了，家里冰箱里的东西都坏了。"),
        ("电压不稳", "{xq}{bld}晚上电压不稳，灯一闪一闪的，空调都启动不了。"),
        ("停电", "{loc}{since}突然停电，到现在还没恢复，家里有老人怕热，很着急。"),
        ("电线杆倾斜", "{road}{num}旁边的电线杆歪了，电线垂得很低，担心有安全隐患。"),
    ),
    "construction.gas": (
        ("燃气泄漏", "{xq}{bld}楼道里有很浓的煤气味，怀疑哪家燃气泄漏了，请马上派人来查看！"),
        ("燃气异味", "{wojia}厨房燃气灶附近一直有股臭鸡蛋味，关了阀门也还有。"),
        ("燃气表故障", "{wojia}的燃气表充值后不进气，已经{dur}做不了饭。"),
        ("燃气管道破损", "{road}施工把燃气管道挖破了，现场有气味，周围还有人抽烟，非常危险。"),
    ),
    "construction.heating": (
        ("暖气不热", "{xq}{bld}的暖气一直不热，室内温度只有{temp}，家里有老人和小孩，冻得受不了。"),
        ("供暖不达标", "已经交了采暖费，可是{wojia}暖气片上面热下面凉，屋里只有{temp}。"),
        ("暖气漏水", "{xq}{bld}楼道里的暖气管道漏水，水都流到楼梯上结冰了。"),
        ("未按时供暖", "都{since}了，{xq}的暖气还没来，别的小区早就热了。"),
        (
            "暖气片不热",
            "{wojia}住顶楼，暖气片放过气了还是不热，热力公司来看过说是管网问题，到现在也没解决。",
        ),
    ),
    "construction.property": (
        ("物业不作为", "{xq}的{property_co}收了物业费不干活，楼道{dur}没人打扫，门禁坏了也不修。"),
        ("电梯维修费用", "{xq}物业要求每户再交一笔电梯维修费，却不公开维修基金的使用情况。"),
        ("物业乱收费", "{xq}物业把停车费从每月一百涨到了三百，也没有开业主大会。"),
        ("小区门禁损坏", "{xq}的门禁坏了{dur}，外来人员随便进出，{women}很担心安全。"),
        ("物业强制收费", "{xq}物业不交物业费就不给办理门禁卡，还把{wojia}的水停了。"),
        ("公共设施损坏", "{xq}小区里的路灯和健身器材坏了很久，找物业说没钱修。"),
    ),
    "construction.old_housing": (
        (
            "楼顶漏水",
            "{xq}{bld}是八十年代的老房子，楼顶防水层坏了，一下雨{wojia}就漏水，墙皮都泡掉了。",
        ),
        ("外墙脱落", "{xq}{bld}外墙的瓷砖一块块往下掉，下面就是人行道，{women}都不敢从那儿走。"),
        ("老旧小区改造", "{xq}是老旧小区，没有物业，路面坑坑洼洼，希望能纳入老旧小区改造计划。"),
        ("楼道破损", "{xq}{bld}楼梯扶手断了，楼道灯也不亮，{wojia}老人上下楼摔过一跤。"),
        ("加装电梯", "{xq}{bld}想加装电梯，楼里老人多，上下楼太困难，不知道政策怎么申请。"),
    ),
    "construction.illegal_building": (
        ("违章搭建", "{xq}{bld}一楼住户把院子围起来盖了一间房，占了公共绿地。"),
        ("顶楼加盖", "{xq}{bld}顶楼有人在楼顶加盖彩钢房，施工{dur}了，担心楼板承重有问题。"),
        ("私搭乱建", "{road}{num}的门面房私自往外扩建，把人行道都占了。"),
        ("违建未拆除", "{wo}{before}举报过{xq}的违建，说是下了整改通知，可是到现在还在那儿。"),
        ("圈占绿地", "{xq}有住户把楼下绿地圈起来种菜养鸡，气味很大。"),
    ),
    "construction.road": (
        ("井盖缺失", "{road}{num}门口的井盖不见了，晚上很黑，已经有人掉进去崴了脚。"),
        ("路面塌陷", "{road}与{road2}交叉口路面塌了一个大坑，车过的时候很危险。"),
        ("道路坑洼", "{road}路面坑坑洼洼，下雨天全是水坑，电动车摔了好几次。"),
        ("人行道破损", "{road}的人行道砖松动翘起，老人走路容易绊倒。"),
        ("井盖异响", "{road}{num}附近的井盖一压就响，晚上车过去咣当咣当的，吵得睡不着。"),
    ),
    "construction.streetlight": (
        ("路灯不亮", "{road}从{road2}路口往东一段的路灯{dur}都不亮了，晚上黑漆漆的。"),
        ("路灯白天亮", "{road}的路灯白天也一直亮着，太浪费了。"),
        ("小区路灯损坏", "{xq}门口到{road}那段路没有路灯，晚上下班回家很不安全。"),
        ("路灯杆倾斜", "{road}{num}附近有根路灯杆被车撞歪了，随时可能倒下来。"),
    ),
    "construction.expropriation": (
        ("拆迁补偿", "{wojia}房子在{community}征收范围内，补偿标准比周边低很多，希望重新评估。"),
        ("安置房延期", "{wo}的安置房原定去年交付，到现在还没动工，过渡费也停发了{months}。"),
        (
            "过渡费未发",
            "{community}拆迁户的过渡费已经{months}没发了，{women}租房子的钱都快付不起了。",
        ),
        ("征收程序", "{community}突然贴出征收公告，没有征求过居民意见，补偿方案也不公开。"),
    ),
    "construction.new_homes": (
        ("延期交房", "{wo}买的{xq}原定{before}交房，现在一再延期，开发商{developer}也不给说法。"),
        ("办不了房产证", "{xq}交房都{long}了，开发商一直不给办不动产证，孩子上学都受影响。"),
        ("房屋质量问题", "刚收的{xq}新房墙面开裂、窗户漏水，找{developer}一直推脱。"),
        (
            "交房与宣传不符",
            "{xq}交房时发现小区配套和当初宣传的完全不一样，说好的幼儿园变成了商铺。",
        ),
    ),
    "environment.construction_noise": (
        (
            "夜间施工扰民",
            "{road}旁边的工地{night}还在施工，打桩机的声音震得整栋楼都在响，根本没法睡觉。",
        ),
        ("施工噪音", "{xq}对面工地渣土车整夜进出，{night}还在鸣笛，吵得孩子睡不着。"),
        ("周末施工", "{road}{num}的工地周末也施工，电钻声从早到晚不停。"),
        (
            "夜间施工无许可",
            "{xq}旁边的工地{since}开始连续夜间施工，问了说有夜间施工许可，可是公示牌上什么也没写。",
        ),
    ),
    "environment.living_noise": (
        (
            "广场舞噪音",
            "{xq}{square}每天晚上跳广场舞，音响开得特别大，一直到九点多，家里学生没法写作业。",
        ),
        ("商铺噪音", "{shop}{night}还放音乐，喝酒划拳的声音很大，{women}根本没法休息。"),
        ("邻居噪音", "{xq}{bld}楼上住户{night}经常敲敲打打，沟通过好几次都没用。"),
        ("空调外机噪音", "{shop}的空调外机正对着{wojia}窗户，整夜轰轰响。"),
        ("商家高音喇叭", "{road}上的商店门口用大喇叭循环播放促销广告，从早到晚不停。"),
    ),
    "environment.air": (
        ("焚烧垃圾", "{community}附近有人{night}焚烧垃圾和塑料，烟很大，气味刺鼻。"),
        ("工地扬尘", "{road}工地没有围挡也不洒水，一刮风灰尘满天飞，{women}窗户都不敢开。"),
        ("秸秆焚烧", "{community}周边田里有人烧秸秆，整个村子都是烟。"),
        ("异味", "{xq}这{dur}晚上总能闻到一股化学品的味道，不知道是从哪里飘来的。"),
    ),
    "environment.cooking_fumes": (
        ("餐饮油烟扰民", "{shop}的排烟管道直接对着居民楼，油烟全部飘进{wojia}，衣服都不敢晾。"),
        ("烧烤油烟", "{road}{num}的烧烤店把炉子摆到门口，{night}还在烤，烟熏得整条街都是。"),
        ("油烟净化器", "{xq}底商的饭店没有安装油烟净化设备，厨房排风口就在{wojia}窗户下面。"),
    ),
    "environment.water_pollution": (
        ("河道黑臭", "{community}旁边的小河变成了黑臭水体，夏天臭得不行，还有很多蚊子。"),
        ("河里死鱼", "{road}桥下的河面上漂着很多死鱼，怀疑上游有人排污。"),
        ("污水直排", "{road}边上有根管子往河里排白色的污水，{since}开始的，河水都变色了。"),
    ),
    "environment.industrial": (
        ("工厂排放废气", "{road}上的{company}{night}偷偷排放废气，味道刺鼻，{women}喉咙都不舒服。"),
        ("企业偷排", "{company}把废水直接排到厂区外面的沟里，味道很大，附近的庄稼都死了。"),
        ("工厂噪音", "{company}车间{night}机器一直响，离居民楼不到一百米。"),
        ("粉尘污染", "{road}附近的{company}粉尘很大，周围车上、窗台上都是一层灰。"),
    ),
    "city.waste": (
        (
            "垃圾未及时清运",
            "{xq}{bld}旁边的垃圾桶已经满了{dur}，没人来清运，夏天苍蝇到处飞，臭味很大。",
        ),
        ("垃圾分类", "{xq}设了垃圾分类点，但是清运车来了又把分好的垃圾倒在一起。"),
        ("建筑垃圾乱堆", "{road}{num}旁边有人乱倒建筑垃圾，堆了一大堆，把路都占了一半。"),
        ("垃圾站臭味", "{xq}门口的垃圾中转站臭气熏天，污水流到路上，{women}出门都得捂着鼻子。"),
    ),
    "city.street_vending": (
        (
            "占道经营",
            "{road}{xq}门口每天晚上都有流动摊贩占道摆摊，把人行道和盲道全占了，车都开不进去。",
        ),
        ("夜市扰民", "{road}的夜市一直摆到凌晨，垃圾满地，吵得附近居民没法休息。"),
        ("店外经营", "{road}上的几家店把货物摆到店外人行道上，行人只能走机动车道。"),
        ("早市堵路", "{xq}门口每天早上有早市，三轮车把路堵得死死的，孩子上学过不去。"),
    ),
    "city.posters": (
        ("小广告", "{xq}{bld}楼道里贴满了开锁、办证的小广告，刚刷的墙又被贴满了。"),
        ("乱涂乱画", "{road}两边的墙上被人喷了很多电话号码，很影响市容。"),
    ),
    "city.greenery": (
        ("树木倒伏", "{road}{num}门口的大树被风刮倒了，压在路边的车上，还挡住了一半的路。"),
        ("树木遮挡", "{xq}{bld}楼下的树长得太高，完全挡住了{wojia}的采光，一楼白天都要开灯。"),
        ("绿化带枯死", "{road}中间绿化带的树死了一大片，没人补种。"),
        ("树枝压电线", "{xq}有棵树的树枝搭在电线上，刮风的时候会冒火花，很危险。"),
    ),
    "city.stray_animals": (
        ("流浪狗伤人", "{xq}附近有好几条流浪狗，{since}还追着孩子咬，很危险。"),
        ("流浪猫", "{xq}{bld}有人喂流浪猫，现在猫越来越多，晚上叫得人睡不着，楼道里也有粪便。"),
        ("遛狗不拴绳", "{xq}有人遛大型犬不拴绳，小孩被吓哭了好几次。"),
    ),
    "transport.bus": (
        (
            "增设公交线路",
            "{community}到市区没有直达公交，{women}去医院要换乘两次，希望开通一条公交线路。",
        ),
        ("公交班次少", "{bus}公交车班次太少，早高峰等四十分钟都等不到一辆，上班经常迟到。"),
        ("末班车太早", "{bus}末班车晚上七点就没有了，{community}很多人下班根本赶不上。"),
        ("公交站点设置", "{road}的公交站台被撤了，最近的站要走二十分钟，老人很不方便。"),
        ("公交司机态度", "{bus}公交司机不等乘客坐稳就急刹急起，{wo}差点摔倒，说他还骂人。"),
    ),
    "transport.taxi": (
        ("出租车拒载", "{since}在{road}打车，出租车司机听说去{community}就拒载。"),
        ("出租车绕路", "{wo}坐出租车从火车站到{xq}，司机故意绕路，多收了三十多块钱。"),
        ("网约车问题", "网约车司机到了以后要求加价，不加钱就不走，还态度很差。"),
        ("出租车不打表", "{road}一带的出租车不打表，张口就要五十元。"),
    ),
    "transport.signals": (
        ("红绿灯故障", "{road}与{road2}交叉口的红绿灯坏了，一直闪黄灯，高峰期车辆乱成一团。"),
        ("信号灯时间太短", "{road}路口的行人绿灯只有十几秒，老人根本走不过去。"),
        ("增设斑马线", "{xq}门口到对面{school}没有斑马线，孩子每天上学都得横穿马路。"),
        ("交通标线不清", "{road}的交通标线都磨没了，晚上根本看不清车道。"),
    ),
    "transport.parking": (
        ("违章停车", "{xq}门口的消防通道天天被私家车占着，真要着火了消防车都进不来。"),
        ("占道停车", "{road}两边停满了车，本来就窄的路只剩一条车道，早晚高峰堵得一动不动。"),
        ("车辆堵门", "有辆车{since}开始一直堵在{xq}{bld}单元门口，电话也打不通。"),
        ("僵尸车", "{xq}里有一辆车停了{dur}没动过，轮胎都瘪了，占着车位。"),
        ("人行道停车", "{road}的人行道上停满了汽车，行人只能走到马路上。"),
    ),
    "transport.bikes": (
        ("共享单车乱停放", "{road}地铁口的共享单车堆成了山，把人行道全部堵死了。"),
        ("共享单车堆放", "{xq}门口堆了几十辆坏掉的共享单车，{dur}都没人来拉走。"),
        ("电动车停放", "{road}的共享电动车乱停在盲道上，视障人士没法走。"),
    ),
    "labour.wages": (
        (
            "拖欠工资",
            "{wo}在{company}干了{months}，老板一直拖欠工资，一共{amount}，现在电话也不接了。",
        ),
        (
            "农民工讨薪",
            "{wo}和{n}个工友在{road}的工地干活，包工头跑了，{women}的工资{amount}一分都没拿到。",
        ),
        ("离职不结工资", "{wo}从{company}离职{dur}了，公司一直不给结最后一个月的工资。"),
        ("工资克扣", "{company}无故扣{wo}的工资，说是罚款，也没有任何书面通知。"),
    ),
    "labour.social_insurance": (
        ("单位未缴社保", "{wo}在{company}上班{months}，公司一直没给交社保，问了说试用期不交。"),
        ("社保转移", "{wo}从外地来这边工作，养老保险关系转移办了{dur}了还没办好。"),
        ("社保断缴", "{company}{before}开始停缴了员工的社保，也没有通知{women}。"),
        ("灵活就业参保", "想咨询灵活就业人员怎么交养老保险，在网上办一直提示信息有误。"),
    ),
    "labour.contracts": (
        ("劳动合同纠纷", "{company}不和{wo}签劳动合同，现在要辞退{wo}，也不给经济补偿。"),
        ("加班费", "{company}每天要求加班三四个小时，从来不给加班费，周末也不让休息。"),
        ("违法辞退", "{wo}怀孕以后被{company}以调岗为由逼着辞职。"),
        ("押金不退", "{wo}进厂时交了押金，现在离职了{company}不退。"),
    ),
    "labour.jobs": (
        ("就业补贴", "{wo}是应届毕业生，申请的就业补贴{dur}了还没有消息。"),
        ("职业培训", "想参加政府组织的免费技能培训，不知道在哪里报名。"),
        ("招聘信息", "{community}有没有就业服务站？{wo}想找一份离家近的工作。"),
    ),
    "labour.medical_insurance": (
        ("医保报销", "{wo}在外地住院花了{amount}，回来报销说材料不全，跑了好几趟都没办好。"),
        ("异地就医", "{wojia}老人在外地跟子女住，办理异地就医备案一直不成功。"),
        ("门诊慢病", "{wojia}老人有高血压糖尿病，门诊慢特病待遇申请了{dur}还没批下来。"),
    ),
    "education.enrolment": (
        ("入学划片", "{xq}明明离{school}只有几百米，今年却被划到了三公里外的学校。"),
        ("学位不足", "{community}新建小区这么多，附近只有一所小学，学位根本不够。"),
        ("随迁子女入学", "{wo}是外地来的，孩子要上小学，需要的材料太多了，居住证也还没办下来。"),
        ("入学材料", "孩子今年上一年级，网上报名一直审核不通过，也不说原因。"),
    ),
    "education.tutoring": (
        ("培训机构退费", "{road}上的一家培训机构突然关门了，{wo}刚交的{amount}学费退不回来。"),
        ("违规补课", "{school}的老师在家里给学生有偿补课，不去的孩子就被冷落。"),
    ),
    "education.school_safety": (
        ("校门口交通", "{school}放学的时候门口车辆乱停，孩子过马路很危险，希望能安排交警疏导。"),
        ("校园周边小卖部", "{school}门口的小卖部卖三无辣条和玩具刀，孩子们都去买。"),
        ("上下学安全", "{school}门口没有减速带，车开得飞快。"),
    ),
    "education.venues": (
        ("健身器材损坏", "{xq}的健身器材坏了好几件，有的螺丝都松了，老人孩子玩很危险。"),
        ("场馆开放", "{community}的体育馆说是免费开放，可每次去都说在维修。"),
        ("图书馆", "{street}的图书室一直锁着门，从来没见开过。"),
    ),
    "education.fees": (
        ("学校乱收费", "{school}让每个学生交两百元的资料费，说是自愿，其实不交不行。"),
        ("校服费用", "{school}要求必须买指定的校服，一套要四百多，质量还很差。"),
    ),
    "health.hospitals": (
        ("医院服务态度", "{wo}{since}带孩子去{hosp}看急诊，排了三个小时，医生态度很差。"),
        ("挂号难", "{hosp}的专家号网上永远挂不上，门口却有人高价卖号。"),
        ("乱收费", "{wojia}老人在{hosp}住院，出院清单里有好几项根本没做过的检查。"),
        ("就医排队", "{hosp}做检查要排一个星期，{wojia}老人身体等不了。"),
    ),
    "health.vaccination": (
        ("疫苗预约", "{community}卫生服务中心的疫苗一直约不上，孩子的疫苗已经推迟{dur}了。"),
        ("接种点", "{community}附近没有接种点，带孩子打疫苗要坐一个小时车。"),
    ),
    "health.clinics": (
        (
            "社区医院缺药",
            "{community}卫生服务站经常缺药，{wojia}老人的降压药每次都要跑到大医院去开。",
        ),
        ("家庭医生", "签了家庭医生，一年了也没见上门随访过一次。"),
        ("卫生站服务时间", "{community}卫生站下午四点就关门了，上班族根本去不了。"),
    ),
    "health.pests": (
        ("老鼠多", "{xq}{bld}附近老鼠特别多，晚上在楼道里跑，还咬坏了{wojia}的电线。"),
        ("蚊虫多", "{xq}旁边的绿化带积水，蚊子特别多，希望能来消杀一下。"),
        ("蟑螂", "{xq}楼下的饭店蟑螂成灾，都爬到楼上住户家里了。"),
    ),
    "health.maternity": (
        ("出生证明", "孩子在{hosp}出生，出生医学证明填错了名字，去改了好几次都没改好。"),
        ("母婴室", "{road}附近的商场和公园都没有母婴室，带孩子出门很不方便。"),
    ),
    "commerce.prepaid": (
        ("健身房跑路", "{road}上的健身房突然关门了，{wo}办的年卡还剩{months}，老板联系不上。"),
        ("预付卡退款", "{road}上的理发店办了一张{amount}的卡，现在店换了老板，不认之前的卡。"),
        ("洗车卡", "{xq}附近的洗车店关门，老板卷款跑了，好多人都办了卡。"),
    ),
    "commerce.markets": (
        ("农贸市场卫生", "{community}农贸市场地面脏乱，污水横流，夏天苍蝇很多。"),
        ("缺斤短两", "在{community}菜市场买的肉，回家一称少了二两，秤有问题。"),
        ("市场外溢", "{road}菜市场的摊位摆到了马路上，早上根本过不去车。"),
    ),
    "commerce.tourism": (
        ("景区服务", "国庆假期去{district}的景区，门票涨价没有公示，排队两个小时。"),
        ("强制购物", "跟团游被导游带到购物店，不买就不让走。"),
        ("景区停车", "{road}附近的景区停车场收费太高，每小时二十元。"),
    ),
    "market.food_safety": (
        ("食品过期", "在{road}的超市买到了过期的牛奶，孩子喝了以后拉肚子。"),
        ("外卖卫生", "{road}一家外卖店的后厨很脏，{wo}亲眼看到老鼠。"),
        ("食物变质", "在{shop}吃饭后{n}个人都拉肚子，怀疑食材不新鲜。"),
        ("无证食品作坊", "{community}有个小作坊在民房里做熟食，卫生条件很差，没有任何证照。"),
    ),
    "market.prices": (
        ("价格欺诈", "{road}的超市标价和结账价格不一样，多收了钱。"),
        ("乱收费", "{xq}的充电桩收的服务费比公示的高一倍。"),
        ("停车收费", "{road}的停车场没有明码标价，出来的时候要收五十元。"),
    ),
    "market.unlicensed": (
        ("无证经营", "{road}{num}有家小诊所没有任何资质，还在给人打点滴。"),
        ("黑加油点", "{community}有人在路边用塑料桶卖散装汽油，非常危险。"),
        ("无照经营", "{xq}{bld}有人把住宅改成了家庭旅馆，每天人员进出很杂。"),
    ),
    "market.products": (
        ("产品质量问题", "{wo}在{road}的家电城买的热水器用了{dur}就坏了，商家不给退换。"),
        ("假冒商品", "在{road}的商店买到了假冒的名牌鞋，商家不承认。"),
        ("售后问题", "{wo}{brand}电动车电池鼓包了，售后一直推脱。"),
    ),
    "market.lifts": (
        ("电梯困人", "{xq}{bld}的电梯{since}又困人了，这个月已经是第{nth}次了，{women}都不敢坐。"),
        ("电梯故障", "{xq}{bld}的电梯坏了{dur}，{wojia}住{floor}楼，老人只能爬楼梯。"),
        ("电梯年检", "{xq}的电梯年检合格证已经过期了，物业说在办。"),
        ("电梯异响", "{xq}{bld}的电梯运行时有很大的异响，还会突然下坠一下。"),
    ),
    "public_safety.order": (
        ("治安隐患", "{xq}附近最近经常有可疑人员半夜在车旁边转悠，好几辆车被划了。"),
        ("电动车被盗", "{wo}的电动车停在{xq}{bld}楼下被偷了，这个月{xq}已经丢了好几辆。"),
        ("深夜聚集", "{road}的烧烤摊{night}经常有人喝醉了打架。"),
        ("监控损坏", "{xq}的监控坏了一大半，出了事都查不到。"),
    ),
    "public_safety.fire": (
        (
            "楼道充电",
            "{xq}{bld}有住户从楼上拉电线到楼道里给电动车充电，楼道里停了好几辆，太危险了。",
        ),
        ("消防通道堵塞", "{xq}{bld}的消防通道被杂物堆满了，物业也不管。"),
        ("消防设施损坏", "{xq}楼道里的灭火器都过期了，消防栓里也没有水带。"),
        ("飞线充电", "{road}{num}的门面房住了人，后面私拉电线，万一着火后果不堪设想。"),
    ),
    "public_safety.residence": (
        ("居住证办理", "{wo}在本市工作{months}了，办居住证说要房东带着房产证一起去，房东不愿意。"),
        ("户口迁移", "{wo}想把户口迁到{community}，跑了派出所三趟，每次都说缺材料。"),
        ("身份证补办", "身份证丢了，想问一下补办能不能在网上办，需要多长时间。"),
    ),
    "public_safety.fraud": (
        (
            "保健品推销",
            "{community}附近有人开讲座免费送鸡蛋，骗老人买几千块的保健品，{wojia}老人也买了。",
        ),
        ("电话诈骗", "{wojia}老人接到冒充公检法的电话，差点把存款转出去。"),
        ("投资骗局", "{road}有家公司搞养老投资，承诺高回报，现在人去楼空了。"),
    ),
    "civil_affairs.elderly_care": (
        (
            "居家养老服务",
            "{wo}今年{age}岁了，一个人住，子女在外地，想申请居家养老上门服务，不知道怎么办。",
        ),
        ("老年食堂", "{community}的老年助餐点关了，附近的老人吃饭成了问题。"),
        ("高龄补贴", "{wojia}老人已经满八十岁了，高龄补贴到现在还没发。"),
        (
            "养老院收费",
            "{community}附近的养老院床位太贵，普通家庭根本住不起，公办养老院又排不上队。",
        ),
    ),
    "civil_affairs.assistance": (
        (
            "低保申请",
            "{wojia}老伴生病花光了积蓄，申请低保被退回来了，说收入超标，其实家里根本没收入。",
        ),
        ("临时救助", "{wojia}突发变故，孩子上学的钱都拿不出来，想申请临时救助。"),
        ("低保停发", "{wojia}的低保{before}突然停发了，也没有人通知原因。"),
    ),
    "civil_affairs.disability": (
        ("残疾人补贴", "{wojia}孩子是残疾人，两项补贴申请了{long}还没批下来。"),
        ("无障碍设施", "{road}的盲道被各种东西占了，无障碍坡道也被堵上了。"),
    ),
    "civil_affairs.marriage": (
        ("婚姻登记预约", "想预约下个月的结婚登记，婚姻登记处的网上预约一直约不上。"),
        ("婚姻登记材料", "{wo}是外地户口，在本市办理结婚登记需要哪些材料？"),
    ),
    "civil_affairs.funeral": (
        ("殡葬收费", "{wojia}老人去世，殡仪馆的收费项目太多，很多都是强制消费。"),
        ("公墓价格", "{district}的公墓价格太高了，普通家庭根本承受不起。"),
    ),
}

# Foreign residents write in English, or mix English and Chinese.
ENGLISH: dict[str, tuple[T, ...]] = {
    "construction.water_supply": (
        (
            "No water",
            "I live in {xq}, building {b_en}. There has been no water since "
            "yesterday and nobody told us why. Could you please check?",
        ),
    ),
    "construction.heating": (
        (
            "Heating not working",
            "The heating in my apartment in {xq} is barely warm. It is "
            "only about 15 degrees inside. My landlord says to call 12345.",
        ),
    ),
    "construction.property": (
        (
            "Property management",
            "The 物业 (property management) of {xq} ignores all our "
            "requests. The gate has been broken for weeks. Please help.",
        ),
    ),
    "environment.construction_noise": (
        (
            "Construction noise at night",
            "There is a construction site next to {xq} and they "
            "work until 2 am every night. I cannot sleep. Is this "
            "allowed?",
        ),
    ),
    "environment.living_noise": (
        (
            "Noise from a bar",
            "A bar on {road} plays loud music every night until after "
            "midnight. I have small children. Please do something.",
        ),
        (
            "Noisy neighbours",
            "My upstairs neighbour in {xq} makes a lot of noise late at night. "
            "I tried to talk to them but my Chinese is not good.",
        ),
    ),
    "city.waste": (
        (
            "Garbage not collected",
            "The garbage bins near {xq} have not been emptied for days. "
            "It smells really bad in this heat.",
        ),
    ),
    "transport.taxi": (
        (
            "Taxi refused me",
            "A taxi driver near {road} refused to take me because I am a "
            "foreigner and did not use the meter when I insisted.",
        ),
    ),
    "transport.parking": (
        (
            "Car blocking the exit",
            "A car has been parked in front of the garage exit of {xq} "
            "for two days. I cannot get my car out.",
        ),
    ),
    "transport.bikes": (
        (
            "Shared bikes blocking the sidewalk",
            "Hundreds of shared bikes block the sidewalk "
            "on {road}. It is impossible to walk with a "
            "stroller.",
        ),
    ),
    "public_safety.residence": (
        (
            "Residence registration",
            "I just moved to {xq}. How do I register my residence as a "
            "foreigner? The police station asked for documents I do not "
            "understand.",
        ),
    ),
    "health.hospitals": (
        (
            "Hospital appointment",
            "I tried to book a doctor at {hosp} but the app only works with "
            "a Chinese ID number. How can foreigners book?",
        ),
    ),
    "education.enrolment": (
        (
            "School for my child",
            "We are a foreign family living in {xq}. Which public school can "
            "our son attend and what documents do we need?",
        ),
    ),
    "market.food_safety": (
        (
            "Food poisoning",
            "I ate at a restaurant on {road} yesterday and got very sick. I think "
            "the food was not fresh.",
        ),
    ),
    "commerce.prepaid": (
        (
            "Gym closed with my membership",
            "The gym on {road} closed suddenly. I paid for one year and cannot reach the owner.",
        ),
    ),
    "construction.streetlight": (
        (
            "Street lights off",
            "The street lights on {road} have been off for a week. It is "
            "dangerous to walk home at night.",
        ),
    ),
    "market.lifts": (
        (
            "Lift broken",
            "The lift in building {b_en} of {xq} is broken again. I live on the 18th "
            "floor. Please send someone.",
        ),
    ),
}
ENGLISH_OPENERS = ("", "Hello. ", "Hi there. ", "Dear 12345 hotline: ", "Good evening. ")
MIXED_OPENERS = (
    "你好，我是外国人，中文不太好，用英文写：",
    "您好！Sorry my Chinese is poor. ",
    "你好 hello，",
    "麻烦你们 please help：",
)
ENGLISH_CLOSERS = (
    "Thank you.",
    "Thanks a lot!",
    "谢谢！",
    "Please reply in English if possible.",
    "Thank you for your help.",
    "",
)

# --- tone ----------------------------------------------------------------------------------

POLITE = "polite"
PLAIN = "plain"
ANGRY = "angry"
ELDERLY = "elderly"
TONES = (POLITE, PLAIN, ANGRY, ELDERLY)

OPENERS_1P: dict[str, tuple[str, ...]] = {
    POLITE: (
        "您好，",
        "你好，",
        "领导您好，",
        "尊敬的12345热线：",
        "您好，想反映个问题：",
        "麻烦问一下，",
        "工作人员你好，",
    ),
    PLAIN: ("", "", "", "反映问题：", "情况是这样的，"),
    ANGRY: ("", "投诉！", "实在忍无可忍了！", "强烈投诉：", "必须投诉一下！"),
    ELDERLY: ("同志你好，", "你好啊，", "麻烦你们了，"),
}
REQUESTS_1P: dict[str, tuple[str, ...]] = {
    POLITE: (
        "希望相关部门能尽快处理，谢谢！",
        "麻烦尽快安排人来看一下，谢谢。",
        "恳请有关部门帮忙解决，万分感谢。",
        "望早日解决，辛苦了。",
        "盼复，谢谢！",
    ),
    PLAIN: ("请尽快处理。", "望相关部门核实处理。", "希望能给个答复。", "请相关部门处理。"),
    ANGRY: (
        "到底有没有人管？！",
        "再不解决就向媒体曝光！",
        "请给个说法！",
        "天天这样，谁受得了？",
        "希望这次不要再敷衍了事！",
    ),
    ELDERLY: (
        "麻烦你们帮帮忙，谢谢你们了。",
        "我们老年人实在没办法，希望政府给解决一下。",
        "麻烦派人来看看吧。",
    ),
}
ELDERLY_1P = (
    "我今年{age}岁了，腿脚不方便，",
    "家里就我们老两口，",
    "我年纪大了不会用手机，是孙子帮我写的，",
    "我是退休老职工，",
)
ANGRY_1P = ("", "这事拖了这么久，", "真是气死人了，")
REPEAT_1P = (
    "这个问题{before}已经反映过一次了，当时说会处理，到现在一点变化都没有。",
    "这是第{nth}次反映了，每次都说在处理。",
    "{before}打过12345，工单回复已处理，但实际根本没解决。",
)

LEADS_3P: dict[str, tuple[str, ...]] = {
    "phone": (
        "来电人反映：",
        "市民来电反映，",
        "来电人称，",
        "市民来电：",
        "来电人（{caller}）反映：",
    ),
    "counter": ("市民到服务窗口反映：", "群众来访反映，"),
    "assisted": (
        "网格员协助居民登记：",
        "社区工作人员代居民反映：",
        "网格员巡查发现并代居民上报：",
    ),
}
# The resident, as the operator or the grid worker writes of them.
WHO = {"phone": "来电人", "counter": "该市民", "assisted": "该居民"}
ELDERLY_3P = ("{who}系{age}岁老人，", "{who}为独居老人，", "{who}年事已高，行动不便，")
ANGRY_3P = ("{who}情绪激动，称", "{who}语气激动，表示")
REPEAT_3P = (
    "{who}表示此前已多次反映，问题一直未解决。",
    "{who}称{before}已反映过，至今未处理。",
    "{who}表示这是第{nth}次反映。",
)
REQUESTS_3P: dict[str, tuple[str, ...]] = {
    POLITE: (
        "{who}希望相关部门尽快处理。",
        "诉求：请相关部门核实处理。",
        "望尽快处理，并回复{who}。",
    ),
    PLAIN: ("请相关部门处理。", "诉求：尽快解决。", "{who}要求核实处理。"),
    ANGRY: (
        "{who}要求尽快解决，并给出明确答复。",
        "{who}对此非常不满，要求严肃处理。",
        "{who}表示若再不处理将向上级反映。",
    ),
    ELDERLY: ("{who}希望有关部门上门查看。", "请相关部门尽快帮助老人解决。"),
}
CONTACT_LINES = (
    "有问题可以打我电话{phone}。",
    "联系电话：{phone}。",
    "我姓{surname}，电话{phone}。",
)

# Title frames, each with the slots it needs besides {short}; a frame is used only when the
# text already named that place, so that title and text agree.
TITLE_FRAMES: tuple[tuple[str, str], ...] = (
    ("{short}", ""),
    ("{short}问题", ""),
    ("关于{short}的诉求", ""),
    ("反映{community}{short}", ""),
    ("{community}{short}", ""),
    ("{xq}{short}", "xq"),
    ("关于{xq}{short}的问题", "xq"),
    ("{xq}{short}", "xq"),
    ("{road}{short}", "road"),
    ("{road}{short}问题", "road"),
)


@dataclass(frozen=True)
class Written:
    title: str
    text: str
    template: str  # which body template, for tests of variety
    language: str  # "zh", "en" or "mixed"
    address: str


def _address(slots: Slots, place: Place) -> str:
    """The address the text speaks of (``get`` does not draw a slot that was not used)."""
    if "xq" in slots:
        return f"{place.district}{place.street}{slots['xq']}{slots.get('bld', '')}"
    if "road" in slots:
        return f"{place.district}{slots['road']}{slots.get('num', '')}"
    return f"{place.district}{place.street}{place.community}"


def case_text(
    rng: random.Random,
    sub: str,
    place: Place,
    *,
    channel: str,
    tone: str,
    repeat: bool,
    foreign: bool,
    caller: str,
    phone: str,
) -> Written:
    """The title and text of one request, as the resident wrote it or the operator took it."""
    if foreign and sub in ENGLISH:
        return _foreign_text(rng, sub, place)
    third_person = channel in WHO
    slots = Slots(rng, place, who=WHO.get(channel, ""))
    slots["caller"] = caller or "匿名"
    slots["phone"] = phone
    slots["surname"] = caller[:1] if caller else "王"
    index = rng.randrange(len(BODIES[sub]))
    short, body_t = BODIES[sub][index]
    body = fill(body_t, slots)
    parts: list[str] = []
    if third_person:
        lead = rng.choice(LEADS_3P[channel])
        if "{caller}" in lead and not caller:
            lead = "来电人反映："
        parts.append(fill(lead, slots))
        if tone == ELDERLY and "age" not in slots:  # unless the text already gives the age
            parts.append(fill(rng.choice(ELDERLY_3P), slots))
        elif tone == ANGRY:
            parts.append(fill(rng.choice(ANGRY_3P), slots))
        parts.append(body)
        if repeat:
            parts.append(fill(rng.choice(REPEAT_3P), slots))
        parts.append(fill(rng.choice(REQUESTS_3P[tone]), slots))
    else:
        parts.append(rng.choice(OPENERS_1P[tone]))
        if tone == ELDERLY and "age" not in slots:
            parts.append(fill(rng.choice(ELDERLY_1P), slots))
        elif tone == ANGRY:
            parts.append(rng.choice(ANGRY_1P))
        parts.append(body)
        if repeat:
            parts.append(fill(rng.choice(REPEAT_1P), slots))
        parts.append(rng.choice(REQUESTS_1P[tone]))
        # Some residents put their phone number in the text itself; redaction must find it.
        if phone and rng.random() < 0.06:
            parts.append(fill(rng.choice(CONTACT_LINES), slots))
    text = "".join(parts)
    frame = rng.choice([f for f, needs in TITLE_FRAMES if not needs or needs in slots])
    slots["short"] = short
    title = fill(frame, slots)
    if repeat and rng.random() < 0.5:
        title = rng.choice(("再次反映：", "多次反映：", "重复投诉：")) + title.removeprefix("反映")
    elif tone == ANGRY and rng.random() < 0.3:
        title += "！"
    return Written(title[:200], text, f"{sub}#{index}", "zh", _address(slots, place))


def _foreign_text(rng: random.Random, sub: str, place: Place) -> Written:
    slots = Slots(rng, place)
    slots["b_en"] = str(rng.randint(1, 28))
    index = rng.randrange(len(ENGLISH[sub]))
    title, body_t = ENGLISH[sub][index]
    body = fill(body_t, slots)
    if rng.random() < 0.4:
        opener, language = rng.choice(MIXED_OPENERS), "mixed"
    else:
        opener, language = rng.choice(ENGLISH_OPENERS), "en"
    closer = rng.choice(ENGLISH_CLOSERS)
    text = f"{opener}{body} {closer}".strip()
    return Written(title, text, f"{sub}#en{index}", language, _address(slots, place))


# --- what units, operators and the system write --------------------------------------------

RESOLUTIONS: dict[str, tuple[str, ...]] = {
    "construction.water_supply": (
        "经现场核实，系{road}供水管网检修所致，现已恢复正常供水。",
        "已安排供水公司对小区二次供水设备进行检修，更换了加压泵，水压已恢复正常。",
        "经水质检测，各项指标符合国家标准，发黄系管道冲洗所致，已对小区管道进行冲洗。",
    ),
    "construction.drainage": (
        "已安排疏通队伍对堵塞管道进行疏通，污水已排除。",
        "该路段排水管网管径偏小，已纳入明年雨污分流改造计划，汛期前先增设临时抽排设备。",
    ),
    "construction.power": (
        "经供电公司排查，系线路老化导致跳闸，已更换故障设备，供电恢复正常。",
        "已对该台区变压器进行增容，电压不稳问题已解决。",
    ),
    "construction.gas": (
        "燃气抢修人员接报后二十分钟内到达现场，已关闭阀门并修复泄漏点，经检测无泄漏。",
        "已上门检查，燃气表故障已更换，恢复供气。",
    ),
    "construction.heating": (
        "热力公司已上门检测，对户内管道排气并清洗过滤网，复测室温达到十八度以上。",
        "经查系小区换热站循环泵故障，已维修，供暖恢复正常。",
        "该楼栋供热管网老化，已列入管网改造计划，近期先调整供热参数提高供水温度。",
    ),
    "construction.property": (
        "已约谈物业服务企业，责令其{days}日内整改保洁和门禁问题，街道将跟踪督办。",
        "物业收费调整须经业主大会表决，已责令物业暂停执行新收费标准。",
    ),
    "construction.old_housing": (
        "已安排维修人员对楼顶防水层进行修补，后续将纳入老旧小区改造统一维修。",
        "该小区已纳入明年老旧小区改造计划，近期先对脱落部位进行排险处理。",
        "已向诉求人解释加装电梯的申请条件和补贴政策，并告知社区可协助征求业主意见。",
    ),
    "construction.illegal_building": (
        "经查，该建筑未取得规划许可，已下达限期拆除通知书，逾期将依法强制拆除。",
        "执法队员已到现场核查，当事人已自行拆除违建部分。",
    ),
    "construction.road": (
        "已组织人员补装井盖并设置警示标志，路面坑洼已修补。",
        "塌陷路段已设置围挡，市政部门正在抢修，预计{days}日内恢复通行。",
    ),
    "construction.streetlight": (
        "经查系线路故障，已维修，路灯恢复正常照明。",
        "已调整路灯控制器时间，白天亮灯问题已解决。",
    ),
    "construction.expropriation": (
        "经核实，补偿标准按征收补偿方案执行，已向诉求人解释政策，并告知可申请复核评估。",
        "已督促征收实施单位尽快发放拖欠的过渡费，安置房项目正在推进。",
    ),
    "construction.new_homes": (
        "已约谈开发企业，要求其在{days}日内向业主作出书面答复并公布交房时间表。",
        "不动产证办理涉及开发企业补缴税费，已督促其尽快补齐材料。",
    ),
    "environment.construction_noise": (
        "执法人员于{when}夜间到现场检查，责令施工单位停止夜间施工，并依法立案处罚。",
        "经核实，该工地持有夜间施工许可，已要求其采取降噪措施并在工地外公示。",
    ),
    "environment.living_noise": (
        "已协调社区对广场舞团队进行劝导，约定晚八点半后降低音量。",
        "经现场监测，噪声超标，已要求经营者调低音量、限时经营，社区将加强巡查。",
    ),
    "environment.air": (
        "已组织人员扑灭焚烧点，并对焚烧者进行了批评教育。",
        "已责令工地落实围挡、洒水等扬尘防治措施，并将持续巡查。",
    ),
    "environment.cooking_fumes": (
        "已督促商户安装油烟净化设施并调整排烟口方向，后续将进行复查。",
        "已责令烧烤店停止店外露天烧烤。",
    ),
    "environment.water_pollution": (
        "已对河道水质取样检测，并排查上游排污口，发现的违法排污行为已立案查处。",
        "该河道已纳入黑臭水体整治计划，近期先组织清淤保洁。",
    ),
    "environment.industrial": (
        "已对涉事企业开展检查，采样送检，待结果出来后依法处理。",
        "经查，企业废气处理设施未正常运行，已责令停产整改并立案处罚。",
    ),
    "city.waste": (
        "已安排环卫人员及时清运，并增加该点位的清运频次。",
        "已约谈清运企业，要求严格按照分类收运，后续将加强监督。",
    ),
    "city.street_vending": (
        "执法队员已到现场劝离流动摊贩，并将该路段列入重点巡查路段。",
        "已规范店外经营行为，责令商户将货物移回店内。",
    ),
    "city.posters": ("已组织人员对小广告进行清理，并对楼道进行粉刷。",),
    "city.greenery": (
        "已安排园林队对倒伏树木进行清理，道路已恢复通行。",
        "已对影响采光的树木进行修剪。",
    ),
    "city.stray_animals": (
        "已联系专业机构对流浪犬进行收容。",
        "社区已对违规遛犬行为进行劝导，并张贴文明养犬提示。",
    ),
    "transport.bus": (
        "已将市民建议转交公交集团研究，将结合客流调查评估后予以答复。",
        "公交集团已在早晚高峰加密该线路班次。",
    ),
    "transport.taxi": (
        "已调取车辆运行记录，对涉事司机依规作出处罚，并责令退还多收费用。",
        "已对网约车平台进行约谈，要求其规范司机服务行为。",
    ),
    "transport.signals": (
        "信号灯故障已修复，现运行正常。",
        "已调整该路口行人绿灯时长。",
    ),
    "transport.parking": (
        "交警已到现场处置，对违停车辆进行了贴单，并联系车主挪车。",
        "已将该路段纳入违停重点治理路段，加强巡查。",
    ),
    "transport.bikes": ("已联系共享单车企业清理车辆并规范停放。",),
    "labour.wages": (
        "劳动监察大队已约谈企业负责人，企业承诺于{days}日内支付拖欠工资。",
        "经调解，包工头已将拖欠工资全部支付给工人。",
    ),
    "labour.social_insurance": (
        "经调查，企业存在未依法缴纳社会保险的情况，已责令其限期补缴。",
        "已为诉求人办理社保关系转移手续。",
    ),
    "labour.contracts": (
        "已向诉求人解释相关法律规定，并指导其通过劳动仲裁途径维护权益。",
        "经调解，企业同意与诉求人签订劳动合同并支付加班费。",
    ),
    "labour.jobs": (
        "已告知诉求人就近的就业服务站地址及培训报名方式。",
        "就业补贴已审核通过，将于本月内发放。",
    ),
    "labour.medical_insurance": (
        "已指导诉求人补充报销材料，报销款将于审核后到账。",
        "已为诉求人办理异地就医备案。",
    ),
    "education.enrolment": (
        "经核实，学区划分依据今年的招生方案执行，已向家长详细解释政策。",
        "已告知随迁子女入学所需材料和办理流程，可先凭居住证回执报名。",
    ),
    "education.tutoring": (
        "已督促培训机构制定退费方案，后续将跟踪落实。",
        "已责成学校调查，对违规有偿补课的教师作出处理。",
    ),
    "education.school_safety": (
        "已联系交警在放学时段加派人员疏导交通。",
        "已对校园周边商店开展检查，下架三无食品和管制刀具类玩具。",
    ),
    "education.venues": (
        "已安排对损坏器材进行维修，并对其他器材开展安全检查。",
        "已督促场馆按公示时间免费开放。",
    ),
    "education.fees": ("已责成学校立即整改，取消不合规收费项目并退还已收费用。",),
    "health.hospitals": (
        "已将诉求人反映的情况转医院核实，医院已对相关人员进行批评教育，并向诉求人致歉。",
        "经核实，该收费项目符合规定，已向诉求人作出解释。",
    ),
    "health.vaccination": ("已协调接种点增加预约号源。",),
    "health.clinics": (
        "已督促卫生服务站增加常用药品配备，并延长服务时间。",
        "已安排家庭医生团队上门随访。",
    ),
    "health.pests": ("已安排消杀人员对该区域进行了病媒生物消杀。",),
    "health.maternity": ("已协调医院为诉求人更正出生医学证明。",),
    "commerce.prepaid": (
        "已约谈经营者，要求其妥善处理消费者退费问题，涉嫌违法部分已移交公安机关。",
        "经调解，新经营者同意继续承认原预付卡。",
    ),
    "commerce.markets": (
        "已对市场开展专项检查，责令整改环境卫生问题。",
        "已对涉事摊位的计量器具进行检定，并依法处理。",
    ),
    "commerce.tourism": ("已联系景区管理方核实，对相关问题进行整改。",),
    "market.food_safety": (
        "执法人员已到现场检查，对涉事商户立案调查，相关食品已下架封存。",
        "已责令该店停业整顿，完成整改后方可恢复营业。",
    ),
    "market.prices": ("经核实，商家存在价格违法行为，已责令退还多收价款并立案调查。",),
    "market.unlicensed": ("经检查，该经营者确未取得相关证照，已责令停止经营。",),
    "market.products": ("已组织调解，商家同意为消费者办理退换货。",),
    "market.lifts": (
        "已对涉事电梯进行检查，责令维保单位立即维修，现已恢复运行。",
        "已督促物业和维保单位完成电梯年检。",
    ),
    "public_safety.order": (
        "辖区派出所已加强该区域巡逻，并协调物业修复监控设施。",
        "派出所已受理报案并开展调查。",
    ),
    "public_safety.fire": (
        "已组织社区和物业清理楼道电动车及杂物，并开展消防安全宣传。",
        "已拆除私拉电线，并督促小区加装电动车集中充电设施。",
    ),
    "public_safety.residence": ("已向诉求人告知办理所需材料和流程，可通过网上平台预约办理。",),
    "public_safety.fraud": ("已向辖区老人开展防诈骗宣传，涉嫌违法线索已移交刑侦部门。",),
    "civil_affairs.elderly_care": (
        "社区已上门走访，为老人申请居家养老服务，目前已开始提供服务。",
        "经核实，高龄补贴已于本月补发到位。",
    ),
    "civil_affairs.assistance": (
        "已指导诉求人重新提交低保申请材料，将在入户调查后按规定办理。",
        "已为诉求人办理临时救助。",
    ),
    "civil_affairs.disability": ("残疾人两项补贴已审核通过，将按月发放。",),
    "civil_affairs.marriage": ("已向诉求人告知婚姻登记所需材料和预约方式。",),
    "civil_affairs.funeral": ("已向诉求人解释殡葬收费标准，并告知惠民殡葬政策。",),
}
GENERIC_RESOLUTIONS = (
    "已与诉求人电话沟通，解释了相关情况。",
    "经核实处理，问题已解决。",
    "已安排专人跟进处理，后续将持续关注。",
)
RESOLUTION_TAILS = ("", "", "已电话回复诉求人。", "已将处理结果告知诉求人。", "后续将持续跟踪。")

SEND_BACK_REASONS = (
    "经核实，该事项不属于本单位职责范围，建议转{right}办理。",
    "该问题应由{right}负责处理，申请退回重新派单。",
    "诉求地点不在本单位管辖范围内，请重新派发。",
    "根据职责分工，此类问题由{right}承办，退回请重新派单。",
)
EXTENSION_REASONS = (
    "需协调多个部门共同处理，申请延期。",
    "涉及管网改造，施工周期较长，申请延期。",
    "需等待当事人补充材料，申请延期。",
    "已联系施工单位，需采购配件，申请延期。",
    "涉及历史遗留问题，需进一步调查核实，申请延期。",
    "已进入调解程序，需双方当事人到场，申请延期。",
)
GRANT_NOTES = ("同意延期。", "", "同意，请在延期内办结并及时回复市民。")
REFUSE_NOTES = ("延期理由不充分，请按期办结。", "该事项群众反映强烈，请抓紧办理，不予延期。")
REJECT_REASONS = (
    "该事项已进入司法程序，不属于热线受理范围。",
    "诉求内容属于民事纠纷，建议通过协商或诉讼途径解决。",
    "诉求地点不在本市辖区范围内。",
    "诉求内容不明确，多次回拨无法联系到来电人。",
    "该事项属于企业内部管理事务，不予受理。",
    "属于咨询类诉求，已当场答复，无需派单。",
)
MERGE_NOTES = (
    "与工单{code}反映同一问题，合并办理。",
    "重复诉求，并入{code}处理。",
    "同一事件多位市民反映，合并至{code}。",
)
DISPATCH_NOTES = (
    "",
    "",
    "",
    "请尽快核实处理。",
    "市民反映强烈，请优先处理。",
    "请及时联系来电人。",
)
REDISPATCH_NOTE = "市民对上次处理结果不满意，请重新办理。"
SYSTEM_CLOSE_NOTE = "回访期满，系统自动办结。"

COMMENTS: dict[str, tuple[str, ...]] = {
    "satisfied": (
        "处理很及时，谢谢！",
        "问题已经解决了，满意。",
        "工作人员态度很好。",
        "",
        "",
        "",
        "速度挺快的，点赞。",
        "感谢师傅们辛苦了。",
        "非常满意。",
    ),
    "basic": (
        "基本解决了，但是速度有点慢。",
        "还行吧，希望以后能更快一点。",
        "",
        "",
        "处理了，不过还有一点小问题。",
        "态度可以，效果一般。",
    ),
    "dissatisfied": (
        "根本没解决，只是打了个电话就办结了。",
        "说是处理了，实际情况一点没变。",
        "没有人到现场来看过。",
        "回复敷衍，不满意。",
        "过了几天问题又出现了。",
        "拖了这么久才处理，而且处理得不彻底。",
        "推来推去，没人真正负责。",
    ),
}
COMMENTS_EN: dict[str, tuple[str, ...]] = {
    "satisfied": ("Fixed quickly, thank you!", "Thanks, all good now.", ""),
    "basic": ("OK, but it took a long time.", ""),
    "dissatisfied": (
        "Nothing has changed.",
        "Nobody came to look at the problem.",
        "The reply did not answer my question.",
    ),
}
REOPEN_REASONS = (
    "问题仍未解决，申请重新办理。",
    "处理结果与实际情况不符。",
    "问题又出现了，请再处理一次。",
    "只是电话回复，没有实际解决问题。",
)


def _pick(rng: random.Random, options: Sequence[str], **values: str) -> str:
    return rng.choice(options).format(**values)


def resolution(rng: random.Random, sub: str, place: Place, *, days: int, when: str) -> str:
    # Mostly the unit's own words for the matter; sometimes a stock reply.
    options = RESOLUTIONS.get(sub, ()) * 4 + GENERIC_RESOLUTIONS
    road = rng.choice(place.roads)
    text = _pick(rng, options, road=road, days=cn_number(days), when=when)
    return text + rng.choice(RESOLUTION_TAILS)


def send_back_reason(rng: random.Random, right_unit: str) -> str:
    return _pick(rng, SEND_BACK_REASONS, right=right_unit)


def extension_reason(rng: random.Random) -> str:
    return rng.choice(EXTENSION_REASONS)


def grant_note(rng: random.Random) -> str:
    return rng.choice(GRANT_NOTES)


def refuse_note(rng: random.Random) -> str:
    return rng.choice(REFUSE_NOTES)


def reject_reason(rng: random.Random) -> str:
    return rng.choice(REJECT_REASONS)


def merge_note(rng: random.Random, code: str) -> str:
    return _pick(rng, MERGE_NOTES, code=code)


def dispatch_note(rng: random.Random, *, reopened: bool) -> str:
    return REDISPATCH_NOTE if reopened else rng.choice(DISPATCH_NOTES)


def comment(rng: random.Random, rating: str, *, english: bool) -> str:
    return rng.choice((COMMENTS_EN if english else COMMENTS)[rating])


def reopen_reason(rng: random.Random) -> str:
    return rng.choice(REOPEN_REASONS)


_CLAUSE = re.compile(r"[，。！？；：,.!?;:\s]+")


def clauses(text: str, min_length: int = 1) -> list[str]:
    """The clauses of a text, split at punctuation: what tests compare for copying."""
    return [c for c in _CLAUSE.split(text) if len(c) >= min_length]
