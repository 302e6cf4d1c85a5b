"""From a patient record as an institution wrote it to the comparison features the MPI matches on.

Names are compared as written (traditional characters folded to simplified), as toneless pinyin (catches
same-sounding characters, 同音字), and as "fuzzy" pinyin that also forgives the zh/z, ch/c, sh/s, -ng/-n and
l/n confusions of southern speech. Birth dates are kept as YYYYMMDD so a day/month swap is detectable.
Addresses are normalised (city/district prefix, 街道→街, room number dropped) and split into the
sub-district (街道/镇) and the locality (road + lane, or village + group).

身份证, 医保卡 and phone numbers never appear in the features: only keyed hashes (HMAC-SM3 blind indexes)
do, plus one hash per ID-number position with that position masked, so two numbers differing in one digit
share exactly one hash (typo-tolerant comparison and blocking without the number).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import zhconv
from pypinyin import lazy_pinyin

from jizuo.core.idcard import birth_date_of, is_valid_id_number, sex_of
from jizuo.core.security import FieldCipher

COMPOUND_SURNAMES = frozenset({
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯", "长孙", "宇文", "司徒",
    "轩辕", "端木", "独孤", "南宫", "西门", "百里", "呼延", "澹台", "申屠", "太史", "闻人", "万俟", "钟离", "宗政",
    "濮阳", "公冶", "赫连", "单于", "乐正", "拓跋", "东郭", "司空", "第五", "谷梁", "左丘", "梁丘",
})
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"))
_FUZZY_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))
_ROOM = re.compile(r"\d+室$")
_PREFIX = re.compile(r"^(?:[^省市]{2,7}?(?:省|自治区))?(?:[^市]{2,7}?市)?(?:[^区县市]{1,6}?(?:区|县))?")
_STREET = re.compile(r"^(.{1,8}?(?:街|镇|乡))")
_LOCALITY = re.compile(r"^(\D+?\d+(?:弄|组|号|巷|支弄))")
_SPACE = re.compile(r"[\s,，、·.\-]")


@dataclass(slots=True)
class Features:
    """What a source record is compared on. Field names are also the column names used by Splink/DuckDB
    and by the `mpi_source_record` table, so the offline model and the online scorer read the same data."""

    name: str | None = None
    surname: str | None = None
    name_pinyin: str | None = None
    surname_pinyin: str | None = None
    given_pinyin: str | None = None
    name_fuzzy: str | None = None
    gender: str | None = None
    birth: str | None = None  # YYYYMMDD
    birth_year: int | None = None
    id_bidx: bytes | None = None
    id_valid: bool = False
    id_fuzzy: list[int] | None = None
    insurance_bidx: bytes | None = None
    phone_bidx: bytes | None = None
    address: str | None = None
    street: str | None = None
    locality: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def simplified(text: str) -> str:
    return str(zhconv.convert(unicodedata.normalize("NFKC", text), "zh-cn"))


@lru_cache(maxsize=20_000)
def _char_pinyin(char: str) -> str:
    return lazy_pinyin(char, errors=lambda c: c.lower())[0] if char.strip() else ""


def pinyin(text: str) -> list[str]:
    """Toneless pinyin per character (letters of Latin names pass through, lower-cased)."""
    return [p for p in (_char_pinyin(c) for c in text) if p]


def fuzzy_syllable(syllable: str) -> str:
    for hard, soft in _FUZZY_INITIALS:
        if syllable.startswith(hard):
            syllable = soft + syllable[2:]
            break
    if syllable.startswith("l"):
        syllable = "n" + syllable[1:]
    for hard, soft in _FUZZY_FINALS:
        if syllable.endswith(hard):
            return syllable[: -len(hard)] + soft
    return syllable


def split_name(name: str) -> tuple[str, str]:
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    return name[:1], name[1:]


def name_features(full: str | None, family: str | None = None) -> dict[str, Any]:
    if not full:
        return {}
    text = _SPACE.sub("", simplified(full))
    if not text:
        return {}
    if text.isascii():  # a Latin name (foreigners, or a pinyin-only registration): "ZHANG San" / "San Zhang"
        text = text.lower()
    fam = simplified(family).strip() if family else None
    surname, given = (fam, text[len(fam):]) if fam and text.startswith(fam) else split_name(text)
    sur_py, given_py = pinyin(surname), pinyin(given)
    return {"name": text, "surname": surname, "surname_pinyin": "".join(sur_py), "given_pinyin": "".join(given_py),
            "name_pinyin": "".join(sur_py + given_py),
            "name_fuzzy": "".join(fuzzy_syllable(s) for s in sur_py + given_py)}


def birth_string(value: date | str | None) -> str | None:
    if value is None:
        return None
    text = value.isoformat() if isinstance(value, date) else str(value)
    digits = text[:10].replace("-", "")
    return digits if len(digits) == 8 and digits.isdigit() else None


def address_features(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    value = _SPACE.sub("", unicodedata.normalize("NFKC", simplified(text)))
    value = _PREFIX.sub("", value, count=1).replace("街道", "街")
    value = _ROOM.sub("", value)
    if not value:
        return {}
    street_match = _STREET.match(value)
    street = street_match.group(1) if street_match else None
    rest = value[len(street):] if street else value
    locality_match = _LOCALITY.match(rest)
    return {"address": value, "street": street, "locality": locality_match.group(1) if locality_match else None}


def _hash64(cipher: FieldCipher, value: str) -> int:
    return int.from_bytes(cipher.blind_index(value)[:8], "big", signed=True)


def id_features(cipher: FieldCipher, number: str | None) -> dict[str, Any]:
    if not number:
        return {}
    value = number.strip().upper()
    if len(value) < 15:
        return {}
    fuzzy = [_hash64(cipher, f"idfz:{i}:{value[:i]}*{value[i + 1:]}") for i in range(len(value))]
    return {"id_bidx": cipher.blind_index(value), "id_valid": is_valid_id_number(value), "id_fuzzy": fuzzy}


def digits_only(value: str | None) -> str | None:
    if not value:
        return None
    digits = re.sub(r"\D", "", value)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits or None


def build_features(cipher: FieldCipher, *, name: str | None, family: str | None = None, gender: str | None,
                   birth_date: date | str | None, id_number: str | None, phone: str | None,
                   address: str | None, insurance_no: str | None = None) -> Features:
    feats = Features(**name_features(name, family), **address_features(address), **id_features(cipher, id_number))
    feats.gender = gender if gender in ("male", "female") else None
    feats.birth = birth_string(birth_date)
    if feats.id_valid and id_number:  # the number encodes birth date and sex: fill gaps from it
        number = id_number.strip().upper()
        feats.birth = feats.birth or birth_string(birth_date_of(number))
        feats.gender = feats.gender or sex_of(number)
    feats.birth_year = int(feats.birth[:4]) if feats.birth else None
    phone_digits = digits_only(phone)
    feats.phone_bidx = cipher.blind_index(phone_digits) if phone_digits else None
    insurance = (insurance_no or "").strip().upper()
    feats.insurance_bidx = cipher.blind_index(f"mi:{insurance}") if insurance else None
    return feats
