//! SMPP framing, PDU decoding and encoding, TLVs and receipt text: the
//! public deliver_sm vectors (cloudhopper-smpp's PduDecoderTest, smpplib's
//! test_command), hand-built PDUs for each error status, and properties
//! (round trips, truncations, random bytes, a stream split at every offset).
//!
//! The fuzz target is `fuzz_arbitrary_bytes_never_panic` below: a proptest
//! over arbitrary byte strings (and mutations of valid PDUs) run through the
//! frame reader and the decoder, so it needs no nightly toolchain.

use proptest::prelude::*;

use super::command::*;
use super::status::*;
use super::*;

fn unhex(text: &str) -> Vec<u8> {
    crate::hex::decode(text).expect("test hex")
}

/// cloudhopper-smpp PduDecoderTest: deliver_sm with source/dest network type TLVs.
const CH_BASIC: &str = "000000400000000500000000000000030002013837363534333231000409343034303400000000000000000000084024232125262F3A000E0001010006000101";
/// cloudhopper-smpp: a delivery receipt with receipted_message_id and message_state.
const CH_DLR: &str = "000000BA00000005000000000000000200010134343935313336313932300001013430343034000400000000000000006E69643A30303539313133393738207375623A30303120646C7672643A303031207375626D697420646174653A3130303231303137333020646F6E6520646174653A3130303231303137333120737461743A44454C49565244206572723A30303020746578743A4024232125262F3A000E0001010006000101001E000833383630316661000427000102";
/// cloudhopper-smpp: the text in message_payload, sm_length 0.
const CH_PAYLOAD: &str = "000000640000000500000000000547EB0002013434393531333631393200040934303430340000000000000000000000000E000101000600010104240026404D616964656E6D616E363634207761732069742073617070793F2026526F6D616E7469633F";
/// cloudhopper-smpp: sequence number 0xA2859F22 (negative as a Java int).
const CH_LARGE_SEQ: &str = "000000400000000500000000A2859F22313030310001013434393531333631393230000001343034303430343034303430343034300000000000000000080000";
/// smpplib test_command: vendor TLVs 0x1403 and 0x1402 after a receipt.
const SMPPLIB_VENDOR: &str = "000000A800000005000000002F70C69A0000003232353439393039303238000100000400000000000000006969643A373935393230303236207375623A30303120646C7672643A303031207375626D697420646174653A32303033313931333139313320646F6E6520646174653A32303033313931333139313320737461743A44454C49565244206572723A30303020746578743A14030007286E756C6C29001402000436313200";
/// smpplib test_command: a receipt in message_payload, UTF-16BE after `text:`.
const SMPPLIB_UCS2: &str = "000000CB000000050000000000000001000101333136303030303030303000050058585820595959590004000000000000000000000E0001010006000101001E000931643330356234630004270001020424007269643A30343839373038333634207375623A30303120646C7672643A303031207375626D697420646174653A3138313031353139303720646F6E6520646174653A3138313031353139303720737461743A44454C49565244206572723A30303020746578743A041F044004380432043504420426000101";

const VECTORS: [&str; 6] = [
    CH_BASIC,
    CH_DLR,
    CH_PAYLOAD,
    CH_LARGE_SEQ,
    SMPPLIB_VENDOR,
    SMPPLIB_UCS2,
];

fn deliver_sm(pdu: &Pdu) -> &ShortMessage {
    match &pdu.body {
        Body::DeliverSm(sm) => sm,
        other => panic!("not a deliver_sm: {other:?}"),
    }
}

fn error_of(frame: &[u8]) -> SmppError {
    decode(frame).expect_err("the frame must not decode")
}

/// A PDU with `body` and a correct command_length.
fn frame(command_id: u32, sequence_number: u32, body: &[u8]) -> Vec<u8> {
    let mut out = ((HEADER_LEN + body.len()) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(&command_id.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&sequence_number.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// The mandatory deliver_sm fields with `sm`, then `tlvs` (already encoded).
fn deliver_body(sm: &[u8], tlvs: &[u8]) -> Vec<u8> {
    let mut body = b"\0\x01\x01+4915\0\x00\x00999\0\x00\x00\x00\0\0\x00\x00\x00\x00".to_vec();
    body.push(sm.len() as u8);
    body.extend_from_slice(sm);
    body.extend_from_slice(tlvs);
    body
}

#[test]
fn basic_deliver_sm_fields() {
    let pdu = decode(&unhex(CH_BASIC)).unwrap();
    assert_eq!((pdu.command_id(), pdu.command_status), (DELIVER_SM, 0));
    assert_eq!(pdu.sequence_number, 3);
    let sm = deliver_sm(&pdu);
    assert_eq!(sm.source_addr, b"87654321");
    assert_eq!((sm.source_addr_ton, sm.source_addr_npi), (2, 1));
    assert_eq!(sm.destination_addr, b"40404");
    assert_eq!((sm.dest_addr_ton, sm.dest_addr_npi), (4, 9));
    assert_eq!((sm.esm_class, sm.data_coding), (0, 0));
    assert_eq!(sm.short_message, unhex("4024232125262F3A"));
    assert_eq!(sm.tlvs.int(tlv::tag::SOURCE_NETWORK_TYPE), Some(1));
    assert_eq!(sm.tlvs.int(tlv::tag::DEST_NETWORK_TYPE), Some(1));
    assert_eq!(sm.tlvs.iter().count(), 2);
}

#[test]
fn delivery_receipt_tlvs_and_text() {
    let pdu = decode(&unhex(CH_DLR)).unwrap();
    let sm = deliver_sm(&pdu);
    assert_eq!(sm.esm_class & 0x3C, ESM_CLASS_DELIVERY_RECEIPT);
    assert_eq!(sm.tlvs.receipted_message_id(), Some(&b"38601fa"[..]));
    assert_eq!(sm.tlvs.message_state(), Some(2));
    let receipt = parse_delivery_receipt(sm.payload()).unwrap();
    assert_eq!(receipt.id.as_deref(), Some(&b"0059113978"[..]));
    assert_eq!(receipt.stat.as_deref(), Some(&b"DELIVRD"[..]));
    assert_eq!(receipt.err.as_deref(), Some(&b"000"[..]));
    assert_eq!(receipt.text.as_deref(), Some(&b"@$#!%&/:"[..]));
    let done = receipt.done_at().unwrap();
    assert_eq!(
        (done.year, done.month, done.day, done.hour, done.minute),
        (2010, 2, 10, 17, 31)
    );
    // The text id is decimal, the TLV id the same number in hex.
    assert_eq!(u64::from_str_radix("38601fa", 16).unwrap(), 59_113_978);
}

#[test]
fn message_payload_replaces_short_message() {
    let pdu = decode(&unhex(CH_PAYLOAD)).unwrap();
    assert_eq!(pdu.sequence_number, 346_091);
    let sm = deliver_sm(&pdu);
    assert!(sm.short_message.is_empty());
    assert_eq!(sm.payload(), b"@Maidenman664 was it sappy? &Romantic?");
    for (hex, payload) in [
        ("00000040000000050000000000657E4E0002013434393531333631393200040934303430340000000000000000000000000E0001010006000101042400024F6B", &b"Ok"[..]),
        ("0000003F000000050000000000657E4E0002013434393531333631393200040934303430340000000000000000000000000E0001010006000101042400014F", b"O"),
        ("0000003E000000050000000000657E4E0002013434393531333631393200040934303430340000000000000000000000000E000101000600010104240000", b""),
    ] {
        let pdu = decode(&unhex(hex)).unwrap();
        assert_eq!(pdu.sequence_number, 6_651_470);
        assert_eq!(deliver_sm(&pdu).tlvs.message_payload(), Some(payload));
    }
}

#[test]
fn sequence_numbers_are_unsigned() {
    let pdu = decode(&unhex(CH_LARGE_SEQ)).unwrap();
    assert_eq!(pdu.sequence_number, 0xA285_9F22);
    assert_eq!(pdu.sequence_number, 2_726_666_018);
    let sm = deliver_sm(&pdu);
    assert_eq!(sm.service_type, b"1001");
    assert_eq!(sm.destination_addr, b"4040404040404040");
    assert_eq!((sm.data_coding, sm.short_message.len()), (8, 0));
}

#[test]
fn vendor_tlvs_are_kept_raw() {
    let pdu = decode(&unhex(SMPPLIB_VENDOR)).unwrap();
    let sm = deliver_sm(&pdu);
    assert_eq!(sm.source_addr, b"22549909028");
    let tags: Vec<u16> = sm.tlvs.iter().map(|t| t.tag).collect();
    assert_eq!(tags, [0x1403, 0x1402]);
    assert_eq!(sm.tlvs.get(0x1403), Some(&b"(null)\0"[..]));
    assert_eq!(sm.tlvs.0[1].parsed(), TlvValue::Unknown(b"612\0"));
    assert_eq!(sm.tlvs.0[1].name(), None);
    let receipt = parse_delivery_receipt(&sm.short_message).unwrap();
    let submitted = receipt.submitted_at().unwrap();
    assert_eq!(
        (submitted.year, submitted.month, submitted.day),
        (2020, 3, 19)
    );
    assert_eq!(
        (submitted.hour, submitted.minute, submitted.second),
        (13, 19, 13)
    );
}

#[test]
fn ucs2_receipt_text_in_payload() {
    let pdu = decode(&unhex(SMPPLIB_UCS2)).unwrap();
    let sm = deliver_sm(&pdu);
    assert_eq!(sm.destination_addr, b"XXX YYYY");
    assert_eq!(sm.tlvs.receipted_message_id(), Some(&b"1d305b4c"[..]));
    assert_eq!(sm.tlvs.int(tlv::tag::MORE_MESSAGES_TO_SEND), Some(1));
    let receipt = parse_delivery_receipt(sm.payload()).unwrap();
    let text = receipt.text.unwrap();
    assert_eq!(crate::ucs2::decode_strict(&text).unwrap(), "Привет");
}

#[test]
fn every_vector_reencodes_byte_for_byte() {
    for hex in VECTORS {
        let bytes = unhex(hex);
        assert_eq!(encode(&decode(&bytes).unwrap()).unwrap(), bytes, "{hex}");
    }
}

#[test]
fn header_errors_give_the_command_and_sequence() {
    let short = error_of(&unhex("0000000C000000150000"));
    assert_eq!(
        (short.command_status, short.sequence_number),
        (ESME_RINVCMDLEN, None)
    );
    assert_eq!(short.command_id, Some(ENQUIRE_LINK));
    // The frame says 17 octets but has 16.
    let mut lying = frame(ENQUIRE_LINK, 7, b"");
    lying[3] = 17;
    let error = error_of(&lying);
    assert_eq!(error.command_status, ESME_RINVCMDLEN);
    assert_eq!((error.offset, error.sequence_number), (0, Some(7)));
    let error = error_of(&frame(0x0000_0103 | 0x40, 9, b""));
    assert_eq!((error.command_status, error.offset), (ESME_RINVCMDID, 4));
    // Nothing may follow the header of an enquire_link.
    let error = error_of(&frame(ENQUIRE_LINK, 1, b"\0"));
    assert_eq!((error.command_status, error.offset), (ESME_RINVCMDLEN, 16));
}

#[test]
fn body_errors_name_the_field_status() {
    let too_long_source = frame(DELIVER_SM, 5, b"\0\x01\x01123456789012345678901\0");
    let error = error_of(&too_long_source);
    assert_eq!((error.command_status, error.offset), (ESME_RINVSRCADR, 19));
    assert_eq!(error.sequence_number, Some(5));
    let too_long_service = frame(DELIVER_SM, 5, b"CMTABC\0");
    assert_eq!(error_of(&too_long_service).command_status, ESME_RINVSERTYP);
    // The PDU ends inside source_addr.
    let cut = frame(DELIVER_SM, 5, b"\0\x01\x01123");
    let error = error_of(&cut);
    assert_eq!((error.command_status, error.offset), (ESME_RINVCMDLEN, 22));
    // sm_length overruns the body; 255 is above the maximum.
    let mut body = deliver_body(b"abc", b"");
    body.truncate(body.len() - 1);
    let error = error_of(&frame(DELIVER_SM, 5, &body));
    assert_eq!(error.command_status, ESME_RINVMSGLEN);
    let mut body = deliver_body(b"", b"");
    *body.last_mut().unwrap() = 255;
    assert_eq!(
        error_of(&frame(DELIVER_SM, 5, &body)).command_status,
        ESME_RINVMSGLEN
    );
}

#[test]
fn tlv_errors() {
    let stream = error_of(&frame(DELIVER_SM, 1, &deliver_body(b"", b"\x04\x27\x00")));
    assert_eq!(stream.command_status, ESME_RINVTLVSTREAM);
    let overrun = error_of(&frame(
        DELIVER_SM,
        1,
        &deliver_body(b"", b"\x04\x24\x00\x05ab"),
    ));
    assert_eq!(overrun.command_status, ESME_RINVTLVSTREAM);
    let bad_length = deliver_body(b"", b"\x04\x27\x00\x02\x00\x02");
    let error = error_of(&frame(DELIVER_SM, 1, &bad_length));
    assert_eq!(error.command_status, ESME_RINVTLVLEN);
    assert_eq!(error.offset, HEADER_LEN + bad_length.len() - 4);
    assert!(error.reason.contains("message_state"), "{}", error.reason);
    let half_sar = deliver_body(b"", b"\x02\x0C\x00\x02\x12\x34\x02\x0E\x00\x01\x03");
    let error = error_of(&frame(DELIVER_SM, 1, &half_sar));
    assert_eq!(error.command_status, ESME_RMISSINGTLV);
    assert!(
        error.reason.contains("sar_segment_seqnum"),
        "{}",
        error.reason
    );
    let sar = deliver_body(
        b"part",
        b"\x02\x0C\x00\x02\x12\x34\x02\x0E\x00\x01\x03\x02\x0F\x00\x01\x02",
    );
    let pdu = decode(&frame(DELIVER_SM, 1, &sar)).unwrap();
    let expected = tlv::Sar {
        msg_ref_num: 0x1234,
        total_segments: 3,
        segment_seqnum: 2,
    };
    assert_eq!(deliver_sm(&pdu).tlvs.sar(), Some(expected));
}

#[test]
fn network_error_code_and_receipted_id_without_nul() {
    let body = deliver_body(b"", b"\x04\x23\x00\x03\x03\x00\x22\x00\x1E\x00\x03abc");
    let pdu = decode(&frame(DELIVER_SM, 1, &body)).unwrap();
    let tlvs = &deliver_sm(&pdu).tlvs;
    let code = tlvs.network_error_code().unwrap();
    assert_eq!((code.network_type, code.error_code), (3, 0x22));
    assert_eq!(tlvs.receipted_message_id(), Some(&b"abc"[..]));
    assert_eq!(encode(&pdu).unwrap(), frame(DELIVER_SM, 1, &body));
}

#[test]
fn error_responses() {
    let error = error_of(&frame(DELIVER_SM, 42, b"\0\x01"));
    let response = error.response();
    assert_eq!(response.command_id(), DELIVER_SM_RESP);
    assert_eq!(
        (response.sequence_number, response.command_status),
        (42, ESME_RINVCMDLEN)
    );
    let mut expected = frame(DELIVER_SM_RESP, 42, b"\0");
    expected[8..12].copy_from_slice(&ESME_RINVCMDLEN.to_be_bytes());
    assert_eq!(encode(&response).unwrap(), expected);
    let unknown = error_of(&frame(0x0000_0077, 8, b"")).response();
    assert_eq!(
        (
            unknown.command_id(),
            unknown.command_status,
            unknown.sequence_number
        ),
        (GENERIC_NACK, ESME_RINVCMDID, 8)
    );
    let bad_resp = error_of(&frame(SUBMIT_SM_RESP, 9, b"x")).response();
    assert_eq!(bad_resp.command_id(), GENERIC_NACK);
    let unreadable = error_of(b"\0\0").response();
    assert_eq!(
        (unreadable.command_id(), unreadable.sequence_number),
        (GENERIC_NACK, 0)
    );
}

#[test]
fn responses_with_and_without_body() {
    for command_id in [SUBMIT_SM_RESP, DELIVER_SM_RESP, DATA_SM_RESP] {
        let empty = decode(&frame(command_id, 1, b"")).unwrap();
        assert_eq!(encode(&empty).unwrap(), frame(command_id, 1, b""));
        let with_id = decode(&frame(command_id, 1, b"abc\0")).unwrap();
        assert_eq!(encode(&with_id).unwrap(), frame(command_id, 1, b"abc\0"));
    }
    let bind_resp = frame(BIND_TRANSCEIVER_RESP, 1, b"SMSC\0\x02\x10\x00\x01\x34");
    let pdu = decode(&bind_resp).unwrap();
    match &pdu.body {
        Body::BindTransceiverResp(b) => {
            assert_eq!(b.system_id.as_deref(), Some(&b"SMSC"[..]));
            assert_eq!(b.tlvs.int(tlv::tag::SC_INTERFACE_VERSION), Some(0x34));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(encode(&pdu).unwrap(), bind_resp);
}

#[test]
fn bind_encodes_as_specified() {
    let pdu = Pdu {
        command_status: 0,
        sequence_number: 1,
        body: Body::BindReceiver(Bind {
            system_id: b"esme".to_vec(),
            password: b"secret".to_vec(),
            system_type: Vec::new(),
            interface_version: 0x34,
            addr_ton: 1,
            addr_npi: 1,
            address_range: Vec::new(),
        }),
    };
    let bytes = encode(&pdu).unwrap();
    assert_eq!(
        bytes,
        frame(BIND_RECEIVER, 1, b"esme\0secret\0\0\x34\x01\x01\0")
    );
    assert_eq!(decode(&bytes).unwrap(), pdu);
}

#[test]
fn encode_rejects_what_decode_would() {
    let mut sm = ShortMessage {
        source_addr: vec![b'1'; 21],
        ..ShortMessage::default()
    };
    let pdu = |sm: &ShortMessage| Pdu {
        command_status: 0,
        sequence_number: 3,
        body: Body::SubmitSm(sm.clone()),
    };
    let error = encode(&pdu(&sm)).unwrap_err();
    assert_eq!((error.command_status, error.offset), (ESME_RINVSRCADR, 19));
    sm.source_addr = b"a\0b".to_vec();
    assert_eq!(
        encode(&pdu(&sm)).unwrap_err().command_status,
        ESME_RINVSRCADR
    );
    sm.source_addr = Vec::new();
    sm.short_message = vec![0; 255];
    assert_eq!(
        encode(&pdu(&sm)).unwrap_err().command_status,
        ESME_RINVMSGLEN
    );
    sm.short_message = Vec::new();
    sm.tlvs = Tlvs(vec![Tlv::new(tlv::tag::MESSAGE_STATE, vec![1, 2])]);
    assert_eq!(
        encode(&pdu(&sm)).unwrap_err().command_status,
        ESME_RINVTLVLEN
    );
    sm.tlvs = Tlvs(vec![Tlv::new(tlv::tag::SAR_SEGMENT_SEQNUM, vec![1])]);
    assert_eq!(
        encode(&pdu(&sm)).unwrap_err().command_status,
        ESME_RMISSINGTLV
    );
    sm.tlvs = Tlvs(vec![Tlv::new(0x1400, vec![0; 70_000])]);
    let mut out = b"kept".to_vec();
    assert_eq!(
        encode_into(&pdu(&sm), &mut out).unwrap_err().command_status,
        ESME_RINVTLVLEN
    );
    assert_eq!(out, b"kept", "a failed encode leaves the buffer as it was");
}

#[test]
fn frame_reader_splits_and_keeps_partial_frames() {
    let a = unhex(CH_BASIC);
    let b = unhex(CH_DLR);
    let mut stream = a.clone();
    stream.extend_from_slice(&b);
    let mut reader = FrameReader::default();
    reader.feed(&stream[..70]);
    assert_eq!(reader.next_frame().unwrap(), Some(&a[..]));
    assert_eq!(reader.next_frame().unwrap(), None);
    assert_eq!(reader.buffered(), 70 - a.len());
    reader.feed(&stream[70..]);
    assert_eq!(reader.next_frame().unwrap(), Some(&b[..]));
    assert_eq!(reader.next_frame().unwrap(), None);
    assert_eq!(reader.buffered(), 0);
}

#[test]
fn frame_reader_rejects_bad_lengths_at_their_offset() {
    let good = frame(ENQUIRE_LINK, 1, b"");
    for (length, limit) in [(15u32, 1000u32), (0, 1000), (1001, 1000)] {
        let mut stream = good.clone();
        let mut bad = frame(ENQUIRE_LINK, 77, b"");
        bad[..4].copy_from_slice(&length.to_be_bytes());
        stream.extend_from_slice(&bad);
        let mut reader = FrameReader::new(limit);
        reader.feed(&stream);
        assert_eq!(reader.next_frame().unwrap(), Some(&good[..]));
        let error = reader.next_frame().unwrap_err();
        assert_eq!(error.command_status, ESME_RINVCMDLEN);
        assert_eq!((error.offset, error.sequence_number), (16, Some(77)));
        // The stream cannot be resynchronised: the error stays.
        reader.feed(&good);
        assert_eq!(reader.next_frame().unwrap_err(), error);
    }
}

#[test]
fn receipt_text_variants() {
    let receipt = parse_delivery_receipt(
        b"ID:ab12 SUB:001 Dlvrd:000 Submit_Date:2402291200 DONE DATE:240229120 Stat:UNDELIV Err:0x0B Text:hi there",
    )
    .unwrap();
    assert_eq!(receipt.id.as_deref(), Some(&b"ab12"[..]));
    assert_eq!(receipt.submitted_at().unwrap().day, 29);
    assert_eq!(receipt.done_date.as_deref(), Some(&b"240229120"[..]));
    assert_eq!(receipt.done_at(), None, "nine digits are not a date");
    assert_eq!(receipt.stat.as_deref(), Some(&b"UNDELIV"[..]));
    assert_eq!(receipt.text.as_deref(), Some(&b"hi there"[..]));
    let sparse = parse_delivery_receipt(b"stat:EXPIRED id:7").unwrap();
    assert_eq!(
        (sparse.id.as_deref(), sparse.err, sparse.text),
        (Some(&b"7"[..]), None, None)
    );
    assert_eq!(parse_delivery_receipt(b"Hello, your code is 1234"), None);
    assert_eq!(
        ReceiptDate::parse(b"2302291200"),
        None,
        "2023 is no leap year"
    );
    assert_eq!(
        ReceiptDate::parse(b"20240229120059").map(|d| d.second),
        Some(59)
    );
}

// ----- properties -----

fn c_string(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(1u8..=255, 0..max)
}

fn tlv_strategy() -> impl Strategy<Value = Tlv> {
    prop_oneof![
        (
            0x1400u16..0x3FFF,
            proptest::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(tag, value)| Tlv::new(tag, value)),
        proptest::collection::vec(any::<u8>(), 0..300)
            .prop_map(|v| Tlv::new(tlv::tag::MESSAGE_PAYLOAD, v)),
        (1u8..=8).prop_map(|s| Tlv::new(tlv::tag::MESSAGE_STATE, vec![s])),
        c_string(64).prop_map(|mut id| {
            id.push(0);
            Tlv::new(tlv::tag::RECEIPTED_MESSAGE_ID, id)
        }),
        any::<[u8; 3]>().prop_map(|v| Tlv::new(tlv::tag::NETWORK_ERROR_CODE, v.to_vec())),
    ]
}

fn tlvs_strategy() -> impl Strategy<Value = Tlvs> {
    (
        proptest::collection::vec(tlv_strategy(), 0..4),
        proptest::option::of(any::<(u16, u8, u8)>()),
    )
        .prop_map(|(mut tlvs, sar)| {
            if let Some((reference, total, seq)) = sar {
                tlvs.push(Tlv::new(tlv::tag::SAR_MSG_REF_NUM, reference.to_be_bytes()));
                tlvs.push(Tlv::new(tlv::tag::SAR_TOTAL_SEGMENTS, vec![total]));
                tlvs.push(Tlv::new(tlv::tag::SAR_SEGMENT_SEQNUM, vec![seq]));
            }
            Tlvs(tlvs)
        })
}

prop_compose! {
    fn short_message()(
        service_type in c_string(6),
        source in (any::<u8>(), any::<u8>(), c_string(21)),
        dest in (any::<u8>(), any::<u8>(), c_string(21)),
        flags in any::<[u8; 8]>(),
        times in (c_string(17), c_string(17)),
        short_message in proptest::collection::vec(any::<u8>(), 0..=254),
        tlvs in tlvs_strategy(),
    ) -> ShortMessage {
        ShortMessage {
            service_type,
            source_addr_ton: source.0,
            source_addr_npi: source.1,
            source_addr: source.2,
            dest_addr_ton: dest.0,
            dest_addr_npi: dest.1,
            destination_addr: dest.2,
            esm_class: flags[0],
            protocol_id: flags[1],
            priority_flag: flags[2],
            schedule_delivery_time: times.0,
            validity_period: times.1,
            registered_delivery: flags[3],
            replace_if_present_flag: flags[4],
            data_coding: flags[5],
            sm_default_msg_id: flags[6],
            short_message,
            tlvs,
        }
    }
}

fn bind_strategy() -> impl Strategy<Value = Bind> {
    (
        c_string(16),
        c_string(9),
        c_string(13),
        any::<[u8; 3]>(),
        c_string(41),
    )
        .prop_map(
            |(system_id, password, system_type, b, address_range)| Bind {
                system_id,
                password,
                system_type,
                interface_version: b[0],
                addr_ton: b[1],
                addr_npi: b[2],
                address_range,
            },
        )
}

fn message_resp_strategy() -> impl Strategy<Value = MessageResp> {
    (proptest::option::of(c_string(65)), tlvs_strategy()).prop_map(|(message_id, tlvs)| {
        MessageResp {
            // TLVs cannot follow an absent message_id.
            tlvs: if message_id.is_some() {
                tlvs
            } else {
                Tlvs::default()
            },
            message_id,
        }
    })
}

fn data_sm_strategy() -> impl Strategy<Value = DataSm> {
    (
        c_string(6),
        c_string(65),
        c_string(65),
        any::<[u8; 7]>(),
        tlvs_strategy(),
    )
        .prop_map(
            |(service_type, source_addr, destination_addr, b, tlvs)| DataSm {
                service_type,
                source_addr_ton: b[0],
                source_addr_npi: b[1],
                source_addr,
                dest_addr_ton: b[2],
                dest_addr_npi: b[3],
                destination_addr,
                esm_class: b[4],
                registered_delivery: b[5],
                data_coding: b[6],
                tlvs,
            },
        )
}

fn body_strategy() -> impl Strategy<Value = Body> {
    prop_oneof![
        bind_strategy().prop_map(Body::BindReceiver),
        bind_strategy().prop_map(Body::BindTransceiver),
        bind_strategy().prop_map(Body::BindTransmitter),
        c_string(16).prop_map(|id| Body::BindTransceiverResp(BindResp {
            system_id: Some(id),
            tlvs: Tlvs(vec![Tlv::new(tlv::tag::SC_INTERFACE_VERSION, vec![0x34])]),
        })),
        short_message().prop_map(Body::DeliverSm),
        short_message().prop_map(Body::SubmitSm),
        data_sm_strategy().prop_map(Body::DataSm),
        message_resp_strategy().prop_map(Body::DeliverSmResp),
        message_resp_strategy().prop_map(Body::SubmitSmResp),
        message_resp_strategy().prop_map(Body::DataSmResp),
        Just(Body::EnquireLink),
        Just(Body::EnquireLinkResp),
        Just(Body::Unbind),
        Just(Body::UnbindResp),
        Just(Body::GenericNack),
    ]
}

prop_compose! {
    fn pdu_strategy()(
        body in body_strategy(),
        command_status in prop_oneof![Just(0u32), any::<u32>()],
        sequence_number in any::<u32>(),
    ) -> Pdu {
        Pdu { command_status, sequence_number, body }
    }
}

/// Decode must return, never panic; an error's offset lies within the input.
fn decodes_or_errs(data: &[u8]) {
    if let Err(error) = decode(data) {
        assert!(error.offset <= data.len(), "{error} beyond {}", data.len());
        assert_ne!(error.command_status, ESME_ROK);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn pdus_round_trip(pdu in pdu_strategy()) {
        let bytes = encode(&pdu).unwrap();
        prop_assert_eq!(bytes.len() as u32, u32::from_be_bytes(bytes[..4].try_into().unwrap()));
        let decoded = decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &pdu);
        prop_assert_eq!(encode(&decoded).unwrap(), bytes);
    }

    #[test]
    fn every_truncation_is_an_error(pdu in pdu_strategy()) {
        let bytes = encode(&pdu).unwrap();
        for cut in 0..bytes.len() {
            let error = decode(&bytes[..cut]).unwrap_err();
            prop_assert!(error.offset <= cut);
            prop_assert_eq!(error.command_status, ESME_RINVCMDLEN);
        }
    }

    #[test]
    fn truncated_bodies_with_fixed_lengths_are_errors(pdu in pdu_strategy()) {
        // The header says the shorter length, so only the body is short.
        let bytes = encode(&pdu).unwrap();
        for cut in HEADER_LEN..bytes.len() {
            let mut short = bytes[..cut].to_vec();
            short[..4].copy_from_slice(&(cut as u32).to_be_bytes());
            decodes_or_errs(&short);
        }
    }

    #[test]
    fn stream_split_at_every_offset(pdus in proptest::collection::vec(pdu_strategy(), 1..4)) {
        let frames: Vec<Vec<u8>> = pdus.iter().map(|p| encode(p).unwrap()).collect();
        let stream = frames.concat();
        for split in 0..=stream.len() {
            let mut reader = FrameReader::default();
            let mut out = Vec::new();
            for piece in [&stream[..split], &stream[split..]] {
                reader.feed(piece);
                while let Some(frame) = reader.next_frame().unwrap() {
                    out.push(frame.to_vec());
                }
            }
            prop_assert_eq!(&out, &frames);
            prop_assert_eq!(reader.buffered(), 0);
        }
    }

    #[test]
    fn stream_fed_in_random_chunks(
        pdus in proptest::collection::vec(pdu_strategy(), 1..6),
        chunk in 1usize..40,
    ) {
        let frames: Vec<Vec<u8>> = pdus.iter().map(|p| encode(p).unwrap()).collect();
        let stream = frames.concat();
        let mut reader = FrameReader::default();
        let mut out = Vec::new();
        for piece in stream.chunks(chunk) {
            reader.feed(piece);
            while let Some(frame) = reader.next_frame().unwrap() {
                out.push(decode(frame).unwrap());
            }
        }
        prop_assert_eq!(out, pdus);
    }

    /// The fuzz target: arbitrary bytes, as a frame and as a stream.
    #[test]
    fn fuzz_arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        decodes_or_errs(&data);
        let mut reader = FrameReader::new(512);
        reader.feed(&data);
        let mut consumed = 0;
        loop {
            match reader.next_frame() {
                Ok(Some(frame)) => {
                    consumed += frame.len();
                    let frame = frame.to_vec();
                    decodes_or_errs(&frame);
                }
                Ok(None) => break,
                Err(error) => {
                    prop_assert_eq!(error.offset, consumed);
                    break;
                }
            }
        }
        let _ = parse_delivery_receipt(&data);
    }

    /// Mutations of valid PDUs reach deeper than random bytes: a body whose
    /// header is right and whose fields are nearly right.
    #[test]
    fn fuzz_mutated_pdus_never_panic(
        pdu in pdu_strategy(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = encode(&pdu).unwrap();
        for (at, value) in edits {
            let at = HEADER_LEN.min(bytes.len() - 1).max(at % bytes.len());
            bytes[at] = value;
        }
        if let Ok(decoded) = decode(&bytes) {
            // Whatever decodes re-encodes to the same bytes.
            prop_assert_eq!(encode(&decoded).unwrap(), bytes);
        } else {
            let error = decode(&bytes).unwrap_err();
            let response = encode(&error.response()).unwrap();
            prop_assert!(decode(&response).is_ok());
        }
    }

    #[test]
    fn vector_truncations_and_flips(cut in 0usize..256, flip in any::<(usize, u8)>()) {
        for hex in VECTORS {
            let bytes = unhex(hex);
            let _ = decode(&bytes[..cut.min(bytes.len())]);
            let mut flipped = bytes.clone();
            let at = flip.0 % flipped.len();
            flipped[at] ^= flip.1;
            decodes_or_errs(&flipped);
        }
    }
}
