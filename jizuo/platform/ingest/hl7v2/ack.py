"""Original-mode acknowledgements (HL7 v2 chapter 2): one ACK per message, AA / AE / AR.

- AA: the message was taken — written to the FHIR store, or recognised as a duplicate of one that was;
- AE: it is an HL7 message we take, but its content is wrong (a field missing or malformed, a 身份证 whose
  check digit fails): it is held in the quarantine with the reason, and the sender should correct and re-send;
- AR: it is rejected as such (not HL7, an unsupported message type, an unknown or foreign sending facility).

The reason is in MSA-3 and, for AE/AR, in an ERR segment (ERR-2 location, ERR-3 the HL7 table 0357 code,
ERR-4 severity, ERR-8 the Chinese text). The ACK uses the message's own delimiters, so its fields copied
back (MSH-3/4) stay valid.
"""

from __future__ import annotations

import re

from hl7.util import generate_message_control_id

from jizuo.core.clock import SHANGHAI, utcnow
from jizuo.platform.ingest.hl7v2.parse import Hl7Problem, Message

RECEIVING_APPLICATION = "JIZUO"
ERROR_CODES = {
    "0": "Message accepted", "100": "Segment sequence error", "101": "Required field missing",
    "102": "Data type error", "103": "Table value not found", "200": "Unsupported message type",
    "201": "Unsupported event code", "202": "Unsupported processing id", "203": "Unsupported version id",
    "204": "Unknown key identifier", "205": "Duplicate key identifier", "206": "Application record locked",
    "207": "Application internal error",
}
_LOCATION = re.compile(r"^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?(?:-(\d+))?")


def _escape(text: str, delimiters: str) -> str:
    """Our free text inside a field: the message's delimiters escaped (HL7 v2 2.7), line breaks flattened."""
    field, component, repetition, escape, subcomponent = (delimiters[i] for i in range(5))
    out = text.replace(escape, f"{escape}E{escape}")
    for char, code in ((field, "F"), (component, "S"), (subcomponent, "T"), (repetition, "R")):
        out = out.replace(char, f"{escape}{code}{escape}")
    return " ".join(out.split())


def _location(location: str | None) -> str:
    """"PID-3" → "PID^1^3", "OBX[2]-5" → "OBX^2^5" (ERR-2, an ERL)."""
    m = _LOCATION.match(location or "")
    if not m:
        return ""
    return "^".join(part for part in (m[1], m[2] or "1", m[3] or "") if part)


def _raw_field(message: Message, number: int) -> str:
    msh = message.parsed.segment("MSH")
    return str(msh[number]) if number < len(msh) else ""


def build_ack(message: Message | None, code: str, text: str = "", problem: Hl7Problem | None = None,
              charset: str = "UNICODE UTF-8") -> str:
    """The ACK for `message` (None: it could not even be parsed) as ER7, segments joined by `\\r`."""
    delimiters = "|^~\\&"
    if message is not None:
        separators = message.parsed.separators          # "\r|~^&": segment, field, repetition, component, sub
        esc = message.parsed.esc
        delimiters = f"{separators[1]}{separators[3]}{separators[2]}{esc}{separators[4]}"
    f, c = delimiters[0], delimiters[1]
    now = utcnow().astimezone(SHANGHAI).strftime("%Y%m%d%H%M%S%z")
    if message is not None:
        sender_app, sender_facility = _raw_field(message, 3), _raw_field(message, 4)
        facility = _raw_field(message, 6) or RECEIVING_APPLICATION
        trigger = _escape(message.trigger, delimiters)
        control_id = _escape(message.control_id, delimiters)
        processing = _raw_field(message, 11) or "P"
        version = _raw_field(message, 12) or "2.5"
    else:
        sender_app = sender_facility = trigger = control_id = ""
        facility, processing, version = RECEIVING_APPLICATION, "P", "2.5"
    msh = f"MSH{delimiters}{f}" + f.join([
        RECEIVING_APPLICATION, facility, sender_app, sender_facility, now, "",
        f"ACK{c}{trigger}{c}ACK" if trigger else "ACK", generate_message_control_id(), processing, version,
        "", "", "", "", "", _escape(charset, delimiters)])
    msa = f.join(["MSA", code, control_id, _escape(text or (problem.message if problem else ""), delimiters)])
    segments = [msh, msa.rstrip(f)]
    if problem is not None and code != "AA":
        err_code = f"{problem.error_code}{c}{ERROR_CODES.get(problem.error_code, '')}{c}HL70357"
        segments.append(f.join(["ERR", "", _location(problem.location), err_code, "E", "", "", "",
                                _escape(problem.message, delimiters)]))
    return "\r".join(segments) + "\r"


def ack_code_of(ack: str) -> str:
    """MSA-1 of an ACK we built (for counting and tests)."""
    for segment in ack.split("\r"):
        if segment.startswith("MSA"):
            return segment[4:6]
    return ""
