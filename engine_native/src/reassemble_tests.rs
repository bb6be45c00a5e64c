//! Reassembly rules on parts built here; the public multipart vectors are in
//! `tests/vectors.rs`, the encode → decode → reassemble round trips in `encode_tests.rs`.

use super::*;
use crate::gsm7::ESC;
use crate::sms::{Concat, MessageKind};
use crate::tpdu::{decode_hex, SmscMode};

/// A decoded one-part DELIVER to copy fields from.
fn template() -> Sms {
    decode_hex(
        "040B911346610089F600002080629173140002C834",
        SmscMode::Absent,
        None,
    )
    .unwrap()
}

fn part(seq: u8, total: u8, dcs: u8, user_data: &[u8]) -> Sms {
    let mut sms = template();
    sms.dcs = crate::dcs::decode(dcs).0;
    sms.concat = Some(Concat {
        reference: 42,
        reference_bits: 8,
        total,
        seq,
    });
    sms.user_data = user_data.to_vec();
    sms.text = None;
    sms
}

fn gsm7(seq: u8, total: u8, text: &str) -> Sms {
    part(seq, total, 0x00, &crate::gsm7::encode(text, 0, 0).unwrap())
}

fn ucs2(seq: u8, total: u8, data: &[u8]) -> Sms {
    part(seq, total, 0x08, data)
}

fn join(parts: &[&Sms]) -> Reassembled {
    reassemble(parts).unwrap()
}

#[test]
fn any_order_and_duplicates_keep_the_first() {
    let (a, b, c) = (gsm7(1, 3, "one "), gsm7(2, 3, "two "), gsm7(3, 3, "three"));
    let b_again = gsm7(2, 3, "TWO ");
    let message = join(&[&c, &b, &a, &b_again, &c]);
    assert_eq!(message.text.as_deref(), Some("one two three"));
    assert_eq!((message.total, message.duplicates), (3, 2));
    assert_eq!(
        (message.present.as_slice(), message.missing.as_slice()),
        (&[1, 2, 3][..], &[][..])
    );
    assert!(message.is_complete());
    assert!(message.user_data.is_empty());
}

#[test]
fn gaps_insert_nothing_and_are_listed() {
    let (a, c) = (gsm7(1, 4, "one "), gsm7(3, 4, "three"));
    let message = join(&[&c, &a]);
    assert_eq!(message.text.as_deref(), Some("one three"));
    assert_eq!(
        (message.present.as_slice(), message.missing.as_slice()),
        (&[1, 3][..], &[2, 4][..])
    );
    assert!(!message.is_complete());
}

#[test]
fn a_dangling_escape_is_carried_into_the_next_part() {
    let a = part(1, 2, 0x00, &[0x41, ESC]);
    let b = part(2, 2, 0x00, &[0x65, 0x42]);
    let message = join(&[&b, &a]);
    assert_eq!(message.text.as_deref(), Some("A€B"));
    assert_eq!(message.flags & flags::TRAILING_ESCAPE, 0);
    // Each part alone shows the ESC as nothing (and flags part 1).
    let mut alone = String::new();
    let decoded = gsm7::decode_septets(&a.user_data, 0, 0, false, &mut alone).unwrap();
    assert!(decoded.trailing_escape);
    assert_eq!(alone, "A");
}

#[test]
fn a_dangling_escape_before_a_gap_or_a_ucs2_part_is_dropped_and_flagged() {
    let a = part(1, 3, 0x00, &[0x41, ESC]);
    let c = part(3, 3, 0x00, &[0x65]);
    let message = join(&[&a, &c]);
    assert_eq!(message.text.as_deref(), Some("Ae"));
    assert_ne!(message.flags & flags::TRAILING_ESCAPE, 0);
    let b = ucs2(2, 3, &[0x00, 0x42]);
    let message = join(&[&a, &b, &c]);
    assert_eq!(message.text.as_deref(), Some("ABe"));
    assert_ne!(message.flags & flags::TRAILING_ESCAPE, 0);
    // At the very end.
    let last = part(2, 2, 0x00, &[0x42, ESC]);
    let first = gsm7(1, 2, "A");
    let message = join(&[&first, &last]);
    assert_eq!(
        (message.text.as_deref(), message.flags),
        (Some("AB"), flags::TRAILING_ESCAPE)
    );
}

#[test]
fn each_gsm7_part_uses_its_own_tables() {
    let mut turkish = part(1, 2, 0x00, &[0x40]);
    turkish.locking_shift = 1;
    let default = part(2, 2, 0x00, &[0x40]);
    assert_eq!(join(&[&turkish, &default]).text.as_deref(), Some("İ¡"));
}

#[test]
fn ucs2_runs_join_bytes_so_a_split_surrogate_pair_survives() {
    // U+1F631 = D83D DE31, cut after the high surrogate.
    let a = ucs2(1, 2, &[0x00, 0x41, 0xD8, 0x3D]);
    let b = ucs2(2, 2, &[0xDE, 0x31, 0x00, 0x42]);
    let message = join(&[&b, &a]);
    assert_eq!(
        (message.text.as_deref(), message.flags),
        (Some("A\u{1F631}B"), 0)
    );
    // With a gap between the halves, each half is a lone surrogate.
    let c = ucs2(3, 3, &[0xDE, 0x31]);
    let a3 = ucs2(1, 3, &[0x00, 0x41, 0xD8, 0x3D]);
    let message = join(&[&a3, &c]);
    assert_eq!(message.text.as_deref(), Some("A\u{FFFD}\u{FFFD}"));
    assert_eq!(message.flags, flags::UCS2_LONE_SURROGATE);
}

#[test]
fn an_odd_ucs2_part_contributes_whole_code_units() {
    let a = ucs2(1, 2, &[0x00, 0x41, 0x00]);
    let b = ucs2(2, 2, &[0x00, 0x42]);
    let message = join(&[&a, &b]);
    assert_eq!(
        (message.text.as_deref(), message.flags),
        (Some("AB"), flags::UCS2_ODD_LENGTH)
    );
}

#[test]
fn mixed_gsm7_and_ucs2_parts() {
    let a = gsm7(1, 3, "Price: ");
    let b = ucs2(2, 3, &crate::ucs2::encode("١٢٣ ₹"));
    let c = gsm7(3, 3, " {ok}");
    let message = join(&[&c, &a, &b]);
    assert_eq!(message.text.as_deref(), Some("Price: ١٢٣ ₹ {ok}"));
}

#[test]
fn a_binary_part_makes_the_message_binary() {
    let a = part(1, 2, 0xF5, &[1, 2, 3]);
    let b = part(2, 2, 0xF5, &[4, 5]);
    let message = join(&[&b, &a]);
    assert_eq!(
        (message.text, message.user_data.as_slice()),
        (None, &[1, 2, 3, 4, 5][..])
    );
    let compressed = part(2, 2, 0x20, &[9]);
    let message = join(&[&gsm7(1, 2, "x"), &compressed]);
    assert_eq!(message.text, None);
}

#[test]
fn non_text_flags_of_the_parts_are_kept() {
    let mut a = gsm7(1, 2, "A");
    a.flags = flags::INVALID_TIMESTAMP | flags::TRAILING_ESCAPE;
    let b = gsm7(2, 2, "B");
    let message = join(&[&a, &b]);
    assert_eq!(
        message.flags,
        flags::INVALID_TIMESTAMP,
        "text flags are recomputed"
    );
}

#[test]
fn a_lone_part_without_concatenation_is_a_one_part_message() {
    let single = template();
    let message = join(&[&single]);
    assert_eq!(message.text.as_deref(), Some("Hi"));
    assert_eq!(
        (
            message.total,
            message.present.as_slice(),
            message.duplicates
        ),
        (1, &[1u8][..], 0)
    );
}

#[test]
fn errors_name_the_offending_part() {
    let check = |parts: &[&Sms], index: usize| {
        let err = reassemble(parts).unwrap_err();
        assert_eq!(
            (err.kind, err.offset),
            (ErrorKind::Reassembly, index),
            "{err}"
        );
    };
    check(&[], 0);
    let a = gsm7(1, 2, "A");
    let single = template();
    check(&[&a, &single], 1);
    check(&[&single, &a], 0);
    check(&[&single, &single], 0);
    let mut other = gsm7(2, 2, "B");
    other.address.value = "+31641600987".to_string();
    check(&[&a, &a, &other], 2);
    let mut other = gsm7(2, 2, "B");
    other.address.ton = 2;
    check(&[&a, &other], 1);
    let mut other = gsm7(2, 2, "B");
    other.kind = MessageKind::Submit;
    check(&[&a, &other], 1);
    for change in [
        |c: &mut Concat| c.reference = 43,
        |c: &mut Concat| c.reference_bits = 16,
        |c: &mut Concat| c.total = 3,
    ] {
        let mut other = gsm7(2, 2, "B");
        change(other.concat.as_mut().unwrap());
        check(&[&a, &other], 1);
    }
    // Sequence numbers out of range (not from the decoder, which drops such elements).
    check(&[&gsm7(3, 2, "C")], 0);
    check(&[&a, &gsm7(0, 2, "C")], 1);
    // User data that is not septets in a GSM 7-bit part.
    let bad = part(2, 2, 0x00, &[0x80]);
    check(&[&a, &bad], 1);
}
