//! The one error type of the codec: what went wrong and where.

use std::fmt;

/// Which layer rejected the input; maps onto the Python exception classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Hex text that is not hex: odd length or a non-hex character.
    Hex,
    /// A TPDU that cannot be decoded: truncated, a reserved MTI, a bad header.
    Pdu,
    /// Text that cannot be expressed in (or septets that are not valid) GSM 7-bit.
    Gsm7,
    /// UTF-16BE data with an odd length or a lone surrogate (strict decoding only).
    Ucs2,
    /// Parts that do not make one concatenated message (offset = index of the offending part).
    Reassembly,
}

/// An error with the byte offset (or character index, for encoding) where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError {
    pub kind: ErrorKind,
    pub offset: usize,
    pub reason: String,
}

impl CodecError {
    pub fn new(kind: ErrorKind, offset: usize, reason: impl Into<String>) -> Self {
        Self {
            kind,
            offset,
            reason: reason.into(),
        }
    }

    pub fn pdu(offset: usize, reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Pdu, offset, reason)
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at offset {})", self.reason, self.offset)
    }
}

impl std::error::Error for CodecError {}
