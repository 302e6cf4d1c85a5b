"""问医生: a signed resident asks their family-doctor team, the team answers (notifications both ways, audited),
answers are published as FAQ entries without personal data; access is the resident's own and the team's only."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.consult.models import ConsultQuestion
from jizuo.core.security import hash_password
from jizuo.platform.audit.models import AuditEvent
from jizuo.platform.identity.models import User
from jizuo.platform.notifications.models import Notification
from jizuo.platform.registry.models import CareTeam, CareTeamMember
from jizuo.platform.residents.models import Resident
from tests.conftest import TokenFor, bearer

API = "/api/v1/consult"


async def _me(db: AsyncSession) -> Resident:
    resident_id = await db.scalar(select(User.resident_id).where(User.username == "resident"))
    resident = await db.get(Resident, resident_id)
    assert resident is not None and resident.signed_team_id is not None
    return resident


async def _resident_account(db: AsyncSession, username: str, *, signed: bool | None = None,
                            not_team: uuid.UUID | None = None) -> Resident:
    """A resident account for another resident: signed with another team than `not_team`, or not signed."""
    query = select(Resident).where(~Resident.id.in_(select(User.resident_id).where(User.resident_id.is_not(None))))
    if signed is False:
        query = query.where(Resident.signed_team_id.is_(None))
    if not_team is not None:
        query = query.where(Resident.signed_team_id.is_not(None), Resident.signed_team_id != not_team)
    resident = await db.scalar(query.limit(1))
    assert resident is not None
    db.add(User(id=uuid.uuid4(), username=username, display_name=resident.name, role="resident",
                password_hash=hash_password("Jizuo@2026"), resident_id=resident.id, active=True))
    await db.flush()
    return resident


async def _ask(client: httpx.AsyncClient, headers: dict[str, str], text: str = "降压药早上吃还是晚上吃？",
               category: str = "medication") -> dict[str, object]:
    response = await client.post(f"{API}/questions", headers=headers, json={"text": text, "category": category})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_resident_asks_team_answers_resident_reads(client: httpx.AsyncClient, db: AsyncSession,
                                                         token_for: TokenFor) -> None:
    me = await _me(db)
    resident = bearer(await token_for("resident"))
    family = bearer(await token_for("family_doctor"))
    asked = await _ask(client, resident)
    assert asked["status"] == "open" and asked["category"] == "medication" and asked["team_name"]
    assert asked["resident_name"] is None  # the resident's own view does not echo their name

    # The team is notified in the same transaction (every member; the family doctor's account among them).
    doctor_id = await db.scalar(select(User.id).where(User.username == "family_doctor"))
    note = await db.scalar(select(Notification).where(Notification.kind == "consult_question",
                                                      Notification.recipient_user_id == doctor_id))
    assert note is not None and me.name in note.title and str(asked["id"]) in (note.link or "")

    queue = (await client.get(f"{API}/questions", headers=family, params={"status": "open"})).json()
    assert queue["open"] >= 1 and any(q["id"] == asked["id"] and q["resident_name"] == me.name
                                      for q in queue["items"])

    answered = await client.post(f"{API}/questions/{asked['id']}/answer", headers=family,
                                 json={"answer": "一般建议早晨服用，请按医嘱，不要自行停药。"})
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "answered" and answered.json()["answered_by_name"]

    mine = (await client.get(f"{API}/questions", headers=resident)).json()
    assert mine["items"][0]["answer"].startswith("一般建议早晨服用")
    resident_user = await db.scalar(select(User.id).where(User.username == "resident"))
    assert await db.scalar(select(Notification).where(Notification.kind == "consult_answer",
                                                      Notification.recipient_user_id == resident_user))
    actions = set((await db.execute(select(AuditEvent.action, AuditEvent.actor_username).where(
        AuditEvent.resource_type == "ConsultQuestion"))).all())
    assert {("create", "resident"), ("search", "family_doctor"), ("update", "family_doctor"),
            ("search", "resident")} <= actions


async def test_bad_questions_are_422_in_chinese(client: httpx.AsyncClient, db: AsyncSession,
                                                token_for: TokenFor) -> None:
    resident = bearer(await token_for("resident"))
    blank = await client.post(f"{API}/questions", headers=resident, json={"text": "  ", "category": "other"})
    assert blank.status_code == 422 and blank.json()["code"] == "consult_text_too_short"
    assert "问题内容" in blank.json()["detail"]
    assert blank.headers["content-type"].startswith("application/problem+json")
    wrong = await client.post(f"{API}/questions", headers=resident, json={"text": "头晕怎么办", "category": "x"})
    assert wrong.status_code == 422 and any(e["field"].endswith("category") for e in wrong.json()["errors"])
    long = await client.post(f"{API}/questions", headers=resident, json={"text": "问" * 1001})
    assert long.status_code == 422
    assert (await client.post(f"{API}/questions", json={"text": "头晕怎么办"})).status_code == 401


async def test_only_signed_residents_ask(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    doctor = await client.post(f"{API}/questions", headers=bearer(await token_for("family_doctor")),
                               json={"text": "我能提问吗"})
    assert doctor.status_code == 403 and doctor.json()["code"] == "not_a_resident"
    await _resident_account(db, "unsigned_resident", signed=False)
    unsigned = await client.post(f"{API}/questions", headers=bearer(await token_for("unsigned_resident")),
                                 json={"text": "我能提问吗"})
    assert unsigned.status_code == 409 and unsigned.json()["code"] == "not_signed" and "签约" in \
        unsigned.json()["detail"]


async def test_open_questions_are_capped(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    from jizuo.apps.consult.service import MAX_OPEN_QUESTIONS

    resident = bearer(await token_for("resident"))
    for n in range(MAX_OPEN_QUESTIONS):
        await _ask(client, resident, f"第 {n + 1} 个问题：血压计怎么用？")
    refused = await client.post(f"{API}/questions", headers=resident, json={"text": "再问一个问题"})
    assert refused.status_code == 409 and refused.json()["code"] == "too_many_open_questions"
    first = (await client.get(f"{API}/questions", headers=resident, params={"status": "open"})).json()["items"][0]
    family = bearer(await token_for("family_doctor"))
    await client.post(f"{API}/questions/{first['id']}/answer", headers=family, json={"answer": "请看说明书第 3 页"})
    assert (await client.post(f"{API}/questions", headers=resident, json={"text": "再问一个问题"})).status_code == 201


async def test_reach_is_own_question_and_own_team(client: httpx.AsyncClient, db: AsyncSession,
                                                  token_for: TokenFor) -> None:
    me = await _me(db)
    asked = await _ask(client, bearer(await token_for("resident")))
    qid = asked["id"]
    # Another resident (of another team): neither sees nor finds it; their own question is not in our team's queue.
    await _resident_account(db, "other_resident", not_team=me.signed_team_id)
    other = bearer(await token_for("other_resident"))
    assert (await client.get(f"{API}/questions/{qid}", headers=other)).status_code == 404
    assert (await client.get(f"{API}/questions", headers=other)).json()["total"] == 0
    theirs = await _ask(client, other, "血糖仪怎么校准？", "examination")
    family = bearer(await token_for("family_doctor"))
    queue = (await client.get(f"{API}/questions", headers=family)).json()["items"]
    assert qid in {q["id"] for q in queue} and theirs["id"] not in {q["id"] for q in queue}
    outside = await client.post(f"{API}/questions/{theirs['id']}/answer", headers=family, json={"answer": "好的"})
    assert outside.status_code == 404 and outside.json()["code"] == "question_not_found"
    # A resident cannot answer; staff without the permission cannot list.
    refused = await client.post(f"{API}/questions/{qid}/answer", headers=other, json={"answer": "我来答"})
    assert refused.status_code == 403
    regulator = await client.get(f"{API}/questions", headers=bearer(await token_for("weijianwei")))
    assert regulator.status_code == 403 and regulator.json()["code"] == "consult_forbidden"
    doctor = await client.get(f"{API}/questions", headers=bearer(await token_for("doctor")))
    assert doctor.status_code == 403
    # The district administrator sees both.
    admin = (await client.get(f"{API}/questions", headers=bearer(await token_for("admin")))).json()["items"]
    assert {qid, theirs["id"]} <= {q["id"] for q in admin}
    denied = await db.scalar(select(AuditEvent).where(AuditEvent.resource_type == "ConsultQuestion",
                                                      AuditEvent.outcome == "denied"))
    assert denied is not None


async def test_any_team_member_answers_and_other_teams_do_not_see(client: httpx.AsyncClient, db: AsyncSession,
                                                                  token_for: TokenFor) -> None:
    me = await _me(db)
    asked = await _ask(client, bearer(await token_for("resident")), "体检报告里的尿酸偏高要紧吗？", "examination")
    # A nurse account for another member of the resident's team; a family doctor of a different team.
    members = list((await db.scalars(select(CareTeamMember.practitioner_id)
                                     .where(CareTeamMember.team_id == me.signed_team_id))).all())
    taken = set((await db.scalars(select(User.practitioner_id).where(User.practitioner_id.is_not(None)))).all())
    free = next(m for m in members if m not in taken)
    other_team = await db.scalar(select(CareTeam).where(CareTeam.id != me.signed_team_id).limit(1))
    assert other_team is not None
    other_member = await db.scalar(select(CareTeamMember.practitioner_id)
                                   .where(CareTeamMember.team_id == other_team.id,
                                          CareTeamMember.practitioner_id.not_in(members)).limit(1))
    accounts = (("team_nurse", "nurse", free), ("other_doctor", "family_doctor", other_member))
    for username, role, practitioner in accounts:
        db.add(User(id=uuid.uuid4(), username=username, display_name=username, role=role,
                    password_hash=hash_password("Jizuo@2026"), practitioner_id=practitioner, active=True))
    await db.flush()
    other = bearer(await token_for("other_doctor"))
    assert asked["id"] not in {q["id"] for q in (await client.get(f"{API}/questions", headers=other)).json()["items"]}
    assert (await client.get(f"{API}/questions/{asked['id']}", headers=other)).status_code == 404
    nurse = bearer(await token_for("team_nurse"))
    answered = await client.post(f"{API}/questions/{asked['id']}/answer", headers=nurse,
                                 json={"answer": "轻度偏高先控制饮食，下次随访复查。"})
    assert answered.status_code == 200 and answered.json()["answered_by_name"] == "team_nurse"


async def test_answer_twice_or_empty_is_refused(client: httpx.AsyncClient, db: AsyncSession,
                                                token_for: TokenFor) -> None:
    asked = await _ask(client, bearer(await token_for("resident")))
    family = bearer(await token_for("family_doctor"))
    empty = await client.post(f"{API}/questions/{asked['id']}/answer", headers=family, json={"answer": " "})
    assert empty.status_code == 422
    ok = await client.post(f"{API}/questions/{asked['id']}/answer", headers=family, json={"answer": "按时服药"})
    assert ok.status_code == 200
    again = await client.post(f"{API}/questions/{asked['id']}/answer", headers=family, json={"answer": "再答"})
    assert again.status_code == 409 and again.json()["code"] == "already_answered"
    missing = await client.post(f"{API}/questions/{uuid.uuid4()}/answer", headers=family, json={"answer": "x"})
    assert missing.status_code == 404


async def test_faq_is_published_without_personal_data_and_searchable(client: httpx.AsyncClient, db: AsyncSession,
                                                                     token_for: TokenFor) -> None:
    me = await _me(db)
    resident = bearer(await token_for("resident"))
    family = bearer(await token_for("family_doctor"))
    asked = await _ask(client, resident, f"我是{me.name}，手机 13912345678，氨氯地平可以和西柚一起吃吗？")
    faq_url = f"{API}/questions/{asked['id']}/faq"
    public = {"question": "氨氯地平可以和西柚一起吃吗？", "answer": "西柚汁会升高药物浓度，服药期间不建议同食。"}
    early = await client.put(faq_url, headers=family, json=public)
    assert early.status_code == 409 and early.json()["code"] == "question_not_answered"
    await client.post(f"{API}/questions/{asked['id']}/answer", headers=family, json={"answer": "不建议同食西柚。"})
    named = await client.put(faq_url, headers=family, json={**public, "question": f"{me.name}问：西柚能吃吗"})
    assert named.status_code == 422 and named.json()["code"] == "faq_contains_personal_data"
    phone = await client.put(faq_url, headers=family, json={**public, "answer": "请致电 13912345678"})
    assert phone.status_code == 422
    by_resident = await client.put(faq_url, headers=resident, json=public)
    assert by_resident.status_code == 403

    published = await client.put(faq_url, headers=family, json=public)
    assert published.status_code == 200, published.text
    faq = published.json()
    assert faq["published"] and faq["category"] == "medication"
    found = (await client.get(f"{API}/faq", headers=resident, params={"q": "西柚 氨氯地平"})).json()
    assert [f["id"] for f in found["items"]] == [faq["id"]]
    assert (await client.get(f"{API}/faq", headers=resident, params={"q": "胰岛素"})).json()["total"] == 0
    wildcard = (await client.get(f"{API}/faq", headers=resident, params={"q": "%"})).json()
    assert wildcard["total"] == 0  # LIKE wildcards are searched as text
    edited = await client.put(faq_url, headers=family, json={**public, "answer": "服药期间请勿食用西柚。"})
    assert edited.json()["id"] == faq["id"] and edited.json()["updated_at"]
    queue = (await client.get(f"{API}/questions", headers=family, params={"status": "answered"})).json()
    assert any(q["faq_id"] == faq["id"] for q in queue["items"])

    admin_only = await client.post(f"{API}/faq/{faq['id']}/unpublish", headers=resident)
    assert admin_only.status_code == 403
    down = await client.post(f"{API}/faq/{faq['id']}/unpublish", headers=family)
    assert down.status_code == 200 and down.json()["published"] is False
    assert (await client.get(f"{API}/faq", headers=resident, params={"q": "西柚"})).json()["total"] == 0
    assert await db.scalar(select(ConsultQuestion.status).where(ConsultQuestion.id == uuid.UUID(str(asked["id"])))) \
        == "answered"
