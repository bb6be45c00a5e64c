//! The user data header (TS 23.040 §9.2.3.24): information elements
//! `IEI, IEDL, data` after the UDHL octet.
//!
//! Every element is kept raw, in order; the ones the decoder uses are also
//! interpreted: special message indications (0x01), concatenation (0x00,
//! 0x08), application ports (0x04, 0x05) and the national language shifts
//! (0x24 single, 0x25 locking). Indications may repeat (one per kind) and are
//! all kept; for any other repeated element the last valid occurrence wins. An element that overruns the header
//! is an error; a concatenation element with total 0, seq 0 or seq > total (or
//! the wrong length) is ignored and reported.

use crate::error::CodecError;
use crate::sms::{Concat, Indication, UdhElement};

pub(crate) const IEI_CONCAT_8: u8 = 0x00;
pub(crate) const IEI_SPECIAL_INDICATION: u8 = 0x01;
pub(crate) const IEI_PORTS_8: u8 = 0x04;
pub(crate) const IEI_PORTS_16: u8 = 0x05;
pub(crate) const IEI_CONCAT_16: u8 = 0x08;
pub(crate) const IEI_SINGLE_SHIFT: u8 = 0x24;
pub(crate) const IEI_LOCKING_SHIFT: u8 = 0x25;

/// What a header says.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Header {
    pub elements: Vec<UdhElement>,
    /// Special SMS message indications (IEI 0x01); the element may repeat.
    pub indications: Vec<Indication>,
    pub concat: Option<Concat>,
    pub ports: Option<(u16, u16)>,
    pub locking_shift: u8,
    pub single_shift: u8,
    /// A concatenation element was present but invalid and ignored.
    pub invalid_concat: bool,
}

/// Parse the elements of a header; `elements` is the UDHL octets that follow
/// the UDHL octet, which sits at `base - 1` in the input (error offsets are
/// input offsets).
pub(crate) fn parse(elements: &[u8], base: usize) -> Result<Header, CodecError> {
    let mut header = Header {
        elements: Vec::with_capacity(2),
        ..Header::default()
    };
    let mut at = 0;
    while at < elements.len() {
        let iei = elements[at];
        let Some(&length) = elements.get(at + 1) else {
            return Err(CodecError::pdu(
                base + at,
                format!("header element 0x{iei:02X} has no length octet inside the header"),
            ));
        };
        let start = at + 2;
        let end = start + usize::from(length);
        let Some(data) = elements.get(start..end) else {
            return Err(CodecError::pdu(
                base + at,
                format!(
                    "header element 0x{iei:02X} of {length} octets overruns the header ({} octets left)",
                    elements.len() - start
                ),
            ));
        };
        interpret(&mut header, iei, data);
        header.elements.push(UdhElement {
            iei,
            data: data.to_vec(),
        });
        at = end;
    }
    Ok(header)
}

fn interpret(header: &mut Header, iei: u8, data: &[u8]) {
    match (iei, data) {
        (IEI_CONCAT_8, &[reference, total, seq]) => {
            set_concat(header, u16::from(reference), 8, total, seq);
        }
        (IEI_CONCAT_16, &[high, low, total, seq]) => {
            set_concat(header, u16::from_be_bytes([high, low]), 16, total, seq);
        }
        (IEI_CONCAT_8 | IEI_CONCAT_16, _) => header.invalid_concat = true,
        (IEI_PORTS_8, &[destination, source]) => {
            header.ports = Some((u16::from(destination), u16::from(source)));
        }
        (IEI_PORTS_16, &[d1, d2, s1, s2]) => {
            header.ports = Some((u16::from_be_bytes([d1, d2]), u16::from_be_bytes([s1, s2])));
        }
        (IEI_SPECIAL_INDICATION, &[type_octet, count]) => header.indications.push(Indication {
            kind: type_octet & 0x03,
            extended: (type_octet >> 2) & 0x07,
            profile: (type_octet >> 5) & 0x03,
            store: type_octet & 0x80 != 0,
            count,
        }),
        (IEI_SINGLE_SHIFT, &[nli]) => header.single_shift = nli,
        (IEI_LOCKING_SHIFT, &[nli]) => header.locking_shift = nli,
        _ => {}
    }
}

fn set_concat(header: &mut Header, reference: u16, reference_bits: u8, total: u8, seq: u8) {
    // Reference 0 is valid (AOSP's aosp_multipart_ref0_* vectors use it).
    if total == 0 || seq == 0 || seq > total {
        header.invalid_concat = true;
    } else {
        header.concat = Some(Concat {
            reference,
            reference_bits,
            total,
            seq,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn concat(reference: u16, reference_bits: u8, total: u8, seq: u8) -> Option<Concat> {
        Some(Concat {
            reference,
            reference_bits,
            total,
            seq,
        })
    }

    #[test]
    fn concatenation_8_and_16_bit() {
        // pm_de_multipart_1: 00 03 19 02 01.
        let h = parse(&[0x00, 0x03, 0x19, 0x02, 0x01], 1).unwrap();
        assert_eq!(h.concat, concat(0x19, 8, 2, 1));
        assert_eq!(
            h.elements,
            [UdhElement {
                iei: 0,
                data: vec![0x19, 0x02, 0x01]
            }]
        );
        // np_concat16_a1: 08 04 1234 02 01.
        let h = parse(&[0x08, 0x04, 0x12, 0x34, 0x02, 0x01], 1).unwrap();
        assert_eq!(h.concat, concat(0x1234, 16, 2, 1));
        assert!(!h.invalid_concat);
    }

    #[test]
    fn reference_zero_is_valid() {
        // aosp_multipart_ref0_1.
        let h = parse(&[0x00, 0x03, 0x00, 0x02, 0x01], 1).unwrap();
        assert_eq!(h.concat, concat(0, 8, 2, 1));
    }

    #[test]
    fn invalid_concatenation_is_ignored_and_flagged() {
        for data in [
            [0x00, 0x03, 0x07, 0x00, 0x01], // total 0
            [0x00, 0x03, 0x07, 0x02, 0x00], // seq 0
            [0x00, 0x03, 0x07, 0x02, 0x03], // seq > total
        ] {
            let h = parse(&data, 1).unwrap();
            assert_eq!(h.concat, None);
            assert!(h.invalid_concat);
            assert_eq!(h.elements.len(), 1, "kept raw");
        }
        // Wrong length.
        let h = parse(&[0x00, 0x02, 0x07, 0x01], 1).unwrap();
        assert!(h.invalid_concat && h.concat.is_none());
        // An invalid repeat does not erase an earlier valid element.
        let h = parse(
            &[0x00, 0x03, 0x07, 0x02, 0x01, 0x00, 0x03, 0x07, 0x00, 0x01],
            1,
        )
        .unwrap();
        assert_eq!(h.concat, concat(7, 8, 2, 1));
        assert!(h.invalid_concat);
    }

    #[test]
    fn repeated_element_last_wins() {
        let h = parse(
            &[
                0x00, 0x03, 0x07, 0x02, 0x01, 0x08, 0x04, 0x01, 0x00, 0x03, 0x03, 0x24, 0x01, 0x01,
                0x24, 0x01, 0x02,
            ],
            1,
        )
        .unwrap();
        assert_eq!(h.concat, concat(256, 16, 3, 3));
        assert_eq!(h.single_shift, 2);
        assert_eq!(h.elements.len(), 4);
    }

    #[test]
    fn application_ports() {
        // aosp_wap_push_1: 05 04 0B84 23F0 -> (2948, 9200).
        let h = parse(
            &[
                0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x2A, 0x02, 0x01,
            ],
            1,
        )
        .unwrap();
        assert_eq!(h.ports, Some((2948, 9200)));
        assert_eq!(h.concat, concat(42, 8, 2, 1));
        let h = parse(&[0x04, 0x02, 0xE2, 0x11], 1).unwrap();
        assert_eq!(h.ports, Some((0xE2, 0x11)));
        // A port element of the wrong length is kept raw only.
        let h = parse(&[0x05, 0x02, 0x0B, 0x84], 1).unwrap();
        assert_eq!((h.ports, h.elements.len()), (None, 1));
    }

    #[test]
    fn special_message_indications_repeat_and_are_all_kept() {
        // aosp_cingular_mwi_udh: 01 02 00 02 -> voicemail, discard, 2 waiting.
        let h = parse(&[0x01, 0x02, 0x00, 0x02], 1).unwrap();
        assert_eq!(
            h.indications,
            [Indication {
                kind: 0,
                extended: 0,
                profile: 0,
                store: false,
                count: 2
            }]
        );
        // Store bit, profile 2, extended type 1 (video) with basic type 3; then fax cleared.
        let h = parse(&[0x01, 0x02, 0xC7, 0x05, 0x01, 0x02, 0x01, 0x00], 1).unwrap();
        assert_eq!(h.indications.len(), 2);
        assert_eq!(
            h.indications[0],
            Indication {
                kind: 3,
                extended: 1,
                profile: 2,
                store: true,
                count: 5
            }
        );
        assert_eq!((h.indications[1].kind, h.indications[1].count), (1, 0));
        // The wrong length is kept raw only.
        let h = parse(&[0x01, 0x01, 0x00], 1).unwrap();
        assert_eq!((h.indications.len(), h.elements.len()), (0, 1));
    }

    #[test]
    fn national_language_shifts_are_0x24_and_0x25() {
        // der_tr_locking_single: 24 01 01 25 01 01.
        let h = parse(&[0x24, 0x01, 0x01, 0x25, 0x01, 0x01], 1).unwrap();
        assert_eq!((h.locking_shift, h.single_shift), (1, 1));
        // Decimal 24/25 (0x18/0x19, as warthog618/sms uses) are other elements.
        let h = parse(&[0x18, 0x01, 0x01, 0x19, 0x01, 0x01], 1).unwrap();
        assert_eq!((h.locking_shift, h.single_shift), (0, 0));
        assert_eq!(h.elements.len(), 2);
    }

    #[test]
    fn unknown_elements_are_kept_raw() {
        // np_ems_bold: EMS text formatting 0A 03 000410.
        let h = parse(&[0x0A, 0x03, 0x00, 0x04, 0x10, 0x70, 0x00], 1).unwrap();
        assert_eq!(
            h.elements,
            [
                UdhElement {
                    iei: 0x0A,
                    data: vec![0x00, 0x04, 0x10]
                },
                UdhElement {
                    iei: 0x70,
                    data: vec![]
                },
            ]
        );
    }

    #[test]
    fn elements_overrunning_the_header_are_errors() {
        let err = parse(&[0x00, 0x03, 0x07, 0x02], 10).unwrap_err();
        assert_eq!((err.kind, err.offset), (ErrorKind::Pdu, 10));
        let err = parse(&[0x24, 0x01, 0x01, 0x25], 10).unwrap_err();
        assert_eq!((err.kind, err.offset), (ErrorKind::Pdu, 13));
        assert_eq!(parse(&[], 1).unwrap(), Header::default());
    }
}
