"""Numbers and times as the inbox keeps them.

* Receiving numbers become E.164; a national one is read in the configured default region.
* Numeric senders become E.164, a national one read in the receiving number's country;
  short codes (a few digits that are no full number there) and alphanumeric senders are
  kept as sent.
* ``receivedAt`` is UTC; ``sentAt`` keeps the sender's offset (a naive time is taken as UTC).

Parsing a number costs tens of microseconds, and the same few numbers come back again
and again, so the results are cached.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal

import phonenumbers

__all__ = [
    "SenderKind",
    "normalize_number",
    "normalize_sender",
    "region_of",
    "sent_time",
    "utc_time",
]

SenderKind = Literal["numeric", "alphanumeric"]

_SEPARATORS = re.compile(r"[\s().\-/]")
_NUMERIC = re.compile(r"\+?[0-9]+")
_SHORT_CODE_DIGITS = 6
"""National numbers of at most this many digits that are not valid numbers are short codes."""
_E164 = phonenumbers.PhoneNumberFormat.E164


def _parse(digits: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None


@lru_cache(maxsize=4096)
def normalize_number(number: str, region: str | None) -> str:
    """A receiving number in E.164; kept as given (without separators) if it is no number."""
    cleaned = _SEPARATORS.sub("", number)
    parsed = _parse(cleaned, None if cleaned.startswith("+") else region)
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        return cleaned
    return phonenumbers.format_number(parsed, _E164)


@lru_cache(maxsize=4096)
def region_of(e164: str) -> str | None:
    """The main region of an E.164 number's country code (``+44...`` is ``GB``)."""
    parsed = _parse(e164, None) if e164.startswith("+") else None
    if parsed is None or parsed.country_code is None:
        return None
    region: str = phonenumbers.region_code_for_country_code(parsed.country_code)
    return None if region == phonenumbers.UNKNOWN_REGION else region


@lru_cache(maxsize=65536)
def normalize_sender(
    sender: str, region: str | None, *, alphanumeric: bool = False
) -> tuple[str, SenderKind]:
    """The sender as the inbox keeps it, and whether it is a number.

    ``alphanumeric`` says the network marked the address as text (TON 5), which keeps
    it as sent even when it happens to be all digits.
    """
    cleaned = _SEPARATORS.sub("", sender)
    if alphanumeric or not _NUMERIC.fullmatch(cleaned):
        return sender, "alphanumeric"
    international = cleaned.startswith("+")
    parsed = _parse(cleaned, None if international else region)
    if parsed is None:
        return cleaned, "numeric"
    # A valid number becomes E.164; so does one that is not valid but could be a number
    # (a possible length) and is no short code. Whether a number is valid takes matching
    # it against every region of its country code (some twenty for +1), so that is asked
    # only when the cheap answers leave the question open: the result is the same.
    if phonenumbers.is_possible_number(parsed) and (
        international or len(str(parsed.national_number)) > _SHORT_CODE_DIGITS
    ):
        return phonenumbers.format_number(parsed, _E164), "numeric"
    if phonenumbers.is_valid_number(parsed):
        return phonenumbers.format_number(parsed, _E164), "numeric"
    return cleaned, "numeric"  # a short code, or digits that are no number: as sent


def utc_time(value: datetime | None, now: datetime) -> datetime:
    """A receive time in UTC: ``now`` when the carrier gave none, naive times taken as UTC."""
    if value is None:
        return now
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def sent_time(value: datetime | None) -> datetime | None:
    """A send time with the sender's offset kept; a naive time is taken as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
