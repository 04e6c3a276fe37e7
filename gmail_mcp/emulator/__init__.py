"""A loopback emulator of the Gmail REST API (v1) and Google's token endpoint, for the real Google client."""

from gmail_mcp.emulator.app import DEFAULT_ADDRESS, SEND_METHODS, GmailEmulator, SendAttempt
from gmail_mcp.emulator.errors import ApiError
from gmail_mcp.emulator.faults import TOKEN_METHOD, Fault, FaultPlan
from gmail_mcp.emulator.history import HistoryRecord
from gmail_mcp.emulator.labels import SYSTEM_LABELS
from gmail_mcp.emulator.mailbox import StoredMessage, normalized_subject
from gmail_mcp.emulator.quota import QUOTA_UNITS, USER_QUOTA_PER_MINUTE, RequestRecord
from gmail_mcp.emulator.server import serve_emulator
from gmail_mcp.emulator.tokens import EMULATOR_TOKEN, GMAIL_MODIFY_SCOPE

__all__ = [
    "DEFAULT_ADDRESS",
    "EMULATOR_TOKEN",
    "GMAIL_MODIFY_SCOPE",
    "QUOTA_UNITS",
    "SEND_METHODS",
    "SYSTEM_LABELS",
    "TOKEN_METHOD",
    "USER_QUOTA_PER_MINUTE",
    "ApiError",
    "Fault",
    "FaultPlan",
    "GmailEmulator",
    "HistoryRecord",
    "RequestRecord",
    "SendAttempt",
    "StoredMessage",
    "normalized_subject",
    "serve_emulator",
]
