//! One-time code extraction from SMS text.
//!
//! [`extract`] returns the code a person would type, where it is in the
//! text, how sure we are, and the origin when the message ends with an
//! origin-bound line (`@example.com #123456`).
//!
//! Without such a line the code is found heuristically: code-shaped tokens
//! (see [`candidates`]) are scored by the context words around them (see
//! [`keywords`]) in many languages; amounts, dates, times, phone numbers,
//! years, durations, links and labelled numbers (reference, order, tracking,
//! account...) are excluded. A token with no code word near it is never a
//! code, which keeps precision high on ordinary and promotional messages.
//!
//! Pure Rust, no allocation beyond a few small vectors per message, and no
//! panics on any input.

mod candidates;
mod keywords;
mod normalize;
mod origin;

use candidates::{find_candidates, Candidate, Shape};
use keywords::{find_labels, Kind, Label};
use normalize::{normalize, Ch};

/// A one-time code found in a message.
#[derive(Clone, Debug, PartialEq)]
pub struct Otp {
    /// The code as a person types it: digits of any script as ASCII digits,
    /// group separators and letter prefixes dropped, letters kept with their case.
    pub code: String,
    /// Code-point index of the first character of the code as written.
    pub start: usize,
    /// Code-point index after the last character of the code as written.
    pub end: usize,
    /// How sure the extractor is, from 0 to 1 (1 for origin-bound codes).
    pub confidence: f32,
    /// The host of an origin-bound line (`@host #code`).
    pub origin: Option<String>,
    /// The embedded host of an origin-bound line (`%host`).
    pub embedded_origin: Option<String>,
}

/// Only the start of long texts is searched; real code messages are short.
const MAX_CHARS: usize = 1000;
/// Scores below this are not reported.
const THRESHOLD: f32 = 0.45;
/// How far (in characters) a context word reaches.
const REACH: usize = 60;

/// Extracts the one-time code of `text`, if it has one.
pub fn extract(text: &str) -> Option<Otp> {
    if let Some(ob) = origin::parse_origin_bound(text) {
        return Some(Otp {
            code: ob.code,
            start: ob.start,
            end: ob.end,
            confidence: 1.0,
            origin: Some(ob.origin),
            embedded_origin: ob.embedded,
        });
    }
    let normalized = normalize(text, MAX_CHARS);
    let chars = normalized.chars.as_slice();
    let candidates = find_candidates(chars);
    if candidates.is_empty() {
        return None;
    }
    let labels = find_labels(&normalized);
    let context = Context {
        chars,
        labels: &labels,
        commercial: labels
            .iter()
            .any(|l| matches!(l.kind, Kind::Promo | Kind::Currency))
            || chars.iter().any(|ch| "%$€£¥₹฿₽₺₩₫".contains(ch.c)),
        retriever: has_retriever_marks(chars),
    };
    let mut best: Option<(f32, &Candidate)> = None;
    for candidate in &candidates {
        let score = context.score(candidate);
        if score >= THRESHOLD && best.is_none_or(|(b, _)| score > b) {
            best = Some((score, candidate));
        }
    }
    let (score, candidate) = best?;
    Some(Otp {
        code: candidate.code.clone(),
        start: chars.get(candidate.start)?.idx as usize,
        end: chars.get(candidate.end.checked_sub(1)?)?.idx as usize + 1,
        confidence: score.min(1.0),
        origin: None,
        embedded_origin: None,
    })
}

/// SMS Retriever messages start with `<#>` (or `[#]`) or end with the
/// app's 11-character hash; both say the message carries a code.
fn has_retriever_marks(chars: &[Ch]) -> bool {
    let mut head = chars
        .iter()
        .skip_while(|ch| ch.c.is_whitespace())
        .map(|ch| ch.c);
    if matches!(
        (head.next(), head.next(), head.next()),
        (Some('<'), Some('#'), Some('>')) | (Some('['), Some('#'), Some(']'))
    ) {
        return true;
    }
    let tail = chars.iter().rev().skip_while(|ch| ch.c.is_whitespace());
    let hash = tail
        .clone()
        .take_while(|ch| ch.c.is_ascii_alphanumeric() || ch.c == '+' || ch.c == '/')
        .count();
    let before = tail.clone().nth(hash).map_or(' ', |ch| ch.c);
    let kinds = tail.take(hash).fold((false, false), |(d, l), ch| {
        (d || ch.c.is_ascii_digit(), l || ch.c.is_ascii_lowercase())
    });
    hash == 11 && (before.is_whitespace() || !before.is_ascii()) && (kinds.0 || kinds.1)
}

struct Context<'a> {
    chars: &'a [Ch],
    labels: &'a [Label],
    /// Prices, discounts, coupons: generic words like "code" are then promo codes.
    commercial: bool,
    retriever: bool,
}

/// How much a context word `gap` characters away still counts.
fn decay(gap: usize) -> f32 {
    match gap {
        0..=3 => 1.0,
        4..=12 => 0.95,
        13..=25 => 0.85,
        26..=40 => 0.75,
        _ => 0.6,
    }
}

fn shape_weight(candidate: &Candidate) -> f32 {
    match candidate.shape {
        Shape::Digits(6) => 1.0,
        Shape::Grouped | Shape::Prefixed => 0.97,
        Shape::Digits(4) => 0.92,
        Shape::Digits(_) => 0.88,
        Shape::Alphanumeric => 0.75,
    }
}

/// 19xx and 20xx, and 25xx of the Thai Buddhist era.
fn is_year(candidate: &Candidate) -> bool {
    candidate.shape == Shape::Digits(4)
        && ["19", "20", "25"]
            .iter()
            .any(|century| candidate.code.starts_with(century))
}

impl Context<'_> {
    fn has_digit(&self, from: usize, to: usize) -> bool {
        self.chars
            .get(from..to)
            .is_some_and(|s| s.iter().any(|ch| ch.c.is_ascii_digit()))
    }

    fn score(&self, candidate: &Candidate) -> f32 {
        let lead = candidate.lead;
        let end = candidate.end;
        let split = self.labels.partition_point(|l| (l.end as usize) <= lead);
        let mut context: f32 = if self.retriever { 0.55 } else { 0.0 };
        let mut factor: f32 = 1.0;
        let mut adjacent_code_word = false;

        for (n, label) in self.labels[..split].iter().rev().enumerate() {
            let gap = lead - label.end as usize;
            if gap > REACH {
                break;
            }
            // a label describes the first number after it: "order #88213 is 093786"
            let nearest = n == 0 && !self.has_digit(label.end as usize, lead);
            match label.kind {
                Kind::Strong => context = context.max(decay(gap)),
                Kind::Weak if !self.commercial && gap <= 30 => {
                    context = context.max(0.8 * decay(gap))
                }
                Kind::Enter if nearest && gap <= 3 => context = context.max(0.65),
                Kind::Negative if nearest && gap <= 20 => return 0.0,
                Kind::SoftNegative if nearest && gap <= 3 => factor *= 0.6,
                Kind::Currency if nearest && gap <= 1 => return 0.0,
                _ => {}
            }
            if nearest && gap <= 3 && matches!(label.kind, Kind::Strong | Kind::Weak) {
                adjacent_code_word = true;
            }
        }
        let positive_before = context > 0.0;
        let after = self.labels[split..]
            .iter()
            .filter(|l| l.start as usize >= end);
        for (n, label) in after.enumerate() {
            let gap = label.start as usize - end;
            if gap > REACH {
                break;
            }
            let nearest = n == 0;
            match label.kind {
                Kind::Strong => context = context.max(0.9 * decay(gap)),
                Kind::Weak if !self.commercial && gap <= 20 => {
                    context = context.max(0.7 * decay(gap))
                }
                Kind::Currency | Kind::Unit if nearest && gap <= 1 => return 0.0,
                Kind::Negative | Kind::SoftNegative if nearest && gap <= 12 && !positive_before => {
                    factor *= 0.5;
                }
                _ => {}
            }
        }
        if is_year(candidate) && !adjacent_code_word {
            return 0.0;
        }
        context * factor * shape_weight(candidate)
    }
}

#[cfg(test)]
mod tests;
