"""Fictional streets, communities and roads of 申江市江川区, and synthetic phone numbers.

Each community health service centre serves one 街道 (urban sub-district) or 镇 (town); a resident's address,
street and community are therefore tied to their home centre.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from jizuo.platform.demo.model import CITY_NAME, DISTRICT_NAME


@dataclass(frozen=True, slots=True)
class StreetArea:
    name: str
    """e.g. '新华街道' or '兴隆镇'."""
    communities: tuple[str, ...]
    """居民区/村 names; villages (see `is_village`) use 组/号 addresses."""
    roads: tuple[str, ...]
    population_weight: float
    latitude: float
    longitude: float


STREETS: tuple[StreetArea, ...] = (
    StreetArea("新华街道", ("新华一村", "新华二村", "枫林苑", "春晖苑", "锦绣坊"),
               ("新华路", "枫林路", "春晖路", "华宁路", "兴业路"), 1.4, 31.112, 121.382),
    StreetArea("临江街道", ("临江新村", "滨江苑", "望江坊", "江湾城", "观澜苑"),
               ("临江路", "滨江大道", "望江路", "沿江路", "江岸路"), 1.3, 31.098, 121.421),
    StreetArea("望川街道", ("望川新村", "川景苑", "鹤鸣苑", "松风坊", "竹园"),
               ("望川路", "川北路", "鹤鸣路", "松风路", "竹园路"), 1.2, 31.127, 121.405),
    StreetArea("春申街道", ("春申新村", "申华苑", "申城佳苑", "莲花坊", "碧水苑"),
               ("春申路", "申华路", "莲花路", "碧水路", "申南路"), 1.2, 31.085, 121.372),
    StreetArea("梅林街道", ("梅林新村", "梅园", "香雪坊", "报春苑", "疏影苑"),
               ("梅林路", "梅园路", "香雪路", "报春路", "疏影路"), 1.1, 31.141, 121.388),
    StreetArea("南浦街道", ("南浦新村", "浦南苑", "云帆坊", "海鸥苑", "潮音苑"),
               ("南浦路", "浦南路", "云帆路", "海鸥路", "潮音路"), 1.0, 31.071, 121.433),
    StreetArea("兴隆镇", ("兴隆村", "兴隆新苑", "东港村", "西塘村", "南湖苑"),
               ("兴隆公路", "东港路", "西塘路", "南湖路", "兴旺路"), 0.8, 31.052, 121.351),
    StreetArea("青枫镇", ("青枫村", "青枫新苑", "红叶村", "秋实苑", "丰收村"),
               ("青枫公路", "红叶路", "秋实路", "丰收路", "青云路"), 0.7, 31.034, 121.392),
    StreetArea("柳湾镇", ("柳湾村", "柳岸苑", "垂杨坊", "渔港村", "湾畔苑"),
               ("柳湾公路", "柳岸路", "垂杨路", "渔港路", "湾畔路"), 0.7, 31.043, 121.447),
    StreetArea("白鹤镇", ("白鹤村", "鹤翔苑", "芦花村", "清溪苑", "白沙村"),
               ("白鹤公路", "鹤翔路", "芦花路", "清溪路", "白沙路"), 0.6, 31.019, 121.365),
)  # fmt: skip

ADDRESS_PREFIX = CITY_NAME + DISTRICT_NAME

# Real mainland mobile prefixes (China Mobile, Unicom, Telecom, Broadnet); weighted equally for simplicity.
MOBILE_PREFIXES: tuple[str, ...] = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
    "150", "151", "152", "153", "155", "156", "157", "158", "159",
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189",
    "191", "193", "195", "196", "197", "198", "199",
    "176", "177", "178",
)  # fmt: skip


def mobile_phone(rng: random.Random) -> str:
    """An 11-digit mobile number with a real carrier prefix."""
    prefix = MOBILE_PREFIXES[int(rng.random() * len(MOBILE_PREFIXES))]
    return f"{prefix}{int(rng.random() * 100_000_000):08d}"


def landline(rng: random.Random) -> str:
    """A Shanghai-style 8-digit landline with area code (institutions publish landlines, not mobiles)."""
    return f"021-{rng.randrange(5000_0000, 6999_9999)}"


def is_village(community: str) -> bool:
    """'兴隆村' is a village; '新华一村' and '临江新村' are urban estates despite the 村 (Shanghai usage)."""
    return community.endswith("村") and not community.endswith("新村") and community[-2] not in "一二三四五"


def home_address(rng: random.Random, area: StreetArea, community_index: int) -> str:
    """'申江市江川区新华街道新华路123弄4号501室' in town, '申江市江川区兴隆镇兴隆村3组45号' in villages.

    An urban community's homes are on the road listed at the same index, so address and community agree.
    """
    community = area.communities[community_index]
    if is_village(community):
        return f"{ADDRESS_PREFIX}{area.name}{community}{rng.randint(1, 12)}组{rng.randint(1, 120)}号"
    road = area.roads[community_index % len(area.roads)]
    lane = rng.randint(1, 999)
    building = rng.randint(1, 40)
    room = rng.randint(1, 18) * 100 + rng.randint(1, 4)
    return f"{ADDRESS_PREFIX}{area.name}{road}{lane}弄{building}号{room}室"


def institution_address(rng: random.Random, area: StreetArea) -> str:
    """A street-number address as institutions publish it: '申江市江川区新华路88号'."""
    return f"{ADDRESS_PREFIX}{rng.choice(area.roads)}{rng.randint(1, 1200)}号"


def jitter(rng: random.Random, value: float, spread: float = 0.008) -> float:
    """Scatter coordinates a little around an area's centre, rounded to roughly 10 m."""
    return round(value + rng.uniform(-spread, spread), 4)
