"""Comparisons as data: each level is a condition that renders both as Splink/DuckDB SQL (for offline
training and batch re-link) and as a Python test (for online scoring), so the two can never disagree about
what "the names sound the same" means.

A record is a mapping of feature name → value (see `normalise.Features`); `l`/`r` are the two records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Record = Mapping[str, Any]


# --- string metrics (the same definitions DuckDB uses) ----------------------------------------------------

def levenshtein(a: str, b: str) -> int:
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def damerau_levenshtein(a: str, b: str) -> int:
    """Optimal string alignment distance (adjacent transpositions count as one edit)."""
    if a == b:
        return 0
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[-1][-1]


def jaro_winkler(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    window = max(max(len(a), len(b)) // 2 - 1, 0)
    a_flags, b_flags = [False] * len(a), [False] * len(b)
    matches = 0
    for i, ca in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not b_flags[j] and b[j] == ca:
                a_flags[i] = b_flags[j] = True
                matches += 1
                break
    if not matches:
        return 0.0
    a_matched = [c for c, f in zip(a, a_flags, strict=True) if f]
    b_matched = [c for c, f in zip(b, b_flags, strict=True) if f]
    transpositions = sum(x != y for x, y in zip(a_matched, b_matched, strict=True)) / 2
    jaro = (matches / len(a) + matches / len(b) + (matches - transpositions) / matches) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


# --- conditions and levels --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cond:
    """One test on one column. kind: exact | lev | dl | jw | date_swap | overlap | prefix."""

    kind: str
    column: str
    param: float = 0

    def sql(self) -> str:
        c, p = self.column, self.param
        match self.kind:
            case "exact":
                return f'"{c}_l" = "{c}_r"'
            case "lev":
                return f'levenshtein("{c}_l", "{c}_r") <= {int(p)}'
            case "dl":
                return f'damerau_levenshtein("{c}_l", "{c}_r") <= {int(p)}'
            case "jw":
                return f'jaro_winkler_similarity("{c}_l", "{c}_r") >= {p}'
            case "date_swap":  # YYYYMMDD with month and day exchanged
                return (f'substr("{c}_l", 1, 4) = substr("{c}_r", 1, 4) AND substr("{c}_l", 5, 2) = '
                        f'substr("{c}_r", 7, 2) AND substr("{c}_l", 7, 2) = substr("{c}_r", 5, 2)')
            case "overlap":
                return f'list_has_any("{c}_l", "{c}_r")'
            case "prefix":
                return f'substr("{c}_l", 1, {int(p)}) = substr("{c}_r", 1, {int(p)})'
        raise ValueError(self.kind)

    def test(self, left: Record, right: Record) -> bool:
        a, b = left.get(self.column), right.get(self.column)
        if a is None or b is None:
            return False
        match self.kind:
            case "exact":
                return bool(a == b)
            case "lev":
                return abs(len(a) - len(b)) <= self.param and levenshtein(a, b) <= self.param
            case "dl":
                return abs(len(a) - len(b)) <= self.param and damerau_levenshtein(a, b) <= self.param
            case "jw":
                return jaro_winkler(a, b) >= self.param
            case "date_swap":
                return bool(a[:4] == b[:4] and a[4:6] == b[6:8] and a[6:8] == b[4:6])
            case "overlap":
                return not set(a).isdisjoint(b)
            case "prefix":
                n = int(self.param)
                return bool(a[:n] == b[:n])
        raise ValueError(self.kind)


@dataclass(frozen=True)
class Level:
    label: str
    any_of: tuple[Cond, ...] = ()
    null_columns: tuple[str, ...] = ()  # a null level: one of these is missing on either side
    all_of: tuple[Cond, ...] = ()  # extra conditions that must all hold as well

    @property
    def is_null(self) -> bool:
        return bool(self.null_columns)

    @property
    def is_else(self) -> bool:
        return not self.any_of and not self.null_columns

    def sql(self) -> str:
        if self.is_null:
            return " OR ".join(f'"{c}_l" IS NULL OR "{c}_r" IS NULL' for c in self.null_columns)
        if self.is_else:
            return "ELSE"
        anyof = " OR ".join(f"({c.sql()})" for c in self.any_of)
        if self.all_of:
            return f"({anyof}) AND " + " AND ".join(f"({c.sql()})" for c in self.all_of)
        return anyof

    def test(self, left: Record, right: Record) -> bool:
        if self.is_null:
            return any(left.get(c) is None or right.get(c) is None for c in self.null_columns)
        if self.is_else:
            return True
        return any(c.test(left, right) for c in self.any_of) and all(c.test(left, right) for c in self.all_of)


@dataclass(frozen=True)
class Comparison:
    name: str
    description: str
    levels: tuple[Level, ...]

    def level_of(self, left: Record, right: Record) -> int:
        for index, level in enumerate(self.levels):
            if level.test(left, right):
                return index
        return len(self.levels) - 1

    def splink(self) -> dict[str, Any]:
        return {"output_column_name": self.name, "comparison_description": self.description,
                "comparison_levels": [
                    {"sql_condition": level.sql(), "label_for_charts": level.label,
                     **({"is_null_level": True} if level.is_null else {})} for level in self.levels]}


def exact(col: str) -> Cond:
    return Cond("exact", col)


def null(*cols: str) -> Level:
    return Level("缺失 null", null_columns=cols)


ELSE = Level("不一致 else")


@dataclass(frozen=True)
class Settings:
    """A comparison set with its blocking rules: one for the district's Chinese records, one for FEBRL."""

    name: str
    unique_id: str
    comparisons: tuple[Comparison, ...]
    blocking_rules: tuple[tuple[str, ...], ...]  # each: columns that must be equal (block_on)
    em_blocking_rules: tuple[tuple[str, ...], ...]
    deterministic_rules: tuple[tuple[str, ...], ...]  # for estimating λ
    columns: tuple[str, ...] = field(default=())

    def splink(self, link_type: str = "dedupe_only") -> dict[str, Any]:
        return {
            "link_type": link_type, "unique_id_column_name": self.unique_id,
            "comparisons": [c.splink() for c in self.comparisons],
            "blocking_rules_to_generate_predictions": [block_sql(r) for r in self.blocking_rules],
            "retain_matching_columns": False, "retain_intermediate_calculation_columns": False,
        }


def block_sql(columns: Sequence[str]) -> str:
    return " AND ".join(f'l."{c}" = r."{c}"' for c in columns)


CHINESE = Settings(
    name="jizuo-cn",
    unique_id="patient_id",
    comparisons=(
        Comparison("name", "姓名：同字 / 同音（拼音）/ 近音（模糊拼音、一音之差）/ 同姓", (
            null("name_pinyin"),
            Level("同名 exact", (exact("name"),)),
            Level("同音 pinyin", (exact("name_pinyin"),)),
            Level("近音 fuzzy pinyin", (exact("name_fuzzy"), Cond("lev", "name_pinyin", 1))),
            Level("同姓近名 surname + similar given", (Cond("lev", "given_pinyin", 2),),
                  all_of=(exact("surname_pinyin"),)),
            ELSE)),
        Comparison("gender", "性别", (null("gender"), Level("一致 exact", (exact("gender"),)), ELSE)),
        Comparison("birth", "出生日期：一致 / 月日颠倒 / 一位之差 / 同年", (
            null("birth"),
            Level("一致 exact", (exact("birth"),)),
            Level("月日颠倒 day-month swapped", (Cond("date_swap", "birth"),)),
            Level("一位之差 one digit", (Cond("lev", "birth", 1),)),
            Level("同年 same year", (Cond("prefix", "birth", 4),)),
            ELSE)),
        Comparison("id_card", "身份证号：一致 / 仅一位不同（录入错误）", (
            null("id_bidx"),
            Level("一致 exact", (exact("id_bidx"),)),
            Level("一位之差 one position differs", (Cond("overlap", "id_fuzzy"),)),
            ELSE)),
        Comparison("phone", "手机号", (null("phone_bidx"), Level("一致 exact", (exact("phone_bidx"),)), ELSE)),
        Comparison("address", "住址：标准化后一致 / 同一路弄或村组 / 同一街道镇", (
            null("address"),
            Level("一致 exact", (exact("address"),)),
            Level("同路弄/村组 same locality", (exact("locality"),)),
            Level("同街道/镇 same sub-district", (exact("street"),)),
            ELSE)),
    ),
    blocking_rules=(("id_bidx",), ("insurance_bidx",), ("phone_bidx",), ("birth",),
                    ("name_fuzzy", "birth_year")),
    em_blocking_rules=(("birth",), ("name_fuzzy",)),
    deterministic_rules=(("id_bidx",), ("phone_bidx", "name_pinyin")),
)

FEBRL = Settings(
    name="febrl",
    unique_id="rec_id",
    comparisons=(
        Comparison("given_name", "given name", (
            null("given_name"), Level("exact", (exact("given_name"),)),
            Level("jw 0.92", (Cond("jw", "given_name", 0.92),)), Level("jw 0.8", (Cond("jw", "given_name", 0.8),)),
            ELSE)),
        Comparison("surname", "surname", (
            null("surname"), Level("exact", (exact("surname"),)),
            Level("jw 0.92", (Cond("jw", "surname", 0.92),)), Level("jw 0.8", (Cond("jw", "surname", 0.8),)),
            ELSE)),
        Comparison("date_of_birth", "date of birth", (
            null("date_of_birth"), Level("exact", (exact("date_of_birth"),)),
            Level("one edit", (Cond("dl", "date_of_birth", 1),)), Level("swap", (Cond("date_swap", "date_of_birth"),)),
            Level("same year", (Cond("prefix", "date_of_birth", 4),)), ELSE)),
        Comparison("soc_sec_id", "social security id", (
            null("soc_sec_id"), Level("exact", (exact("soc_sec_id"),)),
            Level("one edit", (Cond("dl", "soc_sec_id", 1),)), Level("two edits", (Cond("dl", "soc_sec_id", 2),)),
            ELSE)),
        Comparison("street_number", "street number", (
            null("street_number"), Level("exact", (exact("street_number"),)), ELSE)),
        Comparison("postcode", "postcode", (
            null("postcode"), Level("exact", (exact("postcode"),)), Level("one edit", (Cond("dl", "postcode", 1),)),
            ELSE)),
        Comparison("suburb", "suburb", (
            null("suburb"), Level("exact", (exact("suburb"),)), Level("jw 0.9", (Cond("jw", "suburb", 0.9),)),
            ELSE)),
        Comparison("address_1", "address line", (
            null("address_1"), Level("exact", (exact("address_1"),)),
            Level("jw 0.9", (Cond("jw", "address_1", 0.9),)), ELSE)),
    ),
    blocking_rules=(("given_name",), ("surname",), ("date_of_birth",), ("soc_sec_id",), ("postcode", "street_number")),
    em_blocking_rules=(("date_of_birth",), ("surname",), ("soc_sec_id",)),
    deterministic_rules=(("soc_sec_id",), ("given_name", "surname", "date_of_birth")),
)
