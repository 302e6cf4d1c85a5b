"""The 问医生 demo data: FAQ entries without personal data, the demo resident's two questions, added once."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.consult.demo import FAQ, seed_demo_consult
from jizuo.apps.consult.models import ConsultFaq
from tests.conftest import TokenFor, bearer


async def test_demo_consult_is_seeded_once(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    assert await seed_demo_consult(db) == {"consult_faq": len(FAQ), "consult_questions": 2}
    await db.commit()
    assert await seed_demo_consult(db) == {}
    for faq in (await db.scalars(select(ConsultFaq))).all():
        assert not re.search(r"1[3-9]\d{9}|\d{17}[\dXx]", faq.question + faq.answer)

    resident = bearer(await token_for("resident"))
    found = (await client.get("/api/v1/consult/faq", headers=resident, params={"q": "漏服"})).json()
    assert found["total"] == 1 and found["items"][0]["category"] == "medication"
    mine = (await client.get("/api/v1/consult/questions", headers=resident)).json()
    assert {q["status"] for q in mine["items"]} == {"open", "answered"}
    queue = (await client.get("/api/v1/consult/questions", headers=bearer(await token_for("family_doctor")),
                              params={"status": "open"})).json()
    assert queue["open"] == 1 and queue["items"][0]["text"].startswith("下周二")
