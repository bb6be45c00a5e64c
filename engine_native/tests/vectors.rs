//! Every PDU vector of `tests/data/pdu_vectors.json`, decoded in every way a
//! caller can ask for: automatic SMSC detection, the explicit form, with the
//! `+CMT` length, and in the other form (SMSC block removed or added).

use engine_native::reassemble::reassemble;
use engine_native::sms::{flags, Sms, Timestamp, ValidityPeriod};
use engine_native::tpdu::{decode, decode_hex, SmscMode};
use engine_native::ErrorKind;
use serde_json::{json, Value};

const VECTORS: &str = include_str!("../../tests/data/pdu_vectors.json");

fn data() -> Value {
    serde_json::from_str(VECTORS).expect("tests/data/pdu_vectors.json is valid JSON")
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02X}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    engine_native::hex::decode(text).expect("vector hex")
}

fn iso(timestamp: &Option<Timestamp>) -> Value {
    match timestamp {
        None => Value::Null,
        Some(t) => {
            let sign = if t.offset_minutes < 0 { '-' } else { '+' };
            let minutes = t.offset_minutes.unsigned_abs();
            json!(format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
                t.year,
                t.month,
                t.day,
                t.hour,
                t.minute,
                t.second,
                minutes / 60,
                minutes % 60
            ))
        }
    }
}

/// The decoded message in the vocabulary of the JSON file's `expected`.
fn as_json(sms: &Sms) -> Value {
    let names: Vec<&str> = flags::NAMES
        .iter()
        .filter(|(bit, _)| sms.flags & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    json!({
        "kind": sms.kind.as_str(),
        "smsc": sms.smsc.as_ref().map(|a| a.value.clone()),
        "address": {"value": sms.address.value, "ton": sms.address.ton, "npi": sms.address.npi},
        "pid": sms.pid,
        "dcs": sms.dcs.raw,
        "alphabet": sms.dcs.alphabet.as_str(),
        "message_class": sms.dcs.message_class,
        "mwi": sms.dcs.mwi.map(|m| json!({"active": m.active, "kind": m.kind, "store": m.store})),
        "indications": sms.indications.iter().map(|i| json!({
            "kind": i.kind, "count": i.count, "store": i.store, "profile": i.profile,
        })).collect::<Vec<_>>(),
        "scts": iso(&sms.scts),
        "discharge_time": iso(&sms.discharge_time),
        "status": sms.status,
        "message_reference": sms.message_reference,
        "validity_period": sms.validity_period.map(|v| match v {
            ValidityPeriod::RelativeMinutes(m) => json!({"relative_minutes": m}),
            ValidityPeriod::Absolute(t) => json!({"absolute": iso(&Some(t))}),
            ValidityPeriod::Enhanced(e) => json!({"enhanced": hex(&e)}),
        }),
        "text": sms.text,
        "udl": sms.udl,
        "user_data_hex": hex(&sms.user_data),
        "concat": sms.concat.map(|c| json!({
            "reference": c.reference,
            "reference_bits": c.reference_bits,
            "total": c.total,
            "seq": c.seq,
        })),
        "ports": sms.ports.map(|(destination, source)| json!([destination, source])),
        "locking_shift": sms.locking_shift,
        "single_shift": sms.single_shift,
        "udh": sms.udh.iter().map(|e| json!({"iei": e.iei, "data": hex(&e.data)})).collect::<Vec<_>>(),
        "flags": names,
    })
}

fn kind_name(kind: ErrorKind) -> String {
    format!("{kind:?}")
}

fn mode_of(vector: &Value) -> SmscMode {
    match vector["form"].as_str() {
        Some("smsc+tpdu") => SmscMode::Present,
        Some("tpdu") => SmscMode::Absent,
        other => panic!("{}: unknown form {other:?}", vector["id"]),
    }
}

fn check_fields(id: &str, expected: &Value, sms: &Sms) {
    let decoded = as_json(sms);
    for (key, want) in expected.as_object().expect("expected is an object") {
        assert!(
            decoded.get(key).is_some(),
            "{id}: the test does not know the field {key:?}"
        );
        assert_eq!(&decoded[key], want, "{id}: field {key}");
    }
}

#[test]
fn every_vector_decodes_as_its_source_says() {
    let data = data();
    let vectors = data["vectors"].as_array().expect("vectors");
    assert!(vectors.len() >= 90, "only {} vectors", vectors.len());
    for vector in vectors {
        let id = vector["id"].as_str().expect("id");
        let pdu_hex = vector["pdu_hex"].as_str().expect("pdu_hex");
        assert!(
            vector["source"].as_str().is_some_and(|s| !s.is_empty()),
            "{id}: source"
        );
        let expected = &vector["expected"];
        if let Some(error) = expected.get("error") {
            for mode in [SmscMode::Auto, mode_of(vector)] {
                let err = decode_hex(pdu_hex, mode, None).expect_err(id);
                assert_eq!(
                    kind_name(err.kind),
                    error["kind"].as_str().unwrap(),
                    "{id}: {err}"
                );
                assert_eq!(
                    err.offset as u64,
                    error["offset"].as_u64().unwrap(),
                    "{id}: {err}"
                );
                assert!(!err.reason.is_empty());
            }
            continue;
        }
        let sms =
            decode_hex(pdu_hex, SmscMode::Auto, None).unwrap_or_else(|err| panic!("{id}: {err}"));
        check_fields(id, expected, &sms);
        // The explicit form and the +CMT length give the same message.
        assert_eq!(
            decode_hex(pdu_hex, mode_of(vector), None).as_ref(),
            Ok(&sms),
            "{id}: explicit form"
        );
        let length = vector["tpdu_length"].as_u64().expect("tpdu_length") as usize;
        for mode in [SmscMode::Auto, mode_of(vector)] {
            assert_eq!(
                decode_hex(pdu_hex, mode, Some(length)).as_ref(),
                Ok(&sms),
                "{id}: with length"
            );
        }
        // A wrong length is an error, not a guess.
        let other = match mode_of(vector) {
            SmscMode::Present => SmscMode::Absent,
            _ => SmscMode::Present,
        };
        assert!(
            decode_hex(pdu_hex, other, Some(length)).is_err(),
            "{id}: length in the wrong form"
        );
        let total = pdu_hex.len() / 2;
        let err = decode_hex(pdu_hex, SmscMode::Auto, Some(total + 1)).unwrap_err();
        assert_eq!(
            (err.kind, err.offset),
            (ErrorKind::Pdu, total),
            "{id}: length matching no form"
        );
    }
}

#[test]
fn auto_detection_reads_every_vector_in_both_forms() {
    let data = data();
    for vector in data["vectors"].as_array().expect("vectors") {
        let id = vector["id"].as_str().expect("id");
        if vector["expected"].get("error").is_some() {
            continue;
        }
        let bytes = unhex(vector["pdu_hex"].as_str().expect("pdu_hex"));
        let sms = decode(&bytes, mode_of(vector), None).unwrap();
        let (tpdu, smsc_block) = match mode_of(vector) {
            SmscMode::Present => {
                let split = 1 + usize::from(bytes[0]);
                (bytes[split..].to_vec(), bytes[..split].to_vec())
            }
            _ => (bytes.clone(), Vec::new()),
        };
        let bare = Sms {
            smsc: None,
            ..sms.clone()
        };
        assert_eq!(
            decode(&tpdu, SmscMode::Auto, None).as_ref(),
            Ok(&bare),
            "{id}: bare TPDU"
        );
        let mut empty_smsc = vec![0x00];
        empty_smsc.extend_from_slice(&tpdu);
        assert_eq!(
            decode(&empty_smsc, SmscMode::Auto, None).as_ref(),
            Ok(&bare),
            "{id}: 00 + TPDU"
        );
        let mut with_smsc = unhex("07911326040000F0");
        with_smsc.extend_from_slice(&tpdu);
        let decoded =
            decode(&with_smsc, SmscMode::Auto, None).unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(
            decoded.smsc.as_ref().map(|a| a.value.as_str()),
            Some("+31624000000"),
            "{id}"
        );
        assert_eq!(
            Sms {
                smsc: None,
                ..decoded
            },
            bare,
            "{id}: SMSC + TPDU"
        );
        if !smsc_block.is_empty() {
            assert_eq!(sms.smsc.is_some(), smsc_block != [0x00], "{id}");
        }
    }
}

#[test]
fn every_reassembly_group_gives_its_text() {
    let data = data();
    let by_id = |id: &str| -> Sms {
        let vector = data["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id)
            .unwrap_or_else(|| panic!("no vector {id}"));
        decode_hex(vector["pdu_hex"].as_str().unwrap(), SmscMode::Auto, None).unwrap()
    };
    let groups = data["reassembly"].as_array().expect("reassembly");
    assert!(groups.len() >= 10);
    for group in groups {
        let id = group["id"].as_str().unwrap();
        let parts: Vec<Sms> = group["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| by_id(p.as_str().unwrap()))
            .collect();
        // As listed, reversed, and with every part given twice.
        let listed: Vec<&Sms> = parts.iter().collect();
        let reversed: Vec<&Sms> = parts.iter().rev().collect();
        let doubled: Vec<&Sms> = parts.iter().chain(parts.iter().rev()).collect();
        for (order, refs) in [
            ("listed", &listed),
            ("reversed", &reversed),
            ("doubled", &doubled),
        ] {
            let message = reassemble(refs).unwrap_or_else(|e| panic!("{id} {order}: {e}"));
            assert_eq!(json!(message.text), group["expected_text"], "{id} {order}");
            assert_eq!(
                u64::from(message.total),
                group["expected_total"].as_u64().unwrap(),
                "{id}"
            );
            assert_eq!(json!(message.missing), group["expected_missing"], "{id}");
            assert_eq!(
                message.duplicates,
                refs.len() - listed.len(),
                "{id} {order}"
            );
            if let Some(user_data) = group.get("expected_user_data_hex") {
                assert_eq!(json!(hex(&message.user_data)), *user_data, "{id}");
            }
            assert_eq!(
                message.flags & (flags::UCS2_LONE_SURROGATE | flags::TRAILING_ESCAPE),
                0,
                "{id}: joined text is clean"
            );
        }
    }
}

#[test]
fn parts_of_different_messages_do_not_join() {
    let data = data();
    let part = |id: &str| -> Sms {
        let vector = data["vectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id)
            .unwrap();
        decode_hex(vector["pdu_hex"].as_str().unwrap(), SmscMode::Auto, None).unwrap()
    };
    // node-pdu: same sender and reference 0x1234, different totals (2 and 3).
    let a1 = part("np_concat16_a1");
    let c2 = part("np_concat16_c2");
    let err = reassemble(&[&a1, &c2]).unwrap_err();
    assert_eq!((err.kind, err.offset), (ErrorKind::Reassembly, 1));
    // Reference 0x1234 vs 0x1235.
    let b1 = part("np_concat16_b1");
    let err = reassemble(&[&a1, &b1]).unwrap_err();
    assert_eq!((err.kind, err.offset), (ErrorKind::Reassembly, 1));
    // A message without a concatenation element among parts.
    let single = part("pm_7bit");
    let err = reassemble(&[&a1, &single]).unwrap_err();
    assert_eq!((err.kind, err.offset), (ErrorKind::Reassembly, 1));
    let err = reassemble(&[&single, &a1]).unwrap_err();
    assert_eq!((err.kind, err.offset), (ErrorKind::Reassembly, 0));
    // Alone it is a one-part message.
    let message = reassemble(&[&single]).unwrap();
    assert_eq!(message.text.as_deref(), Some("How are you?"));
    assert_eq!((message.total, message.present.as_slice()), (1, &[1u8][..]));
    assert!(message.is_complete());
}

#[test]
fn the_160_char_benchmark_vector_is_what_the_benchmarks_expect() {
    // der_gsm7_160 and der_ucs2_70 are the project's benchmark inputs.
    let data = data();
    let vector = data["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "der_gsm7_160")
        .unwrap();
    let sms = decode_hex(vector["pdu_hex"].as_str().unwrap(), SmscMode::Auto, None).unwrap();
    assert_eq!(sms.udl, 160);
    assert_eq!(sms.text.as_ref().map(|t| t.chars().count()), Some(160));
    assert_eq!(sms.user_data.len(), 160);
}
