"""Errors the emulator answers with, shaped like Google's JSON error envelope."""

from __future__ import annotations

from typing import Any

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}

NOT_FOUND_MESSAGE = "Requested entity was not found."


class ApiError(Exception):
    """An error answer: `code` (HTTP status), a message for a person, and Google's `reason` and `status` names."""

    def __init__(self, code: int, message: str, reason: str, *, status: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.status = status or _STATUS_NAMES.get(code, "UNKNOWN")

    def body(self) -> dict[str, Any]:
        """`{"error": {"code", "message", "errors": [{"message", "domain", "reason"}], "status"}}`."""
        detail = {"message": self.message, "domain": "global", "reason": self.reason}
        return {"error": {"code": self.code, "message": self.message, "errors": [detail], "status": self.status}}


def not_found(message: str = NOT_FOUND_MESSAGE) -> ApiError:
    return ApiError(404, message, "notFound")


def invalid_argument(message: str) -> ApiError:
    return ApiError(400, message, "invalidArgument")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message, "badRequest", status="FAILED_PRECONDITION")


def forbidden(message: str) -> ApiError:
    return ApiError(403, message, "forbidden")


def already_exists(message: str) -> ApiError:
    return ApiError(409, message, "alreadyExists")


def unauthenticated(*, missing: bool) -> ApiError:
    """Google's two 401 answers: no credential at all, or one it does not accept (unknown, expired, revoked)."""
    tail = "Expected OAuth 2 access token, login cookie or other valid authentication credential."
    if missing:
        return ApiError(401, f"Request is missing required authentication credential. {tail}", "required")
    return ApiError(401, f"Request had invalid authentication credentials. {tail}", "authError")
