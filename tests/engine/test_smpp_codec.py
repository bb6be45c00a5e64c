"""The SMPP 3.4 codec through its public face: public deliver_sm vectors, framing a
stream, error statuses, delivery receipts, properties, and smpplib as an oracle."""

from __future__ import annotations

import contextlib
import pickle
from datetime import datetime
from typing import Any

import pytest
import smpplib.command
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import smpp
from engine.errors import CodecError, SmppError
from engine.smpp import CommandId, CommandStatus, MessageState, TlvTag

# The SMPP deliver_sm vectors: hex in, the fields their sources assert out.
# "cloudhopper": twitter-archive/cloudhopper-smpp@193d1c4,
#   src/test/java/com/cloudhopper/smpp/transcoder/PduDecoderTest.java
# "smpplib": python-smpplib/python-smpplib 2.2.4, smpplib/tests/test_command.py
VECTORS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "ch_deliver_sm_basic",
        "000000400000000500000000000000030002013837363534333231000409343034303400000000000000"
        "000000084024232125262F3A000E0001010006000101",
        {
            "sequence_number": 3,
            "source_addr": "87654321",
            "source_addr_ton": 2,
            "source_addr_npi": 1,
            "destination_addr": "40404",
            "dest_addr_ton": 4,
            "dest_addr_npi": 9,
            "esm_class": 0,
            "data_coding": 0,
            # ASCII '@$#!%&/:'; as unpacked GSM-7 it would read differently.
            "short_message": bytes.fromhex("4024232125262F3A"),
            "tlv": {TlvTag.SOURCE_NETWORK_TYPE: b"\x01", TlvTag.DEST_NETWORK_TYPE: b"\x01"},
        },
    ),
    (
        "ch_deliver_sm_dlr_receipted_id",
        "000000BA00000005000000000000000200010134343935313336313932300001013430343034000400"
        "000000000000006E69643A30303539313133393738207375623A30303120646C7672643A30303120737562"
        "6D697420646174653A3130303231303137333020646F6E6520646174653A3130303231303137333120737461"
        "743A44454C49565244206572723A30303020746578743A4024232125262F3A000E0001010006000101001E"
        "000833383630316661000427000102",
        {
            "sequence_number": 2,
            "source_addr": "44951361920",
            "destination_addr": "40404",
            "esm_class": 4,
            "data_coding": 0,
            # The TLV id is hex; the text's id is the same number in decimal.
            "receipted_message_id": "38601fa",
            "message_state": MessageState.DELIVERED,
            "short_message": b"id:0059113978 sub:001 dlvrd:001 submit date:1002101730 done "
            b"date:1002101731 stat:DELIVRD err:000 text:@$#!%&/:",
        },
    ),
    (
        "ch_deliver_sm_message_payload",
        "000000640000000500000000000547EB00020134343935313336313932000409343034303400000000000000"
        "00000000000E000101000600010104240026404D616964656E6D616E363634207761732069742073617070"
        "793F2026526F6D616E7469633F",
        {
            "sequence_number": 346091,
            "source_addr": "4495136192",
            "destination_addr": "40404",
            "sm_length": 0,
            "message_payload": bytes.fromhex(
                "404D616964656E6D616E363634207761732069742073617070793F2026526F6D616E7469633F"
            ),
        },
    ),
    (
        "ch_deliver_sm_payload_2b",
        "00000040000000050000000000657E4E00020134343935313336313932000409343034303400000000000000"
        "00000000000E0001010006000101042400024F6B",
        {"sequence_number": 6651470, "sm_length": 0, "message_payload": b"Ok"},
    ),
    (
        "ch_deliver_sm_payload_1b",
        "0000003F000000050000000000657E4E00020134343935313336313932000409343034303400000000000000"
        "00000000000E0001010006000101042400014F",
        {"sequence_number": 6651470, "sm_length": 0, "message_payload": b"O"},
    ),
    (
        "ch_deliver_sm_payload_empty",
        "0000003E000000050000000000657E4E00020134343935313336313932000409343034303400000000000000"
        "00000000000E000101000600010104240000",
        {"sequence_number": 6651470, "sm_length": 0, "message_payload": b""},
    ),
    (
        "ch_deliver_sm_dlr_acceptd_err107",
        "000000A2000000050000000000116AD500010134343935313336313932303537000501475442616E6B000400"
        "000000010000006E69643A3934323531343330393233207375623A30303120646C7672643A3030312073756"
        "26D697420646174653A3039313130343031323420646F6E6520646174653A3039313130343031323420737"
        "461743A41434345505444206572723A31303720746578743A20323646313032",
        {
            "sequence_number": 1141461,
            "source_addr": "4495136192057",
            "destination_addr": "GTBank",
            "dest_addr_ton": 5,
            "esm_class": 4,
            "registered_delivery": 1,
            "sm_length": 110,
            "tlvs": (),
            "short_message": b"id:94251430923 sub:001 dlvrd:001 submit date:0911040124 done "
            b"date:0911040124 stat:ACCEPTD err:107 text: 26F102",
        },
    ),
    (
        "ch_deliver_sm_dlr_latin1",
        "000000EB00000005000000000000000100010134343935313336313932300000013430343034000400000000"
        "000003009069643A3132366538356136656465616331613032303230303939333132343739353634207375"
        "623A30303120646C7672643A303031207375626D697420646174653A3130303231393136333020646F6E65"
        "20646174653A3130303231393136333020737461743A44454C49565244206572723A30303020546578743A"
        "48656C6C6F2020202020202020202020202020200427000102001E00213132366538356136656465616331"
        "61303230323030393933313234373935363400",
        {
            "sequence_number": 1,
            "source_addr": "44951361920",
            "esm_class": 4,
            "data_coding": 3,
            "sm_length": 144,
            "tlv_count": 2,
            "receipted_message_id": "126e85a6edeac1a02020099312479564",
        },
    ),
    (
        "ch_deliver_sm_large_seq",
        "000000400000000500000000A2859F2231303031000101343439353133363139323000000134303430343034"
        "3034303430343034300000000000000000080000",
        {
            # 0xA2859F22; a signed 32-bit reading gives -1568301278.
            "sequence_number": 2726666018,
            "service_type": "1001",
            "source_addr": "44951361920",
            "destination_addr": "4040404040404040",
            "data_coding": 8,
            "sm_length": 0,
        },
    ),
    (
        "smpplib_dlr_ucs2_in_payload",
        "000000CB0000000500000000000000010001013331363030303030303030000500585858205959595900040000"
        "00000000000000000E0001010006000101001E000931643330356234630004270001020424007269643A3034"
        "3839373038333634207375623A30303120646C7672643A303031207375626D697420646174653A313831303"
        "1353139303720646F6E6520646174653A3138313031353139303720737461743A44454C49565244206572723A"
        "30303020746578743A041F044004380432043504420426000101",
        {
            "source_addr": "31600000000",
            "destination_addr": "XXX YYYY",
            "receipted_message_id": "1d305b4c",
            "message_state": MessageState.DELIVERED,
            "tlv": {TlvTag.SOURCE_NETWORK_TYPE: b"\x01", TlvTag.MORE_MESSAGES_TO_SEND: b"\x01"},
        },
    ),
    (
        "smpplib_unknown_vendor_tlvs",
        "000000A800000005000000002F70C69A0000003232353439393039303238000100000400000000000000006969"
        "643A373935393230303236207375623A30303120646C7672643A303031207375626D697420646174653A32"
        "303033313931333139313320646F6E6520646174653A32303033313931333139313320737461743A44454C"
        "49565244206572723A30303020746578743A14030007286E756C6C29001402000436313200",
        {
            "source_addr": "22549909028",
            "esm_class": 4,
            # Vendor TLVs are kept raw, in order.
            "tlv": {0x1403: b"(null)\x00", 0x1402: b"612\x00"},
        },
    ),
]

VECTOR_IDS = [name for name, _, _ in VECTORS]


def frame_of(name: str) -> bytes:
    return next(bytes.fromhex(h) for n, h, _ in VECTORS if n == name)


@pytest.mark.parametrize(("name", "hex_pdu", "expected"), VECTORS, ids=VECTOR_IDS)
def test_vector_fields(name: str, hex_pdu: str, expected: dict[str, Any]) -> None:
    pdu = smpp.decode_pdu(bytes.fromhex(hex_pdu))
    assert isinstance(pdu, smpp.DeliverSm)
    assert pdu.command_id == CommandId.DELIVER_SM
    assert pdu.command_name == "deliver_sm"
    for field, value in expected.items():
        if field == "tlv":
            for tag, raw in value.items():
                assert pdu.tlv(tag) == raw, f"{name}: TLV 0x{tag:04X}"
        elif field == "tlv_count":
            assert len(pdu.tlvs) == value
        else:
            assert getattr(pdu, field) == value, f"{name}: {field}"


@pytest.mark.parametrize(("name", "hex_pdu", "expected"), VECTORS, ids=VECTOR_IDS)
def test_vectors_reencode_byte_for_byte(name: str, hex_pdu: str, expected: dict[str, Any]) -> None:
    data = bytes.fromhex(hex_pdu)
    pdu = smpp.decode_pdu(data)
    assert pdu.encode() == data
    assert smpp.decode_pdu(pdu.encode()) == pdu


@pytest.mark.parametrize(("name", "hex_pdu", "expected"), VECTORS, ids=VECTOR_IDS)
def test_vectors_agree_with_smpplib(name: str, hex_pdu: str, expected: dict[str, Any]) -> None:
    data = bytes.fromhex(hex_pdu)
    ours = smpp.decode_pdu(data)
    assert isinstance(ours, smpp.DeliverSm)
    theirs = parse_with_smpplib("deliver_sm", data)
    assert_same_short_message(ours, theirs)


def test_receipt_vectors() -> None:
    dlr = smpp.decode_pdu(frame_of("ch_deliver_sm_dlr_receipted_id"))
    assert isinstance(dlr, smpp.DeliverSm)
    assert dlr.is_delivery_receipt
    receipt = smpp.parse_delivery_receipt(dlr.payload)
    assert receipt is not None
    assert (receipt.id, receipt.sub, receipt.dlvrd) == ("0059113978", "001", "001")
    assert (receipt.stat, receipt.err, receipt.text) == ("DELIVRD", "000", b"@$#!%&/:")
    assert receipt.submitted_at == datetime(2010, 2, 10, 17, 30)
    assert receipt.done_at == datetime(2010, 2, 10, 17, 31)
    assert int(receipt.id) == int(dlr.receipted_message_id or "", 16)

    latin1 = smpp.decode_pdu(frame_of("ch_deliver_sm_dlr_latin1"))
    assert isinstance(latin1, smpp.DeliverSm)
    receipt = smpp.parse_delivery_receipt(latin1.payload)
    assert receipt is not None
    # "Text:" with a capital; the id in the text and in the TLV agree here.
    assert receipt.text is not None
    assert receipt.text.startswith(b"Hello")
    assert receipt.id == latin1.receipted_message_id

    vendor = smpp.decode_pdu(frame_of("smpplib_unknown_vendor_tlvs"))
    assert isinstance(vendor, smpp.DeliverSm)
    receipt = smpp.parse_delivery_receipt(vendor.payload)
    assert receipt is not None
    assert receipt.submitted_at == datetime(2020, 3, 19, 13, 19, 13)

    ucs2 = smpp.decode_pdu(frame_of("smpplib_dlr_ucs2_in_payload"))
    assert isinstance(ucs2, smpp.DeliverSm)
    assert ucs2.short_message == b""
    receipt = smpp.parse_delivery_receipt(ucs2.payload)
    assert receipt is not None
    assert receipt.id == "0489708364"
    assert receipt.text is not None
    assert receipt.text.decode("utf-16-be") == "Привет"


def test_receipt_text_is_tolerant() -> None:
    receipt = smpp.parse_delivery_receipt(b"STAT:EXPIRED ID:77 submit_date:2402291200")
    assert receipt is not None
    assert (receipt.id, receipt.stat, receipt.err, receipt.text) == ("77", "EXPIRED", None, None)
    assert receipt.submitted_at == datetime(2024, 2, 29, 12, 0)
    assert smpp.parse_delivery_receipt(b"Your code is 123456") is None
    bad_date = smpp.parse_delivery_receipt(b"id:1 done date:2413011200")
    assert bad_date is not None
    assert (bad_date.done_date, bad_date.done_at) == ("2413011200", None)


# ----- framing -----


def test_frame_reader_partial_and_several_frames_per_read() -> None:
    a, b = frame_of("ch_deliver_sm_basic"), frame_of("ch_deliver_sm_dlr_receipted_id")
    reader = smpp.FrameReader()
    reader.feed(a + b[:10])
    assert list(reader) == [a]
    assert reader.buffered == 10
    reader.feed(b[10:] + a)
    assert reader.next_frame() == b
    assert reader.next_frame() == a
    assert reader.next_frame() is None
    assert reader.buffered == 0


@pytest.mark.parametrize("length", [0, 15, 1001])
def test_frame_reader_rejects_bad_lengths_with_the_stream_offset(length: int) -> None:
    good = smpp.EnquireLink(sequence_number=1).encode()
    bad = length.to_bytes(4, "big") + bytes.fromhex("00000015 00000000 0000002A")
    reader = smpp.FrameReader(max_command_length=1000)
    assert reader.max_command_length == 1000
    reader.feed(good + bad)
    assert reader.next_frame() == good
    with pytest.raises(SmppError) as raised:
        reader.next_frame()
    error = raised.value
    assert (error.offset, error.command_status) == (16, CommandStatus.ESME_RINVCMDLEN)
    assert (error.sequence_number, error.command_id) == (42, CommandId.ENQUIRE_LINK)
    # The stream is out of step for good: the same error again.
    reader.feed(good)
    with pytest.raises(SmppError):
        reader.next_frame()
    assert smpp.decode_pdu(smpp.error_response(error)) == smpp.EnquireLinkResp(
        sequence_number=42, command_status=CommandStatus.ESME_RINVCMDLEN
    )


# ----- errors and their answers -----


def test_error_statuses() -> None:
    basic = frame_of("ch_deliver_sm_basic")
    cases: list[tuple[bytes, CommandStatus]] = [
        (basic[:-1], CommandStatus.ESME_RINVCMDLEN),
        (basic[:10], CommandStatus.ESME_RINVCMDLEN),
        (
            smpp.EnquireLink(sequence_number=1).encode()[:4] + b"\x00\x00\x00\x77" + b"\0" * 8,
            CommandStatus.ESME_RINVCMDID,
        ),
        # A message_state TLV of two octets.
        (patch_length(basic[:-5] + b"\x04\x27\x00\x02\x00\x02"), CommandStatus.ESME_RINVTLVLEN),
        # A TLV header cut short.
        (patch_length(basic + b"\x04\x27\x00"), CommandStatus.ESME_RINVTLVSTREAM),
        # A segment number without the other SAR TLVs.
        (patch_length(basic + b"\x02\x0f\x00\x01\x01"), CommandStatus.ESME_RMISSINGTLV),
    ]
    for data, status in cases:
        with pytest.raises(SmppError) as raised:
            smpp.decode_pdu(data)
        assert raised.value.command_status == status, raised.value
        assert 0 <= raised.value.offset <= len(data)
        assert isinstance(raised.value, CodecError)


def patch_length(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data[4:]


def test_error_response_answers_the_request_or_nacks() -> None:
    basic = frame_of("ch_deliver_sm_basic")
    with pytest.raises(SmppError) as raised:
        smpp.decode_pdu(patch_length(basic + b"\x02\x0f\x00\x01\x01"))
    answer = smpp.decode_pdu(smpp.error_response(raised.value))
    assert answer == smpp.DeliverSmResp(
        sequence_number=3, command_status=CommandStatus.ESME_RMISSINGTLV
    )
    with pytest.raises(SmppError) as raised:
        smpp.decode_pdu(bytes.fromhex("00000010 00000077 00000000 FFFFFFFF"))
    answer = smpp.decode_pdu(smpp.error_response(raised.value))
    assert answer == smpp.GenericNack(
        sequence_number=0xFFFFFFFF, command_status=CommandStatus.ESME_RINVCMDID
    )
    nack = parse_with_smpplib("generic_nack", smpp.error_response(raised.value))
    assert (nack.status, nack.sequence) == (CommandStatus.ESME_RINVCMDID, 0xFFFFFFFF)


def test_smpp_error_pickles_with_its_fields() -> None:
    error = SmppError("bad", 7, command_status=2, sequence_number=9, command_id=5)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is SmppError
    assert (copy.reason, copy.offset, copy.command_status) == ("bad", 7, 2)
    assert (copy.sequence_number, copy.command_id) == (9, 5)
    assert str(copy) == str(error)


# ----- building PDUs -----


def test_constructors_validate_and_encode() -> None:
    with pytest.raises(SmppError) as raised:
        smpp.DeliverSm(sequence_number=1, source_addr="1" * 21, destination_addr="2")
    assert raised.value.command_status == CommandStatus.ESME_RINVSRCADR
    with pytest.raises(SmppError) as raised:
        smpp.SubmitSm(
            sequence_number=1, source_addr="", destination_addr="2", short_message=bytes(255)
        )
    assert raised.value.command_status == CommandStatus.ESME_RINVMSGLEN
    with pytest.raises(SmppError) as raised:
        smpp.DeliverSm(sequence_number=1, source_addr="€", destination_addr="2")
    assert raised.value.command_status == CommandStatus.ESME_RINVSRCADR
    with pytest.raises(ValueError, match="not a bind"):
        smpp.Bind(command_id=CommandId.SUBMIT_SM, sequence_number=1, system_id="x")
    bind = smpp.Bind(
        command_id=CommandId.BIND_TRANSCEIVER, sequence_number=1, system_id="esme", password="pw"
    )
    assert "pw" not in repr(bind)
    assert bind.encode().hex() == "0000001d00000009000000000000000165736d65007077000034000000"
    resp = smpp.DeliverSmResp(sequence_number=0xFFFFFFFF)
    assert resp.encode() == bytes.fromhex("00000011 80000005 00000000 FFFFFFFF 00")
    assert smpp.SubmitSmResp(sequence_number=1, message_id=None).encode() == bytes.fromhex(
        "00000010 80000004 00000000 00000001"
    )


def test_tlv_values_by_tag() -> None:
    assert smpp.Tlv(TlvTag.SAR_MSG_REF_NUM, 0x1234).value == b"\x12\x34"
    assert smpp.Tlv(TlvTag.MESSAGE_STATE, MessageState.REJECTED).parsed == 8
    assert smpp.Tlv(TlvTag.RECEIPTED_MESSAGE_ID, "ab1").value == b"ab1\x00"
    assert smpp.Tlv(TlvTag.RECEIPTED_MESSAGE_ID, "ab1").parsed == "ab1"
    assert smpp.Tlv(TlvTag.NETWORK_ERROR_CODE, b"\x03\x00\x22").parsed == (3, 0x22)
    assert smpp.Tlv(0x1403, b"x").name is None
    assert smpp.Tlv(TlvTag.MESSAGE_PAYLOAD, b"x").name == "message_payload"
    with pytest.raises(ValueError, match="does not fit"):
        smpp.Tlv(TlvTag.MESSAGE_STATE, 256)
    with pytest.raises(ValueError, match="not an integer TLV"):
        smpp.Tlv(0x1403, 1)
    with pytest.raises(SmppError) as raised:
        smpp.DataSm(
            sequence_number=1,
            source_addr="a",
            destination_addr="b",
            tlvs=[smpp.Tlv(TlvTag.MESSAGE_STATE, b"\x01\x02")],
        )
    assert raised.value.command_status == CommandStatus.ESME_RINVTLVLEN


def test_every_class_reports_its_command() -> None:
    samples: list[tuple[smpp.Pdu, CommandId]] = [
        (
            smpp.Bind(command_id=CommandId.BIND_RECEIVER, sequence_number=1, system_id="a"),
            CommandId.BIND_RECEIVER,
        ),
        (
            smpp.BindResp(command_id=CommandId.BIND_TRANSMITTER_RESP, sequence_number=1),
            CommandId.BIND_TRANSMITTER_RESP,
        ),
        (
            smpp.SubmitSm(sequence_number=1, source_addr="a", destination_addr="b"),
            CommandId.SUBMIT_SM,
        ),
        (smpp.SubmitSmResp(sequence_number=1), CommandId.SUBMIT_SM_RESP),
        (
            smpp.DeliverSm(sequence_number=1, source_addr="a", destination_addr="b"),
            CommandId.DELIVER_SM,
        ),
        (smpp.DeliverSmResp(sequence_number=1), CommandId.DELIVER_SM_RESP),
        (smpp.DataSm(sequence_number=1, source_addr="a", destination_addr="b"), CommandId.DATA_SM),
        (smpp.DataSmResp(sequence_number=1), CommandId.DATA_SM_RESP),
        (smpp.EnquireLink(sequence_number=1), CommandId.ENQUIRE_LINK),
        (smpp.EnquireLinkResp(sequence_number=1), CommandId.ENQUIRE_LINK_RESP),
        (smpp.Unbind(sequence_number=1), CommandId.UNBIND),
        (smpp.UnbindResp(sequence_number=1), CommandId.UNBIND_RESP),
        (smpp.GenericNack(sequence_number=1), CommandId.GENERIC_NACK),
    ]
    for pdu, command_id in samples:
        assert pdu.command_id == command_id
        assert pdu.command_name == command_id.name.lower()
        decoded = smpp.decode_pdu(pdu.encode())
        assert type(decoded) is type(pdu)
        assert decoded == pdu


# ----- smpplib as an oracle -----


def parse_with_smpplib(command: str, data: bytes) -> Any:
    pdu = smpplib.command.factory(command, sequence=0, allow_unknown_opt_params=True)
    pdu.parse(data)
    return pdu


def latin1(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("latin-1") if isinstance(value, bytes) else value


SMPPLIB_TLVS = ("sar_msg_ref_num", "sar_total_segments", "sar_segment_seqnum", "message_state")


def assert_same_short_message(ours: smpp.DeliverSm | smpp.SubmitSm, theirs: Any) -> None:
    assert ours.sequence_number == theirs.sequence
    assert ours.command_status == theirs.status
    for field in ("service_type", "source_addr", "destination_addr"):
        assert getattr(ours, field) == latin1(getattr(theirs, field)), field
    for field in ("source_addr_ton", "source_addr_npi", "dest_addr_ton", "dest_addr_npi"):
        assert getattr(ours, field) == getattr(theirs, field), field
    for field in ("esm_class", "protocol_id", "priority_flag", "registered_delivery"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ours.data_coding == theirs.data_coding
    assert ours.short_message == (theirs.short_message or b"")
    assert ours.message_payload == theirs.message_payload
    # smpplib's submit_sm has no receipt TLVs (SMPP gives them to deliver_sm only).
    assert (ours.receipted_message_id or "") == latin1(
        getattr(theirs, "receipted_message_id", None)
    )
    assert ours.message_state == getattr(theirs, "message_state", None)
    sar = (theirs.sar_msg_ref_num, theirs.sar_total_segments, theirs.sar_segment_seqnum)
    assert ours.sar == (None if sar == (None, None, None) else sar)


c_string = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


@st.composite
def short_messages(draw: st.DrawFn, cls: type[smpp.DeliverSm] | type[smpp.SubmitSm]) -> Any:
    tlvs: list[smpp.Tlv] = []
    if draw(st.booleans()):
        reference, total, seq = draw(
            st.tuples(st.integers(0, 0xFFFF), st.integers(1, 255), st.integers(1, 255))
        )
        tlvs += [
            smpp.Tlv(TlvTag.SAR_MSG_REF_NUM, reference),
            smpp.Tlv(TlvTag.SAR_TOTAL_SEGMENTS, total),
            smpp.Tlv(TlvTag.SAR_SEGMENT_SEQNUM, seq),
        ]
    if cls is smpp.DeliverSm and draw(st.booleans()):
        tlvs.append(smpp.Tlv(TlvTag.MESSAGE_STATE, draw(st.sampled_from(MessageState))))
    if cls is smpp.DeliverSm and draw(st.booleans()):
        tlvs.append(smpp.Tlv(TlvTag.RECEIPTED_MESSAGE_ID, draw(c_string.filter(bool))))
    if draw(st.booleans()):
        tlvs.append(smpp.Tlv(TlvTag.MESSAGE_PAYLOAD, draw(st.binary(min_size=1, max_size=200))))
    draw(st.randoms()).shuffle(tlvs)
    return cls(
        sequence_number=draw(st.integers(0, 0xFFFFFFFF)),
        service_type=draw(c_string.map(lambda s: s[:5])),
        source_addr=draw(c_string),
        destination_addr=draw(c_string),
        source_addr_ton=draw(st.integers(0, 6)),
        source_addr_npi=draw(st.integers(0, 18)),
        dest_addr_ton=draw(st.integers(0, 6)),
        dest_addr_npi=draw(st.integers(0, 18)),
        esm_class=draw(st.sampled_from([0, 0x04, 0x40, 0x43])),
        protocol_id=draw(st.integers(0, 255)),
        priority_flag=draw(st.integers(0, 3)),
        registered_delivery=draw(st.integers(0, 31)),
        data_coding=draw(st.sampled_from([0, 1, 3, 4, 8, 0xF0])),
        short_message=draw(st.binary(max_size=160)),
        tlvs=tlvs,
    )


@settings(max_examples=200, deadline=None)
@given(short_messages(smpp.DeliverSm))
def test_ours_parse_in_smpplib(pdu: smpp.DeliverSm) -> None:
    assert_same_short_message(pdu, parse_with_smpplib("deliver_sm", pdu.encode()))


@settings(max_examples=200, deadline=None)
@given(short_messages(smpp.SubmitSm))
def test_smpplib_pdus_decode_with_ours(model: smpp.SubmitSm) -> None:
    fields: dict[str, Any] = {
        name: getattr(model, name)
        for name in (
            "service_type",
            "source_addr_ton",
            "source_addr_npi",
            "source_addr",
            "dest_addr_ton",
            "dest_addr_npi",
            "destination_addr",
            "esm_class",
            "protocol_id",
            "priority_flag",
            "registered_delivery",
            "data_coding",
        )
    }
    for tlv in model.tlvs:
        fields[tlv.name or ""] = tlv.parsed if tlv.name != "message_payload" else tlv.value
    if model.message_payload is None:
        fields["short_message"] = model.short_message
    theirs = smpplib.command.factory("submit_sm", sequence=0, **fields)
    theirs.sequence = model.sequence_number
    ours = smpp.decode_pdu(theirs.generate())
    assert isinstance(ours, smpp.SubmitSm)
    assert_same_short_message(ours, theirs)


def test_smpplib_session_pdus_decode_with_ours() -> None:
    bind = smpplib.command.factory(
        "bind_transceiver",
        sequence=0,
        system_id="esme",
        password="secret",
        system_type="SEPT",
        interface_version=0x34,
        addr_ton=1,
        addr_npi=1,
        address_range="",
    )
    bind.sequence = 5
    ours = smpp.decode_pdu(bind.generate())
    assert isinstance(ours, smpp.Bind)
    assert (ours.command_id, ours.sequence_number) == (CommandId.BIND_TRANSCEIVER, 5)
    assert (ours.system_id, ours.password, ours.system_type) == ("esme", "secret", "SEPT")
    assert (ours.interface_version, ours.addr_ton, ours.addr_npi) == (0x34, 1, 1)
    data_sm = smpplib.command.factory(
        "data_sm",
        sequence=0,
        source_addr="4915",
        destination_addr="999",
        esm_class=0x40,
        message_payload=b"\x05\x00\x03\x01\x02\x01hi",
    )
    ours_data = smpp.decode_pdu(data_sm.generate())
    assert isinstance(ours_data, smpp.DataSm)
    assert ours_data.udhi
    assert ours_data.payload == b"\x05\x00\x03\x01\x02\x01hi"
    for name, cls in [
        ("enquire_link", smpp.EnquireLink),
        ("enquire_link_resp", smpp.EnquireLinkResp),
        ("unbind", smpp.Unbind),
        ("unbind_resp", smpp.UnbindResp),
    ]:
        theirs = smpplib.command.factory(name, sequence=0)
        theirs.sequence = 0x80000001
        assert smpp.decode_pdu(theirs.generate()) == cls(sequence_number=0x80000001)


def test_our_responses_parse_in_smpplib() -> None:
    resp = parse_with_smpplib("deliver_sm_resp", smpp.DeliverSmResp(sequence_number=77).encode())
    assert (resp.sequence, resp.status) == (77, 0)
    resp = parse_with_smpplib(
        "data_sm_resp", smpp.DataSmResp(sequence_number=78, message_id="m-1").encode()
    )
    assert (resp.sequence, resp.message_id) == (78, b"m-1")
    bind_resp = smpp.BindResp(
        command_id=CommandId.BIND_TRANSCEIVER_RESP,
        sequence_number=1,
        system_id="SMSC",
        tlvs=[smpp.Tlv(TlvTag.SC_INTERFACE_VERSION, 0x34)],
    )
    resp = parse_with_smpplib("bind_transceiver_resp", bind_resp.encode())
    assert (resp.system_id, resp.sc_interface_version) == (b"SMSC", 0x34)
    assert smpp.decode_pdu(bind_resp.encode()) == bind_resp
    bind = smpp.Bind(
        command_id=CommandId.BIND_RECEIVER, sequence_number=2, system_id="esme", password="pw"
    )
    parsed = parse_with_smpplib("bind_receiver", bind.encode())
    assert (parsed.system_id, parsed.password, parsed.interface_version) == (b"esme", b"pw", 0x34)


# ----- properties -----


@settings(max_examples=300, deadline=None)
@given(short_messages(smpp.DeliverSm))
def test_round_trip(pdu: smpp.DeliverSm) -> None:
    data = pdu.encode()
    assert int.from_bytes(data[:4], "big") == len(data)
    decoded = smpp.decode_pdu(data)
    assert decoded == pdu
    assert decoded.encode() == data


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_smpp_error(data: bytes) -> None:
    try:
        smpp.decode_pdu(data)
    except SmppError as error:
        assert 0 <= error.offset <= len(data)
        assert error.command_status != CommandStatus.ESME_ROK
    reader = smpp.FrameReader(max_command_length=256)
    reader.feed(data)
    try:
        for frame in reader:
            with contextlib.suppress(SmppError):
                smpp.decode_pdu(frame)
    except SmppError as error:
        assert error.command_status == CommandStatus.ESME_RINVCMDLEN
    smpp.parse_delivery_receipt(data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([h for _, h, _ in VECTORS]), st.data())
def test_truncations_and_mutations(hex_pdu: str, data: st.DataObject) -> None:
    frame = bytes.fromhex(hex_pdu)
    cut = data.draw(st.integers(0, len(frame) - 1))
    with pytest.raises(SmppError) as raised:
        smpp.decode_pdu(frame[:cut])
    assert raised.value.command_status == CommandStatus.ESME_RINVCMDLEN
    # The body cut short under a header that agrees with it.
    short = patch_length(frame[:cut]) if cut >= 16 else frame[:cut]
    mutated = bytearray(short)
    for _ in range(data.draw(st.integers(0, 3))):
        if mutated:
            mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    try:
        smpp.decode_pdu(bytes(mutated))
    except SmppError as error:
        answer = smpp.decode_pdu(smpp.error_response(error))
        assert answer.command_status == error.command_status


@settings(max_examples=100, deadline=None)
@given(st.lists(short_messages(smpp.DeliverSm), min_size=1, max_size=4), st.data())
def test_stream_split_at_arbitrary_points(pdus: list[smpp.DeliverSm], data: st.DataObject) -> None:
    stream = b"".join(p.encode() for p in pdus)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    reader = smpp.FrameReader()
    decoded: list[smpp.Pdu] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        reader.feed(stream[start:end])
        decoded.extend(smpp.decode_pdu(frame) for frame in reader)
    assert decoded == pdus
    assert reader.buffered == 0
