//! Hex text to bytes, as modems print PDUs (`AT+CMGF=0`).
//!
//! Upper and lower case digits are accepted; whitespace around the text (a
//! trailing CR LF from a modem line) is stripped, whitespace inside is an
//! error like any other non-hex character. An odd number of digits is corrupt
//! input and rejected rather than silently truncated.

use crate::error::{CodecError, ErrorKind};

/// `INVALID` for anything that is not a hex digit.
const INVALID: u8 = 0xFF;

/// The value of each ASCII hex digit, `INVALID` elsewhere.
static NIBBLE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Decode hex text to bytes.
///
/// Errors are of kind [`ErrorKind::Hex`]; the offset is the character index
/// (in `text` as given, surrounding whitespace included) of the first bad
/// character, or, for an odd number of digits, the index just past the last digit.
pub fn decode(text: &str) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    decode_into(text, &mut out)?;
    Ok(out)
}

/// Decode hex text, appending the bytes to `out` (cleared first), so a batch
/// caller can reuse one buffer. On error `out` holds an unspecified prefix.
pub fn decode_into(text: &str, out: &mut Vec<u8>) -> Result<(), CodecError> {
    out.clear();
    let start = text.len() - text.trim_start().len();
    let digits = text.trim().as_bytes();
    // Valid nibbles are below 16 and INVALID has its high bits set, so OR-ing
    // every looked-up value tells in one test at the end whether any digit was
    // bad; the loop itself has no branch and `extend` needs no capacity checks.
    let mut seen = 0u8;
    out.extend(digits.chunks_exact(2).map(|pair| {
        let high = NIBBLE[usize::from(pair[0])];
        let low = NIBBLE[usize::from(pair[1])];
        seen |= high | low;
        high << 4 | low
    }));
    if seen & 0xF0 != 0 {
        let at = digits
            .iter()
            .position(|&d| NIBBLE[usize::from(d)] == INVALID)
            .unwrap_or(0);
        return Err(bad_digit(text, start + at));
    }
    if digits.len() % 2 == 1 {
        if NIBBLE[usize::from(digits[digits.len() - 1])] == INVALID {
            return Err(bad_digit(text, start + digits.len() - 1));
        }
        return Err(CodecError::new(
            ErrorKind::Hex,
            char_index(text, start + digits.len()),
            format!("odd number of hex digits ({})", digits.len()),
        ));
    }
    Ok(())
}

fn bad_digit(text: &str, byte_index: usize) -> CodecError {
    // A multi-byte character is reported at its first byte; back up to it.
    let mut start = byte_index;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let shown = text[start..].chars().next().unwrap_or('?');
    CodecError::new(
        ErrorKind::Hex,
        char_index(text, start),
        format!("{shown:?} is not a hex digit"),
    )
}

/// The character index of a byte index that lies on a character boundary.
fn char_index(text: &str, byte_index: usize) -> usize {
    text.get(..byte_index)
        .map_or(byte_index, |prefix| prefix.chars().count())
}

/// Upper-case hex of `data` (tests, error messages and the encoder's callers).
pub fn encode(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(data.len() * 2);
    for &byte in data {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0F)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn error(text: &str) -> (ErrorKind, usize) {
        let err = decode(text).unwrap_err();
        (err.kind, err.offset)
    }

    #[test]
    fn decodes_upper_and_lower_case() {
        assert_eq!(decode("00ff7Aa0").unwrap(), [0x00, 0xFF, 0x7A, 0xA0]);
        assert_eq!(decode("DEADbeef").unwrap(), [0xDE, 0xAD, 0xBE, 0xEF]);
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn strips_surrounding_whitespace_only() {
        assert_eq!(decode("  0791\r\n").unwrap(), [0x07, 0x91]);
        assert_eq!(error("07 91"), (ErrorKind::Hex, 2));
        assert_eq!(decode(" \t\r\n").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn bad_digit_offsets_count_characters_in_the_given_text() {
        assert_eq!(error("0G"), (ErrorKind::Hex, 1));
        assert_eq!(error("G0"), (ErrorKind::Hex, 0));
        assert_eq!(error("  00x0"), (ErrorKind::Hex, 4));
        // A non-ASCII character: the offset counts characters, not bytes.
        assert_eq!(error("é000"), (ErrorKind::Hex, 0));
        assert_eq!(error("00é0"), (ErrorKind::Hex, 2));
        // Leading non-ASCII whitespace (U+3000, three bytes) is stripped but counted.
        assert_eq!(error("\u{3000}00Z0"), (ErrorKind::Hex, 3));
        assert_eq!(error("\u{3000}000"), (ErrorKind::Hex, 4));
    }

    #[test]
    fn odd_length_is_rejected_at_the_end() {
        // pm_odd_length_truncated (pmarti/python-messaging messaging/test/test_sms.py):
        // a PDU with its last hex digit cut off.
        assert_eq!(error("079"), (ErrorKind::Hex, 3));
        assert_eq!(error(" 079 "), (ErrorKind::Hex, 4));
        // A bad last digit is reported as such, not as an odd length.
        assert_eq!(error("07x"), (ErrorKind::Hex, 2));
    }

    #[test]
    fn encode_is_upper_case() {
        assert_eq!(encode(&[0x07, 0x91, 0xAB]), "0791AB");
    }

    proptest! {
        #[test]
        fn round_trips(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let text = encode(&data);
            prop_assert_eq!(decode(&text).unwrap(), data.clone());
            prop_assert_eq!(decode(&text.to_lowercase()).unwrap(), data);
        }

        #[test]
        fn never_panics(text in ".{0,40}") {
            if let Err(err) = decode(&text) {
                prop_assert_eq!(err.kind, ErrorKind::Hex);
                prop_assert!(err.offset <= text.chars().count());
            }
        }
    }
}
