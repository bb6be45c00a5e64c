"""The modem carrier's AT session on an in-memory stream: line sorting, errors, fields."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from adapters.carriers._modem_at import (
    AtError,
    AtSession,
    AtTimeoutError,
    DeviceGoneError,
    Urc,
    parse_pdu_header,
    parse_storage_index,
    pdu_framing,
    split_fields,
)

pytestmark = pytest.mark.trio

PDU = "0791447758100650040C914477000910320000425010210000000A73FA5B5E2683DEEE32"


async def answer(modem: trio.abc.Stream, expected: bytes, reply: bytes) -> None:
    received = b""
    while not received.endswith(b"\r"):
        received += await modem.receive_some()
    assert received == expected
    await modem.send_all(reply)


async def test_codes_in_the_middle_of_a_response_are_set_aside() -> None:
    carrier, modem = trio.testing.memory_stream_pair()
    urcs: list[Urc] = []
    with pytest.raises(ExceptionGroup) as caught:
        await talk(carrier, modem, urcs)
    assert [type(e) for e in caught.value.exceptions] == [DeviceGoneError]


async def talk(carrier: trio.abc.Stream, modem: trio.abc.Stream, urcs: list[Urc]) -> None:
    async with trio.open_nursery() as nursery:
        session = AtSession(carrier, urcs.append)
        await nursery.start(session.run)
        reply = (
            b"AT+CMGL=4\r"  # the echo
            b"\r\n+CMGL: 1,0,,28\r\n"
            b'\r\n+CMTI: "SM",2\r\n'
            b"\r\n^RSSI: 18\r\n"
            b"\r\n+CMT: ,28\r\n\r\n" + PDU.encode() + b"\r\n"
            b"\r\n+CPIN: READY\r\n"
            b"\r\n" + PDU.encode() + b"\r\n"
            b"\r\nRDY\r\n"
            b"\r\nOK\r\n"
        )
        nursery.start_soon(answer, modem, b"AT+CMGL=4\r", reply)
        lines = await session.command("AT+CMGL=4", 5)
        assert lines == ["+CMGL: 1,0,,28", PDU]
        assert urcs == [
            Urc('+CMTI: "SM",2'),
            Urc("^RSSI: 18"),
            Urc("+CMT: ,28", PDU),
            Urc("+CPIN: READY"),
            Urc("RDY"),
        ]
        assert [(u.name, u.value) for u in urcs[:2]] == [("+CMTI", '"SM",2'), ("^RSSI", "18")]
        await modem.aclose()  # unplugged: the reader ends the session
        await trio.sleep_forever()


@pytest.mark.parametrize(
    ("result", "code", "reason"),
    [
        ("+CME ERROR: 16", 16, "incorrect password"),
        ("+CME ERROR: incorrect password", None, "incorrect password"),
        ("+CMS ERROR: 314", 314, "sim busy"),
        ("+CMS ERROR: SIM busy", None, "sim busy"),
        ("+CMS ERROR: 322", 322, "memory full"),
        ("ERROR", None, ""),
    ],
)
async def test_errors_read_the_same_in_numeric_and_verbose_form(
    result: str, code: int | None, reason: str
) -> None:
    error = AtError('AT+CPIN="0000"', result)
    assert (error.code, error.reason) == (code, reason)
    assert "0000" not in str(error)  # a command's arguments (a PIN) stay out of messages
    assert error.means(reason) or not reason


async def test_a_silent_modem_times_out() -> None:
    carrier, _modem = trio.testing.memory_stream_pair()
    async with trio.open_nursery() as nursery:
        session = AtSession(carrier, lambda urc: None)
        await nursery.start(session.run)
        with pytest.raises(AtTimeoutError):
            await session.command("AT", 0.05)
        nursery.cancel_scope.cancel()


async def test_header_fields_are_read_whatever_the_dialect() -> None:
    assert parse_storage_index('"SM",3') == ("SM", 3)
    assert parse_storage_index('"sr", 12') == ("SR", 12)
    assert parse_storage_index("garbage") is None
    assert parse_pdu_header("1,,25") == (1, 25)
    assert parse_pdu_header('0,"",23') == (0, 23)
    assert parse_pdu_header("0,23") == (0, 23)  # no <alpha> field (gammu at-sms/07)
    assert parse_pdu_header(",24") == (None, 24)  # +CMT
    assert parse_pdu_header("24") == (None, 24)  # +CDS
    assert split_fields('1,0,"Smith, J",24') == ["1", "0", '"Smith, J"', "24"]


async def test_the_framing_follows_the_length_when_it_fits() -> None:
    with_smsc = bytes.fromhex(PDU)
    assert pdu_framing(with_smsc, 28) == (True, 28)
    assert pdu_framing(with_smsc[8:], 28) == (False, 28)
    assert pdu_framing(with_smsc, 78) == (None, None)  # a wrong length is not trusted
