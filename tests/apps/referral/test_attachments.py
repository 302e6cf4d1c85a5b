"""Attachments: upload a PDF/image (FHIR Binary + DocumentReference) or link the patient's report; listed and
downloadable by those who can read the referral; refused for other files, oversize files, another patient's
report and other institutions; audited."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.platform.audit.models import AuditEvent as AuditLog
from tests.apps.referral.helpers import API, OTHER_CENTRE, new_doctor, signed_resident, up_referral
from tests.conftest import TokenFor, bearer

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_upload_link_list_download(client: httpx.AsyncClient, db: AsyncSession,
                                         token_for: TokenFor) -> None:
    resident, id_number = await signed_resident(db)
    family, doctor = await token_for("family_doctor"), await token_for("doctor")
    rid = (await up_referral(client, family, id_number))["id"]
    uploaded = await client.post(f"{API}/{rid}/attachments", headers=bearer(family),
                                 files={"file": ("心电图.pdf", PDF, "application/pdf")}, data={"title": "心电图报告"})
    assert uploaded.status_code == 201, uploaded.text
    att = uploaded.json()
    assert att["kind"] == "upload" and att["content_type"] == "application/pdf" and att["size"] == len(PDF)
    document = (await client.get(f"/fhir/{att['reference']}", headers=bearer(doctor))).json()
    assert document["context"]["related"][0]["reference"] == f"ServiceRequest/{rid}"
    assert document["subject"]["reference"] == f"Patient/{resident.id}"

    fhir = {**bearer(doctor), "Content-Type": "application/fhir+json"}
    report = await client.post("/fhir/DiagnosticReport", headers=fhir, json={
        "resourceType": "DiagnosticReport", "status": "final", "code": {"text": "血常规"},
        "subject": {"reference": f"Patient/{resident.id}"}})
    assert report.status_code == 201, report.text
    linked = await client.post(f"{API}/{rid}/attachments/link", headers=bearer(doctor),
                               json={"reference": f"DiagnosticReport/{report.json()['id']}"})
    assert linked.status_code == 201, linked.text
    assert linked.json()["title"] == "血常规" and linked.json()["download"] is None

    listed = (await client.get(f"{API}/{rid}/attachments", headers=bearer(doctor))).json()
    assert [a["kind"] for a in listed] == ["upload", "link"]
    download = await client.get(att["download"], headers=bearer(doctor))
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    audited = await db.scalar(select(func.count()).select_from(AuditLog).where(
        AuditLog.resource_type == "Binary", AuditLog.action == "read"))
    assert audited and audited >= 1


async def test_attachment_refusals(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    _, id_number = await signed_resident(db)
    family, doctor = await token_for("family_doctor"), await token_for("doctor")
    rid = (await up_referral(client, family, id_number))["id"]
    text = await client.post(f"{API}/{rid}/attachments", headers=bearer(family),
                             files={"file": ("a.pdf", b"not really a pdf", "application/pdf")})
    assert text.status_code == 422 and text.json()["code"] == "attachment_type"
    big = await client.post(f"{API}/{rid}/attachments", headers=bearer(family),
                            files={"file": ("big.png", PNG + b"\x00" * (10 * 1024 * 1024), "image/png")})
    assert big.status_code == 422 and big.json()["code"] == "attachment_too_large"
    assert "10 MB" in big.json()["detail"]

    fhir = {**bearer(doctor), "Content-Type": "application/fhir+json"}
    other = await client.post("/fhir/DiagnosticReport", headers=fhir, json={
        "resourceType": "DiagnosticReport", "status": "final", "code": {"text": "血脂"},
        "subject": {"reference": "Patient/someone-else"}})
    wrong = await client.post(f"{API}/{rid}/attachments/link", headers=bearer(doctor),
                              json={"reference": f"DiagnosticReport/{other.json()['id']}"})
    assert wrong.status_code == 422 and wrong.json()["code"] == "attachment_other_patient"
    kind = await client.post(f"{API}/{rid}/attachments/link", headers=bearer(doctor),
                             json={"reference": "Observation/x"})
    assert kind.status_code == 422 and kind.json()["code"] == "attachment_reference"
    missing = await client.post(f"{API}/{rid}/attachments/link", headers=bearer(doctor),
                                json={"reference": "DiagnosticReport/nope"})
    assert missing.status_code == 404

    stranger = await new_doctor(client, token_for, OTHER_CENTRE, "attach_stranger")
    assert (await client.get(f"{API}/{rid}/attachments", headers=bearer(stranger))).status_code == 404
    sneaky = await client.post(f"{API}/{rid}/attachments", headers=bearer(stranger),
                               files={"file": ("a.png", PNG, "image/png")})
    assert sneaky.status_code == 404
    nurse = await token_for("nurse")  # reads the referral (same centre), may not attach
    assert (await client.get(f"{API}/{rid}/attachments", headers=bearer(nurse))).status_code == 200
    assert (await client.post(f"{API}/{rid}/attachments", headers=bearer(nurse),
                              files={"file": ("a.png", PNG, "image/png")})).status_code == 403
