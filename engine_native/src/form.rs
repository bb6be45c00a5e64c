//! `application/x-www-form-urlencoded` bodies, read the way Python's
//! `urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True)` reads
//! them: fields split on `&`, each a `name=value` pair (blanks kept), `+` a space,
//! `%XX` escapes decoded and the bytes they make read as UTF-8 with every invalid
//! sequence replaced by U+FFFD, an escape that is not two hex digits kept as written.
//!
//! Every carrier webhook body goes through this (Twilio, Plivo, Vonage...), so it is on
//! the ingest path of each HTTP request.

use std::borrow::Cow;
use std::fmt;

/// Why a body is not a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// The body is not UTF-8; `offset` is where the first invalid byte is.
    NotUtf8 { offset: usize },
    /// A field without `=` (an empty one included: `a=1&&b=2`).
    BadField { field: String },
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormError::NotUtf8 { offset } => write!(f, "the form is not UTF-8 (byte {offset})"),
            FormError::BadField { field } => write!(f, "bad form field: {field:?}"),
        }
    }
}

impl std::error::Error for FormError {}

/// A form's `(name, value)` pairs, borrowed from the body where nothing needed decoding.
pub type Fields<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// The fields of a form body, in order. An empty body has none.
pub fn parse_form(body: &[u8]) -> Result<Fields<'_>, FormError> {
    let text = std::str::from_utf8(body).map_err(|e| FormError::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split('&')
        .map(|field| match field.split_once('=') {
            Some((name, value)) => Ok((unquote_form(name), unquote_form(value))),
            None => Err(FormError::BadField {
                field: field.to_owned(),
            }),
        })
        .collect()
}

/// A form name or value: `+` is a space, then `%XX` escapes are decoded.
pub fn unquote_form(text: &str) -> Cow<'_, str> {
    if !text.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(text);
    }
    let spaced = text.replace('+', " ");
    if !spaced.contains('%') {
        return Cow::Owned(spaced);
    }
    // Python unquotes each run of ASCII characters on its own (the other characters are
    // kept as they are), so an escaped sequence split by a non-ASCII character is two
    // invalid sequences, not one character.
    let mut out = String::with_capacity(spaced.len());
    let mut run_start: Option<usize> = None;
    for (at, ch) in spaced.char_indices() {
        if ch.is_ascii() {
            run_start.get_or_insert(at);
        } else {
            if let Some(start) = run_start.take() {
                unquote_ascii_run(&spaced[start..at], &mut out);
            }
            out.push(ch);
        }
    }
    if let Some(start) = run_start {
        unquote_ascii_run(&spaced[start..], &mut out);
    }
    Cow::Owned(out)
}

fn unquote_ascii_run(run: &str, out: &mut String) {
    let bytes = run.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        if byte == b'%' {
            if let (Some(high), Some(low)) = (
                bytes.get(at + 1).and_then(|&b| hex_value(b)),
                bytes.get(at + 2).and_then(|&b| hex_value(b)),
            ) {
                decoded.push(high << 4 | low);
                at += 3;
                continue;
            }
        }
        decoded.push(byte);
        at += 1;
    }
    out.push_str(&String::from_utf8_lossy(&decoded));
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(body: &str) -> Vec<(String, String)> {
        parse_form(body.as_bytes())
            .unwrap()
            .into_iter()
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect()
    }

    fn pair(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn plain_fields_are_borrowed() {
        let parsed = parse_form(b"a=1&b=").unwrap();
        assert!(matches!(parsed[0].0, Cow::Borrowed("a")));
        assert!(matches!(parsed[1].1, Cow::Borrowed("")));
    }

    #[test]
    fn escapes_and_pluses_are_decoded() {
        assert_eq!(
            fields("Body=Your+code+is+4821%21&From=%2B15551234567&x=%E2%82%AC"),
            vec![
                pair("Body", "Your code is 4821!"),
                pair("From", "+15551234567"),
                pair("x", "€")
            ]
        );
        assert_eq!(fields("k%3D=v=w"), vec![pair("k=", "v=w")]);
    }

    #[test]
    fn bad_escapes_are_kept_and_bad_utf8_replaced() {
        assert_eq!(fields("a=%ZZ%4"), vec![pair("a", "%ZZ%4")]);
        assert_eq!(fields("a=%%41"), vec![pair("a", "%A")]);
        assert_eq!(fields("a=%E2%82"), vec![pair("a", "\u{fffd}")]);
        assert_eq!(
            fields("a=%ED%A0%80"),
            vec![pair("a", "\u{fffd}\u{fffd}\u{fffd}")]
        );
        // An escaped sequence cut by a non-ASCII character is read as two runs.
        assert_eq!(fields("a=%C3é%A9"), vec![pair("a", "\u{fffd}é\u{fffd}")]);
    }

    #[test]
    fn what_is_not_a_form_is_refused() {
        assert_eq!(parse_form(b"").unwrap(), vec![]);
        assert_eq!(
            parse_form(b"a=1&&b=2"),
            Err(FormError::BadField {
                field: String::new()
            })
        );
        assert_eq!(
            parse_form(b"a").unwrap_err().to_string(),
            "bad form field: \"a\""
        );
        assert_eq!(
            parse_form(b"a=\xff").unwrap_err(),
            FormError::NotUtf8 { offset: 2 }
        );
    }
}
