//! Character normalisation for code extraction.
//!
//! Codes are matched on a normalised view of the text: decimal digits of any
//! common script become ASCII, full-width ASCII becomes ASCII, odd spaces
//! become a plain space and invisible characters are dropped. Every
//! normalised character remembers its code-point index in the original text,
//! so spans reported to callers point into what they passed in.

/// One normalised character and where it came from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ch {
    /// The character after normalisation.
    pub c: char,
    /// Code-point index of the original character.
    pub idx: u32,
}

/// First code point (the digit zero) of decimal-digit blocks laid out as
/// ten consecutive code points, as Unicode does for these scripts.
const DIGIT_ZEROS: [u32; 21] = [
    0x0660, // Arabic-Indic
    0x06F0, // Extended Arabic-Indic (Persian, Urdu)
    0x07C0, // NKo
    0x0966, // Devanagari
    0x09E6, // Bengali
    0x0A66, // Gurmukhi
    0x0AE6, // Gujarati
    0x0B66, // Oriya
    0x0BE6, // Tamil
    0x0C66, // Telugu
    0x0CE6, // Kannada
    0x0D66, // Malayalam
    0x0DE6, // Sinhala Lith
    0x0E50, // Thai
    0x0ED0, // Lao
    0x0F20, // Tibetan
    0x1040, // Myanmar
    0x17E0, // Khmer
    0x1810, // Mongolian
    0x1946, // Limbu
    0xFF10, // Full-width
];

/// The ASCII digit a decimal digit of another script stands for.
fn ascii_digit(c: char) -> Option<char> {
    let cp = c as u32;
    if cp < 0x0660 {
        return None;
    }
    DIGIT_ZEROS
        .iter()
        .find(|&&zero| cp >= zero && cp < zero + 10)
        .and_then(|&zero| char::from_u32(u32::from(b'0') + (cp - zero)))
}

/// Normalises one character; `None` means the character is invisible and is
/// left out of the normalised view.
pub(crate) fn normalize_char(c: char) -> Option<char> {
    if c.is_ascii() {
        return Some(c);
    }
    match c {
        // zero-width space/joiners, word joiner, BOM, soft hyphen
        '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => None,
        '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => Some(' '),
        '\u{2028}' | '\u{2029}' => Some('\n'),
        // dashes people and gateways use between grouped digits
        '\u{2010}'..='\u{2015}' | '\u{2212}' => Some('-'),
        // full-width ASCII (digits are covered here too)
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21),
        _ => Some(ascii_digit(c).unwrap_or(c)),
    }
}

/// The normalised view of `text`, one entry per kept character.
pub(crate) fn normalize(text: &str, limit: usize) -> Vec<Ch> {
    let mut out = Vec::with_capacity(text.len().min(limit));
    for (idx, c) in text.chars().enumerate().take(limit) {
        if let Some(n) = normalize_char(c) {
            // `limit` keeps indices far below u32::MAX
            out.push(Ch {
                c: n,
                idx: idx as u32,
            });
        }
    }
    out
}

/// Thai vowel and tone marks written above or below the consonant. Gateways
/// and careless senders often lose them, so keywords match without them.
fn is_thai_mark(c: char) -> bool {
    matches!(c, '\u{0E31}' | '\u{0E34}'..='\u{0E3A}' | '\u{0E47}'..='\u{0E4E}')
}

/// Folds a normalised character for keyword matching: lower case, Thai marks
/// dropped (`None`).
pub(crate) fn fold_char(c: char) -> Option<char> {
    if c.is_ascii() {
        return Some(c.to_ascii_lowercase());
    }
    if is_thai_mark(c) {
        return None;
    }
    if c.is_uppercase() {
        return c.to_lowercase().next();
    }
    Some(c)
}

/// Folds a keyword the same way text is folded.
pub(crate) fn fold_str(s: &str) -> String {
    s.chars()
        .filter_map(normalize_char)
        .filter_map(fold_char)
        .collect()
}

/// The folded text used for keyword search, and for each of its bytes the
/// position (in the normalised view) of the character it belongs to.
pub(crate) fn folded(chars: &[Ch]) -> (String, Vec<u32>) {
    let mut text = String::with_capacity(chars.len() * 2);
    let mut map = Vec::with_capacity(chars.len() * 2);
    let mut buf = [0u8; 4];
    for (pos, ch) in chars.iter().enumerate() {
        if let Some(f) = fold_char(ch.c) {
            let encoded = f.encode_utf8(&mut buf);
            text.push_str(encoded);
            map.extend(std::iter::repeat_n(pos as u32, encoded.len()));
        }
    }
    (text, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_of_other_scripts_become_ascii() {
        assert_eq!(normalize_char('٣'), Some('3'));
        assert_eq!(normalize_char('۷'), Some('7'));
        assert_eq!(normalize_char('๙'), Some('9'));
        assert_eq!(normalize_char('５'), Some('5'));
        assert_eq!(normalize_char('४'), Some('4'));
        assert_eq!(normalize_char('Ａ'), Some('A'));
        assert_eq!(normalize_char('\u{200B}'), None);
        assert_eq!(normalize_char('ก'), Some('ก'));
    }

    #[test]
    fn folding_drops_thai_marks_and_case() {
        assert_eq!(fold_str("รหัสยืนยัน"), fold_str("รหสยนยน"));
        assert_eq!(fold_str("КОД"), "код");
        assert_eq!(fold_str("OTP"), "otp");
    }

    #[test]
    fn indices_skip_invisible_characters() {
        let chars = normalize("a\u{200B}b", 100);
        assert_eq!(chars.len(), 2);
        assert_eq!(chars[1].idx, 2);
    }
}
