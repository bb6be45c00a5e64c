//! Building SMS-DELIVER TPDUs: what an SMSC sends a phone. The test suite
//! round-trips through it and the sandbox carrier uses it to fake deliveries.
//!
//! Text goes out as GSM 7-bit when the chosen tables can carry it, UCS-2
//! (UTF-16BE) otherwise, split into concatenated parts when it does not fit
//! one. A GSM 7-bit ESC pair is never split across parts; a UTF-16 surrogate
//! pair is split only when [`DeliverOptions::split_surrogates`] asks for it,
//! to reproduce carriers that cut at a fixed 134 octets.

use std::ops::Range;

use crate::address;
use crate::error::{CodecError, ErrorKind};
use crate::gsm7;
use crate::scts;
use crate::sms::Timestamp;
use crate::ucs2;
use crate::udh::{IEI_CONCAT_16, IEI_CONCAT_8, IEI_LOCKING_SHIFT, IEI_SINGLE_SHIFT};

/// Septets in one GSM 7-bit TP-UD.
const MAX_SEPTETS: usize = 160;
/// Octets in one TP-UD.
const MAX_OCTETS: usize = 140;

/// How [`encode_deliver`] builds its parts; `Default` gives plain SMS-DELIVERs
/// without an SMSC block, default tables, PID 0, no message class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliverOptions {
    /// Put an SMSC block (`+` and digits, or digits) before each TPDU; `Some("")` gives `00`.
    pub smsc: Option<String>,
    /// National language locking shift table (NLI, 0 = default); sent as IEI 0x25.
    pub locking_shift: u8,
    /// National language single shift table (NLI, 0 = default); sent as IEI 0x24.
    pub single_shift: u8,
    /// Send UCS-2 even when GSM 7-bit would do.
    pub force_ucs2: bool,
    /// Use the 16-bit concatenation reference even when the reference is below 256.
    pub reference_16bit: bool,
    /// Cut UCS-2 parts at a fixed size even inside a surrogate pair.
    pub split_surrogates: bool,
    /// TP-PID.
    pub pid: u8,
    /// Message class 0..=3 (DCS bit 4 set), or none.
    pub message_class: Option<u8>,
}

/// Build the SMS-DELIVER TPDUs carrying `text` from `sender` (numeric with
/// optional `+`, or alphanumeric up to 11 GSM 7-bit septets).
///
/// `reference` is the concatenation reference, used when more than one part
/// is needed: an 8-bit element (IEI 0x00) when it is below 256 and
/// `reference_16bit` is off, else a 16-bit one (IEI 0x08).
///
/// Errors: a sender that cannot be encoded (Gsm7 or Pdu); a timestamp outside
/// 2000..=2099 or with an offset that is not whole quarter hours within
/// ±18:00, a message class above 3, or text that needs more than 255 parts
/// (Pdu). Text the chosen GSM 7-bit tables cannot carry goes out as UCS-2.
pub fn encode_deliver(
    text: &str,
    sender: &str,
    scts: Timestamp,
    reference: u16,
    options: &DeliverOptions,
) -> Result<Vec<Vec<u8>>, CodecError> {
    let mut originator = Vec::with_capacity(12);
    address::encode_tp(sender, &mut originator)?;
    let timestamp = scts::encode(&scts).ok_or_else(|| {
        CodecError::new(
            ErrorKind::Pdu,
            0,
            format!("timestamp {scts:?} cannot be sent as an SCTS"),
        )
    })?;
    let class_bits = match options.message_class {
        None => 0,
        Some(class @ 0..=3) => 0x10 | class,
        Some(class) => {
            return Err(CodecError::new(
                ErrorKind::Pdu,
                0,
                format!("message class {class} is not 0..=3"),
            ))
        }
    };
    let septets = if options.force_ucs2 {
        None
    } else {
        gsm7::encode(text, options.locking_shift, options.single_shift).ok()
    };
    let concat_len = if reference < 256 && !options.reference_16bit {
        5
    } else {
        6
    };
    let (payload, dcs, shift_elements) = match septets {
        Some(septets) => {
            let mut shifts = Vec::new();
            if options.locking_shift != 0 {
                shifts.extend_from_slice(&[IEI_LOCKING_SHIFT, 1, options.locking_shift]);
            }
            if options.single_shift != 0 {
                shifts.extend_from_slice(&[IEI_SINGLE_SHIFT, 1, options.single_shift]);
            }
            (Payload::Septets(septets), class_bits, shifts)
        }
        None => (
            Payload::Octets(ucs2::encode(text)),
            0x08 | class_bits,
            Vec::new(),
        ),
    };
    let chunks = payload.split(shift_elements.len(), concat_len, options.split_surrogates);
    let total = u8::try_from(chunks.len()).map_err(|_| {
        CodecError::new(
            ErrorKind::Pdu,
            0,
            format!("text needs {} parts, more than 255", chunks.len()),
        )
    })?;
    let mut pdus = Vec::with_capacity(chunks.len());
    for (seq, chunk) in (1..=total).zip(chunks) {
        let mut header = Vec::new();
        if !shift_elements.is_empty() || total > 1 {
            header.push(0);
            header.extend_from_slice(&shift_elements);
            if total > 1 {
                if concat_len == 5 {
                    header.extend_from_slice(&[IEI_CONCAT_8, 3, reference as u8, total, seq]);
                } else {
                    let [high, low] = reference.to_be_bytes();
                    header.extend_from_slice(&[IEI_CONCAT_16, 4, high, low, total, seq]);
                }
            }
            header[0] = (header.len() - 1) as u8;
        }
        let mut pdu = Vec::with_capacity(32 + MAX_OCTETS);
        if let Some(smsc) = &options.smsc {
            address::encode_smsc(smsc, &mut pdu)?;
        }
        // MTI 00; TP-MMS (bit 2) set means no more messages: only the last part has it.
        let mut first_octet = if seq == total { 0x04 } else { 0x00 };
        if !header.is_empty() {
            first_octet |= 0x40;
        }
        pdu.push(first_octet);
        pdu.extend_from_slice(&originator);
        pdu.push(options.pid);
        pdu.push(dcs);
        pdu.extend_from_slice(&timestamp);
        match &payload {
            Payload::Septets(septets) => {
                let fill = fill_bits(header.len());
                let header_septets = (header.len() * 8 + usize::from(fill)) / 7;
                let text = &septets[chunk];
                let udl = header_septets + text.len();
                pdu.push(udl as u8);
                let ud_start = pdu.len();
                pdu.extend_from_slice(&header);
                pdu.extend_from_slice(&gsm7::pack(text, fill));
                // A header-only part still needs every octet its UDL covers.
                pdu.resize(ud_start + gsm7::packed_len(0, udl), 0);
            }
            Payload::Octets(bytes) => {
                pdu.push((header.len() + chunk.len()) as u8);
                pdu.extend_from_slice(&header);
                pdu.extend_from_slice(&bytes[chunk]);
            }
        }
        pdus.push(pdu);
    }
    Ok(pdus)
}

/// Fill bits that pad a header of `header_octets` (UDHL included) to a septet boundary.
fn fill_bits(header_octets: usize) -> u8 {
    ((7 - header_octets * 8 % 7) % 7) as u8
}

enum Payload {
    /// Unpacked septets, ESC pairs included.
    Septets(Vec<u8>),
    /// UTF-16BE.
    Octets(Vec<u8>),
}

impl Payload {
    fn len(&self) -> usize {
        match self {
            Self::Septets(units) | Self::Octets(units) => units.len(),
        }
    }

    /// Units that fit one part whose header has `header_octets` (UDHL included, 0 for none).
    fn capacity(&self, header_octets: usize) -> usize {
        match self {
            Self::Septets(_) => {
                let header_septets =
                    (header_octets * 8 + usize::from(fill_bits(header_octets))) / 7;
                MAX_SEPTETS - header_septets
            }
            // Whole UTF-16 code units only.
            Self::Octets(_) => (MAX_OCTETS - header_octets) & !1,
        }
    }

    /// The ranges of units each part carries.
    fn split(
        &self,
        shift_len: usize,
        concat_len: usize,
        split_surrogates: bool,
    ) -> Vec<Range<usize>> {
        let len = self.len();
        let single_header = if shift_len == 0 { 0 } else { 1 + shift_len };
        if len <= self.capacity(single_header) {
            return std::iter::once(0..len).collect();
        }
        let capacity = self.capacity(1 + shift_len + concat_len);
        let mut chunks = Vec::with_capacity(len / capacity + 1);
        let mut start = 0;
        while start < len {
            let mut end = (start + capacity).min(len);
            if end < len {
                end = match self {
                    // Never leave an ESC as the last septet of a part: the
                    // receiver would have to carry it into the next one.
                    Self::Septets(septets) => {
                        let mut at = start;
                        while at < end {
                            let step = if septets[at] == gsm7::ESC { 2 } else { 1 };
                            if at + step > end {
                                break;
                            }
                            at += step;
                        }
                        at
                    }
                    Self::Octets(bytes) => {
                        let last_is_high_surrogate = (0xD8..=0xDB).contains(&bytes[end - 2]);
                        if last_is_high_surrogate && !split_surrogates {
                            end - 2
                        } else {
                            end
                        }
                    }
                };
            }
            chunks.push(start..end);
            start = end;
        }
        chunks
    }
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
