//! The delivery-receipt text of SMPP 3.4 Appendix B:
//! `id:<id> sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DELIVRD err:000 text:...`.
//!
//! The appendix is informative and SMSCs vary: keys in any case (`Text:`),
//! `submit_date` for `submit date`, dates with seconds, fields missing or in
//! another order, and a `text:` tail that may be raw UTF-16BE. Values are
//! kept as the octets the SMSC sent; `text` runs to the end of the input.

/// The fields found in a receipt; each is `None` when its key is absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliveryReceipt {
    /// The message id as the text carries it (often decimal where the
    /// `receipted_message_id` TLV has the same id in hex).
    pub id: Option<Vec<u8>>,
    pub sub: Option<Vec<u8>>,
    pub dlvrd: Option<Vec<u8>>,
    pub submit_date: Option<Vec<u8>>,
    pub done_date: Option<Vec<u8>>,
    /// DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD, ...
    pub stat: Option<Vec<u8>>,
    pub err: Option<Vec<u8>>,
    /// The start of the original message, to the end of the input.
    pub text: Option<Vec<u8>>,
}

/// A receipt date, in the SMSC's (unstated) time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReceiptDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl ReceiptDate {
    /// `YYMMDDhhmm`, `YYMMDDhhmmss` or `YYYYMMDDhhmmss`; two-digit years are 20YY.
    pub fn parse(text: &[u8]) -> Option<Self> {
        if !text.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let (year, rest) = match text.len() {
            10 | 12 => (2000 + number(&text[..2]), &text[2..]),
            14 => (number(&text[..4]), &text[4..]),
            _ => return None,
        };
        let date = Self {
            year,
            month: number(&rest[0..2]) as u8,
            day: number(&rest[2..4]) as u8,
            hour: number(&rest[4..6]) as u8,
            minute: number(&rest[6..8]) as u8,
            second: rest.get(8..10).map_or(0, |s| number(s) as u8),
        };
        let valid = (1..=12).contains(&date.month)
            && (1..=days_in_month(date.year, date.month)).contains(&date.day)
            && date.hour < 24
            && date.minute < 60
            && date.second < 60;
        valid.then_some(date)
    }
}

fn number(digits: &[u8]) -> u16 {
    digits.iter().fold(0, |n, d| n * 10 + u16::from(d - b'0'))
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl DeliveryReceipt {
    pub fn submitted_at(&self) -> Option<ReceiptDate> {
        ReceiptDate::parse(self.submit_date.as_deref()?)
    }

    pub fn done_at(&self) -> Option<ReceiptDate> {
        ReceiptDate::parse(self.done_date.as_deref()?)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Id,
    Sub,
    Dlvrd,
    SubmitDate,
    DoneDate,
    Stat,
    Err,
    Text,
}

/// Keys in lower case; a space in a key also matches `_` or nothing.
const KEYS: [(&[u8], Field); 8] = [
    (b"id", Field::Id),
    (b"sub", Field::Sub),
    (b"dlvrd", Field::Dlvrd),
    (b"submit date", Field::SubmitDate),
    (b"done date", Field::DoneDate),
    (b"stat", Field::Stat),
    (b"err", Field::Err),
    (b"text", Field::Text),
];

/// Where the value starts if a key and its `:` start at `data[at..]`.
fn match_key(data: &[u8], at: usize, key: &[u8]) -> Option<usize> {
    let mut pos = at;
    for &k in key {
        let c = data.get(pos).map(u8::to_ascii_lowercase);
        if k == b' ' {
            if matches!(c, Some(b' ' | b'_')) {
                pos += 1;
            }
        } else if c == Some(k) {
            pos += 1;
        } else {
            return None;
        }
    }
    (data.get(pos) == Some(&b':')).then_some(pos + 1)
}

/// The receipt fields of `data`, or `None` when it has none of the keys.
pub fn parse_delivery_receipt(data: &[u8]) -> Option<DeliveryReceipt> {
    let mut receipt = DeliveryReceipt::default();
    let mut found = false;
    let mut pos = 0;
    while pos < data.len() {
        let at_word_start = pos == 0 || data[pos - 1].is_ascii_whitespace();
        let matched = at_word_start
            .then(|| {
                KEYS.iter()
                    .find_map(|&(key, field)| Some((field, match_key(data, pos, key)?)))
            })
            .flatten();
        let Some((field, value_start)) = matched else {
            pos += 1;
            continue;
        };
        found = true;
        let value_end = if field == Field::Text {
            data.len()
        } else {
            data[value_start..]
                .iter()
                .position(u8::is_ascii_whitespace)
                .map_or(data.len(), |n| value_start + n)
        };
        let slot = match field {
            Field::Id => &mut receipt.id,
            Field::Sub => &mut receipt.sub,
            Field::Dlvrd => &mut receipt.dlvrd,
            Field::SubmitDate => &mut receipt.submit_date,
            Field::DoneDate => &mut receipt.done_date,
            Field::Stat => &mut receipt.stat,
            Field::Err => &mut receipt.err,
            Field::Text => &mut receipt.text,
        };
        if slot.is_none() {
            *slot = Some(data[value_start..value_end].to_vec());
        }
        pos = value_end.max(pos + 1);
    }
    found.then_some(receipt)
}
