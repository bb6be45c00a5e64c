//! SMPP optional parameters (TLVs): tag u16, length u16, value.
//!
//! TLVs are kept in wire order with their raw values, so a PDU re-encodes
//! byte for byte, unknown and vendor tags included. Every tag SMPP 3.4
//! defines (§5.3.2) has its length checked when decoding and encoding, and a
//! typed reading ([`Tlv::parsed`]); the ones an ESME acts on have accessors
//! on [`Tlvs`].

use super::{status, SmppError};

/// Tags of the TLVs an ESME reads most.
pub mod tag {
    pub const DEST_NETWORK_TYPE: u16 = 0x0006;
    pub const SOURCE_NETWORK_TYPE: u16 = 0x000E;
    pub const PAYLOAD_TYPE: u16 = 0x0019;
    pub const ADDITIONAL_STATUS_INFO_TEXT: u16 = 0x001D;
    pub const RECEIPTED_MESSAGE_ID: u16 = 0x001E;
    pub const USER_MESSAGE_REFERENCE: u16 = 0x0204;
    pub const SOURCE_PORT: u16 = 0x020A;
    pub const DESTINATION_PORT: u16 = 0x020B;
    pub const SAR_MSG_REF_NUM: u16 = 0x020C;
    pub const SAR_TOTAL_SEGMENTS: u16 = 0x020E;
    pub const SAR_SEGMENT_SEQNUM: u16 = 0x020F;
    pub const SC_INTERFACE_VERSION: u16 = 0x0210;
    pub const NETWORK_ERROR_CODE: u16 = 0x0423;
    pub const MESSAGE_PAYLOAD: u16 = 0x0424;
    pub const MORE_MESSAGES_TO_SEND: u16 = 0x0426;
    pub const MESSAGE_STATE: u16 = 0x0427;
}

/// The shape SMPP 3.4 gives a tag's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A big-endian unsigned integer of this many octets.
    Int(usize),
    /// A C-octet string of at most this many octets, NUL included. A missing
    /// NUL is tolerated (some SMSCs leave it out of `receipted_message_id`).
    Text(usize),
    /// Octets, between these lengths.
    Octets(usize, usize),
    /// network_type (u8) then error_code (u16).
    NetworkError,
}

/// Name and shape of every TLV SMPP 3.4 defines.
fn spec(tag: u16) -> Option<(&'static str, Shape)> {
    use Shape::*;
    Some(match tag {
        0x0005 => ("dest_addr_subunit", Int(1)),
        0x0006 => ("dest_network_type", Int(1)),
        0x0007 => ("dest_bearer_type", Int(1)),
        0x0008 => ("dest_telematics_id", Int(2)),
        0x000D => ("source_addr_subunit", Int(1)),
        0x000E => ("source_network_type", Int(1)),
        0x000F => ("source_bearer_type", Int(1)),
        0x0010 => ("source_telematics_id", Int(1)),
        0x0017 => ("qos_time_to_live", Int(4)),
        0x0019 => ("payload_type", Int(1)),
        0x001D => ("additional_status_info_text", Text(256)),
        0x001E => ("receipted_message_id", Text(65)),
        0x0030 => ("ms_msg_wait_facilities", Int(1)),
        0x0201 => ("privacy_indicator", Int(1)),
        0x0202 => ("source_subaddress", Octets(2, 23)),
        0x0203 => ("dest_subaddress", Octets(2, 23)),
        0x0204 => ("user_message_reference", Int(2)),
        0x0205 => ("user_response_code", Int(1)),
        0x020A => ("source_port", Int(2)),
        0x020B => ("destination_port", Int(2)),
        0x020C => ("sar_msg_ref_num", Int(2)),
        0x020D => ("language_indicator", Int(1)),
        0x020E => ("sar_total_segments", Int(1)),
        0x020F => ("sar_segment_seqnum", Int(1)),
        0x0210 => ("sc_interface_version", Int(1)),
        0x0302 => ("callback_num_pres_ind", Int(1)),
        0x0303 => ("callback_num_atag", Octets(0, 65)),
        0x0304 => ("number_of_messages", Int(1)),
        0x0381 => ("callback_num", Octets(4, 19)),
        0x0420 => ("dpf_result", Int(1)),
        0x0421 => ("set_dpf", Int(1)),
        0x0422 => ("ms_availability_status", Int(1)),
        0x0423 => ("network_error_code", NetworkError),
        0x0424 => ("message_payload", Octets(0, usize::from(u16::MAX))),
        0x0425 => ("delivery_failure_reason", Int(1)),
        0x0426 => ("more_messages_to_send", Int(1)),
        0x0427 => ("message_state", Int(1)),
        0x0501 => ("ussd_service_op", Int(1)),
        0x1201 => ("display_time", Int(1)),
        0x1203 => ("sms_signal", Int(2)),
        0x1204 => ("ms_validity", Int(1)),
        // Empty in SMPP 3.4; SMPP 5.0 gives it one octet.
        0x130C => ("alert_on_message_delivery", Octets(0, 1)),
        0x1380 => ("its_reply_type", Int(1)),
        0x1383 => ("its_session_info", Octets(2, 2)),
        _ => return None,
    })
}

/// The SMPP name of a TLV tag, `None` for unknown and vendor tags.
pub fn tag_name(tag: u16) -> Option<&'static str> {
    spec(tag).map(|(name, _)| name)
}

/// The width in octets of an integer TLV, `None` for other and unknown tags.
pub fn integer_width(tag: u16) -> Option<usize> {
    match spec(tag)? {
        (_, Shape::Int(width)) => Some(width),
        _ => None,
    }
}

/// Why a value's length does not fit its tag, if it does not.
fn length_problem(tag: u16, length: usize) -> Option<String> {
    let (name, shape) = spec(tag)?;
    let fits = match shape {
        Shape::Int(size) => length == size,
        Shape::Text(max) => length <= max,
        Shape::Octets(min, max) => (min..=max).contains(&length),
        Shape::NetworkError => length == 3,
    };
    let expected = match shape {
        Shape::Int(size) => format!("{size}"),
        Shape::Text(max) => format!("at most {max}"),
        Shape::Octets(min, max) if min == max => format!("{min}"),
        Shape::Octets(min, max) => format!("{min} to {max}"),
        Shape::NetworkError => "3".to_owned(),
    };
    (!fits).then(|| format!("{name} (0x{tag:04X}) has length {length}, expected {expected}"))
}

/// `network_error_code`: the network type (1 ANSI-136, 2 IS-95, 3 GSM, ...) and its error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetworkErrorCode {
    pub network_type: u8,
    pub error_code: u16,
}

/// A TLV's value read according to its tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlvValue<'a> {
    /// An integer TLV (1, 2 or 4 octets).
    Int(u32),
    /// A C-octet string, without its NUL.
    Text(&'a [u8]),
    /// An octet-string TLV (`message_payload`, subaddresses, ...).
    Octets(&'a [u8]),
    NetworkErrorCode(NetworkErrorCode),
    /// A tag SMPP 3.4 does not define (vendor TLVs): the raw value.
    Unknown(&'a [u8]),
}

/// One TLV, raw.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tlv {
    pub tag: u16,
    pub value: Vec<u8>,
}

impl Tlv {
    pub fn new(tag: u16, value: impl Into<Vec<u8>>) -> Self {
        Self {
            tag,
            value: value.into(),
        }
    }

    pub fn name(&self) -> Option<&'static str> {
        tag_name(self.tag)
    }

    /// The value read by its tag's shape. Decoded and encoded TLVs have
    /// lengths that fit their tag; a value that does not (built by hand) is
    /// read as `Unknown`.
    pub fn parsed(&self) -> TlvValue<'_> {
        let value = self.value.as_slice();
        match spec(self.tag) {
            Some(_) if length_problem(self.tag, value.len()).is_some() => TlvValue::Unknown(value),
            Some((_, Shape::Int(_))) => {
                TlvValue::Int(value.iter().fold(0, |n, &b| (n << 8) | u32::from(b)))
            }
            Some((_, Shape::Text(_))) => {
                let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
                TlvValue::Text(&value[..end])
            }
            Some((_, Shape::Octets(..))) => TlvValue::Octets(value),
            Some((_, Shape::NetworkError)) => TlvValue::NetworkErrorCode(NetworkErrorCode {
                network_type: value[0],
                error_code: u16::from_be_bytes([value[1], value[2]]),
            }),
            None => TlvValue::Unknown(value),
        }
    }
}

/// The segmentation TLVs of one part of a concatenated message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sar {
    pub msg_ref_num: u16,
    pub total_segments: u8,
    pub segment_seqnum: u8,
}

/// The TLVs of a PDU, in wire order. Accessors return the first TLV of a
/// tag when a PDU repeats one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tlvs(pub Vec<Tlv>);

impl Tlvs {
    /// Parse the TLV stream `data`, which starts at PDU offset `base`.
    pub fn decode(data: &[u8], base: usize) -> Result<Self, SmppError> {
        let mut tlvs = Vec::new();
        let mut pos = 0;
        while pos < data.len() {
            let rest = &data[pos..];
            if rest.len() < 4 {
                return Err(SmppError::new(
                    status::ESME_RINVTLVSTREAM,
                    base + pos,
                    format!("{} octets left, too few for a TLV header", rest.len()),
                ));
            }
            let tag = u16::from_be_bytes([rest[0], rest[1]]);
            let length = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
            if length > rest.len() - 4 {
                return Err(SmppError::new(
                    status::ESME_RINVTLVSTREAM,
                    base + pos + 2,
                    format!(
                        "TLV 0x{tag:04X} has length {length} but {} octets remain",
                        rest.len() - 4
                    ),
                ));
            }
            if let Some(problem) = length_problem(tag, length) {
                return Err(SmppError::new(
                    status::ESME_RINVTLVLEN,
                    base + pos + 2,
                    problem,
                ));
            }
            tlvs.push(Tlv::new(tag, &rest[4..4 + length]));
            pos += 4 + length;
        }
        let tlvs = Self(tlvs);
        tlvs.check_sar_complete(|index| {
            // The offset of the index-th TLV.
            base + tlvs.0[..index]
                .iter()
                .map(|t| 4 + t.value.len())
                .sum::<usize>()
        })?;
        Ok(tlvs)
    }

    /// Append the TLVs to `out`; errors carry the offset in `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), SmppError> {
        let start = out.len();
        self.check_sar_complete(|_| start)?;
        for tlv in &self.0 {
            let length = u16::try_from(tlv.value.len()).map_err(|_| {
                SmppError::new(
                    status::ESME_RINVTLVLEN,
                    out.len(),
                    format!(
                        "TLV 0x{:04X} is {} octets, at most 65535 fit",
                        tlv.tag,
                        tlv.value.len()
                    ),
                )
            })?;
            if let Some(problem) = length_problem(tlv.tag, tlv.value.len()) {
                return Err(SmppError::new(status::ESME_RINVTLVLEN, out.len(), problem));
            }
            out.extend_from_slice(&tlv.tag.to_be_bytes());
            out.extend_from_slice(&length.to_be_bytes());
            out.extend_from_slice(&tlv.value);
        }
        Ok(())
    }

    /// The SAR TLVs come as a set of three or not at all.
    fn check_sar_complete(&self, offset_of: impl Fn(usize) -> usize) -> Result<(), SmppError> {
        let is_sar = |t: &Tlv| {
            matches!(
                t.tag,
                tag::SAR_MSG_REF_NUM | tag::SAR_TOTAL_SEGMENTS | tag::SAR_SEGMENT_SEQNUM
            )
        };
        let Some(first) = self.0.iter().position(is_sar) else {
            return Ok(());
        };
        let missing: Vec<&str> = [
            tag::SAR_MSG_REF_NUM,
            tag::SAR_TOTAL_SEGMENTS,
            tag::SAR_SEGMENT_SEQNUM,
        ]
        .into_iter()
        .filter(|&t| self.get(t).is_none())
        .filter_map(tag_name)
        .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(SmppError::new(
                status::ESME_RMISSINGTLV,
                offset_of(first),
                format!("segmentation TLVs without {}", missing.join(" and ")),
            ))
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Tlv> {
        self.0.iter()
    }

    /// The raw value of the first TLV with `tag`.
    pub fn get(&self, tag: u16) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|t| t.tag == tag)
            .map(|t| t.value.as_slice())
    }

    fn first(&self, tag: u16) -> Option<TlvValue<'_>> {
        self.0.iter().find(|t| t.tag == tag).map(Tlv::parsed)
    }

    /// The value of an integer TLV.
    pub fn int(&self, tag: u16) -> Option<u32> {
        match self.first(tag)? {
            TlvValue::Int(n) => Some(n),
            _ => None,
        }
    }

    pub fn message_payload(&self) -> Option<&[u8]> {
        self.get(tag::MESSAGE_PAYLOAD)
    }

    /// `receipted_message_id` without its NUL.
    pub fn receipted_message_id(&self) -> Option<&[u8]> {
        match self.first(tag::RECEIPTED_MESSAGE_ID)? {
            TlvValue::Text(id) => Some(id),
            _ => None,
        }
    }

    /// 1 ENROUTE, 2 DELIVERED, 3 EXPIRED, 4 DELETED, 5 UNDELIVERABLE, 6 ACCEPTED, 7 UNKNOWN, 8 REJECTED.
    pub fn message_state(&self) -> Option<u8> {
        self.int(tag::MESSAGE_STATE).map(|n| n as u8)
    }

    pub fn network_error_code(&self) -> Option<NetworkErrorCode> {
        match self.first(tag::NETWORK_ERROR_CODE)? {
            TlvValue::NetworkErrorCode(code) => Some(code),
            _ => None,
        }
    }

    /// The segmentation of a part sent with SAR TLVs instead of a UDH.
    pub fn sar(&self) -> Option<Sar> {
        Some(Sar {
            msg_ref_num: self.int(tag::SAR_MSG_REF_NUM)? as u16,
            total_segments: self.int(tag::SAR_TOTAL_SEGMENTS)? as u8,
            segment_seqnum: self.int(tag::SAR_SEGMENT_SEQNUM)? as u8,
        })
    }
}

impl FromIterator<Tlv> for Tlvs {
    fn from_iter<I: IntoIterator<Item = Tlv>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}
