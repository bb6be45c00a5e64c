//! Decoding one SMS TPDU (TS 23.040 §9.2): SMS-DELIVER, SMS-STATUS-REPORT and
//! a stored SMS-SUBMIT, from bytes or hex, with or without the SMSC block.
//!
//! Decoding runs in two steps over the bytes: [`layout`] checks every length
//! and finds every field without allocating, then [`build`] decodes the
//! addresses and the text. Automatic SMSC detection lays out both readings
//! and builds only the better one.
//!
//! Error offsets are byte offsets into the input, SMSC block included; where
//! data runs out the offset is the input length.

use crate::address;
use crate::dcs;
use crate::error::CodecError;
use crate::gsm7;
use crate::hex;
use crate::scts;
use crate::sms::{flags, Alphabet, Dcs, MessageKind, Sms, Timestamp, ValidityPeriod};
use crate::ucs2;
use crate::udh::{self, Header};

/// Whether the input starts with an SMSC address block (TS 27.005 PDU mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SmscMode {
    /// Decide from the data (see [`decode`]).
    #[default]
    Auto,
    /// The input is `SMSC block + TPDU` (`+CMT`, `+CMGR`, `+CMGL`).
    Present,
    /// The input is a bare TPDU (often `+CDS` status reports).
    Absent,
}

/// Decode a TPDU from hex text (see [`crate::hex::decode`] for what is accepted).
pub fn decode_hex(
    text: &str,
    smsc: SmscMode,
    tpdu_length: Option<usize>,
) -> Result<Sms, CodecError> {
    let data = hex::decode(text)?;
    decode(&data, smsc, tpdu_length)
}

/// Decode a TPDU from bytes.
///
/// `tpdu_length` is the `<length>` of `+CMT`/`+CMGR`/`+CMGL`: the TPDU octets,
/// SMSC block excluded. When given, it decides whether an SMSC block is there
/// (`total == length` means none, `total == length + 1 + data[0]` means one);
/// an input matching neither (or not the one `smsc` asks for) is an error.
///
/// Without a length, [`SmscMode::Auto`] lays the input out both ways and
/// keeps, in this order of preference:
/// 1. a reading that decodes (if neither does, the error that got further,
///    the SMSC reading on a tie);
/// 2. a reading whose user data (or last field) ends exactly at the end of the input;
/// 3. a reading with fewer oddities (a type-of-address octet without its
///    extension bit, an invalid timestamp, a reserved DCS, an invalid
///    concatenation element);
/// 4. the reading with an SMSC block, the PDU-mode default.
///
/// A leading `00` is both an empty SMSC block and a DELIVER first octet; the
/// rules above tell them apart on every public vector in both forms.
pub fn decode(data: &[u8], smsc: SmscMode, tpdu_length: Option<usize>) -> Result<Sms, CodecError> {
    let layout = match (tpdu_length, smsc) {
        (Some(length), _) => layout_for_length(data, smsc, length)?,
        (None, SmscMode::Present) => layout(data, true)?,
        (None, SmscMode::Absent) => layout(data, false)?,
        (None, SmscMode::Auto) => {
            let with = layout(data, true);
            match with {
                // The SMSC reading wins ties, so when it is as plausible as a reading
                // can be, the bare-TPDU reading cannot beat it: don't lay it out.
                Ok(with) if with.rank() == (false, 0) => with,
                with => match (with, layout(data, false)) {
                    (Ok(with), Ok(without)) => {
                        if without.rank() < with.rank() {
                            without
                        } else {
                            with
                        }
                    }
                    (Ok(with), Err(_)) => with,
                    (Err(_), Ok(without)) => without,
                    (Err(with), Err(without)) => {
                        return Err(if without.offset > with.offset {
                            without
                        } else {
                            with
                        })
                    }
                },
            }
        }
    };
    build(data, layout)
}

/// Where each field is, found without allocating (except a UDH's elements).
struct Layout {
    with_smsc: bool,
    kind: MessageKind,
    first_octet: u8,
    message_reference: Option<u8>,
    /// The offset of the OA/DA/RA length octet.
    address_pos: usize,
    pid: u8,
    dcs: Dcs,
    scts: Option<Timestamp>,
    discharge_time: Option<Timestamp>,
    status: Option<u8>,
    validity_period: Option<ValidityPeriod>,
    user_data: Option<UserData>,
    flags: u32,
    /// How many oddities the reading needed (for [`SmscMode::Auto`]).
    oddities: u32,
}

impl Layout {
    /// Lower is a more plausible reading.
    fn rank(&self) -> (bool, u32) {
        (self.flags & flags::TRAILING_DATA != 0, self.oddities)
    }

    fn flag(&mut self, flag: u32) {
        self.flags |= flag;
        if flag != flags::TRAILING_DATA {
            self.oddities += 1;
        }
    }
}

struct UserData {
    udl: u8,
    header: Option<Header>,
    body: Body,
}

/// The user data after the header.
enum Body {
    /// Packed GSM 7-bit: `count` septets from octet `start` after `fill` bits.
    Septets {
        start: usize,
        fill: u8,
        count: usize,
    },
    /// Octets `start..end`.
    Octets { start: usize, end: usize },
}

fn layout_for_length(data: &[u8], smsc: SmscMode, length: usize) -> Result<Layout, CodecError> {
    let with_smsc_total = data
        .first()
        .map(|&octets| length.saturating_add(1 + usize::from(octets)));
    let present_fits = with_smsc_total == Some(data.len());
    let absent_fits = data.len() == length;
    match smsc {
        SmscMode::Present | SmscMode::Auto if present_fits => layout(data, true),
        SmscMode::Absent | SmscMode::Auto if absent_fits => layout(data, false),
        _ => {
            let expected = match smsc {
                SmscMode::Absent => length,
                _ => with_smsc_total.unwrap_or(length.saturating_add(1)),
            };
            Err(CodecError::pdu(
                data.len().min(expected),
                format!(
                    "{} octets of input do not match a TPDU length of {length} ({})",
                    data.len(),
                    match smsc {
                        SmscMode::Absent => "without an SMSC block".to_string(),
                        SmscMode::Present => format!("with an SMSC block: {expected} expected"),
                        SmscMode::Auto => {
                            format!("{length} expected without an SMSC block, {expected} with one")
                        }
                    }
                ),
            ))
        }
    }
}

fn ran_out(data: &[u8], what: &str) -> CodecError {
    CodecError::pdu(data.len(), format!("data ends before the {what}"))
}

fn octet(data: &[u8], pos: usize, what: &str) -> Result<u8, CodecError> {
    data.get(pos).copied().ok_or_else(|| ran_out(data, what))
}

fn seven(data: &[u8], pos: usize, what: &str) -> Result<[u8; scts::LEN], CodecError> {
    data.get(pos..pos + scts::LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| ran_out(data, what))
}

fn layout(data: &[u8], with_smsc: bool) -> Result<Layout, CodecError> {
    let mut layout = Layout {
        with_smsc,
        kind: MessageKind::Deliver,
        first_octet: 0,
        message_reference: None,
        address_pos: 0,
        pid: 0,
        dcs: dcs::decode(0).0,
        scts: None,
        discharge_time: None,
        status: None,
        validity_period: None,
        user_data: None,
        flags: 0,
        oddities: 0,
    };
    let start = if with_smsc {
        let (end, toa_without_extension_bit) = address::smsc_end(data)?;
        if toa_without_extension_bit {
            layout.flag(flags::TOA_WITHOUT_EXTENSION_BIT);
        }
        end
    } else {
        0
    };
    let first_octet = octet(data, start, "first octet")?;
    layout.first_octet = first_octet;
    let udhi = first_octet & 0x40 != 0;
    let mut pos = start + 1;
    layout.kind = match first_octet & 0x03 {
        0b00 => MessageKind::Deliver,
        0b01 => MessageKind::Submit,
        0b10 => MessageKind::StatusReport,
        _ => {
            return Err(CodecError::pdu(
                start,
                "message type indicator 11 is reserved",
            ))
        }
    };
    if layout.kind != MessageKind::Deliver {
        layout.message_reference = Some(octet(data, pos, "message reference")?);
        pos += 1;
    }
    layout.address_pos = pos;
    let (end, toa_without_extension_bit) = address::tp_end(data, pos)?;
    if toa_without_extension_bit {
        layout.flag(flags::TOA_WITHOUT_EXTENSION_BIT);
    }
    pos = end;
    if layout.kind == MessageKind::StatusReport {
        return status_report_rest(data, pos, udhi, layout);
    }
    layout.pid = octet(data, pos, "protocol identifier")?;
    set_dcs(&mut layout, octet(data, pos + 1, "data coding scheme")?);
    pos += 2;
    if layout.kind == MessageKind::Deliver {
        layout.scts = timestamp(&mut layout, seven(data, pos, "service centre time stamp")?);
        pos += scts::LEN;
    } else {
        pos = validity_period(data, pos, &mut layout)?;
    }
    let user_data = user_data(data, pos, udhi, &mut layout)?;
    layout.user_data = Some(user_data);
    Ok(layout)
}

fn set_dcs(layout: &mut Layout, raw: u8) {
    let (dcs, reserved) = dcs::decode(raw);
    layout.dcs = dcs;
    if reserved {
        layout.flag(flags::RESERVED_DCS);
    }
}

fn timestamp(layout: &mut Layout, octets: [u8; scts::LEN]) -> Option<Timestamp> {
    let decoded = scts::decode(&octets);
    if decoded.is_none() {
        layout.flag(flags::INVALID_TIMESTAMP);
    }
    decoded
}

/// TP-VP of an SMS-SUBMIT, in the format TP-VPF (first octet bits 4..3) names.
fn validity_period(data: &[u8], pos: usize, layout: &mut Layout) -> Result<usize, CodecError> {
    match (layout.first_octet >> 3) & 0x03 {
        0b00 => Ok(pos),
        0b10 => {
            let value = octet(data, pos, "validity period")?;
            let minutes = match u32::from(value) {
                v @ 0..=143 => (v + 1) * 5,
                v @ 144..=167 => 12 * 60 + (v - 143) * 30,
                v @ 168..=196 => (v - 166) * 24 * 60,
                v => (v - 192) * 7 * 24 * 60,
            };
            layout.validity_period = Some(ValidityPeriod::RelativeMinutes(minutes));
            Ok(pos + 1)
        }
        0b11 => {
            let octets = seven(data, pos, "validity period")?;
            layout.validity_period = timestamp(layout, octets).map(ValidityPeriod::Absolute);
            Ok(pos + scts::LEN)
        }
        _ => {
            let octets = seven(data, pos, "validity period")?;
            layout.validity_period = Some(ValidityPeriod::Enhanced(octets));
            Ok(pos + scts::LEN)
        }
    }
}

/// SCTS, DT, ST and the optional TP-PI fields of a STATUS-REPORT.
fn status_report_rest(
    data: &[u8],
    mut pos: usize,
    udhi: bool,
    mut layout: Layout,
) -> Result<Layout, CodecError> {
    layout.scts = timestamp(&mut layout, seven(data, pos, "service centre time stamp")?);
    layout.discharge_time = timestamp(&mut layout, seven(data, pos + 7, "discharge time")?);
    layout.status = Some(octet(data, pos + 14, "status")?);
    pos += 15;
    // TP-PI is optional; an octet after TP-ST is one. Bit 7 announces another
    // TP-PI octet, whose bits are all reserved.
    let Some(&indicator) = data.get(pos) else {
        return Ok(layout);
    };
    pos += 1;
    let mut extension = indicator;
    while extension & 0x80 != 0 {
        extension = octet(data, pos, "parameter indicator extension")?;
        pos += 1;
    }
    if indicator & 0x01 != 0 {
        layout.pid = octet(data, pos, "protocol identifier")?;
        pos += 1;
    }
    if indicator & 0x02 != 0 {
        set_dcs(&mut layout, octet(data, pos, "data coding scheme")?);
        pos += 1;
    }
    if indicator & 0x04 != 0 {
        layout.user_data = Some(user_data(data, pos, udhi, &mut layout)?);
    } else if data.len() > pos {
        layout.flag(flags::TRAILING_DATA);
    }
    Ok(layout)
}

/// TP-UDL at `pos` and the user data it covers.
///
/// UDL counts septets for uncompressed GSM 7-bit data (header and fill bits
/// included) and octets otherwise. Data beyond it is ignored and flagged;
/// less data than it announces is an error at the end of the input.
fn user_data(
    data: &[u8],
    pos: usize,
    udhi: bool,
    layout: &mut Layout,
) -> Result<UserData, CodecError> {
    let udl = octet(data, pos, "user data length")?;
    let start = pos + 1;
    let septets = dcs::udl_counts_septets(&layout.dcs);
    let octets = if septets {
        gsm7::packed_len(0, usize::from(udl))
    } else {
        usize::from(udl)
    };
    let end = start + octets;
    if end > data.len() {
        let unit = if septets { "septets" } else { "octets" };
        return Err(CodecError::pdu(
            data.len(),
            format!(
                "UDL of {udl} {unit} needs {octets} octets of user data, {} present",
                data.len() - start.min(data.len())
            ),
        ));
    }
    if data.len() > end {
        layout.flag(flags::TRAILING_DATA);
    }
    let mut header_octets = 0;
    let mut header = None;
    if udhi {
        let Some(&udhl) = data.get(start).filter(|_| octets > 0) else {
            return Err(CodecError::pdu(
                start,
                "the first octet announces a user data header but the user data is empty",
            ));
        };
        header_octets = 1 + usize::from(udhl);
        if header_octets > octets {
            return Err(CodecError::pdu(
                start,
                format!("UDHL of {udhl} octets overruns the {octets} octets of user data"),
            ));
        }
        let parsed = udh::parse(&data[start + 1..start + header_octets], start + 1)?;
        if parsed.invalid_concat {
            layout.flag(flags::INVALID_CONCAT);
        }
        header = Some(parsed);
    }
    let body = if septets {
        // The text starts on a septet boundary counted from the start of the
        // user data: fill bits pad the header to a whole number of septets.
        let header_bits = header_octets * 8;
        let fill = (7 - header_bits % 7) % 7;
        let header_septets = (header_bits + fill) / 7;
        if header_septets > usize::from(udl) {
            return Err(CodecError::pdu(
                start,
                format!("a header of {header_septets} septets does not fit a UDL of {udl} septets"),
            ));
        }
        Body::Septets {
            start: start + header_octets,
            fill: fill as u8,
            count: usize::from(udl) - header_septets,
        }
    } else {
        Body::Octets {
            start: start + header_octets,
            end,
        }
    };
    Ok(UserData { udl, header, body })
}

/// Decode the addresses and the text of a layout that checked out.
fn build(data: &[u8], layout: Layout) -> Result<Sms, CodecError> {
    let smsc = if layout.with_smsc {
        address::decode_smsc(data)?.0
    } else {
        None
    };
    let address = address::decode_tp(data, layout.address_pos)?;
    let first_octet = layout.first_octet;
    let mut sms = Sms {
        kind: layout.kind,
        smsc,
        first_octet,
        more_messages: false,
        loop_prevention: false,
        reply_path: false,
        status_report: first_octet & 0x20 != 0,
        reject_duplicates: false,
        validity_period: layout.validity_period,
        message_reference: layout.message_reference,
        address,
        pid: layout.pid,
        dcs: layout.dcs,
        scts: layout.scts,
        discharge_time: layout.discharge_time,
        status: layout.status,
        udl: 0,
        udh: Vec::new(),
        indications: Vec::new(),
        concat: None,
        ports: None,
        locking_shift: 0,
        single_shift: 0,
        text: None,
        user_data: Vec::new(),
        flags: layout.flags,
    };
    match layout.kind {
        MessageKind::Deliver => {
            sms.more_messages = first_octet & 0x04 == 0;
            sms.loop_prevention = first_octet & 0x08 != 0;
            sms.reply_path = first_octet & 0x80 != 0;
        }
        MessageKind::Submit => {
            sms.reject_duplicates = first_octet & 0x04 != 0;
            sms.reply_path = first_octet & 0x80 != 0;
        }
        MessageKind::StatusReport => {
            sms.more_messages = first_octet & 0x04 == 0;
            sms.loop_prevention = first_octet & 0x08 != 0;
        }
    }
    let Some(user_data) = layout.user_data else {
        return Ok(sms);
    };
    sms.udl = user_data.udl;
    if let Some(header) = user_data.header {
        sms.udh = header.elements;
        sms.indications = header.indications;
        sms.concat = header.concat;
        sms.ports = header.ports;
        sms.locking_shift = header.locking_shift;
        sms.single_shift = header.single_shift;
    }
    match user_data.body {
        Body::Septets { start, fill, count } => {
            let packed = data.get(start..).unwrap_or_default();
            sms.user_data = gsm7::unpack(packed, fill, count)?;
            let mut text = String::with_capacity(count);
            let decoded = gsm7::decode_septets(
                &sms.user_data,
                sms.locking_shift,
                sms.single_shift,
                false,
                &mut text,
            )?;
            if decoded.trailing_escape {
                sms.flags |= flags::TRAILING_ESCAPE;
            }
            sms.text = Some(text);
        }
        Body::Octets { start, end } => {
            sms.user_data = data.get(start..end).unwrap_or_default().to_vec();
            if sms.dcs.alphabet == Alphabet::Ucs2 && !sms.dcs.compressed {
                let mut text = String::with_capacity(sms.user_data.len());
                let report = ucs2::decode_lossy(&sms.user_data, &mut text);
                if report.odd_length {
                    sms.flags |= flags::UCS2_ODD_LENGTH;
                }
                if report.lone_surrogates > 0 {
                    sms.flags |= flags::UCS2_LONE_SURROGATE;
                }
                sms.text = Some(text);
            }
        }
    }
    Ok(sms)
}

#[cfg(test)]
#[path = "tpdu_tests.rs"]
mod tests;
