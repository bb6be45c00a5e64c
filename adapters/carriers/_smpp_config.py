"""The settings of the SMPP carrier: one or more SMSCs, each with its binds.

Every check names the setting it refuses; msgspec adds the path (``$.smscs[0]``).
The password is a secret: ``repr`` shows ``[redacted]`` and nothing logs it.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from ._webhook_common import RedactedConfig

__all__ = ["BindMode", "DataCodingZero", "SmppConfig", "SmscConfig"]

BindMode = Literal["receiver", "transceiver"]
"""``bind_receiver`` (inbound only) or ``bind_transceiver`` (the SMSC's choice for both ways)."""

DataCodingZero = Literal["gsm7", "latin1", "ascii"]
"""What ``data_coding`` 0 (the SMSC's default alphabet) means on a link: unpacked GSM 7-bit
(one septet per octet), ISO-8859-1, or ASCII."""

# SMPP 3.4 §5.2: C-octet strings with their terminating NUL.
_MAX_SYSTEM_ID = 15
_MAX_PASSWORD = 8
_MAX_SYSTEM_TYPE = 12
_MAX_ADDRESS_RANGE = 40


class SmscConfig(RedactedConfig, frozen=True, kw_only=True):
    """One SMSC and how to bind to it. ``repr`` hides the password."""

    redacted_fields: ClassVar[frozenset[str]] = frozenset({"password"})

    host: str
    """The SMSC's host name or address."""
    port: int = 2775
    """Its SMPP port (2775 is customary; TLS links often use 3550 or 8775)."""
    system_id: str
    """The account name the SMSC gave us (at most 15 characters)."""
    password: str = ""
    """The account's password (at most 8 characters). Never logged."""
    system_type: str = ""
    """Sent in the bind; some SMSCs route by it (at most 12 characters)."""
    bind: BindMode = "receiver"
    """``receiver`` or ``transceiver``; Septet only receives either way."""
    binds: int = 1
    """How many binds to open to this SMSC at once (the SMSC spreads traffic over them)."""
    address_range: str = ""
    """The bind's ``address_range``: which destination addresses the SMSC sends us."""
    addr_ton: int = 0
    """TON of ``address_range``."""
    addr_npi: int = 0
    """NPI of ``address_range``."""
    tls: bool = False
    """Wrap the connection in TLS."""
    tls_ca_file: str | None = None
    """PEM file of the CAs to trust for the SMSC's certificate; the system's store when None."""
    tls_verify: bool = True
    """Check the SMSC's certificate and host name; turn off only for a test SMSC."""
    window: int = 64
    """How many deliver_sm/data_sm are processed at once; the rest wait in the socket."""
    enquire_link_seconds: float = 30.0
    """How often to send ``enquire_link`` to check the link."""
    response_timeout_seconds: float = 10.0
    """How long the SMSC may take to answer a bind, enquire_link or unbind; a link whose
    enquire_link goes unanswered that long is taken as dead and opened again."""
    reconnect_min_seconds: float = 1.0
    """The first wait before connecting again after a link ended or a bind failed."""
    reconnect_max_seconds: float = 60.0
    """The longest wait between attempts (the wait doubles up to it, with jitter)."""
    data_coding_0: DataCodingZero = "gsm7"
    """What ``data_coding`` 0 means on this SMSC's links."""
    number: str | None = None
    """The receiving number for a deliver_sm whose ``destination_addr`` is empty."""
    international_plus: bool = True
    """Write addresses whose TON is 1 (international) with a leading ``+``, so that the
    engine reads them as E.164; other numeric addresses are kept as sent and normalised
    with the engine's region, alphanumeric senders (TON 5) are kept as they are."""

    def __post_init__(self) -> None:
        _check(bool(self.host), "host must name the SMSC")
        _check(0 < self.port < 65536, "port must be between 1 and 65535")
        _check(0 < len(self.system_id) <= _MAX_SYSTEM_ID, "system_id must be 1 to 15 characters")
        _check(len(self.password) <= _MAX_PASSWORD, "password must be at most 8 characters")
        _check(len(self.system_type) <= _MAX_SYSTEM_TYPE, "system_type: at most 12 characters")
        _check(
            len(self.address_range) <= _MAX_ADDRESS_RANGE, "address_range: at most 40 characters"
        )
        for name in ("system_id", "password", "system_type", "address_range"):
            _check(_is_octets(getattr(self, name)), f"{name} must be Latin-1 text without NUL")
        _check(0 <= self.addr_ton <= 255, "addr_ton must be between 0 and 255")
        _check(0 <= self.addr_npi <= 255, "addr_npi must be between 0 and 255")
        _check(1 <= self.binds <= 64, "binds must be between 1 and 64")
        _check(1 <= self.window <= 10_000, "window must be between 1 and 10000")
        _check(self.tls or self.tls_ca_file is None, "tls_ca_file is set but tls is off")
        for name in (
            "enquire_link_seconds",
            "response_timeout_seconds",
            "reconnect_min_seconds",
            "reconnect_max_seconds",
        ):
            value = getattr(self, name)
            _check(math.isfinite(value) and value > 0, f"{name} must be a positive number")
        _check(
            self.reconnect_max_seconds >= self.reconnect_min_seconds,
            "reconnect_max_seconds must not be below reconnect_min_seconds",
        )
        _check(self.number is None or bool(self.number.strip()), "number must not be empty")


class SmppConfig(RedactedConfig, frozen=True, kw_only=True):
    """Settings of one SMPP carrier instance: the SMSCs it binds to."""

    smscs: tuple[SmscConfig, ...]
    """Each SMSC with its binds; every bind runs on its own."""

    def __post_init__(self) -> None:
        _check(bool(self.smscs), "smscs must list at least one SMSC")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _is_octets(value: str) -> bool:
    return "\x00" not in value and all(ord(char) < 256 for char in value)
