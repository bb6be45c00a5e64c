//! Origin-bound one-time codes (WICG `sms-one-time-codes`).
//!
//! The last line of such a message is `@<host> #<code>`, optionally followed
//! by ` %<embedded host>`; fields are separated by exactly one space and any
//! text after the recognised fields is ignored. When the line is present the
//! code is known exactly, so no heuristics run.

/// A parsed origin-bound line; positions are code-point indices into the text.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OriginBound {
    pub code: String,
    pub start: usize,
    pub end: usize,
    pub origin: String,
    pub embedded: Option<String>,
}

/// A field value: everything up to the next ASCII whitespace. Returns the
/// value and the rest of the line.
fn field(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| c.is_ascii_whitespace()).unwrap_or(s.len());
    s.split_at(end)
}

/// Parses the origin-bound last line of `text`, if it has one.
pub(crate) fn parse_origin_bound(text: &str) -> Option<OriginBound> {
    // cheap rejection for the common case: no '@' at all
    if !text.as_bytes().contains(&b'@') {
        return None;
    }
    // Trailing blank lines are tolerated; senders and gateways add them.
    let body = text.trim_end_matches(|c: char| c.is_ascii_whitespace());
    let line_start = body.rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let line = body.get(line_start..)?;
    let rest = line.strip_prefix('@')?;
    let (origin, rest) = field(rest);
    let rest = rest.strip_prefix(" #")?;
    let (code, rest) = field(rest);
    if origin.is_empty() || code.is_empty() {
        return None;
    }
    let embedded = match rest.strip_prefix(" %") {
        Some(rest) => {
            let (host, _) = field(rest);
            if host.is_empty() {
                return None;
            }
            Some(host.to_owned())
        }
        None => None,
    };
    // byte offset of the code: '@' + origin + " #"
    let code_byte = line_start + 1 + origin.len() + 2;
    let start = text.get(..code_byte)?.chars().count();
    Some(OriginBound {
        code: code.to_owned(),
        start,
        end: start + code.chars().count(),
        origin: origin.to_owned(),
        embedded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_spec_example() {
        let text = "747723 is your ExampleCo authentication code.\n\n@example.com #747723";
        let ob = parse_origin_bound(text).expect("origin-bound");
        assert_eq!(ob.code, "747723");
        assert_eq!(ob.origin, "example.com");
        assert_eq!(ob.embedded, None);
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(chars[ob.start..ob.end].iter().collect::<String>(), "747723");
    }

    #[test]
    fn parses_embedded_origin_and_ignores_extensions() {
        let ob = parse_origin_bound("Код 123\r\n@ecommerce.example #123 %payment.example ^future")
            .expect("origin-bound");
        assert_eq!(ob.embedded.as_deref(), Some("payment.example"));
        assert_eq!(ob.code, "123");
        assert_eq!(ob.start, 29);
    }

    #[test]
    fn rejects_malformed_lines() {
        for text in [
            "code @example.com #123",
            "@example.com  #123",
            "@ #123",
            "@example.com #",
            "@example.com #1 %",
            "@example.com #123\nmore text",
        ] {
            assert_eq!(parse_origin_bound(text), None, "{text}");
        }
    }
}
