//! "UCS-2" SMS text (TS 23.038 §6.2.3), which senders fill with UTF-16BE in
//! practice: surrogate pairs are joined into one character.
//!
//! Odd lengths and lone surrogates are reported (lossy) or rejected (strict),
//! never a panic. A surrogate pair split across two parts of a concatenated
//! message decodes cleanly only if the parts' bytes are joined first.

use crate::error::{CodecError, ErrorKind};

/// What [`decode_lossy`] replaced or left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ucs2Report {
    /// The data had an odd number of octets; the last one was not decoded.
    pub odd_length: bool,
    /// How many lone surrogates became U+FFFD.
    pub lone_surrogates: usize,
}

/// Lossy UTF-16BE decode (surrogate pairs joined; lone surrogates become U+FFFD and are counted; a trailing odd octet is reported, not decoded) appending to `out`.
pub fn decode_lossy(data: &[u8], out: &mut String) -> Ucs2Report {
    let mut report = Ucs2Report {
        odd_length: data.len() % 2 == 1,
        lone_surrogates: 0,
    };
    out.reserve(data.len() / 2);
    for unit in char::decode_utf16(code_units(data)) {
        match unit {
            Ok(c) => out.push(c),
            Err(_) => {
                out.push(char::REPLACEMENT_CHARACTER);
                report.lone_surrogates += 1;
            }
        }
    }
    report
}

/// Strict decode: Ucs2 error at the byte offset of the odd trailing octet or the lone surrogate.
pub fn decode_strict(data: &[u8]) -> Result<String, CodecError> {
    let mut out = String::with_capacity(data.len() / 2);
    let mut offset = 0;
    for unit in char::decode_utf16(code_units(data)) {
        match unit {
            Ok(c) => {
                out.push(c);
                offset += 2 * c.len_utf16();
            }
            Err(err) => {
                return Err(CodecError::new(
                    ErrorKind::Ucs2,
                    offset,
                    format!("lone UTF-16 surrogate 0x{:04X}", err.unpaired_surrogate()),
                ));
            }
        }
    }
    if data.len() % 2 == 1 {
        return Err(CodecError::new(
            ErrorKind::Ucs2,
            data.len() - 1,
            "UCS-2 data has an odd number of octets",
        ));
    }
    Ok(out)
}

/// Encode text as UTF-16BE (characters outside the BMP as surrogate pairs).
pub fn encode(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// The big-endian code units of `data`, ignoring a trailing odd octet.
fn code_units(data: &[u8]) -> impl Iterator<Item = u16> + '_ {
    data.chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lossy(data: &[u8]) -> (String, Ucs2Report) {
        let mut out = String::new();
        let report = decode_lossy(data, &mut out);
        (out, report)
    }

    #[test]
    fn decodes_bmp_text() {
        // aosp_ucs2_tm (AOSP telephony/tests/.../GsmSmsTest.java): UD of the vector.
        let data = [
            0x21, 0x22, 0x00, 0xA9, 0x00, 0xAE, 0x00, 0x68, 0x00, 0x65, 0x00, 0x6C, 0x00, 0x6C,
            0x00, 0x6F,
        ];
        assert_eq!(decode_strict(&data).unwrap(), "™©®hello");
        assert_eq!(
            lossy(&data),
            ("™©®hello".to_string(), Ucs2Report::default())
        );
    }

    #[test]
    fn joins_surrogate_pairs() {
        // der_ucs2_emoji (project-derived vector): U+1F510 is D83D DD10.
        let data = [0x00, 0x36, 0x00, 0x20, 0xD8, 0x3D, 0xDD, 0x10, 0x00, 0x20];
        assert_eq!(decode_strict(&data).unwrap(), "6 \u{1F510} ");
        assert_eq!(encode("6 \u{1F510} "), data);
    }

    #[test]
    fn odd_length_is_reported_not_decoded() {
        let data = [0x00, 0x41, 0x00];
        assert_eq!(
            lossy(&data),
            (
                "A".to_string(),
                Ucs2Report {
                    odd_length: true,
                    lone_surrogates: 0
                }
            )
        );
        let err = decode_strict(&data).unwrap_err();
        assert_eq!((err.kind, err.offset), (ErrorKind::Ucs2, 2));
    }

    #[test]
    fn lone_high_surrogate_at_end() {
        // der_ucs2_split_surrogate_1 ends its part with the high half D83D.
        let data = [0xD8, 0x3D, 0xDE, 0x31, 0xD8, 0x3D];
        let (text, report) = lossy(&data);
        assert_eq!(text, "\u{1F631}\u{FFFD}");
        assert_eq!(report.lone_surrogates, 1);
        let err = decode_strict(&data).unwrap_err();
        assert_eq!((err.kind, err.offset), (ErrorKind::Ucs2, 4));
    }

    #[test]
    fn lone_low_surrogate_at_start() {
        // der_ucs2_split_surrogate_2 starts its part with the low half DE31.
        let data = [0xDE, 0x31, 0xD8, 0x3D, 0xDE, 0x31];
        let (text, report) = lossy(&data);
        assert_eq!(text, "\u{FFFD}\u{1F631}");
        assert_eq!(report.lone_surrogates, 1);
        let err = decode_strict(&data).unwrap_err();
        assert_eq!((err.kind, err.offset), (ErrorKind::Ucs2, 0));
    }

    #[test]
    fn high_surrogate_followed_by_bmp_char() {
        let data = [0x00, 0x41, 0xD8, 0x3D, 0x00, 0x42];
        let (text, report) = lossy(&data);
        assert_eq!(text, "A\u{FFFD}B");
        assert_eq!(report.lone_surrogates, 1);
        assert_eq!(decode_strict(&data).unwrap_err().offset, 2);
    }

    #[test]
    fn lone_surrogate_reported_before_odd_length() {
        let data = [0xDC, 0x00, 0x41];
        assert_eq!(decode_strict(&data).unwrap_err().offset, 0);
        assert_eq!(
            lossy(&data).1,
            Ucs2Report {
                odd_length: true,
                lone_surrogates: 1
            }
        );
    }

    #[test]
    fn empty_input() {
        assert_eq!(decode_strict(&[]).unwrap(), "");
        assert_eq!(lossy(&[]), (String::new(), Ucs2Report::default()));
        assert!(encode("").is_empty());
    }

    proptest! {
        #[test]
        fn round_trips_any_text(text in any::<String>()) {
            let data = encode(&text);
            prop_assert_eq!(decode_strict(&data).unwrap(), text.clone());
            prop_assert_eq!(lossy(&data), (text, Ucs2Report::default()));
        }

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let (text, report) = lossy(&data);
            prop_assert_eq!(report.odd_length, data.len() % 2 == 1);
            match decode_strict(&data) {
                Ok(strict) => prop_assert_eq!(strict, text),
                Err(err) => {
                    prop_assert_eq!(err.kind, ErrorKind::Ucs2);
                    prop_assert!(err.offset < data.len());
                    prop_assert!(report.odd_length || report.lone_surrogates > 0);
                }
            }
        }
    }
}
