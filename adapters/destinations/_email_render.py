"""One SMS as one e-mail: headers that SMS text cannot forge, a text and an HTML part.

Everything that comes from the SMS (the sender id, the code, the text) is data: the sender
id and the code reach the Subject only after control characters are turned into spaces,
so a sender id such as ``"Bank\\r\\nBcc: x@example.com"`` stays one line of the Subject.
The text goes into the bodies, quoted-printable (7-bit clean for any relay), and into the
HTML part only through :func:`html.escape`.

The ``Message-ID`` is made from the delivery's id, which is the same on every attempt, so
a mailbox (or a human) can recognise a retry of a message it already has.
"""

from __future__ import annotations

import email.errors
import html
import re
import string
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from hashlib import sha256

from engine.plugin_api import Delivery, Message

__all__ = [
    "DEFAULT_OTP_SUBJECT",
    "DEFAULT_SUBJECT",
    "SUBJECT_FIELDS",
    "check_subject_template",
    "header_safe",
    "message_id",
    "parse_address",
    "render_email",
]

DEFAULT_SUBJECT = "SMS from {sender} to {number}"
"""The Subject of a message without a one-time code."""
DEFAULT_OTP_SUBJECT = "Code {code} from {sender}"
"""The Subject of a message in which a one-time code was found."""
SUBJECT_FIELDS = frozenset({"carrier", "code", "number", "sender", "tenant"})
"""The names a ``subject`` template may use; ``{code}`` is empty when no code was found."""

_MAX_SUBJECT = 200
_MAX_FIELD = 64
# C0 and C1 controls, DEL and the Unicode line and paragraph separators: anything a mail
# reader or a header folder could take for a line break or hide from the reader.
_CONTROLS = [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
_HEADER_UNSAFE = dict.fromkeys(_CONTROLS, " ")
_BODY_UNSAFE = {code: "\ufffd" for code in _CONTROLS if chr(code) not in "\n\t"}
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def parse_address(value: str) -> Address:
    """An ASCII ``local@domain`` address, or ``ValueError`` saying what is wrong with it."""
    if not value.isascii():
        raise ValueError(f"{value!r} is not ASCII (write the domain in its xn-- form)")
    if value != value.translate(_HEADER_UNSAFE) or " " in value:
        raise ValueError(f"{value!r} contains spaces or control characters")
    if value.count("@") != 1:
        raise ValueError(f"{value!r} is not one local@domain address")
    try:
        address = Address(addr_spec=value)
    # The header parser reports bad syntax through several exception types.
    except (ValueError, IndexError, email.errors.MessageError) as exc:
        raise ValueError(f"{value!r} is not an e-mail address: {exc}") from None
    if not address.username or not address.domain:
        raise ValueError(f"{value!r} is not one local@domain address")
    return address


def check_subject_template(template: str) -> None:
    """Raise ``ValueError`` unless ``template`` only uses :data:`SUBJECT_FIELDS` by name."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"{template!r} is not a format template: {exc}") from None
    for _, name, spec, _ in parsed:
        if name is None:
            continue
        if name not in SUBJECT_FIELDS:
            allowed = ", ".join(f"{{{field}}}" for field in sorted(SUBJECT_FIELDS))
            raise ValueError(f"unknown field {{{name}}} in {template!r}; use {allowed}")
        if spec and "{" in spec:
            raise ValueError(f"nested fields are not supported: {template!r}")
    try:
        template.format_map(dict.fromkeys(SUBJECT_FIELDS, "x"))
    except (ValueError, KeyError, IndexError) as exc:
        raise ValueError(f"{template!r} is not a usable template: {exc}") from None


def header_safe(text: str, limit: int) -> str:
    """``text`` on one line: controls become spaces, runs of spaces one, at most ``limit``."""
    single = " ".join(_without_surrogates(text).translate(_HEADER_UNSAFE).split())
    return single if len(single) <= limit else single[: limit - 1] + "\u2026"


def message_id(delivery_id: str, domain: str) -> str:
    """``<id@domain>``, the same for every attempt of one delivery."""
    left = delivery_id if _DOT_ATOM.fullmatch(delivery_id) else "septet." + _digest(delivery_id)
    return f"<{left}@{domain}>"


def render_email(
    delivery: Delivery,
    *,
    sender: Address,
    recipients: Sequence[Address],
    subject_template: str | None,
) -> EmailMessage:
    """The e-mail for ``delivery``: headers, a text part and an HTML alternative."""
    message = delivery.message
    fields = _subject_fields(message)
    if subject_template is None:
        subject_template = DEFAULT_OTP_SUBJECT if message.otp else DEFAULT_SUBJECT
    mail = EmailMessage(policy=SMTP)
    mail["From"] = sender
    mail["To"] = tuple(recipients)
    mail["Date"] = format_datetime(_aware(message.received_at))
    mail["Subject"] = header_safe(subject_template.format_map(fields), _MAX_SUBJECT)
    mail["Message-ID"] = message_id(delivery.id, sender.domain)
    # RFC 3834: tells auto-responders (vacation replies) not to answer a machine.
    mail["Auto-Submitted"] = "auto-generated"
    details = _details(message)
    content = _body_safe(message.content)
    code = header_safe(message.otp.code, _MAX_FIELD) if message.otp else None
    mail.set_content(_text_body(code, details, content), cte="quoted-printable")
    mail.add_alternative(_html_body(code, details, content), subtype="html", cte="quoted-printable")
    return mail


def _subject_fields(message: Message) -> dict[str, str]:
    return {
        "carrier": header_safe(message.carrier, _MAX_FIELD),
        "code": header_safe(message.otp.code, _MAX_FIELD) if message.otp else "",
        "number": header_safe(message.number_used, _MAX_FIELD),
        "sender": header_safe(message.sender_id, _MAX_FIELD) or "unknown sender",
        "tenant": header_safe(message.tenant, _MAX_FIELD),
    }


def _details(message: Message) -> dict[str, str]:
    details = {
        "From": message.sender_id,
        "To": message.number_used,
        "Received": _aware(message.received_at).isoformat(timespec="seconds"),
        "Carrier": message.carrier,
    }
    if message.flags:
        details["Flags"] = ", ".join(message.flags)
    return {label: header_safe(value, _MAX_SUBJECT) for label, value in details.items()}


def _text_body(code: str | None, details: Mapping[str, str], content: str) -> str:
    lines = [f"Code: {code}", ""] if code else []
    lines.extend(f"{label}: {value}" for label, value in details.items())
    lines.extend(["", content])
    return "\n".join(lines) + "\n"


def _html_body(code: str | None, details: Mapping[str, str], content: str) -> str:
    code_block = (
        '<p style="font-family:monospace;font-size:32px;font-weight:bold;letter-spacing:4px;'
        f'margin:0 0 16px">{html.escape(code)}</p>\n'
        if code
        else ""
    )
    rows = "".join(
        f'<tr><th style="text-align:left;padding-right:12px">{html.escape(label)}</th>'
        f"<td>{html.escape(value)}</td></tr>\n"
        for label, value in details.items()
    )
    return (
        '<!DOCTYPE html>\n<html><body style="font-family:sans-serif">\n'
        f"{code_block}"
        f'<table style="margin-bottom:16px">\n{rows}</table>\n'
        f'<pre style="white-space:pre-wrap;font-family:inherit">{html.escape(content)}</pre>\n'
        "</body></html>\n"
    )


def _body_safe(text: str) -> str:
    # Line breaks become "\n" (the generator writes CRLF); other controls are shown as
    # U+FFFD rather than passed on to mail readers.
    unified = text.replace("\r\n", "\n").replace("\r", "\n")
    return _without_surrogates(unified).translate(_BODY_UNSAFE)


def _without_surrogates(text: str) -> str:
    # A lone surrogate cannot be encoded in any part of the message; show it as "?".
    return text.encode("utf-8", "replace").decode("utf-8")


def _aware(moment: datetime) -> datetime:
    # The model keeps times in UTC; a naive one is read as UTC rather than local time.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _digest(text: str) -> str:
    return sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]
