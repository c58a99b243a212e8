"""What the Demo City is made of, as plain data: district characters, handling units and the
two-level category catalogue of its 12345 hotline.

Nothing here imports Django. The numbers (volumes, seasons, how fast and how well each unit
works) are the demo's ground truth; :mod:`urbangov.demo.generator` draws the city from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --- district characters -------------------------------------------------------------------

OLD_TOWN = "old_town"  # 老城: dense, old housing, many elderly
RIVERSIDE = "riverside"  # 滨江: commerce, nightlife, tourism
NEW_TOWN = "new_town"  # 新区: new estates, young families, high income
INDUSTRIAL = "industrial"  # 开发区: factories, dormitories, migrant workers
UNIVERSITY = "university"  # 大学城: students, young staff, foreign residents
SUBURBAN = "suburban"  # 近郊: villages being urbanised, low income, elderly left behind

CHARACTERS = (OLD_TOWN, RIVERSIDE, NEW_TOWN, INDUSTRIAL, UNIVERSITY, SUBURBAN)


@dataclass(frozen=True)
class Character:
    """How a kind of district lives: the shape of its population and its services."""

    district_name: str
    streets: int
    communities_per_street: float
    grids_per_community: float
    density: float  # residents per km², before the city-wide scaling
    # shares of children (0–14), working age (15–59), elderly (60+)
    ages: tuple[float, float, float]
    migrant_share: float
    # probabilities of low, middle, high income
    income: tuple[float, float, float]
    foreign_share: float  # of cases written by foreign residents
    case_rate: float  # cases per resident, relative
    # how fast (1 = the norm, more is slower) and how well (logit offset) its street offices work
    office_speed: float
    office_satisfaction: float


CHARACTER: dict[str, Character] = {
    OLD_TOWN: Character(
        "古城区",
        8,
        6.0,
        8.0,
        17000,
        (0.10, 0.56, 0.34),
        0.10,
        (0.45, 0.45, 0.10),
        0.002,
        1.30,
        1.00,
        0.0,
    ),
    RIVERSIDE: Character(
        "滨江区",
        7,
        5.5,
        7.0,
        14000,
        (0.13, 0.66, 0.21),
        0.20,
        (0.15, 0.55, 0.30),
        0.015,
        1.10,
        0.90,
        0.2,
    ),
    NEW_TOWN: Character(
        "云岭新区",
        7,
        5.0,
        6.0,
        9000,
        (0.19, 0.70, 0.11),
        0.28,
        (0.05, 0.35, 0.60),
        0.030,
        1.00,
        0.80,
        0.4,
    ),
    INDUSTRIAL: Character(
        "东港经济开发区",
        6,
        4.5,
        6.0,
        8000,
        (0.11, 0.80, 0.09),
        0.55,
        (0.60, 0.35, 0.05),
        0.004,
        0.95,
        1.55,
        -0.5,
    ),
    UNIVERSITY: Character(
        "文华区",
        6,
        5.0,
        6.0,
        7500,
        (0.08, 0.81, 0.11),
        0.35,
        (0.25, 0.60, 0.15),
        0.040,
        0.90,
        1.00,
        0.1,
    ),
    SUBURBAN: Character(
        "北原区",
        6,
        4.0,
        5.0,
        3200,
        (0.14, 0.56, 0.30),
        0.15,
        (0.55, 0.40, 0.05),
        0.001,
        0.75,
        1.40,
        -0.4,
    ),
}

CITY_NAME = "示范市"
CITY_CODE = "DC"
CITY_POPULATION = 2_600_000
# A fictional city north of the Qinling–Huaihe line (so it has central heating).
CITY_CENTRE = (116.05, 34.55)  # lon, lat
CITY_HALF_SIZE = (0.17, 0.125)  # degrees of lon, lat: about 31 × 28 km

# --- handling units ------------------------------------------------------------------------

STREET = "STREET"  # the street office (街道办事处) of the street where the case lies
DISPATCH_CENTRE = "12345"
DATA_BUREAU = "DATA"


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    speed: float  # 1 = the norm; 1.5 takes half as long again
    satisfaction: float  # logit offset of residents' ratings


DEPARTMENTS: tuple[Department, ...] = (
    Department("WATER", "市水务局", 0.90, 0.2),
    Department("HOUSING", "市住房和城乡建设局", 1.50, -0.5),
    Department("URBAN", "市城市管理局", 1.00, 0.0),
    Department("ECO", "市生态环境局", 1.20, -0.3),
    Department("TRANSPORT", "市交通运输局", 1.05, 0.0),
    Department("HRSS", "市人力资源和社会保障局", 1.30, -0.2),
    Department("HEALTH", "市卫生健康委员会", 0.90, 0.2),
    Department("EDU", "市教育局", 1.10, -0.1),
    Department("CIVIL", "市民政局", 0.90, 0.3),
    Department("SAMR", "市市场监督管理局", 1.00, 0.0),
    Department("POLICE", "市公安局（非紧急警务）", 0.80, 0.1),
    Department("GAS", "市燃气集团有限公司", 0.60, 0.5),
    Department("HEAT", "市热力有限公司", 1.10, -0.2),
    Department("POWER", "国网示范市供电公司", 0.80, 0.3),
    Department("CULTURE", "市文化广电和旅游局", 1.00, 0.0),
    Department("COMMERCE", "市商务局", 1.10, -0.1),
)

# --- seasons (multipliers by month, January first) -----------------------------------------

FLAT = (1.0,) * 12
SUMMER = (0.6, 0.6, 0.7, 0.8, 1.0, 1.5, 2.0, 2.0, 1.3, 0.9, 0.7, 0.6)
RAINY = (0.5, 0.5, 0.6, 0.8, 1.0, 1.4, 2.4, 2.2, 1.1, 0.8, 0.6, 0.5)
WINTER = (1.6, 1.4, 1.1, 0.8, 0.7, 0.7, 0.7, 0.7, 0.8, 1.0, 1.3, 1.6)
# Heating runs from 15 November to 15 March; complaints peak when it starts and in cold snaps.
HEATING = (2.2, 1.5, 0.8, 0.08, 0.03, 0.02, 0.02, 0.02, 0.05, 0.4, 3.0, 2.8)
SPRING_FESTIVAL = (2.2, 1.6, 0.8, 0.7, 0.7, 0.7, 0.8, 0.8, 0.8, 0.9, 1.3, 2.0)
ENROLMENT = (0.4, 0.4, 0.6, 1.2, 1.8, 2.0, 2.2, 2.6, 1.5, 0.5, 0.4, 0.4)
TERM = (0.8, 0.5, 1.2, 1.2, 1.2, 1.0, 0.4, 0.5, 1.4, 1.2, 1.2, 1.0)
HOLIDAYS = (1.2, 1.3, 0.8, 1.0, 1.6, 0.9, 1.3, 1.4, 0.9, 1.8, 0.8, 0.9)
DRY_SPRING = (1.2, 1.3, 1.6, 1.5, 1.2, 1.0, 0.7, 0.7, 0.8, 1.1, 1.1, 1.2)
GRADUATES = (0.8, 0.9, 1.1, 1.0, 1.1, 1.6, 1.6, 1.2, 1.0, 0.9, 0.8, 0.8)
AUTUMN = (0.8, 0.8, 0.9, 1.0, 0.9, 0.8, 0.8, 0.9, 1.3, 1.4, 1.3, 1.0)
QINGMING = (1.2, 1.0, 1.3, 2.2, 0.9, 0.8, 0.8, 0.8, 0.8, 0.9, 1.0, 1.2)
WEDDINGS = (1.2, 1.6, 0.8, 0.8, 1.5, 0.9, 0.8, 1.0, 1.0, 1.6, 0.9, 0.9)


# --- the category catalogue ----------------------------------------------------------------


@dataclass(frozen=True)
class Sub:
    """A sub-category: what residents raise, who answers, how often and when."""

    code: str
    name: str
    name_en: str
    urgency: str  # emergency / utility / ordinary / complex
    unit: str  # a department code, or STREET
    weight: float  # share of all cases, relative
    season: tuple[float, ...] = FLAT
    affinity: dict[str, float] = field(default_factory=dict)  # character -> multiplier
    # the cell's population that drives it beyond its size: "elderly", "children", "migrant",
    # "low_income", "high_income"
    driver: str = ""
    # one incident (a burst main, a dark street) brings many calls: duplicates to merge
    clustered: bool = False
    # responsibility is often unclear: more cases sent back and dispatched again
    ambiguous: bool = False
    keywords: str = ""


@dataclass(frozen=True)
class Top:
    code: str
    name: str
    name_en: str
    subs: tuple[Sub, ...]


E, U, ORD, C = "emergency", "utility", "ordinary", "complex"

CATALOGUE: tuple[Top, ...] = (
    Top(
        "construction",
        "城乡建设",
        "Urban and rural construction",
        (
            Sub(
                "construction.water_supply",
                "供水问题",
                "Water supply",
                U,
                "WATER",
                4.0,
                SUMMER,
                {OLD_TOWN: 1.3, SUBURBAN: 1.3},
                clustered=True,
                keywords="停水 水压 水质 自来水",
            ),
            Sub(
                "construction.drainage",
                "排水与污水",
                "Drains and sewage",
                U,
                "WATER",
                3.0,
                RAINY,
                {OLD_TOWN: 1.5, SUBURBAN: 1.2},
                clustered=True,
                keywords="下水道 堵塞 积水 污水 外溢",
            ),
            Sub(
                "construction.power",
                "供电问题",
                "Power supply",
                U,
                "POWER",
                2.6,
                SUMMER,
                {SUBURBAN: 1.4, OLD_TOWN: 1.2},
                clustered=True,
                keywords="停电 跳闸 电压",
            ),
            Sub(
                "construction.gas",
                "燃气问题",
                "Gas",
                E,
                "GAS",
                1.2,
                WINTER,
                {OLD_TOWN: 1.4},
                keywords="燃气 煤气 泄漏 异味 燃气表",
            ),
            Sub(
                "construction.heating",
                "供暖问题",
                "Heating",
                U,
                "HEAT",
                3.5,
                HEATING,
                {SUBURBAN: 0.4, OLD_TOWN: 1.3, INDUSTRIAL: 0.7},
                driver="elderly",
                clustered=True,
                keywords="暖气 供暖 不热 室温 热力",
            ),
            Sub(
                "construction.property",
                "物业管理",
                "Property management",
                ORD,
                "HOUSING",
                6.0,
                FLAT,
                {NEW_TOWN: 1.5, RIVERSIDE: 1.2, OLD_TOWN: 0.8, SUBURBAN: 0.5},
                keywords="物业 物业费 门禁 保安 公共维修",
            ),
            Sub(
                "construction.old_housing",
                "老旧小区与房屋维修",
                "Old housing and repairs",
                ORD,
                "HOUSING",
                2.5,
                RAINY,
                {OLD_TOWN: 2.6, SUBURBAN: 1.1, NEW_TOWN: 0.2, UNIVERSITY: 0.7},
                driver="elderly",
                keywords="楼顶漏水 外墙 老旧小区 改造 维修基金",
            ),
            Sub(
                "construction.illegal_building",
                "违章建筑",
                "Illegal construction",
                C,
                "URBAN",
                2.5,
                DRY_SPRING,
                {SUBURBAN: 1.9, OLD_TOWN: 1.3, NEW_TOWN: 0.8},
                ambiguous=True,
                keywords="违建 私搭乱建 加盖 圈占",
            ),
            Sub(
                "construction.road",
                "道路与井盖",
                "Roads and manholes",
                U,
                "URBAN",
                2.4,
                RAINY,
                {SUBURBAN: 1.3, INDUSTRIAL: 1.4},
                clustered=True,
                keywords="路面 坑洼 井盖 塌陷",
            ),
            Sub(
                "construction.streetlight",
                "路灯照明",
                "Street lighting",
                ORD,
                "URBAN",
                1.5,
                WINTER,
                {SUBURBAN: 1.4, INDUSTRIAL: 1.3},
                clustered=True,
                keywords="路灯 不亮 照明",
            ),
            Sub(
                "construction.expropriation",
                "征收与安置",
                "Expropriation and resettlement",
                C,
                "HOUSING",
                1.0,
                FLAT,
                {SUBURBAN: 2.8, OLD_TOWN: 1.5, NEW_TOWN: 0.3},
                keywords="拆迁 征收 补偿 安置房 过渡费",
            ),
            Sub(
                "construction.new_homes",
                "商品房交付与办证",
                "New homes and titles",
                C,
                "HOUSING",
                1.8,
                FLAT,
                {NEW_TOWN: 2.6, RIVERSIDE: 1.3, OLD_TOWN: 0.3},
                keywords="交房 房产证 不动产证 开发商 延期交付",
            ),
        ),
    ),
    Top(
        "environment",
        "环境保护",
        "Environmental protection",
        (
            Sub(
                "environment.construction_noise",
                "建筑施工噪声",
                "Construction noise",
                ORD,
                "ECO",
                3.8,
                SUMMER,
                {NEW_TOWN: 2.0, UNIVERSITY: 1.2, OLD_TOWN: 0.7},
                ambiguous=True,
                keywords="施工 噪音 夜间施工 工地",
            ),
            Sub(
                "environment.living_noise",
                "社会生活噪声",
                "Neighbourhood noise",
                ORD,
                STREET,
                3.4,
                SUMMER,
                {RIVERSIDE: 1.6, OLD_TOWN: 1.3, UNIVERSITY: 1.2},
                ambiguous=True,
                keywords="噪音 广场舞 酒吧 音响 扰民",
            ),
            Sub(
                "environment.air",
                "大气污染",
                "Air pollution",
                ORD,
                "ECO",
                1.8,
                DRY_SPRING,
                {INDUSTRIAL: 2.4, SUBURBAN: 1.6},
                keywords="焚烧 扬尘 烟雾 异味 废气",
            ),
            Sub(
                "environment.cooking_fumes",
                "餐饮油烟",
                "Restaurant fumes",
                ORD,
                "ECO",
                2.0,
                SUMMER,
                {RIVERSIDE: 1.8, OLD_TOWN: 1.5, UNIVERSITY: 1.4},
                ambiguous=True,
                keywords="油烟 烧烤 排烟 饭店",
            ),
            Sub(
                "environment.water_pollution",
                "水体污染",
                "Water pollution",
                C,
                "ECO",
                0.7,
                SUMMER,
                {INDUSTRIAL: 2.0, SUBURBAN: 1.6},
                keywords="河道 黑臭 排污 死鱼",
            ),
            Sub(
                "environment.industrial",
                "企业排污",
                "Industrial emissions",
                C,
                "ECO",
                1.0,
                FLAT,
                {INDUSTRIAL: 3.5, SUBURBAN: 1.2, NEW_TOWN: 0.3},
                keywords="工厂 排污 偷排 刺鼻",
            ),
        ),
    ),
    Top(
        "city",
        "城市管理",
        "City management",
        (
            Sub(
                "city.waste",
                "垃圾清运",
                "Waste collection",
                ORD,
                STREET,
                3.5,
                SUMMER,
                {SUBURBAN: 1.3, OLD_TOWN: 1.2},
                keywords="垃圾 清运 满溢 垃圾分类 臭味",
            ),
            Sub(
                "city.street_vending",
                "占道经营",
                "Street vending",
                ORD,
                STREET,
                2.4,
                SUMMER,
                {UNIVERSITY: 1.8, OLD_TOWN: 1.5, INDUSTRIAL: 1.4, NEW_TOWN: 0.6},
                ambiguous=True,
                keywords="占道 摆摊 流动摊贩 夜市",
            ),
            Sub(
                "city.posters",
                "乱贴小广告",
                "Illegal posters",
                ORD,
                STREET,
                0.7,
                FLAT,
                {OLD_TOWN: 1.3},
                keywords="小广告 牛皮癣 涂鸦",
            ),
            Sub(
                "city.greenery",
                "园林绿化",
                "Trees and green spaces",
                U,
                "URBAN",
                1.4,
                RAINY,
                {NEW_TOWN: 1.2},
                keywords="树木 倒伏 修剪 绿化带 枯死",
            ),
            Sub(
                "city.stray_animals",
                "流浪动物",
                "Stray animals",
                ORD,
                STREET,
                0.7,
                FLAT,
                {UNIVERSITY: 1.4},
                keywords="流浪狗 流浪猫 咬人 犬只",
            ),
        ),
    ),
    Top(
        "transport",
        "交通运输",
        "Transport",
        (
            Sub(
                "transport.bus",
                "公交线路与站点",
                "Bus routes and stops",
                C,
                "TRANSPORT",
                2.0,
                FLAT,
                {SUBURBAN: 1.9, NEW_TOWN: 1.5, INDUSTRIAL: 1.5, OLD_TOWN: 0.6},
                driver="elderly",
                keywords="公交 线路 站点 班次 末班车",
            ),
            Sub(
                "transport.taxi",
                "出租车与网约车",
                "Taxis and ride-hailing",
                ORD,
                "TRANSPORT",
                1.5,
                HOLIDAYS,
                {RIVERSIDE: 1.6, UNIVERSITY: 1.3},
                keywords="出租车 网约车 拒载 绕路 司机",
            ),
            Sub(
                "transport.signals",
                "交通信号与标线",
                "Traffic signals and markings",
                U,
                "POLICE",
                1.2,
                FLAT,
                {NEW_TOWN: 1.3},
                clustered=True,
                keywords="红绿灯 信号灯 斑马线 标线",
            ),
            Sub(
                "transport.parking",
                "违章停车",
                "Illegal parking",
                ORD,
                "POLICE",
                3.4,
                FLAT,
                {OLD_TOWN: 1.8, RIVERSIDE: 1.3, SUBURBAN: 0.5},
                ambiguous=True,
                keywords="乱停车 占道停车 消防通道 堵门",
            ),
            Sub(
                "transport.bikes",
                "共享单车",
                "Shared bikes",
                ORD,
                "URBAN",
                1.1,
                SUMMER,
                {UNIVERSITY: 2.0, NEW_TOWN: 1.3, SUBURBAN: 0.3},
                keywords="共享单车 乱停放 堆放",
            ),
        ),
    ),
    Top(
        "labour",
        "劳动和社会保障",
        "Labour and social security",
        (
            Sub(
                "labour.wages",
                "拖欠工资",
                "Unpaid wages",
                C,
                "HRSS",
                2.8,
                SPRING_FESTIVAL,
                {INDUSTRIAL: 3.0, SUBURBAN: 1.2, NEW_TOWN: 1.2},
                driver="migrant",
                keywords="拖欠工资 欠薪 工资 包工头",
            ),
            Sub(
                "labour.social_insurance",
                "社保缴纳与转移",
                "Social insurance",
                ORD,
                "HRSS",
                2.3,
                FLAT,
                {INDUSTRIAL: 1.4},
                driver="migrant",
                keywords="社保 缴费 转移 养老保险",
            ),
            Sub(
                "labour.contracts",
                "劳动合同纠纷",
                "Employment contracts",
                C,
                "HRSS",
                1.4,
                FLAT,
                {INDUSTRIAL: 2.0, NEW_TOWN: 1.2},
                driver="migrant",
                keywords="劳动合同 辞退 加班费 赔偿",
            ),
            Sub(
                "labour.jobs",
                "就业与培训",
                "Jobs and training",
                ORD,
                "HRSS",
                1.0,
                GRADUATES,
                {UNIVERSITY: 2.0, INDUSTRIAL: 1.2},
                keywords="就业 培训 补贴 招聘",
            ),
            Sub(
                "labour.medical_insurance",
                "医保报销",
                "Medical insurance",
                ORD,
                "HRSS",
                1.5,
                FLAT,
                {OLD_TOWN: 1.3, SUBURBAN: 1.3},
                driver="elderly",
                keywords="医保 报销 异地就医",
            ),
        ),
    ),
    Top(
        "education",
        "教育文体",
        "Education, culture and sport",
        (
            Sub(
                "education.enrolment",
                "入学与学位",
                "School places",
                C,
                "EDU",
                2.0,
                ENROLMENT,
                {NEW_TOWN: 2.0, RIVERSIDE: 1.2, SUBURBAN: 0.8},
                driver="children",
                keywords="入学 学位 学区 划片 招生",
            ),
            Sub(
                "education.tutoring",
                "校外培训",
                "Private tutoring",
                ORD,
                "EDU",
                0.8,
                FLAT,
                {NEW_TOWN: 1.6},
                driver="children",
                keywords="培训机构 退费 补课",
            ),
            Sub(
                "education.school_safety",
                "校园周边",
                "Around schools",
                ORD,
                "EDU",
                0.8,
                TERM,
                {OLD_TOWN: 1.2},
                driver="children",
                keywords="校门口 接送 交通安全 小卖部",
            ),
            Sub(
                "education.venues",
                "文体设施",
                "Sports and cultural venues",
                ORD,
                "CULTURE",
                1.0,
                SUMMER,
                {NEW_TOWN: 1.2, SUBURBAN: 1.2},
                keywords="健身器材 体育馆 图书馆 开放",
            ),
            Sub(
                "education.fees",
                "教育收费",
                "School fees",
                ORD,
                "EDU",
                0.5,
                TERM,
                {},
                driver="children",
                keywords="收费 校服 资料费",
            ),
        ),
    ),
    Top(
        "health",
        "卫生计生",
        "Health",
        (
            Sub(
                "health.hospitals",
                "医疗服务",
                "Hospital services",
                ORD,
                "HEALTH",
                2.0,
                WINTER,
                {},
                driver="elderly",
                keywords="医院 挂号 态度 排队 就诊",
            ),
            Sub(
                "health.vaccination",
                "疫苗接种",
                "Vaccination",
                ORD,
                "HEALTH",
                0.8,
                AUTUMN,
                {NEW_TOWN: 1.4},
                driver="children",
                keywords="疫苗 接种 预约",
            ),
            Sub(
                "health.clinics",
                "社区卫生服务",
                "Community clinics",
                ORD,
                "HEALTH",
                1.0,
                FLAT,
                {SUBURBAN: 1.4, OLD_TOWN: 1.2},
                driver="elderly",
                keywords="卫生服务中心 家庭医生 配药",
            ),
            Sub(
                "health.pests",
                "病媒生物防治",
                "Pests and vermin",
                ORD,
                STREET,
                1.5,
                SUMMER,
                {OLD_TOWN: 1.6, SUBURBAN: 1.3},
                keywords="老鼠 蚊子 蟑螂 消杀",
            ),
            Sub(
                "health.maternity",
                "生育与母婴",
                "Births and maternity",
                ORD,
                "HEALTH",
                0.5,
                FLAT,
                {NEW_TOWN: 1.5},
                driver="children",
                keywords="生育 出生证明 母婴室",
            ),
        ),
    ),
    Top(
        "commerce",
        "商贸旅游",
        "Commerce and tourism",
        (
            Sub(
                "commerce.prepaid",
                "预付卡消费",
                "Prepaid cards",
                C,
                "COMMERCE",
                1.2,
                FLAT,
                {NEW_TOWN: 1.6, UNIVERSITY: 1.5},
                keywords="预付卡 健身房 跑路 退款",
            ),
            Sub(
                "commerce.markets",
                "农贸市场",
                "Wet markets",
                ORD,
                "COMMERCE",
                0.8,
                FLAT,
                {OLD_TOWN: 1.5, SUBURBAN: 1.2},
                keywords="菜市场 农贸市场 卫生 秤",
            ),
            Sub(
                "commerce.tourism",
                "旅游投诉",
                "Tourism",
                ORD,
                "CULTURE",
                0.6,
                HOLIDAYS,
                {RIVERSIDE: 2.5, OLD_TOWN: 1.5},
                keywords="景区 导游 门票 强制购物",
            ),
        ),
    ),
    Top(
        "market",
        "市场监管",
        "Market regulation",
        (
            Sub(
                "market.food_safety",
                "食品安全",
                "Food safety",
                U,
                "SAMR",
                1.8,
                SUMMER,
                {UNIVERSITY: 1.5, INDUSTRIAL: 1.2},
                keywords="食品 过期 变质 食物中毒 外卖",
            ),
            Sub(
                "market.prices",
                "价格投诉",
                "Prices",
                ORD,
                "SAMR",
                1.0,
                HOLIDAYS,
                {RIVERSIDE: 1.3},
                keywords="价格 乱收费 明码标价",
            ),
            Sub(
                "market.unlicensed",
                "无证经营",
                "Unlicensed business",
                ORD,
                "SAMR",
                0.8,
                FLAT,
                {INDUSTRIAL: 1.5, SUBURBAN: 1.5},
                keywords="无证 执照 黑作坊",
            ),
            Sub(
                "market.products",
                "产品质量",
                "Product quality",
                ORD,
                "SAMR",
                1.0,
                FLAT,
                {},
                keywords="质量 假冒 退货 售后",
            ),
            Sub(
                "market.lifts",
                "电梯安全",
                "Lift safety",
                U,
                "SAMR",
                1.5,
                FLAT,
                {NEW_TOWN: 1.8, RIVERSIDE: 1.3, OLD_TOWN: 0.4, SUBURBAN: 0.3},
                clustered=True,
                keywords="电梯 困人 故障 年检",
            ),
        ),
    ),
    Top(
        "public_safety",
        "公共安全",
        "Public safety",
        (
            Sub(
                "public_safety.order",
                "治安隐患",
                "Public order",
                ORD,
                "POLICE",
                1.2,
                SUMMER,
                {},
                keywords="治安 可疑 打架 偷盗",
            ),
            Sub(
                "public_safety.fire",
                "消防隐患",
                "Fire hazards",
                U,
                STREET,
                1.7,
                WINTER,
                {OLD_TOWN: 1.5, INDUSTRIAL: 1.5},
                keywords="电动车 充电 楼道 消防通道 飞线",
            ),
            Sub(
                "public_safety.residence",
                "户籍与证件",
                "Residence and ID papers",
                ORD,
                "POLICE",
                1.2,
                FLAT,
                {},
                driver="migrant",
                keywords="户口 身份证 居住证 落户",
            ),
            Sub(
                "public_safety.fraud",
                "电信诈骗",
                "Phone and online fraud",
                ORD,
                "POLICE",
                0.6,
                FLAT,
                {},
                driver="elderly",
                keywords="诈骗 保健品 骗钱 推销",
            ),
        ),
    ),
    Top(
        "civil_affairs",
        "民政",
        "Civil affairs",
        (
            Sub(
                "civil_affairs.elderly_care",
                "养老服务",
                "Elderly care",
                ORD,
                "CIVIL",
                1.8,
                WINTER,
                {OLD_TOWN: 1.8, SUBURBAN: 1.4},
                driver="elderly",
                keywords="养老院 助餐 居家养老 高龄补贴",
            ),
            Sub(
                "civil_affairs.assistance",
                "低保与救助",
                "Subsistence and assistance",
                C,
                "CIVIL",
                1.2,
                WINTER,
                {SUBURBAN: 1.6, OLD_TOWN: 1.3},
                driver="low_income",
                keywords="低保 救助 困难 临时救助",
            ),
            Sub(
                "civil_affairs.disability",
                "残疾人服务",
                "Disability services",
                ORD,
                "CIVIL",
                0.6,
                FLAT,
                {},
                keywords="残疾 无障碍 补贴 轮椅",
            ),
            Sub(
                "civil_affairs.marriage",
                "婚姻登记",
                "Marriage registration",
                ORD,
                "CIVIL",
                0.3,
                WEDDINGS,
                {NEW_TOWN: 1.3},
                keywords="结婚登记 预约 婚姻",
            ),
            Sub(
                "civil_affairs.funeral",
                "殡葬服务",
                "Funeral services",
                ORD,
                "CIVIL",
                0.3,
                QINGMING,
                {SUBURBAN: 1.8},
                driver="elderly",
                keywords="殡葬 墓地 祭扫",
            ),
        ),
    ),
)

SUBS: dict[str, Sub] = {s.code: s for top in CATALOGUE for s in top.subs}
TOP_OF: dict[str, Top] = {s.code: top for top in CATALOGUE for s in top.subs}

# Where a misrouted case of a top category goes first, when its right unit is a street office.
FIRST_GUESS: dict[str, str] = {
    "construction": "URBAN",
    "environment": "ECO",
    "city": "URBAN",
    "transport": "POLICE",
    "labour": "HRSS",
    "education": "EDU",
    "health": "HEALTH",
    "commerce": "SAMR",
    "market": "SAMR",
    "public_safety": "POLICE",
    "civil_affairs": "CIVIL",
}
