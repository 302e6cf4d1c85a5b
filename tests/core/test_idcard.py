"""居民身份证号码 and 统一社会信用代码 utilities."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jizuo.core.idcard import (
    USCC_CHARSET,
    birth_date_of,
    check_digit,
    is_valid_id_number,
    is_valid_uscc,
    make_id_number,
    make_uscc,
    mask_id_number,
    mask_phone,
    organization_code_check_char,
    sex_of,
    uscc_check_char,
    validate_id_number,
)

GB_11643_EXAMPLE = "11010519491231002X"  # the worked example in the standard itself
TODAY = date(2026, 11, 25)


# --- resident ID numbers -------------------------------------------------------------------------------


def test_standard_example_is_valid() -> None:
    assert check_digit(GB_11643_EXAMPLE[:17]) == "X"
    assert is_valid_id_number(GB_11643_EXAMPLE)
    assert birth_date_of(GB_11643_EXAMPLE) == date(1949, 12, 31)
    assert sex_of(GB_11643_EXAMPLE) == "female"


def test_known_male_number() -> None:
    number = make_id_number("310199", date(1980, 1, 2), 123, "male")
    assert number.startswith("31019919800102123")
    assert sex_of(number) == "male"
    assert birth_date_of(number) == date(1980, 1, 2)


def test_validate_normalises_whitespace_and_lower_case_x() -> None:
    assert validate_id_number(" 11010519491231002x\n") == GB_11643_EXAMPLE


def test_is_valid_requires_canonical_form() -> None:
    assert not is_valid_id_number("11010519491231002x")
    assert not is_valid_id_number(" " + GB_11643_EXAMPLE)


@pytest.mark.parametrize(
    ("number", "message_part"),
    [
        ("1101051949123100", "长度"),
        ("11010519491231002X1", "长度"),
        ("11010519491231002A", "校验位"),
        ("110105194912310021", "校验位"),
        ("1101051949A231002X", "前17位"),
        ("010105194912310025", "地址码"),
        ("110105194913310020", "出生日期"),
        ("110105194902300028", "出生日期"),
        ("110105189912310025", "出生日期"),
    ],
)
def test_validate_names_the_wrong_part(number: str, message_part: str) -> None:
    with pytest.raises(ValueError, match=message_part):
        validate_id_number(number, today=TODAY)
    assert not is_valid_id_number(number, today=TODAY)


def test_future_birth_date_is_rejected() -> None:
    number = make_id_number("310199", date(2026, 12, 1), 10, "male")
    assert is_valid_id_number(number, today=date(2026, 12, 1))
    with pytest.raises(ValueError, match="出生日期"):
        validate_id_number(number, today=TODAY)


def test_wrong_check_digit_message_gives_expected_value() -> None:
    with pytest.raises(ValueError, match="应为X"):
        validate_id_number(GB_11643_EXAMPLE[:17] + "1")


def test_make_id_number_fixes_sequence_parity() -> None:
    assert make_id_number("310199", date(1990, 5, 6), 100, "male")[14:17] == "101"
    assert make_id_number("310199", date(1990, 5, 6), 999, "female")[14:17] == "998"


@pytest.mark.parametrize(
    ("region", "seq", "sex"),
    [("031019", 1, "male"), ("31019", 1, "male"), ("310199", 1000, "male"), ("310199", 1, "other")],
)
def test_make_id_number_rejects_bad_input(region: str, seq: int, sex: str) -> None:
    with pytest.raises(ValueError):
        make_id_number(region, date(1990, 1, 1), seq, sex)


def test_masking() -> None:
    assert mask_id_number("310101199001011234") == "3101**********1234"
    assert mask_id_number("1234") == "****"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("12345") == "*****"


region_codes = st.from_regex(r"[1-9][0-9]{5}", fullmatch=True)
birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sexes = st.sampled_from(["male", "female"])


@given(region_codes, birth_dates, st.integers(min_value=0, max_value=999), sexes)
def test_make_id_number_is_always_valid(region: str, birth: date, seq: int, sex: str) -> None:
    number = make_id_number(region, birth, seq, sex)
    assert is_valid_id_number(number, today=TODAY)
    assert birth_date_of(number) == birth
    assert sex_of(number) == sex
    assert mask_id_number(number) == number[:4] + "*" * 10 + number[-4:]


@given(
    region_codes,
    birth_dates,
    st.integers(min_value=0, max_value=999),
    sexes,
    st.integers(min_value=0, max_value=16),
    st.integers(min_value=1, max_value=9),
)
def test_check_digit_round_trip_catches_any_single_digit_error(
    region: str, birth: date, seq: int, sex: str, position: int, shift: int
) -> None:
    number = make_id_number(region, birth, seq, sex)
    assert check_digit(number[:17]) == number[17]
    wrong = str((int(number[position]) + shift) % 10)
    mistyped = number[:position] + wrong + number[position + 1 :]
    assert check_digit(mistyped[:17]) != number[17]  # MOD 11-2 detects every single substitution
    assert not is_valid_id_number(mistyped, today=TODAY)


# --- 统一社会信用代码 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["91350100M000100Y43", "914403001922038216"])
def test_known_uscc_are_valid(code: str) -> None:
    assert is_valid_uscc(code)
    assert uscc_check_char(code[:17]) == code[17]


@pytest.mark.parametrize(
    "code",
    ["91350100M000100Y44", "91350100M000100Y4", "91350100M000100I43", "9135A100M000100Y43", ""],
)
def test_invalid_uscc(code: str) -> None:
    assert not is_valid_uscc(code)


def test_organization_code_check_char_matches_real_code() -> None:
    assert organization_code_check_char("19220382") == "1"


def test_uscc_check_char_rejects_forbidden_letters() -> None:
    with pytest.raises(ValueError):
        uscc_check_char("91350100M000100I4")


def test_generated_public_institution_code() -> None:
    code = make_uscc(random.Random(7), "310199")
    assert code.startswith("12310199")
    assert is_valid_uscc(code)
    assert code[16] == organization_code_check_char(code[8:16])


@given(st.integers(min_value=0, max_value=2**32), region_codes, st.sampled_from(["11", "12", "91", "52"]))
def test_make_uscc_is_always_valid(seed: int, region: str, org_type: str) -> None:
    code = make_uscc(random.Random(seed), region, org_type)
    assert is_valid_uscc(code)
    assert all(char in USCC_CHARSET for char in code)
