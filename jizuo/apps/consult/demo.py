"""Demo data of 问医生: published FAQ entries from the demo family doctor's team, and two questions of the demo
`resident` (one answered, one waiting), so the H5 and the console's 居民咨询 have something to show. Once only:
nothing is added when the first demo entry is there."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.consult.models import ConsultFaq, ConsultQuestion
from jizuo.core.clock import utcnow
from jizuo.platform.identity.models import User
from jizuo.platform.residents.models import Resident

FAQ: list[tuple[str, str, str]] = [
    ("medication", "降压药漏服了一次怎么办？",
     "离下次服药时间还长，可以补服；已接近下次服药时间就不要补服，更不要下次吃双倍剂量。经常漏服请告诉家庭医生，"
     "调整用药方案或设置服药提醒。"),
    ("medication", "血压正常了，可以自己停药吗？",
     "不可以。血压正常多是药物控制的结果，自行停药可能使血压反弹，甚至发生心脑血管意外。是否减药或停药，请在随访时"
     "与家庭医生商量。"),
    ("examination", "测空腹血糖前需要注意什么？",
     "测量前至少 8 小时不进食（可少量饮水），一般在早晨起床后、服降糖药或注射胰岛素之前测量；前一天晚餐照常，"
     "避免剧烈运动和熬夜。"),
    ("examination", "在健康驿站量血压，怎样量得准？",
     "测量前安静休息 5 分钟，30 分钟内不吸烟、不喝咖啡或浓茶；坐着测，上臂与心脏同高，袖带松紧以能插入一指为宜；"
     "测量时不说话，隔 1–2 分钟再测一次，取平均值。"),
    ("followup", "家庭医生多久随访我一次？",
     "按国家基本公共卫生服务规范，高血压、2 型糖尿病患者每年至少面对面随访 4 次；血压或血糖控制不满意时，2 周内"
     "会再随访一次。随访日期显示在“随访计划”中。"),
    ("followup", "收到“紧急转诊”提醒怎么办？",
     "说明您的一次测量值达到了紧急转诊标准（如收缩压≥180 或舒张压≥110 mmHg）。请安静休息后复测；仍很高或有头痛、"
     "胸闷等不适，请立即就医或拨打 120。家庭医生团队也会同时收到提醒并与您联系。"),
    ("other", "家人可以帮我提问或代配药吗？",
     "可以用您的账号代为提问；申请代配药时请填写代办人姓名和关系。请不要在问题里填写身份证号、手机号等个人信息。"),
]


async def seed_demo_consult(db: AsyncSession) -> dict[str, int]:
    if await db.scalar(select(exists().where(ConsultFaq.question == FAQ[0][1]))):
        return {}
    resident_user = await db.scalar(select(User).where(User.username == "resident"))
    doctor = await db.scalar(select(User).where(User.username == "family_doctor"))
    if resident_user is None or resident_user.resident_id is None:
        return {}
    resident = await db.get(Resident, resident_user.resident_id)
    if resident is None or resident.signed_team_id is None:
        return {}
    team, now = resident.signed_team_id, utcnow()
    doctor_id = doctor.id if doctor else None
    for n, (category, question, answer) in enumerate(FAQ):
        db.add(ConsultFaq(id=uuid.uuid4(), team_id=team, category=category, question=question, answer=answer,
                          published=True, created_by=doctor_id, created_at=now - timedelta(days=30 - n)))
    questions = [
        ConsultQuestion(id=uuid.uuid4(), resident_id=resident.id, team_id=team, category="medication",
                        text="最近早上血压有点高，需要调整药量吗？", status="answered", asked_by=resident_user.id,
                        created_at=now - timedelta(days=3),
                        answer="请连续一周早晚各测一次血压，下次随访时我们一起看记录再决定是否调整；在此之前请按原剂量服药。",
                        answered_at=now - timedelta(days=2), answered_by=doctor_id,
                        answered_by_name=doctor.display_name if doctor else None),
        ConsultQuestion(id=uuid.uuid4(), resident_id=resident.id, team_id=team, category="followup",
                        text="下周二上午可以到服务中心做随访吗？", status="open", asked_by=resident_user.id,
                        created_at=now - timedelta(hours=5)),
    ]
    db.add_all(questions)
    await db.flush()
    return {"consult_faq": len(FAQ), "consult_questions": len(questions)}
