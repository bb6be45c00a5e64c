//! Semi-octet timestamps (TS 23.040 §9.2.3.11): TP-SCTS, TP-DT and an absolute TP-VP.
//!
//! Seven octets `YY MM DD hh mm ss TZ`, each two BCD digits with the nibbles
//! swapped (the low nibble is the tens digit). The time zone counts quarter
//! hours; its sign is bit 3 of the raw octet, the top bit of the tens digit.
//! The century is not encoded: we read 20YY. Invalid BCD in a date or time
//! field, an impossible date or an offset beyond ±18:00 is not an error: the
//! caller gets None and flags it.

use crate::sms::Timestamp;

/// Octets of a timestamp.
pub(crate) const LEN: usize = 7;

/// The largest offset we accept: ±18:00, the range most date libraries allow.
const MAX_QUARTERS: i16 = 72;

/// Decode seven timestamp octets; None for invalid BCD or an impossible date or offset.
pub(crate) fn decode(octets: &[u8; LEN]) -> Option<Timestamp> {
    let year = bcd(octets[0])?;
    let month = bcd(octets[1])?;
    let day = bcd(octets[2])?;
    let hour = bcd(octets[3])?;
    let minute = bcd(octets[4])?;
    let second = bcd(octets[5])?;
    // The time zone's units nibble is read as its value even when it is not
    // a decimal digit, as ofono and the other public decoders do: ofono's
    // status report test PDU `sr_pdu3` carries 0xA0, which they all read as
    // 10 quarter hours (+02:30). The range check below still applies.
    let tz = octets[6];
    let quarters = i16::from(tz & 0x07) * 10 + i16::from(tz >> 4);
    if quarters > MAX_QUARTERS {
        return None;
    }
    let year = 2000 + u16::from(year);
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let sign = if tz & 0x08 != 0 { -1 } else { 1 };
    Some(Timestamp {
        year,
        month,
        day,
        hour,
        minute,
        second,
        offset_minutes: sign * quarters * 15,
    })
}

/// Encode a timestamp; None if the year is outside 2000..=2099 or the offset
/// is not a whole number of quarter hours within ±18:00 (or a field is out of range).
pub(crate) fn encode(ts: &Timestamp) -> Option<[u8; LEN]> {
    let year = ts.year.checked_sub(2000).filter(|y| *y <= 99)? as u8;
    if ts.offset_minutes % 15 != 0 || (ts.offset_minutes / 15).abs() > MAX_QUARTERS {
        return None;
    }
    if !(1..=12).contains(&ts.month)
        || ts.day == 0
        || ts.day > days_in_month(ts.year, ts.month)
        || ts.hour > 23
        || ts.minute > 59
        || ts.second > 59
    {
        return None;
    }
    let quarters = (ts.offset_minutes / 15).unsigned_abs() as u8;
    let sign = if ts.offset_minutes < 0 { 0x08 } else { 0 };
    Some([
        swapped_bcd(year),
        swapped_bcd(ts.month),
        swapped_bcd(ts.day),
        swapped_bcd(ts.hour),
        swapped_bcd(ts.minute),
        swapped_bcd(ts.second),
        swapped_bcd(quarters) | sign,
    ])
}

/// The value of a nibble-swapped BCD octet, None if a nibble is not a digit.
fn bcd(octet: u8) -> Option<u8> {
    let (tens, units) = (octet & 0x0F, octet >> 4);
    (tens <= 9 && units <= 9).then_some(tens * 10 + units)
}

fn swapped_bcd(value: u8) -> u8 {
    (value % 10) << 4 | (value / 10)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8, offset_minutes: i16) -> Timestamp {
        Timestamp {
            year: y,
            month: mo,
            day: d,
            hour: h,
            minute: mi,
            second: s,
            offset_minutes,
        }
    }

    fn octets(hex: &str) -> [u8; LEN] {
        crate::hex::decode(hex).unwrap().try_into().unwrap()
    }

    #[test]
    fn decodes_positive_offsets() {
        // pm_7bit (pmarti/python-messaging): 2002-08-26 19:37:41, TZ 00.
        assert_eq!(
            decode(&octets("20806291731408")),
            Some(ts(2002, 8, 26, 19, 37, 41, 0))
        );
        // The worked examples of the reference notes: 23 -> +8 h, 40 -> +1 h, 80 -> +2 h.
        assert_eq!(
            decode(&octets("81117002122223")).unwrap().offset_minutes,
            480
        );
        assert_eq!(
            decode(&octets("90901071142340")).unwrap().offset_minutes,
            60
        );
        assert_eq!(
            decode(&octets("31706241927280")).unwrap().offset_minutes,
            120
        );
    }

    #[test]
    fn sign_is_bit_3_of_the_raw_octet() {
        // 8A -> -7 h (aosp_test_tz_minus7), 29 -> -3 h, 2B -> -8 h, 48 -> -1 h.
        assert_eq!(
            decode(&octets("6060605130308A")).unwrap().offset_minutes,
            -420
        );
        assert_eq!(
            decode(&octets("01901151011129")).unwrap().offset_minutes,
            -180
        );
        assert_eq!(
            decode(&octets("8111700212222B")).unwrap().offset_minutes,
            -480
        );
        assert_eq!(
            decode(&octets("20806291731448")).unwrap().offset_minutes,
            -60
        );
        // Quarter hours, not hours: 22 -> 22 quarters = +5:30 (gammu_at_sms_03).
        assert_eq!(
            decode(&octets("70503070400422")).unwrap().offset_minutes,
            330
        );
        // Negative zero exists and is plain UTC.
        assert_eq!(decode(&octets("20806291731408")).unwrap().offset_minutes, 0);
        assert_eq!(
            decode(&octets("20806291731480")).unwrap().offset_minutes,
            120
        );
        assert_eq!(
            decode(&octets("20806291731408")),
            decode(&octets("20806291731400"))
        );
    }

    #[test]
    fn time_zone_units_nibble_above_9_is_read_as_its_value() {
        // of_sr_3_tpdu_only (rilmodem/ofono unit/test-sms.c sr_pdu3): TZ 0xA0 -> +02:30.
        assert_eq!(
            decode(&octets("019012413064A0")).unwrap().offset_minutes,
            150
        );
        // F in the units nibble with tens 7: 85 quarters, beyond ±18:00.
        assert_eq!(decode(&octets("019012413064F7")), None);
    }

    #[test]
    fn century_is_2000_plus_yy() {
        // spd_readme_test: YY = 98 reads as 2098 (peers disagree: 1998, 2088).
        assert_eq!(decode(&octets("89212221401400")).unwrap().year, 2098);
    }

    #[test]
    fn invalid_bcd_and_impossible_dates_are_none() {
        for hex in [
            "FFFFFFFFFFFFFF", // all F nibbles, as some modems send
            "2A806291731400", // tens nibble A in the year
            "20316291731400", // month 13
            "20006291731400", // month 0
            "20802391731400", // 32nd
            "00209201000000", // 2000-02-29 exists (the one valid row)
            "10209201000000", // 2001-02-29
            "20806242731400", // hour 24
            "20806291062400", // minute 60 (0x06)
            "20806291730640", // second 60
            "20806291731437", // 73 quarter hours, beyond +18:00
        ] {
            let expected_valid = hex == "00209201000000";
            assert_eq!(decode(&octets(hex)).is_some(), expected_valid, "{hex}");
        }
    }

    #[test]
    fn encode_round_trips_and_rejects_what_cannot_be_sent() {
        for t in [
            ts(2024, 5, 17, 9, 30, 15, 60),
            ts(2006, 6, 6, 15, 3, 3, -420),
            ts(2099, 12, 31, 23, 59, 59, -15),
            ts(2000, 2, 29, 0, 0, 0, 0),
            ts(2010, 9, 21, 14, 3, 46, 150),
        ] {
            assert_eq!(decode(&encode(&t).unwrap()), Some(t));
        }
        assert_eq!(
            encode(&ts(2024, 5, 17, 9, 30, 15, 60)).unwrap(),
            octets("42507190035140")
        );
        assert!(encode(&ts(1999, 1, 1, 0, 0, 0, 0)).is_none());
        assert!(encode(&ts(2100, 1, 1, 0, 0, 0, 0)).is_none());
        assert!(encode(&ts(2024, 1, 1, 0, 0, 0, 10)).is_none());
        assert!(encode(&ts(2024, 1, 1, 0, 0, 0, 19 * 60)).is_none());
        assert!(encode(&ts(2023, 2, 29, 0, 0, 0, 0)).is_none());
    }
}
