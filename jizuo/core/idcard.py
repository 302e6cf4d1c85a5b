"""Chinese identifier utilities: 居民身份证号码 (GB 11643-1999) and 统一社会信用代码 (GB 32100-2015).

Everything here is pure string arithmetic so it can run in validators, importers and the synthetic demo
generator alike. Messages in `ValueError`s are Chinese because they are shown to the people who typed the
number in.
"""

from __future__ import annotations

import random
from datetime import date

__all__ = [
    "USCC_CHARSET",
    "birth_date_of",
    "check_digit",
    "is_valid_id_number",
    "is_valid_uscc",
    "make_id_number",
    "make_uscc",
    "mask_id_number",
    "mask_phone",
    "organization_code_check_char",
    "sex_of",
    "uscc_check_char",
    "validate_id_number",
]

# ---------------------------------------------------------------------------------------------------------
# 居民身份证号码 (GB 11643-1999): 6-digit region code, 8-digit birth date, 3-digit sequence whose parity
# encodes sex, and an ISO 7064 MOD 11-2 check character.
# ---------------------------------------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_EARLIEST_BIRTH_YEAR = 1900


def check_digit(first17: str) -> str:
    """The 18th character of a resident ID number for the given first 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("身份证号码本体码必须为17位数字")
    total = sum(int(char) * weight for char, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def _normalise_id_number(s: str) -> str:
    return s.strip().upper()


def _parse_birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def _id_number_problem(number: str, today: date) -> str | None:
    """The Chinese description of what is wrong with an already-normalised number, or None if valid."""
    if len(number) != 18:
        return f"身份证号码长度应为18位，实际为{len(number)}位"
    body, last = number[:17], number[17]
    if not body.isascii() or not body.isdigit():
        return "身份证号码前17位必须全部为数字"
    if last != "X" and not last.isdigit():
        return "身份证号码第18位（校验位）只能是数字或X"
    if number[0] == "0":
        return f"身份证号码地址码无效：{number[:6]}"
    birth = _parse_birth_date(number)
    if birth is None:
        return f"身份证号码出生日期无效：{number[6:14]}"
    if birth.year < _EARLIEST_BIRTH_YEAR:
        return f"身份证号码出生日期早于{_EARLIEST_BIRTH_YEAR}年：{number[6:14]}"
    if birth > today:
        return f"身份证号码出生日期晚于当前日期：{number[6:14]}"
    expected = check_digit(body)
    if last != expected:
        return f"身份证号码校验位错误：应为{expected}，实际为{last}"
    return None


def validate_id_number(s: str, *, today: date | None = None) -> str:
    """Return the normalised number (stripped, upper-case X) or raise `ValueError` naming the wrong part."""
    number = _normalise_id_number(s)
    problem = _id_number_problem(number, today or date.today())
    if problem is not None:
        raise ValueError(problem)
    return number


def is_valid_id_number(s: str, *, today: date | None = None) -> bool:
    """True only for a number already in canonical form (no whitespace, upper-case X) that validates.

    Use `validate_id_number` to accept user input such as a trailing lower-case x.
    """
    return _id_number_problem(s, today or date.today()) is None


def birth_date_of(s: str) -> date:
    """Birth date encoded in a valid ID number (raises `ValueError` for an invalid one)."""
    number = validate_id_number(s)
    birth = _parse_birth_date(number)
    assert birth is not None  # validate_id_number has already rejected unparsable dates
    return birth


def sex_of(s: str) -> str:
    """'male' when the 17th digit is odd, 'female' when even."""
    number = validate_id_number(s)
    return "male" if int(number[16]) % 2 == 1 else "female"


def make_id_number(region6: str, birth: date, seq3: int, sex: str) -> str:
    """Build a valid ID number; the sequence's last digit is nudged so its parity matches `sex`."""
    if len(region6) != 6 or not region6.isdigit() or region6[0] == "0":
        raise ValueError(f"地址码必须为6位数字且不以0开头：{region6!r}")
    if not 0 <= seq3 <= 999:
        raise ValueError(f"顺序码必须在0–999之间：{seq3}")
    if sex not in ("male", "female"):
        raise ValueError(f"性别必须为 male 或 female：{sex!r}")
    wanted_parity = 1 if sex == "male" else 0
    seq = seq3 - (seq3 % 2) + wanted_parity
    first17 = f"{region6}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)


def mask_id_number(s: str) -> str:
    """Keep the first and last four characters, e.g. '3101**********1234'."""
    value = s.strip()
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(s: str) -> str:
    """Keep the carrier prefix and the last four digits, e.g. '138****5678'."""
    value = s.strip()
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


# ---------------------------------------------------------------------------------------------------------
# 统一社会信用代码 (GB 32100-2015): registration authority (1), organisation type (1), region code (6),
# organisation code (9, GB 11714 with its own check char) and a MOD 31 check character.
# ---------------------------------------------------------------------------------------------------------

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {char: value for value, char in enumerate(USCC_CHARSET)}
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_char(first17: str) -> str:
    """The 18th character of a 统一社会信用代码 for the given first 17 characters."""
    if len(first17) != 17 or any(char not in _USCC_VALUES for char in first17):
        raise ValueError("统一社会信用代码前17位必须由数字和大写字母（不含I、O、Z、S、V）组成")
    total = sum(_USCC_VALUES[char] * weight for char, weight in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def is_valid_uscc(s: str) -> bool:
    """True for an 18-character code with a numeric region part and a correct check character."""
    if len(s) != 18 or any(char not in _USCC_VALUES for char in s) or not s[2:8].isdigit():
        return False
    return uscc_check_char(s[:17]) == s[17]


def organization_code_check_char(body8: str) -> str:
    """GB 11714 组织机构代码 check character (MOD 11; 10 → 'X', 11 → '0') for an 8-digit body."""
    if len(body8) != 8 or not body8.isdigit():
        raise ValueError("组织机构代码本体必须为8位数字")
    remainder = (
        11 - sum(int(char) * weight for char, weight in zip(body8, _ORG_CODE_WEIGHTS, strict=True)) % 11
    )
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def make_uscc(rng: random.Random, region6: str, org_type: str = "12") -> str:
    """A random valid code. `org_type` is authority + type: '12' = 机构编制 + 事业单位 (public hospitals)."""
    if len(org_type) != 2 or any(char not in _USCC_VALUES for char in org_type):
        raise ValueError(f"登记管理部门码和机构类别码无效：{org_type!r}")
    if len(region6) != 6 or not region6.isdigit():
        raise ValueError(f"登记管理机关行政区划码必须为6位数字：{region6!r}")
    body8 = f"{rng.randrange(10**8):08d}"
    first17 = org_type + region6 + body8 + organization_code_check_char(body8)
    return first17 + uscc_check_char(first17)
