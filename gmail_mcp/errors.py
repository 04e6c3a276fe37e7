"""The Gmail server's exception hierarchy: every failure a person or a model may need to act on."""

from __future__ import annotations

from support_core.errors import ConfigError as CoreConfigError
from support_core.errors import SupportAgentError


class MailError(SupportAgentError):
    """Base of every error this package raises on purpose. The message is written for a person."""


class ConfigError(MailError, CoreConfigError):
    """The settings are incomplete or contradictory; the message names the variable to fix."""


class InvalidInputError(MailError):
    """A tool argument is malformed (an empty id, a label name with control characters, ...)."""


class MessageNotFoundError(MailError):
    """The message, thread or draft does not exist (or was deleted)."""


class ReauthorizationRequired(MailError):
    """The refresh token is dead (revoked, expired, or the app is in Testing for more than 7 days)."""


class MailboxUnavailableError(MailError):
    """The mailbox did not answer after every retry (Gmail 5xx/429/timeouts, or a Maildir I/O error)."""


class MailboxCorruptError(MailError):
    """Local mailbox state cannot be read; the message names the file and what to do."""
