"""Synthetic records of any catalogue data set, as an institution's export would hold them.

Generated from the data set's own definition — fields, elements, value domains and rules — so every data
set, including ones an administrator adds later, gets rows that pass its rules; `spoil` then breaks a row in
one of the ways real exports go wrong (missing required value, bad 身份证 check digit, impossible dates,
out-of-range or undefined codes), for demos, tests and the ingest benchmark.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from jizuo.core.clock import SHANGHAI
from jizuo.core.idcard import make_id_number
from jizuo.platform.demo.names import pick_full_name
from jizuo.platform.ingest.mapping import MRN_SYSTEM
from jizuo.platform.quality.values import FORMAT_PATTERN
from jizuo.platform.standards.spec import CatalogueSpec, DataSetSpec, ElementSpec, FieldSpec

REGIONS = ("310104", "310112", "310115", "320102", "330106")


@dataclass
class RowContext:
    organizations: list[str]
    practitioners: list[str]
    now: datetime
    # Patients drawn from a pool of this size (a hospital's lab rows are mostly repeat patients); 0: each row
    # a new person.
    patients: int = 0


class RowGenerator:
    def __init__(self, data_set: DataSetSpec, catalogue: CatalogueSpec, context: RowContext, seed: int = 1) -> None:
        self.data_set = data_set
        self.catalogue = catalogue
        self.context = context
        self.rng = random.Random(seed)
        self.counter = 0
        self.pool: list[dict[str, Any]] = []
        rules = data_set.rules
        self.idcards = [r.params for r in rules if r.type == "idcard"]
        self.forbidden = [r.params for r in rules if r.type == "forbidden_if"]
        self.required_if = [r.params for r in rules if r.type == "required_if"]
        self.compares = [r.params for r in rules if r.type == "compare"]
        self.units = [r.params for r in rules if r.type == "unit_for_code"]
        self.exists = {r.params["field"]: r.params["target"] for r in rules if r.type == "exists"}
        self.ranges = {r.params["field"]: r.params for r in rules if r.type == "range"}

    # ------------------------------------------------------------------ one good row

    def _person(self) -> dict[str, Any]:
        rng = self.rng
        if self.context.patients and len(self.pool) >= self.context.patients:
            return rng.choice(self.pool)
        sex = rng.choice(("male", "female"))
        birth = date(rng.randint(1940, 1995), rng.randint(1, 12), rng.randint(1, 28))
        person = {"sex": sex, "birth": birth, "id": make_id_number(rng.choice(REGIONS), birth, rng.randint(1, 999),
                                                                  sex),
                  "name": pick_full_name(rng, sex, birth.year), "mrn": f"M{rng.randint(10**7, 10**8 - 1)}",
                  "phone": "13" + "".join(rng.choices(string.digits, k=9))}
        if self.context.patients:
            self.pool.append(person)
        return person

    def row(self) -> dict[str, str]:
        self.counter += 1
        person = dict(self._person(), event=self.context.now - timedelta(minutes=self.rng.randint(30, 600)))
        values: dict[str, Any] = {}
        for f in self.data_set.fields:
            values[f.name] = self._value(f, self.catalogue.elements[f.element], person)
        self._apply_rules(values, person)
        for p in self.forbidden:  # e.g. no numeric value for a qualitative item, no pregnancy data for men
            if self._holds(p["when"], values) and str(values.get(p["field"])) not in {str(a) for a in
                                                                                        p.get("allowed", [])}:
                values[p["field"]] = None
        return {name: self._text(values[name], name) for name in values if values[name] is not None}

    def _value(self, f: FieldSpec, element: ElementSpec, person: dict[str, Any]) -> Any:
        rng = self.rng
        if f.reference == "Organization" or self.exists.get(f.name) == "Organization":
            return rng.choice(self.context.organizations)
        if f.reference == "Practitioner" or self.exists.get(f.name) == "Practitioner":
            return rng.choice(self.context.practitioners) if self.context.practitioners else None
        if f.fhir_system == MRN_SYSTEM:
            return person["mrn"]
        if f.name in self.data_set.key and element.type.startswith("S"):
            return f"{self.data_set.code[:6]}{self.counter:08d}"[-self._max_len(element):]
        if element.value_domain:
            codes = [v.code for v in self.catalogue.value_domains[element.value_domain].values]
            if "性别" in element.name:
                return "1" if person["sex"] == "male" else "2"
            return rng.choice(codes)
        match element.type:
            case "D":
                return person["birth"] if "出生" in element.name else person["event"].date()
            case "DT":
                return person["event"]
            case "T":
                return person["event"].time().replace(microsecond=0)
            case "L":
                return rng.choice((True, False))
            case "N":
                return self._number(f, element)
        if "身份证" in element.name or "证件号码" in element.name:
            return person["id"]
        if "姓名" in element.name:
            return person["name"] if (f.fhir or "").startswith("Patient.") else pick_full_name(
                rng, rng.choice(("male", "female")), 1975)
        if "电话" in element.name:
            return person["phone"]
        return self._text_value(element)

    def _number(self, f: FieldSpec, element: ElementSpec) -> float:
        bounds = self.ranges.get(f.name, {})
        low = max(x for x in (element.min, bounds.get("min"), 0.0) if x is not None)
        high = min(x for x in (element.max, bounds.get("max"), 999.0) if x is not None)
        m = FORMAT_PATTERN.match(element.format)
        scale = int(m["scale"]) if m and m["scale"] else 0
        digits = int(m["max"] or m["min"] or 3) if m else 3
        high = min(high, 10 ** (digits - scale) - 1)
        value = self.rng.uniform(low, high) if high > low else low
        return round(value, scale) if scale else float(int(value))

    def _max_len(self, element: ElementSpec) -> int:
        m = FORMAT_PATTERN.match(element.format)
        return int(m["max"] or m["min"] or 20) if m else 20

    def _text_value(self, element: ElementSpec) -> str:
        m = FORMAT_PATTERN.match(element.format)
        low = int(m["min"]) if m and m["min"] else 1
        high = int(m["max"]) if m and m["max"] else low
        exact = bool(m and not m["range"] and not m["max"])
        length = high if exact else min(high if m and m["max"] else low, 8)
        if m and m["kind"] == "N":
            return "".join(self.rng.choices(string.digits, k=length))
        if m and m["kind"] == "A" and not exact:
            return "".join(self.rng.choices("测试记录内容正常", k=max(1, min(length, 6))))
        return "".join(self.rng.choices(string.ascii_uppercase + string.digits, k=length))

    @staticmethod
    def _settle_mixed(values: dict[str, Any], p: dict[str, Any], left: Any, right: Any) -> None:
        """A date against a date-time is compared by day (next follow-up date > this visit's time)."""
        if not isinstance(left, date) or not isinstance(right, date):
            return
        left_day = left.date() if isinstance(left, datetime) else left
        right_day = right.date() if isinstance(right, datetime) else right
        ok = {">": left_day > right_day, ">=": left_day >= right_day, "<": left_day < right_day,
              "<=": left_day <= right_day}.get(p["op"], True)
        if ok or isinstance(left, datetime):
            return  # a date-time on the left (sample time ≥ birth date) holds by construction
        shift = {">": 1, ">=": 0, "<": -1, "<=": 0}[p["op"]]
        values[p["left"]] = right_day + timedelta(days=shift + (14 if p["op"] == ">" else 0))

    @staticmethod
    def _holds(when: dict[str, Any], values: dict[str, Any]) -> bool:
        return values.get(when["field"]) is not None and str(values[when["field"]]) in {str(x) for x in
                                                                                        when.get("in", [])}

    def _apply_rules(self, values: dict[str, Any], person: dict[str, Any]) -> None:
        for p in self.idcards:
            values[p["field"]] = person["id"]
            if p.get("birth_field"):
                values[p["birth_field"]] = person["birth"]
            if p.get("sex_field"):
                values[p["sex_field"]] = "1" if person["sex"] == "male" else "2"
        for p in self.units:
            code = self.rng.choice(list(p["units"]))
            values[p["code_field"]], values[p["field"]] = code, p["units"][code][0]
        for _ in range(3):  # compare rules may chain (admission ≤ discharge ≤ report): settle them
            for p in self.compares:
                left, right = values.get(p["left"]), values.get(p["right"])
                if left is None or right is None:
                    continue
                if isinstance(left, datetime) != isinstance(right, datetime):
                    self._settle_mixed(values, p, left, right)
                    continue
                step: Any = timedelta(hours=1) if isinstance(right, datetime | date) else 10
                if isinstance(right, date) and not isinstance(right, datetime):
                    step = timedelta(days=1)
                if p["op"] == "!=" and left == right:
                    others = [o for o in self.context.organizations if o != right]
                    values[p["left"]] = self.rng.choice(others) if others and isinstance(right, str) else left
                elif p["op"] in (">", ">=") and not left > right:
                    values[p["left"]] = right + step if p["op"] == ">" else right
                elif p["op"] in ("<", "<=") and not left < right:
                    values[p["left"]] = right - step if p["op"] == "<" else right

    @staticmethod
    def _text(value: Any, name: str) -> str:
        if isinstance(value, datetime):
            return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, date):
            return value.strftime("%Y%m%d")
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() else str(value)
        return str(value)

    # ------------------------------------------------------------------ one bad row

    def spoil(self, row: dict[str, str]) -> tuple[dict[str, str], str]:
        """A copy of a good row broken in one realistic way, and which way."""
        bad = dict(row)
        required = [f.name for f in self.data_set.fields if f.required and f.name in bad]
        ways = ["missing"] if required else []
        if self.idcards:
            ways.append("idcard")
        coded = [f.name for f in self.data_set.fields
                 if self.catalogue.elements[f.element].value_domain and f.name in bad]
        if coded:
            ways.append("code")
        way = self.rng.choice(ways or ["missing"])
        if way == "missing" and required:
            bad[self.rng.choice(required)] = ""
        elif way == "idcard":
            name = self.idcards[0]["field"]
            number = bad.get(name, "")
            if len(number) == 18:
                bad[name] = number[:17] + ("0" if number[17] != "0" else "1")
        elif way == "code":
            bad[self.rng.choice(coded)] = "ZZ"
        return bad, way
