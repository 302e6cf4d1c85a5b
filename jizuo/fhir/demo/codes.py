"""Code systems and clinical vocabulary of the synthetic demo history: ICD-10 diagnoses, LOINC tests with UCUM
units and reference ranges, ATC-coded medicines, all with Chinese displays.

Reference ranges follow the Chinese adult ranges printed on lab reports (WS/T 404, WS/T 405); they are for
plausible demo data, not clinical use.
"""

from __future__ import annotations

from dataclasses import dataclass

ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ATC = "http://www.whocc.no/atc"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
REPORT_CATEGORY = "http://terminology.hl7.org/CodeSystem/v2-0074"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
DISCHARGE = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
# Project naming systems (documented in docs/fhir-bulk.md); 身份证 uses the national OID from validation.py.
INSURANCE_SYSTEM = "https://jizuo.dev/fhir/NamingSystem/medical-insurance-card"
ENCOUNTER_TYPE_SYSTEM = "https://jizuo.dev/fhir/CodeSystem/encounter-type"

CHRONIC_ICD: dict[str, tuple[str, str]] = {
    "hypertension": ("I10", "原发性高血压"),
    "diabetes_t2": ("E11.9", "2型糖尿病，不伴有并发症"),
    "copd": ("J44.9", "慢性阻塞性肺疾病"),
}


@dataclass(frozen=True)
class Acute:
    code: str
    display: str
    weight: float  # relative frequency among outpatient visits
    child: bool = True  # seen in children too
    lab: bool = False  # a blood count is usually ordered


ACUTE: tuple[Acute, ...] = (
    Acute("J06.9", "急性上呼吸道感染", 30, lab=True),
    Acute("J02.9", "急性咽炎", 10),
    Acute("J20.9", "急性支气管炎", 9, lab=True),
    Acute("K29.7", "胃炎", 7, child=False),
    Acute("A09.9", "胃肠炎和结肠炎", 7, lab=True),
    Acute("M54.5", "下背痛", 6, child=False),
    Acute("R51", "头痛", 4),
    Acute("H10.9", "结膜炎", 4),
    Acute("L30.9", "皮炎", 5),
    Acute("N39.0", "泌尿道感染", 4, child=False, lab=True),
    Acute("J18.9", "肺炎", 2, lab=True),
)

INPATIENT: dict[str, tuple[str, str]] = {
    "pneumonia": ("J18.9", "肺炎"),
    "copd_exacerbation": ("J44.1", "慢性阻塞性肺疾病伴有急性加重"),
    "stroke": ("I63.9", "脑梗死"),
    "chd": ("I25.1", "动脉硬化性心脏病"),
}


@dataclass(frozen=True)
class Test:
    code: str
    display: str
    unit: str  # UCUM
    low: float | None
    high: float | None
    decimals: int = 1
    female_low: float | None = None  # sex-specific ranges where the lab prints them
    female_high: float | None = None

    def range_for(self, gender: str) -> tuple[float | None, float | None]:
        if gender == "female" and (self.female_low is not None or self.female_high is not None):
            return self.female_low, self.female_high
        return self.low, self.high


SYSTOLIC = Test("8480-6", "收缩压", "mm[Hg]", 90, 139, 0)
DIASTOLIC = Test("8462-4", "舒张压", "mm[Hg]", 60, 89, 0)
BP_PANEL = ("85354-9", "血压")
WEIGHT = Test("29463-7", "体重", "kg", None, None)
HEIGHT = Test("8302-2", "身高", "cm", None, None)
GLUCOSE = Test("1558-6", "空腹血糖", "mmol/L", 3.9, 6.1, 1)
HBA1C = Test("4548-4", "糖化血红蛋白", "%", 4.0, 6.0, 1)
HEMOGLOBIN = Test("718-7", "血红蛋白", "g/L", 130, 175, 0, 115, 150)
WBC = Test("6690-2", "白细胞计数", "10*9/L", 3.5, 9.5, 2)
PLATELETS = Test("777-3", "血小板计数", "10*9/L", 125, 350, 0)
ALT = Test("1742-6", "丙氨酸氨基转移酶", "U/L", 9, 50, 0, 7, 40)
AST = Test("1920-8", "天门冬氨酸氨基转移酶", "U/L", 15, 40, 0, 13, 35)
CREATININE = Test("2160-0", "肌酐", "umol/L", 57, 111, 0, 41, 81)

CBC_PANEL = ("58410-2", "全血细胞计数")
CHEMISTRY_PANEL = ("24323-8", "肝肾功能及血糖")
HBA1C_PANEL = ("4548-4", "糖化血红蛋白测定")
CHEST_CT = ("24627-2", "胸部CT")
ABDOMINAL_US = ("24558-9", "腹部超声")

CHEST_CT_FINDINGS: tuple[tuple[str, str], ...] = (
    ("双肺纹理清晰，未见明确实变及结节影，纵隔淋巴结未见肿大。", "胸部CT平扫未见明显异常。"),
    ("右肺上叶见一枚直径约4mm实性微小结节，边界清。", "右肺上叶微小结节，建议12个月后复查。"),
    ("双肺透亮度增高，肺纹理稀疏紊乱，可见多发肺大疱。", "慢性支气管炎、肺气肿表现。"),
    ("右肺下叶见斑片状模糊影，边界不清。", "右肺下叶炎症，建议抗感染治疗后复查。"),
)
ABDOMINAL_US_FINDINGS: tuple[tuple[str, str], ...] = (
    ("肝脏大小形态正常，实质回声均匀；胆囊、胰腺、脾脏、双肾未见明显异常。", "腹部超声未见明显异常。"),
    ("肝脏实质回声细密增强，后方回声衰减。", "脂肪肝（轻度）。"),
    ("胆囊内见一强回声团，大小约8mm×6mm，后伴声影，可随体位移动。", "胆囊结石。"),
    ("右肾见一无回声区，大小约12mm×10mm，边界清，后方回声增强。", "右肾囊肿。"),
)


@dataclass(frozen=True)
class Medicine:
    atc: str
    display: str
    dosage: str
    per_day: int


MEDICINES: dict[str, tuple[Medicine, ...]] = {
    "hypertension": (
        Medicine("C08CA01", "苯磺酸氨氯地平片 5mg", "口服，每日一次，每次5mg", 1),
        Medicine("C09CA03", "缬沙坦胶囊 80mg", "口服，每日一次，每次80mg", 1),
        Medicine("C08CA05", "硝苯地平控释片 30mg", "口服，每日一次，每次30mg，整片吞服", 1),
    ),
    "diabetes_t2": (
        Medicine("A10BA02", "盐酸二甲双胍片 0.5g", "口服，每日三次，每次0.5g，餐中或餐后服用", 3),
        Medicine("A10BF01", "阿卡波糖片 50mg", "口服，每日三次，每次50mg，与第一口饭同时嚼服", 3),
    ),
    "copd": (
        Medicine("R03BB04", "噻托溴铵吸入粉雾剂 18μg", "吸入，每日一次，每次18μg", 1),
        Medicine("R03AK06", "沙美特罗替卡松吸入粉雾剂 50μg/250μg", "吸入，每日两次，每次1吸", 2),
    ),
}
