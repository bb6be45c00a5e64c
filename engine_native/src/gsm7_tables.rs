//! The character tables of TS 23.038: the GSM 7-bit default alphabet and its
//! extension table (§6.2.1, §6.2.1.1), and the national language locking shift
//! (§A.3) and single shift (§A.2) tables for NLI 1 to 13.
//!
//! Each table has 128 entries indexed by septet. `NONE` marks a position the
//! standard leaves unassigned, and the ESC position (0x1B) of every table, which
//! the decoder handles itself and never looks up. Spanish (NLI 2) has a single
//! shift table only; a locking shift request for it gets the default alphabet.
//!
//! Transcribed from the tables of TS 23.038 Release 18 and checked position by
//! position against Android's `GsmAlphabet` tables (all 27 agree); the Bengali
//! and Gujarati tables were also checked against oFono's. Where the printed
//! tables have known errata this follows Android and oFono: 0x2C of the Indic
//! and Urdu locking shift tables is the comma, Kannada 0x24 is U+0CA1, and the
//! Telugu single shift table has the euro sign at 0x65 like all the others.

/// One table: the character of each septet value, `NONE` where there is none.
pub(crate) type Table = [char; 128];

/// An unassigned position (no table of TS 23.038 contains U+0000).
pub(crate) const NONE: char = '\u{0}';

/// The number of table slots: NLI 0 (the default tables) to 13.
pub(crate) const TABLE_SLOTS: usize = 14;

/// The slot of a locking shift request: unknown NLIs, and Spanish (which has no
/// locking shift table), fall back to the default alphabet.
pub(crate) fn locking_slot(nli: u8) -> usize {
    match nli {
        1 | 3..=13 => usize::from(nli),
        _ => 0,
    }
}

/// The slot of a single shift request: unknown NLIs fall back to the default
/// extension table.
pub(crate) fn single_shift_slot(nli: u8) -> usize {
    match nli {
        1..=13 => usize::from(nli),
        _ => 0,
    }
}

/// The locking shift (base) tables by slot; slot 2 (Spanish) holds the default.
pub(crate) static LOCKING: [&Table; TABLE_SLOTS] = [
    &LOCKING_DEFAULT,
    &LOCKING_TURKISH,
    &LOCKING_DEFAULT,
    &LOCKING_PORTUGUESE,
    &LOCKING_BENGALI,
    &LOCKING_GUJARATI,
    &LOCKING_HINDI,
    &LOCKING_KANNADA,
    &LOCKING_MALAYALAM,
    &LOCKING_ORIYA,
    &LOCKING_PUNJABI,
    &LOCKING_TAMIL,
    &LOCKING_TELUGU,
    &LOCKING_URDU,
];

/// The single shift (extension) tables by slot.
pub(crate) static SINGLE_SHIFT: [&Table; TABLE_SLOTS] = [
    &SINGLE_DEFAULT,
    &SINGLE_TURKISH,
    &SINGLE_SPANISH,
    &SINGLE_PORTUGUESE,
    &SINGLE_BENGALI,
    &SINGLE_GUJARATI,
    &SINGLE_HINDI,
    &SINGLE_KANNADA,
    &SINGLE_MALAYALAM,
    &SINGLE_ORIYA,
    &SINGLE_PUNJABI,
    &SINGLE_TAMIL,
    &SINGLE_TELUGU,
    &SINGLE_URDU,
];

/// The GSM 7-bit default alphabet (TS 23.038 §6.2.1).
#[rustfmt::skip]
static LOCKING_DEFAULT: Table = [
    '@', '\u{00A3}', '$', '\u{00A5}', '\u{00E8}', '\u{00E9}', '\u{00F9}', '\u{00EC}', // 0x00
    '\u{00F2}', '\u{00C7}', '\n', '\u{00D8}', '\u{00F8}', '\r', '\u{00C5}', '\u{00E5}', // 0x08
    '\u{0394}', '_', '\u{03A6}', '\u{0393}', '\u{039B}', '\u{03A9}', '\u{03A0}', '\u{03A8}', // 0x10
    '\u{03A3}', '\u{0398}', '\u{039E}', NONE, '\u{00C6}', '\u{00E6}', '\u{00DF}', '\u{00C9}', // 0x18
    ' ', '!', '"', '#', '\u{00A4}', '%', '&', '\'', // 0x20
    '(', ')', '*', '+', ',', '-', '.', '/', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', '<', '=', '>', '?', // 0x38
    '\u{00A1}', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', '\u{00C4}', '\u{00D6}', '\u{00D1}', '\u{00DC}', '\u{00A7}', // 0x58
    '\u{00BF}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', '\u{00E4}', '\u{00F6}', '\u{00F1}', '\u{00FC}', '\u{00E0}', // 0x78
];

/// NLI 1 Turkish locking shift table (TS 23.038 §A.3.1).
#[rustfmt::skip]
static LOCKING_TURKISH: Table = [
    '@', '\u{00A3}', '$', '\u{00A5}', '\u{20AC}', '\u{00E9}', '\u{00F9}', '\u{0131}', // 0x00
    '\u{00F2}', '\u{00C7}', '\n', '\u{011E}', '\u{011F}', '\r', '\u{00C5}', '\u{00E5}', // 0x08
    '\u{0394}', '_', '\u{03A6}', '\u{0393}', '\u{039B}', '\u{03A9}', '\u{03A0}', '\u{03A8}', // 0x10
    '\u{03A3}', '\u{0398}', '\u{039E}', NONE, '\u{015E}', '\u{015F}', '\u{00DF}', '\u{00C9}', // 0x18
    ' ', '!', '"', '#', '\u{00A4}', '%', '&', '\'', // 0x20
    '(', ')', '*', '+', ',', '-', '.', '/', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', '<', '=', '>', '?', // 0x38
    '\u{0130}', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', '\u{00C4}', '\u{00D6}', '\u{00D1}', '\u{00DC}', '\u{00A7}', // 0x58
    '\u{00E7}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', '\u{00E4}', '\u{00F6}', '\u{00F1}', '\u{00FC}', '\u{00E0}', // 0x78
];

/// NLI 3 Portuguese locking shift table (TS 23.038 §A.3.3).
#[rustfmt::skip]
static LOCKING_PORTUGUESE: Table = [
    '@', '\u{00A3}', '$', '\u{00A5}', '\u{00EA}', '\u{00E9}', '\u{00FA}', '\u{00ED}', // 0x00
    '\u{00F3}', '\u{00E7}', '\n', '\u{00D4}', '\u{00F4}', '\r', '\u{00C1}', '\u{00E1}', // 0x08
    '\u{0394}', '_', '\u{00AA}', '\u{00C7}', '\u{00C0}', '\u{221E}', '^', '\\', // 0x10
    '\u{20AC}', '\u{00D3}', '|', NONE, '\u{00C2}', '\u{00E2}', '\u{00CA}', '\u{00C9}', // 0x18
    ' ', '!', '"', '#', '\u{00BA}', '%', '&', '\'', // 0x20
    '(', ')', '*', '+', ',', '-', '.', '/', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', '<', '=', '>', '?', // 0x38
    '\u{00CD}', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', '\u{00C3}', '\u{00D5}', '\u{00DA}', '\u{00DC}', '\u{00A7}', // 0x58
    '~', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', '\u{00E3}', '\u{00F5}', '`', '\u{00FC}', '\u{00E0}', // 0x78
];

/// NLI 4 Bengali locking shift table (TS 23.038 §A.3.4).
#[rustfmt::skip]
static LOCKING_BENGALI: Table = [
    '\u{0981}', '\u{0982}', '\u{0983}', '\u{0985}', '\u{0986}', '\u{0987}', '\u{0988}', '\u{0989}', // 0x00
    '\u{098A}', '\u{098B}', '\n', '\u{098C}', NONE, '\r', NONE, '\u{098F}', // 0x08
    '\u{0990}', NONE, NONE, '\u{0993}', '\u{0994}', '\u{0995}', '\u{0996}', '\u{0997}', // 0x10
    '\u{0998}', '\u{0999}', '\u{099A}', NONE, '\u{099B}', '\u{099C}', '\u{099D}', '\u{099E}', // 0x18
    ' ', '!', '\u{099F}', '\u{09A0}', '\u{09A1}', '\u{09A2}', '\u{09A3}', '\u{09A4}', // 0x20
    ')', '(', '\u{09A5}', '\u{09A6}', ',', '\u{09A7}', '.', '\u{09A8}', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', NONE, '\u{09AA}', '\u{09AB}', '?', // 0x38
    '\u{09AC}', '\u{09AD}', '\u{09AE}', '\u{09AF}', '\u{09B0}', NONE, '\u{09B2}', NONE, // 0x40
    NONE, NONE, '\u{09B6}', '\u{09B7}', '\u{09B8}', '\u{09B9}', '\u{09BC}', '\u{09BD}', // 0x48
    '\u{09BE}', '\u{09BF}', '\u{09C0}', '\u{09C1}', '\u{09C2}', '\u{09C3}', '\u{09C4}', NONE, // 0x50
    NONE, '\u{09C7}', '\u{09C8}', NONE, NONE, '\u{09CB}', '\u{09CC}', '\u{09CD}', // 0x58
    '\u{09CE}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', '\u{09D7}', '\u{09DC}', '\u{09DD}', '\u{09F0}', '\u{09F1}', // 0x78
];

/// NLI 5 Gujarati locking shift table (TS 23.038 §A.3.5).
#[rustfmt::skip]
static LOCKING_GUJARATI: Table = [
    '\u{0A81}', '\u{0A82}', '\u{0A83}', '\u{0A85}', '\u{0A86}', '\u{0A87}', '\u{0A88}', '\u{0A89}', // 0x00
    '\u{0A8A}', '\u{0A8B}', '\n', '\u{0A8C}', '\u{0A8D}', '\r', NONE, '\u{0A8F}', // 0x08
    '\u{0A90}', '\u{0A91}', NONE, '\u{0A93}', '\u{0A94}', '\u{0A95}', '\u{0A96}', '\u{0A97}', // 0x10
    '\u{0A98}', '\u{0A99}', '\u{0A9A}', NONE, '\u{0A9B}', '\u{0A9C}', '\u{0A9D}', '\u{0A9E}', // 0x18
    ' ', '!', '\u{0A9F}', '\u{0AA0}', '\u{0AA1}', '\u{0AA2}', '\u{0AA3}', '\u{0AA4}', // 0x20
    ')', '(', '\u{0AA5}', '\u{0AA6}', ',', '\u{0AA7}', '.', '\u{0AA8}', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', NONE, '\u{0AAA}', '\u{0AAB}', '?', // 0x38
    '\u{0AAC}', '\u{0AAD}', '\u{0AAE}', '\u{0AAF}', '\u{0AB0}', NONE, '\u{0AB2}', '\u{0AB3}', // 0x40
    NONE, '\u{0AB5}', '\u{0AB6}', '\u{0AB7}', '\u{0AB8}', '\u{0AB9}', '\u{0ABC}', '\u{0ABD}', // 0x48
    '\u{0ABE}', '\u{0ABF}', '\u{0AC0}', '\u{0AC1}', '\u{0AC2}', '\u{0AC3}', '\u{0AC4}', '\u{0AC5}', // 0x50
    NONE, '\u{0AC7}', '\u{0AC8}', '\u{0AC9}', NONE, '\u{0ACB}', '\u{0ACC}', '\u{0ACD}', // 0x58
    '\u{0AD0}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', '\u{0AE0}', '\u{0AE1}', '\u{0AE2}', '\u{0AE3}', '\u{0AF1}', // 0x78
];

/// NLI 6 Hindi locking shift table (TS 23.038 §A.3.6).
#[rustfmt::skip]
static LOCKING_HINDI: Table = [
    '\u{0901}', '\u{0902}', '\u{0903}', '\u{0905}', '\u{0906}', '\u{0907}', '\u{0908}', '\u{0909}', // 0x00
    '\u{090A}', '\u{090B}', '\n', '\u{090C}', '\u{090D}', '\r', '\u{090E}', '\u{090F}', // 0x08
    '\u{0910}', '\u{0911}', '\u{0912}', '\u{0913}', '\u{0914}', '\u{0915}', '\u{0916}', '\u{0917}', // 0x10
    '\u{0918}', '\u{0919}', '\u{091A}', NONE, '\u{091B}', '\u{091C}', '\u{091D}', '\u{091E}', // 0x18
    ' ', '!', '\u{091F}', '\u{0920}', '\u{0921}', '\u{0922}', '\u{0923}', '\u{0924}', // 0x20
    ')', '(', '\u{0925}', '\u{0926}', ',', '\u{0927}', '.', '\u{0928}', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', '\u{0929}', '\u{092A}', '\u{092B}', '?', // 0x38
    '\u{092C}', '\u{092D}', '\u{092E}', '\u{092F}', '\u{0930}', '\u{0931}', '\u{0932}', '\u{0933}', // 0x40
    '\u{0934}', '\u{0935}', '\u{0936}', '\u{0937}', '\u{0938}', '\u{0939}', '\u{093C}', '\u{093D}', // 0x48
    '\u{093E}', '\u{093F}', '\u{0940}', '\u{0941}', '\u{0942}', '\u{0943}', '\u{0944}', '\u{0945}', // 0x50
    '\u{0946}', '\u{0947}', '\u{0948}', '\u{0949}', '\u{094A}', '\u{094B}', '\u{094C}', '\u{094D}', // 0x58
    '\u{0950}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', '\u{0972}', '\u{097B}', '\u{097C}', '\u{097E}', '\u{097F}', // 0x78
];

/// NLI 7 Kannada locking shift table (TS 23.038 §A.3.7).
/// 0x24 is U+0CA1 KANNADA LETTER DDA: the printed table repeats U+0CAA
/// there (also at 0x3D), a known erratum that Android corrects the same way.
#[rustfmt::skip]
static LOCKING_KANNADA: Table = [
    NONE, '\u{0C82}', '\u{0C83}', '\u{0C85}', '\u{0C86}', '\u{0C87}', '\u{0C88}', '\u{0C89}', // 0x00
    '\u{0C8A}', '\u{0C8B}', '\n', '\u{0C8C}', NONE, '\r', '\u{0C8E}', '\u{0C8F}', // 0x08
    '\u{0C90}', NONE, '\u{0C92}', '\u{0C93}', '\u{0C94}', '\u{0C95}', '\u{0C96}', '\u{0C97}', // 0x10
    '\u{0C98}', '\u{0C99}', '\u{0C9A}', NONE, '\u{0C9B}', '\u{0C9C}', '\u{0C9D}', '\u{0C9E}', // 0x18
    ' ', '!', '\u{0C9F}', '\u{0CA0}', '\u{0CA1}', '\u{0CA2}', '\u{0CA3}', '\u{0CA4}', // 0x20
    ')', '(', '\u{0CA5}', '\u{0CA6}', ',', '\u{0CA7}', '.', '\u{0CA8}', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', NONE, '\u{0CAA}', '\u{0CAB}', '?', // 0x38
    '\u{0CAC}', '\u{0CAD}', '\u{0CAE}', '\u{0CAF}', '\u{0CB0}', '\u{0CB1}', '\u{0CB2}', '\u{0CB3}', // 0x40
    NONE, '\u{0CB5}', '\u{0CB6}', '\u{0CB7}', '\u{0CB8}', '\u{0CB9}', '\u{0CBC}', '\u{0CBD}', // 0x48
    '\u{0CBE}', '\u{0CBF}', '\u{0CC0}', '\u{0CC1}', '\u{0CC2}', '\u{0CC3}', '\u{0CC4}', NONE, // 0x50
    '\u{0CC6}', '\u{0CC7}', '\u{0CC8}', NONE, '\u{0CCA}', '\u{0CCB}', '\u{0CCC}', '\u{0CCD}', // 0x58
    '\u{0CD5}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', '\u{0CD6}', '\u{0CE0}', '\u{0CE1}', '\u{0CE2}', '\u{0CE3}', // 0x78
];

/// NLI 8 Malayalam locking shift table (TS 23.038 §A.3.8).
#[rustfmt::skip]
static LOCKING_MALAYALAM: Table = [
    NONE, '\u{0D02}', '\u{0D03}', '\u{0D05}', '\u{0D06}', '\u{0D07}', '\u{0D08}', '\u{0D09}', // 0x00
    '\u{0D0A}', '\u{0D0B}', '\n', '\u{0D0C}', NONE, '\r', '\u{0D0E}', '\u{0D0F}', // 0x08
    '\u{0D10}', NONE, '\u{0D12}', '\u{0D13}', '\u{0D14}', '\u{0D15}', '\u{0D16}', '\u{0D17}', // 0x10
    '\u{0D18}', '\u{0D19}', '\u{0D1A}', NONE, '\u{0D1B}', '\u{0D1C}', '\u{0D1D}', '\u{0D1E}', // 0x18
    ' ', '!', '\u{0D1F}', '\u{0D20}', '\u{0D21}', '\u{0D22}', '\u{0D23}', '\u{0D24}', // 0x20
    ')', '(', '\u{0D25}', '\u{0D26}', ',', '\u{0D27}', '.', '\u{0D28}', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', NONE, '\u{0D2A}', '\u{0D2B}', '?', // 0x38
    '\u{0D2C}', '\u{0D2D}', '\u{0D2E}', '\u{0D2F}', '\u{0D30}', '\u{0D31}', '\u{0D32}', '\u{0D33}', // 0x40
    '\u{0D34}', '\u{0D35}', '\u{0D36}', '\u{0D37}', '\u{0D38}', '\u{0D39}', NONE, '\u{0D3D}', // 0x48
    '\u{0D3E}', '\u{0D3F}', '\u{0D40}', '\u{0D41}', '\u{0D42}', '\u{0D43}', '\u{0D44}', NONE, // 0x50
    '\u{0D46}', '\u{0D47}', '\u{0D48}', NONE, '\u{0D4A}', '\u{0D4B}', '\u{0D4C}', '\u{0D4D}', // 0x58
    '\u{0D57}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', '\u{0D60}', '\u{0D61}', '\u{0D62}', '\u{0D63}', '\u{0D79}', // 0x78
];

/// NLI 9 Oriya locking shift table (TS 23.038 §A.3.9).
#[rustfmt::skip]
static LOCKING_ORIYA: Table = [
    '\u{0B01}', '\u{0B02}', '\u{0B03}', '\u{0B05}', '\u{0B06}', '\u{0B07}', '\u{0B08}', '\u{0B09}', // 0x00
    '\u{0B0A}', '\u{0B0B}', '\n', '\u{0B0C}', NONE, '\r', NONE, '\u{0B0F}', // 0x08
    '\u{0B10}', NONE, NONE, '\u{0B13}', '\u{0B14}', '\u{0B15}', '\u{0B16}', '\u{0B17}', // 0x10
    '\u{0B18}', '\u{0B19}', '\u{0B1A}', NONE, '\u{0B1B}', '\u{0B1C}', '\u{0B1D}', '\u{0B1E}', // 0x18
    ' ', '!', '\u{0B1F}', '\u{0B20}', '\u{0B21}', '\u{0B22}', '\u{0B23}', '\u{0B24}', // 0x20
    ')', '(', '\u{0B25}', '\u{0B26}', ',', '\u{0B27}', '.', '\u{0B28}', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', NONE, '\u{0B2A}', '\u{0B2B}', '?', // 0x38
    '\u{0B2C}', '\u{0B2D}', '\u{0B2E}', '\u{0B2F}', '\u{0B30}', NONE, '\u{0B32}', '\u{0B33}', // 0x40
    NONE, '\u{0B35}', '\u{0B36}', '\u{0B37}', '\u{0B38}', '\u{0B39}', '\u{0B3C}', '\u{0B3D}', // 0x48
    '\u{0B3E}', '\u{0B3F}', '\u{0B40}', '\u{0B41}', '\u{0B42}', '\u{0B43}', '\u{0B44}', NONE, // 0x50
    NONE, '\u{0B47}', '\u{0B48}', NONE, NONE, '\u{0B4B}', '\u{0B4C}', '\u{0B4D}', // 0x58
    '\u{0B56}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', '\u{0B57}', '\u{0B60}', '\u{0B61}', '\u{0B62}', '\u{0B63}', // 0x78
];

/// NLI 10 Punjabi locking shift table (TS 23.038 §A.3.10).
#[rustfmt::skip]
static LOCKING_PUNJABI: Table = [
    '\u{0A01}', '\u{0A02}', '\u{0A03}', '\u{0A05}', '\u{0A06}', '\u{0A07}', '\u{0A08}', '\u{0A09}', // 0x00
    '\u{0A0A}', NONE, '\n', NONE, NONE, '\r', NONE, '\u{0A0F}', // 0x08
    '\u{0A10}', NONE, NONE, '\u{0A13}', '\u{0A14}', '\u{0A15}', '\u{0A16}', '\u{0A17}', // 0x10
    '\u{0A18}', '\u{0A19}', '\u{0A1A}', NONE, '\u{0A1B}', '\u{0A1C}', '\u{0A1D}', '\u{0A1E}', // 0x18
    ' ', '!', '\u{0A1F}', '\u{0A20}', '\u{0A21}', '\u{0A22}', '\u{0A23}', '\u{0A24}', // 0x20
    ')', '(', '\u{0A25}', '\u{0A26}', ',', '\u{0A27}', '.', '\u{0A28}', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', NONE, '\u{0A2A}', '\u{0A2B}', '?', // 0x38
    '\u{0A2C}', '\u{0A2D}', '\u{0A2E}', '\u{0A2F}', '\u{0A30}', NONE, '\u{0A32}', '\u{0A33}', // 0x40
    NONE, '\u{0A35}', '\u{0A36}', NONE, '\u{0A38}', '\u{0A39}', '\u{0A3C}', NONE, // 0x48
    '\u{0A3E}', '\u{0A3F}', '\u{0A40}', '\u{0A41}', '\u{0A42}', NONE, NONE, NONE, // 0x50
    NONE, '\u{0A47}', '\u{0A48}', NONE, NONE, '\u{0A4B}', '\u{0A4C}', '\u{0A4D}', // 0x58
    '\u{0A51}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', '\u{0A70}', '\u{0A71}', '\u{0A72}', '\u{0A73}', '\u{0A74}', // 0x78
];

/// NLI 11 Tamil locking shift table (TS 23.038 §A.3.11).
#[rustfmt::skip]
static LOCKING_TAMIL: Table = [
    NONE, '\u{0B82}', '\u{0B83}', '\u{0B85}', '\u{0B86}', '\u{0B87}', '\u{0B88}', '\u{0B89}', // 0x00
    '\u{0B8A}', NONE, '\n', NONE, NONE, '\r', '\u{0B8E}', '\u{0B8F}', // 0x08
    '\u{0B90}', NONE, '\u{0B92}', '\u{0B93}', '\u{0B94}', '\u{0B95}', NONE, NONE, // 0x10
    NONE, '\u{0B99}', '\u{0B9A}', NONE, NONE, '\u{0B9C}', NONE, '\u{0B9E}', // 0x18
    ' ', '!', '\u{0B9F}', NONE, NONE, NONE, '\u{0BA3}', '\u{0BA4}', // 0x20
    ')', '(', NONE, NONE, ',', NONE, '.', '\u{0BA8}', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', '\u{0BA9}', '\u{0BAA}', NONE, '?', // 0x38
    NONE, NONE, '\u{0BAE}', '\u{0BAF}', '\u{0BB0}', '\u{0BB1}', '\u{0BB2}', '\u{0BB3}', // 0x40
    '\u{0BB4}', '\u{0BB5}', '\u{0BB6}', '\u{0BB7}', '\u{0BB8}', '\u{0BB9}', NONE, NONE, // 0x48
    '\u{0BBE}', '\u{0BBF}', '\u{0BC0}', '\u{0BC1}', '\u{0BC2}', NONE, NONE, NONE, // 0x50
    '\u{0BC6}', '\u{0BC7}', '\u{0BC8}', NONE, '\u{0BCA}', '\u{0BCB}', '\u{0BCC}', '\u{0BCD}', // 0x58
    '\u{0BD0}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', '\u{0BD7}', '\u{0BF0}', '\u{0BF1}', '\u{0BF2}', '\u{0BF9}', // 0x78
];

/// NLI 12 Telugu locking shift table (TS 23.038 §A.3.12).
#[rustfmt::skip]
static LOCKING_TELUGU: Table = [
    '\u{0C01}', '\u{0C02}', '\u{0C03}', '\u{0C05}', '\u{0C06}', '\u{0C07}', '\u{0C08}', '\u{0C09}', // 0x00
    '\u{0C0A}', '\u{0C0B}', '\n', '\u{0C0C}', NONE, '\r', '\u{0C0E}', '\u{0C0F}', // 0x08
    '\u{0C10}', NONE, '\u{0C12}', '\u{0C13}', '\u{0C14}', '\u{0C15}', '\u{0C16}', '\u{0C17}', // 0x10
    '\u{0C18}', '\u{0C19}', '\u{0C1A}', NONE, '\u{0C1B}', '\u{0C1C}', '\u{0C1D}', '\u{0C1E}', // 0x18
    ' ', '!', '\u{0C1F}', '\u{0C20}', '\u{0C21}', '\u{0C22}', '\u{0C23}', '\u{0C24}', // 0x20
    ')', '(', '\u{0C25}', '\u{0C26}', ',', '\u{0C27}', '.', '\u{0C28}', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', NONE, '\u{0C2A}', '\u{0C2B}', '?', // 0x38
    '\u{0C2C}', '\u{0C2D}', '\u{0C2E}', '\u{0C2F}', '\u{0C30}', '\u{0C31}', '\u{0C32}', '\u{0C33}', // 0x40
    NONE, '\u{0C35}', '\u{0C36}', '\u{0C37}', '\u{0C38}', '\u{0C39}', NONE, '\u{0C3D}', // 0x48
    '\u{0C3E}', '\u{0C3F}', '\u{0C40}', '\u{0C41}', '\u{0C42}', '\u{0C43}', '\u{0C44}', NONE, // 0x50
    '\u{0C46}', '\u{0C47}', '\u{0C48}', NONE, '\u{0C4A}', '\u{0C4B}', '\u{0C4C}', '\u{0C4D}', // 0x58
    '\u{0C55}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', '\u{0C56}', '\u{0C60}', '\u{0C61}', '\u{0C62}', '\u{0C63}', // 0x78
];

/// NLI 13 Urdu locking shift table (TS 23.038 §A.3.13).
#[rustfmt::skip]
static LOCKING_URDU: Table = [
    '\u{0627}', '\u{0622}', '\u{0628}', '\u{067B}', '\u{0680}', '\u{067E}', '\u{06A6}', '\u{062A}', // 0x00
    '\u{06C2}', '\u{067F}', '\n', '\u{0679}', '\u{067D}', '\r', '\u{067A}', '\u{067C}', // 0x08
    '\u{062B}', '\u{062C}', '\u{0681}', '\u{0684}', '\u{0683}', '\u{0685}', '\u{0686}', '\u{0687}', // 0x10
    '\u{062D}', '\u{062E}', '\u{062F}', NONE, '\u{068C}', '\u{0688}', '\u{0689}', '\u{068A}', // 0x18
    ' ', '!', '\u{068F}', '\u{068D}', '\u{0630}', '\u{0631}', '\u{0691}', '\u{0693}', // 0x20
    ')', '(', '\u{0699}', '\u{0632}', ',', '\u{0696}', '.', '\u{0698}', // 0x28
    '0', '1', '2', '3', '4', '5', '6', '7', // 0x30
    '8', '9', ':', ';', '\u{069A}', '\u{0633}', '\u{0634}', '?', // 0x38
    '\u{0635}', '\u{0636}', '\u{0637}', '\u{0638}', '\u{0639}', '\u{0641}', '\u{0642}', '\u{06A9}', // 0x40
    '\u{06AA}', '\u{06AB}', '\u{06AF}', '\u{06B3}', '\u{06B1}', '\u{0644}', '\u{0645}', '\u{0646}', // 0x48
    '\u{06BA}', '\u{06BB}', '\u{06BC}', '\u{0648}', '\u{06C4}', '\u{06D5}', '\u{06C1}', '\u{06BE}', // 0x50
    '\u{0621}', '\u{06CC}', '\u{06D0}', '\u{06D2}', '\u{064D}', '\u{0650}', '\u{064F}', '\u{0657}', // 0x58
    '\u{0654}', 'a', 'b', 'c', 'd', 'e', 'f', 'g', // 0x60
    'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', // 0x68
    'p', 'q', 'r', 's', 't', 'u', 'v', 'w', // 0x70
    'x', 'y', 'z', '\u{0655}', '\u{0651}', '\u{0653}', '\u{0656}', '\u{0670}', // 0x78
];

/// The default extension table (TS 23.038 §6.2.1.1).
#[rustfmt::skip]
static SINGLE_DEFAULT: Table = [
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x00
    NONE, NONE, '\u{000C}', NONE, NONE, NONE, NONE, NONE, // 0x08
    NONE, NONE, NONE, NONE, '^', NONE, NONE, NONE, // 0x10
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x18
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x20
    '{', '}', NONE, NONE, NONE, NONE, NONE, '\\', // 0x28
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x30
    NONE, NONE, NONE, NONE, '[', '~', ']', NONE, // 0x38
    '|', NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x40
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x48
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x50
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x58
    NONE, NONE, NONE, NONE, NONE, '\u{20AC}', NONE, NONE, // 0x60
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x68
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x70
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x78
];

/// NLI 1 Turkish single shift table (TS 23.038 §A.2.1).
#[rustfmt::skip]
static SINGLE_TURKISH: Table = [
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x00
    NONE, NONE, '\u{000C}', NONE, NONE, NONE, NONE, NONE, // 0x08
    NONE, NONE, NONE, NONE, '^', NONE, NONE, NONE, // 0x10
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x18
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x20
    '{', '}', NONE, NONE, NONE, NONE, NONE, '\\', // 0x28
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x30
    NONE, NONE, NONE, NONE, '[', '~', ']', NONE, // 0x38
    '|', NONE, NONE, NONE, NONE, NONE, NONE, '\u{011E}', // 0x40
    NONE, '\u{0130}', NONE, NONE, NONE, NONE, NONE, NONE, // 0x48
    NONE, NONE, NONE, '\u{015E}', NONE, NONE, NONE, NONE, // 0x50
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x58
    NONE, NONE, NONE, '\u{00E7}', NONE, '\u{20AC}', NONE, '\u{011F}', // 0x60
    NONE, '\u{0131}', NONE, NONE, NONE, NONE, NONE, NONE, // 0x68
    NONE, NONE, NONE, '\u{015F}', NONE, NONE, NONE, NONE, // 0x70
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x78
];

/// NLI 2 Spanish single shift table (TS 23.038 §A.2.2).
#[rustfmt::skip]
static SINGLE_SPANISH: Table = [
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x00
    NONE, '\u{00E7}', '\u{000C}', NONE, NONE, NONE, NONE, NONE, // 0x08
    NONE, NONE, NONE, NONE, '^', NONE, NONE, NONE, // 0x10
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x18
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x20
    '{', '}', NONE, NONE, NONE, NONE, NONE, '\\', // 0x28
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x30
    NONE, NONE, NONE, NONE, '[', '~', ']', NONE, // 0x38
    '|', '\u{00C1}', NONE, NONE, NONE, NONE, NONE, NONE, // 0x40
    NONE, '\u{00CD}', NONE, NONE, NONE, NONE, NONE, '\u{00D3}', // 0x48
    NONE, NONE, NONE, NONE, NONE, '\u{00DA}', NONE, NONE, // 0x50
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x58
    NONE, '\u{00E1}', NONE, NONE, NONE, '\u{20AC}', NONE, NONE, // 0x60
    NONE, '\u{00ED}', NONE, NONE, NONE, NONE, NONE, '\u{00F3}', // 0x68
    NONE, NONE, NONE, NONE, NONE, '\u{00FA}', NONE, NONE, // 0x70
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x78
];

/// NLI 3 Portuguese single shift table (TS 23.038 §A.2.3).
#[rustfmt::skip]
static SINGLE_PORTUGUESE: Table = [
    NONE, NONE, NONE, NONE, NONE, '\u{00EA}', NONE, NONE, // 0x00
    NONE, '\u{00E7}', '\u{000C}', '\u{00D4}', '\u{00F4}', NONE, '\u{00C1}', '\u{00E1}', // 0x08
    NONE, NONE, '\u{03A6}', '\u{0393}', '^', '\u{03A9}', '\u{03A0}', '\u{03A8}', // 0x10
    '\u{03A3}', '\u{0398}', NONE, NONE, NONE, NONE, NONE, '\u{00CA}', // 0x18
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x20
    '{', '}', NONE, NONE, NONE, NONE, NONE, '\\', // 0x28
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x30
    NONE, NONE, NONE, NONE, '[', '~', ']', NONE, // 0x38
    '|', '\u{00C0}', NONE, NONE, NONE, NONE, NONE, NONE, // 0x40
    NONE, '\u{00CD}', NONE, NONE, NONE, NONE, NONE, '\u{00D3}', // 0x48
    NONE, NONE, NONE, NONE, NONE, '\u{00DA}', NONE, NONE, // 0x50
    NONE, NONE, NONE, '\u{00C3}', '\u{00D5}', NONE, NONE, NONE, // 0x58
    NONE, '\u{00C2}', NONE, NONE, NONE, '\u{20AC}', NONE, NONE, // 0x60
    NONE, '\u{00ED}', NONE, NONE, NONE, NONE, NONE, '\u{00F3}', // 0x68
    NONE, NONE, NONE, NONE, NONE, '\u{00FA}', NONE, NONE, // 0x70
    NONE, NONE, NONE, '\u{00E3}', '\u{00F5}', NONE, NONE, '\u{00E2}', // 0x78
];

/// NLI 4 Bengali single shift table (TS 23.038 §A.2.4).
#[rustfmt::skip]
static SINGLE_BENGALI: Table = [
    '@', '\u{00A3}', '$', '\u{00A5}', '\u{00BF}', '"', '\u{00A4}', '%', // 0x00
    '&', '\'', '\u{000C}', '*', '+', NONE, '-', '/', // 0x08
    '<', '=', '>', '\u{00A1}', '^', '\u{00A1}', '_', '#', // 0x10
    '*', '\u{09E6}', '\u{09E7}', NONE, '\u{09E8}', '\u{09E9}', '\u{09EA}', '\u{09EB}', // 0x18
    '\u{09EC}', '\u{09ED}', '\u{09EE}', '\u{09EF}', '\u{09DF}', '\u{09E0}', '\u{09E1}', '\u{09E2}', // 0x20
    '{', '}', '\u{09E3}', '\u{09F2}', '\u{09F3}', '\u{09F4}', '\u{09F5}', '\\', // 0x28
    '\u{09F6}', '\u{09F7}', '\u{09F8}', '\u{09F9}', '\u{09FA}', NONE, NONE, NONE, // 0x30
    NONE, NONE, NONE, NONE, '[', '~', ']', NONE, // 0x38
    '|', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', NONE, NONE, NONE, NONE, NONE, // 0x58
    NONE, NONE, NONE, NONE, NONE, '\u{20AC}', NONE, NONE, // 0x60
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x68
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x70
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x78
];

/// NLI 5 Gujarati single shift table (TS 23.038 §A.2.5).
#[rustfmt::skip]
static SINGLE_GUJARATI: Table = [
    '@', '\u{00A3}', '$', '\u{00A5}', '\u{00BF}', '"', '\u{00A4}', '%', // 0x00
    '&', '\'', '\u{000C}', '*', '+', NONE, '-', '/', // 0x08
    '<', '=', '>', '\u{00A1}', '^', '\u{00A1}', '_', '#', // 0x10
    '*', '\u{0964}', '\u{0965}', NONE, '\u{0AE6}', '\u{0AE7}', '\u{0AE8}', '\u{0AE9}', // 0x18
    '\u{0AEA}', '\u{0AEB}', '\u{0AEC}', '\u{0AED}', '\u{0AEE}', '\u{0AEF}', NONE, NONE, // 0x20
    '{', '}', NONE, NONE, NONE, NONE, NONE, '\\', // 0x28
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x30
    NONE, NONE, NONE, NONE, '[', '~', ']', NONE, // 0x38
    '|', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', NONE, NONE, NONE, NONE, NONE, // 0x58
    NONE, NONE, NONE, NONE, NONE, '\u{20AC}', NONE, NONE, // 0x60
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x68
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x70
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x78
];

/// NLI 6 Hindi single shift table (TS 23.038 §A.2.6).
#[rustfmt::skip]
static SINGLE_HINDI: Table = [
    '@', '\u{00A3}', '$', '\u{00A5}', '\u{00BF}', '"', '\u{00A4}', '%', // 0x00
    '&', '\'', '\u{000C}', '*', '+', NONE, '-', '/', // 0x08
    '<', '=', '>', '\u{00A1}', '^', '\u{00A1}', '_', '#', // 0x10
    '*', '\u{0964}', '\u{0965}', NONE, '\u{0966}', '\u{0967}', '\u{0968}', '\u{0969}', // 0x18
    '\u{096A}', '\u{096B}', '\u{096C}', '\u{096D}', '\u{096E}', '\u{096F}', '\u{0951}', '\u{0952}', // 0x20
    '{', '}', '\u{0953}', '\u{0954}', '\u{0958}', '\u{0959}', '\u{095A}', '\\', // 0x28
    '\u{095B}', '\u{095C}', '\u{095D}', '\u{095E}', '\u{095F}', '\u{0960}', '\u{0961}', '\u{0962}', // 0x30
    '\u{0963}', '\u{0970}', '\u{0971}', NONE, '[', '~', ']', NONE, // 0x38
    '|', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', NONE, NONE, NONE, NONE, NONE, // 0x58
    NONE, NONE, NONE, NONE, NONE, '\u{20AC}', NONE, NONE, // 0x60
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x68
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x70
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x78
];

/// NLI 7 Kannada single shift table (TS 23.038 §A.2.7).
#[rustfmt::skip]
static SINGLE_KANNADA: Table = [
    '@', '\u{00A3}', '$', '\u{00A5}', '\u{00BF}', '"', '\u{00A4}', '%', // 0x00
    '&', '\'', '\u{000C}', '*', '+', NONE, '-', '/', // 0x08
    '<', '=', '>', '\u{00A1}', '^', '\u{00A1}', '_', '#', // 0x10
    '*', '\u{0964}', '\u{0965}', NONE, '\u{0CE6}', '\u{0CE7}', '\u{0CE8}', '\u{0CE9}', // 0x18
    '\u{0CEA}', '\u{0CEB}', '\u{0CEC}', '\u{0CED}', '\u{0CEE}', '\u{0CEF}', '\u{0CDE}', '\u{0CF1}', // 0x20
    '{', '}', '\u{0CF2}', NONE, NONE, NONE, NONE, '\\', // 0x28
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x30
    NONE, NONE, NONE, NONE, '[', '~', ']', NONE, // 0x38
    '|', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', NONE, NONE, NONE, NONE, NONE, // 0x58
    NONE, NONE, NONE, NONE, NONE, '\u{20AC}', NONE, NONE, // 0x60
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x68
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x70
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x78
];

/// NLI 8 Malayalam single shift table (TS 23.038 §A.2.8).
#[rustfmt::skip]
static SINGLE_MALAYALAM: Table = [
    '@', '\u{00A3}', '$', '\u{00A5}', '\u{00BF}', '"', '\u{00A4}', '%', // 0x00
    '&', '\'', '\u{000C}', '*', '+', NONE, '-', '/', // 0x08
    '<', '=', '>', '\u{00A1}', '^', '\u{00A1}', '_', '#', // 0x10
    '*', '\u{0964}', '\u{0965}', NONE, '\u{0D66}', '\u{0D67}', '\u{0D68}', '\u{0D69}', // 0x18
    '\u{0D6A}', '\u{0D6B}', '\u{0D6C}', '\u{0D6D}', '\u{0D6E}', '\u{0D6F}', '\u{0D70}', '\u{0D71}', // 0x20
    '{', '}', '\u{0D72}', '\u{0D73}', '\u{0D74}', '\u{0D75}', '\u{0D7A}', '\\', // 0x28
    '\u{0D7B}', '\u{0D7C}', '\u{0D7D}', '\u{0D7E}', '\u{0D7F}', NONE, NONE, NONE, // 0x30
    NONE, NONE, NONE, NONE, '[', '~', ']', NONE, // 0x38
    '|', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', NONE, NONE, NONE, NONE, NONE, // 0x58
    NONE, NONE, NONE, NONE, NONE, '\u{20AC}', NONE, NONE, // 0x60
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x68
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x70
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x78
];

/// NLI 9 Oriya single shift table (TS 23.038 §A.2.9).
#[rustfmt::skip]
static SINGLE_ORIYA: Table = [
    '@', '\u{00A3}', '$', '\u{00A5}', '\u{00BF}', '"', '\u{00A4}', '%', // 0x00
    '&', '\'', '\u{000C}', '*', '+', NONE, '-', '/', // 0x08
    '<', '=', '>', '\u{00A1}', '^', '\u{00A1}', '_', '#', // 0x10
    '*', '\u{0964}', '\u{0965}', NONE, '\u{0B66}', '\u{0B67}', '\u{0B68}', '\u{0B69}', // 0x18
    '\u{0B6A}', '\u{0B6B}', '\u{0B6C}', '\u{0B6D}', '\u{0B6E}', '\u{0B6F}', '\u{0B5C}', '\u{0B5D}', // 0x20
    '{', '}', '\u{0B5F}', '\u{0B70}', '\u{0B71}', NONE, NONE, '\\', // 0x28
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x30
    NONE, NONE, NONE, NONE, '[', '~', ']', NONE, // 0x38
    '|', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', NONE, NONE, NONE, NONE, NONE, // 0x58
    NONE, NONE, NONE, NONE, NONE, '\u{20AC}', NONE, NONE, // 0x60
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x68
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x70
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x78
];

/// NLI 10 Punjabi single shift table (TS 23.038 §A.2.10).
#[rustfmt::skip]
static SINGLE_PUNJABI: Table = [
    '@', '\u{00A3}', '$', '\u{00A5}', '\u{00BF}', '"', '\u{00A4}', '%', // 0x00
    '&', '\'', '\u{000C}', '*', '+', NONE, '-', '/', // 0x08
    '<', '=', '>', '\u{00A1}', '^', '\u{00A1}', '_', '#', // 0x10
    '*', '\u{0964}', '\u{0965}', NONE, '\u{0A66}', '\u{0A67}', '\u{0A68}', '\u{0A69}', // 0x18
    '\u{0A6A}', '\u{0A6B}', '\u{0A6C}', '\u{0A6D}', '\u{0A6E}', '\u{0A6F}', '\u{0A59}', '\u{0A5A}', // 0x20
    '{', '}', '\u{0A5B}', '\u{0A5C}', '\u{0A5E}', '\u{0A75}', NONE, '\\', // 0x28
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x30
    NONE, NONE, NONE, NONE, '[', '~', ']', NONE, // 0x38
    '|', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', NONE, NONE, NONE, NONE, NONE, // 0x58
    NONE, NONE, NONE, NONE, NONE, '\u{20AC}', NONE, NONE, // 0x60
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x68
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x70
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x78
];

/// NLI 11 Tamil single shift table (TS 23.038 §A.2.11).
#[rustfmt::skip]
static SINGLE_TAMIL: Table = [
    '@', '\u{00A3}', '$', '\u{00A5}', '\u{00BF}', '"', '\u{00A4}', '%', // 0x00
    '&', '\'', '\u{000C}', '*', '+', NONE, '-', '/', // 0x08
    '<', '=', '>', '\u{00A1}', '^', '\u{00A1}', '_', '#', // 0x10
    '*', '\u{0964}', '\u{0965}', NONE, '\u{0BE6}', '\u{0BE7}', '\u{0BE8}', '\u{0BE9}', // 0x18
    '\u{0BEA}', '\u{0BEB}', '\u{0BEC}', '\u{0BED}', '\u{0BEE}', '\u{0BEF}', '\u{0BF3}', '\u{0BF4}', // 0x20
    '{', '}', '\u{0BF5}', '\u{0BF6}', '\u{0BF7}', '\u{0BF8}', '\u{0BFA}', '\\', // 0x28
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x30
    NONE, NONE, NONE, NONE, '[', '~', ']', NONE, // 0x38
    '|', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', NONE, NONE, NONE, NONE, NONE, // 0x58
    NONE, NONE, NONE, NONE, NONE, '\u{20AC}', NONE, NONE, // 0x60
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x68
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x70
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x78
];

/// NLI 12 Telugu single shift table (TS 23.038 §A.2.12).
/// 0x65 is the euro sign, as in every other single shift table.
#[rustfmt::skip]
static SINGLE_TELUGU: Table = [
    '@', '\u{00A3}', '$', '\u{00A5}', '\u{00BF}', '"', '\u{00A4}', '%', // 0x00
    '&', '\'', '\u{000C}', '*', '+', NONE, '-', '/', // 0x08
    '<', '=', '>', '\u{00A1}', '^', '\u{00A1}', '_', '#', // 0x10
    '*', NONE, NONE, NONE, '\u{0C66}', '\u{0C67}', '\u{0C68}', '\u{0C69}', // 0x18
    '\u{0C6A}', '\u{0C6B}', '\u{0C6C}', '\u{0C6D}', '\u{0C6E}', '\u{0C6F}', '\u{0C58}', '\u{0C59}', // 0x20
    '{', '}', '\u{0C78}', '\u{0C79}', '\u{0C7A}', '\u{0C7B}', '\u{0C7C}', '\\', // 0x28
    '\u{0C7D}', '\u{0C7E}', '\u{0C7F}', NONE, NONE, NONE, NONE, NONE, // 0x30
    NONE, NONE, NONE, NONE, '[', '~', ']', NONE, // 0x38
    '|', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', NONE, NONE, NONE, NONE, NONE, // 0x58
    NONE, NONE, NONE, NONE, NONE, '\u{20AC}', NONE, NONE, // 0x60
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x68
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x70
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x78
];

/// NLI 13 Urdu single shift table (TS 23.038 §A.2.13).
#[rustfmt::skip]
static SINGLE_URDU: Table = [
    '@', '\u{00A3}', '$', '\u{00A5}', '\u{00BF}', '"', '\u{00A4}', '%', // 0x00
    '&', '\'', '\u{000C}', '*', '+', NONE, '-', '/', // 0x08
    '<', '=', '>', '\u{00A1}', '^', '\u{00A1}', '_', '#', // 0x10
    '*', '\u{0600}', '\u{0601}', NONE, '\u{06F0}', '\u{06F1}', '\u{06F2}', '\u{06F3}', // 0x18
    '\u{06F4}', '\u{06F5}', '\u{06F6}', '\u{06F7}', '\u{06F8}', '\u{06F9}', '\u{060C}', '\u{060D}', // 0x20
    '{', '}', '\u{060E}', '\u{060F}', '\u{0610}', '\u{0611}', '\u{0612}', '\\', // 0x28
    '\u{0613}', '\u{0614}', '\u{061B}', '\u{061F}', '\u{0640}', '\u{0652}', '\u{0658}', '\u{066B}', // 0x30
    '\u{066C}', '\u{0672}', '\u{0673}', '\u{06CD}', '[', '~', ']', '\u{06D4}', // 0x38
    '|', 'A', 'B', 'C', 'D', 'E', 'F', 'G', // 0x40
    'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', // 0x48
    'P', 'Q', 'R', 'S', 'T', 'U', 'V', 'W', // 0x50
    'X', 'Y', 'Z', NONE, NONE, NONE, NONE, NONE, // 0x58
    NONE, NONE, NONE, NONE, NONE, '\u{20AC}', NONE, NONE, // 0x60
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x68
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x70
    NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, // 0x78
];
