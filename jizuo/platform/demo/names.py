"""Synthetic Chinese personal names, plus the character tables used to corrupt them realistically.

Surname weights approximate the national frequency ranking (per cent of population, rounded) with a slight
lift for surnames common in the Yangtze delta, since the demo district is Shanghai-like. Given names come
from pools by sex and birth era because naming fashions changed sharply: 秀英/建国 in the 1940s–60s,
伟/丽 in the 1970s–80s, 浩然/欣怡 after 2005.
"""

from __future__ import annotations

import bisect
import itertools
import random

_SURNAME_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("王", 7.1), ("李", 6.8), ("张", 6.7), ("刘", 5.1), ("陈", 4.9), ("杨", 3.2), ("黄", 2.4), ("赵", 2.2),
    ("吴", 2.2), ("周", 2.0), ("徐", 1.8), ("孙", 1.4), ("马", 1.3), ("朱", 1.4), ("胡", 1.2), ("郭", 1.1),
    ("何", 1.1), ("林", 1.0), ("高", 1.0), ("罗", 0.9), ("郑", 0.8), ("梁", 0.8), ("谢", 0.7), ("宋", 0.6),
    ("唐", 0.6), ("许", 0.6), ("韩", 0.6), ("冯", 0.5), ("邓", 0.5), ("曹", 0.5), ("彭", 0.5), ("曾", 0.5),
    ("肖", 0.5), ("田", 0.4), ("董", 0.4), ("袁", 0.4), ("潘", 0.4), ("于", 0.4), ("蒋", 0.4), ("蔡", 0.4),
    ("余", 0.4), ("杜", 0.4), ("叶", 0.4), ("程", 0.4), ("苏", 0.3), ("魏", 0.3), ("吕", 0.3), ("丁", 0.3),
    ("任", 0.3), ("沈", 0.4), ("姚", 0.3), ("卢", 0.3), ("姜", 0.3), ("崔", 0.3), ("钟", 0.3), ("谭", 0.3),
    ("陆", 0.4), ("汪", 0.3), ("范", 0.3), ("金", 0.3), ("石", 0.3), ("廖", 0.2), ("贾", 0.2), ("夏", 0.2),
    ("韦", 0.2), ("付", 0.2), ("方", 0.2), ("白", 0.2), ("邹", 0.2), ("孟", 0.2), ("熊", 0.2), ("秦", 0.2),
    ("邱", 0.2), ("江", 0.2), ("尹", 0.2), ("薛", 0.2), ("闫", 0.2), ("段", 0.2), ("雷", 0.2), ("侯", 0.2),
    ("龙", 0.2), ("史", 0.2), ("陶", 0.2), ("黎", 0.2), ("贺", 0.2), ("顾", 0.3), ("毛", 0.2), ("郝", 0.2),
    ("龚", 0.2), ("邵", 0.2), ("万", 0.2), ("钱", 0.2), ("严", 0.2), ("覃", 0.1), ("武", 0.2), ("戴", 0.2),
    ("莫", 0.1), ("孔", 0.1), ("向", 0.1), ("汤", 0.2), ("欧阳", 0.05), ("司马", 0.01), ("诸葛", 0.01),
)  # fmt: skip

SURNAMES: tuple[str, ...] = tuple(name for name, _ in _SURNAME_WEIGHTS)
_SURNAME_CUM_WEIGHTS: tuple[float, ...] = tuple(
    itertools.accumulate(weight for _, weight in _SURNAME_WEIGHTS)
)

# (first birth year of the era, male pool, female pool). Single characters repeat deliberately: one-character
# given names were common from the 1960s to the 1980s and rare before and after.
_GIVEN_NAME_ERAS: tuple[tuple[int, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        0,
        ("德明", "德华", "国华", "国良", "福生", "根宝", "金宝", "金根", "荣生", "永发", "永福",
         "宝林", "长根", "志明", "文彬", "德林", "鸿", "海", "林", "祥", "福林", "荣华",
         "桂生", "阿宝", "耀祖", "振声"),
        ("秀英", "桂英", "秀兰", "玉兰", "凤英", "桂兰", "玉珍", "秀珍", "凤珍", "美英", "月英",
         "翠英", "桂芳", "素珍", "金花", "彩凤", "杏花", "淑贞", "宝珍", "梅", "英", "珍",
         "兰芳", "凤仙", "阿妹", "雅琴"),
    ),
    (
        1950,
        ("建国", "建华", "建军", "国庆", "卫东", "卫国", "红兵", "建平", "志刚", "志强", "海生",
         "跃进", "新民", "立新", "向东", "国强", "建明", "振华", "伟民", "明", "军", "华",
         "平", "刚", "强", "勇", "国平"),
        ("丽华", "红梅", "秀芳", "玉梅", "建英", "美华", "秀梅", "桂珍", "丽萍", "雪梅", "凤琴",
         "红英", "卫红", "小红", "丽娟", "红", "萍", "霞", "华", "敏", "英", "芳",
         "琴", "建萍", "国英", "美玲"),
    ),
    (
        1970,
        ("伟", "勇", "军", "磊", "涛", "斌", "强", "鹏", "杰", "超", "浩",
         "亮", "俊", "峰", "波", "辉", "刚", "明", "健", "志伟", "建伟", "海涛",
         "晓东", "文杰", "俊杰", "立伟", "永刚", "晓峰", "志勇", "国伟"),
        ("丽", "静", "敏", "燕", "艳", "娟", "霞", "芳", "婷", "洁", "慧",
         "琳", "颖", "晶", "雪", "莉", "丽丽", "晓燕", "丽娟", "海燕", "秀娟", "晓丽",
         "红霞", "慧敏", "晓红", "佳", "文静", "燕萍", "春燕"),
    ),
    (
        1990,
        ("杰", "浩", "鹏", "宇", "磊", "晨", "凯", "轩", "博", "鑫", "浩然",
         "子豪", "俊杰", "宇航", "晨阳", "文博", "天宇", "志豪", "一鸣", "嘉诚", "思远", "家豪",
         "博文", "泽宇", "俊辉", "明轩", "晓峰"),
        ("婷", "雪", "倩", "琪", "悦", "欣", "蕾", "璐", "佳怡", "思琪", "雨婷",
         "梦瑶", "欣怡", "诗琪", "晓雪", "嘉怡", "心怡", "婉婷", "雅琪", "佳琪", "怡然", "紫涵",
         "梦琪", "晓琳", "静怡", "丽君"),
    ),
    (
        2005,
        ("浩然", "宇轩", "子轩", "梓轩", "浩宇", "沐宸", "一诺", "子墨", "奕辰", "宇航", "睿",
         "皓轩", "俊熙", "梓睿", "铭轩", "煜祺", "宸", "逸辰", "辰逸", "锦程", "嘉懿", "亦凡",
         "瑞霖", "思源", "博文"),
        ("子涵", "欣怡", "梓涵", "诗涵", "一诺", "若汐", "雨桐", "可馨", "依诺", "梓萱", "语桐",
         "思彤", "佳怡", "欣妍", "芷若", "梦琪", "雨萱", "沐瑶", "安琪", "语汐", "梓玥", "可欣",
         "静怡", "雨欣", "晨曦"),
    ),
)  # fmt: skip

_ERA_START_YEARS: tuple[int, ...] = tuple(start for start, _, _ in _GIVEN_NAME_ERAS)

# Characters an input method offers for the same pinyin: the usual typo when a clerk types a name by ear.
HOMOPHONES: dict[str, str] = {
    "伟": "玮", "玮": "伟", "丽": "莉", "莉": "丽", "明": "铭", "铭": "明", "华": "化", "静": "婧",
    "燕": "艳", "艳": "燕", "军": "君", "杰": "洁", "洁": "杰", "涛": "韬", "斌": "彬", "彬": "斌",
    "鹏": "朋", "磊": "垒", "勇": "永", "永": "勇", "刚": "钢", "钢": "刚", "峰": "锋", "锋": "峰",
    "辉": "晖", "晖": "辉", "波": "博", "博": "波", "浩": "皓", "皓": "浩", "宇": "羽", "轩": "萱",
    "萱": "轩", "涵": "含", "琪": "淇", "淇": "琪", "琳": "林", "林": "琳", "婷": "庭", "倩": "茜",
    "娟": "鹃", "霞": "侠", "芳": "方", "方": "芳", "英": "瑛", "瑛": "英", "兰": "岚", "岚": "兰",
    "珍": "真", "梅": "玫", "红": "虹", "虹": "红", "平": "萍", "萍": "平", "秀": "绣", "凤": "风",
    "建": "健", "健": "建", "志": "智", "智": "志", "文": "雯", "雯": "文", "晓": "筱", "俊": "骏",
    "骏": "俊", "敏": "闵", "慧": "惠", "惠": "慧", "欣": "馨", "馨": "欣", "怡": "仪", "佳": "嘉",
    "嘉": "佳", "晨": "辰", "辰": "晨", "睿": "锐", "鑫": "新", "国": "帼", "东": "冬", "海": "河",
    "生": "升", "民": "敏", "宝": "保", "福": "富", "荣": "容", "德": "得", "强": "蔷", "雪": "学",
    "琴": "芹", "颖": "莹", "晶": "菁", "悦": "月", "蕾": "磊", "汐": "希", "彤": "桐", "瑶": "遥",
}  # fmt: skip

# Simplified → traditional for the characters the pools above use (records keyed in on Taiwan/HK systems or
# scanned from old documents carry traditional forms). Characters identical in both scripts are absent.
TRADITIONAL: dict[str, str] = {
    "刘": "劉", "陈": "陳", "杨": "楊", "黄": "黃", "赵": "趙", "吴": "吳", "孙": "孫", "马": "馬",
    "罗": "羅", "郑": "鄭", "谢": "謝", "许": "許", "韩": "韓", "冯": "馮", "邓": "鄧", "彭": "彭",
    "阳": "陽", "董": "董", "袁": "袁", "蒋": "蔣", "杜": "杜", "叶": "葉", "苏": "蘇", "吕": "呂",
    "卢": "盧", "钟": "鍾", "谭": "譚", "陆": "陸", "汪": "汪", "贾": "賈", "韦": "韋", "邹": "鄒",
    "闫": "閆", "龙": "龍", "贺": "賀", "顾": "顧", "龚": "龔", "万": "萬", "钱": "錢", "严": "嚴",
    "汤": "湯", "欧": "歐", "诸": "諸", "葛": "葛", "伟": "偉", "华": "華", "国": "國", "军": "軍",
    "红": "紅", "丽": "麗", "兰": "蘭", "凤": "鳳", "庆": "慶", "东": "東", "艳": "艷", "涛": "濤",
    "鹏": "鵬", "杰": "傑", "轩": "軒", "诺": "諾", "晓": "曉", "强": "強", "荣": "榮", "宝": "寶",
    "刚": "剛", "飞": "飛", "静": "靜", "云": "雲", "辉": "輝", "凯": "凱", "亮": "亮", "兴": "興",
    "发": "發", "长": "長", "耀": "耀", "声": "聲", "贞": "貞", "琴": "琴", "进": "進", "卫": "衛",
    "兵": "兵", "新": "新", "娟": "娟", "颖": "穎", "晶": "晶", "慧": "慧", "燕": "燕", "春": "春",
    "宇": "宇", "鸣": "鳴", "诚": "誠", "远": "遠", "泽": "澤", "博": "博", "铭": "銘", "锦": "錦",
    "程": "程", "懿": "懿", "凡": "凡", "瑞": "瑞", "霖": "霖", "馨": "馨", "妍": "妍", "汐": "汐",
    "萱": "萱", "桐": "桐", "彤": "彤", "琪": "琪", "梦": "夢", "瑶": "瑤", "诗": "詩", "雅": "雅",
    "紫": "紫", "婉": "婉", "玲": "玲", "梅": "梅", "萍": "萍", "芳": "芳", "霞": "霞", "爱": "愛",
    "义": "義", "礼": "禮", "仪": "儀", "乐": "樂", "丰": "豐", "龄": "齡", "骏": "駿", "韬": "韜",
    "钢": "鋼", "锋": "鋒", "晖": "暉", "岚": "嵐", "绣": "繡", "风": "風", "筱": "筱", "闵": "閔",
    "锐": "銳", "帼": "幗", "冬": "冬", "将": "將", "顺": "順", "财": "財", "贵": "貴", "学": "學",
}  # fmt: skip
# Drop the identity pairs kept above only so the table reads as "every pool character was considered".
TRADITIONAL = {
    simplified: traditional for simplified, traditional in TRADITIONAL.items() if simplified != traditional
}


def pick_surname(rng: random.Random) -> str:
    """A surname drawn by real-world frequency."""
    point = rng.random() * _SURNAME_CUM_WEIGHTS[-1]
    return SURNAMES[bisect.bisect_right(_SURNAME_CUM_WEIGHTS, point)]


def pick_given_name(rng: random.Random, sex: str, birth_year: int) -> str:
    """A given name fashionable for the birth year and sex ('male'/'female')."""
    era = _GIVEN_NAME_ERAS[bisect.bisect_right(_ERA_START_YEARS, birth_year) - 1]
    pool = era[1] if sex == "male" else era[2]
    return pool[int(rng.random() * len(pool))]


def pick_full_name(rng: random.Random, sex: str, birth_year: int) -> str:
    return pick_surname(rng) + pick_given_name(rng, sex, birth_year)


def split_name(full_name: str) -> tuple[str, str]:
    """(surname, given name), recognising the compound surnames this module can produce."""
    for length in (2, 1):
        if full_name[:length] in SURNAMES and len(full_name) > length:
            return full_name[:length], full_name[length:]
    return full_name[:1], full_name[1:]


def homophone_typo(rng: random.Random, full_name: str) -> str | None:
    """Replace one given-name character with a same-sounding one, or None if no character has a homophone."""
    surname, given = split_name(full_name)
    positions = [index for index, char in enumerate(given) if char in HOMOPHONES]
    if not positions:
        return None
    index = rng.choice(positions)
    return surname + given[:index] + HOMOPHONES[given[index]] + given[index + 1 :]


def to_traditional(text: str) -> str:
    """Character-by-character simplified → traditional for the name characters used here."""
    return "".join(TRADITIONAL.get(char, char) for char in text)
