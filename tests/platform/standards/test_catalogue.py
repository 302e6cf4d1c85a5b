"""The starter catalogue in jizuo/platform/standards/catalogue: it loads, it is big enough, every FHIR path
exists in R4, every rule can run, and a broken catalogue is refused with a Chinese message."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from jizuo.fhir.validation import ID_CARD_SYSTEM
from jizuo.platform.quality.engine import Validator
from jizuo.platform.standards.checks import catalogue_problems, data_set_problems
from jizuo.platform.standards.fhir_paths import resolve
from jizuo.platform.standards.spec import (
    CATALOGUE_DIR,
    FORMAT_PATTERN,
    CatalogueSpec,
    DataSetSpec,
    ElementSpec,
    FieldSpec,
    RuleSpec,
    load_catalogue,
)

MRN_SYSTEM = "https://jizuo.example.org/fhir/sid/mrn"
CATALOGUE = load_catalogue()


def test_starter_catalogue_is_big_enough() -> None:
    assert len(CATALOGUE.data_sets) >= 12
    assert len(CATALOGUE.elements) >= 200
    assert len(CATALOGUE.value_domains) >= 20
    names = {d.name for d in CATALOGUE.data_sets.values()}
    assert {"个人基本信息", "门急诊就诊记录", "门急诊处方", "检查记录", "检验记录", "住院病案首页", "出院小结",
            "转诊记录", "高血压患者随访", "2型糖尿病患者随访", "预防接种记录", "诊断记录", "过敏史"} <= names


def test_catalogue_has_no_problems() -> None:
    assert catalogue_problems(CATALOGUE) == []


def test_identifiers_are_unique_across_files() -> None:
    """load_catalogue keys by id, so a duplicate in the YAML would silently replace an entry."""
    def ids(pattern: str, section: str, key: str) -> list[str]:
        return [raw[key] for path in sorted(CATALOGUE_DIR.glob(pattern))
                for raw in yaml.safe_load(path.read_text(encoding="utf-8"))[section]]

    for listed in (ids("elements*.yaml", "elements", "id"), ids("value_domains*.yaml", "value_domains", "code")):
        assert [i for i, n in Counter(listed).items() if n > 1] == []
    codes = [yaml.safe_load(p.read_text(encoding="utf-8"))["code"] for p in (CATALOGUE_DIR / "datasets").glob("*.yaml")]
    assert len(codes) == len(set(codes)) == len(CATALOGUE.data_sets)


def test_every_format_is_ws363() -> None:
    assert all(FORMAT_PATTERN.match(e.format) for e in CATALOGUE.elements.values())
    numeric_without_range = [e.id for e in CATALOGUE.elements.values()
                             if e.type == "N" and e.min is None and e.max is None]
    assert set(numeric_without_range) <= {"DE04.50.133.00", "DE04.50.137.00", "DE04.50.138.00"}  # lab values


def test_every_fhir_path_exists_in_r4() -> None:
    paths = [(d.code, f.fhir) for d in CATALOGUE.data_sets.values() for f in d.fields if f.fhir]
    paths += [(d.code, p) for d in CATALOGUE.data_sets.values() for p in d.fhir_fixed]
    assert len(paths) > 200
    for code, path in paths:
        target = resolve(path)
        assert target.resource in ("Patient", CATALOGUE.data_sets[code].resource), (code, path)


@pytest.mark.parametrize("code", sorted(CATALOGUE.data_sets))
def test_every_data_set_carries_patient_institution_and_event(code: str) -> None:
    data_set = CATALOGUE.data_sets[code]
    by_path = {f.fhir: f for f in data_set.fields if f.fhir}
    assert by_path["Patient.identifier[0]"].fhir_system == ID_CARD_SYSTEM
    assert by_path["Patient.identifier[0]"].element == "DE02.01.030.00"
    assert by_path["Patient.identifier[1]"].fhir_system == MRN_SYSTEM
    assert by_path["Patient.name[0].text"].element == "DE02.01.039.00"
    assert by_path["Patient.gender"].element == "DE02.01.040.00"
    assert by_path["Patient.birthDate"].element == "DE02.01.005.01"
    assert data_set.institution_field and data_set.field(data_set.institution_field).reference == "Organization"
    assert data_set.event_field
    types = {r.type for r in data_set.rules}
    assert {"idcard", "exists", "timeliness", "unique", "compare"} <= types
    exists = [r for r in data_set.rules if r.type == "exists" and r.params["field"] == data_set.institution_field]
    assert exists and exists[0].params["target"] == "Organization"


@pytest.mark.parametrize("code", sorted(CATALOGUE.data_sets))
def test_each_element_is_used_once_per_data_set(code: str) -> None:
    """A CSV column may be titled with the element id or name; one element per field keeps that unambiguous."""
    elements = Counter(f.element for f in CATALOGUE.data_sets[code].fields)
    assert [e for e, n in elements.items() if n > 1] == []


@pytest.mark.parametrize("code", sorted(CATALOGUE.data_sets))
def test_quality_engine_compiles_every_data_set(code: str) -> None:
    validator = Validator(CATALOGUE.data_sets[code], CATALOGUE)
    assert validator.rule_count >= len(CATALOGUE.data_sets[code].fields)


def test_lab_record_has_at_least_twenty_rules() -> None:
    lab = CATALOGUE.data_sets["EMR-LAB"]
    assert lab.resource == "Observation"
    assert len(lab.rules) >= 15
    assert Validator(lab, CATALOGUE).rule_count >= 20
    units = next(r for r in lab.rules if r.type == "unit_for_code").params["units"]
    assert units["GLU"] == ["mmol/L"]


def test_sex_codes_map_to_fhir_gender() -> None:
    sex = CATALOGUE.value_domains["GB/T 2261.1"]
    assert [v.code for v in sex.values] == ["0", "1", "2", "9"]
    assert sex.fhir_map == {"0": "unknown", "1": "male", "2": "female", "9": "unknown"}
    assert len(CATALOGUE.value_domains["ICD-10"].values) >= 50
    assert CATALOGUE.value_domains["ICD-10"].system == "http://hl7.org/fhir/sid/icd-10"


def test_loinc_codes_name_a_district_lab_item() -> None:
    lab_items = {v.display for v in CATALOGUE.value_domains["JZ.LAB_ITEM"].values}
    assert {v.display for v in CATALOGUE.value_domains["LOINC"].values} <= lab_items


# ---------------------------------------------------------------------------------------------- bad input

def _element(element_id: str = "DE02.01.039.00") -> ElementSpec:
    return ElementSpec(id=element_id, name="姓名", definition="姓名", type="S1", format="A..50")


def _data_set(**changes: object) -> DataSetSpec:
    raw: dict[str, object] = {"code": "T-1", "name": "测试", "resource": "Patient", "key": ["name"],
                              "fields": [{"name": "name", "element": "DE02.01.039.00", "fhir": "Patient.name[0].text"}]}
    raw.update(changes)
    return DataSetSpec.model_validate(raw)


def test_field_naming_a_missing_element_is_refused_in_chinese() -> None:
    bad = _data_set(fields=[{"name": "name", "element": "DE99.99.999.99"}])
    with pytest.raises(ValidationError, match="数据元 DE99.99.999.99 不存在"):
        CatalogueSpec(value_domains={}, elements={"DE02.01.039.00": _element()}, data_sets={"T-1": bad})


def test_rule_naming_a_missing_field_is_refused_in_chinese() -> None:
    bad = _data_set(rules=[RuleSpec(id="r1", type="compare", dimension="logic", message="x",
                                    params={"left": "name", "op": ">", "right": "nowhere"})])
    with pytest.raises(ValidationError, match="字段 nowhere 不存在"):
        CatalogueSpec(value_domains={}, elements={"DE02.01.039.00": _element()}, data_sets={"T-1": bad})


def test_element_with_a_missing_domain_or_bad_format_is_refused() -> None:
    with pytest.raises(ValidationError, match="不符合 WS 363"):
        ElementSpec(id="DE02.01.039.00", name="姓名", definition="姓名", type="S1", format="X50")
    coded = ElementSpec(id="DE02.01.040.00", name="性别代码", definition="性别", type="S3", format="N1",
                        value_domain="GB/T 0000")
    with pytest.raises(ValidationError, match="值域 GB/T 0000 不存在"):
        CatalogueSpec(value_domains={}, elements={coded.id: coded}, data_sets={})


def test_broken_yaml_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "datasets").mkdir()
    (tmp_path / "elements.yaml").write_text(yaml.safe_dump({"elements": [_element().model_dump()]}),
                                            encoding="utf-8")
    (tmp_path / "datasets" / "bad.yaml").write_text(yaml.safe_dump(
        {"code": "T-1", "name": "测试", "resource": "Patient", "key": ["name"],
         "fields": [{"name": "name", "element": "DE01.00.000.00"}]}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationError, match="T-1.name: 数据元 DE01.00.000.00 不存在"):
        load_catalogue(tmp_path)


def test_data_set_problems_list_every_mistake() -> None:
    bad = _data_set(
        resource="Observaton",
        fields=[FieldSpec(name="name", element="DE02.01.039.00", fhir="Patient.name.text"),
                FieldSpec(name="sex", element="DE02.01.040.00", fhir="Patient.gender"),
                FieldSpec(name="name", element="DE02.01.039.00")],
        rules=[RuleSpec(id="r1", type="timeliness", dimension="timeliness", message="x", params={"field": "name"}),
               RuleSpec(id="r2", type="required_if", dimension="completeness", message="x",
                        params={"field": "name", "when": {"field": "sex", "in": ["7"]}})])
    problems = data_set_problems(bad, CATALOGUE)
    text = "\n".join(problems)
    assert "Observaton 不是 FHIR R4 资源类型" in text
    assert "name 是列表，须写明下标" in text
    assert "字段名 name 重复" in text
    assert "缺少参数 hours" in text
    assert "条件代码 7 不在字段 sex 的值域中" in text
