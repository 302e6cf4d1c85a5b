"""One exception hierarchy for the whole platform.

The API layer turns these into RFC 9457 problem JSON (and, under /fhir, an OperationOutcome). `detail` is
the Chinese message a person reads; `code` is the stable machine code a program branches on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass
class JizuoError(Exception):
    detail: str
    code: str = "error"
    status: int = 400
    title: str = "Bad Request"
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://jizuo.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        return body


class _Kind(JizuoError):
    """Base of the concrete kinds below: each fixes its status, title and default code."""

    STATUS = 400
    TITLE = "Bad Request"
    CODE = "bad_request"

    def __init__(self, detail: str, code: str | None = None, errors: list[FieldError] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail=detail, code=code or self.CODE, status=self.STATUS, title=self.TITLE,
                         errors=errors or [], headers=headers or {})


class BadRequest(_Kind):
    pass


class AuthenticationFailed(_Kind):
    STATUS, TITLE, CODE = 401, "Unauthorized", "unauthorized"


class PermissionDenied(_Kind):
    STATUS, TITLE, CODE = 403, "Forbidden", "forbidden"


class NotFound(_Kind):
    STATUS, TITLE, CODE = 404, "Not Found", "not_found"


class Conflict(_Kind):
    STATUS, TITLE, CODE = 409, "Conflict", "conflict"


class PreconditionFailed(_Kind):
    STATUS, TITLE, CODE = 412, "Precondition Failed", "precondition_failed"


class ValidationFailed(_Kind):
    STATUS, TITLE, CODE = 422, "Unprocessable Content", "validation_failed"


class AccountLocked(_Kind):
    STATUS, TITLE, CODE = 423, "Locked", "account_locked"
