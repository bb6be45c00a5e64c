"""The email destination against a real SMTP server (aiosmtpd) on 127.0.0.1, with TLS
certificates from a throwaway CA (trustme)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import msgspec
import pytest
import trio
import trustme
from smtp_test_server import Mailbox, login_checker, smtp_server

from adapters.destinations.email import EmailConfig, EmailDestination
from engine.model import Message, Otp
from engine.plugin_api import (
    ConfigError,
    Delivery,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from engine.plugins import load_destination
from engine.testing import check_destination_class

USERNAME = "septet"
PASSWORD = "correct horse battery staple"
RECEIVED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
CHECK_LOGIN = login_checker(USERNAME, PASSWORD)


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def starttls_port(mailbox: Mailbox, server_tls: ssl.SSLContext) -> Iterator[int]:
    """A submission server: STARTTLS required, AUTH only after it, one valid login."""
    with smtp_server(
        mailbox,
        tls_context=server_tls,
        require_starttls=True,
        auth_require_tls=True,
        authenticator=CHECK_LOGIN,
    ) as port:
        yield port


def settings(port: int, trusted: Path | None, /, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "username": USERNAME,
        "password": PASSWORD,
        "from_address": "sms@septet.example",
        "to": ["me@example.com"],
        "ca_file": str(trusted) if trusted else None,
        "timeout": 5.0,
    }
    return base | overrides


def destination(port: int, trusted: Path | None, /, **overrides: Any) -> EmailDestination:
    # Through msgspec.convert, as the engine turns the config file's table into Config.
    config = msgspec.convert(settings(port, trusted, **overrides), EmailConfig)
    return EmailDestination("mail", config)


def delivery(
    *,
    content: str = "Your code is 123456 (ваш код 🔑). <b>Don't</b> share it & stay safe",
    sender: str = "+15557654321",
    code: str | None = "123456",
    delivery_id: str = "dlv_0193aa00000000000000000000000001",
    attempt: int = 1,
) -> Delivery:
    message = Message(
        id="msg_0193aa00000000000000000000000001",
        tenant="default",
        number_used="+15550100001",
        sender_id=sender,
        content=content,
        encoding="text",
        parts=1,
        received_at=RECEIVED_AT,
        sent_at=None,
        carrier="sandbox",
        carrier_message_id=None,
        otp=Otp(code=code, confidence=0.99) if code else None,
    )
    return Delivery(
        id=delivery_id, destination="mail", message=message, attempt=attempt, created_at=RECEIVED_AT
    )


def test_the_email_destination_keeps_the_destination_contract() -> None:
    check_destination_class(EmailDestination, settings(587, None))


@pytest.mark.trio
async def test_starttls_and_auth_deliver_a_readable_email(
    starttls_port: int, ca_file: Path, mailbox: Mailbox
) -> None:
    target = destination(
        starttls_port, ca_file, from_name="Septet", to=["a@example.com", "b@x.org"]
    )
    receipt = await target.deliver(delivery())
    await target.aclose()

    assert receipt.status_code == 250
    assert receipt.response is not None
    assert "queued as SEPTET1" in receipt.response
    [received] = mailbox.received
    assert received.tls
    assert received.auth == (USERNAME.encode(), PASSWORD.encode())
    assert received.mail_from == "sms@septet.example"
    assert received.rcpt_tos == ["a@example.com", "b@x.org"]
    mail = received.email
    assert mail["From"] == "Septet <sms@septet.example>"
    assert mail["To"] == "a@example.com, b@x.org"
    assert mail["Date"].datetime == RECEIVED_AT
    assert mail["Subject"] == "Code 123456 from +15557654321"
    assert mail["Message-ID"] == "<dlv_0193aa00000000000000000000000001@septet.example>"
    text = mail.get_body(("plain",))
    page = mail.get_body(("html",))
    assert text is not None
    assert page is not None
    assert isinstance(text, EmailMessage)
    assert isinstance(page, EmailMessage)
    plain = text.get_content().replace("\r\n", "\n")
    assert plain.startswith("Code: 123456\n\nFrom: +15557654321\n")
    assert "(ваш код 🔑). <b>Don't</b> share it & stay safe" in plain
    assert ">123456</p>" in page.get_content()
    assert "🔑). &lt;b&gt;Don&#x27;t&lt;/b&gt; share it &amp; stay safe" in page.get_content()


@pytest.mark.trio
async def test_implicit_tls_delivers(
    mailbox: Mailbox, server_tls: ssl.SSLContext, ca_file: Path
) -> None:
    # aiosmtpd counts only STARTTLS as TLS when it guards AUTH; this connection is TLS
    # from its first byte, so the guard is off here.
    with smtp_server(
        mailbox,
        ssl_context=server_tls,
        auth_require_tls=False,
        authenticator=CHECK_LOGIN,
    ) as port:
        target = destination(port, ca_file, security="tls")
        receipt = await target.deliver(delivery(code=None, sender="Банк", content="Привет"))
    assert receipt.status_code == 250
    [received] = mailbox.received
    assert received.tls
    assert received.auth is not None
    mail = received.email
    assert mail["Subject"] == "SMS from Банк to +15550100001"
    text = mail.get_body(("plain",))
    assert isinstance(text, EmailMessage)
    assert "Привет" in text.get_content()


@pytest.mark.trio
async def test_a_wrong_password_is_permanent_and_never_repeated(
    starttls_port: int, ca_file: Path, mailbox: Mailbox
) -> None:
    target = destination(starttls_port, ca_file, password="hunter2-wrong")
    with pytest.raises(PermanentDeliveryError) as caught:
        await target.deliver(delivery())
    assert caught.value.status_code == 535
    assert not caught.value.disable
    shown = f"{caught.value} {caught.value.response} {caught.value.__cause__} {target.config!r}"
    assert "hunter2" not in shown
    assert not mailbox.received


@pytest.mark.trio
@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("451 4.3.0 Try again later", RetryableDeliveryError),
        ("550 5.7.1 Message rejected", PermanentDeliveryError),
    ],
)
async def test_a_reply_to_data_is_classified_by_its_class(
    starttls_port: int, ca_file: Path, mailbox: Mailbox, reply: str, error: type[Exception]
) -> None:
    mailbox.data_reply = reply
    with pytest.raises(error) as caught:
        await destination(starttls_port, ca_file).deliver(delivery())
    assert isinstance(caught.value, RetryableDeliveryError | PermanentDeliveryError)
    assert caught.value.status_code == int(reply[:3])
    assert caught.value.response == reply[4:]


@pytest.mark.trio
@pytest.mark.parametrize(
    ("replies", "error", "status_code"),
    [
        (["550 5.1.1 No such user", "553 5.1.3 Bad address"], PermanentDeliveryError, 550),
        (["550 5.1.1 No such user", "450 4.2.1 Mailbox busy"], RetryableDeliveryError, 450),
    ],
)
async def test_every_recipient_refused_is_classified_by_the_replies(
    starttls_port: int,
    ca_file: Path,
    mailbox: Mailbox,
    replies: list[str],
    error: type[Exception],
    status_code: int,
) -> None:
    mailbox.rcpt_replies = dict(zip(["a@example.com", "b@example.com"], replies, strict=True))
    target = destination(starttls_port, ca_file, to=list(mailbox.rcpt_replies))
    with pytest.raises(error) as caught:
        await target.deliver(delivery())
    assert isinstance(caught.value, RetryableDeliveryError | PermanentDeliveryError)
    assert caught.value.status_code == status_code
    assert caught.value.response is not None
    assert "b@example.com" in caught.value.response
    assert not mailbox.received


@pytest.mark.trio
async def test_some_recipients_refused_still_delivers_and_says_who(
    starttls_port: int, ca_file: Path, mailbox: Mailbox
) -> None:
    mailbox.rcpt_replies = {"gone@example.com": "550 5.1.1 No such user"}
    target = destination(starttls_port, ca_file, to=["me@example.com", "gone@example.com"])
    receipt = await target.deliver(delivery())
    assert receipt.status_code == 250
    assert receipt.response is not None
    assert "refused: gone@example.com 550 5.1.1 No such user" in receipt.response
    [received] = mailbox.received
    assert received.rcpt_tos == ["me@example.com"]


@pytest.mark.trio
async def test_a_closed_port_is_retryable(ca_file: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(RetryableDeliveryError, match="cannot reach") as caught:
        await destination(port, ca_file).deliver(delivery())
    assert not caught.value.throttled


@pytest.mark.trio
async def test_a_silent_server_times_out_by_the_engines_deadline(ca_file: Path) -> None:
    # The kernel completes the connection; nobody ever sends a greeting.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        target = destination(silent.getsockname()[1], ca_file, timeout=30.0)
        started = trio.current_time()
        with trio.move_on_after(0.5), pytest.raises(RetryableDeliveryError) as caught:
            await target.deliver(delivery())
    assert caught.value.throttled
    assert trio.current_time() - started < 5


@pytest.mark.trio
async def test_an_untrusted_certificate_is_a_retryable_tls_failure(
    starttls_port: int, tmp_path: Path, mailbox: Mailbox
) -> None:
    stranger = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    with pytest.raises(RetryableDeliveryError, match="TLS with"):
        await destination(starttls_port, stranger).deliver(delivery())
    assert not mailbox.received


@pytest.mark.trio
async def test_a_server_without_starttls_gets_nothing_in_the_clear(
    mailbox: Mailbox, ca_file: Path
) -> None:
    with smtp_server(mailbox) as port:
        with pytest.raises(PermanentDeliveryError, match="STARTTLS"):
            await destination(port, ca_file).deliver(delivery())
        # Without credentials "none" is allowed, and must be chosen explicitly.
        plain = destination(
            port, ca_file, security="none", ca_file=None, username=None, password=None
        )
        await plain.deliver(delivery())
    [received] = mailbox.received
    assert not received.tls
    assert received.auth is None


@pytest.mark.trio
async def test_attempts_of_one_delivery_share_their_message_id(
    starttls_port: int, ca_file: Path, mailbox: Mailbox
) -> None:
    target = destination(starttls_port, ca_file)
    await target.deliver(delivery(attempt=1))
    await target.deliver(delivery(attempt=2))
    await target.deliver(delivery(delivery_id="dlv_0193aa00000000000000000000000002"))
    first, retry, other = (received.email["Message-ID"] for received in mailbox.received)
    assert first == retry
    assert other != first


@pytest.mark.trio
async def test_sms_text_and_sender_cannot_add_headers(
    starttls_port: int, ca_file: Path, mailbox: Mailbox
) -> None:
    attack = "\r\nBcc: evil@example.com\r\nX-Evil: 1\r\n\r\n"
    target = destination(starttls_port, ca_file)
    await target.deliver(
        delivery(content=f"Hi{attack}body", sender=f"Bank{attack}", code=f"1{attack}")
    )
    [received] = mailbox.received
    assert received.rcpt_tos == ["me@example.com"]
    mail = received.email
    assert set(mail.keys()) == {
        "From",
        "To",
        "Date",
        "Subject",
        "Message-ID",
        "Auto-Submitted",
        "MIME-Version",
        "Content-Type",
    }
    # The attack is still visible to the reader, as text on one line of the Subject.
    line = "Bcc: evil@example.com X-Evil: 1"
    assert mail["Subject"] == f"Code 1 {line} from Bank {line}"
    text = mail.get_body(("plain",))
    assert isinstance(text, EmailMessage)
    plain = text.get_content().replace("\r\n", "\n")
    assert plain.startswith(f"Code: 1 {line}\n")
    assert plain.endswith("\nHi\nBcc: evil@example.com\nX-Evil: 1\n\nbody\n")


@pytest.mark.trio
async def test_a_subject_template_and_the_connection_limit_apply(
    starttls_port: int, ca_file: Path, mailbox: Mailbox
) -> None:
    mailbox.data_delay = 0.2
    target = destination(
        starttls_port, ca_file, subject="[{tenant}] {sender} via {carrier}", max_connections=1
    )
    async with trio.open_nursery() as nursery:
        for number in range(2):
            nursery.start_soon(target.deliver, delivery(delivery_id=f"dlv_{number}"))
    assert mailbox.most_sessions_in_data == 1
    assert [r.email["Subject"] for r in mailbox.received] == [
        "[default] +15557654321 via sandbox"
    ] * 2


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"to": []}, "to"),
        ({"to": ["me@example.com", "not an address"]}, "to"),
        ({"to": ["me@example.com\r\nBcc: evil@example.com"]}, "to"),
        ({"from_address": "sms@"}, "from_address"),
        ({"from_name": "Septet\r\nBcc: x"}, "from_name"),
        ({"security": "none", "ca_file": None}, "security"),
        ({"password": None}, "password"),
        ({"password": "pässword"}, "password"),
        ({"username": ""}, "username"),
        (
            {"security": "none", "ca_file": "/etc/ssl/ca.pem", "username": None, "password": None},
            "ca_file",
        ),
        ({"subject": "{sender.__class__}"}, "subject"),
        ({"subject": "{unknown}"}, "subject"),
        ({"port": 0}, "port"),
        ({"timeout": 0}, "timeout"),
        ({"max_connections": 0}, "max_connections"),
        ({"host": "smtp example"}, "host"),
    ],
)
def test_bad_settings_name_their_key(ca_file: Path, overrides: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        destination(587, ca_file, **overrides)
    assert caught.value.key == key
    assert PASSWORD not in str(caught.value)


def test_the_registry_builds_it_and_names_a_bad_settings_full_key() -> None:
    assert isinstance(load_destination("mail", "email", settings(587, None)), EmailDestination)
    with pytest.raises(ConfigError) as caught:
        load_destination("mail", "email", settings(587, None, to=["nobody"]))
    assert caught.value.key == "destinations.mail.config.to"


def test_a_missing_ca_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        destination(587, tmp_path / "missing.pem")
    assert caught.value.key == "ca_file"


def test_the_password_stays_out_of_the_settings_repr(ca_file: Path) -> None:
    config = msgspec.convert(settings(587, ca_file), EmailConfig)
    assert PASSWORD not in repr(config)
    assert "password='***'" in repr(config)
