"""Numbers to E.164, senders kept as sent when they are names or short codes, times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.pipeline._normalize import (
    normalize_number,
    normalize_sender,
    region_of,
    sent_time,
    utc_time,
)


@pytest.mark.parametrize(
    ("number", "region", "expected"),
    [
        ("+447700900001", None, "+447700900001"),
        ("07700 900001", "GB", "+447700900001"),
        ("(202) 555-0123", "US", "+12025550123"),
        ("+1 202-555-0123", "GB", "+12025550123"),
        ("not a number", "GB", "notanumber"),
    ],
)
def test_receiving_numbers_become_e164(number: str, region: str | None, expected: str) -> None:
    assert normalize_number(number, region) == expected


def test_region_of_a_number_is_its_country() -> None:
    assert region_of("+447700900001") == "GB"
    assert region_of("+12025550123") == "US"
    assert region_of("12345") is None


@pytest.mark.parametrize(
    ("sender", "region", "expected"),
    [
        ("+447700900123", None, ("+447700900123", "numeric")),
        ("07700900123", "GB", ("+447700900123", "numeric")),
        ("0044 7700 900123", "GB", ("+447700900123", "numeric")),
        ("2025550123", "US", ("+12025550123", "numeric")),
        ("0612345678", "NL", ("+31612345678", "numeric")),
        ("50131", "IE", ("50131", "numeric")),
        ("12345", "US", ("12345", "numeric")),
        ("Google", "GB", ("Google", "alphanumeric")),
        ("AMAZON PAY", "GB", ("AMAZON PAY", "alphanumeric")),
    ],
)
def test_senders(sender: str, region: str | None, expected: tuple[str, str]) -> None:
    assert normalize_sender(sender, region) == expected


def _sender_by_the_rule(sender: str, region: str | None) -> tuple[str, str]:
    """The rule as the module's docs state it, asking every question in full: a valid
    number is E.164; a short code (at most six national digits, given nationally) or
    digits that are no possible number are kept as sent; any other number is E.164."""
    cleaned = "".join(c for c in sender if c not in " ().-/\t\n")
    international = cleaned.startswith("+")
    try:
        parsed = phonenumbers.parse(cleaned, None if international else region)
    except phonenumbers.NumberParseException:
        return cleaned, "numeric"
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.is_valid_number(parsed):
        return e164, "numeric"
    short = not international and len(str(parsed.national_number)) <= 6
    if not phonenumbers.is_possible_number(parsed) or short:
        return cleaned, "numeric"
    return e164, "numeric"


@given(
    st.text(alphabet="0123456789", min_size=1, max_size=15),
    st.sampled_from(["+", "", "0", "00"]),
    st.sampled_from(["US", "GB", "NL", "IE", "DE", "IN", "RU", "KZ", "AU", "JE", None]),
)
def test_numeric_senders_follow_the_rule(digits: str, prefix: str, region: str | None) -> None:
    sender = prefix + digits
    assert normalize_sender(sender, region) == _sender_by_the_rule(sender, region)


def test_an_address_marked_alphanumeric_is_kept_even_if_digits() -> None:
    assert normalize_sender("12345", "GB", alphanumeric=True) == ("12345", "alphanumeric")


def test_received_at_is_utc_and_sent_at_keeps_its_offset() -> None:
    now = datetime(2024, 5, 1, 10, tzinfo=UTC)
    plus2 = timezone(timedelta(hours=2))
    assert utc_time(None, now) is now
    received = utc_time(datetime(2024, 5, 1, 12, 30, tzinfo=plus2), now)
    assert received == datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    assert received.utcoffset() == timedelta(0)
    assert utc_time(datetime(2024, 5, 1, 9), now) == datetime(2024, 5, 1, 9, tzinfo=UTC)
    sent = sent_time(datetime(2024, 5, 1, 12, 30, tzinfo=plus2))
    assert sent is not None
    assert sent.utcoffset() == timedelta(hours=2)
    assert sent_time(datetime(2024, 5, 1, 9)) == datetime(2024, 5, 1, 9, tzinfo=UTC)
    assert sent_time(None) is None
