//! Addresses (TS 23.040 §9.1.2.5) and the SMSC address block (TS 27.005 / 24.011).
//!
//! A TP address (OA, DA, RA) starts with its length in *useful semi-octets*,
//! then the type-of-address octet, then `ceil(len / 2)` octets. The SMSC
//! block instead counts *octets* including the type-of-address octet.
//! Digits are BCD with swapped nibbles; `A`..`E` are `*`, `#`, `a`, `b`, `c`
//! and `F` is the filler. An alphanumeric address (TON 101) holds packed
//! GSM 7-bit septets: exactly `floor(len * 4 / 7)` of them, or a trailing `@`
//! appears where the spare bits were.

use crate::error::{CodecError, ErrorKind};
use crate::gsm7;
use crate::sms::Address;

/// TON of an international number (value shown with `+`).
pub(crate) const TON_INTERNATIONAL: u8 = 1;
/// TON of an alphanumeric address (GSM 7-bit text).
pub(crate) const TON_ALPHANUMERIC: u8 = 5;

/// The most semi-octets a TP address can hold (10 octets after the TOA).
const MAX_SEMI_OCTETS: u8 = 20;
/// The most octets an SMSC block's length may announce (TOA + 10 octets).
pub(crate) const MAX_SMSC_OCTETS: u8 = 11;

/// The characters of BCD nibbles 0..=14; 15 is the filler.
const DIGITS: &[u8; 15] = b"0123456789*#abc";

/// Check a TP address (OA, DA or RA) whose length octet is at `pos` without
/// decoding it: where the next field starts, and whether the type-of-address
/// octet lacks its extension bit.
pub(crate) fn tp_end(data: &[u8], pos: usize) -> Result<(usize, bool), CodecError> {
    let semi_octets = *data
        .get(pos)
        .ok_or_else(|| ran_out(data, "address length"))?;
    if semi_octets > MAX_SEMI_OCTETS {
        return Err(CodecError::pdu(
            pos,
            format!("address length {semi_octets} exceeds {MAX_SEMI_OCTETS} semi-octets"),
        ));
    }
    let toa = *data
        .get(pos + 1)
        .ok_or_else(|| ran_out(data, "type of address"))?;
    let end = pos + 2 + usize::from(semi_octets).div_ceil(2);
    if end > data.len() {
        return Err(ran_out(data, "address digits"));
    }
    Ok((end, toa & 0x80 == 0))
}

/// Decode a TP address (OA, DA or RA) whose length octet is at `pos`.
pub(crate) fn decode_tp(data: &[u8], pos: usize) -> Result<Address, CodecError> {
    let (end, _) = tp_end(data, pos)?;
    let semi_octets = usize::from(data[pos]);
    Ok(value(data[pos + 1], &data[pos + 2..end], semi_octets))
}

/// Check the SMSC block at the start of `data`: where the TPDU starts, and
/// whether a (non-empty) block's type-of-address octet lacks its extension bit.
pub(crate) fn smsc_end(data: &[u8]) -> Result<(usize, bool), CodecError> {
    let octets = *data.first().ok_or_else(|| ran_out(data, "SMSC length"))?;
    if octets == 0 {
        return Ok((1, false));
    }
    if octets > MAX_SMSC_OCTETS {
        return Err(CodecError::pdu(
            0,
            format!("SMSC address length {octets} exceeds {MAX_SMSC_OCTETS} octets"),
        ));
    }
    let end = 1 + usize::from(octets);
    if end > data.len() {
        return Err(ran_out(data, "SMSC address"));
    }
    Ok((end, data[1] & 0x80 == 0))
}

/// Decode the SMSC block at the start of `data`: None when its length octet is 0.
pub(crate) fn decode_smsc(data: &[u8]) -> Result<(Option<Address>, usize, bool), CodecError> {
    let (end, toa_without_extension_bit) = smsc_end(data)?;
    if end == 1 {
        return Ok((None, 1, false));
    }
    let digits = &data[2..end];
    let address = value(data[1], digits, digits.len() * 2);
    Ok((Some(address), end, toa_without_extension_bit))
}

fn ran_out(data: &[u8], what: &str) -> CodecError {
    CodecError::pdu(data.len(), format!("data ends inside the {what}"))
}

/// The value of an address from its type-of-address octet and digit octets.
fn value(toa: u8, digits: &[u8], semi_octets: usize) -> Address {
    let ton = (toa >> 4) & 0x07;
    let npi = toa & 0x0F;
    let value = if ton == TON_ALPHANUMERIC {
        alphanumeric(digits, semi_octets)
    } else {
        let mut value = String::with_capacity(semi_octets + 1);
        if ton == TON_INTERNATIONAL {
            value.push('+');
        }
        for i in 0..semi_octets {
            let Some(&octet) = digits.get(i / 2) else {
                break;
            };
            let nibble = if i % 2 == 0 { octet & 0x0F } else { octet >> 4 };
            // The filler F is not a digit; skip it wherever it appears.
            if let Some(&c) = DIGITS.get(usize::from(nibble)) {
                value.push(char::from(c));
            }
        }
        value
    };
    Address { value, ton, npi }
}

/// Decode `floor(semi_octets * 4 / 7)` septets with the default GSM 7-bit tables.
fn alphanumeric(digits: &[u8], semi_octets: usize) -> String {
    let septets = semi_octets * 4 / 7;
    let mut text = String::with_capacity(septets);
    // The digit octets hold ceil(semi_octets / 2) * 8 >= septets * 7 bits, so
    // neither call can fail; a dangling ESC at the end shows nothing.
    if let Ok(unpacked) = gsm7::unpack(digits, 0, septets) {
        let _ = gsm7::decode_septets(&unpacked, 0, 0, false, &mut text);
    }
    text
}

/// Encode a TP address: `+` and digits (international, TOA 0x91), digits and
/// `*#abc` (TOA 0x81), or anything else as alphanumeric GSM 7-bit (TOA 0xD0,
/// at most 11 septets).
pub(crate) fn encode_tp(value: &str, out: &mut Vec<u8>) -> Result<(), CodecError> {
    if let Some((toa, digits)) = as_digits(value) {
        if digits.len() > usize::from(MAX_SEMI_OCTETS) {
            return Err(too_long(value));
        }
        out.push(digits.len() as u8);
        out.push(toa);
        push_bcd(&digits, out);
        return Ok(());
    }
    let septets = gsm7::encode(value, 0, 0)?;
    if septets.len() > 11 {
        return Err(too_long(value));
    }
    // ceil(7n / 4) semi-octets, so that floor(len * 4 / 7) gives n back.
    out.push((septets.len() * 7).div_ceil(4) as u8);
    out.push(0x80 | TON_ALPHANUMERIC << 4);
    out.extend_from_slice(&gsm7::pack(&septets, 0));
    Ok(())
}

/// Encode an SMSC block (`+` and digits, or digits); an empty value gives `00`.
pub(crate) fn encode_smsc(value: &str, out: &mut Vec<u8>) -> Result<(), CodecError> {
    if value.is_empty() {
        out.push(0);
        return Ok(());
    }
    let (toa, digits) = as_digits(value).ok_or_else(|| {
        CodecError::new(
            ErrorKind::Pdu,
            0,
            format!("SMSC address {value:?} is not a number"),
        )
    })?;
    if digits.len() > 2 * usize::from(MAX_SMSC_OCTETS - 1) {
        return Err(too_long(value));
    }
    out.push(1 + digits.len().div_ceil(2) as u8);
    out.push(toa);
    push_bcd(&digits, out);
    Ok(())
}

fn too_long(value: &str) -> CodecError {
    CodecError::new(ErrorKind::Pdu, 0, format!("address {value:?} is too long"))
}

/// The TOA and BCD nibbles of a numeric address, None if it is not numeric.
fn as_digits(value: &str) -> Option<(u8, Vec<u8>)> {
    let (toa, digits) = match value.strip_prefix('+') {
        Some(rest) => (0x80 | TON_INTERNATIONAL << 4 | 1, rest),
        None => (0x81, value),
    };
    // At least one decimal digit: a sender "abc" is a name, not the digits a, b, c.
    if !digits.bytes().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let nibbles = digits
        .bytes()
        .map(|c| DIGITS.iter().position(|&d| d == c).map(|n| n as u8))
        .collect::<Option<Vec<u8>>>()?;
    Some((toa, nibbles))
}

fn push_bcd(nibbles: &[u8], out: &mut Vec<u8>) {
    for pair in nibbles.chunks(2) {
        let high = pair.get(1).copied().unwrap_or(0x0F);
        out.push(high << 4 | pair[0]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex;

    fn tp(hex_text: &str) -> Address {
        decode_tp(&hex::decode(hex_text).unwrap(), 0).unwrap()
    }

    fn tp_value(hex_text: &str) -> String {
        tp(hex_text).value
    }

    #[test]
    fn international_and_national_numbers() {
        // pm_7bit (pmarti/python-messaging): OA 0B 91 1346610089F6.
        let data = hex::decode("0B911346610089F6FF").unwrap();
        let a = decode_tp(&data, 0).unwrap();
        assert_eq!(a.value, "+31641600986");
        assert_eq!((a.ton, a.npi), (1, 1));
        assert_eq!(tp_end(&data, 0).unwrap(), (8, false));
        // mm_pdu3_national: TOA 0x81 (unknown TON) shows no '+'.
        assert_eq!(tp_value("0B818100551512F2"), "18005551212");
        // aosp_email_gateway: 3 digits, odd count with F filler.
        assert_eq!(tp_value("038105F3"), "503");
    }

    #[test]
    fn nibbles_a_to_e_are_star_hash_abc() {
        // aosp_addr_star_hash (LineageOS GsmSmsTest): 09 E1 BADCBE5AF1 -> *#abc#*51.
        let a = tp("09E1BADCBE5AF1");
        assert_eq!(a.value, "*#abc#*51");
        assert_eq!((a.ton, a.npi), (6, 1));
    }

    #[test]
    fn the_semi_octet_count_wins_over_a_non_f_filler() {
        // aosp_cingular_mwi_udh: length 1, digits octet 0x05 -> "5" (the 0 nibble is filler).
        assert_eq!(tp_value("018005"), "5");
    }

    #[test]
    fn alphanumeric_uses_floor_len_times_4_over_7_septets() {
        // np_alnum_telfort (jackkum/node-pdu): 0D -> 13 semi-octets -> 7 septets.
        assert_eq!(tp_value("0DD0D432DBFC96D301"), "Telfort");
        // of_alnum_sipgate (rilmodem/ofono): no trailing '@'.
        assert_eq!(tp_value("0DD0F334FC1CA69701"), "sipgate");
        // pm_alnum_fonic_odd / pm_alnum_tim_even (pmarti/python-messaging).
        assert_eq!(tp_value("09D0C6A7333904"), "FONIC");
        assert_eq!(tp_value("12D0F7FBDD454FB75D693A"), "www.tim.it");
        // aosp_cphs_mwi_set / _clear: '@' (0x00) inside a sender is real.
        assert_eq!(tp_value("04D01100"), "_@");
        assert_eq!(tp_value("04D01000"), "Δ@");
        // of_unicode_alnum: 20 semi-octets -> 11 septets.
        assert_eq!(tp_value("14D0FBFD7EBFDFEFF77BFE1E"), "äääääääääöä");
        let a = tp("0BD054A930E85C02");
        assert_eq!(a.value, "TRBANK");
        assert_eq!(a.ton, TON_ALPHANUMERIC);
    }

    #[test]
    fn alphanumeric_with_extension_characters() {
        let mut out = Vec::new();
        encode_tp("A{B}€", &mut out).unwrap();
        assert_eq!(decode_tp(&out, 0).unwrap().value, "A{B}€");
    }

    #[test]
    fn type_of_address_without_extension_bit_is_accepted() {
        // pm_status_report_no_smsc read without its SMSC octet would give TOA 0x05;
        // such captures exist, so accept and flag.
        let data = hex::decode("04012143").unwrap();
        assert_eq!(decode_tp(&data, 0).unwrap().value, "1234");
        assert_eq!(tp_end(&data, 0).unwrap(), (4, true));
    }

    #[test]
    fn truncated_and_oversized_addresses_are_errors() {
        // mm_bad_address_size: OA length 1, TOA 0x1C, digits missing.
        let err = decode_tp(&[0x01, 0x1C], 0).unwrap_err();
        assert_eq!((err.kind, err.offset), (ErrorKind::Pdu, 2));
        let err = decode_tp(&[0x0B], 0).unwrap_err();
        assert_eq!(err.offset, 1);
        let err = decode_tp(&[0x00, 0x91, 0x15], 1).unwrap_err();
        assert_eq!((err.kind, err.offset), (ErrorKind::Pdu, 1));
        let err = decode_tp(&[], 0).unwrap_err();
        assert_eq!(err.offset, 0);
    }

    #[test]
    fn empty_address() {
        let data = [0x00, 0x81, 0x55];
        assert_eq!(decode_tp(&data, 0).unwrap().value, "");
        assert_eq!(tp_end(&data, 0).unwrap(), (2, false));
    }

    #[test]
    fn smsc_block_counts_octets() {
        // The reference notes' example: 07 91 1326040000F0 -> +31624000000.
        let data = hex::decode("07911326040000F0FF").unwrap();
        let (address, end, no_ext) = decode_smsc(&data).unwrap();
        assert_eq!(address.unwrap().value, "+31624000000");
        assert_eq!((end, no_ext), (8, false));
        assert_eq!(decode_smsc(&[0x00, 0x04]).unwrap().0, None);
        assert_eq!(decode_smsc(&[0x00]).unwrap().1, 1);
        // of_unicode_alnum: 04 81 999999 (TON unknown).
        let (address, _, _) = decode_smsc(&hex::decode("0481999999").unwrap()).unwrap();
        assert_eq!(address.unwrap().value, "999999");
        assert_eq!(decode_smsc(&[0x07, 0x91, 0x13]).unwrap_err().offset, 3);
        assert_eq!(decode_smsc(&[0x0C]).unwrap_err().offset, 0);
        assert_eq!(decode_smsc(&[]).unwrap_err().offset, 0);
    }

    #[test]
    fn encode_round_trips() {
        for value in [
            "+31641600986",
            "18005551212",
            "*#abc#*51",
            "5",
            "Telfort",
            "_@",
            "TRBANK",
            "MyBank12345",
        ] {
            let mut out = Vec::new();
            encode_tp(value, &mut out).unwrap();
            assert_eq!(decode_tp(&out, 0).unwrap().value, value);
            assert_eq!(tp_end(&out, 0).unwrap().0, out.len());
        }
        let mut out = Vec::new();
        encode_tp("+31641600986", &mut out).unwrap();
        assert_eq!(hex::encode(&out), "0B911346610089F6");
        let mut out = Vec::new();
        encode_tp("Telfort", &mut out).unwrap();
        assert_eq!(hex::encode(&out), "0DD0D432DBFC96D301");
        assert!(encode_tp("TwelveChars!", &mut Vec::new()).is_err());
        assert!(encode_tp("日本", &mut Vec::new()).is_err());
        // Letters a, b, c alone make a name, not digits.
        let mut out = Vec::new();
        encode_tp("abc", &mut out).unwrap();
        assert_eq!(tp(&hex::encode(&out)).ton, TON_ALPHANUMERIC);
        let mut out = Vec::new();
        encode_smsc("+31624000000", &mut out).unwrap();
        assert_eq!(hex::encode(&out), "07911326040000F0");
        let mut out = Vec::new();
        encode_smsc("", &mut out).unwrap();
        assert_eq!(out, [0]);
        assert!(encode_smsc("SMSC", &mut Vec::new()).is_err());
    }
}
