//! TP-DCS, decoded by coding group (TS 23.038 §4).
//!
//! The alphabet bits mean different things in different groups: reading bits
//! 3..2 blindly turns the MWI group `0xC8` into "UCS-2", which is how several
//! decoders crash on voicemail indications.

use crate::sms::{Alphabet, Dcs, Mwi};

/// Decode a DCS octet. The bool is true when the group or the alphabet is
/// reserved (the data is then read as GSM 7-bit, as TS 23.038 asks).
pub(crate) fn decode(raw: u8) -> (Dcs, bool) {
    let mut dcs = Dcs {
        raw,
        alphabet: Alphabet::Gsm7,
        message_class: None,
        compressed: false,
        auto_delete: false,
        mwi: None,
    };
    let mut reserved = false;
    match raw >> 4 {
        // 00xx general data coding, 01xx the same with automatic deletion.
        0b0000..=0b0111 => {
            dcs.auto_delete = raw & 0x40 != 0;
            dcs.compressed = raw & 0x20 != 0;
            if raw & 0x10 != 0 {
                dcs.message_class = Some(raw & 0x03);
            }
            dcs.alphabet = match (raw >> 2) & 0x03 {
                0b00 => Alphabet::Gsm7,
                0b01 => Alphabet::EightBit,
                0b10 => Alphabet::Ucs2,
                _ => {
                    reserved = true;
                    Alphabet::Gsm7
                }
            };
        }
        0b1000..=0b1011 => reserved = true,
        // Message waiting indication: 1100 discard (GSM-7), 1101 store (GSM-7), 1110 store (UCS-2).
        group @ 0b1100..=0b1110 => {
            dcs.alphabet = if group == 0b1110 {
                Alphabet::Ucs2
            } else {
                Alphabet::Gsm7
            };
            dcs.mwi = Some(Mwi {
                active: raw & 0x08 != 0,
                kind: raw & 0x03,
                store: group != 0b1100,
            });
        }
        // 1111: data coding / message class; bit 2 picks GSM-7 or 8-bit, bit 3 is reserved.
        _ => {
            dcs.alphabet = if raw & 0x04 != 0 {
                Alphabet::EightBit
            } else {
                Alphabet::Gsm7
            };
            dcs.message_class = Some(raw & 0x03);
        }
    }
    (dcs, reserved)
}

/// TP-UDL counts septets only for uncompressed GSM 7-bit data (TS 23.040
/// §9.2.3.16); compressed data of any alphabet is counted in octets.
pub(crate) fn udl_counts_septets(dcs: &Dcs) -> bool {
    dcs.alphabet == Alphabet::Gsm7 && !dcs.compressed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alphabet(raw: u8) -> Alphabet {
        decode(raw).0.alphabet
    }

    #[test]
    fn general_group() {
        assert_eq!(decode(0x00), (decode(0x00).0, false));
        assert_eq!(alphabet(0x00), Alphabet::Gsm7);
        assert_eq!(alphabet(0x04), Alphabet::EightBit);
        assert_eq!(alphabet(0x08), Alphabet::Ucs2);
        // aosp_subject_dcs03: class bits without bit 4 carry no class.
        assert_eq!(decode(0x03).0.message_class, None);
        // np_flash_class0 (0x10), of_unicode_alnum (0x19: UCS-2, class 1), 0x12 SIM class.
        assert_eq!(decode(0x10).0.message_class, Some(0));
        assert_eq!(decode(0x19).0.message_class, Some(1));
        assert_eq!(alphabet(0x19), Alphabet::Ucs2);
        assert_eq!(decode(0x12).0.message_class, Some(2));
    }

    #[test]
    fn reserved_alphabet_and_groups_read_as_gsm7() {
        let (dcs, reserved) = decode(0x0C);
        assert_eq!((dcs.alphabet, reserved), (Alphabet::Gsm7, true));
        for raw in [0x80, 0x9F, 0xA4, 0xB8] {
            let (dcs, reserved) = decode(raw);
            assert_eq!(
                (dcs.alphabet, reserved, dcs.message_class),
                (Alphabet::Gsm7, true, None)
            );
        }
    }

    #[test]
    fn compressed_and_auto_delete() {
        let (dcs, _) = decode(0x28);
        assert!(dcs.compressed && !dcs.auto_delete);
        assert_eq!(dcs.alphabet, Alphabet::Ucs2);
        assert!(!udl_counts_septets(&dcs));
        let (dcs, _) = decode(0x20);
        assert!(dcs.compressed);
        assert!(!udl_counts_septets(&dcs));
        // 0x4B (mm_bad_ud_elements_size): automatic deletion, UCS-2, no class bit.
        let (dcs, reserved) = decode(0x4B);
        assert!(dcs.auto_delete && !dcs.compressed && !reserved);
        assert_eq!((dcs.alphabet, dcs.message_class), (Alphabet::Ucs2, None));
        assert_eq!(decode(0x50).0.message_class, Some(0));
    }

    #[test]
    fn mwi_groups_are_not_read_as_general_data_coding() {
        // aosp_cingular_mwi_udh / of_mwi_dcs_c8: 0xC8 = discard, voicemail, active.
        let (dcs, reserved) = decode(0xC8);
        assert!(!reserved);
        assert_eq!(dcs.alphabet, Alphabet::Gsm7);
        assert_eq!(
            dcs.mwi,
            Some(Mwi {
                active: true,
                kind: 0,
                store: false
            })
        );
        // aosp_cingular_mwi_clear: 0xC0 = discard, voicemail, inactive.
        assert_eq!(
            decode(0xC0).0.mwi,
            Some(Mwi {
                active: false,
                kind: 0,
                store: false
            })
        );
        let (dcs, _) = decode(0xD9);
        assert_eq!(dcs.alphabet, Alphabet::Gsm7);
        assert_eq!(
            dcs.mwi,
            Some(Mwi {
                active: true,
                kind: 1,
                store: true
            })
        );
        let (dcs, _) = decode(0xEA);
        assert_eq!(dcs.alphabet, Alphabet::Ucs2);
        assert_eq!(
            dcs.mwi,
            Some(Mwi {
                active: true,
                kind: 2,
                store: true
            })
        );
        assert_eq!(decode(0xC8).0.message_class, None);
    }

    #[test]
    fn group_1111_uses_bit_2() {
        // mm_dcs_f1_sfr_password (0xF1): GSM-7 class 1; mm_dcs_f4_8bit (0xF4): 8-bit class 0;
        // aosp_wap_push (0xF5): 8-bit class 1; 0xF2: SIM-specific.
        assert_eq!(
            (alphabet(0xF1), decode(0xF1).0.message_class),
            (Alphabet::Gsm7, Some(1))
        );
        assert_eq!(
            (alphabet(0xF4), decode(0xF4).0.message_class),
            (Alphabet::EightBit, Some(0))
        );
        assert_eq!(
            (alphabet(0xF5), decode(0xF5).0.message_class),
            (Alphabet::EightBit, Some(1))
        );
        assert_eq!(decode(0xF2).0.message_class, Some(2));
        // Bit 3 is reserved, not an alphabet bit.
        assert_eq!(alphabet(0xF8), Alphabet::Gsm7);
        assert!(!decode(0xF8).1);
    }
}
