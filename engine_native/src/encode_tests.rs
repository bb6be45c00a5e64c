//! The DELIVER encoder, and the round trips encode → decode → reassemble.

use super::*;
use crate::reassemble::reassemble;
use crate::sms::{flags, Alphabet, Sms};
use crate::tpdu::{decode, SmscMode};
use proptest::prelude::*;

fn scts() -> Timestamp {
    Timestamp {
        year: 2024,
        month: 5,
        day: 17,
        hour: 9,
        minute: 30,
        second: 15,
        offset_minutes: 60,
    }
}

fn encode(text: &str, options: &DeliverOptions) -> Vec<Sms> {
    encode_deliver(text, "+31641600986", scts(), 42, options)
        .unwrap()
        .iter()
        .map(|pdu| decode(pdu, SmscMode::Auto, None).unwrap())
        .collect()
}

fn joined(parts: &[Sms]) -> String {
    let refs: Vec<&Sms> = parts.iter().collect();
    reassemble(&refs).unwrap().text.unwrap()
}

#[test]
fn one_gsm7_part() {
    let pdus = encode_deliver(
        "Hello, {world}!",
        "+31641600986",
        scts(),
        0,
        &DeliverOptions::default(),
    )
    .unwrap();
    assert_eq!(pdus.len(), 1);
    let sms = decode(&pdus[0], SmscMode::Absent, None).unwrap();
    assert_eq!(sms.text.as_deref(), Some("Hello, {world}!"));
    assert_eq!((sms.first_octet, sms.dcs.raw, sms.pid), (0x04, 0x00, 0));
    assert_eq!(
        (sms.address.value.as_str(), sms.scts),
        ("+31641600986", Some(scts()))
    );
    assert_eq!((sms.concat, sms.udh.len(), sms.smsc), (None, 0, None));
    assert_eq!(sms.flags, 0);
}

#[test]
fn matches_a_public_vector_byte_for_byte() {
    // gm_test2 (faucamp/python-gsmmodem test/test_pdu.py): SMSC +2782913593,
    // sender +27821234567, 2013-03-08 15:02:16 +02:00, "Test2".
    let ts = Timestamp {
        year: 2013,
        month: 3,
        day: 8,
        hour: 15,
        minute: 2,
        second: 16,
        offset_minutes: 120,
    };
    let options = DeliverOptions {
        smsc: Some("+2782913593".to_string()),
        ..DeliverOptions::default()
    };
    let pdus = encode_deliver("Test2", "+27821234567", ts, 0, &options).unwrap();
    assert_eq!(
        crate::hex::encode(&pdus[0]),
        "06917228195339040B917228214365F700003130805120618005D4F29C2E03"
    );
}

#[test]
fn gsm7_splits_at_160_153_and_152() {
    let text = "x".repeat(160);
    assert_eq!(encode(&text, &DeliverOptions::default()).len(), 1);
    let text = "x".repeat(161);
    let parts = encode(&text, &DeliverOptions::default());
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].user_data.len(), 153);
    assert_eq!(
        parts[0]
            .concat
            .map(|c| (c.reference, c.reference_bits, c.total, c.seq)),
        Some((42, 8, 2, 1))
    );
    assert_eq!((parts[0].first_octet, parts[1].first_octet), (0x40, 0x44));
    assert_eq!(joined(&parts), text);
    let options = DeliverOptions {
        reference_16bit: true,
        ..DeliverOptions::default()
    };
    let parts = encode(&text, &options);
    assert_eq!(parts[0].user_data.len(), 152);
    assert_eq!(parts[0].concat.map(|c| c.reference_bits), Some(16));
    let pdus = encode_deliver(&text, "Bank", scts(), 300, &DeliverOptions::default()).unwrap();
    let sms = decode(&pdus[1], SmscMode::Absent, None).unwrap();
    assert_eq!(
        sms.concat.map(|c| (c.reference, c.reference_bits)),
        Some((300, 16))
    );
}

#[test]
fn an_escape_pair_is_never_split() {
    // 152 septets then '€' (ESC 0x65): the pair would straddle the 153-septet boundary.
    let text = format!("{}€ and a tail", "x".repeat(152));
    let parts = encode(&text, &DeliverOptions::default());
    assert_eq!(parts[0].user_data.len(), 152);
    assert_eq!(parts[1].text.as_deref(), Some("€ and a tail"));
    assert!(parts.iter().all(|p| p.flags & flags::TRAILING_ESCAPE == 0));
    assert_eq!(joined(&parts), text);
}

#[test]
fn ucs2_splits_at_70_and_67_without_cutting_a_surrogate_pair() {
    let text = "ж".repeat(70);
    let parts = encode(&text, &DeliverOptions::default());
    assert_eq!((parts.len(), parts[0].dcs.alphabet), (1, Alphabet::Ucs2));
    let text = "ж".repeat(71);
    let parts = encode(&text, &DeliverOptions::default());
    assert_eq!(parts[0].user_data.len(), 134);
    assert_eq!(joined(&parts), text);
    // 66 units then an emoji: its high surrogate would be unit 67.
    let text = format!("{}😱 end", "ж".repeat(66));
    let parts = encode(&text, &DeliverOptions::default());
    assert_eq!(parts[0].user_data.len(), 132);
    assert!(parts.iter().all(|p| p.flags == 0));
    assert_eq!(joined(&parts), text);
    // A carrier that cuts at 134 octets: each part alone has a lone surrogate,
    // reassembly joins the bytes (der_ucs2_split_surrogate_1/2).
    let options = DeliverOptions {
        split_surrogates: true,
        ..DeliverOptions::default()
    };
    let parts = encode(&text, &options);
    assert_eq!(parts[0].user_data.len(), 134);
    assert_eq!(parts[0].flags, flags::UCS2_LONE_SURROGATE);
    assert_eq!(parts[1].flags, flags::UCS2_LONE_SURROGATE);
    let refs: Vec<&Sms> = parts.iter().collect();
    let message = reassemble(&refs).unwrap();
    assert_eq!(
        (message.text.as_deref(), message.flags),
        (Some(text.as_str()), 0)
    );
}

#[test]
fn national_tables_and_options() {
    let options = DeliverOptions {
        locking_shift: 1,
        single_shift: 1,
        smsc: Some("+31624000000".to_string()),
        pid: 0x41,
        message_class: Some(0),
        ..DeliverOptions::default()
    };
    let text = "Doğrulama kodunuz: 482913. Şifreyi kimseyle paylaşmayın.";
    let pdus = encode_deliver(text, "TRBANK", scts(), 7, &options).unwrap();
    let sms = decode(&pdus[0], SmscMode::Present, None).unwrap();
    assert_eq!(sms.text.as_deref(), Some(text));
    assert_eq!((sms.locking_shift, sms.single_shift), (1, 1));
    assert_eq!(sms.smsc.map(|a| a.value), Some("+31624000000".to_string()));
    assert_eq!(
        (sms.pid, sms.dcs.raw, sms.dcs.message_class),
        (0x41, 0x10, Some(0))
    );
    assert_eq!(sms.address.value, "TRBANK");
    // Without the tables the same text needs UCS-2.
    let parts = encode(text, &DeliverOptions::default());
    assert_eq!(parts[0].dcs.alphabet, Alphabet::Ucs2);
    let forced = DeliverOptions {
        force_ucs2: true,
        ..DeliverOptions::default()
    };
    assert_eq!(encode("plain", &forced)[0].dcs.raw, 0x08);
}

#[test]
fn empty_text_is_one_empty_part() {
    let parts = encode("", &DeliverOptions::default());
    assert_eq!(
        (parts.len(), parts[0].udl, parts[0].text.as_deref()),
        (1, 0, Some(""))
    );
    // A header-only part with a national shift: UDL covers the header.
    let options = DeliverOptions {
        single_shift: 2,
        ..DeliverOptions::default()
    };
    let parts = encode("", &options);
    assert_eq!(
        (parts[0].udl, parts[0].text.as_deref(), parts[0].flags),
        (5, Some(""), 0)
    );
}

#[test]
fn errors() {
    let options = DeliverOptions::default();
    let mut bad = scts();
    bad.year = 1999;
    assert!(encode_deliver("x", "+1", bad, 0, &options).is_err());
    bad = scts();
    bad.offset_minutes = 10;
    assert!(encode_deliver("x", "+1", bad, 0, &options).is_err());
    let class4 = DeliverOptions {
        message_class: Some(4),
        ..DeliverOptions::default()
    };
    assert!(encode_deliver("x", "+1", scts(), 0, &class4).is_err());
    assert!(encode_deliver("x", "A very long sender", scts(), 0, &options).is_err());
    assert_eq!(
        encode_deliver("x", "日本", scts(), 0, &options)
            .unwrap_err()
            .kind,
        ErrorKind::Gsm7
    );
    let too_long = "x".repeat(153 * 255 + 1);
    assert_eq!(
        encode_deliver(&too_long, "+1", scts(), 0, &options)
            .unwrap_err()
            .kind,
        ErrorKind::Pdu
    );
    assert_eq!(
        encode_deliver(&"x".repeat(153 * 255), "+1", scts(), 0, &options)
            .unwrap()
            .len(),
        255
    );
}

/// Every character of the default alphabet and its extension table.
fn gsm7_chars() -> Vec<char> {
    let mut text = String::new();
    let septets: Vec<u8> = (0..128u8).filter(|&s| s != crate::gsm7::ESC).collect();
    crate::gsm7::decode_septets(&septets, 0, 0, false, &mut text).unwrap();
    text.push_str("^{}\\[~]|€\u{0C}");
    text.chars().collect()
}

/// Shuffle with a small deterministic generator, and append some parts again.
fn shuffled_with_duplicates(parts: &[Sms], seed: u64) -> Vec<&Sms> {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut refs: Vec<&Sms> = parts.iter().collect();
    for i in (1..refs.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        refs.swap(i, j);
    }
    // A message without a concatenation element must come alone.
    let extra = if parts.len() > 1 {
        (next() % 3) as usize
    } else {
        0
    };
    for _ in 0..extra {
        let j = (next() % parts.len() as u64) as usize;
        refs.push(&parts[j]);
    }
    refs
}

fn round_trip(
    text: &str,
    options: &DeliverOptions,
    reference: u16,
    seed: u64,
) -> Result<(), TestCaseError> {
    let pdus = encode_deliver(text, "+31641600986", scts(), reference, options).unwrap();
    let parts: Vec<Sms> = pdus
        .iter()
        .map(|pdu| decode(pdu, SmscMode::Auto, None).unwrap())
        .collect();
    for part in &parts {
        let numbered_smsc = options.smsc.as_ref().is_some_and(|s| !s.is_empty());
        prop_assert_eq!(part.smsc.is_some(), numbered_smsc);
        prop_assert!(part.user_data.len() <= 160);
        prop_assert_eq!(part.flags & !(flags::UCS2_LONE_SURROGATE), 0);
    }
    let refs = shuffled_with_duplicates(&parts, seed);
    let message = reassemble(&refs).unwrap();
    prop_assert_eq!(message.text.as_deref(), Some(text));
    prop_assert!(message.is_complete());
    prop_assert_eq!(message.duplicates, refs.len() - parts.len());
    prop_assert_eq!(message.flags, 0);
    Ok(())
}

proptest! {
    #[test]
    fn gsm7_text_round_trips(
        indices in proptest::collection::vec(any::<prop::sample::Index>(), 0..500),
        reference in any::<u16>(),
        reference_16bit in any::<bool>(),
        with_smsc in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let chars = gsm7_chars();
        let text: String = indices.iter().map(|i| *i.get(&chars)).collect();
        // With an SMSC block or without: automatic detection must tell.
        let smsc = with_smsc.then(|| "+31624000000".to_string());
        let options = DeliverOptions { reference_16bit, smsc, ..DeliverOptions::default() };
        round_trip(&text, &options, reference, seed)?;
    }

    #[test]
    fn unicode_text_round_trips(
        text in "(\\PC|😱|🔐|ж|€|\\{){0,200}",
        reference in any::<u16>(),
        split_surrogates in any::<bool>(),
        force_ucs2 in any::<bool>(),
        smsc_choice in 0u8..3,
        seed in any::<u64>(),
    ) {
        // No SMSC block, an empty one (`00`, also a DELIVER first octet), or a number.
        let smsc = [None, Some(String::new()), Some("+447785016005".to_string())][usize::from(smsc_choice)].clone();
        let options = DeliverOptions { split_surrogates, force_ucs2, smsc, ..DeliverOptions::default() };
        round_trip(&text, &options, reference, seed)?;
    }

    #[test]
    fn national_table_text_round_trips(
        text in "[a-zA-Z0-9 çğışöüÇĞİŞÖÜ€{}.,:-]{0,400}",
        seed in any::<u64>(),
    ) {
        let options = DeliverOptions { locking_shift: 1, single_shift: 1, ..DeliverOptions::default() };
        round_trip(&text, &options, 1, seed)?;
    }
}
