"""Fellegi–Sunter scoring with the m/u weights of a Splink model, and the link decision.

The model (`model.json`) is trained offline by `training.py` with Splink on DuckDB; here we only read its
m and u probabilities, so a request never needs DuckDB. The score of a pair is the match weight

    w = log2(λ / (1 − λ)) + Σ_comparisons log2(m_level / u_level)

and its match probability 2^w / (1 + 2^w), exactly as Splink computes them (without term-frequency
adjustments). Null levels contribute nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jizuo.platform.mpi.comparisons import CHINESE, Record, Settings

MODEL_PATH = Path(__file__).with_name("model.json")

METHOD_ID_CARD = "deterministic:id_card"
METHOD_INSURANCE = "deterministic:insurance"
METHOD_PROBABILISTIC = "probabilistic"
METHOD_MANUAL = "manual"
METHOD_NEW = "new_person"


@dataclass(frozen=True)
class LevelWeight:
    label: str
    m: float | None
    u: float | None
    is_null: bool

    @property
    def bayes_factor(self) -> float:
        if self.is_null or not self.m or not self.u:
            return 1.0
        return self.m / self.u

    @property
    def weight(self) -> float:
        return math.log2(self.bayes_factor)


@dataclass(frozen=True)
class Thresholds:
    """Match probabilities: at or above `upper` link automatically; between `lower` and `upper` open a
    review; at or above `possible` report as a possible match in $match; below `lower` a new person."""

    upper: float = 0.99
    lower: float = 0.5
    possible: float = 0.05


@dataclass(frozen=True)
class Model:
    version: str
    settings: Settings
    prior: float  # λ: probability two random records match
    levels: tuple[tuple[LevelWeight, ...], ...]
    thresholds: Thresholds
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1 - self.prior))

    def score(self, left: Record, right: Record) -> Score:
        weight = self.prior_weight
        vector: dict[str, dict[str, Any]] = {}
        for comparison, weights in zip(self.settings.comparisons, self.levels, strict=True):
            index = comparison.level_of(left, right)
            level = weights[index]
            weight += level.weight
            vector[comparison.name] = {"level": level.label, "index": index,
                                       "agreement": agreement(comparison.levels[index], index, len(weights)),
                                       "weight": round(level.weight, 3)}
        return Score(weight, probability(weight), vector)


def agreement(level: Any, index: int, count: int) -> str:
    if level.is_null:
        return "missing"
    if level.is_else:
        return "disagree"
    return "agree" if index == 1 else "partial"


def probability(weight: float) -> float:
    if weight > 60:
        return 1.0
    odds = 2.0 ** weight
    return odds / (1 + odds)


@dataclass(frozen=True)
class Score:
    weight: float
    probability: float
    vector: dict[str, dict[str, Any]]

    def explain(self) -> dict[str, Any]:
        agreed = [name for name, v in self.vector.items() if v["agreement"] == "agree"]
        partial = [name for name, v in self.vector.items() if v["agreement"] == "partial"]
        disagreed = [name for name, v in self.vector.items() if v["agreement"] == "disagree"]
        missing = [name for name, v in self.vector.items() if v["agreement"] == "missing"]
        return {"weight": round(self.weight, 3), "probability": self.probability, "comparisons": self.vector,
                "agreed": agreed, "partial": partial, "disagreed": disagreed, "missing": missing}


def model_from_json(data: Mapping[str, Any], settings: Settings = CHINESE) -> Model:
    """Read m/u per level from a saved Splink model, checking it was trained on these comparisons."""
    splink = data["splink_settings"]
    by_name = {c["output_column_name"]: c for c in splink["comparisons"]}
    levels: list[tuple[LevelWeight, ...]] = []
    for comparison in settings.comparisons:
        saved = by_name.get(comparison.name)
        if saved is None or len(saved["comparison_levels"]) != len(comparison.levels):
            raise ValueError(f"model {data.get('version')} does not match comparison {comparison.name}")
        levels.append(tuple(LevelWeight(
            label=ours.label, m=lv.get("m_probability"), u=lv.get("u_probability"),
            is_null=bool(lv.get("is_null_level"))) for ours, lv in zip(comparison.levels, saved["comparison_levels"],
                                                                        strict=True)))
    thresholds = Thresholds(**data.get("thresholds", {}))
    return Model(version=str(data["version"]), settings=settings,
                 prior=float(splink["probability_two_random_records_match"]), levels=tuple(levels),
                 thresholds=thresholds, raw=data)


@lru_cache(maxsize=1)
def default_model() -> Model:
    return model_from_json(json.loads(MODEL_PATH.read_text(encoding="utf-8")))


# --- the decision -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    person_id: Any
    patient_id: str
    record: Record


@dataclass
class PersonScore:
    person_id: Any
    patient_id: str  # the best-scoring record of that person
    score: Score
    method: str

    @property
    def probability(self) -> float:
        return self.score.probability


@dataclass
class Decision:
    """outcome: link (automatic), review (new person + review items), new (new person)."""

    outcome: str
    method: str
    best: PersonScore | None
    ranked: list[PersonScore]
    model_version: str

    @property
    def person_id(self) -> Any:
        return self.best.person_id if self.best and self.outcome == "link" else None


def rank_candidates(model: Model, incoming: Record, candidates: Iterable[Candidate]) -> list[PersonScore]:
    """Every candidate person scored by their best record; deterministic rules first."""
    best: dict[Any, PersonScore] = {}
    for candidate in candidates:
        score = model.score(incoming, candidate.record)
        method = METHOD_PROBABILISTIC
        if incoming.get("id_valid") and candidate.record.get("id_valid") and \
                incoming.get("id_bidx") is not None and incoming["id_bidx"] == candidate.record.get("id_bidx"):
            method = METHOD_ID_CARD
        elif incoming.get("insurance_bidx") is not None and \
                incoming["insurance_bidx"] == candidate.record.get("insurance_bidx"):
            method = METHOD_INSURANCE
        scored = PersonScore(candidate.person_id, candidate.patient_id, score, method)
        current = best.get(candidate.person_id)
        if current is None or _key(scored) > _key(current):
            best[candidate.person_id] = scored
    return sorted(best.values(), key=_key, reverse=True)


def _key(item: PersonScore) -> tuple[int, float, str]:
    # the record id breaks ties so that the decision never depends on the order candidates were read in
    return (item.method != METHOD_PROBABILISTIC, item.score.weight, str(item.patient_id))


def decide(model: Model, incoming: Record, candidates: Iterable[Candidate]) -> Decision:
    ranked = rank_candidates(model, incoming, candidates)
    top = ranked[0] if ranked else None
    if top is None:
        return Decision("new", METHOD_NEW, None, ranked, model.version)
    if top.method != METHOD_PROBABILISTIC:
        return Decision("link", top.method, top, ranked, model.version)
    if top.probability >= model.thresholds.upper:
        return Decision("link", METHOD_PROBABILISTIC, top, ranked, model.version)
    if top.probability >= model.thresholds.lower:
        return Decision("review", METHOD_NEW, top, ranked, model.version)
    return Decision("new", METHOD_NEW, top, ranked, model.version)


def match_grade(model: Model, item: PersonScore) -> str:
    """FHIR match-grade: certain / probable / possible / certainly-not."""
    if item.method != METHOD_PROBABILISTIC or item.probability >= model.thresholds.upper:
        return "certain"
    if item.probability >= model.thresholds.lower:
        return "probable"
    if item.probability >= model.thresholds.possible:
        return "possible"
    return "certainly-not"
