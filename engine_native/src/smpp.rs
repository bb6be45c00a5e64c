//! SMPP 3.4 for an ESME: splitting a TCP byte stream into PDUs, and decoding
//! and encoding the PDUs a receiver needs (binds, deliver_sm, data_sm,
//! submit_sm for replies, their responses, enquire_link, unbind, generic_nack).
//!
//! Pure functions on bytes, no I/O. Every decode error says which
//! `command_status` the peer should get back, where in the PDU it was found
//! and, when the header could be read, the command and sequence number, so
//! the caller can answer the command's `_resp` or a `generic_nack`
//! ([`SmppError::response`]).
//!
//! Error offsets are byte offsets into the PDU (for [`FrameReader`], into the
//! stream). C-octet strings are kept as raw bytes without their NUL, so any
//! octet survives a round trip.

use std::fmt;

#[path = "smpp_encode.rs"]
mod encode;
#[path = "smpp_frame.rs"]
mod frame;
#[path = "smpp_receipt.rs"]
pub mod receipt;
#[path = "smpp_tlv.rs"]
pub mod tlv;

pub use encode::{encode, encode_into};
pub use frame::FrameReader;
pub use receipt::{parse_delivery_receipt, DeliveryReceipt, ReceiptDate};
pub use tlv::{tag_name, NetworkErrorCode, Sar, Tlv, TlvValue, Tlvs};

/// `command_id` values of the PDUs this module knows.
pub mod command {
    pub const GENERIC_NACK: u32 = 0x8000_0000;
    pub const BIND_RECEIVER: u32 = 0x0000_0001;
    pub const BIND_RECEIVER_RESP: u32 = 0x8000_0001;
    pub const BIND_TRANSMITTER: u32 = 0x0000_0002;
    pub const BIND_TRANSMITTER_RESP: u32 = 0x8000_0002;
    pub const SUBMIT_SM: u32 = 0x0000_0004;
    pub const SUBMIT_SM_RESP: u32 = 0x8000_0004;
    pub const DELIVER_SM: u32 = 0x0000_0005;
    pub const DELIVER_SM_RESP: u32 = 0x8000_0005;
    pub const UNBIND: u32 = 0x0000_0006;
    pub const UNBIND_RESP: u32 = 0x8000_0006;
    pub const BIND_TRANSCEIVER: u32 = 0x0000_0009;
    pub const BIND_TRANSCEIVER_RESP: u32 = 0x8000_0009;
    pub const ENQUIRE_LINK: u32 = 0x0000_0015;
    pub const ENQUIRE_LINK_RESP: u32 = 0x8000_0015;
    pub const DATA_SM: u32 = 0x0000_0103;
    pub const DATA_SM_RESP: u32 = 0x8000_0103;
    /// The bit that turns a request's `command_id` into its response's.
    pub const RESPONSE_BIT: u32 = 0x8000_0000;

    /// The SMPP name of a `command_id` (`deliver_sm`, `bind_transceiver_resp`, ...).
    pub fn name(command_id: u32) -> Option<&'static str> {
        Some(match command_id {
            GENERIC_NACK => "generic_nack",
            BIND_RECEIVER => "bind_receiver",
            BIND_RECEIVER_RESP => "bind_receiver_resp",
            BIND_TRANSMITTER => "bind_transmitter",
            BIND_TRANSMITTER_RESP => "bind_transmitter_resp",
            SUBMIT_SM => "submit_sm",
            SUBMIT_SM_RESP => "submit_sm_resp",
            DELIVER_SM => "deliver_sm",
            DELIVER_SM_RESP => "deliver_sm_resp",
            UNBIND => "unbind",
            UNBIND_RESP => "unbind_resp",
            BIND_TRANSCEIVER => "bind_transceiver",
            BIND_TRANSCEIVER_RESP => "bind_transceiver_resp",
            ENQUIRE_LINK => "enquire_link",
            ENQUIRE_LINK_RESP => "enquire_link_resp",
            DATA_SM => "data_sm",
            DATA_SM_RESP => "data_sm_resp",
            _ => return None,
        })
    }
}

/// `command_status` values (SMPP 3.4 §5.1.3; the TLV ones use the SMPP 5.0 names).
pub mod status {
    pub const ESME_ROK: u32 = 0x00;
    pub const ESME_RINVMSGLEN: u32 = 0x01;
    pub const ESME_RINVCMDLEN: u32 = 0x02;
    pub const ESME_RINVCMDID: u32 = 0x03;
    pub const ESME_RINVBNDSTS: u32 = 0x04;
    pub const ESME_RALYBND: u32 = 0x05;
    pub const ESME_RSYSERR: u32 = 0x08;
    pub const ESME_RINVSRCADR: u32 = 0x0A;
    pub const ESME_RINVDSTADR: u32 = 0x0B;
    pub const ESME_RINVMSGID: u32 = 0x0C;
    pub const ESME_RBINDFAIL: u32 = 0x0D;
    pub const ESME_RINVPASWD: u32 = 0x0E;
    pub const ESME_RINVSYSID: u32 = 0x0F;
    pub const ESME_RINVSERTYP: u32 = 0x15;
    pub const ESME_RINVSYSTYP: u32 = 0x53;
    pub const ESME_RINVSCHED: u32 = 0x61;
    pub const ESME_RINVEXPIRY: u32 = 0x62;
    pub const ESME_RINVTLVSTREAM: u32 = 0xC0;
    pub const ESME_RTLVNOTALLWD: u32 = 0xC1;
    pub const ESME_RINVTLVLEN: u32 = 0xC2;
    pub const ESME_RMISSINGTLV: u32 = 0xC3;
    pub const ESME_RINVTLVVAL: u32 = 0xC4;
}

/// The PDU header: four big-endian u32.
pub const HEADER_LEN: usize = 16;
/// The default largest `command_length` a [`FrameReader`] accepts: a 64 KiB
/// `message_payload` with the largest mandatory fields and a few more TLVs.
pub const DEFAULT_MAX_COMMAND_LENGTH: u32 = 70_000;
/// The largest `sm_length` SMPP 3.4 allows.
pub const MAX_SHORT_MESSAGE: usize = 254;

/// Maximum sizes of the C-octet strings, NUL included, as SMPP 3.4 lists them.
pub mod max_len {
    pub const SYSTEM_ID: usize = 16;
    pub const PASSWORD: usize = 9;
    pub const SYSTEM_TYPE: usize = 13;
    pub const ADDRESS_RANGE: usize = 41;
    pub const SERVICE_TYPE: usize = 6;
    /// `source_addr` / `destination_addr` of submit_sm and deliver_sm.
    pub const SM_ADDRESS: usize = 21;
    /// `source_addr` / `destination_addr` of data_sm.
    pub const DATA_SM_ADDRESS: usize = 65;
    pub const TIME: usize = 17;
    pub const MESSAGE_ID: usize = 65;
}

/// A PDU that cannot be decoded (or encoded), and what to tell the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmppError {
    /// The `command_status` to answer with (`ESME_RINVCMDLEN`, `ESME_RINVTLVLEN`, ...).
    pub command_status: u32,
    /// Byte offset into the PDU (or, from a [`FrameReader`], into the stream).
    pub offset: usize,
    pub reason: String,
    /// The header's `command_id`, when the PDU was long enough to read it.
    pub command_id: Option<u32>,
    /// The header's `sequence_number`, when the PDU was long enough to read it.
    pub sequence_number: Option<u32>,
}

impl SmppError {
    pub fn new(command_status: u32, offset: usize, reason: impl Into<String>) -> Self {
        Self {
            command_status,
            offset,
            reason: reason.into(),
            command_id: None,
            sequence_number: None,
        }
    }

    /// The PDU to send back: the request's `_resp` carrying the error status
    /// when the request is one this module knows, otherwise a `generic_nack`
    /// (also for an unknown command, a malformed response, or a header too
    /// short to read, which gets sequence number 0).
    pub fn response(&self) -> Pdu {
        let body = match self.command_id {
            Some(id) if self.command_status != status::ESME_RINVCMDID => {
                Body::error_response_to(id)
            }
            _ => None,
        };
        Pdu {
            command_status: self.command_status,
            sequence_number: self.sequence_number.unwrap_or(0),
            body: body.unwrap_or(Body::GenericNack),
        }
    }
}

impl fmt::Display for SmppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (command_status 0x{:08X}, at offset {})",
            self.reason, self.command_status, self.offset
        )
    }
}

impl std::error::Error for SmppError {}

/// One PDU: the header fields that vary, and the body (which fixes `command_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    pub command_status: u32,
    /// Unsigned: sequence numbers above 0x7FFFFFFF are valid.
    pub sequence_number: u32,
    pub body: Body,
}

impl Pdu {
    pub fn command_id(&self) -> u32 {
        self.body.command_id()
    }
}

/// The body of each PDU this module knows; the variant is the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    BindReceiver(Bind),
    BindTransmitter(Bind),
    BindTransceiver(Bind),
    BindReceiverResp(BindResp),
    BindTransmitterResp(BindResp),
    BindTransceiverResp(BindResp),
    SubmitSm(ShortMessage),
    SubmitSmResp(MessageResp),
    DeliverSm(ShortMessage),
    DeliverSmResp(MessageResp),
    DataSm(DataSm),
    DataSmResp(MessageResp),
    Unbind,
    UnbindResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
}

impl Body {
    pub fn command_id(&self) -> u32 {
        use command::*;
        match self {
            Body::BindReceiver(_) => BIND_RECEIVER,
            Body::BindTransmitter(_) => BIND_TRANSMITTER,
            Body::BindTransceiver(_) => BIND_TRANSCEIVER,
            Body::BindReceiverResp(_) => BIND_RECEIVER_RESP,
            Body::BindTransmitterResp(_) => BIND_TRANSMITTER_RESP,
            Body::BindTransceiverResp(_) => BIND_TRANSCEIVER_RESP,
            Body::SubmitSm(_) => SUBMIT_SM,
            Body::SubmitSmResp(_) => SUBMIT_SM_RESP,
            Body::DeliverSm(_) => DELIVER_SM,
            Body::DeliverSmResp(_) => DELIVER_SM_RESP,
            Body::DataSm(_) => DATA_SM,
            Body::DataSmResp(_) => DATA_SM_RESP,
            Body::Unbind => UNBIND,
            Body::UnbindResp => UNBIND_RESP,
            Body::EnquireLink => ENQUIRE_LINK,
            Body::EnquireLinkResp => ENQUIRE_LINK_RESP,
            Body::GenericNack => GENERIC_NACK,
        }
    }

    /// The response body that reports an error for request `command_id`, or
    /// `None` when that is not a request this module knows.
    fn error_response_to(command_id: u32) -> Option<Body> {
        use command::*;
        let bind_resp = || BindResp {
            system_id: Some(Vec::new()),
            tlvs: Tlvs::default(),
        };
        let message_resp = || MessageResp {
            message_id: Some(Vec::new()),
            tlvs: Tlvs::default(),
        };
        Some(match command_id {
            BIND_RECEIVER => Body::BindReceiverResp(bind_resp()),
            BIND_TRANSMITTER => Body::BindTransmitterResp(bind_resp()),
            BIND_TRANSCEIVER => Body::BindTransceiverResp(bind_resp()),
            SUBMIT_SM => Body::SubmitSmResp(message_resp()),
            DELIVER_SM => Body::DeliverSmResp(message_resp()),
            DATA_SM => Body::DataSmResp(message_resp()),
            UNBIND => Body::UnbindResp,
            ENQUIRE_LINK => Body::EnquireLinkResp,
            _ => return None,
        })
    }
}

/// bind_receiver / bind_transmitter / bind_transceiver.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bind {
    pub system_id: Vec<u8>,
    pub password: Vec<u8>,
    pub system_type: Vec<u8>,
    /// 0x34 for SMPP 3.4.
    pub interface_version: u8,
    pub addr_ton: u8,
    pub addr_npi: u8,
    pub address_range: Vec<u8>,
}

/// bind_*_resp: the SMSC's `system_id` and optional `sc_interface_version`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BindResp {
    /// `None` when the body is empty (an SMSC may omit it with an error status).
    pub system_id: Option<Vec<u8>>,
    pub tlvs: Tlvs,
}

/// submit_sm_resp / deliver_sm_resp / data_sm_resp.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageResp {
    /// `None` when the body is empty (allowed with an error status).
    pub message_id: Option<Vec<u8>>,
    pub tlvs: Tlvs,
}

/// The body shared by submit_sm and deliver_sm.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShortMessage {
    pub service_type: Vec<u8>,
    pub source_addr_ton: u8,
    pub source_addr_npi: u8,
    pub source_addr: Vec<u8>,
    pub dest_addr_ton: u8,
    pub dest_addr_npi: u8,
    pub destination_addr: Vec<u8>,
    pub esm_class: u8,
    pub protocol_id: u8,
    pub priority_flag: u8,
    pub schedule_delivery_time: Vec<u8>,
    pub validity_period: Vec<u8>,
    pub registered_delivery: u8,
    pub replace_if_present_flag: u8,
    pub data_coding: u8,
    pub sm_default_msg_id: u8,
    /// At most 254 octets; `sm_length` is its length.
    pub short_message: Vec<u8>,
    pub tlvs: Tlvs,
}

/// esm_class bits 5..2 of a deliver_sm: an SMSC delivery receipt.
pub const ESM_CLASS_DELIVERY_RECEIPT: u8 = 0x04;
/// esm_class bits 5..2: an intermediate delivery notification.
pub const ESM_CLASS_INTERMEDIATE_NOTIFICATION: u8 = 0x20;
/// esm_class bit 6: the message starts with a user data header.
pub const ESM_CLASS_UDHI: u8 = 0x40;

impl ShortMessage {
    /// The message content: `message_payload` when present, else `short_message`.
    pub fn payload(&self) -> &[u8] {
        self.tlvs.message_payload().unwrap_or(&self.short_message)
    }
}

/// data_sm.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataSm {
    pub service_type: Vec<u8>,
    pub source_addr_ton: u8,
    pub source_addr_npi: u8,
    pub source_addr: Vec<u8>,
    pub dest_addr_ton: u8,
    pub dest_addr_npi: u8,
    pub destination_addr: Vec<u8>,
    pub esm_class: u8,
    pub registered_delivery: u8,
    pub data_coding: u8,
    pub tlvs: Tlvs,
}

fn read_u32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// Reads the body's fields in order, turning every shortfall into an error
/// that carries the header's command and sequence number.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    command_id: u32,
    sequence_number: u32,
}

impl<'a> Reader<'a> {
    fn error(&self, command_status: u32, offset: usize, reason: impl Into<String>) -> SmppError {
        SmppError {
            command_id: Some(self.command_id),
            sequence_number: Some(self.sequence_number),
            ..SmppError::new(command_status, offset, reason)
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn ran_out(&self, field: &str) -> SmppError {
        self.error(
            status::ESME_RINVCMDLEN,
            self.data.len(),
            format!("the PDU ends before {field}"),
        )
    }

    fn u8(&mut self, field: &str) -> Result<u8, SmppError> {
        let value = *self.data.get(self.pos).ok_or_else(|| self.ran_out(field))?;
        self.pos += 1;
        Ok(value)
    }

    fn octets(&mut self, count: usize, field: &str, status: u32) -> Result<&'a [u8], SmppError> {
        if self.data.len() - self.pos < count {
            return Err(self.error(
                status,
                self.pos,
                format!(
                    "{field} needs {count} octets but {} remain",
                    self.data.len() - self.pos
                ),
            ));
        }
        let value = &self.data[self.pos..self.pos + count];
        self.pos += count;
        Ok(value)
    }

    /// A C-octet string of at most `max` octets, NUL included; `status` is the
    /// error for one that is too long.
    fn c_octets(&mut self, field: &str, max: usize, status: u32) -> Result<Vec<u8>, SmppError> {
        let rest = &self.data[self.pos..];
        let window = &rest[..rest.len().min(max)];
        match window.iter().position(|&b| b == 0) {
            Some(nul) => {
                let value = window[..nul].to_vec();
                self.pos += nul + 1;
                Ok(value)
            }
            None if rest.len() < max => Err(self.error(
                status::ESME_RINVCMDLEN,
                self.data.len(),
                if rest.is_empty() {
                    format!("the PDU ends before {field}")
                } else {
                    format!("the PDU ends inside {field} (no terminating NUL)")
                },
            )),
            None => Err(self.error(
                status,
                self.pos,
                format!("{field} is longer than {} octets", max - 1),
            )),
        }
    }

    fn tlvs(&mut self) -> Result<Tlvs, SmppError> {
        let parsed = Tlvs::decode(&self.data[self.pos..], self.pos);
        self.pos = self.data.len();
        parsed.map_err(|e| SmppError {
            command_id: Some(self.command_id),
            sequence_number: Some(self.sequence_number),
            ..e
        })
    }

    /// The end of a body that takes no TLVs.
    fn finish(&self) -> Result<(), SmppError> {
        if self.at_end() {
            Ok(())
        } else {
            Err(self.error(
                status::ESME_RINVCMDLEN,
                self.pos,
                format!(
                    "{} octets after the last field of {}",
                    self.data.len() - self.pos,
                    command::name(self.command_id).unwrap_or("the PDU")
                ),
            ))
        }
    }
}

/// Decode one whole PDU (`command_length` must equal `frame.len()`).
pub fn decode(frame: &[u8]) -> Result<Pdu, SmppError> {
    if frame.len() < HEADER_LEN {
        let mut error = SmppError::new(
            status::ESME_RINVCMDLEN,
            frame.len(),
            format!(
                "{} octets are shorter than the 16-octet header",
                frame.len()
            ),
        );
        if frame.len() >= 8 {
            error.command_id = Some(read_u32(frame, 4));
        }
        return Err(error);
    }
    let command_length = read_u32(frame, 0);
    let command_id = read_u32(frame, 4);
    let command_status = read_u32(frame, 8);
    let sequence_number = read_u32(frame, 12);
    let mut r = Reader {
        data: frame,
        pos: HEADER_LEN,
        command_id,
        sequence_number,
    };
    if command_length as usize != frame.len() {
        return Err(r.error(
            status::ESME_RINVCMDLEN,
            0,
            format!(
                "command_length {command_length} but the frame has {} octets",
                frame.len()
            ),
        ));
    }
    use command::*;
    let body = match command_id {
        BIND_RECEIVER => Body::BindReceiver(decode_bind(&mut r)?),
        BIND_TRANSMITTER => Body::BindTransmitter(decode_bind(&mut r)?),
        BIND_TRANSCEIVER => Body::BindTransceiver(decode_bind(&mut r)?),
        BIND_RECEIVER_RESP => Body::BindReceiverResp(decode_bind_resp(&mut r)?),
        BIND_TRANSMITTER_RESP => Body::BindTransmitterResp(decode_bind_resp(&mut r)?),
        BIND_TRANSCEIVER_RESP => Body::BindTransceiverResp(decode_bind_resp(&mut r)?),
        SUBMIT_SM => Body::SubmitSm(decode_short_message(&mut r)?),
        DELIVER_SM => Body::DeliverSm(decode_short_message(&mut r)?),
        DATA_SM => Body::DataSm(decode_data_sm(&mut r)?),
        SUBMIT_SM_RESP => Body::SubmitSmResp(decode_message_resp(&mut r)?),
        DELIVER_SM_RESP => Body::DeliverSmResp(decode_message_resp(&mut r)?),
        DATA_SM_RESP => Body::DataSmResp(decode_message_resp(&mut r)?),
        UNBIND | UNBIND_RESP | ENQUIRE_LINK | ENQUIRE_LINK_RESP | GENERIC_NACK => {
            r.finish()?;
            match command_id {
                UNBIND => Body::Unbind,
                UNBIND_RESP => Body::UnbindResp,
                ENQUIRE_LINK => Body::EnquireLink,
                ENQUIRE_LINK_RESP => Body::EnquireLinkResp,
                _ => Body::GenericNack,
            }
        }
        other => {
            return Err(r.error(
                status::ESME_RINVCMDID,
                4,
                format!("unknown command_id 0x{other:08X}"),
            ))
        }
    };
    Ok(Pdu {
        command_status,
        sequence_number,
        body,
    })
}

fn decode_bind(r: &mut Reader<'_>) -> Result<Bind, SmppError> {
    let bind = Bind {
        system_id: r.c_octets("system_id", max_len::SYSTEM_ID, status::ESME_RINVSYSID)?,
        password: r.c_octets("password", max_len::PASSWORD, status::ESME_RINVPASWD)?,
        system_type: r.c_octets("system_type", max_len::SYSTEM_TYPE, status::ESME_RINVSYSTYP)?,
        interface_version: r.u8("interface_version")?,
        addr_ton: r.u8("addr_ton")?,
        addr_npi: r.u8("addr_npi")?,
        address_range: r.c_octets(
            "address_range",
            max_len::ADDRESS_RANGE,
            status::ESME_RBINDFAIL,
        )?,
    };
    r.finish()?;
    Ok(bind)
}

fn decode_bind_resp(r: &mut Reader<'_>) -> Result<BindResp, SmppError> {
    if r.at_end() {
        return Ok(BindResp::default());
    }
    Ok(BindResp {
        system_id: Some(r.c_octets("system_id", max_len::SYSTEM_ID, status::ESME_RINVSYSID)?),
        tlvs: r.tlvs()?,
    })
}

fn decode_message_resp(r: &mut Reader<'_>) -> Result<MessageResp, SmppError> {
    if r.at_end() {
        return Ok(MessageResp::default());
    }
    Ok(MessageResp {
        message_id: Some(r.c_octets("message_id", max_len::MESSAGE_ID, status::ESME_RINVMSGID)?),
        tlvs: r.tlvs()?,
    })
}

fn decode_short_message(r: &mut Reader<'_>) -> Result<ShortMessage, SmppError> {
    use status::*;
    let service_type = r.c_octets("service_type", max_len::SERVICE_TYPE, ESME_RINVSERTYP)?;
    let source_addr_ton = r.u8("source_addr_ton")?;
    let source_addr_npi = r.u8("source_addr_npi")?;
    let source_addr = r.c_octets("source_addr", max_len::SM_ADDRESS, ESME_RINVSRCADR)?;
    let dest_addr_ton = r.u8("dest_addr_ton")?;
    let dest_addr_npi = r.u8("dest_addr_npi")?;
    let destination_addr = r.c_octets("destination_addr", max_len::SM_ADDRESS, ESME_RINVDSTADR)?;
    let esm_class = r.u8("esm_class")?;
    let protocol_id = r.u8("protocol_id")?;
    let priority_flag = r.u8("priority_flag")?;
    let schedule_delivery_time =
        r.c_octets("schedule_delivery_time", max_len::TIME, ESME_RINVSCHED)?;
    let validity_period = r.c_octets("validity_period", max_len::TIME, ESME_RINVEXPIRY)?;
    let registered_delivery = r.u8("registered_delivery")?;
    let replace_if_present_flag = r.u8("replace_if_present_flag")?;
    let data_coding = r.u8("data_coding")?;
    let sm_default_msg_id = r.u8("sm_default_msg_id")?;
    let sm_length_at = r.pos;
    let sm_length = usize::from(r.u8("sm_length")?);
    if sm_length > MAX_SHORT_MESSAGE {
        return Err(r.error(
            ESME_RINVMSGLEN,
            sm_length_at,
            format!("sm_length {sm_length} is above {MAX_SHORT_MESSAGE}"),
        ));
    }
    let short_message = r.octets(sm_length, "short_message", ESME_RINVMSGLEN)?;
    Ok(ShortMessage {
        service_type,
        source_addr_ton,
        source_addr_npi,
        source_addr,
        dest_addr_ton,
        dest_addr_npi,
        destination_addr,
        esm_class,
        protocol_id,
        priority_flag,
        schedule_delivery_time,
        validity_period,
        registered_delivery,
        replace_if_present_flag,
        data_coding,
        sm_default_msg_id,
        short_message: short_message.to_vec(),
        tlvs: r.tlvs()?,
    })
}

fn decode_data_sm(r: &mut Reader<'_>) -> Result<DataSm, SmppError> {
    use status::*;
    Ok(DataSm {
        service_type: r.c_octets("service_type", max_len::SERVICE_TYPE, ESME_RINVSERTYP)?,
        source_addr_ton: r.u8("source_addr_ton")?,
        source_addr_npi: r.u8("source_addr_npi")?,
        source_addr: r.c_octets("source_addr", max_len::DATA_SM_ADDRESS, ESME_RINVSRCADR)?,
        dest_addr_ton: r.u8("dest_addr_ton")?,
        dest_addr_npi: r.u8("dest_addr_npi")?,
        destination_addr: r.c_octets(
            "destination_addr",
            max_len::DATA_SM_ADDRESS,
            ESME_RINVDSTADR,
        )?,
        esm_class: r.u8("esm_class")?,
        registered_delivery: r.u8("registered_delivery")?,
        data_coding: r.u8("data_coding")?,
        tlvs: r.tlvs()?,
    })
}

#[cfg(test)]
#[path = "smpp_tests.rs"]
mod tests;
