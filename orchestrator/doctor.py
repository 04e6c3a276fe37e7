"""`support-agent doctor`: check a configuration end to end and say what to fix, one line per check.

Every check is independent and reports what it saw: the configuration file, the Shopify store (mode, token, API
version, access scopes via the Admin API's own `currentAppInstallation.accessScopes`), the Gmail backend (Maildir
folder, or token, refresh, granted scopes and mailbox address), the OpenAI-compatible endpoint (reachable, key
accepted, models offered) and the folders the agent writes to. Each network call is bounded by
`call_timeout` seconds; nothing is retried, and nothing is written except a temporary file deleted at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import anyio
import anyio.to_thread
import httpx

from shopify_mcp.client import SCOPE_HINTS

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

    from gmail_mcp.config import GmailSettings
    from orchestrator.config import AgentConfig, Secrets
    from orchestrator.stats_command import AddParser
    from shopify_mcp.config import ShopifySettings

T = TypeVar("T")

DEFAULT_TIMEOUT = 15.0
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
NEEDED_SCOPES = (
    "read_orders",
    "read_all_orders",
    "read_customers",
    "read_products",
    "read_inventory",
    "read_locations",
    "read_discounts",
    "read_legal_policies",
)
"""The Admin API access scopes the Shopify tools use (each one's loss is explained by `SCOPE_HINTS`)."""
GMAIL_MODIFY_SCOPE = "https://www.googleapis.com/auth/gmail.modify"
MARKS = {True: "✓", False: "✗", None: "\u2013"}


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report. `ok` is True (fine), False (wrong: `fix` says what to do) or None (skipped)."""

    name: str
    ok: bool | None
    detail: str
    fix: str = ""


def _passed(name: str, detail: str) -> Check:
    return Check(name, True, detail)


def _failed(name: str, detail: str, fix: str) -> Check:
    return Check(name, False, detail, fix)


def _skipped(name: str, detail: str) -> Check:
    return Check(name, None, detail)


# --- the whole diagnosis -------------------------------------------------------------------------------------------


async def diagnose(
    *,
    shopify_settings: ShopifySettings | Exception,
    gmail_settings: GmailSettings | Exception,
    secrets: Secrets,
    config: AgentConfig | Exception,
    call_timeout: float = DEFAULT_TIMEOUT,
) -> list[Check]:
    """Run every check; settings that failed to load are passed as the exception and reported as a failed line."""
    checks = [_config_check(config)]
    checks += await _shopify_checks(shopify_settings, call_timeout)
    checks += await _gmail_checks(gmail_settings, call_timeout)
    checks += await _llm_checks(secrets, config, call_timeout)
    checks += _file_checks(secrets, shopify_settings)
    return checks


def failed(checks: Iterable[Check]) -> list[Check]:
    return [check for check in checks if check.ok is False]


def render(checks: list[Check]) -> str:
    """One line per check (tick, cross or dash; name; what was seen; for a failure what to fix), then a summary."""
    width = max((len(check.name) for check in checks), default=0)
    lines = []
    for check in checks:
        line = f"{MARKS[check.ok]} {check.name.ljust(width)}  {check.detail}"
        if check.ok is False and check.fix:
            line += f" → fix: {check.fix}"
        lines.append(line)
    bad = len(failed(checks))
    skipped = sum(1 for check in checks if check.ok is None)
    good = len(checks) - bad - skipped
    verdict = "all good" if not bad else f"{bad} problem{'s' if bad != 1 else ''} to fix"
    lines.append(f"{verdict} ({good} ok, {bad} failed, {skipped} skipped)")
    return "\n".join(lines) + "\n"


# --- configuration ------------------------------------------------------------------------------------------------


def _config_check(config: AgentConfig | Exception) -> Check:
    if isinstance(config, Exception):
        return _failed("Config file", str(config), "correct the TOML file named above (or unset SUPPORT_AGENT_CONFIG)")
    return _passed("Config file", f"valid (shop {config.shop.name!r}, engine.mode = {config.engine.mode})")


# --- Shopify ------------------------------------------------------------------------------------------------------


async def _shopify_checks(settings: ShopifySettings | Exception, call_timeout: float) -> list[Check]:
    names = ("Shopify token", "Shopify API version", "Shopify scopes")
    if isinstance(settings, Exception):
        fix = "correct the SHOPIFY_* variable named above (environment or .env)"
        return [_failed("Shopify settings", str(settings), fix)] + [
            _skipped(name, "skipped: the settings are invalid") for name in names
        ]
    if settings.sandbox:
        mode = _passed("Shopify mode", "sandbox store (no SHOPIFY_STORE set): answers come from demo data")
        return [mode] + [_skipped(name, "skipped: sandbox store") for name in names]
    auth = "access token" if settings.access_token is not None else "client credentials"
    checks = [_passed("Shopify mode", f"store {settings.base_url} ({auth})")]
    from shopify_mcp.context import open_context
    from shopify_mcp.errors import AuthenticationError, ShopifyAPIError

    quick = settings.model_copy(
        update={"timeout": min(settings.timeout, call_timeout), "max_retries": 0, "retry_max_delay": 1.0}
    )
    token_fix = (
        "check SHOPIFY_ACCESS_TOKEN (the Admin API token of an app installed on this store) or "
        "SHOPIFY_CLIENT_ID/SHOPIFY_CLIENT_SECRET, and that the app is still installed"
    )
    try:
        async with open_context(quick) as ctx:
            try:
                shop = (await _bounded(call_timeout, ctx.client.execute("ShopInfo"))).get("shop") or {}
            except AuthenticationError:
                checks.append(_failed("Shopify token", "rejected by Shopify (HTTP 401)", token_fix))
                return checks + [_skipped(name, "skipped: the token was rejected") for name in names[1:]]
            except (ShopifyAPIError, TimeoutError) as exc:
                reason = str(exc) or f"no answer within {call_timeout:g}s"
                fix = f"check SHOPIFY_STORE ({settings.store}) and the network"
                checks.append(_failed("Shopify token", f"cannot query the store: {reason}", fix))
                return checks + [_skipped(name, "skipped: the store did not answer") for name in names[1:]]
            checks.append(_passed("Shopify token", f"valid ({shop.get('name')}, {shop.get('myshopifyDomain')})"))
            checks.append(_version_check(ctx.client.api_version, ctx.client.served_version))
            try:
                data = await _bounded(call_timeout, ctx.client.execute("AccessScopes"))
            except (ShopifyAPIError, TimeoutError) as exc:
                reason = str(exc) or f"no answer within {call_timeout:g}s"
                checks.append(
                    _failed("Shopify scopes", f"cannot read the granted scopes: {reason}", "see the reason given")
                )
                return checks
            checks.append(_scope_check(data))
    except Exception as exc:  # a token exchange or setup failure: still one readable line
        remaining = [name for name in names if name not in {check.name for check in checks}]
        checks.append(_failed(remaining[0], f"{type(exc).__name__}: {_short(exc)}", token_fix))
        return checks + [_skipped(name, "skipped") for name in remaining[1:]]
    return checks


def _version_check(requested: str, served: str | None) -> Check:
    name = "Shopify API version"
    if served is None:
        return _skipped(name, f"{requested} requested; Shopify did not say which version it served")
    if served != requested:
        return _failed(
            name,
            f"Shopify served {served} instead of {requested} (unsupported or retired)",
            f"update SHOPIFY_API_VERSION to a supported version (e.g. {served} or newer)",
        )
    return _passed(name, f"{requested} supported")


def _scope_check(data: dict[str, Any]) -> Check:
    name = "Shopify scopes"
    installation = data.get("currentAppInstallation") or {}
    granted = {str(entry.get("handle")) for entry in installation.get("accessScopes") or [] if isinstance(entry, dict)}
    # Shopify implies a read scope by its write scope (write_orders grants read_orders).
    granted |= {"read_" + handle[len("write_") :] for handle in granted if handle.startswith("write_")}
    missing = [scope for scope in NEEDED_SCOPES if scope not in granted]
    if not missing:
        return _passed(name, f"all {len(NEEDED_SCOPES)} needed scopes granted")
    effects = ", ".join(f"{scope} ({SCOPE_HINTS.get(scope, 'some lookups fail')})" for scope in missing)
    return _failed(
        name,
        f"missing {effects}",
        "add the missing scopes to the app's Admin API access scopes, then reinstall or re-authorise the app",
    )


# --- Gmail --------------------------------------------------------------------------------------------------------


async def _gmail_checks(settings: GmailSettings | Exception, call_timeout: float) -> list[Check]:
    names = ("Gmail token", "Gmail scopes", "Gmail mailbox")
    if isinstance(settings, Exception):
        fix = "correct the GMAIL_* variable named above, or run `gmail-mcp auth` to create a token"
        return [_failed("Gmail settings", str(settings), fix)] + [
            _skipped(name, "skipped: the settings are invalid") for name in names
        ]
    if not settings.use_gmail:
        problem = _folder_problem(settings.maildir)
        if problem:
            backend = _failed(
                "Gmail backend",
                f"Maildir {settings.maildir}: {problem}",
                "make it a writable folder or set GMAIL_MAILDIR (or configure the Gmail API with `gmail-mcp auth`)",
            )
        else:
            backend = _passed("Gmail backend", f"Maildir {settings.maildir} (writable)")
        return [
            backend,
            _skipped("Gmail token", "not used: Maildir backend"),
            _skipped("Gmail scopes", "not used: Maildir backend"),
            _passed("Gmail mailbox", f"{settings.address} (GMAIL_ADDRESS)"),
        ]
    source = "GOOGLE_TOKEN_JSON" if settings.token_json is not None else str(settings.token_file)
    checks = [_passed("Gmail backend", f"Gmail API (token from {source})")]
    from gmail_mcp.credentials import load_credentials
    from gmail_mcp.errors import ConfigError

    try:
        credentials, _ = load_credentials(settings)
    except ConfigError as exc:
        checks.append(_failed("Gmail token", str(exc), "run `gmail-mcp auth` (or set GOOGLE_TOKEN_JSON)"))
        return checks + [_skipped(name, "skipped: no usable token") for name in names[1:]]
    refused = await _refresh(credentials, call_timeout)
    if refused is not None:
        checks.append(refused)
        return checks + [_skipped(name, "skipped: the token cannot be refreshed") for name in names[1:]]
    checks.append(_passed("Gmail token", "loads and refreshes"))
    granted = set(getattr(credentials, "granted_scopes", None) or credentials.scopes or ())
    if GMAIL_MODIFY_SCOPE in granted:
        checks.append(_passed("Gmail scopes", "gmail.modify granted"))
    else:
        shown = ", ".join(sorted(scope.rsplit("/", 1)[-1] for scope in granted)) or "none"
        checks.append(
            _failed(
                "Gmail scopes",
                f"gmail.modify not granted (granted: {shown})",
                "run `gmail-mcp auth` and accept the Gmail 'read, compose and modify' permission",
            )
        )
    checks.append(await _mailbox_check(credentials, settings, call_timeout))
    return checks


async def _refresh(credentials: Credentials, call_timeout: float) -> Check | None:
    """Force one refresh (proves the refresh token works); a failed `Check`, or None when it worked."""
    import google_auth_httplib2
    import httplib2
    from google.auth.exceptions import RefreshError

    def refresh() -> None:
        http = httplib2.Http(timeout=call_timeout)
        try:
            credentials.refresh(google_auth_httplib2.Request(http))  # type: ignore[no-untyped-call]
        finally:
            http.close()

    try:
        await _bounded(call_timeout + 1, anyio.to_thread.run_sync(refresh, abandon_on_cancel=True))
    except RefreshError as exc:
        if "invalid_grant" in str(exc):
            detail = "refresh token revoked or expired (invalid_grant)"
        else:
            detail = f"refresh refused ({_short(exc)})"
        return _failed("Gmail token", detail, "run `gmail-mcp auth` to authorise again")
    except TimeoutError:
        return _failed(
            "Gmail token",
            f"the token endpoint did not answer within {call_timeout:g}s",
            f"check the network and the token's token_uri ({credentials.token_uri})",
        )
    except Exception as exc:
        return _failed(
            "Gmail token",
            f"cannot reach the token endpoint ({type(exc).__name__})",
            f"check the network and the token's token_uri ({credentials.token_uri})",
        )
    return None


async def _mailbox_check(credentials: Credentials, settings: GmailSettings, call_timeout: float) -> Check:
    from gmail_mcp.gmail_api import GmailApiBackend
    from support_core.retry import RetryPolicy

    backend = GmailApiBackend(
        credentials,
        api_endpoint=settings.api_endpoint,
        user_id=settings.user_id,
        timeout=call_timeout,
        backoff=RetryPolicy(attempts=1),
    )
    try:
        address = await _bounded(call_timeout + 1, backend.address())
    except TimeoutError:
        return _failed("Gmail mailbox", f"getProfile did not answer within {call_timeout:g}s", "check the network")
    except Exception as exc:
        fix = "check GMAIL_API_ENDPOINT and the network" if settings.api_endpoint else "check the network"
        return _failed("Gmail mailbox", f"getProfile failed: {_short(exc)}", fix)
    finally:
        with contextlib.suppress(Exception):
            await backend.aclose()
    return _passed("Gmail mailbox", address)


# --- OpenAI-compatible endpoint -----------------------------------------------------------------------------------


async def _llm_checks(secrets: Secrets, config: AgentConfig | Exception, call_timeout: float) -> list[Check]:
    from orchestrator.config import Engine

    engine = Engine() if isinstance(config, Exception) else config.engine
    key = secrets.openai_api_key.get_secret_value() if secrets.openai_api_key else None
    if engine.mode == "offline":
        return [
            _skipped("LLM endpoint", "engine.mode = offline: the offline engine is used"),
            _skipped("LLM models", "not used"),
        ]
    if not key and not secrets.openai_base_url:
        if engine.mode == "llm":
            return [
                _failed(
                    "LLM endpoint",
                    "engine.mode = llm but neither OPENAI_API_KEY nor OPENAI_BASE_URL is set",
                    "set OPENAI_API_KEY (and OPENAI_BASE_URL for a compatible server), or engine.mode = auto",
                ),
                _skipped("LLM models", "skipped: no endpoint"),
            ]
        return [
            _skipped("LLM endpoint", "not configured (no OPENAI_API_KEY): the offline engine will be used"),
            _skipped("LLM models", "not used"),
        ]
    base = (secrets.openai_base_url or DEFAULT_OPENAI_BASE_URL).rstrip("/")
    url = f"{base}/models"
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(call_timeout)) as http:
            response = await _bounded(
                call_timeout + 1, http.get(url, headers={"Authorization": f"Bearer {key or 'no-key-needed'}"})
            )
    except (httpx.TimeoutException, TimeoutError):
        fix = "check OPENAI_BASE_URL and that the server is running"
        return [_failed("LLM endpoint", f"{base} did not answer within {call_timeout:g}s", fix), _no_models()]
    except httpx.HTTPError as exc:
        fix = "check OPENAI_BASE_URL and that the server is running"
        return [_failed("LLM endpoint", f"cannot connect to {base} ({type(exc).__name__})", fix), _no_models()]
    if response.status_code in (401, 403):
        return [
            _failed(
                "LLM endpoint",
                f"{base} rejected the API key (HTTP {response.status_code})",
                "check OPENAI_API_KEY (a key for this endpoint, not revoked)",
            ),
            _no_models(),
        ]
    if response.status_code >= 400:
        fix = "check OPENAI_BASE_URL (it should end with /v1 for most servers)"
        return [_failed("LLM endpoint", f"GET {url} answered HTTP {response.status_code}", fix), _no_models()]
    try:
        offered = {str(model["id"]) for model in response.json()["data"]}
    except (ValueError, KeyError, TypeError):
        fix = "check OPENAI_BASE_URL points to an OpenAI-compatible API"
        return [_failed("LLM endpoint", f"GET {url} did not answer a model list", fix), _no_models()]
    checks = [_passed("LLM endpoint", f"{base} reachable, key accepted")]
    wanted = {"engine.router_model": engine.router_model, "engine.agent_model": engine.agent_model}
    missing = {setting: model for setting, model in wanted.items() if model not in offered}
    if missing:
        listed = ", ".join(f"{model} ({setting})" for setting, model in missing.items())
        sample = ", ".join(sorted(offered)[:8]) or "none"
        checks.append(
            _failed(
                "LLM models",
                f"not offered by the endpoint: {listed}",
                f"set {' and '.join(missing)} in the config to one of: {sample}",
            )
        )
    else:
        models = sorted(set(wanted.values()))
        checks.append(_passed("LLM models", f"{', '.join(models)} available"))
    return checks


def _no_models() -> Check:
    return _skipped("LLM models", "skipped: endpoint not usable")


# --- files --------------------------------------------------------------------------------------------------------


def _file_checks(secrets: Secrets, shopify_settings: ShopifySettings | Exception) -> list[Check]:
    checks = [
        _folder_check("Ledger folder", secrets.ledger.parent, "make it a writable folder or set SUPPORT_AGENT_LEDGER")
    ]
    if isinstance(shopify_settings, Exception):
        checks.append(_skipped("Tickets folder", "skipped: the Shopify settings are invalid"))
    elif shopify_settings.ticket_sink != "local":
        checks.append(_skipped("Tickets folder", f"not used: tickets go to {shopify_settings.ticket_sink}"))
    else:
        checks.append(
            _folder_check(
                "Tickets folder",
                shopify_settings.ticket_db.parent,
                "make it a writable folder or set SHOPIFY_TICKET_DB",
            )
        )
    return checks


def _folder_check(name: str, folder: Path, fix: str) -> Check:
    problem = _folder_problem(folder)
    if problem:
        return _failed(name, f"{folder}: {problem}", fix)
    state = "writable" if folder.is_dir() else "will be created, parent writable"
    return _passed(name, f"{folder} ({state})")


def _folder_problem(folder: Path) -> str | None:
    """Why files cannot be written in `folder` (creating it first if needed), or None when they can.

    An existing folder is probed by creating and deleting a temporary file. A missing one must be creatable: its
    nearest existing ancestor must be a writable folder (nothing is created here).
    """
    folder = folder.expanduser()
    if folder.exists():
        if not folder.is_dir():
            return "exists but is not a folder"
        try:
            fd, name = tempfile.mkstemp(dir=folder, prefix=".doctor-", suffix=".tmp")
        except OSError as exc:
            return f"not writable ({exc.strerror or type(exc).__name__})"
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(name)
        return None
    ancestor = folder.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"cannot be created: {ancestor} is a file, not a folder"
    if _folder_problem(ancestor) is not None:
        return f"cannot be created: {ancestor} is not writable"
    return None


# --- helpers ------------------------------------------------------------------------------------------------------


async def _bounded(seconds: float, call: Awaitable[T]) -> T:
    """Await `call`, raising TimeoutError after `seconds`."""
    with anyio.fail_after(seconds):
        return await call


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    with contextlib.suppress(ValueError, TypeError):  # google-auth puts the JSON answer in the message
        answer = json.loads(text[text.index("{") :])
        if isinstance(answer, dict) and answer.get("error"):
            return str(answer["error"])
    return text if len(text) <= 200 else text[:197] + "..."


# --- command line -------------------------------------------------------------------------------------------------


def add_doctor_parser(add_parser: AddParser, common_parent: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add `doctor` (with the common flags) with `add_parser`."""
    doctor = add_parser(
        "doctor",
        parents=[common_parent],
        help="check the configuration end to end (Shopify, Gmail, LLM endpoint, files) and say what to fix",
    )
    doctor.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds each network check may take (default {DEFAULT_TIMEOUT:g})",
    )
    return doctor


async def run_doctor(args: argparse.Namespace, secrets: Secrets, config: AgentConfig, out: TextIO) -> int:
    """Load the Shopify and Gmail settings, run every check, print the report; 0 when nothing failed, else 1."""
    from gmail_mcp.config import load_settings as load_gmail_settings
    from shopify_mcp.config import load_settings as load_shopify_settings

    shopify: ShopifySettings | Exception = _load(load_shopify_settings)
    gmail: GmailSettings | Exception = _load(load_gmail_settings)
    call_timeout = float(getattr(args, "timeout", None) or DEFAULT_TIMEOUT)
    checks = await diagnose(
        shopify_settings=shopify, gmail_settings=gmail, secrets=secrets, config=config, call_timeout=call_timeout
    )
    out.write(render(checks))
    return 1 if failed(checks) else 0


def _load(loader: Callable[[], T]) -> T | Exception:
    try:
        return loader()
    except Exception as exc:  # each package's ConfigError: reported as a failed line, not a crash
        return exc
