"""The platform's one notification service: in the caller's transaction (so exactly once, or not at all),
an outbox for SMS/WeChat delivered after the commit, and each person's own list."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.platform.identity.models import User
from jizuo.platform.notifications.delivery import deliver_due
from jizuo.platform.notifications.models import Notification, NotificationDelivery, NotificationOutbox
from jizuo.platform.notifications.service import notify
from tests.apps.referral.helpers import act, signed_resident, up_referral
from tests.conftest import TokenFor, bearer


async def _count(db: AsyncSession, kind: str) -> int:
    return int(await db.scalar(select(func.count()).select_from(Notification).where(Notification.kind == kind))
               or 0)


async def test_notification_exists_iff_the_transaction_commits(db: AsyncSession,
                                                               sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    user_id = await db.scalar(select(User.id).where(User.username == "doctor"))
    assert user_id is not None
    async with sessionmaker() as failed:
        await notify(failed, kind="test.rolled_back", title="不应出现", user_ids=[user_id], channels=["sms"])
        await failed.rollback()
    async with sessionmaker() as done:
        ids = await notify(done, kind="test.committed", title="出现一次", user_ids=[user_id, user_id],
                           channels=["sms", "wechat", "pigeon"])
        await done.commit()
    assert len(ids) == 1  # the same recipient twice is told once
    assert await _count(db, "test.rolled_back") == 0
    assert await _count(db, "test.committed") == 1
    channels = await db.scalars(select(NotificationOutbox.channel).where(NotificationOutbox.notification_id == ids[0]))
    assert sorted(channels) == ["sms", "wechat"]  # unknown channels are ignored


async def test_outbox_is_delivered_once(db: AsyncSession) -> None:
    ids = await notify(db, kind="test.delivery", title="短信", practitioner_ids=[uuid.uuid4()], channels=["sms"])
    await db.commit()
    assert await deliver_due(db) >= 1
    await db.commit()
    assert await deliver_due(db) == 0  # nothing left: never sent twice
    message = await db.scalar(select(NotificationOutbox).where(NotificationOutbox.notification_id == ids[0]))
    assert message is not None and message.state == "sent" and message.attempts == 1
    sent = await db.scalar(select(func.count()).select_from(NotificationDelivery)
                           .where(NotificationDelivery.outbox_id == message.id))
    assert sent == 1


async def test_failed_referral_step_leaves_no_notification(client: httpx.AsyncClient, db: AsyncSession,
                                                           token_for: TokenFor) -> None:
    """Completing with an impossible down-referral fails as a whole: no 'completed' notice, no state change."""
    _, id_number = await signed_resident(db)
    family, doctor = await token_for("family_doctor"), await token_for("doctor")
    rid = (await up_referral(client, family, id_number))["id"]
    await act(client, doctor, rid, "accept")
    await act(client, doctor, rid, "arrive")
    before = await _count(db, "referral.complete")
    hospital = (await client.get(f"/api/v1/referrals/{rid}", headers=bearer(doctor))).json()["accepted_organization"]
    failed = await act(client, doctor, rid, "complete", status=422, outcome="好转",
                       down_referral={"target_organization_id": hospital["id"]})
    assert failed["code"] == "target_is_self"
    assert await _count(db, "referral.complete") == before
    assert (await client.get(f"/api/v1/referrals/{rid}", headers=bearer(doctor))).json()["status"] == "arrived"
    await act(client, doctor, rid, "complete", outcome="好转")
    assert await _count(db, "referral.complete") == before + 1


async def test_people_see_and_mark_only_their_own(client: httpx.AsyncClient, db: AsyncSession,
                                                  token_for: TokenFor) -> None:
    doctor_id = await db.scalar(select(User.id).where(User.username == "doctor"))
    assert doctor_id is not None
    [note_id] = await notify(db, kind="test.mine", title="给医生的通知", body="内容", link="/ui/", user_ids=[doctor_id])
    await db.commit()
    doctor, nurse = await token_for("doctor"), await token_for("nurse")
    mine = (await client.get("/api/v1/notifications", params={"unread": True}, headers=bearer(doctor))).json()
    assert str(note_id) in [n["id"] for n in mine["items"]] and mine["unread"] >= 1
    others = (await client.get("/api/v1/notifications", headers=bearer(nurse))).json()
    assert str(note_id) not in [n["id"] for n in others["items"]]
    stolen = await client.post(f"/api/v1/notifications/{note_id}/read", headers=bearer(nurse))
    assert stolen.status_code == 404 and stolen.json()["detail"] == "通知不存在或不是发给您的"
    read = await client.post(f"/api/v1/notifications/{note_id}/read", headers=bearer(doctor))
    assert read.status_code == 200 and read.json()["read_at"]
    after = (await client.get("/api/v1/notifications", params={"unread": True}, headers=bearer(doctor))).json()
    assert str(note_id) not in [n["id"] for n in after["items"]]
    assert (await client.get("/api/v1/notifications")).status_code == 401
