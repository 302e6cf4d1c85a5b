"""The referral state machine: which action leads from which state to which, and which side may take it.

    draft ─submit→ requested ─accept→ accepted ─schedule→ scheduled ─arrive→ arrived ─complete→ completed
                       │  └─reject→ rejected          (schedule again to move the slot)
                       └─(N hours, by urgency)→ expired
    draft / requested / accepted / scheduled ─cancel→ cancelled;  scheduled ─no_show→ accepted (book again)

The sending institution creates, submits and cancels; a receiving institution (one of the candidates before
acceptance, the accepting one after) accepts, rejects, schedules, marks arrival and completes. Expiry is the
system's. Pure functions: no database here, so the table reads as the specification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Side(StrEnum):
    SENDER = "sender"
    RECEIVER = "receiver"
    SYSTEM = "system"


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str
    side: Side
    label: str


TRANSITIONS: dict[str, Transition] = {t.action: t for t in [
    Transition("submit", frozenset({"draft"}), "requested", Side.SENDER, "提交转诊申请"),
    Transition("cancel", frozenset({"draft", "requested", "accepted", "scheduled"}), "cancelled", Side.SENDER,
               "撤销转诊"),
    Transition("accept", frozenset({"requested"}), "accepted", Side.RECEIVER, "接收转诊"),
    Transition("reject", frozenset({"requested"}), "rejected", Side.RECEIVER, "拒绝转诊"),
    Transition("schedule", frozenset({"accepted", "scheduled"}), "scheduled", Side.RECEIVER, "预约就诊"),
    Transition("arrive", frozenset({"scheduled", "accepted"}), "arrived", Side.RECEIVER, "患者到诊"),
    Transition("complete", frozenset({"arrived"}), "completed", Side.RECEIVER, "完成转诊"),
    Transition("no_show", frozenset({"scheduled"}), "accepted", Side.RECEIVER, "患者爽约"),
    Transition("expire", frozenset({"requested"}), "expired", Side.SYSTEM, "超时未接收"),
]}

STATUS_LABELS = {
    "draft": "草稿", "requested": "待接收", "accepted": "已接收", "rejected": "已拒绝", "scheduled": "已预约",
    "arrived": "已到诊", "completed": "已完成", "cancelled": "已撤销", "expired": "已过期",
}
FINAL = frozenset({"rejected", "completed", "cancelled", "expired"})
DIRECTIONS = {"up": "上转", "down": "下转", "lateral": "平转"}
TYPES = {"normal": "普通转诊", "palliative": "安宁疗护", "emergency": "急诊转诊"}
URGENCIES = {"routine": "普通", "urgent": "加急", "asap": "紧急", "stat": "危急"}

# How long a request may wait for a receiving institution before it expires.
EXPIRY_HOURS = {"stat": 2, "asap": 12, "urgent": 24, "routine": 72}


def expiry_after(urgency: str) -> timedelta:
    return timedelta(hours=EXPIRY_HOURS.get(urgency, EXPIRY_HOURS["routine"]))


def actions_for(status: str, side: Side | None) -> list[str]:
    """What the caller on `side` may do now (the console's buttons)."""
    if side is None:
        return []
    return [t.action for t in TRANSITIONS.values() if t.side is side and status in t.sources]
