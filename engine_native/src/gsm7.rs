//! GSM 7-bit text (TS 23.038 §6.1.2.1, §6.2.1): septet packing and the
//! character tables, including the national language shift tables.
//!
//! Decoding rules (TS 23.038 §6.2.1.1 and its notes):
//! * ESC (0x1B) selects the single shift table for the next septet only.
//! * ESC followed by a code the single shift table does not assign shows the
//!   base (locking shift) table's character for that code.
//! * ESC ESC is reserved for a future second extension table; receivers show a
//!   space meanwhile.
//! * A position a locking shift table leaves unassigned shows a space. The
//!   standard names no character for these; a space is what it prescribes for
//!   the other undefined code (ESC ESC), and what Android and oFono show. It
//!   keeps the text's length and never invents a character, unlike U+FFFD
//!   which would read as corruption in an otherwise valid message.
//! * An ESC as the very last septet emits nothing: [`Decoded::trailing_escape`]
//!   reports it so reassembly can carry it into the next part.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::error::{CodecError, ErrorKind};
use crate::gsm7_tables::{
    locking_slot, single_shift_slot, Table, LOCKING, NONE, SINGLE_SHIFT, TABLE_SLOTS,
};

/// The escape to the single shift table.
pub const ESC: u8 = 0x1B;

/// Octets needed to hold `septet_count` septets after `fill_bits` fill bits.
pub fn packed_len(fill_bits: u8, septet_count: usize) -> usize {
    if septet_count == 0 {
        return 0;
    }
    let bits = usize::from(fill_bits).saturating_add(septet_count.saturating_mul(7));
    bits.div_ceil(8)
}

/// Unpack `septet_count` septets from packed GSM-7 data whose first septet starts after `fill_bits` (0..=6) bits.
/// Error (Pdu-style offset: the byte offset where data ran out) when the data is too short.
///
/// Septet `i` occupies bits `fill_bits + 7 * i ..` counted LSB first from the
/// first octet. Octets beyond the last septet are ignored. A `fill_bits` above 6
/// is not an error: whole octets of it are skipped.
pub fn unpack(data: &[u8], fill_bits: u8, septet_count: usize) -> Result<Vec<u8>, CodecError> {
    let needed = packed_len(fill_bits, septet_count);
    if data.len() < needed {
        return Err(CodecError::pdu(
            data.len(),
            format!(
                "GSM 7-bit data too short: {septet_count} septets need {needed} octets, {} present",
                data.len()
            ),
        ));
    }
    let mut out = vec![0u8; septet_count];
    // Eight septets fill exactly seven octets, so every group of eight starts at
    // the same bit within its first octet: read a 64-bit little-endian word and
    // peel the septets off it.
    let shift = u32::from(fill_bits % 8);
    let mut byte = usize::from(fill_bits / 8);
    for group in out.chunks_mut(8) {
        let mut buf = [0u8; 8];
        let available = data.get(byte..).unwrap_or(&[]);
        let take = available.len().min(8);
        buf[..take].copy_from_slice(&available[..take]);
        let word = u64::from_le_bytes(buf) >> shift;
        for (k, septet) in group.iter_mut().enumerate() {
            *septet = ((word >> (7 * k)) & 0x7F) as u8;
        }
        byte += 7;
    }
    Ok(out)
}

/// Pack septets (the low 7 bits of each byte) after `fill_bits` zero bits.
///
/// The output has [`packed_len`] octets; unused high bits of the last octet are zero.
pub fn pack(septets: &[u8], fill_bits: u8) -> Vec<u8> {
    let mut out = vec![0u8; usize::from(fill_bits / 8)];
    out.reserve(packed_len(fill_bits, septets.len()).saturating_sub(out.len()));
    let mut acc: u32 = 0;
    let mut bits = u32::from(fill_bits % 8);
    for &septet in septets {
        acc |= u32::from(septet & 0x7F) << bits;
        bits += 7;
        if bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits > 0 && !septets.is_empty() {
        out.push(acc as u8);
    }
    out
}

/// What [`decode_septets`] found besides the text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Decoded {
    /// The last septet was an ESC with nothing after it; it emitted nothing.
    pub trailing_escape: bool,
}

/// Decode septets (values 0..=127; a value > 127 is a Gsm7 error at its index) with the given
/// national language tables (0 = default; unknown NLI = default), appending to `out`.
/// `leading_escape`: the previous part ended with a dangling ESC, so the first septet is escaped.
///
/// On error `out` keeps the text decoded before the offending septet.
pub fn decode_septets(
    septets: &[u8],
    locking: u8,
    single: u8,
    leading_escape: bool,
    out: &mut String,
) -> Result<Decoded, CodecError> {
    let base: &Table = LOCKING[locking_slot(locking)];
    let shift: &Table = SINGLE_SHIFT[single_shift_slot(single)];
    out.reserve(septets.len());
    let mut escaped = leading_escape;
    for (index, &septet) in septets.iter().enumerate() {
        if septet > 0x7F {
            return Err(CodecError::new(
                ErrorKind::Gsm7,
                index,
                format!("septet value 0x{septet:02X} is above 0x7F"),
            ));
        }
        if escaped {
            escaped = false;
            let c = if septet == ESC {
                ' '
            } else {
                match shift[usize::from(septet)] {
                    NONE => base_char(base, septet),
                    c => c,
                }
            };
            out.push(c);
        } else if septet == ESC {
            escaped = true;
        } else {
            out.push(base_char(base, septet));
        }
    }
    Ok(Decoded {
        trailing_escape: escaped,
    })
}

/// The locking shift table's character for a non-ESC septet, space if unassigned.
fn base_char(base: &Table, septet: u8) -> char {
    match base[usize::from(septet & 0x7F)] {
        NONE => ' ',
        c => c,
    }
}

/// Encode text to septets (one per byte, ESC pairs included) with the given tables;
/// error with the char index of the first character that has no code.
///
/// A character in the locking shift table takes one septet; otherwise one from the
/// single shift table takes two (ESC and its code).
pub fn encode(text: &str, locking: u8, single: u8) -> Result<Vec<u8>, CodecError> {
    let (base, shift) = reverse_tables(locking, single);
    let mut out = Vec::with_capacity(text.len());
    for (index, c) in text.chars().enumerate() {
        if let Some(code) = base.code(c) {
            out.push(code);
        } else if let Some(code) = shift.code(c) {
            out.push(ESC);
            out.push(code);
        } else {
            return Err(CodecError::new(
                ErrorKind::Gsm7,
                index,
                format!(
                    "character U+{:04X} has no code in GSM 7-bit tables {locking}/{single}",
                    u32::from(c)
                ),
            ));
        }
    }
    Ok(out)
}

/// Number of septets `text` needs, or None if it cannot be encoded with those tables.
pub fn septet_count(text: &str, locking: u8, single: u8) -> Option<usize> {
    let (base, shift) = reverse_tables(locking, single);
    text.chars().try_fold(0usize, |count, c| {
        if base.code(c).is_some() {
            Some(count + 1)
        } else if shift.code(c).is_some() {
            Some(count + 2)
        } else {
            None
        }
    })
}

/// Character-to-code lookup for one table, built once on first use.
struct ReverseTable {
    /// Code of each ASCII character, `NO_CODE` if the table has none.
    ascii: [u8; 128],
    other: HashMap<char, u8>,
}

const NO_CODE: u8 = 0xFF;

impl ReverseTable {
    fn build(table: &Table) -> Self {
        let mut reverse = ReverseTable {
            ascii: [NO_CODE; 128],
            other: HashMap::new(),
        };
        // Iterate backwards so a character listed twice (the Indic single shift
        // tables repeat `*` and `¡`) encodes to its first position.
        for (code, &c) in table.iter().enumerate().rev() {
            if c == NONE || code == usize::from(ESC) {
                continue;
            }
            let code = code as u8;
            if c.is_ascii() {
                reverse.ascii[c as usize] = code;
            } else {
                reverse.other.insert(c, code);
            }
        }
        reverse
    }

    fn code(&self, c: char) -> Option<u8> {
        let code = if c.is_ascii() {
            self.ascii[c as usize]
        } else {
            *self.other.get(&c)?
        };
        (code != NO_CODE).then_some(code)
    }
}

fn reverse_tables(locking: u8, single: u8) -> (&'static ReverseTable, &'static ReverseTable) {
    static BASE: OnceLock<Vec<ReverseTable>> = OnceLock::new();
    static SHIFT: OnceLock<Vec<ReverseTable>> = OnceLock::new();
    let base = BASE.get_or_init(|| LOCKING.iter().map(|t| ReverseTable::build(t)).collect());
    let shift = SHIFT.get_or_init(|| {
        SINGLE_SHIFT
            .iter()
            .map(|t| ReverseTable::build(t))
            .collect()
    });
    debug_assert_eq!(base.len(), TABLE_SLOTS);
    (
        &base[locking_slot(locking)],
        &shift[single_shift_slot(single)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn decode(septets: &[u8], locking: u8, single: u8) -> (String, bool) {
        let mut out = String::new();
        let decoded = decode_septets(septets, locking, single, false, &mut out).unwrap();
        (out, decoded.trailing_escape)
    }

    fn decode_packed(
        ud_hex: &str,
        fill_bits: u8,
        septets: usize,
        locking: u8,
        single: u8,
    ) -> String {
        let septets = unpack(&hex(ud_hex), fill_bits, septets).unwrap();
        let (text, trailing_escape) = decode(&septets, locking, single);
        assert!(!trailing_escape);
        text
    }

    /// The `gsm7_userdata_nl_tables` vectors: user data from rilmodem/ofono
    /// unit/test-sms.c (commit efc9c0a8), whose tests give the tables out of band.
    /// (id, ud_hex, udl_septets, locking NLI, single shift NLI, text)
    const OFONO_VECTORS: &[(&str, &str, usize, u8, u8, &str)] = &[
        (
            "of_charset_default",
            "8080604028180E888462C168381E90886442A9582E988C06C4E9783EA09068442A994EA8946AC56AB95EB0986C46ABD96EB89C6EC7EBF97EC0A070482C1A8FC8A472C96C3A9FD0A8744AAD5AAFD8AC76CBED7ABFE0B0784C2E9BCFE8B47ACD6EBBDFF0B87C4EAFDBEFF8BC7ECFEFFBFF",
            128,
            0,
            0,
            "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà",
        ),
        (
            "of_charset_default_ext",
            "1BC58602DAA036A9CD6BC3DBF436BE0D705306",
            21,
            0,
            0,
            "\u{c}^ {}\\[~]|€",
        ),
        (
            "of_charset_turkish_locking",
            "8080604028180E888462C168381E90886442A9582E988C06C4E9783EA09068442A994EA8946AC56AB95EB0986C46ABD96EB89C6EC7EBF97EC0A070482C1A8FC8A472C96C3A9FD0A8744AAD5AAFD8AC76CBED7ABFE0B0784C2E9BCFE8B47ACD6EBBDFF0B87C4EAFDBEFF8BC7ECFEFFBFF",
            128,
            1,
            0,
            "@£$¥€éùıòÇ\nĞğ\rÅåΔ_ΦΓΛΩΠΨΣΘΞ ŞşßÉ !\"#¤%&'()*+,-./0123456789:;<=>?İABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§çabcdefghijklmnopqrstuvwxyzäöñüà",
        ),
        (
            "of_charset_turkish_locking_single",
            "1BC586B2416D529BD786B7E96D7C1BE002C8011318870E",
            26,
            1,
            1,
            "\u{c}^{}\\[~]|ĞİŞç€ğış",
        ),
        (
            "of_charset_portuguese_locking",
            "8080604028180E888462C168381E90886442A9582E988C06C4E9783EA09068442A994EA8946AC56AB95EB0986C46ABD96EB89C6EC7EBF97EC0A070482C1A8FC8A472C96C3A9FD0A8744AAD5AAFD8AC76CBED7ABFE0B0784C2E9BCFE8B47ACD6EBBDFF0B87C4EAFDBEFF8BC7ECFEFFBFF",
            128,
            3,
            0,
            "@£$¥êéúíóç\nÔô\rÁáΔ_ªÇÀ∞^\\€Ó| ÂâÊÉ !\"#º%&'()*+,-./0123456789:;<=>?ÍABCDEFGHIJKLMNOPQRSTUVWXYZÃÕÚÜ§~abcdefghijklmnopqrstuvwxyzãõ`üà",
        ),
        (
            "of_charset_portuguese_locking_single",
            "84C446B160381E1BC96662D9543696CD6583D9643C1BD42675D9F0C01B9F8602CC74B75C0EE68030ECF91D",
            49,
            3,
            3,
            "êç\u{c}ÔôÁáΦΓ^ΩΠΨΣΘÊ{}\\[~]|ÀÍÓÚÃÕÂ€íóúãõâ",
        ),
        (
            "of_charset_spanish_single",
            "9BC446B1A16C509BD4E6B5E16D7A1BDF06B8096E929BE7A6BA096FCA9BF4E6BDA903",
            38,
            0,
            2,
            "ç\u{c}^{}\\[~]|ÁÍÓÚá€íóú",
        ),
    ];

    #[test]
    fn ofono_national_language_vectors() {
        for &(id, ud_hex, septets, locking, single, text) in OFONO_VECTORS {
            assert_eq!(
                decode_packed(ud_hex, 0, septets, locking, single),
                text,
                "{id}"
            );
            // Re-encoding gives the same text back (not necessarily the same
            // septets: the vectors also escape characters the base table has).
            let encoded = encode(text, locking, single).unwrap();
            assert_eq!(decode(&encoded, locking, single).0, text, "{id}");
            assert_eq!(
                septet_count(text, locking, single),
                Some(encoded.len()),
                "{id}"
            );
        }
    }

    /// User data of deliver vectors (UDH stripped, fill bits and text septets
    /// from UDHL and UDL): (id and source, text ud_hex, fill bits, septets, locking, single, text).
    const DELIVER_VECTORS: &[(&str, &str, u8, usize, u8, u8, &str)] = &[
        (
            "der_tr_single_shift (project-derived; NLI 1 single shift)",
            "20BE3767799D1D6E8741EB37B9EEAEEB75201A4E968BCD5CA0CD346D9697F369D03ADD9E97F3EC32081ECEB3C39B793B9CDFA4DD2E",
            3,
            60,
            0,
            1,
            "Doğrulama kodunuz: 482913. Şifreyi kimseyle paylaşmayın.",
        ),
        (
            "der_tr_locking_single (project-derived; NLI 1 locking + single shift)",
            "C437435E6787DB61D0FA4DAEBBEB7A1D888693E5623317889336CBCBF934689D6ECFCB797619040FE7D9E14E3B9C3FB85D",
            0,
            56,
            1,
            1,
            "Doğrulama kodunuz: 482913. Şifreyi kimseyle paylaşmayın.",
        ),
        (
            "der_pt_locking_single (project-derived; NLI 3 locking + single shift)",
            "D3721D344690D3E737885C06D9CBF2B4393D0E27F66F5001749BE564B0980BE4DCBF416FD0F8DD8687E5F4341B5D068DDF6D903BED3ED70B6D17",
            0,
            66,
            3,
            3,
            "Seu código de verificação é 739201. Não o compartilhe com ninguém.",
        ),
        (
            "der_es_single_shift (project-derived; NLI 2 single shift)",
            "A0D641E3CD9B9C3EBF41E432C85E96A7CDE971789CDEBCDDA0F21C54ABC564B0990BE47C83D86FD0F8DD8687E5F4F01C347EBB41EE30395D7601",
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
            "aosp_extended_table (aosp-mirror/platform_frameworks_base GsmSmsTest.java)",
            "D4F29C0E2AE3E96537B94C068DD16179784C2FCB41F4B0985D06B958ADD00FB0E94536AF974974DA6D281BA00E95E26D509B946FC3DBF87A25D56A04",
            0,
            68,
            0,
            0,
            "Test extended character table .,-!?@~_\\/&\"';^|:()<{}>[]=%*+#",
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
    ];

    #[test]
    fn deliver_vectors() {
        for &(id, ud_hex, fill, septets, locking, single, text) in DELIVER_VECTORS {
            assert_eq!(
                decode_packed(ud_hex, fill, septets, locking, single),
                text,
                "{id}"
            );
            let encoded = encode(text, locking, single).unwrap();
            assert_eq!(encoded.len(), septets, "{id}");
            // The CR padding vector carries a CR in its spare bits; pack leaves them zero.
            if !id.starts_with("der_gsm7_cr_padding") {
                assert_eq!(pack(&encoded, fill), hex(ud_hex), "{id}");
            }
        }
    }

    #[test]
    fn packs_the_classic_example() {
        // TS 23.038 §6.1.2.1.1 style example: "hellohello" packs to E8329BFD4697D9EC37.
        let septets = encode("hellohello", 0, 0).unwrap();
        assert_eq!(pack(&septets, 0), hex("E8329BFD4697D9EC37"));
        assert_eq!(unpack(&hex("E8329BFD4697D9EC37"), 0, 10).unwrap(), septets);
    }

    #[test]
    fn fill_bits_shift_the_first_septet() {
        for fill in 0..=7u8 {
            let septets: Vec<u8> = (0..=127).collect();
            let packed = pack(&septets, fill);
            assert_eq!(packed.len(), packed_len(fill, septets.len()));
            assert_eq!(packed[0] & ((1u8 << fill) - 1), 0, "fill bits are zero");
            assert_eq!(unpack(&packed, fill, septets.len()).unwrap(), septets);
        }
        // One fill bit: 'A' 'A' take bits 1..8 and 8..15.
        assert_eq!(pack(&[0x41, 0x41], 1), vec![0x82, 0x41]);
        assert_eq!(pack(&[], 3), Vec::<u8>::new());
    }

    #[test]
    fn unpack_reports_where_data_ran_out() {
        let data = hex("C8F71D14969741F977FD07"); // pm_7bit: "How are you?", 12 septets
        assert_eq!(unpack(&data, 0, 12).unwrap().len(), 12);
        let err = unpack(&data, 0, 13).unwrap_err();
        assert_eq!((err.kind, err.offset), (ErrorKind::Pdu, 11));
        let err = unpack(&data[..5], 1, 6).unwrap_err();
        assert_eq!((err.kind, err.offset), (ErrorKind::Pdu, 5));
        assert_eq!(unpack(&[], 0, 0).unwrap(), Vec::<u8>::new());
        assert!(unpack(&[], 6, usize::MAX).is_err());
    }

    #[test]
    fn trailing_octets_are_ignored() {
        // Odd septet counts leave zero bits that would read as '@'; the count decides.
        let packed = pack(&encode("1234567", 0, 0).unwrap(), 0);
        let septets = unpack(&packed, 0, 8).unwrap();
        assert_eq!(decode(&septets, 0, 0).0, "1234567@");
        assert_eq!(decode(&septets[..7], 0, 0).0, "1234567");
    }

    #[test]
    fn unknown_escape_gives_the_base_character() {
        assert_eq!(decode(&[ESC, 0x41, 0x42], 0, 0).0, "AB");
        // With a locking shift table, the fallback is that table's character.
        assert_eq!(decode(&[ESC, 0x07], 1, 0).0, "ı");
        // Spanish single shift has no code 0x07 either: base character again.
        assert_eq!(decode(&[ESC, 0x07], 0, 2).0, "ì");
    }

    #[test]
    fn escape_escape_is_a_space() {
        assert_eq!(
            decode(&[0x41, ESC, ESC, 0x42], 0, 0),
            ("A B".to_string(), false)
        );
        assert_eq!(decode(&[ESC, ESC, ESC], 0, 0), (" ".to_string(), true));
    }

    #[test]
    fn dangling_escape_is_reported_and_emits_nothing() {
        assert_eq!(decode(&[0x41, ESC], 0, 0), ("A".to_string(), true));
        assert_eq!(decode(&[ESC], 0, 0), (String::new(), true));
        // The next part starts escaped.
        let mut out = String::new();
        let decoded = decode_septets(&[0x65, 0x41], 0, 0, true, &mut out).unwrap();
        assert_eq!((out.as_str(), decoded.trailing_escape), ("€A", false));
        // An empty part keeps the pending escape.
        let mut out = String::new();
        assert!(
            decode_septets(&[], 0, 0, true, &mut out)
                .unwrap()
                .trailing_escape
        );
        assert!(out.is_empty());
    }

    #[test]
    fn unassigned_locking_positions_show_a_space() {
        // Bengali (NLI 4) assigns nothing to 0x0C or 0x5B; its single shift
        // table has no 0x5B either, so the escaped fallback is the same space.
        assert_eq!(decode(&[0x0C, 0x2E], 4, 0).0, " .");
        assert_eq!(decode(&[ESC, 0x5B], 4, 4).0, " ");
        assert_eq!(decode(&[ESC, 0x0C], 4, 4).0, "+");
        assert_eq!(decode(&[0x00, 0x09], 11, 0).0, "  ");
    }

    #[test]
    fn spanish_and_unknown_locking_requests_use_the_default_alphabet() {
        let all: Vec<u8> = (0..=127).filter(|&s| s != ESC).collect();
        let default = decode(&all, 0, 0).0;
        for locking in [2, 14, 99, 255] {
            assert_eq!(decode(&all, locking, 0).0, default, "locking {locking}");
        }
        for single in [14, 255] {
            assert_eq!(decode(&[ESC, 0x65], 0, single).0, "€");
        }
    }

    #[test]
    fn septet_above_127_is_an_error_at_its_index() {
        let mut out = String::new();
        let err = decode_septets(&[0x41, 0x42, 0x80], 0, 0, false, &mut out).unwrap_err();
        assert_eq!((err.kind, err.offset), (ErrorKind::Gsm7, 2));
        assert_eq!(out, "AB");
        let err = decode_septets(&[ESC, 0xFF], 0, 0, false, &mut String::new()).unwrap_err();
        assert_eq!(err.offset, 1);
    }

    #[test]
    fn encode_uses_the_extension_only_when_needed() {
        assert_eq!(encode("a{", 0, 0).unwrap(), vec![0x61, ESC, 0x28]);
        assert_eq!(encode("€", 0, 0).unwrap(), vec![ESC, 0x65]);
        // Turkish locking has € at 0x04: one septet.
        assert_eq!(encode("€", 1, 0).unwrap(), vec![0x04]);
        assert_eq!(
            encode("\u{c}\n\r", 0, 0).unwrap(),
            vec![ESC, 0x0A, 0x0A, 0x0D]
        );
        assert_eq!(septet_count("a{€", 0, 0), Some(5));
        assert_eq!(septet_count("", 0, 0), Some(0));
    }

    #[test]
    fn encode_reports_the_first_character_without_a_code() {
        let err = encode("ab€ş", 0, 0).unwrap_err();
        assert_eq!((err.kind, err.offset), (ErrorKind::Gsm7, 3));
        assert_eq!(septet_count("ab€ş", 0, 0), None);
        assert_eq!(encode("ab€ş", 0, 1).unwrap().len(), 6);
        // The ESC control character and NUL are no characters of any table.
        for nli in 0..=13 {
            assert!(encode("\u{1b}", nli, nli).is_err());
            assert!(encode("\u{0}", nli, nli).is_err());
        }
        // Indexes count characters, not bytes.
        assert_eq!(encode("ééé😀", 0, 0).unwrap_err().offset, 3);
    }

    #[test]
    fn tables_are_consistent() {
        use crate::gsm7_tables::{LOCKING, SINGLE_SHIFT};
        for (nli, table) in LOCKING.iter().enumerate() {
            assert_eq!(table[usize::from(ESC)], NONE, "locking {nli}");
            // Space, digits and the line breaks sit where the default has them.
            for code in [0x0A, 0x0D, 0x20, 0x30, 0x39] {
                assert_eq!(table[code], LOCKING[0][code], "locking {nli} 0x{code:02X}");
            }
        }
        for (nli, table) in SINGLE_SHIFT.iter().enumerate() {
            assert_eq!(table[usize::from(ESC)], NONE, "single {nli}");
            assert_eq!(table[0x0A], '\u{c}', "single {nli}: page break");
        }
    }

    #[test]
    fn national_table_spot_checks() {
        // First septets of some locking shift tables (TS 23.038 §A.3).
        assert_eq!(decode(&[0x00, 0x15, 0x2C], 6, 0).0, "\u{901}\u{915},");
        assert_eq!(decode(&[0x00, 0x01, 0x2C], 13, 0).0, "\u{627}\u{622},");
        // Errata taken from Android and oFono (see gsm7_tables).
        for nli in 4..=13 {
            assert_eq!(decode(&[0x2C], nli, 0).0, ",", "locking {nli}");
        }
        assert_eq!(decode(&[0x24, 0x3D], 7, 0).0, "\u{CA1}\u{CAA}");
        assert_eq!(decode(&[ESC, 0x65], 0, 12).0, "€");
        // Indic single shift tables carry the digits of their script.
        assert_eq!(decode(&[ESC, 0x1C, ESC, 0x1D], 6, 6).0, "\u{966}\u{967}");
    }

    /// Every character a table pair can encode.
    fn alphabet(locking: u8, single: u8) -> Vec<char> {
        use crate::gsm7_tables::{LOCKING, SINGLE_SHIFT};
        let mut chars: Vec<char> = LOCKING[locking_slot(locking)]
            .iter()
            .chain(SINGLE_SHIFT[single_shift_slot(single)].iter())
            .copied()
            .filter(|&c| c != NONE)
            .collect();
        chars.sort_unstable();
        chars.dedup();
        chars
    }

    fn text_over(chars: Vec<char>) -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(chars), 0..200)
            .prop_map(|chars| chars.into_iter().collect())
    }

    fn round_trip(text: &str, locking: u8, single: u8, fill: u8) -> Result<(), TestCaseError> {
        let septets = encode(text, locking, single).unwrap();
        prop_assert_eq!(septet_count(text, locking, single), Some(septets.len()));
        let packed = pack(&septets, fill);
        prop_assert_eq!(packed.len(), packed_len(fill, septets.len()));
        let unpacked = unpack(&packed, fill, septets.len()).unwrap();
        prop_assert_eq!(&unpacked, &septets);
        let mut out = String::new();
        let decoded = decode_septets(&unpacked, locking, single, false, &mut out).unwrap();
        prop_assert!(!decoded.trailing_escape);
        prop_assert_eq!(out.as_str(), text);
        Ok(())
    }

    proptest! {
        #[test]
        fn default_alphabet_round_trips(text in text_over(alphabet(0, 0)), fill in 0..=6u8) {
            round_trip(&text, 0, 0, fill)?;
        }

        #[test]
        fn national_tables_round_trip(
            (locking, single, text) in (0..=13u8, 0..=13u8).prop_flat_map(|(locking, single)| {
                (Just(locking), Just(single), text_over(alphabet(locking, single)))
            }),
            fill in 0..=6u8,
        ) {
            round_trip(&text, locking, single, fill)?;
        }

        #[test]
        fn unpack_never_panics(
            data in proptest::collection::vec(any::<u8>(), 0..200),
            fill in any::<u8>(),
            count in 0..260usize,
        ) {
            match unpack(&data, fill, count) {
                Ok(septets) => {
                    prop_assert_eq!(septets.len(), count);
                    prop_assert!(septets.iter().all(|&s| s < 0x80));
                }
                Err(err) => {
                    prop_assert_eq!(err.kind, ErrorKind::Pdu);
                    prop_assert_eq!(err.offset, data.len());
                }
            }
        }

        #[test]
        fn decode_never_panics(
            septets in proptest::collection::vec(any::<u8>(), 0..200),
            locking in any::<u8>(),
            single in any::<u8>(),
            leading_escape in any::<bool>(),
        ) {
            let mut out = String::new();
            if let Err(err) = decode_septets(&septets, locking, single, leading_escape, &mut out) {
                prop_assert_eq!(err.kind, ErrorKind::Gsm7);
                prop_assert!(septets[err.offset] > 0x7F);
            }
            let _ = pack(&septets, locking);
        }

        #[test]
        fn encode_never_panics(text in any::<String>(), locking in any::<u8>(), single in any::<u8>()) {
            match encode(&text, locking, single) {
                Ok(septets) => {
                    prop_assert_eq!(septet_count(&text, locking, single), Some(septets.len()));
                    let (decoded, _) = decode(&septets, locking, single);
                    prop_assert_eq!(decoded, text);
                }
                Err(err) => {
                    prop_assert_eq!(err.kind, ErrorKind::Gsm7);
                    prop_assert!(err.offset < text.chars().count());
                    prop_assert_eq!(septet_count(&text, locking, single), None);
                }
            }
        }
    }
}
