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
    /// Byte offset of this character's folded form in [`Normalized::folded`]
    /// (where it would be, for characters folding leaves out).
    pub fold_at: u32,
}

/// The normalised view of a text and its folded form for keyword search.
pub(crate) struct Normalized {
    pub chars: Vec<Ch>,
    /// Lower case, Thai marks dropped: what keywords are searched in.
    pub folded: String,
}

impl Normalized {
    /// The position (in `chars`) of the character whose folded form starts at
    /// or covers byte `at` of `folded`.
    pub fn position(&self, at: usize) -> usize {
        self.chars
            .partition_point(|ch| ch.fold_at as usize <= at)
            .saturating_sub(1)
    }
}

/// The ASCII digit a decimal digit of another script stands for. Unicode
/// lays these digits out as ten consecutive code points per script.
#[inline]
fn ascii_digit(c: char) -> Option<char> {
    let cp = c as u32;
    let zero = match cp {
        0x0660..=0x0669 => 0x0660, // Arabic-Indic
        0x06F0..=0x06F9 => 0x06F0, // Extended Arabic-Indic (Persian, Urdu)
        0x07C0..=0x07C9 => 0x07C0, // NKo
        0x0966..=0x096F => 0x0966, // Devanagari
        0x09E6..=0x09EF => 0x09E6, // Bengali
        0x0A66..=0x0A6F => 0x0A66, // Gurmukhi
        0x0AE6..=0x0AEF => 0x0AE6, // Gujarati
        0x0B66..=0x0B6F => 0x0B66, // Oriya
        0x0BE6..=0x0BEF => 0x0BE6, // Tamil
        0x0C66..=0x0C6F => 0x0C66, // Telugu
        0x0CE6..=0x0CEF => 0x0CE6, // Kannada
        0x0D66..=0x0D6F => 0x0D66, // Malayalam
        0x0E50..=0x0E59 => 0x0E50, // Thai
        0x0ED0..=0x0ED9 => 0x0ED0, // Lao
        0x0F20..=0x0F29 => 0x0F20, // Tibetan
        0x1040..=0x1049 => 0x1040, // Myanmar
        0x17E0..=0x17E9 => 0x17E0, // Khmer
        0x1810..=0x1819 => 0x1810, // Mongolian
        0xFF10..=0xFF19 => 0xFF10, // Full-width
        _ => return None,
    };
    char::from_u32(u32::from(b'0') + (cp - zero))
}

/// Normalises one character; `None` means the character is invisible and is
/// left out of the normalised view.
#[inline]
pub(crate) fn normalize_char(c: char) -> Option<char> {
    let cp = c as u32;
    // fast path: ASCII, and letters of the scripts between the digit blocks
    if cp < 0xA0 || (0x0100..0x0660).contains(&cp) || (0x0E00..0x0E50).contains(&cp) {
        return Some(c);
    }
    match c {
        // zero-width space/joiners, word joiner, BOM, soft hyphen
        '\u{200B}'..='\u{200F}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => None,
        '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => Some(' '),
        '\u{2028}' | '\u{2029}' => Some('\n'),
        // dashes people and gateways use between grouped digits
        '\u{2010}'..='\u{2015}' | '\u{2212}' => Some('-'),
        // full-width letters and digits; full-width punctuation stays as it
        // is, since CJK text uses it as ordinary sentence punctuation
        '\u{FF10}'..='\u{FF19}' | '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}' => {
            char::from_u32(c as u32 - 0xFF01 + 0x21)
        }
        _ => Some(ascii_digit(c).unwrap_or(c)),
    }
}

/// The normalised view of the first `limit` characters of `text`.
pub(crate) fn normalize(text: &str, limit: usize) -> Normalized {
    let mut chars = Vec::with_capacity(text.len().min(limit));
    let mut folded = String::with_capacity(text.len().min(limit * 4));
    let mut rest = text;
    let mut idx: u32 = 0;
    // `limit` keeps indices and offsets far below u32::MAX
    while (idx as usize) < limit {
        let Some(c) = rest.chars().next() else {
            break;
        };
        let fold_at = folded.len() as u32;
        let width = c.len_utf8();
        if c.is_ascii() {
            chars.push(Ch { c, idx, fold_at });
            folded.push(c.to_ascii_lowercase());
        } else if let Some(n) = normalize_char(c) {
            chars.push(Ch { c: n, idx, fold_at });
            match fold_char(n) {
                Some(f) if f == c => folded.push_str(rest.get(..width).unwrap_or_default()),
                Some(f) => folded.push(f),
                None => {}
            }
        }
        rest = rest.get(width..).unwrap_or_default();
        idx += 1;
    }
    Normalized { chars, folded }
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
    // only these blocks have case; skipping the lookup elsewhere is faster
    let cased = matches!(c as u32, 0xC0..=0x24F | 0x370..=0x52F | 0x1E00..=0x1FFF);
    if cased && c.is_uppercase() {
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
        let n = normalize("a\u{200B}Bก\u{0E31}c", 100);
        assert_eq!(n.chars.len(), 5);
        assert_eq!(n.chars[1].idx, 2);
        assert_eq!(n.folded, "abกc");
        assert_eq!(n.position(n.folded.len() - 1), 4);
        assert_eq!(n.position(2), 2);
    }
}
