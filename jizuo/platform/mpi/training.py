"""Offline training of the Fellegi–Sunter model with Splink (DuckDB backend), unsupervised, as Splink's
own demos do: λ from deterministic rules, u by random sampling, m by expectation-maximisation.

    python -m jizuo.platform.mpi.training            # retrain on a generated district, write model.json

The training data is the synthetic district's per-institution records (`generate_source_records`), so no
real person's data is ever needed. Blind-index columns are hashed with a throw-away key: only equality
within the training set matters, never the key. The result is `model.json` beside this file, carrying a
version; the online scorer reads only its m/u probabilities and thresholds.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from jizuo.core.security import FieldCipher
from jizuo.platform.demo.model import SourceRecord
from jizuo.platform.mpi.comparisons import CHINESE, Settings, block_sql
from jizuo.platform.mpi.matching import MODEL_PATH, Thresholds
from jizuo.platform.mpi.normalise import build_features

log = logging.getLogger(__name__)

MODEL_VERSION_PREFIX = "cn"
M_FLOOR = 1e-3


def throwaway_cipher() -> FieldCipher:
    return FieldCipher(data_key=os.urandom(32), index_key=os.urandom(32))


def record_row(record: SourceRecord, cipher: FieldCipher) -> dict[str, Any]:
    feats = build_features(cipher, name=record.name, gender=record.gender, birth_date=record.birth_date,
                           id_number=record.id_number, phone=record.phone, address=record.address)
    row = feats.as_dict()
    return {"patient_id": record.record_id, "truth": str(record.resident_id), **row}


def hexed(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """bytes → hex text, for DuckDB/pandas (equality is all the model ever asks of these columns)."""
    return [{k: (v.hex() if isinstance(v, bytes) else v) for k, v in row.items()} for row in rows]


def frame(rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    df = pd.DataFrame(hexed(rows))
    if "id_fuzzy" in df:
        df["id_fuzzy"] = df["id_fuzzy"].map(lambda v: list(v) if isinstance(v, list) else None)
    return df


def linker_for(settings: Settings, df: Any, *, link_type: str = "dedupe_only", model: dict[str, Any] | None = None,
               connection: Any = None) -> Any:
    import duckdb
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(connection or duckdb.connect())
    tables = [db_api.register(d) for d in df] if isinstance(df, list | tuple) else db_api.register(df)
    spec = model or settings.splink(link_type)
    return Linker(tables, spec, log_level=logging.WARNING)


def train(settings: Settings, df: Any, *, link_type: str = "dedupe_only", recall: float = 0.8,
          max_pairs: float = 5e6, seed: int = 7) -> dict[str, Any]:
    """Estimate λ, u and m; return the Splink model (settings with m/u) as a dict."""
    linker = linker_for(settings, df, link_type=link_type)
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [block_sql(rule) for rule in settings.deterministic_rules], recall=recall)
    training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    for rule in settings.em_blocking_rules:
        training.estimate_parameters_using_expectation_maximisation(block_sql(rule), record_sample_proportion=1.0)
    return regularise(dict(linker.misc.save_model_to_json()))


def regularise(model: dict[str, Any], floor: float = M_FLOOR) -> dict[str, Any]:
    """Floor every m and u probability at `floor` and renormalise. EM on clean synthetic corruptions learns
    m ≈ 1e-17 for levels it never saw a match in (e.g. a stale surname), which would let one disagreement
    veto any amount of agreement on real data; the floor caps one comparison's veto at log2(floor) bits."""
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for key in ("m_probability", "u_probability"):
            values = [max(float(lv.get(key) or 0.0), floor) for lv in levels]
            total = sum(values)
            for lv, value in zip(levels, values, strict=True):
                lv[key] = value / total
    return model


def train_chinese_model(residents: int = 20_000, duplicates_pct: float = 10, seed: int = 20261125,
                        thresholds: Thresholds | None = None) -> dict[str, Any]:
    from jizuo.platform.demo.generator import generate_district

    started = time.perf_counter()
    district = generate_district(seed=seed, residents=residents, duplicates_pct=duplicates_pct)
    cipher = throwaway_cipher()
    rows = [record_row(r, cipher) for r in district.source_records]
    splink_model = train(CHINESE, frame(rows))
    trained_at = datetime.now(UTC)
    return {
        "version": f"{MODEL_VERSION_PREFIX}-{trained_at:%Y%m%d}-s{seed}",
        "trained_at": trained_at.isoformat(timespec="seconds"),
        "training": {"data": "jizuo.platform.demo generate_source_records", "residents": residents,
                     "duplicates_pct": duplicates_pct, "seed": seed, "records": len(rows),
                     "method": "unsupervised: λ deterministic rules, u random sampling, m EM (Splink, DuckDB)",
                     "m_u_floor": M_FLOOR,
                     "seconds": round(time.perf_counter() - started, 1)},
        "thresholds": (thresholds or Thresholds()).__dict__,
        "splink_settings": splink_model,
    }


def write_model(model: dict[str, Any], path: Any = MODEL_PATH) -> None:
    path.write_text(json.dumps(model, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="Train the MPI Fellegi–Sunter model with Splink")
    parser.add_argument("--residents", type=int, default=20_000)
    parser.add_argument("--duplicates-pct", type=float, default=10)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--upper", type=float, default=Thresholds.upper)
    parser.add_argument("--lower", type=float, default=Thresholds.lower)
    parser.add_argument("--out", default=str(MODEL_PATH))
    args = parser.parse_args()
    from pathlib import Path

    model = train_chinese_model(args.residents, args.duplicates_pct, args.seed,
                                Thresholds(upper=args.upper, lower=args.lower))
    write_model(model, Path(args.out))
    print(f"wrote {args.out}: version {model['version']}, {model['training']['records']} records, "
          f"{model['training']['seconds']} s")


if __name__ == "__main__":
    main()
