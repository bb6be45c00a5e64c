//! Code-shaped tokens in the normalised text.
//!
//! A *run* is a maximal stretch of ASCII letters and digits. Runs glued by
//! connectors (`-`, `/`, and `.` `,` `:` between digits, a space between
//! short digit groups) form a *compound*. A compound is a candidate only in
//! a few shapes people type as a code: one run (`482913`, `VN6X8`), two equal
//! digit groups (`318-502`, `803 415`) or an upper-case prefix and a code
//! (`G-345821`, `SSLW - 887121`). Everything else glued together is a date,
//! a time, an amount, a phone number, a URL or an identifier, and is skipped
//! whole.

use super::normalize::Ch;

/// How a candidate is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Only digits, 4 to 8 of them; the count is kept.
    Digits(usize),
    /// Two equal groups of digits: `318-502`, `803 415`.
    Grouped,
    /// Letters then a code: `G-345821`; the letters are not part of the code.
    Prefixed,
    /// Letters and digits, 5 to 8, one case: `VN6X8`, `uk52q3s8`.
    Alphanumeric,
}

/// A code-shaped token.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub shape: Shape,
    /// First position of the whole token, prefix included (normalised view).
    pub lead: usize,
    /// First position of the code as written.
    pub start: usize,
    /// Position after the code as written.
    pub end: usize,
    /// The code as typed: separators removed.
    pub code: String,
}

#[derive(Clone, Copy, Debug)]
struct Run {
    start: usize,
    end: usize,
    digits: usize,
    upper: usize,
    lower: usize,
}

impl Run {
    fn len(&self) -> usize {
        self.end - self.start
    }
    fn is_digits(&self) -> bool {
        self.digits == self.len()
    }
    fn is_upper_letters(&self) -> bool {
        self.upper == self.len()
    }
}

fn runs(chars: &[Ch]) -> Vec<Run> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].c.is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let mut run = Run {
            start: i,
            end: i,
            digits: 0,
            upper: 0,
            lower: 0,
        };
        while let Some(ch) = chars.get(i).filter(|ch| ch.c.is_ascii_alphanumeric()) {
            match ch.c {
                '0'..='9' => run.digits += 1,
                'A'..='Z' => run.upper += 1,
                _ => run.lower += 1,
            }
            i += 1;
        }
        run.end = i;
        out.push(run);
    }
    out
}

fn char_at(chars: &[Ch], i: usize) -> char {
    chars.get(i).map_or('\0', |ch| ch.c)
}

/// How `left` and `right` (consecutive runs) are glued, if they are.
fn connector(chars: &[Ch], left: &Run, right: &Run, first: bool) -> Option<char> {
    let gap = chars.get(left.end..right.start)?;
    let before = char_at(chars, left.end.wrapping_sub(1));
    let after = char_at(chars, right.start);
    let c = |i: usize| gap.get(i).map_or('\0', |ch| ch.c);
    match (gap.len(), c(0), c(1), c(2)) {
        (1, '-' | '/', _, _) => Some(c(0)),
        (1, '.' | ',' | ':', _, _) if before.is_ascii_digit() && after.is_ascii_digit() => {
            Some(c(0))
        }
        (1, ' ', _, _)
            if left.is_digits()
                && right.is_digits()
                && (2..=4).contains(&left.len())
                && (2..=4).contains(&right.len()) =>
        {
            Some(' ')
        }
        (3, ' ', '-', ' ') | (2, ' ', '-', _) | (2, '-', ' ', _)
            if first && left.is_upper_letters() =>
        {
            Some('-')
        }
        _ => None,
    }
}

fn is_mask(chars: &[Ch], run: &Run) -> bool {
    chars
        .get(run.start..run.end)
        .is_some_and(|s| s.iter().all(|ch| ch.c == 'X' || ch.c == 'x'))
}

/// The code text of `chars[start..end]`, separators dropped.
fn code_of(chars: &[Ch], start: usize, end: usize) -> String {
    chars
        .get(start..end)
        .unwrap_or(&[])
        .iter()
        .map(|ch| ch.c)
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// Letters and digits mixed the way codes mix them, not like a word with a
/// number (`EAGLE168`, `call1333`, `24hrs`) or a masked number (`X8429`).
fn mixes_like_a_code(chars: &[Ch], run: &Run) -> bool {
    let Some(s) = chars.get(run.start..run.end) else {
        return false;
    };
    if run.digits == 0 || run.digits == run.len() || (run.upper > 0 && run.lower > 0) {
        return false;
    }
    let transitions = s
        .windows(2)
        .filter(|w| w[0].c.is_ascii_digit() != w[1].c.is_ascii_digit())
        .count();
    if transitions == 1 {
        let letters = run.len() - run.digits;
        let letters_first = !s[0].c.is_ascii_digit();
        if letters_first
            && (letters >= 3 || s.iter().take(letters).all(|ch| ch.c == 'X' || ch.c == 'x'))
        {
            return false;
        }
        if !letters_first && letters >= 2 {
            return false;
        }
    }
    true
}

/// Whether the whitespace-delimited word around `start..end` is a URL or an
/// e-mail address.
fn inside_link(chars: &[Ch], start: usize, end: usize) -> bool {
    const REACH: usize = 80;
    let from = chars
        .get(..start)
        .unwrap_or(&[])
        .iter()
        .rev()
        .take(REACH)
        .take_while(|ch| !ch.c.is_whitespace())
        .count();
    let to = chars
        .get(end..)
        .unwrap_or(&[])
        .iter()
        .take(REACH)
        .take_while(|ch| !ch.c.is_whitespace())
        .count();
    let word = chars.get(start - from..end + to).unwrap_or(&[]);
    let at = |i: usize| word.get(i).map_or('\0', |ch| ch.c.to_ascii_lowercase());
    let mut slash = false;
    let mut domain = false;
    for i in 0..word.len() {
        match at(i) {
            '@' => return true,
            '/' if at(i + 1) == '/' && i > 0 && at(i - 1) == ':' => return true,
            '/' => slash = true,
            'w' if at(i + 1) == 'w' && at(i + 2) == 'w' && at(i + 3) == '.' => return true,
            // a domain: "bit.ly", "m9s.in"
            '.' if i > 0
                && at(i - 1).is_ascii_alphanumeric()
                && at(i + 1).is_ascii_alphabetic()
                && at(i + 2).is_ascii_alphabetic() =>
            {
                domain = true;
            }
            _ => {}
        }
    }
    // a domain followed by a path: "bit.ly/x", "m9s.in/r61n66"
    domain && slash
}

/// Characters that make the neighbouring number something other than a code.
fn bad_neighbours(chars: &[Ch], start: usize, end: usize) -> bool {
    let before = char_at(chars, start.wrapping_sub(1));
    let before2 = char_at(chars, start.wrapping_sub(2));
    let after = char_at(chars, end);
    let after2 = char_at(chars, end + 1);
    let currency = |c: char| "$€£¥₹฿₽₺₩₫₴₱₦₪".contains(c);
    // "6--7893", "(-1234": a stray dash glued to something is not a separator
    let stray_dash = before == '-' && !(before2 == '\0' || before2.is_whitespace());
    // "4:G-345821", "1.G-345821": glued to a preceding number
    let after_number = matches!(before, ':' | '.' | ',') && before2.is_ascii_digit();
    stray_dash
        || after_number
        || matches!(before, '*' | '+' | '@' | '_')
        || matches!(after, '*' | '#' | '%' | '@' | '_')
        || currency(before)
        || (before == ' ' && currency(before2))
        || currency(after)
        || (after == ' ' && (currency(after2) || after2 == '%'))
}

/// All candidates of `chars`, in order.
pub(crate) fn find_candidates(chars: &[Ch]) -> Vec<Candidate> {
    let runs = runs(chars);
    let mut out = Vec::new();
    let mut i = 0;
    while i < runs.len() {
        // gather the compound starting at run i: runs[i..j], glued by `glue`
        let mut j = i + 1;
        let mut glue = '\0';
        while let (Some(last), Some(next)) = (runs.get(j - 1), runs.get(j)) {
            match connector(chars, last, next, j == i + 1) {
                Some(c) => {
                    glue = c;
                    j += 1;
                }
                None => break,
            }
        }
        let parts = &runs[i..j];
        i = j;
        let (first, last) = (parts[0], parts[parts.len() - 1]);
        let candidate = match (parts, glue) {
            ([run], _) if run.is_digits() && (4..=8).contains(&run.len()) => {
                Some((Shape::Digits(run.len()), *run))
            }
            ([run], _) if (5..=8).contains(&run.len()) && mixes_like_a_code(chars, run) => {
                Some((Shape::Alphanumeric, *run))
            }
            ([a, b], '-' | ' ')
                if a.is_digits()
                    && b.is_digits()
                    && a.len() == b.len()
                    && (3..=4).contains(&a.len()) =>
            {
                Some((Shape::Grouped, Run { end: b.end, ..*a }))
            }
            ([a, b], '-')
                if a.is_upper_letters()
                    && a.len() <= 6
                    && !is_mask(chars, a)
                    && ((b.is_digits() && (4..=8).contains(&b.len()))
                        || ((5..=8).contains(&b.len()) && mixes_like_a_code(chars, b))) =>
            {
                Some((Shape::Prefixed, *b))
            }
            _ => None,
        };
        // checked last: they read the surroundings, which costs more
        let candidate = candidate.filter(|_| {
            !bad_neighbours(chars, first.start, last.end)
                && !inside_link(chars, first.start, last.end)
        });
        if let Some((shape, run)) = candidate {
            out.push(Candidate {
                shape,
                lead: first.start,
                start: run.start,
                end: run.end,
                code: code_of(chars, run.start, run.end),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::normalize::normalize;
    use super::*;

    fn codes(text: &str) -> Vec<String> {
        find_candidates(&normalize(text, 1000).chars)
            .into_iter()
            .map(|c| c.code)
            .collect()
    }

    #[test]
    fn shapes() {
        assert_eq!(codes("is 482913."), ["482913"]);
        assert_eq!(codes("is 318-502 or 803 415"), ["318502", "803415"]);
        assert_eq!(codes("G-345821 and SSLW - 887121"), ["345821", "887121"]);
        assert_eq!(
            codes("VN6X8 uk52q3s8 123ABC78"),
            ["VN6X8", "uk52q3s8", "123ABC78"]
        );
    }

    #[test]
    fn compounds_are_skipped() {
        assert!(codes("23/05/2565 15:41:47 1,500.00 02-111-1111 2021-11-28").is_empty());
        assert!(codes("081 234 5678 *101*1# +66812345678 12 345").is_empty());
        assert!(codes("EAGLE168 call1333 24hrs X8429 XX-7303 ftaOwfi0").is_empty());
        assert!(codes("bit.ly/2GB2VcR a@b1234.com $1234 1234 € 50%").is_empty());
        assert!(codes("3e30e7fa-da54-4efd-b6fc-e96d1495ac21 0P1dUnbmS/K").is_empty());
    }

    #[test]
    fn other_digits_are_normalised() {
        assert_eq!(codes("١٢٣٤٥٦"), ["123456"]);
        assert_eq!(codes("๑๒๓๔"), ["1234"]);
        assert_eq!(codes("１２３４５６"), ["123456"]);
    }
}
