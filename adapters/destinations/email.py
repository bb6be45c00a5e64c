"""The email destination: each message as an e-mail, sent over SMTP.

Settings (``EmailConfig``)::

    host = "smtp.example.com"
    port = 587                      # default: 587 starttls, 465 tls, 25 none
    security = "starttls"           # "starttls" (RFC 3207), "tls" (RFC 8314) or "none"
    username = "septet"             # AUTH (RFC 4954), only over TLS; with password
    password = "..."
    from_address = "sms@example.com"
    from_name = "Septet"            # optional display name
    to = ["me@example.com"]
    subject = "Code {code} from {sender}"   # optional; see below
    timeout = 30.0                  # seconds per SMTP step
    ca_file = "/etc/septet/ca.pem"  # optional PEM roots, trusted besides the system's
    helo_name = "septet.example.com"        # optional EHLO name
    max_connections = 2             # SMTP sessions at once for this destination

``security = "none"`` is for a relay on the same host or network only, and must be
chosen explicitly. Credentials with ``"none"`` are refused: AUTH would send the password
in the clear. ``subject`` may use ``{sender}``, ``{number}``, ``{code}`` (empty when the
message has no code), ``{carrier}`` and ``{tenant}``; without it the Subject is
"Code {code} from {sender}" when a one-time code was found, else
"SMS from {sender} to {number}". Addresses are plain ASCII ``local@domain`` (an
international domain in its ``xn--`` form); settings are checked when the destination is
built, and a bad one raises ``ConfigError`` naming its key.

Each delivery opens one SMTP session in a worker thread (smtplib blocks; aiosmtplib is
asyncio-only): connect, EHLO, STARTTLS and EHLO again, AUTH, MAIL, RCPT for each
recipient, DATA, QUIT. Steps share the time left before the engine's deadline, each
bounded by ``timeout``. How failures are classified:

* a 4xx reply (at any step, including RCPT and DATA) is retryable; a 5xx reply is
  permanent (a 535 on AUTH too: a wrong password does not fix itself). ``status_code``
  and ``response`` are the server's reply;
* RCPT refused for every recipient: permanent when all refusals are 5xx, retryable when
  one is 4xx. When some were accepted the message was sent, and the receipt's
  ``response`` names the refused ones;
* a refused connection, a dropped connection or a TLS failure is retryable, a timeout
  retryable and throttled;
* a server that does not offer STARTTLS or AUTH when the settings need them is
  permanent: Septet does not fall back to sending in the clear.

The password never appears in an error, a receipt or the settings' ``repr``.
"""

from __future__ import annotations

import math
import smtplib
import ssl
import time
from email.headerregistry import Address
from typing import ClassVar, Literal

import msgspec
import trio

from engine.plugin_api import (
    ConfigError,
    Delivery,
    DeliveryReceipt,
    PermanentDeliveryError,
    RetryableDeliveryError,
)

from ._email_render import check_subject_template, header_safe, parse_address, render_email

__all__ = ["EmailConfig", "EmailDestination"]

_Security = Literal["starttls", "tls", "none"]

_DEFAULT_PORTS: dict[_Security, int] = {"starttls": 587, "tls": 465, "none": 25}
_MAX_RESPONSE = 500
_Refused = dict[str, tuple[int, bytes]]


class EmailConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of one email destination; see the module docstring."""

    redacted_fields: ClassVar[frozenset[str]] = frozenset({"password"})
    """Fields that hold secrets: never shown where the settings are."""

    host: str
    from_address: str
    to: tuple[str, ...]
    port: int | None = None
    security: _Security = "starttls"
    username: str | None = None
    password: str | None = None
    from_name: str | None = None
    subject: str | None = None
    timeout: float = 30.0
    ca_file: str | None = None
    helo_name: str | None = None
    max_connections: int = 2

    def __repr__(self) -> str:
        # Settings end up in logs and tracebacks; the password must not.
        shown = {f: getattr(self, f) for f in self.__struct_fields__}
        if shown["password"] is not None:
            shown["password"] = "***"
        return "EmailConfig(" + ", ".join(f"{f}={v!r}" for f, v in shown.items()) + ")"

    def __rich_repr__(self) -> list[tuple[str, object]]:
        return [(f, "***" if f == "password" else getattr(self, f)) for f in self.__struct_fields__]


class EmailDestination:
    """Sends each message as an e-mail over SMTP; see the module docstring."""

    api_version: ClassVar[int] = 1
    Config: ClassVar[type[EmailConfig]] = EmailConfig

    def __init__(self, name: str, config: EmailConfig) -> None:
        self.name = name
        self.config = config
        _check_settings(config)
        self._sender = _address(config.from_address, "from_address", config.from_name)
        self._recipients = tuple(_address(value, "to") for value in config.to)
        self._port = config.port if config.port is not None else _DEFAULT_PORTS[config.security]
        self._tls = _tls_context(config.ca_file) if config.security != "none" else None
        self._limiter = trio.CapacityLimiter(config.max_connections)
        self._server = f"SMTP server {config.host}:{self._port}"

    async def deliver(self, delivery: Delivery) -> DeliveryReceipt:
        """Send ``delivery`` as one e-mail; raises a classified delivery error on failure.

        The SMTP session runs in a worker thread, which trio cannot interrupt: the
        session's steps are fitted into the time left before the caller's deadline, and
        a cancellation without a deadline takes effect once the current step ends (at
        most ``timeout`` seconds).
        """
        mail = render_email(
            delivery,
            sender=self._sender,
            recipients=self._recipients,
            subject_template=self.config.subject,
        )
        payload = mail.as_bytes()
        budget = trio.current_effective_deadline() - trio.current_time()
        try:
            reply, refused = await trio.to_thread.run_sync(
                self._send, payload, budget, limiter=self._limiter
            )
        except (smtplib.SMTPException, OSError) as exc:
            raise _delivery_error(exc, self._server) from exc
        if refused:
            reply = f"{reply} (refused: {_describe_refused(refused)})"
        return DeliveryReceipt(status_code=250, response=_excerpt(reply))

    async def aclose(self) -> None:
        """Nothing stays open between deliveries: each one has its own SMTP session."""
        await trio.lowlevel.checkpoint()

    def _send(self, payload: bytes, budget: float) -> tuple[str, _Refused]:
        # Runs in a worker thread. Returns the DATA reply and the refused recipients.
        clock = _StepClock(self.config.timeout, budget)
        smtp = self._connect(clock)
        try:
            self._greet(smtp, clock)
            return self._transmit(smtp, payload, clock)
        finally:
            _close(smtp, clock)

    def _connect(self, clock: _StepClock) -> smtplib.SMTP:
        # The host goes to the constructor, not to connect(): smtplib checks the server's
        # certificate against the constructor's host only. On a failed connection or
        # greeting the constructor closes its socket itself.
        config = self.config
        if config.security == "tls":
            return smtplib.SMTP_SSL(
                config.host,
                self._port,
                local_hostname=config.helo_name,
                timeout=clock.next(),
                context=self._tls,
            )
        return smtplib.SMTP(
            config.host, self._port, local_hostname=config.helo_name, timeout=clock.next()
        )

    def _greet(self, smtp: smtplib.SMTP, clock: _StepClock) -> None:
        clock.arm(smtp)
        smtp.ehlo_or_helo_if_needed()
        if self.config.security == "starttls":
            # starttls() refuses a server that does not offer it (no plaintext fallback)
            # and forgets the first EHLO, so the next step says EHLO again (RFC 3207).
            clock.arm(smtp)
            smtp.starttls(context=self._tls)
            clock.arm(smtp)
            smtp.ehlo_or_helo_if_needed()
        if self.config.username is not None and self.config.password is not None:
            clock.arm(smtp)
            smtp.login(self.config.username, self.config.password)

    def _transmit(
        self, smtp: smtplib.SMTP, payload: bytes, clock: _StepClock
    ) -> tuple[str, _Refused]:
        # smtplib.sendmail() would do this too, but it drops the server's DATA reply,
        # which the attempt log wants ("queued as ...").
        clock.arm(smtp)
        code, reply = smtp.mail(self._sender.addr_spec)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, self._sender.addr_spec)
        refused: _Refused = {}
        for recipient in self._recipients:
            clock.arm(smtp)
            code, reply = smtp.rcpt(recipient.addr_spec)
            if code not in (250, 251):
                refused[recipient.addr_spec] = (code, reply)
        if len(refused) == len(self._recipients):
            raise smtplib.SMTPRecipientsRefused(refused)
        clock.arm(smtp)
        code, reply = smtp.data(payload)
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
        return _reply_text(reply), refused


class _StepClock:
    """Socket timeouts for each SMTP step: ``timeout``, or less when the budget runs out."""

    def __init__(self, timeout: float, budget: float) -> None:
        self._timeout = timeout
        self._stop = time.monotonic() + budget

    def next(self) -> float:
        remaining = self._stop - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the delivery's time ran out")
        return min(self._timeout, remaining)

    def arm(self, smtp: smtplib.SMTP) -> None:
        if smtp.sock is not None:
            smtp.sock.settimeout(self.next())


def _close(smtp: smtplib.SMTP, clock: _StepClock) -> None:
    # QUIT politely when the session still works; a failure here cannot undo a delivery.
    try:
        clock.arm(smtp)
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _delivery_error(
    exc: smtplib.SMTPException | OSError, server: str
) -> RetryableDeliveryError | PermanentDeliveryError:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _recipients_error(exc.recipients, server)
    if isinstance(exc, smtplib.SMTPResponseException):
        code, text = exc.smtp_code, _reply_text(exc.smtp_error)
        message = f"{server} answered {code}: {text}"
        if 500 <= code <= 599:
            return PermanentDeliveryError(message, status_code=code, response=text)
        return RetryableDeliveryError(message, status_code=code, response=text)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib reports a reply that never came as a disconnection; the timeout
        # behind it is the better description (and asks the engine to slow down).
        if isinstance(exc.__context__, TimeoutError):
            return RetryableDeliveryError(f"{server} timed out: {exc}", throttled=True)
        return RetryableDeliveryError(f"{server} closed the connection: {exc}")
    if isinstance(exc, smtplib.SMTPException):
        # STARTTLS or AUTH not offered, no AUTH mechanism in common: settings that do
        # not match the server, which retrying will not change.
        return PermanentDeliveryError(f"{server} cannot be used as configured: {exc}")
    if isinstance(exc, TimeoutError):
        return RetryableDeliveryError(f"{server} timed out: {exc}", throttled=True)
    if isinstance(exc, ssl.SSLError):
        return RetryableDeliveryError(f"TLS with {server} failed: {exc}")
    return RetryableDeliveryError(f"cannot reach {server}: {exc}")


def _recipients_error(
    refused: _Refused, server: str
) -> RetryableDeliveryError | PermanentDeliveryError:
    described = _excerpt(_describe_refused(refused))
    temporary = [code for code, _ in refused.values() if not 500 <= code <= 599]
    if temporary:
        return RetryableDeliveryError(
            f"{server} refused every recipient: {described}",
            status_code=temporary[0],
            response=described,
        )
    first = next(iter(refused.values()))[0]
    return PermanentDeliveryError(
        f"{server} refused every recipient: {described}", status_code=first, response=described
    )


def _describe_refused(refused: _Refused) -> str:
    return "; ".join(
        f"{address} {code} {_reply_text(reply)}" for address, (code, reply) in refused.items()
    )


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return header_safe(text, _MAX_RESPONSE)


def _excerpt(text: str) -> str:
    return text if len(text) <= _MAX_RESPONSE else text[: _MAX_RESPONSE - 1] + "\u2026"


def _check_settings(config: EmailConfig) -> None:
    if not _is_host_name(config.host):
        raise ConfigError(f"{config.host!r} is not a host name or address", key="host")
    if config.port is not None and not 1 <= config.port <= 65535:
        raise ConfigError(f"{config.port} is not a TCP port (1-65535)", key="port")
    if not config.to:
        raise ConfigError("name at least one recipient", key="to")
    if config.security not in _DEFAULT_PORTS:
        raise ConfigError(f"{config.security!r} is not starttls, tls or none", key="security")
    if (config.username is None) != (config.password is None):
        missing = "password" if config.password is None else "username"
        raise ConfigError("username and password go together", key=missing)
    for key, secret in (("username", config.username), ("password", config.password)):
        # smtplib encodes AUTH PLAIN and LOGIN as ASCII, and NUL separates PLAIN's
        # fields. The value itself stays out of the message.
        if secret is not None and not (secret and secret.isascii() and "\0" not in secret):
            raise ConfigError(f"{key} must be non-empty ASCII text without NUL", key=key)
    if config.username is not None and config.security == "none":
        raise ConfigError(
            "credentials need security 'starttls' or 'tls': AUTH without TLS would send "
            "the password in the clear",
            key="security",
        )
    if config.ca_file is not None and config.security == "none":
        raise ConfigError("ca_file is only used with security 'starttls' or 'tls'", key="ca_file")
    if not (math.isfinite(config.timeout) and config.timeout > 0):
        raise ConfigError("timeout must be a positive number of seconds", key="timeout")
    if config.max_connections < 1:
        raise ConfigError("max_connections must be at least 1", key="max_connections")
    if config.helo_name is not None and not _is_host_name(config.helo_name):
        raise ConfigError(f"{config.helo_name!r} is not a host name", key="helo_name")
    if config.subject is not None:
        try:
            check_subject_template(config.subject)
        except ValueError as exc:
            raise ConfigError(str(exc), key="subject") from None


def _is_host_name(value: str) -> bool:
    # Not a full syntax check (the resolver has the last word), only what would let a
    # setting break the SMTP dialogue: spaces, controls, non-ASCII.
    return bool(value) and value.isascii() and value.isprintable() and " " not in value


def _address(value: str, key: str, display_name: str | None = None) -> Address:
    try:
        address = parse_address(value)
    except ValueError as exc:
        raise ConfigError(str(exc), key=key) from None
    if display_name is None:
        return address
    if not display_name.isprintable():
        raise ConfigError("from_name must be one line without control characters", key="from_name")
    return Address(display_name=display_name, addr_spec=address.addr_spec)


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    # Certificates and host names are always verified; ca_file adds roots (a private CA,
    # a test CA) to the system's rather than replacing them.
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot load CA certificates from {ca_file!r}: {exc}", key="ca_file"
            ) from None
    return context
