"""Webhook signatures: Standard Webhooks for what Septet sends, primitives for what carriers send.

Septet signs every webhook it delivers the `Standard Webhooks`_ way, and a receiver
(or Septet's own tests) checks them with the same scheme:

* three headers: ``webhook-id`` (stable across retries, the receiver's idempotency
  key), ``webhook-timestamp`` (Unix seconds of the attempt) and ``webhook-signature``;
* the signature is ``v1,`` + base64(HMAC-SHA256(key, ``{id}.{timestamp}.{body}``)),
  over the exact body bytes;
* the header may list several signatures separated by spaces, so a secret can be
  rotated: sign with the old and the new secret for a while, and verify against
  both;
* a secret is written ``whsec_`` + base64 of 24 to 64 random bytes.

::

    secret = generate_secret()
    sent = headers(secret, "msg_2b9Qd", body)          # the three headers to send
    verify_headers(secret, received_headers, body)    # raises unless authentic and fresh

:func:`verify` and :func:`verify_headers` return nothing and raise a subclass of
:class:`~engine.errors.SignatureError`: :class:`~engine.errors.MalformedSignatureError`
(a header or secret that cannot be parsed), :class:`~engine.errors.SignatureMismatchError`
(no signature matches: forged, tampered, or signed with another secret), or
:class:`~engine.errors.TimestampToleranceError` (the signature is genuine but the
timestamp is outside the tolerance: a replay or a wrong clock). The signatures are
checked before the timestamp, so the last one always means an authentic request.

The carriers sign their inbound webhooks in their own ways (Twilio: base64 of
HMAC-SHA1; Plivo and Bird: HMAC-SHA256; Vonage: MD5 or HMAC-MD5/SHA1/SHA256/SHA512
in hex; Telnyx: Ed25519). Their adapters build the signed string and check it with
the primitives here: :func:`hmac_digest`, :func:`md5_digest`,
:func:`ed25519_verify`, and :func:`constant_time_equal` to compare the result.
Encoding is left to the standard library (``base64.b64encode``, ``bytes.hex``).

Signatures are always compared in constant time, and no exception message or
``repr`` ever contains a secret.

.. _Standard Webhooks: https://www.standardwebhooks.com/
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Final, Literal, TypeAlias

from engine import _native, errors

__all__ = [
    "DEFAULT_TOLERANCE",
    "HmacAlgorithm",
    "Secret",
    "constant_time_equal",
    "ed25519_verify",
    "generate_secret",
    "headers",
    "hmac_digest",
    "md5_digest",
    "sign",
    "verify",
    "verify_headers",
]

Secret: TypeAlias = str | bytes
"""A webhook secret: text ``whsec_`` + base64 (the prefix may be left off), or the raw key."""

HmacAlgorithm: TypeAlias = Literal["sha1", "sha256", "sha512", "md5"]
"""The hash functions :func:`hmac_digest` supports."""

DEFAULT_TOLERANCE: Final = timedelta(minutes=5)
"""How far a webhook's timestamp may be from now, either way (the spec libraries' default)."""

_SECRET_BYTES: Final = 32

_ID_HEADER: Final = "webhook-id"
_TIMESTAMP_HEADER: Final = "webhook-timestamp"
_SIGNATURE_HEADER: Final = "webhook-signature"


def generate_secret() -> str:
    """Return a new secret: ``whsec_`` + base64 of 32 bytes from :mod:`secrets`."""
    return _native.webhook_secret_encode(secrets.token_bytes(_SECRET_BYTES))


def sign(
    secret: Secret | Collection[Secret],
    msg_id: str,
    timestamp: int | datetime,
    body: bytes | str,
) -> str:
    """Return the ``webhook-signature`` value for one webhook.

    ``timestamp`` is Unix seconds or a timezone-aware :class:`~datetime.datetime`;
    ``body`` is the exact bytes sent (a ``str`` is signed as UTF-8). Given several
    secrets (while rotating), the result lists one ``v1,`` signature per secret, in
    order, separated by spaces.

    Raises :class:`~engine.errors.MalformedSignatureError` for a secret that cannot
    be parsed, an empty ``msg_id``, one containing ``.`` (it would make the signed
    content ambiguous, so the spec forbids it) or a negative timestamp.
    """
    seconds = _unix_seconds(timestamp)
    data = _as_bytes(body)
    return " ".join(_native.webhook_sign(key, msg_id, seconds, data) for key in _keys(secret))


def headers(
    secret: Secret | Collection[Secret],
    msg_id: str,
    body: bytes | str,
    *,
    timestamp: int | datetime | None = None,
) -> dict[str, str]:
    """Return the three Standard Webhooks headers for sending ``body``.

    ``msg_id`` must stay the same across retries of one event; ``timestamp``
    defaults to now and should be the time of this attempt. Several secrets give
    several signatures, as in :func:`sign`.
    """
    seconds = int(time.time()) if timestamp is None else _unix_seconds(timestamp)
    return {
        _ID_HEADER: msg_id,
        _TIMESTAMP_HEADER: str(seconds),
        _SIGNATURE_HEADER: sign(secret, msg_id, seconds, body),
    }


def verify(
    secret: Secret | Collection[Secret],
    msg_id: str,
    timestamp: str | int,
    body: bytes | str,
    signature: str,
    *,
    tolerance: timedelta | float = DEFAULT_TOLERANCE,
    now: datetime | float | None = None,
) -> None:
    """Check one webhook's signature and timestamp; return only if both are good.

    ``timestamp`` and ``signature`` are the ``webhook-timestamp`` and
    ``webhook-signature`` header values as received, ``body`` the raw body bytes.
    Several secrets are all tried (the old and the new one while rotating), against
    every ``v1`` signature in the header; entries of other versions are skipped.
    ``tolerance`` (a :class:`~datetime.timedelta` or seconds) bounds how far the
    timestamp may be from ``now`` (Unix seconds or an aware datetime, default the
    current time) in either direction, counted in whole seconds.

    Raises :class:`~engine.errors.MalformedSignatureError`,
    :class:`~engine.errors.SignatureMismatchError` or
    :class:`~engine.errors.TimestampToleranceError`, checked in that order.
    """
    _native.webhook_verify(
        _keys(secret),
        msg_id,
        str(timestamp) if isinstance(timestamp, int) else timestamp,
        _as_bytes(body),
        signature,
        _now_seconds(now),
        _tolerance_seconds(tolerance),
    )


def verify_headers(
    secret: Secret | Collection[Secret],
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    tolerance: timedelta | float = DEFAULT_TOLERANCE,
    now: datetime | float | None = None,
) -> None:
    """:func:`verify` a request given its headers, whose names are matched case-insensitively.

    A missing ``webhook-id``, ``webhook-timestamp`` or ``webhook-signature``
    header raises :class:`~engine.errors.MalformedSignatureError`.
    """
    by_name = {name.lower(): value for name, value in headers.items()}
    msg_id, timestamp, signature = (
        _required_header(by_name, name)
        for name in (_ID_HEADER, _TIMESTAMP_HEADER, _SIGNATURE_HEADER)
    )
    verify(secret, msg_id, timestamp, body, signature, tolerance=tolerance, now=now)


def hmac_digest(algorithm: HmacAlgorithm, key: bytes | str, data: bytes | str) -> bytes:
    """Return HMAC-``algorithm`` of ``data`` under ``key`` (``str`` arguments as UTF-8).

    Covers the carriers' schemes: Twilio (``sha1``), Plivo and Bird (``sha256``),
    Vonage signed webhooks (``md5``, ``sha1``, ``sha256``, ``sha512``). Raises
    :class:`ValueError` for another algorithm name.
    """
    return _native.hmac_digest(algorithm, _as_bytes(key), _as_bytes(data))


def md5_digest(data: bytes | str) -> bytes:
    """Return the MD5 digest of ``data`` (Vonage's legacy ``md5hash`` signature uses it).

    MD5 is broken for collisions; it is here only to check what carriers still send.
    """
    return _native.md5_digest(_as_bytes(data))


def constant_time_equal(a: bytes | str, b: bytes | str) -> bool:
    """Whether ``a`` equals ``b``, in time that does not depend on where they differ.

    Use it to compare a received signature with the expected one. ``str`` arguments
    are compared as UTF-8. Values of different lengths compare unequal at once:
    lengths are not secret.
    """
    return _native.constant_time_eq(_as_bytes(a), _as_bytes(b))


def ed25519_verify(public_key: bytes, message: bytes | str, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` (RFC 8032).

    ``public_key`` is the 32 raw key bytes and ``signature`` the 64 raw signature
    bytes (decode the carrier's base64 first). Returns ``False`` for a signature that
    does not match. Verification is strict: non-canonical signatures fail.

    Raises :class:`~engine.errors.MalformedSignatureError` when the key is not 32
    bytes, not a point on the curve or of small order, or the signature is not 64
    bytes.
    """
    return _native.ed25519_verify(public_key, _as_bytes(message), signature)


def _as_bytes(value: bytes | str) -> bytes:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bytes):
        return value
    raise TypeError(f"expected bytes or str, not {type(value).__name__}")


def _key(secret: Secret) -> bytes:
    if isinstance(secret, str):
        return _native.webhook_secret_decode(secret)
    if isinstance(secret, bytes):
        if not secret:
            raise errors.MalformedSignatureError("webhook secret is empty")
        return secret
    # Only the type is named: the value may be a secret.
    raise TypeError(f"a webhook secret is str or bytes, not {type(secret).__name__}")


def _keys(secret: Secret | Collection[Secret]) -> list[bytes]:
    if isinstance(secret, str | bytes):
        return [_key(secret)]
    keys = [_key(one) for one in secret]
    if not keys:
        raise errors.MalformedSignatureError("no webhook secret given")
    return keys


def _unix_seconds(timestamp: int | datetime) -> int:
    if isinstance(timestamp, datetime):
        if timestamp.utcoffset() is None:
            raise ValueError("a webhook timestamp datetime must be timezone-aware")
        return math.floor(timestamp.timestamp())
    return timestamp


def _now_seconds(now: datetime | float | None) -> int:
    if now is None:
        return int(time.time())
    if isinstance(now, datetime):
        return _unix_seconds(now)
    return math.floor(now)


def _tolerance_seconds(tolerance: timedelta | float) -> int:
    seconds = tolerance.total_seconds() if isinstance(tolerance, timedelta) else tolerance
    if not seconds >= 0:  # also refuses NaN
        raise ValueError("the timestamp tolerance must not be negative")
    return math.floor(seconds)


def _required_header(by_name: Mapping[str, str], name: str) -> str:
    value = by_name.get(name)
    if value is None:
        raise errors.MalformedSignatureError(f"missing {name} header")
    return value
