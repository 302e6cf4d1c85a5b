"""FHIR errors: every failure under /fhir answers with an OperationOutcome naming what and where."""

from __future__ import annotations

from typing import Any

from jizuo.core.errors import JizuoError

# HTTP status → FHIR IssueType code, for errors raised by the platform's own exception kinds.
_ISSUE_BY_STATUS = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
                    409: "conflict", 410: "deleted", 412: "conflict", 422: "processing", 423: "lock-error"}


class FhirError(JizuoError):
    """A FHIR-specific failure: carries the IssueType and the FHIRPath of the offending element(s)."""

    def __init__(self, detail: str, *, status: int = 400, issue: str = "invalid", code: str = "fhir_error",
                 expression: list[str] | None = None, issues: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail=detail, code=code, status=status, title="FHIR error", headers=headers or {})
        self.issue = issue
        self.expression = expression or []
        self.issues = issues or []


def issue(severity: str, code: str, diagnostics: str, expression: list[str] | None = None,
          details_text: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if details_text:
        entry["details"] = {"text": details_text}
    if expression:
        entry["expression"] = expression
    return entry


def operation_outcome(error: JizuoError) -> dict[str, Any]:
    if isinstance(error, FhirError) and error.issues:
        issues = error.issues
    else:
        code = error.issue if isinstance(error, FhirError) else _ISSUE_BY_STATUS.get(error.status, "processing")
        expression = error.expression if isinstance(error, FhirError) else [e.field for e in error.errors]
        issues = [issue("error", code, error.detail, expression, details_text=error.code)]
    return {"resourceType": "OperationOutcome", "issue": issues}


def information_outcome(message: str) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [issue("information", "informational", message)]}
