"""HL7 v2 intake as institutions use it: public sample messages over HTTP and over a real MLLP socket, each
answered with its ACK, written to FHIR through the MPI, and every message kept with a receipt."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from pathlib import Path

import hl7
import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.core.idcard import make_id_number
from jizuo.fhir.validation import ID_CARD_SYSTEM
from jizuo.platform.demo.seed import stable_id
from jizuo.platform.ingest.hl7v2.ack import build_ack
from jizuo.platform.ingest.hl7v2.mllp import END, VT, start_mllp_server
from jizuo.platform.ingest.hl7v2.parse import Hl7Problem, Message, parse_message, split_messages
from jizuo.platform.ingest.mapping import MRN_SYSTEM, NAMESPACE
from jizuo.platform.mpi.matching import METHOD_MANUAL
from tests.conftest import TokenFor, bearer

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "hl7v2"
HOSPITAL = "JC-H001"
HL7 = {"Content-Type": "application/hl7-v2"}


def with_facility(text: str, facility: str = HOSPITAL) -> str:
    """A message with MSH-4 replaced (the public samples' facilities are not in our registry)."""
    lines = text.lstrip("\ufeff").replace("\r\n", "\r").replace("\n", "\r").split("\r")
    out = []
    for line in lines:
        if line.startswith("MSH"):
            fields = line.split(line[3])
            fields[3] = facility
            line = line[3].join(fields)
        out.append(line)
    return "\r".join(out)


def sample(name: str, facility: str = HOSPITAL) -> str:
    return with_facility((SAMPLES / name).read_text(encoding="utf-8"), facility)


def patient_id(mrn: str, facility: str = HOSPITAL) -> str:
    return str(uuid.uuid5(NAMESPACE, f"Patient|{facility}|mrn:{mrn}"))


def acks_of(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/hl7-v2")
    return [a for a in response.text.split("\n") if a]


def msa(ack: str) -> list[str]:
    """["MSA", MSA-1, MSA-2, MSA-3], unescaped, read back with python-hl7 as a sender would."""
    parsed = hl7.parse(ack)
    return ["MSA", *(str(parsed.extract_field("MSA", 1, n)) for n in (1, 2, 3))]


async def send(client: httpx.AsyncClient, token: str, *messages: str) -> tuple[list[str], str]:
    response = await client.post("/api/v1/ingest/hl7v2", content="\r\n".join(messages).encode(),
                                 headers={**HL7, **bearer(token)})
    return acks_of(response), response.headers["X-Batch-Id"]


def adt(trigger: str, control: str, mrn: str, *, name: str = "张^伟", id_card: str = "", birth: str = "19800517",
        facility: str = HOSPITAL, visit: str = "", extra: str = "") -> str:
    pid3 = f"{mrn}^^^{facility}^MR" + (f"~{id_card}^^^^ID" if id_card else "")
    pv1 = f"\rPV1|1|I|ICU^01^02||||||||||||||||{visit}|||||||||||||||||||||||||20261120083000" if visit else ""
    return (f"MSH|^~\\&|HIS|{facility}|JIZUO|JIZUO|20261125090000||ADT^{trigger}^ADT_A01|{control}|P|2.5\r"
            f"EVN|{trigger}|20261125090000\rPID|1||{pid3}||{name}||{birth}|M|||新华路1号^^申江市^上海^200000"
            f"||13812345678{pv1}{extra}")


def oru(control: str, mrn: str, filler: str, value: str, *, status: str = "F", kind: str = "NM",
        facility: str = HOSPITAL) -> str:
    return (f"MSH|^~\\&|LIS|{facility}|JIZUO|JIZUO|20261125100000||ORU^R01^ORU_R01|{control}|P|2.5\r"
            f"PID|1||{mrn}^^^{facility}^MR||李^娜||19750302|F\r"
            f"OBR|1|P-{filler}|{filler}|GLU^空腹血糖^L|||20261125073000|||||||||||||||20261125093000|||{status}\r"
            f"OBX|1|{kind}|14749-6^Glucose^LN||{value}|mmol/L^^UCUM|3.9-6.1|H|||{status}|||20261125073000")


# --- public samples ---------------------------------------------------------------------------------------

async def test_public_samples_are_acked_written_searchable_and_linked(client: httpx.AsyncClient,
                                                                        token_for: TokenFor) -> None:
    hospital, doctor = await token_for("hosp_admin"), await token_for("doctor")
    names = ["ADT-A01-02.hl7", "ADT-A08-02.hl7", "ADT-A03-02.hl7", "ADT-A04-02.hl7", "ADT-A28-02.hl7",
             "ADT-A31-02.hl7", "ADT01-23.hl7", "LAB-ORU-2.hl7", "ORU-R01-RMGEAD.hl7", "ORU-R01-01.hl7"]
    acks, batch_id = await send(client, hospital, *(sample(n) for n in names))
    assert len(acks) == len(names)
    for name, ack in zip(names, acks, strict=True):
        assert msa(ack)[1] == "AA", (name, ack)
        assert ack.startswith("MSH|^~\\&|JIZUO|") and "|ACK^" in ack
    receipt = (await client.get(f"/api/v1/ingest/batches/{batch_id}", headers=bearer(hospital))).json()
    assert (receipt["source"], receipt["received"], receipt["accepted"], receipt["quarantined"]) == \
        ("hl7v2", len(names), len(names), 0)

    # ADT: the GHH samples (one patient, visit 40007716) admitted, updated, discharged → one finished Encounter
    ghh = patient_id("PATID1234")
    found = (await client.get(f"/fhir/Encounter?patient={ghh}", headers=bearer(doctor))).json()
    encounters = [e["resource"] for e in found.get("entry", [])]
    assert len(encounters) == 1
    encounter = encounters[0]
    assert encounter["status"] == "finished" and encounter["period"]["end"].startswith("2015-02-09")
    assert encounter["serviceProvider"]["reference"] == f"Organization/{stable_id('org', HOSPITAL)}"
    person = await client.get(f"/api/v1/mpi/patients/{ghh}", headers=bearer(doctor))
    assert person.status_code == 200 and person.json()["person_id"]

    # ORU: LAB-ORU-2 (two OBR groups) for the patient ADT01-23 admitted (MRN 10006579)
    duck = patient_id("10006579")
    reports = (await client.get(f"/fhir/DiagnosticReport?patient={duck}", headers=bearer(doctor))).json()
    assert len(reports["entry"]) == 2
    for entry in reports["entry"]:
        report = entry["resource"]
        assert report["performer"][0]["reference"] == f"Organization/{stable_id('org', HOSPITAL)}"
        assert len(report["result"]) == 5 and report["status"] == "final"
    hemoglobin = (await client.get(f"/fhir/Observation?patient={duck}&code=http://loinc.org|20509-6",
                                   headers=bearer(doctor))).json()
    assert len(hemoglobin["entry"]) == 1
    observation = hemoglobin["entry"][0]["resource"]
    assert observation["valueQuantity"]["value"] == 13.4 and observation["effectiveDateTime"].endswith("+07:00")
    assert observation["status"] == "final" and observation["interpretation"][0]["coding"][0]["code"] == "N"
    # the demographics came from the ADT (the ORU did not overwrite them)
    patient = (await client.get(f"/fhir/Patient/{duck}", headers=bearer(doctor))).json()
    assert patient["name"][0]["family"] == "DUCK" and patient["gender"] == "male"
    assert (await client.get(f"/api/v1/mpi/patients/{duck}", headers=bearer(doctor))).status_code == 200

    # ORU-R01-RMGEAD: a structured numeric (SN ^182) with a local code, reference range, high flag
    glucose = (await client.get(f"/fhir/Observation?patient={patient_id('555-44-4444')}", headers=bearer(doctor))
               ).json()["entry"][0]["resource"]
    assert glucose["valueQuantity"]["value"] == 182 and glucose["valueQuantity"]["code"] == "mg/dL"
    assert glucose["code"]["coding"][0]["system"] == f"https://jizuo.example.org/fhir/CodeSystem/lab-local/{HOSPITAL}"
    assert glucose["referenceRange"][0]["text"] == "70_105" and glucose["interpretation"][0]["coding"][0]["code"] == "H"

    # ORU-R01-01 (v2.8): a coded result (CWE → SNOMED CT), preliminary
    culture = (await client.get(f"/fhir/Observation?patient={patient_id('14')}&code=http://snomed.info/sct|27268008",
                                headers=bearer(doctor))).json()
    assert not culture.get("entry")  # the code searched is the observation's code, not its value
    results = (await client.get(f"/fhir/Observation?patient={patient_id('14')}", headers=bearer(doctor))).json()
    coded = [e["resource"] for e in results["entry"] if "valueCodeableConcept" in e["resource"]]
    assert coded[0]["valueCodeableConcept"]["coding"][0] == {"system": "http://snomed.info/sct", "code": "27268008",
                                                             "display": "Salmonella"}
    assert coded[0]["status"] == "preliminary"


async def test_public_a40_merges_a_registered_patient_in_fhir_and_the_mpi(client: httpx.AsyncClient,
                                                                        token_for: TokenFor) -> None:
    hospital, doctor = await token_for("hosp_admin"), await token_for("doctor")
    merge = sample("ADT-A40-01.hl7")                        # PID 12345 survives, MRG 56789 is merged away
    old_registration = merge.replace("ADT^A40^ADT_A40", "ADT^A28^ADT_A05").replace("8919-40", "8919-28") \
        .replace("12345^^^BCBS^MR", "56789^^^BCBS^MR").split("\rMRG")[0]
    acks, _ = await send(client, hospital, old_registration, merge)
    assert [msa(a)[1] for a in acks] == ["AA", "AA"], acks
    old, survivor = patient_id("56789"), patient_id("12345")
    retired = (await client.get(f"/fhir/Patient/{old}", headers=bearer(doctor))).json()
    assert retired["active"] is False
    assert retired["link"] == [{"other": {"reference": f"Patient/{survivor}"}, "type": "replaced-by"}]
    kept = (await client.get(f"/fhir/Patient/{survivor}", headers=bearer(doctor))).json()
    assert kept["link"][0]["type"] == "replaces"
    a = (await client.get(f"/api/v1/mpi/patients/{old}", headers=bearer(doctor))).json()
    b = (await client.get(f"/api/v1/mpi/patients/{survivor}", headers=bearer(doctor))).json()
    assert a["person_id"] == b["person_id"]


# --- identifiers, duplicates, corrections -----------------------------------------------------------------

async def test_id_card_links_one_person_across_institutions(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    admin, doctor = await token_for("admin"), await token_for("doctor")
    number = make_id_number("310199", date(1980, 5, 17), 321, "male")
    acks, _ = await send(client, admin, adt("A04", "R1", "H-77", id_card=number),
                         adt("A04", "R2", "C-12", id_card=number, facility="JC-C001", name="张^伟"))
    assert [msa(a)[1] for a in acks] == ["AA", "AA"], acks
    first = (await client.get(f"/api/v1/mpi/patients/{patient_id('H-77')}", headers=bearer(doctor))).json()
    second = (await client.get(f"/api/v1/mpi/patients/{patient_id('C-12', 'JC-C001')}",
                               headers=bearer(doctor))).json()
    assert first["person_id"] == second["person_id"] and second["method"] == "deterministic:id_card"
    # the 身份证 is stored encrypted and shown masked to a role that may not see it in full
    hospital = await token_for("hosp_admin")
    seen = (await client.get(f"/fhir/Patient/{patient_id('H-77')}", headers=bearer(hospital)))
    assert number not in seen.text
    # an update that does not repeat the 身份证 does not delete it
    acks, _ = await send(client, hospital, adt("A08", "R3", "H-77", name="张^伟伟"))
    assert msa(acks[0])[1] == "AA"
    updated = (await client.get(f"/fhir/Patient/{patient_id('H-77')}", headers=bearer(doctor))).json()
    assert updated["name"][0]["text"] == "张伟伟" and updated["meta"]["versionId"] == "2"
    assert [i["system"] for i in updated["identifier"]] == [f"{MRN_SYSTEM}/{HOSPITAL}", ID_CARD_SYSTEM]


async def test_resent_message_is_a_duplicate_and_a_correction_updates_the_result(client: httpx.AsyncClient,
                                                                                token_for: TokenFor) -> None:
    hospital, doctor = await token_for("hosp_admin"), await token_for("doctor")
    first = oru("LAB-1", "M-500", "F-9001", "7.2")
    acks, batch_id = await send(client, hospital, first, first.replace("20261125100000", "20261125100500"))
    assert [msa(a)[1] for a in acks] == ["AA", "AA"]
    assert "重复消息" in msa(acks[1])[3]
    receipt = (await client.get(f"/api/v1/ingest/batches/{batch_id}", headers=bearer(hospital))).json()
    assert (receipt["accepted"], receipt["duplicates"]) == (1, 1)
    acks, _ = await send(client, hospital, first)                # again, in a later batch
    assert "重复消息" in msa(acks[0])[3]
    corrected = oru("LAB-2", "M-500", "F-9001", "6.8", status="C")
    acks, _ = await send(client, hospital, corrected)
    assert msa(acks[0])[1] == "AA"
    found = (await client.get(f"/fhir/Observation?patient={patient_id('M-500')}&code=http://loinc.org|14749-6",
                              headers=bearer(doctor))).json()
    assert len(found["entry"]) == 1
    observation = found["entry"][0]["resource"]
    assert observation["status"] == "corrected" and observation["valueQuantity"]["value"] == 6.8
    assert observation["meta"]["versionId"] == "2" and observation["valueQuantity"]["code"] == "mmol/L"
    assert observation["effectiveDateTime"] == "2026-11-25T07:30:00+08:00"   # no offset sent: Asia/Shanghai


# --- bad input --------------------------------------------------------------------------------------------

async def test_bad_messages_are_nakked_and_kept_in_the_quarantine_with_chinese_reasons(
        client: httpx.AsyncClient, token_for: TokenFor) -> None:
    hospital = await token_for("hosp_admin")
    bad_id = make_id_number("310199", date(1980, 5, 17), 322, "male")[:17] + "0"
    bad_id = bad_id if bad_id != make_id_number("310199", date(1980, 5, 17), 322, "male") else bad_id[:17] + "1"
    messages = [
        "这不是 HL7 消息\nhello",
        adt("A01", "X1", "H-1", facility="NO-SUCH-FACILITY"),
        adt("A01", "X2", "H-2", facility="JC-H002"),                      # another institution's message
        adt("A01", "X3", "H-3", id_card=bad_id),                          # 身份证 check digit wrong
        adt("A01", "X4", "H-4").replace("ADT^A01^ADT_A01", "ORM^O01^ORM_O01"),
        oru("X5", "H-5", "F-1", "5.6 偏高"),                               # NM that is not a number
        adt("A01", "X6", "H-6").replace("|19800517|", "|19801345|"),     # birth date that does not exist
    ]
    acks, batch_id = await send(client, hospital, *messages)
    codes = [msa(a)[1] for a in acks]
    assert codes == ["AR", "AR", "AR", "AE", "AR", "AE", "AE"], acks
    texts = [msa(a)[3] for a in acks]
    assert "不是 HL7 v2 消息" in texts[0]
    assert "NO-SUCH-FACILITY" in texts[1] and "未在平台机构注册表中登记" in texts[1]
    assert "只能发送本机构（JC-H001）的消息" in texts[2]
    assert "身份证号无效" in texts[3] and "校验位" in texts[3]
    assert "不支持的消息类型 ORM^O01" in texts[4]
    assert "OBX-5" in texts[5] and "不是数字" in texts[5]
    assert "PID-7" in texts[6]
    assert all("ERR|" in a for a in acks)
    receipt = (await client.get(f"/api/v1/ingest/batches/{batch_id}", headers=bearer(hospital))).json()
    assert (receipt["received"], receipt["accepted"], receipt["quarantined"]) == (7, 0, 7)
    assert {e["row"] for e in receipt["errors"]} == set(range(1, 8))
    held = (await client.get(f"/api/v1/quality/quarantine?batch_id={batch_id}&page_size=50",
                             headers=bearer(hospital))).json()
    assert held["total"] == 7           # all of them: the institution sent them, the institution sees them
    by_row = {item["row"]: item for item in held["items"]}
    assert "身份证号无效" in by_row[4]["failures"][0]["message"]
    assert by_row[4]["fields"]["message"].startswith("MSH|^~\\&|HIS|JC-H001|")   # the raw message, decrypted
    assert by_row[1]["fields"]["message"].startswith("这不是 HL7 消息")
    # nothing of the refused messages reached FHIR
    doctor = await token_for("doctor")
    assert (await client.get(f"/fhir/Patient/{patient_id('H-3')}", headers=bearer(doctor))).status_code == 404
    assert (await client.get(f"/fhir/Patient/{patient_id('H-5')}", headers=bearer(doctor))).status_code == 404


async def test_http_refusals_are_problem_json(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    hospital, doctor = await token_for("hosp_admin"), await token_for("doctor")
    empty = await client.post("/api/v1/ingest/hl7v2", content=b"  \r\n", headers={**HL7, **bearer(hospital)})
    assert empty.status_code == 400 and empty.json()["code"] == "empty_body"
    binary = await client.post("/api/v1/ingest/hl7v2", content=b"MSH\x00\x01", headers={**HL7, **bearer(hospital)})
    assert binary.status_code == 400 and binary.json()["code"] == "not_text"
    json_body = await client.post("/api/v1/ingest/hl7v2", json={"a": 1}, headers=bearer(hospital))
    assert json_body.status_code == 400 and "application/hl7-v2" in json_body.json()["detail"]
    forbidden = await client.post("/api/v1/ingest/hl7v2", content=adt("A01", "Z1", "H-9").encode(),
                                  headers={**HL7, **bearer(doctor)})
    assert forbidden.status_code == 403
    anonymous = await client.post("/api/v1/ingest/hl7v2", content=adt("A01", "Z2", "H-9").encode(), headers=HL7)
    assert anonymous.status_code == 401


async def test_gb18030_message_is_read(client: httpx.AsyncClient, token_for: TokenFor) -> None:
    hospital, doctor = await token_for("hosp_admin"), await token_for("doctor")
    body = adt("A28", "G1", "H-GB", name="欧阳^娜娜").encode("gb18030")
    response = await client.post("/api/v1/ingest/hl7v2", content=body, headers={**HL7, **bearer(hospital)})
    assert msa(acks_of(response)[0])[1] == "AA"
    patient = (await client.get(f"/fhir/Patient/{patient_id('H-GB')}", headers=bearer(doctor))).json()
    assert patient["name"][0]["text"] == "欧阳娜娜"


# --- MLLP ---------------------------------------------------------------------------------------------------

async def read_frame(reader: asyncio.StreamReader) -> str:
    data = await asyncio.wait_for(reader.readuntil(END), timeout=30)
    assert data.startswith(VT)
    return data[1:-2].decode()


async def test_mllp_listener_acks_each_frame_in_order(client: httpx.AsyncClient, token_for: TokenFor,
                                                      sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    server = await start_mllp_server(sessionmaker, "127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        messages = [adt("A04", "M1", "ML-1", visit="V-1"), sample("LAB-ORU-2.hl7"), oru("M3", "ML-1", "F-77", "4.4")]
        for message in messages:
            writer.write(VT + message.encode() + END)
        await writer.drain()
        acks = [await read_frame(reader) for _ in messages]
        assert [msa(a)[1] for a in acks] == ["AA", "AA", "AA"], acks
        assert [msa(a)[2] for a in acks] == ["M1", "ControlID", "M3"]
        # junk between frames gets its own NAK, then the next frame its ACK; a frame without <VT> a NAK
        writer.write(b"garbage" + VT + adt("A31", "M4", "ML-1").encode() + END + b"no start block" + END)
        await writer.drain()
        junk, update, unframed = [await read_frame(reader) for _ in range(3)]
        assert msa(junk)[1] == "AR" and "MLLP 帧之外的数据" in msa(junk)[3]
        assert msa(update)[1] == "AA" and msa(update)[2] == "M4"
        assert msa(unframed)[1] == "AR" and "缺少起始符" in msa(unframed)[3]
        # GB18030 in, GB18030 back; an A40 merges a differently named old registration into ML-1's person
        writer.write(VT + adt("A28", "M5", "ML-OLD", name="王^芳", birth="19611203").encode("gb18030") + END)
        writer.write(VT + adt("A40", "M6", "ML-1", extra="\rMRG|ML-OLD^^^JC-H001^MR").encode() + END)
        await writer.drain()
        raw = await asyncio.wait_for(reader.readuntil(END), timeout=30)
        registered = raw[1:-2].decode("gb18030")
        assert msa(registered)[1] == "AA" and "|GB 18030-2000" in registered.split("\r")[0]
        assert msa(await read_frame(reader))[1] == "AA"
        writer.write(VT + b"MSH|^~\\&|HIS|JC-H001|JIZUO|JIZUO|2026")     # cut off by the close
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.3)            # the connection's batches are closed when it goes away
    finally:
        await server.stop()
    doctor, admin = await token_for("doctor"), await token_for("admin")
    found = (await client.get(f"/fhir/Observation?patient={patient_id('ML-1')}&code=http://loinc.org|14749-6",
                              headers=bearer(doctor))).json()
    assert len(found["entry"]) == 1 and found["entry"][0]["resource"]["valueQuantity"]["value"] == 4.4
    old = (await client.get(f"/api/v1/mpi/patients/{patient_id('ML-OLD')}", headers=bearer(doctor))).json()
    survivor = (await client.get(f"/api/v1/mpi/patients/{patient_id('ML-1')}", headers=bearer(doctor))).json()
    assert old["person_id"] == survivor["person_id"] and old["method"] == METHOD_MANUAL
    assert old["created_by"] == "mllp:JC-H001"
    batches = (await client.get("/api/v1/ingest/batches?page_size=50", headers=bearer(admin))).json()["items"]
    mllp = [b for b in batches if b["source"] == "mllp"]
    assert {b["status"] for b in mllp} == {"done"}
    assert sum(b["received"] for b in mllp) == 9 and sum(b["accepted"] for b in mllp) == 6
    assert sum(b["quarantined"] for b in mllp) == 3


# --- the parser on anything ---------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("MSHPIDOBX|^~\\&\r\n 0123456789AZ中文")), max_size=200))
def test_any_text_is_parsed_or_refused_with_a_reason_and_always_answered(text: str) -> None:
    for raw in split_messages(text) or [text]:
        try:
            message: Message | None = parse_message(raw)
        except Hl7Problem as problem:
            assert problem.ack_code == "AR" and problem.message
            message = None
        ack = build_ack(message, "AE", problem=Hl7Problem("测试|原因^含分隔符", "AE", "102", "PID-3"))
        parsed = hl7.parse(ack)                                   # the ACK itself is always valid ER7
        assert str(parsed.extract_field("MSA", 1, 1)) == "AE"
        assert str(parsed.extract_field("ERR", 1, 8)) == "测试|原因^含分隔符"
