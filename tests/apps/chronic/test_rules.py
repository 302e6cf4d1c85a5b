"""The thresholds at their edges (国家基本公共卫生服务规范): urgent referral and control targets."""

from __future__ import annotations

import pytest

from jizuo.apps.chronic import rules


@pytest.mark.parametrize(("sbp", "dbp", "urgent"), [
    (179, 109, False), (180, 109, True), (179, 110, True), (180, 110, True), (179.9, 109.9, False)])
def test_blood_pressure_urgent_edges(sbp: float, dbp: float, urgent: bool) -> None:
    assert bool(rules.urgent_alarms("blood_pressure", sbp, dbp)) is urgent


@pytest.mark.parametrize(("value", "kind"), [
    (16.6, None), (16.7, "glucose_high"), (20.0, "glucose_high"), (4.0, None), (3.9, "glucose_low"),
    (2.5, "glucose_low")])
def test_glucose_urgent_edges(value: float, kind: str | None) -> None:
    for reading_kind in ("glucose_fasting", "glucose_random"):
        alarms = rules.urgent_alarms(reading_kind, value=value)
        assert [a.kind for a in alarms] == ([kind] if kind else [])


def test_weight_never_alarms_and_spo2_below_90_does() -> None:
    assert rules.urgent_alarms("weight", value=200) == [] and rules.urgent_alarms("spo2", value=90) == []
    assert [a.kind for a in rules.urgent_alarms("spo2", value=89.9)] == ["spo2_low"]


@pytest.mark.parametrize(("sbp", "dbp", "controlled"), [(139, 89, True), (140, 89, False), (139, 90, False)])
def test_bp_control_target(sbp: float, dbp: float, controlled: bool) -> None:
    assert rules.bp_controlled(sbp, dbp) is controlled
    assert rules.classify_visit("hypertension", sbp, dbp, None) == ("satisfied" if controlled else "unsatisfied")


def test_glucose_control_target_and_classification_order() -> None:
    assert rules.glucose_controlled(6.9) is True and rules.glucose_controlled(7.0) is False
    assert rules.classify_visit("diabetes_t2", None, None, 6.0, adverse_reaction=True) == "adverse_reaction"
    assert rules.classify_visit("diabetes_t2", None, None, 6.0, True, complication=True) == "complication"


def test_implausible_values() -> None:
    assert rules.implausible_fields("blood_pressure", 320, 90, 70, None) == ["systolic"]
    assert rules.implausible_fields("blood_pressure", 120, 130, 70, None) == ["diastolic"]
    assert rules.implausible_fields("spo2", None, None, None, 101) == ["spo2"]
    assert rules.implausible_fields("glucose_fasting", None, None, None, 6.1) == []
