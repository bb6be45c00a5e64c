"""What some of the webhook adapters share: timestamped signatures and loose numbers.

The general pieces (``WebhookCarrierBase``, ``RedactedConfig``, the refusals,
``decode_json``) live in ``_webhook_common``; this module adds what only some adapters
need:

* :func:`check_tolerance`: a config's timestamp tolerance is a finite number of seconds;
* :func:`timestamp_refusal`: the answer to a signed Unix timestamp that is missing,
  unreadable (401) or too far from now (403), or None when it is fresh;
* :func:`hex_signature_matches`: a hex signature compared in constant time, in any case;
* :func:`international_number`: ``+`` put back on a number a provider sends in
  international format without it (``447700900001``);
* :func:`parse_time`: a provider's timestamp, read liberally, or None.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime

from engine.plugin_api import WebhookResponse, signing

from ._webhook_common import stale_signature, unauthorized

__all__ = [
    "check_tolerance",
    "hex_signature_matches",
    "international_number",
    "parse_time",
    "timestamp_refusal",
]

# E.164 allows at most 15 digits; below 8, digits are a short code rather than a
# country code and a national number, and a "+" would turn them into a wrong number.
_INTERNATIONAL_DIGITS = re.compile(r"[1-9][0-9]{7,14}")


def check_tolerance(tolerance: float) -> None:
    """Raise ``ValueError`` unless ``tolerance`` is a finite number of seconds, >= 0."""
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError("tolerance must be a finite number of seconds, >= 0")


def timestamp_refusal(value: str | None, tolerance: float, name: str) -> WebhookResponse | None:
    """None when ``value`` (Unix seconds, as signed) is within ``tolerance`` seconds of now.

    Otherwise the answer: 401 when it is missing or not a number (the request cannot be
    trusted), 403 when it is too old or too far ahead (genuine, but a replay or a clock
    that is off). Call it after the signature matched, so a 403 means an authentic request.
    """
    if value is None or not value.strip():
        return unauthorized(f"missing {name}")
    try:
        sent_at = int(value.strip())
    except ValueError:
        return unauthorized(f"{name} is not Unix seconds")
    if abs(time.time() - sent_at) > tolerance:
        return stale_signature(f"{name} is more than {tolerance:g} seconds from now")
    return None


def hex_signature_matches(expected: str, received: str) -> bool:
    """Whether the hex signature ``received`` equals ``expected`` (lower-case hex), in
    either case, in constant time."""
    return signing.constant_time_equal(expected, received.strip().lower())


def international_number(number: str) -> str:
    """``number`` with a leading ``+`` when it is 8 to 15 digits, as is otherwise.

    For providers that document international format without the ``+`` (Vonage,
    Infobip): the engine would read bare digits as a national number.
    """
    return f"+{number}" if _INTERNATIONAL_DIGITS.fullmatch(number) else number


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 time as providers write it, or None when absent or unreadable.

    Accepts ``2024-06-22T15:46:11.000+07:00``, ``...Z``, ``2019-08-26T12:09:07.658+0000``
    and ``2020-01-01 12:00:00 +0000``. A time without an offset stays naive: the engine
    reads it as UTC. An unreadable time is no reason to refuse a message (``raw`` keeps
    it), so it gives None and the engine's clock is used.
    """
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None
