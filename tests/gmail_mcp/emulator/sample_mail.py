"""Building RFC 822 test messages (bytes) for the Gmail emulator tests."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP

SUPPORT = "support@aurora-activewear.example"
DAY_MS = 86_400_000


def mail(
    subject: str = "Where is my order?",
    body: str = "Hello, my order #1001 has not arrived yet.",
    *,
    sender: str = "Alice Example <alice@example.com>",
    to: str = SUPPORT,
    cc: str | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    html: str | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = "Tue, 10 Nov 2026 09:30:00 +0000"
    digest = hashlib.sha1(f"{subject}|{body}|{sender}".encode()).hexdigest()[:16]
    message["Message-ID"] = message_id or f"<{digest}@example.com>"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    if attachment is not None:
        name, data = attachment
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return message.as_bytes()


def b64url_decode(text: str) -> bytes:
    """What a client must do with Gmail's base64url: restore the padding, then decode."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def ms(year: int, month: int, day: int) -> int:
    return int(datetime(year, month, day, 12, tzinfo=UTC).timestamp() * 1000)
