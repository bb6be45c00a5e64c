//! The decoding pitfalls of the reference notes (§1.1–1.8, checklist §1.10),
//! one test or more each, on small PDUs built here. The public vectors are
//! in `tests/vectors.rs`.

use super::*;
use crate::error::ErrorKind;
use crate::gsm7::ESC;
use crate::hex::encode as to_hex;

/// +31641600986 (TOA 0x91).
const OA: &str = "0B911346610089F6";
/// 2002-08-26 19:37:41 +00:00.
const TS: &str = "20806291731400";
/// Offset of TP-UDL in a bare DELIVER built by [`deliver`].
const UDL_AT: usize = 18;

/// A bare DELIVER TPDU; `ud` starts with the UDL octet.
fn deliver(first_octet: u8, dcs: u8, ud: &str) -> String {
    format!("{first_octet:02X}{OA}00{dcs:02X}{TS}{ud}")
}

/// UDL and packed septets of a GSM 7-bit user data without header.
fn gsm7_ud(septets: &[u8]) -> String {
    format!("{:02X}{}", septets.len(), to_hex(&gsm7::pack(septets, 0)))
}

/// UDL and user data of a GSM 7-bit message with a header (`header` = UDHL and elements).
fn gsm7_ud_with_header(header: &str, septets: &[u8]) -> String {
    let header_octets = header.len() / 2;
    let fill = (7 - header_octets * 8 % 7) % 7;
    let header_septets = (header_octets * 8 + fill) / 7;
    format!(
        "{:02X}{header}{}",
        header_septets + septets.len(),
        to_hex(&gsm7::pack(septets, fill as u8))
    )
}

fn septets(text: &str) -> Vec<u8> {
    gsm7::encode(text, 0, 0).unwrap()
}

fn ok(hex_text: &str) -> Sms {
    decode_hex(hex_text, SmscMode::Absent, None).unwrap_or_else(|err| panic!("{hex_text}: {err}"))
}

fn err(hex_text: &str) -> (ErrorKind, usize) {
    let err = decode_hex(hex_text, SmscMode::Absent, None).unwrap_err();
    (err.kind, err.offset)
}

#[test]
fn deliver_fields_and_first_octet_flags() {
    let sms = ok(&deliver(0xA8, 0x00, &gsm7_ud(&septets("Hi"))));
    assert_eq!(sms.kind, MessageKind::Deliver);
    assert_eq!(sms.first_octet, 0xA8);
    // TP-MMS is inverted: bit 2 clear means more messages are waiting.
    assert!(sms.more_messages && sms.loop_prevention && sms.status_report && sms.reply_path);
    assert_eq!(sms.address.value, "+31641600986");
    assert_eq!(sms.text.as_deref(), Some("Hi"));
    assert_eq!((sms.udl, sms.user_data.as_slice()), (2, &septets("Hi")[..]));
    assert_eq!(sms.message_reference, None);
    assert_eq!(sms.flags, 0);
    let sms = ok(&deliver(0x04, 0x00, "00"));
    assert!(!sms.more_messages && !sms.loop_prevention && !sms.status_report && !sms.reply_path);
    assert_eq!(sms.text.as_deref(), Some(""));
}

#[test]
fn at_sign_is_septet_zero_not_a_terminator() {
    // Pitfall 1: '@' is 0x00; eight of them pack into seven zero octets.
    let sms = ok(&deliver(0x04, 0x00, "0800000000000000"));
    assert_eq!(sms.text.as_deref(), Some("@@@@@@@@"));
    let sms = ok(&deliver(0x04, 0x00, "0300000000"));
    assert_eq!(sms.text.as_deref(), Some("@@@"));
    assert_eq!(
        sms.flags,
        flags::TRAILING_DATA,
        "the fourth octet is beyond UDL"
    );
}

#[test]
fn udl_counts_septets_for_gsm7_and_decodes_exactly_that_many() {
    // Pitfall 5/8: seven septets leave 7 spare bits that carry CR (padding);
    // UDL is authoritative, so the CR is not text.
    let mut padded = septets("1234567");
    padded.push(0x0D);
    let sms = ok(&deliver(
        0x04,
        0x00,
        &format!("07{}", to_hex(&gsm7::pack(&padded, 0))),
    ));
    assert_eq!(sms.text.as_deref(), Some("1234567"));
    assert_eq!(sms.flags, 0);
    // A genuine trailing CR counted by UDL is text.
    let sms = ok(&deliver(0x04, 0x00, &gsm7_ud(&padded)));
    assert_eq!(sms.text.as_deref(), Some("1234567\r"));
}

#[test]
fn trailing_octets_are_ignored_and_flagged() {
    let pdu = deliver(0x04, 0x00, &format!("{}C0FFEE", gsm7_ud(&septets("Hi"))));
    let sms = ok(&pdu);
    assert_eq!(sms.text.as_deref(), Some("Hi"));
    assert_eq!(sms.flags, flags::TRAILING_DATA);
    let pdu = deliver(0x04, 0x08, "0400480069FFFF");
    let sms = ok(&pdu);
    assert_eq!(
        (sms.text.as_deref(), sms.flags),
        (Some("Hi"), flags::TRAILING_DATA)
    );
}

#[test]
fn short_user_data_is_an_error_where_the_data_runs_out() {
    // UDL 11 septets need 10 octets; 9 present (mm_bad_insufficient_data).
    let pdu = deliver(0x04, 0x00, "0BE8329BFD4697D9EC37");
    assert_eq!(err(&pdu), (ErrorKind::Pdu, pdu.len() / 2));
    // UCS-2: UDL counts octets.
    let pdu = deliver(0x04, 0x08, "0600480069");
    assert_eq!(err(&pdu), (ErrorKind::Pdu, UDL_AT + 5));
    // No UDL at all.
    let pdu = deliver(0x04, 0x00, "");
    assert_eq!(err(&pdu), (ErrorKind::Pdu, UDL_AT));
}

#[test]
fn every_truncation_of_a_pdu_is_an_error_at_its_end() {
    let ud = gsm7_ud_with_header("050003070201", &septets("Hello"));
    let full = crate::hex::decode(&deliver(0x44, 0x00, &ud)).unwrap();
    assert!(decode(&full, SmscMode::Absent, None).is_ok());
    for cut in 0..full.len() {
        let err = decode(&full[..cut], SmscMode::Absent, None).unwrap_err();
        assert_eq!(
            (err.kind, err.offset),
            (ErrorKind::Pdu, cut),
            "cut at {cut}: {err}"
        );
    }
}

#[test]
fn fill_bits_follow_the_header_length() {
    // Pitfall 6. UDHL 5 (8-bit concat): 6 octets = 48 bits -> 1 fill bit, 7 header septets.
    let text = septets("Hello");
    let ud = format!("0500030702 01{}", to_hex(&gsm7::pack(&text, 1))).replace(' ', "");
    let sms = ok(&deliver(0x44, 0x00, &format!("{:02X}{ud}", 7 + text.len())));
    assert_eq!(sms.text.as_deref(), Some("Hello"));
    assert_eq!(
        sms.concat.map(|c| (c.reference, c.total, c.seq)),
        Some((7, 2, 1))
    );
    // UDHL 6 (16-bit concat): 7 octets = 56 bits -> 0 fill bits, 8 header septets.
    let ud = format!("060804123402 01{}", to_hex(&gsm7::pack(&text, 0))).replace(' ', "");
    let sms = ok(&deliver(0x44, 0x00, &format!("{:02X}{ud}", 8 + text.len())));
    assert_eq!(
        sms.text.as_deref(),
        Some("Hello"),
        "the first character survives a fill of 0"
    );
    assert_eq!(
        sms.concat.map(|c| (c.reference, c.reference_bits)),
        Some((0x1234, 16))
    );
    // UDHL 0x14 (EMS): 21 octets = 168 bits -> 0 fill bits, 24 header septets.
    let header = format!("14{}", "0A03000410".repeat(4));
    let ud = format!("{header}{}", to_hex(&gsm7::pack(&text, 0)));
    let sms = ok(&deliver(
        0x44,
        0x00,
        &format!("{:02X}{ud}", 24 + text.len()),
    ));
    assert_eq!(sms.text.as_deref(), Some("Hello"));
    assert_eq!(sms.udh.len(), 4);
}

#[test]
fn header_errors() {
    // UDHL overruns the user data (UDL 3 octets, UDHL 5): offset of the UDHL octet.
    let pdu = deliver(0x44, 0x04, "03050003");
    assert_eq!(err(&pdu), (ErrorKind::Pdu, UDL_AT + 1));
    // An element overruns UDHL (concat element of 3 inside a header of 4).
    let pdu = deliver(0x44, 0x04, "050400030702FF");
    assert_eq!(err(&pdu), (ErrorKind::Pdu, UDL_AT + 2));
    // UDHI with UDL 0 (mm_bad_udh).
    let pdu = deliver(0x44, 0x00, "00");
    assert_eq!(err(&pdu), (ErrorKind::Pdu, UDL_AT + 1));
    // A header longer than UDL in septets: UDL 7 (7 octets), UDHL 6 = 8 septets.
    let pdu = deliver(0x44, 0x00, "0706080412340201");
    assert_eq!(err(&pdu), (ErrorKind::Pdu, UDL_AT + 1));
    // The same header with UDL 8: a header-only message.
    let sms = ok(&deliver(0x44, 0x00, "0806080412340201"));
    assert_eq!(sms.text.as_deref(), Some(""));
}

#[test]
fn invalid_concatenation_is_ignored_and_flagged() {
    let sms = ok(&deliver(0x44, 0x04, "07050003070203FF"));
    assert_eq!(sms.concat, None);
    assert_eq!(sms.flags, flags::INVALID_CONCAT);
    assert_eq!(sms.udh.len(), 1);
    assert_eq!(sms.user_data, [0xFF]);
}

#[test]
fn application_ports_and_8bit_data() {
    let sms = ok(&deliver(0x44, 0xF5, "0A0605040B8423F0C0FFEE"));
    assert_eq!(sms.ports, Some((2948, 9200)));
    assert_eq!(sms.dcs.alphabet, Alphabet::EightBit);
    assert_eq!(
        (sms.text, sms.user_data.as_slice()),
        (None, &[0xC0, 0xFF, 0xEE][..])
    );
}

#[test]
fn escapes_and_a_dangling_escape() {
    // Pitfall 7: ESC + code with no extension character shows the base character;
    // ESC ESC shows a space; a final ESC shows nothing and is flagged.
    let sms = ok(&deliver(
        0x04,
        0x00,
        &gsm7_ud(&[ESC, 0x65, ESC, 0x41, ESC, ESC, 0x42, ESC]),
    ));
    assert_eq!(sms.text.as_deref(), Some("€A B"));
    assert_eq!(sms.flags, flags::TRAILING_ESCAPE);
    assert_eq!(
        sms.user_data.last(),
        Some(&ESC),
        "user_data keeps the septets"
    );
}

#[test]
fn national_language_shifts_and_unknown_nli() {
    // Pitfall 13: Turkish single shift (IEI 0x24, NLI 1): ESC 0x47 is 'Ğ'.
    // UDHL 3: 4 octets = 32 bits, so 3 fill bits and 5 header septets.
    let sms = ok(&deliver(
        0x44,
        0x00,
        &gsm7_ud_with_header("03240101", &[ESC, 0x47]),
    ));
    assert_eq!((sms.single_shift, sms.locking_shift), (1, 0));
    assert_eq!(sms.text.as_deref(), Some("Ğ"));
    // Turkish locking shift: 0x40 is 'İ' instead of '¡'.
    let sms = ok(&deliver(
        0x44,
        0x00,
        &gsm7_ud_with_header("03250101", &[0x40]),
    ));
    assert_eq!(sms.text.as_deref(), Some("İ"));
    // An unknown NLI (99) falls back to the default tables: ESC 0x65 is '€'.
    let ud = gsm7_ud_with_header("06240163250163", &[ESC, 0x65, 0x40]);
    let sms = ok(&deliver(0x44, 0x00, &ud));
    assert_eq!((sms.single_shift, sms.locking_shift), (99, 99));
    assert_eq!(sms.text.as_deref(), Some("€¡"));
}

#[test]
fn ucs2_pairs_odd_length_and_lone_surrogates() {
    // Pitfall 9: surrogate pairs join; odd length and lone surrogates are flagged.
    let sms = ok(&deliver(0x04, 0x08, "06D83DDD100041"));
    assert_eq!((sms.text.as_deref(), sms.flags), (Some("\u{1F510}A"), 0));
    let sms = ok(&deliver(0x04, 0x08, "03004100"));
    assert_eq!(
        (sms.text.as_deref(), sms.flags),
        (Some("A"), flags::UCS2_ODD_LENGTH)
    );
    assert_eq!(sms.user_data, [0x00, 0x41, 0x00]);
    let sms = ok(&deliver(0x04, 0x08, "02D83D"));
    assert_eq!(
        (sms.text.as_deref(), sms.flags),
        (Some("\u{FFFD}"), flags::UCS2_LONE_SURROGATE)
    );
}

#[test]
fn dcs_groups_decide_the_alphabet() {
    // Pitfall 10: MWI discard 0xC8 is GSM 7-bit; MWI store 0xE0 is UCS-2.
    let sms = ok(&deliver(0x04, 0xC8, &gsm7_ud(&septets("VM"))));
    assert_eq!(sms.text.as_deref(), Some("VM"));
    assert!(sms.dcs.mwi.is_some_and(|m| m.active && !m.store));
    let sms = ok(&deliver(0x04, 0xE0, "040056004D"));
    assert_eq!(sms.dcs.alphabet, Alphabet::Ucs2);
    assert_eq!(sms.text.as_deref(), Some("VM"));
    // 1111 with bit 2 clear: GSM 7-bit class 1.
    let sms = ok(&deliver(0x04, 0xF1, &gsm7_ud(&septets("Hi"))));
    assert_eq!(
        (sms.text.as_deref(), sms.dcs.message_class),
        (Some("Hi"), Some(1))
    );
    // Reserved: read as GSM 7-bit and flagged.
    for dcs in [0x0C, 0x84] {
        let sms = ok(&deliver(0x04, dcs, &gsm7_ud(&septets("Hi"))));
        assert_eq!(
            (sms.text.as_deref(), sms.flags),
            (Some("Hi"), flags::RESERVED_DCS)
        );
    }
    // Compressed (TS 23.042): UDL counts octets, the payload is opaque.
    let sms = ok(&deliver(0x04, 0x20, "03C0FFEE"));
    assert!(sms.dcs.compressed);
    assert_eq!(
        (sms.text, sms.user_data.as_slice(), sms.udl),
        (None, &[0xC0, 0xFF, 0xEE][..], 3)
    );
    let sms = ok(&deliver(0x04, 0x28, "02C0FF"));
    assert_eq!(sms.text, None);
}

#[test]
fn reserved_message_type_is_an_error() {
    let pdu = deliver(0x07, 0x00, "00");
    assert_eq!(err(&pdu), (ErrorKind::Pdu, 0));
    let err = decode_hex(&format!("00{pdu}"), SmscMode::Present, None).unwrap_err();
    assert_eq!((err.kind, err.offset), (ErrorKind::Pdu, 1));
}

#[test]
fn stored_submit_with_each_validity_period_format() {
    // Pitfall 11: MTI 01 from storage is an SMS-SUBMIT. FO, MR, DA, PID, DCS, [VP], UDL, UD.
    let ud = gsm7_ud(&septets("Hi"));
    let submit = |first_octet: u8, vp: &str| format!("{first_octet:02X}2A{OA}0000{vp}{ud}");
    let sms = ok(&submit(0x01, ""));
    assert_eq!(sms.kind, MessageKind::Submit);
    assert_eq!(
        (sms.message_reference, sms.validity_period),
        (Some(0x2A), None)
    );
    assert_eq!(sms.text.as_deref(), Some("Hi"));
    assert_eq!(sms.scts, None);
    for (vp, minutes) in [
        ("00", 5),
        ("8F", 720),
        ("90", 750),
        ("A7", 1440),
        ("A8", 2880),
        ("C4", 30 * 1440),
        ("C5", 5 * 10080),
        ("FF", 63 * 10080),
    ] {
        let sms = ok(&submit(0x11, vp));
        assert_eq!(
            sms.validity_period,
            Some(ValidityPeriod::RelativeMinutes(minutes)),
            "{vp}"
        );
    }
    let sms = ok(&submit(0x19, TS));
    assert_eq!(
        sms.validity_period,
        Some(ValidityPeriod::Absolute(sms_ts()))
    );
    let sms = ok(&submit(0x19, "FF806291731400"));
    assert_eq!(
        (sms.validity_period, sms.flags),
        (None, flags::INVALID_TIMESTAMP)
    );
    let sms = ok(&submit(0x09, "01020304050607"));
    assert_eq!(
        sms.validity_period,
        Some(ValidityPeriod::Enhanced([1, 2, 3, 4, 5, 6, 7]))
    );
    // TP-RD, TP-SRR, TP-RP.
    let sms = ok(&submit(0xA5, ""));
    assert!(sms.reject_duplicates && sms.status_report && sms.reply_path && !sms.more_messages);
}

fn sms_ts() -> Timestamp {
    Timestamp {
        year: 2002,
        month: 8,
        day: 26,
        hour: 19,
        minute: 37,
        second: 41,
        offset_minutes: 0,
    }
}

#[test]
fn invalid_timestamps_are_none_and_flagged() {
    // Pitfall 12.
    let pdu = format!("04{OA}0000FFFFFFFFFFFFFF{}", gsm7_ud(&septets("Hi")));
    let sms = ok(&pdu);
    assert_eq!((sms.scts, sms.flags), (None, flags::INVALID_TIMESTAMP));
    assert_eq!(sms.text.as_deref(), Some("Hi"));
    let pdu = format!("04{OA}000089022901000000{}", gsm7_ud(&septets("Hi")));
    assert_eq!(ok(&pdu).scts, None, "2098-02-29 does not exist");
}

#[test]
fn status_report_with_and_without_parameter_indicator() {
    // FO 06, MR 05, RA, SCTS, DT, ST 00.
    let base = format!("0605{OA}{TS}{TS}00");
    let sms = ok(&base);
    assert_eq!(sms.kind, MessageKind::StatusReport);
    assert_eq!((sms.message_reference, sms.status), (Some(5), Some(0)));
    assert_eq!(
        (sms.scts, sms.discharge_time),
        (Some(sms_ts()), Some(sms_ts()))
    );
    assert_eq!((sms.text, sms.udl, sms.pid, sms.dcs.raw), (None, 0, 0, 0));
    assert!(!sms.more_messages);
    // TP-PI 07: PID, DCS and UDL follow.
    let sms = ok(&format!("{base}073F00{}", gsm7_ud(&septets("Done"))));
    assert_eq!((sms.pid, sms.text.as_deref()), (0x3F, Some("Done")));
    // TP-PI 04 only: GSM 7-bit by default.
    let sms = ok(&format!("{base}04{}", gsm7_ud(&septets("Done"))));
    assert_eq!(sms.text.as_deref(), Some("Done"));
    // TP-PI with its extension bit: the extension octet is skipped.
    let sms = ok(&format!("{base}8600 08 0400480069").replace(' ', ""));
    assert_eq!(sms.text.as_deref(), Some("Hi"));
    // TP-PI 00 and nothing else; then TP-PI announcing a missing DCS.
    assert_eq!(ok(&format!("{base}00")).flags, 0);
    let pdu = format!("{base}02");
    assert_eq!(err(&pdu), (ErrorKind::Pdu, pdu.len() / 2));
    // SRQ (bit 5) and a UDH in the status report's user data.
    let sms = ok(&format!("2605{OA}{TS}{TS}0004{}", gsm7_ud(&septets("X"))));
    assert!(sms.status_report);
    let sms = ok(&format!("4605{OA}{TS}{TS}0006080805000307020100 41").replace(' ', ""));
    assert_eq!(sms.concat.map(|c| c.seq), Some(1));
    assert_eq!(sms.text.as_deref(), Some("A"));
}

#[test]
fn type_of_address_without_extension_bit_is_flagged() {
    let pdu = format!("040B111346610089F60000{TS}{}", gsm7_ud(&septets("Hi")));
    let sms = ok(&pdu);
    assert_eq!(sms.flags, flags::TOA_WITHOUT_EXTENSION_BIT);
    assert_eq!(
        (sms.address.ton, sms.address.value.as_str()),
        (1, "+31641600986")
    );
}

#[test]
fn smsc_block_forms_and_the_cmt_length() {
    let tpdu = deliver(0x04, 0x00, &gsm7_ud(&septets("Hi")));
    let length = tpdu.len() / 2;
    let with_smsc = format!("07911326040000F0{tpdu}");
    for (input, mode) in [
        (&tpdu, SmscMode::Absent),
        (&with_smsc, SmscMode::Present),
        (&with_smsc, SmscMode::Auto),
        (&tpdu, SmscMode::Auto),
    ] {
        let sms = decode_hex(input, mode, Some(length)).unwrap();
        assert_eq!(sms.text.as_deref(), Some("Hi"));
        assert_eq!(sms.smsc.is_some(), input == &with_smsc);
        assert_eq!(decode_hex(input, mode, None).unwrap(), sms);
    }
    // A length that matches neither form.
    let err = decode_hex(&with_smsc, SmscMode::Auto, Some(length - 1)).unwrap_err();
    assert_eq!((err.kind, err.offset), (ErrorKind::Pdu, length + 7));
    let err = decode_hex(&tpdu, SmscMode::Present, Some(length)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Pdu);
    let err = decode_hex(&with_smsc, SmscMode::Absent, Some(length)).unwrap_err();
    assert_eq!((err.kind, err.offset), (ErrorKind::Pdu, length));
    // An SMSC block that announces more than 11 octets cannot be one.
    let err = decode_hex(&format!("0C{tpdu}"), SmscMode::Present, None).unwrap_err();
    assert_eq!((err.kind, err.offset), (ErrorKind::Pdu, 0));
    // Empty input.
    assert_eq!(decode(&[], SmscMode::Auto, None).unwrap_err().offset, 0);
}

#[test]
fn leading_00_is_an_empty_smsc_block_or_a_deliver_first_octet() {
    // A bare DELIVER with first octet 00 (more messages waiting, no flags).
    let bare = deliver(0x00, 0x00, &gsm7_ud(&septets("Hi")));
    let sms = decode_hex(&bare, SmscMode::Auto, None).unwrap();
    assert_eq!((sms.smsc.as_ref(), sms.text.as_deref()), (None, Some("Hi")));
    assert_eq!(sms.first_octet, 0x00);
    // The same TPDU after an empty SMSC block.
    let sms2 = decode_hex(&format!("00{bare}"), SmscMode::Auto, None).unwrap();
    assert_eq!(sms2, sms);
    // A DELIVER whose first octet is 04 after 00 reads as SMSC 00 + FO 04.
    let pdu = format!("00{}", deliver(0x04, 0x00, &gsm7_ud(&septets("Hi"))));
    let sms = decode_hex(&pdu, SmscMode::Auto, None).unwrap();
    assert_eq!((sms.first_octet, sms.text.as_deref()), (0x04, Some("Hi")));
}

#[test]
fn auto_prefers_the_reading_that_ends_with_the_data() {
    // A STATUS-REPORT after an empty SMSC block also parses as a DELIVER
    // (FO 00, OA length 6, TOA 05...) that leaves octets over: the SMSC reading wins.
    let pdu = "00060505810531F1010150610000400101506100004000";
    let sms = decode_hex(pdu, SmscMode::Auto, None).unwrap();
    assert_eq!(sms.kind, MessageKind::StatusReport);
    let deliver = decode_hex(pdu, SmscMode::Absent, None).unwrap();
    assert_eq!(deliver.kind, MessageKind::Deliver);
    assert_ne!(deliver.flags & flags::TRAILING_DATA, 0);
}

#[test]
fn hex_errors_keep_their_kind_and_character_offset() {
    let err = decode_hex("0791x3", SmscMode::Auto, None).unwrap_err();
    assert_eq!((err.kind, err.offset), (ErrorKind::Hex, 4));
    let err = decode_hex("079", SmscMode::Auto, None).unwrap_err();
    assert_eq!((err.kind, err.offset), (ErrorKind::Hex, 3));
    // Lower case and a trailing CR LF from the modem line are fine.
    let tpdu = deliver(0x04, 0x00, &gsm7_ud(&septets("Hi"))).to_lowercase();
    assert!(decode_hex(&format!("{tpdu}\r\n"), SmscMode::Absent, None).is_ok());
}

#[test]
fn alphanumeric_sender_with_escape() {
    let mut oa = Vec::new();
    address::encode_tp("[Bank]", &mut oa).unwrap();
    let pdu = format!("04{}0000{TS}{}", to_hex(&oa), gsm7_ud(&septets("Hi")));
    let sms = ok(&pdu);
    assert_eq!((sms.address.value.as_str(), sms.address.ton), ("[Bank]", 5));
}

mod never_panics {
    //! Pitfall 15: no input can panic the decoder; errors point inside the input.

    use super::*;
    use proptest::prelude::*;

    fn modes() -> impl Strategy<Value = SmscMode> {
        prop_oneof![
            Just(SmscMode::Auto),
            Just(SmscMode::Present),
            Just(SmscMode::Absent)
        ]
    }

    fn check(data: &[u8], mode: SmscMode, length: Option<usize>) -> Result<(), TestCaseError> {
        match decode(data, mode, length) {
            Ok(sms) => {
                prop_assert!(sms.user_data.len() <= usize::from(sms.udl));
                if let Some(text) = &sms.text {
                    prop_assert!(text.len() <= 4 * data.len());
                }
            }
            Err(err) => {
                prop_assert_eq!(err.kind, ErrorKind::Pdu);
                prop_assert!(err.offset <= data.len(), "{err} for {} octets", data.len());
            }
        }
        Ok(())
    }

    /// Valid PDUs of every kind to mutate.
    fn seeds() -> Vec<Vec<u8>> {
        [
            "07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07",
            "07919730071111F1400B919746121611F10000811170021222230E06080412340201C8329BFD6601",
            "07914140279510F6440A8111110301003BF56080207130238A3B0B05040B8423F000032A0202362E3130322E3137312E3135302F524E453955304A6D713551414142666C414141414D774141423651414141414100",
            "0791538375000075061805810531F1019082416500400190824165004000",
            "0791361907001003B17A0C913619397750320000AD11CD701E340FB3C3F23CC81D0689C3BF",
            "07914477790706F5440C9144770009103200084250719003614010050003A70202DE31D83DDE31D83DDE31",
        ]
        .iter()
        .map(|h| crate::hex::decode(h).unwrap())
        .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn random_bytes(
            data in proptest::collection::vec(any::<u8>(), 0..200),
            mode in modes(),
            length in proptest::option::of(0usize..220),
        ) {
            check(&data, mode, length)?;
            check(&data, mode, None)?;
        }

        #[test]
        fn mutated_valid_pdus(
            seed in 0usize..6,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
            mode in modes(),
        ) {
            let mut data = seeds()[seed].clone();
            for (at, value) in &edits {
                let i = at.index(data.len());
                data[i] = *value;
            }
            check(&data, mode, None)?;
            let cut = cut.index(data.len() + 1);
            check(&data[..cut], mode, None)?;
            check(&data[..cut], mode, Some(cut))?;
        }

        #[test]
        fn random_text(text in "[0-9A-Fa-f \r\nxé]{0,120}", mode in modes()) {
            match decode_hex(&text, mode, None) {
                Ok(_) => {}
                Err(err) => {
                    prop_assert!(matches!(err.kind, ErrorKind::Hex | ErrorKind::Pdu));
                    if err.kind == ErrorKind::Hex {
                        prop_assert!(err.offset <= text.chars().count());
                    }
                }
            }
        }
    }
}
