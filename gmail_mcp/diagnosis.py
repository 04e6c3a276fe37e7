"""The Gmail server's `diagnose` self-check (its `mailbox_info` result is support_core.mail.MailboxInfo).

`diagnose` checks the backend (a writable Maildir folder, a Gmail token that loads, refreshes and grants
gmail.modify, or an IMAP login with its capabilities, Drafts folder and INBOX size), the mailbox address and the
trusted Authentication-Results ids. Each Gmail API call is bounded by `call_timeout` seconds and made once (no
retry); a forced refresh uses a copy of the credentials, so the running mailbox and the token file are left as
they were. The IMAP checks use the running connection and are bounded by twice `call_timeout`.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING

import anyio.to_thread

from gmail_mcp.config import GMAIL_SCOPE, GmailSettings
from gmail_mcp.errors import ConfigError, MailError
from gmail_mcp.mailbox import Mailbox
from gmail_mcp.maildir import MaildirBackend
from support_core.diagnosis import Check, Diagnosis, bounded, failed, folder_check, passed, skipped
from support_core.retry import RetryPolicy

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

GMAIL_CHECKS = ("Gmail token", "Gmail scopes", "Gmail mailbox")
AUTHSERV_FIX = "set GMAIL_AUTHSERV_IDS to the authserv-id your mail server writes"


async def diagnose(mailbox: Mailbox, settings: GmailSettings | None, call_timeout: float) -> Diagnosis:
    """Every check of the running mailbox; without `settings` the Gmail token cannot be re-read, only used."""
    from gmail_mcp.imap import ImapBackend

    if isinstance(mailbox.backend, MaildirBackend):
        checks = await _maildir_checks(mailbox.backend, settings)
    elif isinstance(mailbox.backend, ImapBackend):
        from gmail_mcp.imap_setup import imap_checks

        checks = await imap_checks(mailbox.backend, call_timeout)
    else:
        checks = await _gmail_checks(mailbox, settings, call_timeout)
    checks.append(_authserv_check(mailbox.trusted_authserv_ids))
    return Diagnosis(checks=checks)


def _address_source(settings: GmailSettings | None) -> str:
    """Where the Maildir's own address came from: the user's GMAIL_ADDRESS, or the sandbox default."""
    if settings is not None and "address" not in settings.model_fields_set:
        return "the sandbox default: GMAIL_ADDRESS is not set"
    return "GMAIL_ADDRESS"


async def _maildir_checks(backend: MaildirBackend, settings: GmailSettings | None) -> list[Check]:
    fix = "make it a writable folder or set GMAIL_MAILDIR (or configure the Gmail API with `gmail-mcp auth`)"
    folder = folder_check("Gmail backend", backend.root, fix)
    folder = folder.model_copy(update={"detail": f"Maildir {folder.detail}"})
    return [
        folder,
        skipped("Gmail token", "not used: Maildir backend"),
        skipped("Gmail scopes", "not used: Maildir backend"),
        passed("Gmail mailbox", f"{await backend.address()} ({_address_source(settings)})"),
    ]


async def _gmail_checks(mailbox: Mailbox, settings: GmailSettings | None, call_timeout: float) -> list[Check]:
    if settings is None:  # a server built in-process without its settings (tests): only what the mailbox knows
        return [
            passed("Gmail backend", "Gmail API"),
            skipped("Gmail token", "not checked: the server has no settings to read the token from"),
            skipped("Gmail scopes", "not checked: the server has no settings to read the token from"),
            await _address_check(mailbox, call_timeout),
        ]
    from gmail_mcp.credentials import load_credentials

    source = "GOOGLE_TOKEN_JSON" if settings.token_json is not None else str(settings.token_file)
    checks = [passed("Gmail backend", f"Gmail API (token from {source})")]
    try:
        credentials, _ = load_credentials(settings)
    except ConfigError as exc:
        checks.append(failed("Gmail token", str(exc), "run `gmail-mcp auth` (or set GOOGLE_TOKEN_JSON)"))
        return checks + [skipped(name, "skipped: no usable token") for name in GMAIL_CHECKS[1:]]
    refused = await _refresh(credentials, call_timeout)
    if refused is not None:
        checks.append(refused)
        return checks + [skipped(name, "skipped: the token cannot be refreshed") for name in GMAIL_CHECKS[1:]]
    checks.append(passed("Gmail token", "loads and refreshes"))
    granted = set(getattr(credentials, "granted_scopes", None) or credentials.scopes or ())
    if GMAIL_SCOPE in granted:
        checks.append(passed("Gmail scopes", "gmail.modify granted"))
    else:
        shown = ", ".join(sorted(scope.rsplit("/", 1)[-1] for scope in granted)) or "none"
        checks.append(
            failed(
                "Gmail scopes",
                f"gmail.modify not granted (granted: {shown})",
                "run `gmail-mcp auth` and accept the Gmail 'read, compose and modify' permission",
            )
        )
    checks.append(await _profile_check(credentials, settings, call_timeout))
    return checks


async def _refresh(credentials: Credentials, call_timeout: float) -> Check | None:
    """Force one refresh (proves the refresh token works); a failed `Check`, or None when it worked."""
    import google_auth_httplib2
    import httplib2
    from google.auth.exceptions import RefreshError, TransportError

    def refresh() -> None:
        http = httplib2.Http(timeout=call_timeout)
        try:
            credentials.refresh(google_auth_httplib2.Request(http))  # type: ignore[no-untyped-call]
        finally:
            http.close()

    unreachable = f"check the network and the token's token_uri ({credentials.token_uri})"
    try:
        await bounded(call_timeout + 1, anyio.to_thread.run_sync(refresh, abandon_on_cancel=True))
    except RefreshError as exc:
        if "invalid_grant" in str(exc):
            detail = "refresh token revoked or expired (invalid_grant)"
        else:
            detail = f"refresh refused ({_short(exc)})"
        return failed("Gmail token", detail, "run `gmail-mcp auth` to authorise again")
    except TimeoutError:
        return failed("Gmail token", f"the token endpoint did not answer within {call_timeout:g}s", unreachable)
    except (TransportError, httplib2.HttpLib2Error, OSError) as exc:
        return failed("Gmail token", f"cannot reach the token endpoint ({type(exc).__name__})", unreachable)
    return None


async def _profile_check(credentials: Credentials, settings: GmailSettings, call_timeout: float) -> Check:
    """The mailbox address through Gmail's getProfile, once, with the freshly refreshed credentials."""
    from gmail_mcp.gmail_api import GmailApiBackend

    backend = GmailApiBackend(
        credentials,
        api_endpoint=settings.api_endpoint,
        user_id=settings.user_id,
        timeout=call_timeout,
        backoff=RetryPolicy(attempts=1),
    )
    try:
        address = await bounded(call_timeout + 1, backend.address())
    except TimeoutError:
        return failed("Gmail mailbox", f"getProfile did not answer within {call_timeout:g}s", "check the network")
    except MailError as exc:
        fix = "check GMAIL_API_ENDPOINT and the network" if settings.api_endpoint else "check the network"
        return failed("Gmail mailbox", f"getProfile failed: {_short(exc)}", fix)
    finally:
        await backend.aclose()
    return passed("Gmail mailbox", address)


async def _address_check(mailbox: Mailbox, call_timeout: float) -> Check:
    try:
        return passed("Gmail mailbox", await bounded(call_timeout + 1, mailbox.backend.address()))
    except TimeoutError:
        return failed("Gmail mailbox", f"no answer within {call_timeout:g}s", "check the network")
    except MailError as exc:
        return failed("Gmail mailbox", _short(exc), "see the reason given")


def _authserv_check(trusted: frozenset[str]) -> Check:
    name = "Gmail authserv-ids"
    if trusted:
        return passed(name, f"trusting Authentication-Results written by {', '.join(sorted(trusted))}")
    detail = (
        "none trusted: no Authentication-Results header can vouch for a sender, so Shopify contact forms never "
        "get order data"
    )
    return failed(name, detail, AUTHSERV_FIX, warning=True)


def _short(exc: BaseException) -> str:
    """The exception's message in one short line (google-auth puts the token endpoint's JSON answer in it)."""
    text = str(exc).strip() or type(exc).__name__
    with contextlib.suppress(ValueError, TypeError):
        answer = json.loads(text[text.index("{") :])
        if isinstance(answer, dict) and answer.get("error"):
            return str(answer["error"])
    return text if len(text) <= 200 else text[:197] + "..."
