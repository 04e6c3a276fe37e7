"""A loopback emulator of the Gmail REST API (v1) and Google's token endpoint, for the real Google client."""

from support_testing.gmail_emulator.app import DEFAULT_ADDRESS, SEND_METHODS, GmailEmulator, SendAttempt
from support_testing.gmail_emulator.errors import ApiError
from support_testing.gmail_emulator.faults import TOKEN_METHOD, Fault, FaultPlan
from support_testing.gmail_emulator.history import HistoryRecord
from support_testing.gmail_emulator.labels import SYSTEM_LABELS
from support_testing.gmail_emulator.mailbox import StoredMessage, normalized_subject
from support_testing.gmail_emulator.quota import QUOTA_UNITS, USER_QUOTA_PER_MINUTE, RequestRecord
from support_testing.gmail_emulator.server import serve_emulator
from support_testing.gmail_emulator.tokens import EMULATOR_TOKEN, GMAIL_MODIFY_SCOPE

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
