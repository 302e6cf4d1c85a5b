"""The quality engine on a small hand-made data set: every rule type, passing and failing, at its edges."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jizuo.core.clock import SHANGHAI
from jizuo.core.idcard import make_id_number
from jizuo.platform.quality.engine import Context, References, Validator, header_map
from jizuo.platform.quality.values import format_description
from jizuo.platform.standards.spec import CatalogueSpec, DataSetSpec, ElementSpec, RuleSpec, ValueDomainSpec

RECEIVED = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
ID_NUMBER = make_id_number("310104", date(1960, 5, 17), 123, "male")


def element(id_: str, name: str, type_: str, fmt: str, **extra: object) -> ElementSpec:
    return ElementSpec.model_validate({"id": id_, "name": name, "definition": name, "type": type_, "format": fmt,
                                       **extra})


CATALOGUE = CatalogueSpec(
    value_domains={"GB/T 2261.1": ValueDomainSpec(code="GB/T 2261.1", name="生理性别", system="urn:sex", values=[
        {"code": c, "display": d} for c, d in [("0", "未知"), ("1", "男"), ("2", "女"), ("9", "未说明")]])},
    elements={e.id: e for e in [
        element("DE01.00.001.00", "记录号", "S1", "AN..20"),
        element("DE02.01.030.00", "身份证件号码", "S1", "AN18"),
        element("DE02.01.040.00", "性别代码", "S3", "N1", value_domain="GB/T 2261.1"),
        element("DE02.01.005.01", "出生日期", "D", "D8"),
        element("DE04.10.174.00", "收缩压", "N", "N..3", unit="mmHg", min=40, max=300),
        element("DE04.10.176.00", "舒张压", "N", "N..3", unit="mmHg", min=20, max=200),
        element("DE04.50.001.00", "血糖", "N", "N..4,1", unit="mmol/L"),
        element("DE04.50.002.00", "检验项目代码", "S1", "AN..20"),
        element("DE04.50.003.00", "计量单位", "S1", "A..20"),
        element("DE06.00.001.00", "就诊日期时间", "DT", "DT15"),
        element("DE04.01.001.00", "孕周", "N", "N..2"),
        element("DE08.10.052.00", "机构代码", "S1", "AN..32"),
    ]},
    data_sets={},
)


def make_set(rules: list[dict[str, object]]) -> DataSetSpec:
    return DataSetSpec.model_validate({
        "code": "TEST", "name": "测试", "resource": "Observation", "key": ["record_no"], "event_field": "visit_time",
        "fields": [
            {"name": "record_no", "element": "DE01.00.001.00", "required": True},
            {"name": "id_number", "element": "DE02.01.030.00", "required": True},
            {"name": "sex", "element": "DE02.01.040.00", "required": True},
            {"name": "birth_date", "element": "DE02.01.005.01"},
            {"name": "sbp", "element": "DE04.10.174.00"},
            {"name": "dbp", "element": "DE04.10.176.00"},
            {"name": "glucose", "element": "DE04.50.001.00"},
            {"name": "item_code", "element": "DE04.50.002.00"},
            {"name": "unit", "element": "DE04.50.003.00"},
            {"name": "visit_time", "element": "DE06.00.001.00", "required": True},
            {"name": "gestation_weeks", "element": "DE04.01.001.00"},
            {"name": "org_code", "element": "DE08.10.052.00", "label": "上报机构"},
        ],
        "rules": [RuleSpec.model_validate({"dimension": "logic", "message": "规则不满足", **r}) for r in rules],
    })


def check(data_set: DataSetSpec, seen: set | None = None, **raw: str):
    row = {"record_no": "R1", "id_number": ID_NUMBER, "sex": "1", "visit_time": "20261125T080000", **raw}
    ctx = Context(RECEIVED, References(organizations=frozenset({"JC-H001"})), seen if seen is not None else set())
    return Validator(data_set, CATALOGUE).check(row, ctx)


def rules_failed(result) -> list[str]:
    return [f.rule for f in result.failures]


PLAIN = make_set([])


def test_a_complete_record_passes() -> None:
    result = check(PLAIN, birth_date="1960-05-17", sbp="128", dbp="82")
    assert result.passed and result.failures == []
    assert result.required_total == result.required_filled == 4
    assert result.values["sbp"] == 128.0 and result.values["birth_date"] == date(1960, 5, 17)


def test_missing_required_field_is_a_completeness_failure() -> None:
    result = check(PLAIN, sex="")
    assert rules_failed(result) == ["sex.required"]
    assert result.failures[0].dimension == "completeness"
    assert "性别代码" in result.failures[0].message and result.required_filled == 3


def test_format_domain_and_range_are_conformity_failures_all_reported_at_once() -> None:
    result = check(PLAIN, sex="3", birth_date="1960-13-01", sbp="301", id_number="31010419600517123")
    assert sorted(rules_failed(result)) == ["birth_date.format", "id_number.format", "sbp.range", "sex.domain"]
    assert {f.dimension for f in result.failures} == {"conformity"}
    assert not result.passed


@pytest.mark.parametrize(("sbp", "ok"), [("40", True), ("39", False), ("300", True), ("1000", False)])
def test_element_range_edges(sbp: str, ok: bool) -> None:
    assert check(PLAIN, sbp=sbp).passed is ok


def test_number_formats() -> None:
    assert check(PLAIN, glucose="7.4").passed
    assert rules_failed(check(PLAIN, glucose="7.45")) == ["glucose.format"]  # N..4,1: one decimal at most
    assert rules_failed(check(PLAIN, sbp="12a")) == ["sbp.format"]


@pytest.mark.parametrize("text", ["19600517", "1960-05-17", "1960/5/17", "1960年5月17日"])
def test_date_spellings_institutions_use(text: str) -> None:
    assert check(PLAIN, birth_date=text).values["birth_date"] == date(1960, 5, 17)


@pytest.mark.parametrize("text", ["20261125T080000", "2026-11-25 08:00:00", "2026-11-25T08:00", "20261125080000"])
def test_datetime_spellings_are_read_in_shanghai_time(text: str) -> None:
    assert check(PLAIN, visit_time=text).values["visit_time"] == datetime(2026, 11, 25, 8, tzinfo=SHANGHAI)


def test_compare_sbp_greater_than_dbp() -> None:
    data_set = make_set([{"id": "BP", "type": "compare", "params": {"left": "sbp", "op": ">", "right": "dbp"}}])
    assert check(data_set, sbp="120", dbp="80").passed
    assert rules_failed(check(data_set, sbp="80", dbp="80")) == ["BP"]
    assert check(data_set, sbp="120").passed  # nothing to compare against: completeness is another rule's job


def test_idcard_check_digit_birth_and_sex_agreement() -> None:
    data_set = make_set([{"id": "ID", "type": "idcard",
                          "params": {"field": "id_number", "birth_field": "birth_date", "sex_field": "sex"}}])
    assert check(data_set, birth_date="19600517").passed
    wrong_digit = ID_NUMBER[:17] + ("0" if ID_NUMBER[17] != "0" else "1")
    assert "校验位" in check(data_set, id_number=wrong_digit).failures[0].message
    assert "出生日期" in check(data_set, birth_date="19600518").failures[0].message
    assert "性别" in check(data_set, sex="2").failures[0].message


def test_required_if_and_forbidden_if() -> None:
    data_set = make_set([
        {"id": "PREG-M", "type": "forbidden_if", "params": {"field": "gestation_weeks",
                                                            "when": {"field": "sex", "in": ["1"]}}},
        {"id": "UNIT", "type": "required_if", "params": {"field": "unit", "when": {"field": "item_code",
                                                                                  "in": ["GLU"]}}},
    ])
    assert rules_failed(check(data_set, gestation_weeks="12")) == ["PREG-M"]
    assert check(data_set, sex="2", gestation_weeks="12").passed
    assert rules_failed(check(data_set, item_code="GLU")) == ["UNIT"]
    assert check(data_set, item_code="GLU", unit="mmol/L").passed


@pytest.mark.parametrize(("birth", "ok"), [("20061126", False), ("20061125", True), ("19660101", True),
                                           ("19651124", False)])
def test_age_between_edges(birth: str, ok: bool) -> None:
    # Pregnancy plausible between 20 and 60 years of age on the visit date (2026-11-25).
    data_set = make_set([{"id": "AGE", "type": "age_between", "params": {
        "birth_field": "birth_date", "date_field": "visit_time", "min": 20, "max": 60,
        "when": {"field": "sex", "in": ["2"]}}}])
    number = make_id_number("310104", datetime.strptime(birth, "%Y%m%d").date(), 124, "female")
    assert check(data_set, sex="2", birth_date=birth, id_number=number).passed is ok


def test_unit_for_code() -> None:
    data_set = make_set([{"id": "U", "type": "unit_for_code", "params": {
        "field": "unit", "code_field": "item_code", "units": {"GLU": ["mmol/L"]}}}])
    assert check(data_set, item_code="GLU", unit="MMOL/L").passed
    assert rules_failed(check(data_set, item_code="GLU", unit="mg/dL")) == ["U"]
    assert check(data_set, item_code="ALT", unit="U/L").passed


def test_exists_checks_the_registry_codes() -> None:
    data_set = make_set([{"id": "ORG", "type": "exists", "dimension": "referential",
                          "params": {"field": "org_code", "target": "Organization"}}])
    assert check(data_set, org_code="JC-H001").passed
    assert rules_failed(check(data_set, org_code="JC-X999")) == ["ORG"]


@pytest.mark.parametrize(("hours_ago", "late"), [(23.9, False), (24.1, True)])
def test_timeliness_is_a_warning_when_so_configured(hours_ago: float, late: bool) -> None:
    data_set = make_set([{"id": "T", "type": "timeliness", "dimension": "timeliness", "severity": "warning",
                          "params": {"field": "visit_time", "hours": 24}}])
    visit = (RECEIVED - timedelta(hours=hours_ago)).strftime("%Y-%m-%d %H:%M:%S")
    result = check(data_set, visit_time=visit)
    assert result.late is late and result.passed  # late, but not held back


def test_unique_within_a_batch() -> None:
    data_set = make_set([{"id": "UQ", "type": "unique", "dimension": "uniqueness",
                          "params": {"fields": ["record_no"]}}])
    seen: set = set()
    assert check(data_set, seen).passed
    assert rules_failed(check(data_set, seen)) == ["UQ"]


def test_headers_may_be_field_names_element_ids_element_names_or_labels() -> None:
    mapping = header_map(PLAIN, CATALOGUE, ["record_no", "DE02.01.030.00", "性别代码", "上报机构", "备注"])
    assert mapping == {"record_no": "record_no", "DE02.01.030.00": "id_number", "性别代码": "sex",
                       "上报机构": "org_code"}


def test_a_catalogue_naming_a_missing_element_is_refused_in_chinese() -> None:
    with pytest.raises(ValueError, match="数据元 DE99.99.999.99 不存在"):
        CatalogueSpec(value_domains={}, elements={}, data_sets={"X": DataSetSpec.model_validate({
            "code": "X", "name": "X", "resource": "Observation", "key": ["a"],
            "fields": [{"name": "a", "element": "DE99.99.999.99"}]})})


def test_format_descriptions_read_in_chinese() -> None:
    assert format_description("AN..18") == "最多18位字母数字"
    assert format_description("N1") == "1位数字"
    assert format_description("D8") == "日期(YYYYMMDD)"


@given(st.text(max_size=30))
def test_no_input_makes_the_engine_raise(text: str) -> None:
    everything = {name: text for name in ("record_no", "id_number", "sex", "birth_date", "sbp", "dbp", "glucose",
                                          "item_code", "unit", "visit_time", "gestation_weeks", "org_code")}
    data_set = make_set([
        {"id": "BP", "type": "compare", "params": {"left": "sbp", "op": ">", "right": "dbp"}},
        {"id": "ID", "type": "idcard", "params": {"field": "id_number", "birth_field": "birth_date",
                                                  "sex_field": "sex"}},
        {"id": "T", "type": "timeliness", "dimension": "timeliness", "params": {"field": "visit_time", "hours": 24}},
    ])
    ctx = Context(RECEIVED, References(), set())
    Validator(data_set, CATALOGUE).check(everything, ctx)
