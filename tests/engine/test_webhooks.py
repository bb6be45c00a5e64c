"""The form parser every webhook carrier uses, against the standard library's."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.plugin_api import parse_form


def _standard(text: str) -> list[tuple[str, str]] | None:
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        return None


def _ours(body: bytes) -> list[tuple[str, str]] | None:
    try:
        return parse_form(body)
    except ValueError:
        return None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"a=1&b=2",
        b"Body=Your+code+is+4821%21&From=%2B15551234567&To=%2B15557654321",
        b"a=&b=",
        b"x=%E2%82%AC",
        b"emoji=%F0%9F%98%80+ok",
        b"bad=%ZZ&half=%E2%82",
        b"a=1=2",
        b"k%3D=v",
        b"a",
        b"a=1&&b=2",
        b"a=1&",
    ],
)
def test_forms_parse_as_the_standard_library_parses_them(body: bytes) -> None:
    assert _ours(body) == _standard(body.decode())


@given(st.text(alphabet=st.sampled_from("ab=&%+2B4F9é€😀 ")))
def test_any_form_text_parses_as_the_standard_library_parses_it(text: str) -> None:
    assert _ours(text.encode()) == _standard(text)


def test_a_body_that_is_not_utf8_is_refused_with_its_offset() -> None:
    with pytest.raises(ValueError, match="byte 2"):
        parse_form(b"a=\xff")


_PIECES = st.sampled_from(
    [
        "%",
        "E2",
        "82",
        "AC",
        "F0",
        "9F",
        "98",
        "80",
        "C3",
        "A9",
        "ED",
        "A0",
        "BF",
        "C0",
        "FF",
        "41",
        "%2",
        "Z",
        "+",
        "=",
        "&",
        "a",
        "é",
        "😀",
    ]
)


@given(st.lists(_PIECES, max_size=40).map("".join))
def test_escaped_bytes_decode_as_the_standard_library_decodes_them(text: str) -> None:
    # Truncated, overlong and surrogate sequences, escapes cut by non-ASCII characters:
    # each invalid sequence becomes U+FFFD exactly where Python's decoder puts one.
    assert _ours(text.encode()) == _standard(text)


def test_a_field_without_a_value_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="bad form field: 'a'"):
        parse_form(b"b=1&a")
