//! Septet's native core.
//!
//! Every module here is pure Rust working on bytes and strings; none of them
//! knows Python, so `cargo test` runs without an interpreter. The `python`
//! module at the bottom of this file (built only with the `python` feature,
//! which maturin turns on) is the one place with pyo3 glue.

mod address;
mod dcs;
pub mod encode;
pub mod error;
pub mod form;
pub mod gsm7;
mod gsm7_tables;
pub mod hex;
pub mod otp;
pub mod reassemble;
mod scts;
pub mod signing;
pub mod smpp;
#[cfg(feature = "python")]
mod smpp_python;
pub mod sms;
pub mod tpdu;
pub mod ucs2;
mod udh;

pub use error::{CodecError, ErrorKind};

#[cfg(feature = "python")]
mod python {
    use pyo3::prelude::*;

    // ===== gsm7 glue (GSM-7 and UCS-2 text functions) =====
    pub(crate) fn register_gsm7(m: &Bound<'_, PyModule>) -> PyResult<()> {
        gsm7_glue::register(m)
    }

    /// The `engine.errors` exception for a codec error: `HexError`, `PduError`,
    /// `Gsm7Error` or `Ucs2Error`, built with the error's reason and offset
    /// (`ReassemblyError`, not a `CodecError`, gets one message naming the part).
    pub(crate) fn codec_error_to_py(py: Python<'_>, err: &crate::CodecError) -> PyErr {
        match codec_error_to_pyobject(py, err, None) {
            Ok(exception) => PyErr::from_value(exception),
            Err(import_failure) => import_failure,
        }
    }

    /// Thin wrappers over `crate::gsm7` and `crate::ucs2`; `engine/_gsm7.py` is the public face.
    mod gsm7_glue {
        use std::borrow::Cow;

        use pyo3::exceptions::PyValueError;
        use pyo3::prelude::*;
        use pyo3::types::{PyBytes, PyString};

        use super::codec_error_to_py;
        use crate::{gsm7, ucs2, CodecError, ErrorKind};

        fn check_fill_bits(fill_bits: u8) -> PyResult<()> {
            if fill_bits > 6 {
                return Err(PyValueError::new_err(format!(
                    "fill_bits must be 0 to 6, got {fill_bits}"
                )));
            }
            Ok(())
        }

        /// Text for GSM 7-bit encoding. A lone surrogate becomes U+FFFD, which no
        /// table has, so it is reported like any other character without a code
        /// (and at the same character index).
        fn gsm7_text<'a>(text: &'a Bound<'_, PyString>) -> Cow<'a, str> {
            match text.to_str() {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => text.to_string_lossy(),
            }
        }

        #[pyfunction]
        #[pyo3(signature = (text, *, locking_shift = 0, single_shift = 0, packed = false, fill_bits = 0))]
        fn gsm7_encode<'py>(
            py: Python<'py>,
            text: &Bound<'py, PyString>,
            locking_shift: u8,
            single_shift: u8,
            packed: bool,
            fill_bits: u8,
        ) -> PyResult<Bound<'py, PyBytes>> {
            check_fill_bits(fill_bits)?;
            let septets = gsm7::encode(&gsm7_text(text), locking_shift, single_shift)
                .map_err(|e| codec_error_to_py(py, &e))?;
            if packed {
                Ok(PyBytes::new(py, &gsm7::pack(&septets, fill_bits)))
            } else {
                Ok(PyBytes::new(py, &septets))
            }
        }

        #[pyfunction]
        #[pyo3(signature = (data, *, locking_shift = 0, single_shift = 0, packed = false, septets = None, fill_bits = 0))]
        fn gsm7_decode(
            py: Python<'_>,
            data: &[u8],
            locking_shift: u8,
            single_shift: u8,
            packed: bool,
            septets: Option<usize>,
            fill_bits: u8,
        ) -> PyResult<String> {
            check_fill_bits(fill_bits)?;
            let too_short = |count: usize| {
                CodecError::new(
                    ErrorKind::Gsm7,
                    data.len(),
                    format!("{count} septets requested but the data ends first"),
                )
            };
            let unpacked: Cow<'_, [u8]> = if packed {
                let count = septets.unwrap_or_else(|| {
                    data.len()
                        .saturating_mul(8)
                        .saturating_sub(usize::from(fill_bits))
                        / 7
                });
                let unpacked = gsm7::unpack(data, fill_bits, count).map_err(|_| too_short(count));
                Cow::Owned(unpacked.map_err(|e| codec_error_to_py(py, &e))?)
            } else {
                match septets {
                    Some(count) if count > data.len() => {
                        return Err(codec_error_to_py(py, &too_short(count)))
                    }
                    Some(count) => Cow::Borrowed(&data[..count]),
                    None => Cow::Borrowed(data),
                }
            };
            let mut text = String::with_capacity(unpacked.len());
            // A dangling final ESC emits nothing; a single call has no next part.
            gsm7::decode_septets(&unpacked, locking_shift, single_shift, false, &mut text)
                .map_err(|e| codec_error_to_py(py, &e))?;
            Ok(text)
        }

        #[pyfunction]
        #[pyo3(signature = (text, *, locking_shift = 0, single_shift = 0))]
        fn gsm7_septet_count(
            text: &Bound<'_, PyString>,
            locking_shift: u8,
            single_shift: u8,
        ) -> Option<usize> {
            gsm7::septet_count(&gsm7_text(text), locking_shift, single_shift)
        }

        #[pyfunction]
        #[pyo3(signature = (data, *, strict = true))]
        fn ucs2_decode(py: Python<'_>, data: &[u8], strict: bool) -> PyResult<String> {
            if strict {
                ucs2::decode_strict(data).map_err(|e| codec_error_to_py(py, &e))
            } else {
                let mut text = String::with_capacity(data.len() / 2);
                ucs2::decode_lossy(data, &mut text);
                Ok(text)
            }
        }

        #[pyfunction]
        fn ucs2_encode<'py>(
            py: Python<'py>,
            text: &Bound<'py, PyString>,
        ) -> PyResult<Bound<'py, PyBytes>> {
            match text.to_str() {
                Ok(text) => Ok(PyBytes::new(py, &ucs2::encode(text))),
                Err(_) => Err(codec_error_to_py(py, &lone_surrogate_error(text)?)),
            }
        }

        /// The error for text holding a lone surrogate (which UTF-16 cannot carry),
        /// at the character index of the first one.
        fn lone_surrogate_error(text: &Bound<'_, PyString>) -> PyResult<CodecError> {
            for (index, c) in text.try_iter()?.enumerate() {
                let c: String = c?.extract().unwrap_or_default();
                if c.is_empty() {
                    return Ok(CodecError::new(
                        ErrorKind::Ucs2,
                        index,
                        "a lone surrogate cannot be encoded as UTF-16",
                    ));
                }
            }
            Ok(CodecError::new(
                ErrorKind::Ucs2,
                0,
                "text cannot be encoded as UTF-16",
            ))
        }

        pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
            m.add_function(wrap_pyfunction!(gsm7_encode, m)?)?;
            m.add_function(wrap_pyfunction!(gsm7_decode, m)?)?;
            m.add_function(wrap_pyfunction!(gsm7_septet_count, m)?)?;
            m.add_function(wrap_pyfunction!(ucs2_decode, m)?)?;
            m.add_function(wrap_pyfunction!(ucs2_encode, m)?)?;
            Ok(())
        }
    }
    // ===== end gsm7 glue =====

    // ===== codec glue (PDU decoding, reassembly) =====
    use crate::reassemble::{self, Reassembled};
    use crate::sms::{self, Address, Sms, Timestamp, ValidityPeriod};
    use crate::tpdu::{self, SmscMode};
    use crate::{CodecError, ErrorKind};
    use pyo3::sync::PyOnceLock;
    use pyo3::types::{PyBytes, PyDateTime, PyDelta, PyFrozenSet, PyString, PyTuple, PyTzInfo};

    static ERRORS_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

    /// The exception class `name` from `engine.errors`, imported once.
    pub(crate) fn error_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let module =
            ERRORS_MODULE.get_or_try_init(py, || py.import("engine.errors").map(Bound::unbind))?;
        module.bind(py).getattr(name)
    }

    /// Build the `engine.errors` exception for a codec error (`index`: the item of a batch).
    pub(crate) fn codec_error_to_pyobject<'py>(
        py: Python<'py>,
        err: &CodecError,
        index: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let name = match err.kind {
            ErrorKind::Hex => "HexError",
            ErrorKind::Pdu => "PduError",
            ErrorKind::Gsm7 => "Gsm7Error",
            ErrorKind::Ucs2 => "Ucs2Error",
            ErrorKind::Reassembly => "ReassemblyError",
        };
        let class = error_class(py, name)?;
        if err.kind == ErrorKind::Reassembly {
            return class.call1((format!("{} (part {})", err.reason, err.offset),));
        }
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("index", index)?;
        class.call((err.reason.as_str(), err.offset), Some(&kwargs))
    }

    fn ton_name(ton: u8) -> &'static str {
        match ton {
            0 => "unknown",
            1 => "international",
            2 => "national",
            3 => "network_specific",
            4 => "subscriber",
            5 => "alphanumeric",
            6 => "abbreviated",
            _ => "reserved",
        }
    }

    fn timestamp_to_py<'py>(py: Python<'py>, ts: &Timestamp) -> PyResult<Bound<'py, PyDateTime>> {
        let offset = PyDelta::new(py, 0, i32::from(ts.offset_minutes) * 60, 0, true)?;
        let tz = PyTzInfo::fixed_offset(py, offset)?;
        PyDateTime::new(
            py,
            i32::from(ts.year),
            ts.month,
            ts.day,
            ts.hour,
            ts.minute,
            ts.second,
            0,
            Some(&tz),
        )
    }

    /// A Python `str` from decoded text. CPython's UTF-8 decoder is slow on
    /// non-ASCII text (Cyrillic, Arabic, CJK); building the string from code
    /// units of the width CPython stores it in is several times faster.
    fn py_text<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyString>> {
        let widest = text.chars().map(u32::from).max().unwrap_or(0);
        if widest < 0x80 {
            Ok(PyString::new(py, text))
        } else if widest < 0x100 {
            let units: Vec<u8> = text.chars().map(|c| c as u8).collect();
            py_text_from_units(py, pyo3::ffi::PyUnicode_1BYTE_KIND, &units)
        } else if widest < 0x1_0000 {
            // No character needs a surrogate pair: one UTF-16 unit per character.
            let units: Vec<u16> = text.encode_utf16().collect();
            py_text_from_units(py, pyo3::ffi::PyUnicode_2BYTE_KIND, &units)
        } else {
            let units: Vec<u32> = text.chars().map(u32::from).collect();
            py_text_from_units(py, pyo3::ffi::PyUnicode_4BYTE_KIND, &units)
        }
    }

    /// A Python `str` from well-formed UTF-16BE (no odd octet, no lone surrogate).
    fn py_text_from_utf16be<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyString>> {
        let len = pyo3::ffi::Py_ssize_t::try_from(data.len())
            .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("text too long"))?;
        let mut big_endian: std::ffi::c_int = 1;
        // SAFETY: `data` is `len` readable bytes for the duration of the call; the
        // errors argument is a NUL-terminated C string; the function returns a new
        // reference or NULL with an exception set (turned into Err).
        let obj = unsafe {
            let ptr = pyo3::ffi::PyUnicode_DecodeUTF16(
                data.as_ptr().cast(),
                len,
                c"strict".as_ptr(),
                &mut big_endian,
            );
            Bound::from_owned_ptr_or_err(py, ptr)?
        };
        Ok(obj.cast_into::<PyString>()?)
    }

    /// `units` are code points of width `kind` (1, 2 or 4 bytes), taken from a `str`.
    fn py_text_from_units<'py, T>(
        py: Python<'py>,
        kind: std::ffi::c_uint,
        units: &[T],
    ) -> PyResult<Bound<'py, PyString>> {
        debug_assert_eq!(std::mem::size_of::<T>(), kind as usize);
        let len = pyo3::ffi::Py_ssize_t::try_from(units.len())
            .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("text too long"))?;
        let kind = std::ffi::c_int::try_from(kind)
            .map_err(|_| pyo3::exceptions::PyValueError::new_err("bad unicode kind"))?;
        // SAFETY: `units` holds `len` valid code points of `kind` bytes each and
        // outlives the call, which copies them and returns a new reference (or
        // NULL with an exception set, which `from_owned_ptr_or_err` turns into Err).
        let obj = unsafe {
            let ptr = pyo3::ffi::PyUnicode_FromKindAndData(kind, units.as_ptr().cast(), len);
            Bound::from_owned_ptr_or_err(py, ptr)?
        };
        Ok(obj.cast_into::<PyString>()?)
    }

    fn flags_to_py(py: Python<'_>, bits: u32) -> PyResult<Bound<'_, PyFrozenSet>> {
        let names = sms::flags::NAMES
            .iter()
            .filter(|(bit, _)| bits & bit != 0)
            .map(|(_, name)| *name);
        PyFrozenSet::new(py, names)
    }

    /// An address: an SMSC, a sender, a recipient.
    #[pyclass(module = "engine._native", name = "Address", frozen, eq, hash)]
    #[derive(Clone, PartialEq, Eq, Hash)]
    pub(crate) struct PyAddress {
        value: String,
        ton: u8,
        npi: u8,
    }

    impl From<&Address> for PyAddress {
        fn from(a: &Address) -> Self {
            Self {
                value: a.value.clone(),
                ton: a.ton,
                npi: a.npi,
            }
        }
    }

    #[pymethods]
    impl PyAddress {
        #[new]
        #[pyo3(signature = (value, *, ton = 1, npi = 1))]
        fn new(value: String, ton: u8, npi: u8) -> Self {
            Self { value, ton, npi }
        }
        /// `+` and digits (international), digits with `*#abc`, or alphanumeric text.
        #[getter]
        fn value(&self) -> &str {
            &self.value
        }
        /// Type of number (0..=7).
        #[getter]
        fn ton(&self) -> u8 {
            self.ton
        }
        /// Numbering plan identification (0..=15).
        #[getter]
        fn npi(&self) -> u8 {
            self.npi
        }
        /// The type of number by name: `international`, `national`, `alphanumeric`, ...
        #[getter]
        fn kind(&self) -> &'static str {
            ton_name(self.ton)
        }
        fn __str__(&self) -> &str {
            &self.value
        }
        fn __repr__(&self) -> String {
            format!(
                "Address({:?}, ton={}, npi={})",
                self.value, self.ton, self.npi
            )
        }
    }

    /// Concatenation information of one part.
    #[pyclass(module = "engine._native", name = "Concat", frozen, eq, hash, get_all)]
    #[derive(Clone, PartialEq, Eq, Hash)]
    pub(crate) struct PyConcat {
        reference: u16,
        reference_bits: u8,
        total: u8,
        seq: u8,
    }

    #[pymethods]
    impl PyConcat {
        fn __repr__(&self) -> String {
            format!(
                "Concat(reference={}, reference_bits={}, total={}, seq={})",
                self.reference, self.reference_bits, self.total, self.seq
            )
        }
    }

    /// One user data header element, kept raw.
    #[pyclass(module = "engine._native", name = "UdhElement", frozen, eq, hash)]
    #[derive(Clone, PartialEq, Eq, Hash)]
    pub(crate) struct PyUdhElement {
        iei: u8,
        data: Vec<u8>,
    }

    #[pymethods]
    impl PyUdhElement {
        #[getter]
        fn iei(&self) -> u8 {
            self.iei
        }
        #[getter]
        fn data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
            PyBytes::new(py, &self.data)
        }
        fn __repr__(&self) -> String {
            let hex: String = self.data.iter().map(|b| format!("{b:02x}")).collect();
            format!(
                "UdhElement(iei=0x{:02x}, data=bytes.fromhex({hex:?}))",
                self.iei
            )
        }
    }

    /// A message-waiting indication carried by the data coding scheme.
    #[pyclass(module = "engine._native", name = "Mwi", frozen, eq, hash)]
    #[derive(Clone, PartialEq, Eq, Hash)]
    pub(crate) struct PyMwi {
        active: bool,
        kind: u8,
        store: bool,
    }

    #[pymethods]
    impl PyMwi {
        /// True when the indication is set, false when it is cleared.
        #[getter]
        fn active(&self) -> bool {
            self.active
        }
        /// `voicemail`, `fax`, `email` or `other`.
        #[getter]
        fn kind(&self) -> &'static str {
            mwi_kind_name(self.kind)
        }
        /// False when the DCS says "discard message" (group 1100).
        #[getter]
        fn store(&self) -> bool {
            self.store
        }
        fn __repr__(&self) -> String {
            format!(
                "Mwi(active={}, kind={:?}, store={})",
                py_bool(self.active),
                self.kind(),
                py_bool(self.store)
            )
        }
    }

    /// A special SMS message indication from the user data header (IEI 0x01).
    #[pyclass(module = "engine._native", name = "Indication", frozen, eq, hash)]
    #[derive(Clone, PartialEq, Eq, Hash)]
    pub(crate) struct PyIndication {
        inner_kind: u8,
        extended: u8,
        profile: u8,
        store: bool,
        count: u8,
    }

    impl From<&crate::sms::Indication> for PyIndication {
        fn from(i: &crate::sms::Indication) -> Self {
            Self {
                inner_kind: i.kind,
                extended: i.extended,
                profile: i.profile,
                store: i.store,
                count: i.count,
            }
        }
    }

    #[pymethods]
    impl PyIndication {
        /// `voicemail`, `fax`, `email` or `other` (see `extended`).
        #[getter]
        fn kind(&self) -> &'static str {
            mwi_kind_name(self.inner_kind)
        }
        /// The extended message type (bits 4..2); 1 is a video message when `kind` is `other`.
        #[getter]
        fn extended(&self) -> u8 {
            self.extended
        }
        /// The subscriber profile (0..=3).
        #[getter]
        fn profile(&self) -> u8 {
            self.profile
        }
        /// True when the message is to be stored, false when it only updates the indication.
        #[getter]
        fn store(&self) -> bool {
            self.store
        }
        /// Messages waiting: 0 clears the indication, 255 means 255 or more.
        #[getter]
        fn count(&self) -> u8 {
            self.count
        }
        fn __repr__(&self) -> String {
            format!(
                "Indication(kind={:?}, count={}, store={}, profile={}, extended={})",
                self.kind(),
                self.count,
                py_bool(self.store),
                self.profile,
                self.extended
            )
        }
    }

    fn mwi_kind_name(kind: u8) -> &'static str {
        match kind {
            0 => "voicemail",
            1 => "fax",
            2 => "email",
            _ => "other",
        }
    }

    fn py_bool(b: bool) -> &'static str {
        if b {
            "True"
        } else {
            "False"
        }
    }

    /// One decoded SMS TPDU: an SMS-DELIVER, an SMS-STATUS-REPORT or a stored SMS-SUBMIT.
    #[pyclass(module = "engine._native", name = "Sms", frozen)]
    pub(crate) struct PySms {
        pub(crate) inner: Sms,
    }

    #[pymethods]
    impl PySms {
        /// `deliver`, `submit` or `status_report`.
        #[getter]
        fn kind(&self) -> &'static str {
            self.inner.kind.as_str()
        }
        /// The SMSC address block, when the input had one.
        #[getter]
        fn smsc(&self) -> Option<PyAddress> {
            self.inner.smsc.as_ref().map(PyAddress::from)
        }
        #[getter]
        fn first_octet(&self) -> u8 {
            self.inner.first_octet
        }
        /// True when the service centre has more messages waiting (TP-MMS, inverted).
        #[getter]
        fn more_messages(&self) -> bool {
            self.inner.more_messages
        }
        #[getter]
        fn loop_prevention(&self) -> bool {
            self.inner.loop_prevention
        }
        #[getter]
        fn reply_path(&self) -> bool {
            self.inner.reply_path
        }
        /// TP-SRI (deliver), TP-SRR (submit) or TP-SRQ (status report).
        #[getter]
        fn status_report(&self) -> bool {
            self.inner.status_report
        }
        #[getter]
        fn reject_duplicates(&self) -> bool {
            self.inner.reject_duplicates
        }
        /// TP-VP of a submit: a timedelta, an aware datetime, or the 7 raw octets of the enhanced format.
        #[getter]
        fn validity_period<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
            Ok(match &self.inner.validity_period {
                None => None,
                Some(ValidityPeriod::RelativeMinutes(minutes)) => {
                    let minutes = i32::try_from(*minutes).unwrap_or(i32::MAX / 60);
                    Some(PyDelta::new(py, 0, minutes.saturating_mul(60), 0, true)?.into_any())
                }
                Some(ValidityPeriod::Absolute(ts)) => Some(timestamp_to_py(py, ts)?.into_any()),
                Some(ValidityPeriod::Enhanced(raw)) => Some(PyBytes::new(py, raw).into_any()),
            })
        }
        #[getter]
        fn message_reference(&self) -> Option<u8> {
            self.inner.message_reference
        }
        /// The originating address of a deliver; None for other kinds.
        #[getter]
        fn sender(&self) -> Option<PyAddress> {
            (self.inner.kind == sms::MessageKind::Deliver).then(|| (&self.inner.address).into())
        }
        /// The destination (submit) or recipient (status report) address; None for a deliver.
        #[getter]
        fn recipient(&self) -> Option<PyAddress> {
            (self.inner.kind != sms::MessageKind::Deliver).then(|| (&self.inner.address).into())
        }
        /// TP-OA, TP-DA or TP-RA, whichever this kind carries.
        #[getter]
        fn address(&self) -> PyAddress {
            (&self.inner.address).into()
        }
        #[getter]
        fn pid(&self) -> u8 {
            self.inner.pid
        }
        #[getter]
        fn dcs(&self) -> u8 {
            self.inner.dcs.raw
        }
        /// `gsm7`, `8bit` or `ucs2`.
        #[getter]
        fn encoding(&self) -> &'static str {
            self.inner.dcs.alphabet.as_str()
        }
        #[getter]
        fn message_class(&self) -> Option<u8> {
            self.inner.dcs.message_class
        }
        #[getter]
        fn compressed(&self) -> bool {
            self.inner.dcs.compressed
        }
        #[getter]
        fn auto_delete(&self) -> bool {
            self.inner.dcs.auto_delete
        }
        #[getter]
        fn mwi(&self) -> Option<PyMwi> {
            self.inner.dcs.mwi.map(|m| PyMwi {
                active: m.active,
                kind: m.kind,
                store: m.store,
            })
        }
        /// The service centre timestamp as an aware datetime (None when absent or invalid).
        #[getter]
        fn sent_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDateTime>>> {
            self.inner
                .scts
                .as_ref()
                .map(|ts| timestamp_to_py(py, ts))
                .transpose()
        }
        /// The discharge time of a status report as an aware datetime.
        #[getter]
        fn discharge_time<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDateTime>>> {
            self.inner
                .discharge_time
                .as_ref()
                .map(|ts| timestamp_to_py(py, ts))
                .transpose()
        }
        /// TP-ST of a status report.
        #[getter]
        fn status(&self) -> Option<u8> {
            self.inner.status
        }
        #[getter]
        fn udl(&self) -> u8 {
            self.inner.udl
        }
        #[getter]
        fn udh<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
            PyTuple::new(
                py,
                self.inner.udh.iter().map(|e| PyUdhElement {
                    iei: e.iei,
                    data: e.data.clone(),
                }),
            )
        }
        /// Special SMS message indications from the header (IEI 0x01), in order.
        #[getter]
        fn indications<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
            PyTuple::new(py, self.inner.indications.iter().map(PyIndication::from))
        }
        #[getter]
        fn concat(&self) -> Option<PyConcat> {
            self.inner.concat.map(|c| PyConcat {
                reference: c.reference,
                reference_bits: c.reference_bits,
                total: c.total,
                seq: c.seq,
            })
        }
        /// (destination port, source port) from the application port header.
        #[getter]
        fn ports(&self) -> Option<(u16, u16)> {
            self.inner.ports
        }
        #[getter]
        fn locking_shift(&self) -> u8 {
            self.inner.locking_shift
        }
        #[getter]
        fn single_shift(&self) -> u8 {
            self.inner.single_shift
        }
        /// The decoded text; None for 8-bit and compressed payloads.
        #[getter]
        fn text<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
            let Some(text) = self.inner.text.as_deref() else {
                return Ok(None);
            };
            let clean_ucs2 = self.inner.dcs.alphabet == sms::Alphabet::Ucs2
                && self.inner.flags
                    & (sms::flags::UCS2_ODD_LENGTH | sms::flags::UCS2_LONE_SURROGATE)
                    == 0;
            if clean_ucs2 {
                // The user data is exactly this text in UTF-16BE: CPython decodes that
                // directly, faster than re-encoding the Rust string.
                return py_text_from_utf16be(py, &self.inner.user_data).map(Some);
            }
            py_text(py, text).map(Some)
        }
        /// The user data after the header: unpacked septets for GSM-7, raw octets otherwise.
        #[getter]
        fn user_data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
            PyBytes::new(py, &self.inner.user_data)
        }
        /// Non-fatal findings, e.g. `invalid_timestamp`, `ucs2_odd_length`, `trailing_data`.
        #[getter]
        fn flags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyFrozenSet>> {
            flags_to_py(py, self.inner.flags)
        }
        fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
            other
                .cast::<PySms>()
                .is_ok_and(|o| o.get().inner == self.inner)
        }
        fn __repr__(&self) -> String {
            format!(
                "Sms(kind={:?}, address={:?}, encoding={:?}, text={:?})",
                self.inner.kind.as_str(),
                self.inner.address.value,
                self.inner.dcs.alphabet.as_str(),
                self.inner.text
            )
        }
    }

    /// A concatenated message joined from its parts.
    #[pyclass(module = "engine._native", name = "Reassembled", frozen)]
    pub(crate) struct PyReassembled {
        inner: Reassembled,
        parts: Py<PyTuple>,
    }

    #[pymethods]
    impl PyReassembled {
        /// The joined text (None when the parts are 8-bit data).
        #[getter]
        fn text<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
            self.inner
                .text
                .as_deref()
                .map(|t| py_text(py, t))
                .transpose()
        }
        /// The joined octets of an 8-bit message; empty for text.
        #[getter]
        fn user_data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
            PyBytes::new(py, &self.inner.user_data)
        }
        /// The parts, one per sequence number, in order (duplicates left out).
        #[getter]
        fn parts(&self, py: Python<'_>) -> Py<PyTuple> {
            self.parts.clone_ref(py)
        }
        #[getter]
        fn total(&self) -> u8 {
            self.inner.total
        }
        #[getter]
        fn present(&self) -> Vec<u32> {
            self.inner
                .present
                .iter()
                .map(|&seq| u32::from(seq))
                .collect()
        }
        #[getter]
        fn missing(&self) -> Vec<u32> {
            self.inner
                .missing
                .iter()
                .map(|&seq| u32::from(seq))
                .collect()
        }
        #[getter]
        fn duplicates(&self) -> usize {
            self.inner.duplicates
        }
        /// True when every part from 1 to total is present.
        #[getter]
        fn complete(&self) -> bool {
            self.inner.missing.is_empty()
        }
        #[getter]
        fn flags<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyFrozenSet>> {
            flags_to_py(py, self.inner.flags)
        }
        fn __repr__(&self) -> String {
            format!(
                "Reassembled(total={}, missing={:?}, text={:?})",
                self.inner.total, self.inner.missing, self.inner.text
            )
        }
    }

    fn smsc_mode(smsc: Option<bool>) -> SmscMode {
        match smsc {
            None => SmscMode::Auto,
            Some(true) => SmscMode::Present,
            Some(false) => SmscMode::Absent,
        }
    }

    /// An input PDU, borrowed from an immutable Python `str` or `bytes` (the
    /// caller keeps the objects alive) or copied from any other buffer, so that
    /// decoding can run without the GIL.
    enum PduInput<'a> {
        Bytes(std::borrow::Cow<'a, [u8]>),
        Hex(&'a str),
    }

    impl<'a> PduInput<'a> {
        fn borrow(item: &'a Bound<'_, PyAny>) -> PyResult<Self> {
            if let Ok(s) = item.cast::<PyString>() {
                return Ok(Self::Hex(s.to_str()?));
            }
            if let Ok(b) = item.cast::<PyBytes>() {
                return Ok(Self::Bytes(b.as_bytes().into()));
            }
            // bytearray, memoryview and other buffers are mutable: copy them.
            let data: Vec<u8> = item.extract().map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "a PDU is bytes or a hex str, not {}",
                    item.get_type()
                        .name()
                        .map_or_else(|_| "?".into(), |n| n.to_string())
                ))
            })?;
            Ok(Self::Bytes(data.into()))
        }

        /// Decode, reusing `scratch` for the bytes of hex input.
        fn decode(
            &self,
            mode: SmscMode,
            tpdu_length: Option<usize>,
            scratch: &mut Vec<u8>,
        ) -> Result<Sms, CodecError> {
            match self {
                Self::Bytes(b) => tpdu::decode(b, mode, tpdu_length),
                Self::Hex(h) => {
                    crate::hex::decode_into(h, scratch)?;
                    tpdu::decode(scratch, mode, tpdu_length)
                }
            }
        }
    }

    /// Decode one SMS TPDU from bytes or hex.
    #[pyfunction]
    #[pyo3(signature = (data, *, smsc = None, tpdu_length = None))]
    fn decode_pdu(
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        smsc: Option<bool>,
        tpdu_length: Option<usize>,
    ) -> PyResult<PySms> {
        PduInput::borrow(data)?
            .decode(smsc_mode(smsc), tpdu_length, &mut Vec::new())
            .map(|inner| PySms { inner })
            .map_err(|e| codec_error_to_py(py, &e))
    }

    /// Decode many PDUs in one call, without the GIL while decoding.
    #[pyfunction]
    #[pyo3(signature = (items, *, smsc = None, errors = "raise"))]
    fn decode_pdus(
        py: Python<'_>,
        items: &Bound<'_, PyAny>,
        smsc: Option<bool>,
        errors: &str,
    ) -> PyResult<Vec<Py<PyAny>>> {
        let return_errors = match errors {
            "raise" => false,
            "return" => true,
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "errors must be 'raise' or 'return', not {other:?}"
                )))
            }
        };
        let held = items.try_iter()?.collect::<PyResult<Vec<_>>>()?;
        let inputs = held
            .iter()
            .map(PduInput::borrow)
            .collect::<PyResult<Vec<_>>>()?;
        let mode = smsc_mode(smsc);
        let decoded: Vec<Result<Sms, CodecError>> = py.detach(|| {
            let mut scratch = Vec::new();
            inputs
                .iter()
                .map(|i| i.decode(mode, None, &mut scratch))
                .collect()
        });
        let mut out = Vec::with_capacity(decoded.len());
        for (index, result) in decoded.into_iter().enumerate() {
            match result {
                Ok(inner) => out.push(Py::new(py, PySms { inner })?.into_any()),
                Err(e) => {
                    let exc = codec_error_to_pyobject(py, &e, Some(index))?;
                    if !return_errors {
                        return Err(PyErr::from_value(exc));
                    }
                    out.push(exc.unbind());
                }
            }
        }
        Ok(out)
    }

    /// Join the parts of one concatenated message (any order, duplicates ignored).
    #[pyfunction]
    #[pyo3(name = "reassemble")]
    fn reassemble_parts(py: Python<'_>, parts: &Bound<'_, PyAny>) -> PyResult<PyReassembled> {
        let mut held: Vec<Bound<'_, PySms>> = Vec::new();
        for item in parts.try_iter()? {
            let item = item?;
            let part = item.cast_into::<PySms>().map_err(|e| {
                pyo3::exceptions::PyTypeError::new_err(format!(
                    "reassemble() takes decoded Sms parts: {e}"
                ))
            })?;
            held.push(part);
        }
        let refs: Vec<&Sms> = held.iter().map(|p| &p.get().inner).collect();
        let joined = reassemble::reassemble(&refs).map_err(|e| codec_error_to_py(py, &e))?;
        // The parts in sequence order, first of each duplicate kept, as the Rust side chose.
        let mut ordered: Vec<&Bound<'_, PySms>> = Vec::with_capacity(joined.present.len());
        for seq in &joined.present {
            if let Some(p) = held
                .iter()
                .find(|p| p.get().inner.concat.map_or(1, |c| c.seq) == *seq)
            {
                ordered.push(p);
            }
        }
        let parts = PyTuple::new(py, ordered)?.unbind();
        Ok(PyReassembled {
            inner: joined,
            parts,
        })
    }

    /// Build the SMS-DELIVER TPDUs that carry `text` (the face is `engine.codec.encode_deliver`).
    #[pyfunction]
    #[pyo3(signature = (
        text, *, sender, sent_at, reference, smsc, locking_shift, single_shift,
        force_ucs2, reference_16bit, pid, message_class
    ))]
    #[allow(clippy::too_many_arguments)] // a keyword-only API, one argument per option
    fn encode_deliver<'py>(
        py: Python<'py>,
        text: &str,
        sender: &str,
        sent_at: (u16, u8, u8, u8, u8, u8, i16),
        reference: u16,
        smsc: Option<String>,
        locking_shift: u8,
        single_shift: u8,
        force_ucs2: bool,
        reference_16bit: bool,
        pid: u8,
        message_class: Option<u8>,
    ) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let (year, month, day, hour, minute, second, offset_minutes) = sent_at;
        let scts = Timestamp {
            year,
            month,
            day,
            hour,
            minute,
            second,
            offset_minutes,
        };
        let options = crate::encode::DeliverOptions {
            smsc,
            locking_shift,
            single_shift,
            force_ucs2,
            reference_16bit,
            split_surrogates: false,
            pid,
            message_class,
        };
        let parts = crate::encode::encode_deliver(text, sender, scts, reference, &options)
            .map_err(|e| codec_error_to_py(py, &e))?;
        Ok(parts.iter().map(|p| PyBytes::new(py, p)).collect())
    }

    pub(crate) fn register_codec(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add_class::<PyAddress>()?;
        m.add_class::<PyConcat>()?;
        m.add_class::<PyUdhElement>()?;
        m.add_class::<PyMwi>()?;
        m.add_class::<PyIndication>()?;
        m.add_class::<PySms>()?;
        m.add_class::<PyReassembled>()?;
        m.add_function(wrap_pyfunction!(decode_pdu, m)?)?;
        m.add_function(wrap_pyfunction!(decode_pdus, m)?)?;
        m.add_function(wrap_pyfunction!(reassemble_parts, m)?)?;
        m.add_function(wrap_pyfunction!(encode_deliver, m)?)?;
        Ok(())
    }
    // ===== end codec glue =====

    // ===== otp glue =====
    pub(crate) fn register_otp(m: &Bound<'_, PyModule>) -> PyResult<()> {
        otp_glue::register(m)
    }

    /// Thin wrappers over `crate::otp`; `engine/otp.py` is the public face.
    mod otp_glue {
        use pyo3::prelude::*;

        use crate::otp;

        /// A one-time code found in a message (see `engine.otp`).
        #[pyclass(module = "engine._native", name = "Otp", frozen, eq, hash)]
        #[derive(PartialEq)]
        pub(crate) struct PyOtp(otp::Otp);

        impl std::hash::Hash for PyOtp {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                let o = &self.0;
                (
                    &o.code,
                    o.start,
                    o.end,
                    o.confidence.to_bits(),
                    &o.origin,
                    &o.embedded_origin,
                )
                    .hash(state);
            }
        }

        #[pymethods]
        impl PyOtp {
            #[getter]
            fn code(&self) -> &str {
                &self.0.code
            }
            #[getter]
            fn start(&self) -> usize {
                self.0.start
            }
            #[getter]
            fn end(&self) -> usize {
                self.0.end
            }
            #[getter]
            fn confidence(&self) -> f32 {
                self.0.confidence
            }
            #[getter]
            fn origin(&self) -> Option<&str> {
                self.0.origin.as_deref()
            }
            #[getter]
            fn embedded_origin(&self) -> Option<&str> {
                self.0.embedded_origin.as_deref()
            }
            fn __repr__(&self) -> String {
                let optional =
                    |v: &Option<String>| v.as_ref().map_or("None".to_owned(), |s| format!("{s:?}"));
                format!(
                    "Otp(code={:?}, start={}, end={}, confidence={:.2}, origin={}, embedded_origin={})",
                    self.0.code,
                    self.0.start,
                    self.0.end,
                    self.0.confidence,
                    optional(&self.0.origin),
                    optional(&self.0.embedded_origin),
                )
            }
        }

        /// The one-time code of `text`, or None. One message is too little
        /// work to be worth releasing the GIL.
        #[pyfunction]
        #[pyo3(name = "extract_otp")]
        fn extract(text: &str) -> Option<PyOtp> {
            otp::extract(text).map(PyOtp)
        }

        /// The one-time code of each text, in order; the GIL is released while
        /// the texts are searched.
        #[pyfunction]
        #[pyo3(name = "extract_otp_many")]
        fn extract_many(py: Python<'_>, texts: Vec<String>) -> Vec<Option<PyOtp>> {
            let found: Vec<Option<otp::Otp>> =
                py.detach(|| texts.iter().map(|t| otp::extract(t)).collect());
            found.into_iter().map(|o| o.map(PyOtp)).collect()
        }

        pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
            m.add_class::<PyOtp>()?;
            m.add_function(wrap_pyfunction!(extract, m)?)?;
            m.add_function(wrap_pyfunction!(extract_many, m)?)?;
            Ok(())
        }
    }
    // ===== end otp glue =====

    // ===== smpp glue (in smpp_python.rs) =====
    pub(crate) fn register_smpp(m: &Bound<'_, PyModule>) -> PyResult<()> {
        crate::smpp_python::register(m)
    }
    // ===== end smpp glue =====

    // ===== signing glue =====
    pub(crate) fn register_signing(m: &Bound<'_, PyModule>) -> PyResult<()> {
        signing_glue::register(m)
    }

    /// Thin wrappers over `crate::signing`; `engine/signing.py` is the public face.
    mod signing_glue {
        use pyo3::exceptions::PyValueError;
        use pyo3::prelude::*;
        use pyo3::pybacked::PyBackedBytes;
        use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

        use crate::signing::{self, HmacAlgorithm, SigningError, SigningErrorKind};

        /// The `engine.errors` exception for a signing error. Its message is the
        /// error's fixed text, which never quotes a secret.
        fn signing_error(py: Python<'_>, error: &SigningError) -> PyErr {
            let class_name = match error.kind() {
                SigningErrorKind::Malformed => "MalformedSignatureError",
                SigningErrorKind::Mismatch => "SignatureMismatchError",
                SigningErrorKind::OutOfTolerance => "TimestampToleranceError",
            };
            let built = py
                .import("engine.errors")
                .and_then(|errors| errors.getattr(class_name))
                .and_then(|class| class.call1((error.to_string(),)));
            match built {
                Ok(exception) => PyErr::from_value(exception),
                Err(import_failure) => import_failure,
            }
        }

        #[pyfunction]
        fn webhook_secret_decode<'py>(
            py: Python<'py>,
            secret: &str,
        ) -> PyResult<Bound<'py, PyBytes>> {
            let key = signing::decode_secret(secret).map_err(|e| signing_error(py, &e))?;
            Ok(PyBytes::new(py, &key))
        }

        #[pyfunction]
        fn webhook_secret_encode(key: &[u8]) -> String {
            signing::encode_secret(key)
        }

        #[pyfunction]
        fn webhook_sign(
            py: Python<'_>,
            key: &[u8],
            msg_id: &str,
            timestamp: i64,
            body: &[u8],
        ) -> PyResult<String> {
            signing::webhook_sign(key, msg_id, timestamp, body).map_err(|e| signing_error(py, &e))
        }

        /// A received header's text. A lone surrogate (which no HTTP stack
        /// produces, but a caller might) makes it unparseable, so it is a
        /// malformed header rather than a `UnicodeEncodeError`.
        fn header_text<'a>(
            value: &'a Bound<'_, PyString>,
            reason: &'static str,
        ) -> PyResult<&'a str> {
            value
                .to_str()
                .map_err(|_| signing_error(value.py(), &SigningError::Malformed(reason)))
        }

        #[pyfunction]
        #[allow(clippy::too_many_arguments)]
        fn webhook_verify(
            py: Python<'_>,
            keys: Vec<PyBackedBytes>,
            msg_id: &Bound<'_, PyString>,
            timestamp: &Bound<'_, PyString>,
            body: &[u8],
            signature: &Bound<'_, PyString>,
            now: i64,
            tolerance: u64,
        ) -> PyResult<()> {
            let msg_id = header_text(msg_id, "webhook id is not valid Unicode")?;
            let timestamp = header_text(timestamp, "webhook timestamp is not valid Unicode")?;
            let signature = header_text(signature, "webhook signature is not valid Unicode")?;
            signing::webhook_verify(&keys, msg_id, timestamp, body, signature, now, tolerance)
                .map_err(|e| signing_error(py, &e))
        }

        #[pyfunction]
        fn hmac_digest<'py>(
            py: Python<'py>,
            algorithm: &str,
            key: &[u8],
            data: &[u8],
        ) -> PyResult<Bound<'py, PyBytes>> {
            let Some(algorithm) = HmacAlgorithm::from_name(algorithm) else {
                return Err(PyValueError::new_err(format!(
                    "unknown HMAC algorithm {algorithm:?}: expected sha1, sha256, sha512 or md5"
                )));
            };
            let mac = signing::hmac_digest(algorithm, key, data);
            Ok(PyBytes::new(py, &mac))
        }

        /// The fields of a form body as `(name, value)` tuples (see `crate::form`);
        /// `ValueError` for a body that is not UTF-8 or not a form.
        #[pyfunction]
        fn parse_form<'py>(py: Python<'py>, body: &[u8]) -> PyResult<Bound<'py, PyList>> {
            let fields = crate::form::parse_form(body).map_err(|e| match e {
                crate::form::FormError::BadField { field } => {
                    match PyString::new(py, &field).repr() {
                        Ok(shown) => PyValueError::new_err(format!("bad form field: {shown}")),
                        Err(failure) => failure,
                    }
                }
                other => PyValueError::new_err(other.to_string()),
            })?;
            let list = PyList::empty(py);
            for (name, value) in fields {
                list.append(PyTuple::new(
                    py,
                    [PyString::new(py, &name), PyString::new(py, &value)],
                )?)?;
            }
            Ok(list)
        }

        #[pyfunction]
        fn md5_digest<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
            PyBytes::new(py, &signing::md5_digest(data))
        }

        #[pyfunction]
        fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
            signing::constant_time_eq(a, b)
        }

        #[pyfunction]
        fn ed25519_verify(
            py: Python<'_>,
            public_key: &[u8],
            message: &[u8],
            signature: &[u8],
        ) -> PyResult<bool> {
            signing::ed25519_verify(public_key, message, signature)
                .map_err(|e| signing_error(py, &e))
        }

        pub(super) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
            m.add_function(wrap_pyfunction!(webhook_secret_decode, m)?)?;
            m.add_function(wrap_pyfunction!(webhook_secret_encode, m)?)?;
            m.add_function(wrap_pyfunction!(webhook_sign, m)?)?;
            m.add_function(wrap_pyfunction!(webhook_verify, m)?)?;
            m.add_function(wrap_pyfunction!(hmac_digest, m)?)?;
            m.add_function(wrap_pyfunction!(md5_digest, m)?)?;
            m.add_function(wrap_pyfunction!(parse_form, m)?)?;
            m.add_function(wrap_pyfunction!(constant_time_eq, m)?)?;
            m.add_function(wrap_pyfunction!(ed25519_verify, m)?)?;
            Ok(())
        }
    }
    // ===== end signing glue =====

    #[pymodule]
    #[pyo3(name = "_native")]
    fn native_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
        register_gsm7(m)?;
        register_codec(m)?;
        register_otp(m)?;
        register_signing(m)?;
        register_smpp(m)?;
        Ok(())
    }
}
