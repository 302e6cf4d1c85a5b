"""Shared helpers for synthetic people: birthplace region codes, unique ID numbers and ages."""

from __future__ import annotations

import bisect
import itertools
import random
from datetime import date

from jizuo.core.idcard import check_digit
from jizuo.platform.demo.model import DISTRICT_REGION_CODE

# Real-looking county-level codes (mostly provincial capitals' urban districts: 南京玄武, 杭州西湖,
# 合肥瑶海, 郑州金水, 成都锦江, …) for residents and staff born outside the district.
MIGRANT_REGION_CODES: tuple[str, ...] = (
    "320102", "330106", "340104", "410105", "510104", "320581", "330203", "360102", "420102", "430102",
    "370102", "130102", "220102", "230102", "350102", "450103", "610102", "210102",
)  # fmt: skip

_SEX_BIT = {"female": 0, "male": 1}


def pick_region(rng: random.Random, local_share: float) -> str:
    """The district's own code with probability `local_share`, otherwise another province's."""
    if rng.random() < local_share:
        return DISTRICT_REGION_CODE
    return MIGRANT_REGION_CODES[int(rng.random() * len(MIGRANT_REGION_CODES))]


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class IdNumberAllocator:
    """Hands out unique, valid ID numbers without remembering every number issued.

    Uniqueness comes from counting per (region, birth date, sex) and mapping the n-th person to a distinct
    sequence number. Each allocator owns a disjoint slice of the 500 sequence numbers per sex, so residents
    and practitioners generated independently can never collide.
    """

    # 37 is coprime to every capacity used, so n → (n·37 + offset) mod capacity is a permutation; this
    # scatters sequence numbers instead of making everyone born on a day 001, 003, 005 …
    _STRIDE = 37

    def __init__(self, first_slot: int, capacity: int) -> None:
        if not 0 <= first_slot < first_slot + capacity <= 500:
            raise ValueError("sequence slots must lie within 0–499")
        if capacity % self._STRIDE == 0:
            raise ValueError("capacity must be coprime to the stride")
        self._first_slot = first_slot
        self._capacity = capacity
        self._issued: dict[tuple[str, int], int] = {}

    def allocate(self, region6: str, birth: date, sex: str) -> str | None:
        """A new number, or None when this region/day/sex is exhausted (the caller picks another date)."""
        sex_bit = _SEX_BIT[sex]
        ordinal = birth.toordinal()
        key = (region6, ordinal * 2 + sex_bit)
        count = self._issued.get(key, 0)
        if count >= self._capacity:
            return None
        self._issued[key] = count + 1
        slot = self._first_slot + (count * self._STRIDE + ordinal) % self._capacity
        first17 = f"{region6}{birth.year:04d}{birth.month:02d}{birth.day:02d}{slot * 2 + sex_bit:03d}"
        return first17 + check_digit(first17)


def weighted_picker(weights: list[float] | tuple[float, ...]) -> tuple[float, ...]:
    """Cumulative weights for `pick_index`; faster than `rng.choices` in hot loops."""
    return tuple(itertools.accumulate(weights))


def pick_index(rng: random.Random, cumulative: tuple[float, ...]) -> int:
    return bisect.bisect_right(cumulative, rng.random() * cumulative[-1])
