"""HL7 v2 ER7 text → messages, read with python-hl7, and the typed values the mappers need.

Senders are not uniform: Chinese HIS interfaces send GB18030 as often as UTF-8, files arrive with a BOM and
`\\n` or `\\r\\n` between segments, and batches come wrapped in FHS/BHS envelopes. This module absorbs all
that, so the mappers see one message with `\\r` between segments. Nothing here raises anything but
`Hl7Problem`, which carries the Chinese reason and the ACK code the sender gets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

import hl7
from hl7.containers import Repetition, Segment

from jizuo.core.clock import SHANGHAI

ENVELOPE_SEGMENTS = ("FHS", "BHS", "BTS", "FTS")
_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2}(?:\.\d{1,4})?)?\s*([+-]\d{4})?$")


@dataclass
class Hl7Problem(Exception):
    """Why a message cannot be taken: the Chinese reason, the ACK code (AR: rejected as such, AE: its content
    is wrong), the HL7 table 0357 error code and where in the message (e.g. "PID-3")."""

    message: str
    ack_code: str = "AE"
    error_code: str = "207"
    location: str | None = None
    rule: str = "hl7v2.content"

    def __str__(self) -> str:
        return self.message


def decode(data: bytes) -> str:
    """Bytes → text: UTF-8 when it is valid UTF-8, else GB18030 (a superset of GBK/GB2312, what HIS send)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


def normalise(text: str) -> str:
    """One message or many: BOM dropped, every line break made the HL7 segment separator `\\r`."""
    text = text.lstrip("\ufeff").replace("\r\n", "\r").replace("\n", "\r")
    return "\r".join(line.strip(" \t\x0b\x1c\x00") for line in text.split("\r") if line.strip(" \t\x0b\x1c\x00"))


def split_messages(text: str) -> list[str]:
    """ER7 text with one or more messages → each message's text (segments joined by `\\r`). Batch and file
    envelopes are dropped; text before the first MSH is returned as a chunk of its own, so it is answered
    (with a NAK) rather than silently ignored."""
    messages: list[list[str]] = []
    for line in normalise(text).split("\r"):
        if not line or line[:3] in ENVELOPE_SEGMENTS:
            continue
        if line.startswith("MSH") or not messages:
            messages.append([line])
        else:
            messages[-1].append(line)
    return ["\r".join(lines) for lines in messages]


@dataclass
class Message:
    """A parsed message and its header, read once."""

    raw: str
    parsed: hl7.Message
    sending_application: str
    facility: str
    facility_universal_id: str
    control_id: str
    message_type: str
    trigger: str
    version: str
    sent_at: str
    receiving_application: str = ""
    receiving_facility: str = ""
    segments_by_name: dict[str, list[Segment]] = field(default_factory=dict)

    @property
    def type_label(self) -> str:
        return f"{self.message_type}^{self.trigger}" if self.trigger else self.message_type

    def segments(self, name: str) -> list[Segment]:
        return self.segments_by_name.get(name, [])

    def first(self, name: str) -> Segment | None:
        found = self.segments_by_name.get(name)
        return found[0] if found else None


def parse_message(raw: str) -> Message:
    """One message's text → Message; Hl7Problem (AR) when it is not HL7 v2 or its MSH is unusable."""
    text = normalise(raw)
    if not text.startswith("MSH"):
        shown = text[:30].replace("\r", " ")
        raise Hl7Problem(f"不是 HL7 v2 消息：消息须以 MSH 段开头，收到的开头为“{shown}”", "AR", "100", "MSH",
                         "hl7v2.parse")
    separator = text[3] if len(text) > 3 else ""
    encoding = text[4:].split("\r", 1)[0].split(separator, 1)[0] if separator else ""
    delimiters = separator + encoding
    # MSH-1 and MSH-2: the field separator and 4 encoding characters (5 with v2.7's truncation character), all
    # different and none a letter, digit or space — anything else makes every later field ambiguous.
    if not 4 <= len(encoding) <= 5 or len(set(delimiters)) != len(delimiters) or \
            any(ch.isalnum() or ch.isspace() for ch in delimiters):
        raise Hl7Problem("MSH 段的分隔符（MSH-1 字段分隔符、MSH-2 编码字符）缺失或无效，应为“|^~\\&”", "AR", "102",
                         "MSH-2", "hl7v2.parse")
    try:
        parsed = hl7.parse(text)
    except Exception as exc:  # noqa: BLE001 — python-hl7 raises plain errors on malformed input
        raise Hl7Problem(f"HL7 消息无法解析：{type(exc).__name__}", "AR", "102", "MSH", "hl7v2.parse") from exc
    by_name: dict[str, list[Segment]] = {}
    for segment in parsed:
        name = str(segment[0][0]) if len(segment) and len(segment[0]) else ""
        by_name.setdefault(name, []).append(segment)
    msh = by_name["MSH"][0]
    message = Message(
        raw=text, parsed=parsed, sending_application=value(msh, 3), facility=value(msh, 4).strip(),
        facility_universal_id=value(msh, 4, component=2).strip(), control_id=value(msh, 10).strip(),
        message_type=value(msh, 9).strip().upper(), trigger=value(msh, 9, component=2).strip().upper(),
        version=value(msh, 12), sent_at=value(msh, 7), receiving_application=value(msh, 5),
        receiving_facility=value(msh, 6), segments_by_name=by_name)
    if not message.trigger and message.message_type == "ADT":
        message.trigger = value(message.first("EVN"), 1).upper()   # v2.1/2.2 senders name the event only there
    return message


# --- reading values -------------------------------------------------------------------------------------

def value(segment: Segment | None, field_num: int, repetition: int = 1, component: int = 1,
          subcomponent: int = 1) -> str:
    """The unescaped text at SEG-field.component (1-based), "" when absent — never an exception."""
    if segment is None:
        return ""
    try:
        return str(segment.extract_field(1, field_num, repetition, component, subcomponent)).strip()
    except (IndexError, KeyError, TypeError, ValueError):
        return ""


def repetitions(segment: Segment | None, field_num: int) -> int:
    """How many repetitions field `field_num` holds (0 when empty)."""
    if segment is None or field_num >= len(segment):
        return 0
    field_value = segment[field_num]
    if len(field_value) and isinstance(field_value[0], Repetition):
        return len(field_value)
    return 1 if str(field_value) else 0


def components(segment: Segment | None, field_num: int, repetition: int = 1, count: int = 9) -> list[str]:
    """Components 1..count of one repetition of a field, as text."""
    return [value(segment, field_num, repetition, c) for c in range(1, count + 1)]


@dataclass(frozen=True)
class Timestamp:
    """An HL7 TS/DTM with its precision kept: a date stays a date in FHIR."""

    moment: datetime
    precision: int          # digits given: 4 year, 6 month, 8 day, more: a time of day

    @property
    def has_time(self) -> bool:
        return self.precision > 8

    def fhir(self) -> str:
        """FHIR dateTime at the precision sent ("2024", "2024-03", "2024-03-07", or a time with its offset)."""
        if self.precision <= 8:
            return self.moment.date().isoformat()[:{4: 4, 6: 7}.get(self.precision, 10)]
        return self.moment.isoformat(timespec="seconds")

    def date(self) -> date:
        return self.moment.date()


def timestamp(text: str, where: str) -> Timestamp | None:
    """HL7 YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ] → Timestamp; Asia/Shanghai when no offset is given.
    Empty → None; malformed → Hl7Problem naming the field."""
    text = text.strip()
    if not text:
        return None
    m = _TS.match(text)
    if not m:
        raise Hl7Problem(f"{where} 日期时间格式无效：“{text}”（应为 YYYYMMDD[HHMM[SS]][+/-ZZZZ]）", "AE", "102",
                         where)
    year, month, day, hour, minute, second, offset = m.groups()
    try:
        tz = SHANGHAI if offset is None else timezone(
            (1 if offset[0] == "+" else -1) * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        moment = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), 0, 0, tz)
        if second:
            moment += timedelta(seconds=float(second))
    except ValueError as exc:
        raise Hl7Problem(f"{where} 日期时间无效：“{text}”", "AE", "102", where) from exc
    return Timestamp(moment, 4 + 2 * sum(1 for part in (month, day, hour, minute) if part))
