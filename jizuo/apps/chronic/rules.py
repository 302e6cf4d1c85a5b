"""The clinical rules, as data and pure functions, so the tests can hit every edge.

Alert thresholds for urgent referral (国家基本公共卫生服务规范 第三版, 高血压/2型糖尿病患者健康管理服务规范):
SBP ≥ 180 or DBP ≥ 110 mmHg; glucose ≥ 16.7 or ≤ 3.9 mmol/L. Control targets: BP < 140/90 mmHg; fasting glucose
< 7.0 mmol/L. Values are compared as Decimal so 16.7 is 16.7, not 16.699999….
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

KINDS = ("blood_pressure", "glucose_fasting", "glucose_random", "weight", "spo2")
KIND_LABELS = {"blood_pressure": "血压", "glucose_fasting": "空腹血糖", "glucose_random": "随机血糖",
               "weight": "体重", "spo2": "血氧饱和度"}
UNITS = {"blood_pressure": "mmHg", "glucose_fasting": "mmol/L", "glucose_random": "mmol/L", "weight": "kg",
         "spo2": "%"}

SBP_URGENT = Decimal(180)
DBP_URGENT = Decimal(110)
GLUCOSE_HIGH = Decimal("16.7")
GLUCOSE_LOW = Decimal("3.9")
SBP_TARGET = Decimal(140)
DBP_TARGET = Decimal(90)
FASTING_GLUCOSE_TARGET = Decimal("7.0")
# SpO2 below 90 % at rest: urgent (respiratory failure range; the brief's threshold — see docs/chronic.md).
SPO2_LOW = Decimal(90)

# What a device can physically report; outside it the reading is kept but flagged as implausible (a cuff fault,
# a typo at a manual station) and raises no alert — a doctor sees it flagged on the trend instead.
PLAUSIBLE: dict[str, tuple[Decimal, Decimal]] = {
    "systolic": (Decimal(50), Decimal(300)), "diastolic": (Decimal(30), Decimal(200)),
    "pulse": (Decimal(20), Decimal(250)), "glucose": (Decimal("1.0"), Decimal("35.0")),
    "weight": (Decimal(2), Decimal(300)), "spo2": (Decimal(50), Decimal(100)),
}

DISEASES = {"hypertension": "高血压", "diabetes_t2": "2型糖尿病"}
# Every disease the team registers and follows up; COPD has its own plan and classification (copd.py).
MANAGED = {**DISEASES, "copd": "慢阻肺"}
FOLLOWUPS_PER_YEAR = 4
# Planned follow-ups a year and days between them, per disease.
PLANS = {"hypertension": (4, 91), "diabetes_t2": (4, 91), "copd": (2, 182)}
UNCONTROLLED_RECHECK_DAYS = 14
CLASSIFICATION_LABELS = {"satisfied": "控制满意", "unsatisfied": "控制不满意", "adverse_reaction": "不良反应",
                         "complication": "并发症"}


def _d(value: float | int | Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _show(value: Decimal) -> str:
    """181.0 → "181", 16.70 → "16.7" (what a person reads in the alert)."""
    return format(value.normalize(), "f")


@dataclass(frozen=True)
class Alarm:
    kind: str       # bp_high | glucose_high | glucose_low
    message: str


def urgent_alarms(kind: str, systolic: float | None = None, diastolic: float | None = None,
                  value: float | None = None) -> list[Alarm]:
    """The urgent-referral conditions a reading meets (none for weight)."""
    sbp, dbp, v = _d(systolic), _d(diastolic), _d(value)
    if kind == "blood_pressure" and sbp is not None and dbp is not None and (sbp >= SBP_URGENT or dbp >= DBP_URGENT):
        return [Alarm("bp_high", f"血压 {_show(sbp)}/{_show(dbp)} mmHg，达到紧急转诊标准（收缩压≥180 或舒张压≥110）")]
    if kind in ("glucose_fasting", "glucose_random") and v is not None:
        if v >= GLUCOSE_HIGH:
            return [Alarm("glucose_high", f"血糖 {_show(v)} mmol/L，达到紧急转诊标准（≥16.7）")]
        if v <= GLUCOSE_LOW:
            return [Alarm("glucose_low", f"血糖 {_show(v)} mmol/L，低血糖，达到紧急转诊标准（≤3.9）")]
    if kind == "spo2" and v is not None and v < SPO2_LOW:
        return [Alarm("spo2_low", f"血氧饱和度 {_show(v)}%，低于 90%，需紧急处理")]
    return []


def implausible_fields(kind: str, systolic: float | None, diastolic: float | None, pulse: float | None,
                       value: float | None) -> list[str]:
    checks: list[tuple[str, float | None]] = []
    if kind == "blood_pressure":
        checks = [("systolic", systolic), ("diastolic", diastolic), ("pulse", pulse)]
    elif kind in ("glucose_fasting", "glucose_random"):
        checks = [("glucose", value)]
    elif kind in ("weight", "spo2"):
        checks = [(kind, value)]
    bad = []
    for name, raw in checks:
        number = _d(raw)
        low, high = PLAUSIBLE[name]
        if number is not None and not low <= number <= high:
            bad.append(name)
    if kind == "blood_pressure" and systolic is not None and diastolic is not None and diastolic >= systolic:
        bad.append("diastolic")
    return bad


def bp_controlled(systolic: float | None, diastolic: float | None) -> bool | None:
    sbp, dbp = _d(systolic), _d(diastolic)
    if sbp is None or dbp is None:
        return None
    return sbp < SBP_TARGET and dbp < DBP_TARGET


def glucose_controlled(fasting_glucose: float | None) -> bool | None:
    g = _d(fasting_glucose)
    return None if g is None else g < FASTING_GLUCOSE_TARGET


def controlled(disease: str, systolic: float | None, diastolic: float | None,
               fasting_glucose: float | None, exacerbation: bool = False) -> bool | None:
    if disease == "copd":  # stable: no exacerbation since the last visit
        return not exacerbation
    return bp_controlled(systolic, diastolic) if disease == "hypertension" else glucose_controlled(fasting_glucose)


def classify_visit(disease: str, systolic: float | None, diastolic: float | None, fasting_glucose: float | None,
                   adverse_reaction: bool = False, complication: bool = False, exacerbation: bool = False) -> str:
    """随访分类: 并发症 > 不良反应 > 控制不满意 > 控制满意 (the spec's order of what needs acting on first)."""
    if complication:
        return "complication"
    if adverse_reaction:
        return "adverse_reaction"
    return "satisfied" if controlled(disease, systolic, diastolic, fasting_glucose, exacerbation) else "unsatisfied"
