"""Whole-population linkage: Splink `predict()` + connected-components clustering on DuckDB (the batch
re-link, and the scale-out path: the same settings run on Splink's Spark backend), plus an in-memory
replay of the online algorithm and the pairwise precision/recall used by tests and the benchmark.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jizuo.platform.mpi.comparisons import Settings
from jizuo.platform.mpi.matching import Candidate, Decision, Model, decide

# --- the online algorithm, replayed in memory -----------------------------------------------------------


class MemoryIndex:
    """The blocking keys of `mpi_source_record` as Python dicts: the same candidates the SQL finds."""

    def __init__(self, settings: Settings, limit_per_key: int = 200) -> None:
        self.settings = settings
        self.limit = limit_per_key
        self.keys: dict[tuple[str, ...], dict[tuple[Any, ...], list[str]]] = {r: defaultdict(list)
                                                                              for r in settings.blocking_rules}
        self.fuzzy: dict[int, list[str]] = defaultdict(list)
        self.records: dict[str, Mapping[str, Any]] = {}
        self.person: dict[str, Any] = {}

    def candidates(self, record: Mapping[str, Any]) -> list[Candidate]:
        found: dict[str, None] = {}
        for rule, table in self.keys.items():
            key = tuple(record.get(c) for c in rule)
            if any(v is None for v in key):
                continue
            for pid in table.get(key, ())[: self.limit]:
                found[pid] = None
        for h in record.get("id_fuzzy") or ():
            for pid in self.fuzzy.get(h, ())[: self.limit]:
                found[pid] = None
        return [Candidate(self.person[pid], pid, self.records[pid]) for pid in found]

    def add(self, patient_id: str, record: Mapping[str, Any], person_id: Any) -> None:
        self.records[patient_id] = record
        self.person[patient_id] = person_id
        for rule, table in self.keys.items():
            key = tuple(record.get(c) for c in rule)
            if all(v is not None for v in key):
                table[key].append(patient_id)
        for h in record.get("id_fuzzy") or ():
            self.fuzzy[h].append(patient_id)


def link_incrementally(model: Model, rows: Iterable[Mapping[str, Any]], id_column: str = "patient_id"
                       ) -> tuple[dict[str, Any], list[Decision]]:
    """Feed records one at a time, as the FHIR listener does; reviews stay separate persons."""
    index = MemoryIndex(model.settings)
    decisions: list[Decision] = []
    for number, row in enumerate(rows):
        decision = decide(model, row, index.candidates(row))
        decisions.append(decision)
        index.add(row[id_column], row, decision.person_id if decision.outcome == "link" else f"P{number}")
    return index.person, decisions


# --- Splink batch ---------------------------------------------------------------------------------------

@dataclass
class BatchResult:
    clusters: dict[str, str]  # unique id → cluster id
    pairs_scored: int
    seconds_predict: float
    seconds_cluster: float


def splink_relink(model: Mapping[str, Any], df: Any, *, threshold: float, link_type: str = "dedupe_only",
                  settings: Settings | None = None) -> BatchResult:
    """Score every blocked pair with the trained model and cluster at `threshold` (match probability)."""
    import time

    from jizuo.platform.mpi.training import linker_for

    splink_model = dict(model.get("splink_settings", model))
    splink_model["link_type"] = link_type
    assert settings is not None or "unique_id_column_name" in splink_model
    linker = linker_for(settings, df, link_type=link_type, model=splink_model) if settings else \
        linker_for(None, df, link_type=link_type, model=splink_model)  # type: ignore[arg-type]
    started = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=min(threshold, 0.5))
    pairs = int(linker._db_api._execute_sql_against_backend(
        f"select count(*) from {predictions.physical_name}").fetchall()[0][0])
    predicted = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, threshold)
    uid = splink_model["unique_id_column_name"]
    table = linker._db_api._execute_sql_against_backend(
        f'select cast("{uid}" as varchar), cast(cluster_id as varchar) from {clusters.physical_name}').fetchall()
    return BatchResult({a: b for a, b in table}, pairs, predicted - started, time.perf_counter() - predicted)


# --- evaluation -----------------------------------------------------------------------------------------

@dataclass
class Metrics:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __str__(self) -> str:
        return (f"P={self.precision:.4f} R={self.recall:.4f} F1={self.f1:.4f} "
                f"(TP={self.true_positives} FP={self.false_positives} FN={self.false_negatives})")


def _pairs(groups: Iterable[Sequence[str]]) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for members in groups:
        out.update(itertools.combinations(sorted(members), 2))
    return out


def pairwise_metrics(predicted: Mapping[str, Any], truth: Mapping[str, Any]) -> Metrics:
    """Precision/recall over record pairs: a pair is positive when both records share a cluster."""
    def groups(assignment: Mapping[str, Any]) -> list[list[str]]:
        by: dict[Any, list[str]] = defaultdict(list)
        for record, cluster in assignment.items():
            by[cluster].append(record)
        return [members for members in by.values() if len(members) > 1]

    found, wanted = _pairs(groups(predicted)), _pairs(groups(truth))
    tp = len(found & wanted)
    return Metrics(tp, len(found) - tp, len(wanted) - tp)


def outcome_counts(decisions: Iterable[Decision]) -> Counter[str]:
    return Counter(f"{d.outcome}:{d.method}" for d in decisions)
