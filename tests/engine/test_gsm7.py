"""GSM 7-bit and UCS-2 text: vectors from public test suites, the ESC rules, errors, round trips."""

from __future__ import annotations

from typing import TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import _gsm7
from engine._gsm7 import (
    NATIONAL_LANGUAGES,
    gsm7_decode,
    gsm7_encode,
    gsm7_septet_count,
    ucs2_decode,
    ucs2_encode,
)
from engine.errors import CodecError, Gsm7Error, Ucs2Error

ESC = 0x1B
ALL_NLIS = range(14)


class _Tables(TypedDict):
    locking_shift: int
    single_shift: int


class _Options(TypedDict, total=False):
    locking_shift: int
    single_shift: int
    fill_bits: int
    septets: int


# User data of the ofono national language tests (rilmodem/ofono unit/test-sms.c,
# commit efc9c0a8); those tests give the tables out of band.
# (vector id, ud_hex, udl_septets, locking NLI, single shift NLI, text)
_ALL_128 = (
    "8080604028180E888462C168381E90886442A9582E988C06C4E9783EA09068442A994EA8946AC56AB95EB0986C"
    "46ABD96EB89C6EC7EBF97EC0A070482C1A8FC8A472C96C3A9FD0A8744AAD5AAFD8AC76CBED7ABFE0B0784C2E9B"
    "CFE8B47ACD6EBBDFF0B87C4EAFDBEFF8BC7ECFEFFBFF"
)
OFONO_VECTORS = [
    (
        "of_charset_default",
        _ALL_128,
        128,
        0,
        0,
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà",
    ),
    ("of_charset_default_ext", "1BC58602DAA036A9CD6BC3DBF436BE0D705306", 21, 0, 0, "\f^ {}\\[~]|€"),
    (
        "of_charset_turkish_locking",
        _ALL_128,
        128,
        1,
        0,
        "@£$¥€éùıòÇ\nĞğ\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ŞşßÉ !\"#¤%&'()*+,-./0123456789:;<=>?İ"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§çabcdefghijklmnopqrstuvwxyzäöñüà",
    ),
    (
        "of_charset_turkish_locking_single",
        "1BC586B2416D529BD786B7E96D7C1BE002C8011318870E",
        26,
        1,
        1,
        "\f^{}\\[~]|ĞİŞç€ğış",
    ),
    (
        "of_charset_portuguese_locking",
        _ALL_128,
        128,
        3,
        0,
        "@£$¥êéúíóç\nÔô\rÁáΔ_ªÇÀ∞^\\€Ó| ÂâÊÉ !\"#º%&'()*+,-./0123456789:;<=>?Í"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZÃÕÚÜ§~abcdefghijklmnopqrstuvwxyzãõ`üà",
    ),
    (
        "of_charset_portuguese_locking_single",
        "84C446B160381E1BC96662D9543696CD6583D9643C1BD42675D9F0C01B9F8602CC74B75C0EE68030ECF91D",
        49,
        3,
        3,
        "êç\fÔôÁáΦΓ^ΩΠΨΣΘÊ{}\\[~]|ÀÍÓÚÃÕÂ€íóúãõâ",
    ),
    (
        "of_charset_spanish_single",
        "9BC446B1A16C509BD4E6B5E16D7A1BDF06B8096E929BE7A6BA096FCA9BF4E6BDA903",
        38,
        0,
        2,
        "ç\f^{}\\[~]|ÁÍÓÚá€íóú",
    ),
]

# Text user data of SMS-DELIVER vectors, after the user data header: (vector id and
# source, ud_hex, fill bits, text septets, locking NLI, single shift NLI, text).
DELIVER_VECTORS = [
    (
        "der_tr_single_shift (project-derived, NLI 1 single shift)",
        "20BE3767799D1D6E8741EB37B9EEAEEB75201A4E968BCD5CA0CD346D9697F369D03ADD9E97F3EC32081ECEB3"
        "C39B793B9CDFA4DD2E",
        3,
        60,
        0,
        1,
        "Doğrulama kodunuz: 482913. Şifreyi kimseyle paylaşmayın.",  # noqa: RUF001
    ),
    (
        "der_tr_locking_single (project-derived, NLI 1 locking and single shift)",
        "C437435E6787DB61D0FA4DAEBBEB7A1D888693E5623317889336CBCBF934689D6ECFCB797619040FE7D9E14E"
        "3B9C3FB85D",
        0,
        56,
        1,
        1,
        "Doğrulama kodunuz: 482913. Şifreyi kimseyle paylaşmayın.",  # noqa: RUF001
    ),
    (
        "der_pt_locking_single (project-derived, NLI 3 locking and single shift)",
        "D3721D344690D3E737885C06D9CBF2B4393D0E27F66F5001749BE564B0980BE4DCBF416FD0F8DD8687E5F434"
        "1B5D068DDF6D903BED3ED70B6D17",
        0,
        66,
        3,
        3,
        "Seu código de verificação é 739201. Não o compartilhe com ninguém.",
    ),
    (
        "der_es_single_shift (project-derived, NLI 2 single shift)",
        "A0D641E3CD9B9C3EBF41E432C85E96A7CDE971789CDEBCDDA0F21C54ABC564B0990BE47C83D86FD0F8DD8687"
        "E5F4F01C347EBB41EE30395D7601",
        3,
        65,
        0,
        2,
        "Tu código de verificación es 551203. No lo compartas con nadie.",
    ),
    (
        "np_ext_brackets (jackkum/node-pdu tests/tests/parser/data.ts)",
        "1B5E583C2697CD1B1F",
        0,
        10,
        0,
        0,
        "[abcdef]",
    ),
    (
        "gm_at_sign_ext (faucamp/python-gsmmodem test/test_pdu.py)",
        "800D8A5E98D337A910",
        0,
        10,
        0,
        0,
        "@{tést}!",
    ),
    (
        "mm_pdu1_ext_tz_minus5 (linux-mobile-broadband/ModemManager "
        "src/tests/test-sms-part-3gpp.c)",
        "C8B2BC7C9A83C220F6DB7D2ECB41EDF27C1E3E97411BDE06754FD3D1A0F9BB5D0695F1F4B29B5C2683C6E8B0"
        "3C3CA697E5F34D6AE303D1D1F2F7DD0D4ABB59A0797D8C0685E7A00028EC26832A960B28EC2683BE605078"
        "0EBA97D96C17",
        0,
        106,
        0,
        0,
        "Here's a longer message [{with some extended characters}] thrown in, such as £ and ΩΠΨ "
        "and §¿ as well.",
    ),
    (
        "der_gsm7_cr_padding (project-derived): the CR in the spare bits is not text",
        "31D98C56B3DD1A",
        0,
        7,
        0,
        0,
        "1234567",
    ),
]


@pytest.mark.parametrize(
    ("ud_hex", "septets", "locking", "single", "text"),
    [vector[1:] for vector in OFONO_VECTORS],
    ids=[vector[0] for vector in OFONO_VECTORS],
)
def test_ofono_national_language_vectors(
    ud_hex: str, septets: int, locking: int, single: int, text: str
) -> None:
    tables: _Tables = {"locking_shift": locking, "single_shift": single}
    data = bytes.fromhex(ud_hex)
    assert gsm7_decode(data, packed=True, septets=septets, **tables) == text
    # Re-encoding gives the text back, though not the same septets: the vectors
    # also escape characters that the locking shift table has.
    encoded = gsm7_encode(text, **tables)
    assert gsm7_decode(encoded, **tables) == text
    assert gsm7_septet_count(text, **tables) == len(encoded)


@pytest.mark.parametrize(
    ("ud_hex", "fill_bits", "septets", "locking", "single", "text"),
    [vector[1:] for vector in DELIVER_VECTORS],
    ids=[vector[0].split()[0] for vector in DELIVER_VECTORS],
)
def test_deliver_vectors(
    ud_hex: str, fill_bits: int, septets: int, locking: int, single: int, text: str
) -> None:
    tables: _Tables = {"locking_shift": locking, "single_shift": single}
    data = bytes.fromhex(ud_hex)
    assert gsm7_decode(data, packed=True, septets=septets, fill_bits=fill_bits, **tables) == text
    assert gsm7_septet_count(text, **tables) == septets
    packed = gsm7_encode(text, packed=True, fill_bits=fill_bits, **tables)
    if ud_hex != "31D98C56B3DD1A":  # the CR padding vector: spare bits are zero here
        assert packed == data


def test_national_languages_are_the_nlis_of_ts_23038() -> None:
    assert dict(NATIONAL_LANGUAGES) == {
        1: "Turkish",
        2: "Spanish",
        3: "Portuguese",
        4: "Bengali",
        5: "Gujarati",
        6: "Hindi",
        7: "Kannada",
        8: "Malayalam",
        9: "Oriya",
        10: "Punjabi",
        11: "Tamil",
        12: "Telugu",
        13: "Urdu",
    }
    with pytest.raises(TypeError):
        NATIONAL_LANGUAGES[14] = "Klingon"  # type: ignore[index]


def test_all_is_sorted_and_complete() -> None:
    assert _gsm7.__all__ == sorted(_gsm7.__all__)
    public = {name for name in vars(_gsm7) if not name.startswith("_")}
    assert public - {"annotations", "Mapping", "MappingProxyType"} == set(_gsm7.__all__)


# --- the ESC rules ---


def test_unknown_escape_gives_the_base_character() -> None:
    assert gsm7_decode(bytes([ESC, 0x41, 0x42])) == "AB"
    # With a locking shift table the fallback is that table's character.
    assert gsm7_decode(bytes([ESC, 0x07]), locking_shift=1) == "ı"  # noqa: RUF001
    assert gsm7_decode(bytes([ESC, 0x07]), single_shift=2) == "ì"


def test_escape_escape_is_a_space() -> None:
    assert gsm7_decode(bytes([0x41, ESC, ESC, 0x42])) == "A B"


def test_dangling_escape_decodes_as_nothing() -> None:
    assert gsm7_decode(bytes([0x41, ESC])) == "A"
    assert gsm7_decode(bytes([ESC])) == ""
    assert gsm7_decode(bytes([0x41, ESC, ESC, ESC])) == "A "


def test_unassigned_locking_positions_decode_as_space() -> None:
    # Bengali (NLI 4) assigns nothing to 0x0C or 0x5B, nor its single shift table to 0x5B.
    assert gsm7_decode(bytes([0x0C, 0x2E]), locking_shift=4) == " ."
    assert gsm7_decode(bytes([ESC, 0x5B]), locking_shift=4, single_shift=4) == " "


def test_spanish_and_unknown_locking_shift_fall_back_to_the_default() -> None:
    septets = bytes(code for code in range(128) if code != ESC)
    default = gsm7_decode(septets)
    for locking in (2, 14, 255):
        assert gsm7_decode(septets, locking_shift=locking) == default
    assert gsm7_decode(bytes([ESC, 0x65]), single_shift=200) == "€"


def test_indic_tables_decode_their_script() -> None:
    assert gsm7_decode(bytes([0x00, 0x15, 0x2C]), locking_shift=6) == "\u0901\u0915,"
    # न म स ् त े at their TS 23.038 §A.3.6 positions: one septet each.
    assert gsm7_encode("नमस्ते", locking_shift=6) == bytes([0x2F, 0x42, 0x4C, 0x5F, 0x27, 0x59])


# --- packing ---


def test_packed_without_a_count_decodes_every_whole_septet() -> None:
    # Seven septets fill 49 bits of seven octets; the seven spare bits read as '@'.
    packed = gsm7_encode("1234567", packed=True)
    assert len(packed) == 7
    assert gsm7_decode(packed, packed=True) == "1234567@"
    assert gsm7_decode(packed, packed=True, septets=7) == "1234567"


def test_fill_bits_pad_the_start() -> None:
    packed = gsm7_encode("AA", packed=True, fill_bits=1)
    assert packed == bytes([0x82, 0x41])
    assert gsm7_decode(packed, packed=True, fill_bits=1, septets=2) == "AA"
    assert gsm7_encode("hellohello", packed=True) == bytes.fromhex("E8329BFD4697D9EC37")


def test_unpacked_septet_count_limits_the_data() -> None:
    assert gsm7_decode(b"ABC@", septets=3) == "ABC"


# --- errors ---


def test_encode_error_is_at_the_first_character_without_a_code() -> None:
    with pytest.raises(Gsm7Error) as caught:
        gsm7_encode("ab€ş")
    assert caught.value.offset == 3
    assert gsm7_septet_count("ab€ş") is None
    assert gsm7_septet_count("ab€ş", single_shift=1) == 6
    with pytest.raises(Gsm7Error) as caught:
        gsm7_encode("é😀")
    assert caught.value.offset == 1


def test_lone_surrogate_has_no_gsm_code() -> None:
    with pytest.raises(Gsm7Error) as caught:
        gsm7_encode("ab\ud800")
    assert caught.value.offset == 2
    assert gsm7_septet_count("\udc00") is None


def test_septet_above_127_is_an_error_at_its_index() -> None:
    with pytest.raises(Gsm7Error) as caught:
        gsm7_decode(b"AB\x80")
    assert caught.value.offset == 2


def test_short_data_is_an_error_where_it_ends() -> None:
    with pytest.raises(Gsm7Error) as caught:
        gsm7_decode(bytes.fromhex("C8F71D14969741F977FD07"), packed=True, septets=13)
    assert caught.value.offset == 11
    with pytest.raises(Gsm7Error) as caught:
        gsm7_decode(b"AB", septets=3)
    assert caught.value.offset == 2


@pytest.mark.parametrize(
    "options",
    [
        {"locking_shift": -1},
        {"single_shift": 256},
        {"fill_bits": 7},
        {"fill_bits": -1},
        {"septets": -1},
    ],
)
def test_bad_options_are_value_errors(options: _Options) -> None:
    with pytest.raises(ValueError, match="must") as caught:
        gsm7_decode(b"A", **options)
    assert not isinstance(caught.value, CodecError)


# --- UCS-2 ---


def test_ucs2_joins_surrogate_pairs() -> None:
    # der_ucs2_emoji (project-derived): U+1F510 is D83D DD10.
    data = bytes.fromhex("003100320020D83DDD100020")
    assert ucs2_decode(data) == "12 🔐 "
    assert ucs2_encode("12 🔐 ") == data
    # aosp_ucs2_tm (aosp-mirror/platform_frameworks_base GsmSmsTest.java)
    assert ucs2_decode(bytes.fromhex("212200A900AE00680065006C006C006F")) == "™©®hello"


def test_ucs2_odd_length() -> None:
    with pytest.raises(Ucs2Error) as caught:
        ucs2_decode(b"\x00A\x00")
    assert caught.value.offset == 2
    assert ucs2_decode(b"\x00A\x00", strict=False) == "A"


def test_ucs2_lone_surrogates() -> None:
    # The halves of a surrogate pair split across two parts (der_ucs2_split_surrogate_1/2).
    high_at_end = bytes.fromhex("D83DDE31D83D")
    low_at_start = bytes.fromhex("DE31D83DDE31")
    with pytest.raises(Ucs2Error) as caught:
        ucs2_decode(high_at_end)
    assert caught.value.offset == 4
    with pytest.raises(Ucs2Error) as caught:
        ucs2_decode(low_at_start)
    assert caught.value.offset == 0
    assert ucs2_decode(high_at_end, strict=False) == "😱\ufffd"
    assert ucs2_decode(low_at_start, strict=False) == "\ufffd😱"
    assert ucs2_decode(high_at_end + low_at_start[:2]) == "😱😱"


def test_ucs2_encode_rejects_lone_surrogates() -> None:
    with pytest.raises(Ucs2Error) as caught:
        ucs2_encode("ab\udc00c")
    assert caught.value.offset == 2


# --- properties ---


def _alphabet(locking: int, single: int) -> list[str]:
    """Every character the table pair decodes to, so every character it can encode."""
    tables: _Tables = {"locking_shift": locking, "single_shift": single}
    base = gsm7_decode(bytes(code for code in range(128) if code != ESC), **tables)
    shifted = gsm7_decode(bytes(byte for code in range(128) for byte in (ESC, code)), **tables)
    return sorted(set(base + shifted))


_ALPHABETS = {(lock, single): _alphabet(lock, single) for lock in ALL_NLIS for single in ALL_NLIS}


@st.composite
def _table_text(draw: st.DrawFn) -> tuple[int, int, str]:
    locking = draw(st.sampled_from(ALL_NLIS))
    single = draw(st.sampled_from(ALL_NLIS))
    text = draw(st.text(alphabet=_ALPHABETS[locking, single], max_size=200))
    return locking, single, text


@settings(max_examples=300)
@given(_table_text(), st.integers(0, 6))
def test_round_trip_over_every_table_pair(case: tuple[int, int, str], fill_bits: int) -> None:
    locking, single, text = case
    unpacked = gsm7_encode(text, locking_shift=locking, single_shift=single)
    assert gsm7_septet_count(text, locking_shift=locking, single_shift=single) == len(unpacked)
    assert gsm7_decode(unpacked, locking_shift=locking, single_shift=single) == text
    packed = gsm7_encode(
        text, locking_shift=locking, single_shift=single, packed=True, fill_bits=fill_bits
    )
    expected_octets = (fill_bits + 7 * len(unpacked) + 7) // 8 if unpacked else 0
    assert len(packed) == expected_octets
    decoded = gsm7_decode(
        packed,
        locking_shift=locking,
        single_shift=single,
        packed=True,
        septets=len(unpacked),
        fill_bits=fill_bits,
    )
    assert decoded == text


@given(st.text(alphabet=_ALPHABETS[0, 0], max_size=300))
def test_default_alphabet_round_trip(text: str) -> None:
    assert gsm7_decode(gsm7_encode(text, packed=True), packed=True) in (text, text + "@")


@given(st.text())
def test_ucs2_round_trip(text: str) -> None:
    assert ucs2_decode(ucs2_encode(text)) == text


@given(
    st.binary(max_size=200),
    st.integers(0, 255),
    st.integers(0, 255),
    st.booleans(),
    st.none() | st.integers(0, 300),
    st.integers(0, 6),
)
def test_random_bytes_raise_only_codec_errors(
    data: bytes, locking: int, single: int, packed: bool, septets: int | None, fill_bits: int
) -> None:
    try:
        text = gsm7_decode(
            data,
            locking_shift=locking,
            single_shift=single,
            packed=packed,
            septets=septets,
            fill_bits=fill_bits,
        )
    except Gsm7Error as error:
        assert 0 <= error.offset <= len(data)
    else:
        assert isinstance(text, str)
    for strict in (True, False):
        try:
            ucs2_decode(data, strict=strict)
        except Ucs2Error as error:
            assert strict
            assert 0 <= error.offset < len(data)


@given(st.text(), st.integers(0, 255), st.integers(0, 255))
def test_random_text_encodes_or_raises_gsm7_error(text: str, locking: int, single: int) -> None:
    try:
        encoded = gsm7_encode(text, locking_shift=locking, single_shift=single)
    except Gsm7Error as error:
        assert 0 <= error.offset < len(text)
        assert gsm7_septet_count(text, locking_shift=locking, single_shift=single) is None
    else:
        assert gsm7_decode(encoded, locking_shift=locking, single_shift=single) == text
