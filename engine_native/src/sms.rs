//! The decoded shape of one SMS TPDU (3GPP TS 23.040), shared by the decoder,
//! reassembly and the Python bindings.

/// Which TPDU this is. MTI `01` is read as a stored SMS-SUBMIT (`+CMGL`/`+CMGR`
/// of sent or unsent messages); Septet never sees SUBMIT-REPORTs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Deliver,
    Submit,
    StatusReport,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deliver => "deliver",
            Self::Submit => "submit",
            Self::StatusReport => "status_report",
        }
    }
}

/// An address: the SMSC, an originating, destination or recipient address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// `+` and digits for international numbers; digits (with `*#abc`) otherwise;
    /// the decoded text for alphanumeric addresses.
    pub value: String,
    /// Type of number, bits 6..4 of the type-of-address octet (1 international, 5 alphanumeric, ...).
    pub ton: u8,
    /// Numbering plan identification, bits 3..0 (1 E.164/ISDN, ...).
    pub npi: u8,
}

/// The text alphabet chosen by the data coding scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alphabet {
    Gsm7,
    EightBit,
    Ucs2,
}

impl Alphabet {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gsm7 => "gsm7",
            Self::EightBit => "8bit",
            Self::Ucs2 => "ucs2",
        }
    }
}

/// Message waiting indication carried by the DCS (groups 1100, 1101, 1110).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mwi {
    pub active: bool,
    /// 0 voicemail, 1 fax, 2 e-mail, 3 other.
    pub kind: u8,
    /// false for group 1100 ("discard message"), true for 1101/1110 ("store message").
    pub store: bool,
}

/// A special SMS message indication from the user data header (IEI 0x01,
/// TS 23.040 §9.2.3.24.2): how many messages of a kind are waiting. The
/// element may repeat, one per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indication {
    /// Basic type, bits 1..0: 0 voicemail, 1 fax, 2 e-mail, 3 other (see `extended`).
    pub kind: u8,
    /// Extended message type, bits 4..2 (meaningful when `kind` is 3; 1 = video).
    pub extended: u8,
    /// Multiple subscriber profile, bits 6..5 (0..=3).
    pub profile: u8,
    /// Bit 7: store the message (true) or discard it after updating the indication.
    pub store: bool,
    /// The number of messages waiting (0 clears the indication; 255 means 255 or more).
    pub count: u8,
}

/// The data coding scheme, decoded by coding group (TS 23.038 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dcs {
    pub raw: u8,
    pub alphabet: Alphabet,
    /// Message class 0..=3 when the DCS carries one.
    pub message_class: Option<u8>,
    /// TS 23.042 compression: the payload is opaque and `text` is None.
    pub compressed: bool,
    /// Automatic-deletion group (01xx).
    pub auto_delete: bool,
    pub mwi: Option<Mwi>,
}

/// A semi-octet timestamp (SCTS, discharge time, absolute validity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    /// 2000 + YY.
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Offset from UTC in minutes (quarter hours * 15, signed).
    pub offset_minutes: i16,
}

/// Concatenation information from IEI 0x00 (8-bit reference) or 0x08 (16-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concat {
    pub reference: u16,
    /// 8 or 16.
    pub reference_bits: u8,
    pub total: u8,
    pub seq: u8,
}

/// One information element of the user data header, kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdhElement {
    pub iei: u8,
    pub data: Vec<u8>,
}

/// TP-VP of an SMS-SUBMIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidityPeriod {
    /// Relative format, converted to minutes.
    RelativeMinutes(u32),
    Absolute(Timestamp),
    /// Enhanced format, the 7 raw octets.
    Enhanced([u8; 7]),
}

/// Things worth knowing about a PDU that decoded, none of them fatal.
pub mod flags {
    /// The SCTS (or discharge time) has invalid BCD or an impossible date; it is None.
    pub const INVALID_TIMESTAMP: u32 = 1 << 0;
    /// UCS-2 user data had an odd number of octets; the last octet is not in `text`.
    pub const UCS2_ODD_LENGTH: u32 = 1 << 1;
    /// UCS-2 user data had lone surrogates, shown as U+FFFD.
    pub const UCS2_LONE_SURROGATE: u32 = 1 << 2;
    /// GSM-7 user data ended with a lone ESC (not shown in `text`).
    pub const TRAILING_ESCAPE: u32 = 1 << 3;
    /// Octets after the user data that UDL accounts for were ignored.
    pub const TRAILING_DATA: u32 = 1 << 4;
    /// An address type-of-address octet lacked the extension bit 7.
    pub const TOA_WITHOUT_EXTENSION_BIT: u32 = 1 << 5;
    /// The DCS is in a reserved group or names a reserved alphabet; decoded as GSM-7.
    pub const RESERVED_DCS: u32 = 1 << 6;
    /// A concatenation element was present but invalid (total 0, seq 0 or seq > total) and ignored.
    pub const INVALID_CONCAT: u32 = 1 << 7;

    /// Names used on the Python side, in bit order.
    pub const NAMES: &[(u32, &str)] = &[
        (INVALID_TIMESTAMP, "invalid_timestamp"),
        (UCS2_ODD_LENGTH, "ucs2_odd_length"),
        (UCS2_LONE_SURROGATE, "ucs2_lone_surrogate"),
        (TRAILING_ESCAPE, "trailing_escape"),
        (TRAILING_DATA, "trailing_data"),
        (TOA_WITHOUT_EXTENSION_BIT, "toa_without_extension_bit"),
        (RESERVED_DCS, "reserved_dcs"),
        (INVALID_CONCAT, "invalid_concat"),
    ];
}

/// One decoded TPDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    pub kind: MessageKind,
    /// The SMSC address block, when the input carried one (and it was not empty).
    pub smsc: Option<Address>,
    pub first_octet: u8,
    /// TP-MMS inverted: true when the SC has more messages waiting (DELIVER, STATUS-REPORT).
    pub more_messages: bool,
    /// TP-LP (DELIVER, STATUS-REPORT).
    pub loop_prevention: bool,
    /// TP-RP (DELIVER, SUBMIT).
    pub reply_path: bool,
    /// TP-SRI (DELIVER), TP-SRR (SUBMIT) or TP-SRQ (STATUS-REPORT).
    pub status_report: bool,
    /// TP-RD (SUBMIT).
    pub reject_duplicates: bool,
    /// TP-VP (SUBMIT).
    pub validity_period: Option<ValidityPeriod>,
    /// TP-MR (SUBMIT, STATUS-REPORT).
    pub message_reference: Option<u8>,
    /// TP-OA (DELIVER), TP-DA (SUBMIT) or TP-RA (STATUS-REPORT).
    pub address: Address,
    pub pid: u8,
    pub dcs: Dcs,
    /// TP-SCTS (DELIVER, STATUS-REPORT); None if invalid (see flags).
    pub scts: Option<Timestamp>,
    /// TP-DT (STATUS-REPORT).
    pub discharge_time: Option<Timestamp>,
    /// TP-ST (STATUS-REPORT).
    pub status: Option<u8>,
    /// TP-UDL as sent (septets for GSM-7, octets otherwise); 0 when absent.
    pub udl: u8,
    pub udh: Vec<UdhElement>,
    /// Special SMS message indications from IEI 0x01, in header order.
    pub indications: Vec<Indication>,
    pub concat: Option<Concat>,
    /// (destination, source) application ports from IEI 0x04 or 0x05.
    pub ports: Option<(u16, u16)>,
    /// National language locking / single shift NLI from IEI 0x25 / 0x24 (0 = default).
    pub locking_shift: u8,
    pub single_shift: u8,
    /// The decoded text; None for 8-bit and compressed payloads.
    pub text: Option<String>,
    /// The user data after the header: unpacked septets (one per byte) for GSM-7,
    /// the raw octets otherwise. Reassembly works from this.
    pub user_data: Vec<u8>,
    /// Bit set of `flags::*`.
    pub flags: u32,
}
