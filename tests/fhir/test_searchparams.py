"""Search-parameter definitions and index extraction (pure Python, no database).

The main check is differential: for every official R4 example of the resource types we index, the compiled
fast path must produce exactly the rows that fhirpathpy's evaluation of the same narrowed expression gives.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jizuo.fhir.searchparams import (
    DATE_MAX,
    DATE_MIN,
    IndexRows,
    extract_index,
    fallback_params,
    get_plan,
    get_registry,
    narrow_expression,
    normalise_string,
    parse_date_range,
)
from jizuo.fhir.searchparams.compiler import Unsupported, compile_branches, make_walker
from jizuo.fhir.searchparams.extract import INDEXED_TYPES
from jizuo.fhir.searchparams.fallback import FallbackParam, compile_fhirpath, convert_untyped, fhirpathpy_branches
from jizuo.fhir.searchparams.registry import CORE_RESOURCE_TYPES, element_types
from jizuo.fhir.searchparams.rows import Target

SCOPE = list(CORE_RESOURCE_TYPES)
TABLES = ("tokens", "strings", "dates", "references", "quantities", "numbers", "uris")

# Where the typed fast path is right and a shape-typed fhirpathpy result is not: (type, param, datatype skipped).
# CarePlan.activity.detail.scheduledString is free text ("every morning"); the example happens to hold a
# dateTime-looking string, which the untyped reference side parses as a date.
KNOWN_TYPED_DIFFERENCES = {("CarePlan", "activity-date")}


def reference_rows(resource: dict[str, Any]) -> IndexRows:
    """Rows from fhirpathpy evaluating each narrowed expression, typed by value shape."""
    rows = IndexRows()
    for code, param in get_registry().params_for(resource["resourceType"]).items():
        if param.type not in INDEXED_TYPES or not param.expression:
            continue
        for expression, resolve_is in fhirpathpy_branches(param.expression):
            values = compile_fhirpath(expression)(resource)
            convert_untyped(param.type, Target(code, param.targets, resolve_is), values, rows)
    rows.dedupe()
    return rows


def rows_of(rows: IndexRows, table: str, code: str) -> set[tuple[Any, ...]]:
    return {row for row in getattr(rows, table) if row[0] == code}


# --- registry ---------------------------------------------------------------------------------------------
def test_registry_has_every_resource_type_and_the_common_params() -> None:
    registry = get_registry()
    assert len(registry.resource_types()) >= 145
    assert set(SCOPE) <= set(registry.resource_types())
    for rtype in SCOPE:
        params = registry.params_for(rtype)
        for code, expression in {
            "_id": f"{rtype}.id",
            "_lastUpdated": f"{rtype}.meta.lastUpdated",
            "_tag": f"{rtype}.meta.tag",
            "_profile": f"{rtype}.meta.profile",
            "_security": f"{rtype}.meta.security",
            "_source": f"{rtype}.meta.source",
        }.items():
            assert params[code].expression == expression
    assert registry.param("Nope", "code") is None
    assert registry.params_for("Nope") == {}


def test_expressions_are_narrowed_to_the_resource_type() -> None:
    code = get_registry().param("Condition", "code")
    assert code is not None and code.expression == "Condition.code"
    assert code.base[0] == "AllergyIntolerance" and "Condition" in code.base
    patient = get_registry().param("Observation", "patient")
    assert patient is not None and patient.expression == "Observation.subject.where(resolve() is Patient)"
    assert "Patient" in patient.targets
    quantity = get_registry().param("Observation", "value-quantity")
    assert quantity is not None and quantity.comparators and "missing" in quantity.modifiers
    assert narrow_expression("A.x | (B.y as Quantity) | Resource.id", "B") == "(B.y as Quantity) | B.id"
    assert narrow_expression("A.x", "B") is None


def test_every_scope_param_compiles_without_fallback() -> None:
    for rtype in SCOPE:
        plan = get_plan(rtype)
        assert plan is not None and not plan.fallback_codes, rtype
        for code, param in get_registry().params_for(rtype).items():
            if param.type in INDEXED_TYPES and param.expression:
                assert compile_branches(param.expression, rtype), (rtype, code)
    assert fallback_params() == {}  # none in the whole R4 set today


# --- differential: fast path vs fhirpathpy over the official examples -------------------------------------
@pytest.mark.parametrize("rtype", SCOPE)
def test_fast_path_agrees_with_fhirpathpy_on_official_examples(
    rtype: str, fhir_examples: dict[str, list[tuple[str, dict[str, Any]]]]
) -> None:
    examples = fhir_examples.get(rtype, [])
    assert examples, f"no official example of {rtype}"
    for label, resource in examples:
        fast, slow = extract_index(resource), reference_rows(resource)
        for table in TABLES:
            got = {r for r in getattr(fast, table) if (rtype, r[0]) not in KNOWN_TYPED_DIFFERENCES}
            want = {r for r in getattr(slow, table) if (rtype, r[0]) not in KNOWN_TYPED_DIFFERENCES}
            assert got == want, f"{label} {table}: only fast {got - want}, only fhirpathpy {want - got}"


def test_examples_of_all_types_extract_without_error(
    fhir_examples: dict[str, list[tuple[str, dict[str, Any]]]],
) -> None:
    total = sum(len(extract_index(resource).tokens) for items in fhir_examples.values() for _, resource in items)
    assert total > 1000


# --- dates ------------------------------------------------------------------------------------------------
def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("2020", utc(2019, 12, 31, 16), utc(2020, 12, 31, 16)),
        ("2020-02", utc(2020, 1, 31, 16), utc(2020, 2, 29, 16)),
        ("2020-12", utc(2020, 11, 30, 16), utc(2020, 12, 31, 16)),
        ("2020-03-05", utc(2020, 3, 4, 16), utc(2020, 3, 5, 16)),
        ("2020-03-05T10:00:05Z", utc(2020, 3, 5, 10, 0, 5), utc(2020, 3, 5, 10, 0, 6)),
        ("2020-03-05T10:00:05+01:00", utc(2020, 3, 5, 9, 0, 5), utc(2020, 3, 5, 9, 0, 6)),
        ("2020-03-05T10:00:05.25Z", utc(2020, 3, 5, 10, 0, 5, 250000), utc(2020, 3, 5, 10, 0, 5, 260000)),
        ("2020-03-05T10:00", utc(2020, 3, 5, 2, 0), utc(2020, 3, 5, 2, 1)),  # minute, no zone: UTC+8
        ("1988-06-01", utc(1988, 5, 31, 15), utc(1988, 6, 1, 15)),  # China used summer time (+09:00) in 1988
        ("9999-12-31", utc(9999, 12, 30, 16), datetime.max.replace(tzinfo=UTC)),
    ],
)
def test_date_precision_ranges(value: str, start: datetime, end: datetime) -> None:
    assert parse_date_range(value) == (start, end)


@pytest.mark.parametrize("value", ["", "2020-13", "2020-02-30", "20", "0000", "2020-01-01T25:00:00Z", "yesterday"])
def test_invalid_dates_give_no_range(value: str) -> None:
    assert parse_date_range(value) is None


def test_period_open_ends_and_timing() -> None:
    enc = {"resourceType": "Encounter", "period": {"start": "2021-05-01"}}
    assert rows_of(extract_index(enc), "dates", "date") == {("date", utc(2021, 4, 30, 16), DATE_MAX)}
    enc["period"] = {"end": "2021-05-01T08:00:00+08:00"}
    assert rows_of(extract_index(enc), "dates", "date") == {("date", DATE_MIN, utc(2021, 5, 1, 0, 0, 1))}
    assert DATE_MIN.tzinfo is UTC and DATE_MAX.year == 9999
    req: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "dosageInstruction": [{"timing": {"event": ["2021-01-01"], "repeat": {"boundsPeriod": {"start": "2021"}}}}],
    }
    # MedicationRequest has no Timing date param; CarePlan.activity.detail.scheduledTiming has
    plan = {
        "resourceType": "CarePlan",
        "activity": [{"detail": {"scheduledTiming": req["dosageInstruction"][0]["timing"]}}],
    }
    assert rows_of(extract_index(plan), "dates", "activity-date") == {
        ("activity-date", utc(2020, 12, 31, 16), utc(2021, 1, 1, 16)),
        ("activity-date", utc(2020, 12, 31, 16), DATE_MAX),
    }


def test_observation_effective_choice_and_last_updated() -> None:
    obs = {
        "resourceType": "Observation",
        "effectiveDateTime": "2022-01-02",
        "meta": {"lastUpdated": "2022-01-03T00:00:00Z"},
    }
    rows = extract_index(obs)
    assert rows_of(rows, "dates", "date") == {("date", utc(2022, 1, 1, 16), utc(2022, 1, 2, 16))}
    assert rows_of(rows, "dates", "_lastUpdated") == {("_lastUpdated", utc(2022, 1, 3), utc(2022, 1, 3, 0, 0, 1))}


# --- references -------------------------------------------------------------------------------------------
def test_reference_forms() -> None:
    enc = {
        "resourceType": "Encounter",
        "subject": {"reference": "Patient/123/_history/2"},
        "participant": [
            {"individual": {"reference": "Practitioner/p1"}},
            {"individual": {"reference": "http://x.org/fhir/Practitioner/p2"}},
            {"individual": {"reference": "urn:uuid:7f0e-11"}},
            {"individual": {"reference": "#contained-1"}},
            {"individual": {"identifier": {"system": "urn:oid:1.2", "value": "9"}}},
        ],
    }
    rows = extract_index(enc)
    assert rows_of(rows, "references", "subject") == {("subject", "Patient", "123", "Patient/123/_history/2")}
    assert rows_of(rows, "references", "patient") == {("patient", "Patient", "123", "Patient/123/_history/2")}
    assert rows_of(rows, "references", "participant") == {
        ("participant", "Practitioner", "p1", "Practitioner/p1"),
        ("participant", "Practitioner", "p2", "http://x.org/fhir/Practitioner/p2"),
        ("participant", None, None, "urn:uuid:7f0e-11"),
    }
    # practitioner = participant.individual.where(resolve() is Practitioner): the urn:uuid is dropped
    assert {r[2] for r in rows_of(rows, "references", "practitioner")} == {"p1", "p2"}


def test_resolve_is_keeps_only_that_target_type() -> None:
    obs = {"resourceType": "Observation", "subject": {"reference": "Group/g1"}}
    rows = extract_index(obs)
    assert rows_of(rows, "references", "subject") == {("subject", "Group", "g1", "Group/g1")}
    assert rows_of(rows, "references", "patient") == set()


def test_canonical_reference_takes_the_only_target() -> None:
    qr = {"resourceType": "QuestionnaireResponse", "questionnaire": "http://example.org/q/phq9|2.0"}
    rows = extract_index(qr)
    assert rows_of(rows, "references", "questionnaire") == {
        ("questionnaire", "Questionnaire", None, "http://example.org/q/phq9|2.0")
    }


# --- tokens and strings -----------------------------------------------------------------------------------
def test_tokens_from_codeable_concept_identifier_contact_point_boolean_and_meta() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "active": True,
        "meta": {
            "tag": [{"system": "urn:t", "code": "demo"}],
            "security": [{"system": "urn:s", "code": "R"}],
            "profile": ["http://jizuo.org/fhir/StructureDefinition/cn-patient"],
            "source": "http://his.example/1",
        },
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "110101199003070000"}],
        "telecom": [{"system": "phone", "value": "13800000000"}, {"system": "email", "value": "a@b.cn"}],
        "maritalStatus": {"coding": [{"system": "urn:m", "code": "M", "display": "已婚"}], "text": "married"},
    }
    rows = extract_index(patient)
    assert rows_of(rows, "tokens", "_id") == {("_id", None, "p1", None)}
    assert rows_of(rows, "tokens", "active") == {("active", None, "true", None)}
    assert rows_of(rows, "tokens", "_tag") == {("_tag", "urn:t", "demo", None)}
    assert rows_of(rows, "tokens", "_security") == {("_security", "urn:s", "R", None)}
    assert rows_of(rows, "uris", "_profile") == {("_profile", "http://jizuo.org/fhir/StructureDefinition/cn-patient")}
    assert rows_of(rows, "uris", "_source") == {("_source", "http://his.example/1")}
    assert rows_of(rows, "tokens", "identifier") == {
        ("identifier", "urn:oid:2.16.156.10011.1.3", "110101199003070000", None)
    }
    assert rows_of(rows, "tokens", "phone") == {("phone", "phone", "13800000000", None)}
    assert rows_of(rows, "tokens", "email") == {("email", "email", "a@b.cn", None)}
    assert len(rows_of(rows, "tokens", "telecom")) == 2
    assert rows_of(rows, "tokens", "deceased") == {("deceased", None, "false", None)}
    cond = {
        "resourceType": "Condition",
        "code": {"coding": [{"system": "urn:icd", "code": "I10", "display": "HT"}], "text": "高血压"},
    }
    assert rows_of(extract_index(cond), "tokens", "code") == {
        ("code", "urn:icd", "I10", "HT"),
        ("code", None, None, "高血压"),
    }


def test_patient_deceased_is_true_for_a_date() -> None:
    rows = extract_index({"resourceType": "Patient", "deceasedDateTime": "2020-01-01"})
    assert rows_of(rows, "tokens", "deceased") == {("deceased", None, "true", None)}
    assert rows_of(rows, "dates", "death-date") == {("death-date", utc(2019, 12, 31, 16), utc(2020, 1, 1, 16))}


def test_chinese_full_name_and_normalisation() -> None:
    patient = {
        "resourceType": "Patient",
        "name": [{"family": "张", "given": ["伟"]}, {"family": "Müller", "given": ["José"]}],
    }
    rows = extract_index(patient)
    assert rows_of(rows, "strings", "name") == {
        ("name", "张", "张"),
        ("name", "伟", "伟"),
        ("name", "张伟", "张伟"),
        ("name", "muller", "Müller"),
        ("name", "jose", "José"),
    }
    assert ("family", "张", "张") in rows.strings and ("given", "伟", "伟") in rows.strings
    assert normalise_string("  ＡＢＣ\t  Straße ") == "abc strasse"


def test_address_strings() -> None:
    org = {"resourceType": "Organization", "address": [{"line": ["中山路1号"], "city": "杭州市", "district": "西湖区"}]}
    assert {r[2] for r in rows_of(extract_index(org), "strings", "address")} == {"中山路1号", "杭州市", "西湖区"}


# --- quantities -------------------------------------------------------------------------------------------
def test_quantities_from_value_and_components() -> None:
    ucum = "http://unitsofmeasure.org"
    obs = {
        "resourceType": "Observation",
        "valueQuantity": {"value": 6.3, "unit": "mmol/L", "system": ucum, "code": "mmol/L"},
        "component": [
            {"code": {"text": "sys"}, "valueQuantity": {"value": 120, "system": ucum, "code": "mm[Hg]"}},
            {"code": {"text": "dia"}, "valueQuantity": {"value": 80, "unit": "mmHg"}},
            {"code": {"text": "note"}, "valueString": "sitting"},
        ],
    }
    rows = extract_index(obs)
    assert rows_of(rows, "quantities", "value-quantity") == {("value-quantity", Decimal("6.3"), ucum, "mmol/L")}
    assert rows_of(rows, "quantities", "component-value-quantity") == {
        ("component-value-quantity", Decimal(120), ucum, "mm[Hg]"),
        ("component-value-quantity", Decimal(80), None, "mmHg"),
    }
    assert len(rows_of(rows, "quantities", "combo-value-quantity")) == 3
    claim = {"resourceType": "Claim", "total": {"value": 12.5, "currency": "CNY"}}
    assert get_registry().param("Claim", "total") is None  # R4 Claim has no money param; Coverage none either
    assert extract_index(claim).quantities == []


# --- robustness and fallback ------------------------------------------------------------------------------
def test_unknown_or_untyped_resources_give_no_rows() -> None:
    assert extract_index({"resourceType": "Nope", "id": "1"}) == IndexRows()
    assert extract_index({"id": "1"}) == IndexRows()


def test_unsupported_fhirpath_falls_back_to_fhirpathpy() -> None:
    with pytest.raises(Unsupported):
        compile_branches("Patient.name.select(given)", "Patient")
    rows = IndexRows()
    FallbackParam("given-x", "string", "Patient.name.select(given)", ()).run(
        {"resourceType": "Patient", "name": [{"given": ["Ann", "Bo"]}]}, rows
    )
    assert {r[2] for r in rows.strings} == {"Ann", "Bo"}


def test_compiler_handles_extensions_indexers_and_where() -> None:
    # e.g. a Chinese profile's parameter on the 民族 (ethnicity) extension
    branches = compile_branches("Patient.extension('http://jizuo.org/ext/ethnicity').value as Coding", "Patient")
    assert [(b.root_key, b.datatype) for b in branches] == [("extension", "Coding")]
    walk = make_walker(branches[0].steps)
    exts = [{"url": "http://jizuo.org/ext/ethnicity", "valueCoding": {"code": "01"}}, {"url": "x", "valueCoding": {}}]
    assert walk(exts) == [{"code": "01"}]
    bundle = {
        "resourceType": "Bundle",
        "type": "document",
        "entry": [{"resource": {"resourceType": "Composition", "id": "c1"}}],
    }
    assert rows_of(extract_index(bundle), "references", "composition") == {
        ("composition", "Composition", "c1", "Composition/c1")
    }


def _element_keys(rtype: str) -> list[str]:
    keys = []
    for path, types in element_types()[rtype].items():
        if "." in path:
            continue
        if path.endswith("[x]"):
            keys += [path[:-3] + t[0].upper() + t[1:] for t in types.split("|")]
        else:
            keys.append(path)
    return keys


_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12),
    st.sampled_from(["2020", "2020-01-02T03:04:05Z", "Patient/1", "urn:uuid:1", "#a", "http://x/Patient/2"]),
)  # fmt: skip
_JSON = st.recursive(
    _LEAF,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(
        st.sampled_from(["reference", "system", "code", "value", "coding", "text", "start", "end", "family", "given",
                         "low", "high", "event", "repeat", "currency", "unit", "line", "resourceType", "id", "url"]),
        inner, max_size=4,
    ),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), rtype=st.sampled_from(SCOPE))
def test_extract_index_never_crashes(data: st.DataObject, rtype: str) -> None:
    keys = data.draw(st.lists(st.sampled_from(_element_keys(rtype)), max_size=8))
    resource: dict[str, Any] = {"resourceType": rtype, **{k: data.draw(_JSON) for k in keys}}
    rows = extract_index(resource)
    assert all(isinstance(r[0], str) and len(r) == 4 for r in rows.tokens)
    assert all(isinstance(r[1], datetime) and r[1].tzinfo is not None for r in rows.dates)
    assert all(isinstance(r[1], Decimal) for r in rows.quantities)
    assert all(isinstance(r[1], Decimal) for r in rows.numbers)
