//! Joining the parts of a concatenated SMS (TS 23.040 §9.2.3.24.1) into one text.
//!
//! Parts may come in any order and more than once. Each part carries its own
//! DCS, so one message can mix GSM 7-bit and UCS-2 parts:
//! * GSM 7-bit parts are decoded one by one with their own national language
//!   tables; an ESC left dangling at the end of a part escapes the first
//!   septet of the next part when that part is present, directly follows and
//!   is GSM 7-bit too (otherwise it is dropped and flagged).
//! * Runs of consecutive UCS-2 parts are joined as bytes and decoded once, so
//!   a surrogate pair split across two parts (134 octets per part is 67 code
//!   units) still makes one character. A part with an odd number of octets
//!   contributes its whole code units only (flagged).
//! * A message with any 8-bit (or compressed) part is binary: `text` is None
//!   and `user_data` holds every present part's user data joined in order.
//!
//! Missing parts are allowed: the text joins what is present in sequence
//! order with nothing inserted for a gap, and `missing` lists the gaps.

use crate::error::{CodecError, ErrorKind};
use crate::gsm7;
use crate::sms::{flags, Alphabet, Sms};
use crate::ucs2;

/// The flags that describe the text; reassembly recomputes them for the joined text.
const TEXT_FLAGS: u32 =
    flags::TRAILING_ESCAPE | flags::UCS2_ODD_LENGTH | flags::UCS2_LONE_SURROGATE;

/// One message made of its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled {
    /// The joined text; None when a part is 8-bit or compressed.
    pub text: Option<String>,
    /// The joined user data of a binary message (see `text`); empty otherwise.
    pub user_data: Vec<u8>,
    /// The number of parts the message has.
    pub total: u8,
    /// Sequence numbers present, ascending.
    pub present: Vec<u8>,
    /// Sequence numbers missing, ascending; the message is complete when empty.
    pub missing: Vec<u8>,
    /// Parts given again with a sequence number already seen (the first one is kept).
    pub duplicates: usize,
    /// `flags::*`: the text flags of the joined text, and the other flags of any kept part.
    pub flags: u32,
}

impl Reassembled {
    /// Every part is present.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }
}

/// Join the parts of one message. A lone part without a concatenation
/// element is a one-part message.
///
/// Errors (kind Reassembly, offset = index of the offending part in `parts`):
/// no parts; a part without a concatenation element among several; a part
/// whose kind, address (value and TON), reference, reference width or total
/// differs from the first part's; a sequence number outside `1..=total`;
/// user data that is not septets in a GSM 7-bit part.
pub fn reassemble(parts: &[&Sms]) -> Result<Reassembled, CodecError> {
    let Some(first) = parts.first() else {
        return Err(error(0, "no parts to reassemble"));
    };
    let total = match (parts.len(), first.concat) {
        (1, None) => 1,
        (_, Some(concat)) => concat.total,
        (_, None) => return Err(error(0, "part has no concatenation element")),
    };
    // Slot `seq - 1` holds the first part seen with that sequence number.
    let mut slots: Vec<Option<(usize, &Sms)>> = vec![None; usize::from(total)];
    let mut duplicates = 0;
    for (index, part) in parts.iter().enumerate() {
        let seq = if first.concat.is_none() {
            1
        } else {
            check_same_message(index, first, part)?
        };
        if seq == 0 || seq > total {
            return Err(error(
                index,
                format!("sequence number {seq} is outside 1..={total}"),
            ));
        }
        let slot = &mut slots[usize::from(seq - 1)];
        if slot.is_some() {
            duplicates += 1;
        } else {
            *slot = Some((index, part));
        }
    }
    let mut present = Vec::with_capacity(slots.len());
    let mut missing = Vec::new();
    let mut part_flags = 0;
    for (seq, slot) in (1..=total).zip(&slots) {
        match slot {
            Some((_, part)) => {
                present.push(seq);
                part_flags |= part.flags & !TEXT_FLAGS;
            }
            None => missing.push(seq),
        }
    }
    let binary = slots
        .iter()
        .flatten()
        .any(|(_, part)| part.dcs.compressed || part.dcs.alphabet == Alphabet::EightBit);
    let (text, user_data, text_flags) = if binary {
        let joined = slots
            .iter()
            .flatten()
            .flat_map(|(_, part)| part.user_data.iter().copied())
            .collect();
        (None, joined, 0)
    } else {
        let (text, text_flags) = join_text(&slots)?;
        (Some(text), Vec::new(), text_flags)
    };
    Ok(Reassembled {
        text,
        user_data,
        total,
        present,
        missing,
        duplicates,
        flags: part_flags | text_flags,
    })
}

/// The part's sequence number, if it belongs with `first`.
fn check_same_message(index: usize, first: &Sms, part: &Sms) -> Result<u8, CodecError> {
    let (Some(expected), Some(concat)) = (first.concat, part.concat) else {
        return Err(error(index, "part has no concatenation element"));
    };
    let differs = if part.kind != first.kind {
        Some("message kind")
    } else if part.address.value != first.address.value || part.address.ton != first.address.ton {
        Some("address")
    } else if concat.reference_bits != expected.reference_bits {
        Some("reference width")
    } else if concat.reference != expected.reference {
        Some("reference")
    } else if concat.total != expected.total {
        Some("total")
    } else {
        None
    };
    match differs {
        Some(what) => Err(error(
            index,
            format!("part's {what} differs from the first part's"),
        )),
        None => Ok(concat.seq),
    }
}

/// Decode the present parts in order (see the module notes).
fn join_text(slots: &[Option<(usize, &Sms)>]) -> Result<(String, u32), CodecError> {
    let capacity = slots
        .iter()
        .flatten()
        .map(|(_, part)| part.user_data.len())
        .sum();
    let mut text = String::with_capacity(capacity);
    let mut text_flags = 0;
    let mut ucs2_run: Vec<u8> = Vec::new();
    let mut pending_escape = false;
    for slot in slots {
        let Some((index, part)) = slot else {
            flush_ucs2(&mut ucs2_run, &mut text, &mut text_flags);
            if pending_escape {
                text_flags |= flags::TRAILING_ESCAPE;
                pending_escape = false;
            }
            continue;
        };
        if part.dcs.alphabet == Alphabet::Ucs2 {
            if pending_escape {
                text_flags |= flags::TRAILING_ESCAPE;
                pending_escape = false;
            }
            let whole_units = part.user_data.len() & !1;
            if whole_units != part.user_data.len() {
                text_flags |= flags::UCS2_ODD_LENGTH;
            }
            ucs2_run.extend_from_slice(&part.user_data[..whole_units]);
        } else {
            flush_ucs2(&mut ucs2_run, &mut text, &mut text_flags);
            let decoded = gsm7::decode_septets(
                &part.user_data,
                part.locking_shift,
                part.single_shift,
                pending_escape,
                &mut text,
            )
            .map_err(|err| error(*index, err.reason))?;
            pending_escape = decoded.trailing_escape;
        }
    }
    flush_ucs2(&mut ucs2_run, &mut text, &mut text_flags);
    if pending_escape {
        text_flags |= flags::TRAILING_ESCAPE;
    }
    Ok((text, text_flags))
}

fn flush_ucs2(run: &mut Vec<u8>, text: &mut String, text_flags: &mut u32) {
    if run.is_empty() {
        return;
    }
    let report = ucs2::decode_lossy(run, text);
    if report.lone_surrogates > 0 {
        *text_flags |= flags::UCS2_LONE_SURROGATE;
    }
    run.clear();
}

fn error(index: usize, reason: impl Into<String>) -> CodecError {
    CodecError::new(ErrorKind::Reassembly, index, reason)
}

#[cfg(test)]
#[path = "reassemble_tests.rs"]
mod tests;
