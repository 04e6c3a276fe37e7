"""Every exception the orchestrator raises on purpose, in one tree (the modules that raise them re-export them).

    SupportAgentError                       (support_core.errors: the root of the whole project)
    └── OrchestratorError                   anything raised here on purpose; the message is for a person
        ├── ConfigError                     the configuration file or an environment variable is wrong
        │                                   (also a support_core.errors.ConfigError)
        ├── StartupError                    `serve` must not start (no secret, a port in use ...)
        ├── LedgerError                     the ledger cannot be used (file, schema, database)
        │   └── LostClaimError              this worker no longer owns the message: drop it, write nothing
        ├── ToolServerError                 talking to a tool server over MCP
        │   ├── ToolCallError               a tool answered with an error (`is_error`); `server`, `tool`
        │   ├── ServerUnavailableError      a tool server could not be reached, even after a restart
        │   └── ToolNotAllowedError         the agent asked for a tool outside its category's allow-list
        ├── LLMError                        the language model; `status` is the HTTP status when there was one
        │   ├── LLMUnavailableError         timeout, connection, 429, 5xx after the client's retries
        │   ├── LLMAuthError                the endpoint rejected the key (401/403): retrying will not help
        │   └── LLMOutputError              a refusal, a cut-off answer, or one that does not fit the model
        └── RequestError                    an HTTP request to `serve` is refused; `status`, `headers`

Messages never hold a secret, a prompt or an email body.
"""

from __future__ import annotations

from support_core.errors import ConfigError as CoreConfigError
from support_core.errors import SupportAgentError

__all__ = [
    "ConfigError",
    "LLMAuthError",
    "LLMError",
    "LLMOutputError",
    "LLMUnavailableError",
    "LedgerError",
    "LostClaimError",
    "OrchestratorError",
    "RequestError",
    "ServerUnavailableError",
    "StartupError",
    "ToolCallError",
    "ToolNotAllowedError",
    "ToolServerError",
]


class OrchestratorError(SupportAgentError):
    """Base of every error the orchestrator raises on purpose."""


class ConfigError(OrchestratorError, CoreConfigError):
    """The configuration file or an environment variable is wrong; the message says which and how."""


class StartupError(OrchestratorError):
    """The server must not start; the message says why and what to do."""


class LedgerError(OrchestratorError):
    """The ledger cannot be used; the message names the file (or database) and what to do about it."""


class LostClaimError(LedgerError):
    """The caller no longer owns the message (lease expired or another worker took it): drop it, write nothing."""


class ToolServerError(OrchestratorError):
    """Talking to a tool server over MCP failed."""


class ToolCallError(ToolServerError):
    """A tool answered with an error (`is_error`): the message is the server's, written for a model or a person."""

    def __init__(self, server: str, tool: str, message: str) -> None:
        super().__init__(message)
        self.server = server
        self.tool = tool


class ServerUnavailableError(ToolServerError):
    """A tool server could not be reached, even after restarting it once."""


class ToolNotAllowedError(ToolServerError):
    """The agent asked for a tool outside its category's allow-list."""


class LLMError(OrchestratorError):
    """Base of the language-model errors; the message is for a person and never holds a key or a prompt."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LLMUnavailableError(LLMError):
    """The endpoint could not answer (timeout, connection, 429, 5xx, other HTTP errors) after the client's retries;
    `retry_after` is the wait in seconds its last answer asked for (Retry-After), when it asked."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class LLMAuthError(LLMError):
    """The endpoint rejected the credentials (HTTP 401/403): fix the key, retrying will not help."""


class LLMOutputError(LLMError):
    """The model answered, but not usably: a refusal, no choices, or JSON that does not parse or fit the model."""


class RequestError(OrchestratorError):
    """An HTTP request to `serve` is refused: `status` (and `headers`, e.g. Retry-After) go to the client."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers
