"""Separate what a reply adds from the quoted history below it and from the sender's signature."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ReplyParts", "split_reply"]


@dataclass(frozen=True)
class ReplyParts:
    """A reply's text in three parts.

    `new_text` is everything the sender wrote in this message, with the quoted history (and the attribution and
    separator lines that introduce it) removed. The signature stays in `new_text`, sign-off line included: it is
    part of what the sender wrote, it often carries their name, and mail clients show it that way. `signature`
    repeats the signature block found at the end of `new_text` (the lines after a "-- " delimiter, or a sign-off
    line such as "Best regards," with up to four short lines after it, or a device line such as "Sent from my
    iPhone") so a caller can strip it when it wants the message body alone.
    """

    new_text: str
    quoted_text: str | None
    signature: str | None


_QUOTED = re.compile(r"^\s*>")
_BLANK = re.compile(r"^\s*$")

# "On <date>, <name> wrote:" and its translations: the verb close to the end and a colon at the end.
# (RUF001 is silenced on lines of Cyrillic or Turkish words: those letters are meant, not Latin look-alikes.)
_WORD_VERBS = (
    r"wrote|writes|said|escribió|escribio|a écrit|a ecrit|schrieb|geschrieben|escreveu|ha scritto|schreef|"
    r"napisał|napisała|napisal|pisze|skrev|kirjoitti|írta|napsal|"
    r"написал|написала|написав|yazdı"  # noqa: RUF001
)
_CJK_VERBS = r"写道|寫道|書きました|のメール|작성"
_ATTRIBUTION_VERB = re.compile(rf"(?i)((?<!\w)({_WORD_VERBS})(?!\w)|{_CJK_VERBS}).{{0,120}}[:\uff1a]\s*$")
_ENDS_WITH_COLON = re.compile(r"[:\uff1a]\s*$")
# Gmail in some languages (Japanese, Russian, ...) has no verb: "<date> Name <address>:".
_ADDRESS_COLON = re.compile(r"<[^<>\s]+@[^<>\s]+>\s*[:\uff1a]\s*$")
_LEAD = re.compile(
    r"(?i)^\s*(on|el|le|am|em|il|op|w dniu|dnia|den|quoting|citando|\d{1,4}[./\-年]|\d{1,2}\s+\w+|"
    r"(mon|tue|wed|thu|fri|sat|sun|lun|mar|mié|mer|jeu|ven|sam|dim|mo|di|mi|do|fr|sa|so|seg|ter|qua|qui|sex|"
    r"sáb|dom|pon|wt|śr|czw|pt|sob|nie|man|tir|ons|tor|fre|lør|søn|"
    r"пн|вт|ср|чт|пт|сб|вс)\.?,?\s)"  # noqa: RUF001
)
_DATE_OR_ADDRESS = re.compile(r"\d{1,2}[:.h]\d{2}|\d{4}|@")

_ORIGINAL_MESSAGE = re.compile(
    r"(?i)^\s*[-_=*]{2,}\s*(original message|mensaje original|message d['\u2019]origine|message original|"
    r"ursprüngliche nachricht|originalnachricht|mensagem original|messaggio originale|oorspronkelijk bericht|"
    r"origineel bericht|originalmeddelande|ursprungligt meddelande|oprindelig meddelelse|opprinnelig melding|"
    r"original melding|исходное сообщение|wiadomość oryginalna|oryginalna wiadomość|alkuperäinen viesti|"
    r"původní zpráva|eredeti üzenet|元のメッセージ|原始邮件|原始郵件)\s*[-_=*]{2,}\s*$"
)
_RULE = re.compile(r"^\s*[-_=*]{5,}\s*$")

# Outlook-style header blocks ("From: ... Sent: ... To: ... Subject: ..."), localised.
_HEADER_KINDS = {
    "from": "from|de|von|da|van|från|fra|od|от|lähettäjä|feladó|kimden|差出人|发件人|寄件者|보낸 사람",
    "sent": "sent|date|envoyé|gesendet|datum|inviato|data|enviado|enviada|fecha|verzonden|skickat|sendt|wysłano|"
    "отправлено|дата|lähetetty|elküldve|送信日時|日付|发送时间|發送時間|날짜",
    "to": "to|à|a|an|para|aan|till|til|do|кому|vastaanottaja|címzett|kime|宛先|收件人|받는 사람",
    "cc": "cc|kopie|copia|kopia|копия|kopio|másolat|写し|抄送",
    "subject": "subject|objet|betreff|oggetto|asunto|assunto|onderwerp|ämne|emne|temat|тема|aihe|tárgy|konu|件名|"
    "主题|主旨|제목",
}
_HEADER_LINE = re.compile(
    r"(?i)^\s*\*?\s*(?:"
    + "|".join(f"(?P<{kind}>{words})" for kind, words in _HEADER_KINDS.items())
    + r")\s*\*?\s*[:\uff1a]"
)

_DEVICE = re.compile(
    r"(?i)^\s*(sent from (my |mail |outlook|yahoo|samsung|aol)|sent with |get outlook for|sent via |"
    r"enviado desde (mi|outlook|yahoo|correo)|envoyé de (mon|outlook)|envoyé depuis|"
    r"von meinem .{1,40} gesendet|gesendet von (meinem|mail)|enviado do meu|enviado de (meu|o meu)|"
    r"inviato da|verzonden (vanaf|met) mijn|verstuurd vanaf mijn|wysłane z|skickat från min|"
    r"sendt fra min|lähetetty .{1,30}(iphone|android)|\S*から送信|"
    r"отправлено с)"  # noqa: RUF001
)
_SIGN_OFF_WORDS = (
    r"best regards|kind regards|warm regards|warmest regards|many thanks|thanks again|thanks so much|thank you|"
    r"regards|best wishes|all the best|best|cheers|thanks|thx|sincerely|yours sincerely|yours truly|respectfully|"
    r"saludos cordiales|un saludo|saludos|atentamente|muchas gracias|gracias|bien cordialement|cordialement|"
    r"bien à vous|merci beaucoup|merci|salutations|mit freundlichen grüßen|mit freundlichen grüssen|"
    r"freundliche grüße|viele grüße|viele grüsse|beste grüße|liebe grüße|schöne grüße|grüße|gruß|danke|"
    r"atenciosamente|abraços|obrigado|obrigada|cordiali saluti|distinti saluti|saluti|grazie mille|grazie|"
    r"met vriendelijke groet(en)?|vriendelijke groet(en)?|groeten|pozdrawiam|z poważaniem|"
    r"с уважением|спасибо|"  # noqa: RUF001
    r"med vänliga hälsningar|vänliga hälsningar|med venlig hilsen|venlig hilsen|med vennlig hilsen|hilsen|mvh|"
    r"よろしくお願いします|よろしくお願いいたします"
)
_SIGN_OFF = re.compile(
    rf"(?i)^\s*({_SIGN_OFF_WORDS})(\s*[,.!:;]*\s*|\s*[,\u2013\u2014-]\s*[^\W\d_][\w .'\u2019-]{{0,40}})$",
)
_MAX_SIGN_OFF_TAIL = 4
_MAX_SHORT_LINE = 72
_MAX_DELIMITED_SIGNATURE = 15


def split_reply(text: str) -> ReplyParts:
    """Split `text` (already normalised: "\\n" line ends) into new text, quoted history and signature.

    Quoted history is recognised by ">"-prefixed blocks (with the attribution line that introduces them, also
    when it wraps over two lines), "On <date>, <name> wrote:" attributions in many languages, "-----Original
    Message-----" separators and Outlook "From:/Sent:/To:/Subject:" header blocks (localised); the latter two,
    and an attribution not followed by ">" lines, mark everything below them as history. Text between quoted
    blocks (inline answers, bottom posting) is kept as new text.
    """
    lines = text.split("\n")
    removed = [False] * len(lines)
    cut = _scan(lines, removed)
    kept = [line for index, line in enumerate(lines[:cut]) if not removed[index]]
    new_text = _tidy("\n".join(kept))
    quoted_runs: list[list[str]] = []  # contiguous quoted blocks, shown with a blank line between them
    previous_quoted = False
    for index, line in enumerate(lines):
        is_quoted = index >= cut or removed[index]
        if is_quoted and previous_quoted:
            quoted_runs[-1].append(line)
        elif is_quoted:
            quoted_runs.append([line])
        previous_quoted = is_quoted
    quoted = _tidy("\n\n".join("\n".join(run) for run in quoted_runs))
    return ReplyParts(new_text=new_text, quoted_text=quoted or None, signature=_signature(new_text))


def _scan(lines: list[str], removed: list[bool]) -> int:
    """Mark quoted blocks in `removed`; return the index where the rest of the text is history (or len)."""
    count = len(lines)
    index = 0
    while index < count:
        line = lines[index]
        if _QUOTED.match(line):
            index = _mark_quote_block(lines, removed, index)
            continue
        if _ORIGINAL_MESSAGE.match(line):
            return index
        if _starts_header_block(lines, index):
            previous = _previous_text_line(lines, index)
            return previous if previous is not None and _RULE.match(lines[previous]) else index
        span = _attribution(lines, index)
        if span is not None:
            first, last = span
            following = _next_text_line(lines, last + 1)
            if following is not None and _QUOTED.match(lines[following]):
                for position in range(first, following):
                    removed[position] = True
                index = _mark_quote_block(lines, removed, following)
                continue
            joined = " ".join(part.strip() for part in lines[first : last + 1])
            if _LEAD.match(joined) and _DATE_OR_ADDRESS.search(joined):
                return first
        index += 1
    return count


def _mark_quote_block(lines: list[str], removed: list[bool], start: int) -> int:
    """Mark the ">" block starting at `start` (blank lines inside it included); return the index after it."""
    index = start
    while index < len(lines):
        if _QUOTED.match(lines[index]):
            removed[index] = True
            index += 1
            continue
        following = _next_text_line(lines, index)
        if following is None or not _QUOTED.match(lines[following]):
            break
        for position in range(index, following):
            removed[position] = True
        index = following
    return index


def _attribution(lines: list[str], index: int) -> tuple[int, int] | None:
    """The span of an attribution line ("On ..., X wrote:") starting at `index`, wrapped over two lines or not."""
    line = lines[index].strip()
    if not line or len(line) > 400:
        return None
    if _is_attribution(line):
        return index, index
    if index + 1 >= len(lines) or _ENDS_WITH_COLON.search(line) or line.endswith((".", "?", "!")):
        return None
    second = lines[index + 1].strip()
    if not second or _QUOTED.match(second) or (_is_attribution(second) and _LEAD.match(second)):
        return None
    joined = f"{line} {second}"
    if len(joined) <= 400 and _is_attribution(joined) and _LEAD.match(joined):
        return index, index + 1
    return None


def _is_attribution(line: str) -> bool:
    if not _ENDS_WITH_COLON.search(line):
        return False
    if _ATTRIBUTION_VERB.search(line):
        return True
    return bool(_ADDRESS_COLON.search(line)) and bool(_DATE_OR_ADDRESS.search(line.split("<", 1)[0]))


def _starts_header_block(lines: list[str], index: int) -> bool:
    """True when a run of at least three header lines (From and two of Sent/To/Cc/Subject) starts here."""
    if not _HEADER_LINE.match(lines[index]):
        return False
    if index > 0 and _HEADER_LINE.match(lines[index - 1]):
        return False
    kinds: set[str] = set()
    for line in lines[index : index + 12]:
        if _BLANK.match(line):
            break
        match = _HEADER_LINE.match(line)
        if match and match.lastgroup:
            kinds.add(match.lastgroup)
    return "from" in kinds and len(kinds) >= 3


def _next_text_line(lines: list[str], start: int) -> int | None:
    for index in range(start, len(lines)):
        if not _BLANK.match(lines[index]):
            return index
    return None


def _previous_text_line(lines: list[str], start: int) -> int | None:
    for index in range(start - 1, -1, -1):
        if not _BLANK.match(lines[index]):
            return index
    return None


def _signature(new_text: str) -> str | None:
    """The signature block at the end of the new text, or None."""
    lines = new_text.split("\n")
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].rstrip() == "--":
            tail = [line for line in lines[index + 1 :] if line.strip()]
            if 0 < len(tail) <= _MAX_DELIMITED_SIGNATURE:
                return _tidy("\n".join(lines[index + 1 :]))
            break
    start = max(0, len(lines) - 1 - _MAX_SIGN_OFF_TAIL - 2)
    for index in range(start, len(lines)):
        if not _SIGN_OFF.match(lines[index]) or _previous_text_line(lines, index) is None:
            continue
        tail = [line for line in lines[index + 1 :] if line.strip()]
        if len(tail) <= _MAX_SIGN_OFF_TAIL and all(len(line.strip()) <= _MAX_SHORT_LINE for line in tail):
            return _tidy("\n".join(lines[index:]))
    last = _previous_text_line(lines, len(lines))
    if last is not None and _DEVICE.match(lines[last]) and len(lines[last].strip()) <= _MAX_SHORT_LINE:
        return lines[last].strip()
    return None


def _tidy(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip()
