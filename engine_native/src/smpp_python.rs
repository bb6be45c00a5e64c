//! Thin pyo3 wrappers over `crate::smpp`; `engine/smpp.py` is the public face.
//!
//! Each PDU is a frozen class holding the Rust value; getters build Python
//! objects only when read, so decoding a deliver_sm costs one allocation per
//! field and nothing more until the caller looks. C-octet strings cross as
//! Latin-1 `str` (one character per octet, so any octet survives).

use pyo3::exceptions::{PyStopIteration, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDateTime, PyDict, PyString, PyTuple};

use crate::python::error_class;
use crate::smpp::tlv::{integer_width, tag};
use crate::smpp::{
    self, command, parse_delivery_receipt, status, Bind, BindResp, Body, DataSm, DeliveryReceipt,
    FrameReader, MessageResp, Pdu, ReceiptDate, ShortMessage, SmppError, Tlv, TlvValue, Tlvs,
};

/// The `engine.errors.SmppError` for an error of the codec.
fn smpp_error_to_py(py: Python<'_>, err: &SmppError) -> PyErr {
    let built = error_class(py, "SmppError").and_then(|class| {
        let kwargs = PyDict::new(py);
        kwargs.set_item("command_status", err.command_status)?;
        kwargs.set_item("sequence_number", err.sequence_number)?;
        kwargs.set_item("command_id", err.command_id)?;
        class.call((err.reason.as_str(), err.offset), Some(&kwargs))
    });
    match built {
        Ok(exception) => PyErr::from_value(exception),
        Err(import_failure) => import_failure,
    }
}

/// A `str` with one character per octet.
fn latin1<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyString>> {
    let len = pyo3::ffi::Py_ssize_t::try_from(data.len())
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("text too long"))?;
    // SAFETY: `data` is `len` readable bytes for the duration of the call; a
    // NULL errors argument means "strict"; the function returns a new
    // reference or NULL with an exception set (turned into Err).
    let obj = unsafe {
        let ptr = pyo3::ffi::PyUnicode_DecodeLatin1(data.as_ptr().cast(), len, std::ptr::null());
        Bound::from_owned_ptr_or_err(py, ptr)?
    };
    Ok(obj.cast_into::<PyString>()?)
}

/// The octets of a Latin-1 `str` for `field`; other characters are an SMPP error.
fn octets_of(py: Python<'_>, text: &str, field: &str, status: u32) -> PyResult<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    for (index, c) in text.chars().enumerate() {
        match u8::try_from(u32::from(c)) {
            Ok(octet) => out.push(octet),
            Err(_) => {
                let reason = format!("{field} character {c:?} is not a single octet (Latin-1)");
                return Err(smpp_error_to_py(py, &SmppError::new(status, index, reason)));
            }
        }
    }
    Ok(out)
}

fn to_bytes<'py>(py: Python<'py>, data: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, data)
}

fn command_name(command_id: u32) -> &'static str {
    command::name(command_id).unwrap_or("unknown")
}

/// Encode `pdu`, raising `SmppError` for a field that does not fit.
fn encode_pdu<'py>(py: Python<'py>, pdu: &Pdu) -> PyResult<Bound<'py, PyBytes>> {
    smpp::encode(pdu)
        .map(|bytes| PyBytes::new(py, &bytes))
        .map_err(|e| smpp_error_to_py(py, &e))
}

/// Check that `pdu` encodes, so a constructed object always does.
fn validated(py: Python<'_>, pdu: &Pdu) -> PyResult<()> {
    smpp::encode(pdu)
        .map(drop)
        .map_err(|e| smpp_error_to_py(py, &e))
}

fn tlvs_from_py(tlvs: Vec<Bound<'_, PyTlv>>) -> Tlvs {
    tlvs.iter().map(|t| t.get().0.clone()).collect()
}

fn tlvs_to_py<'py>(py: Python<'py>, tlvs: &Tlvs) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(py, tlvs.iter().map(|t| PyTlv(t.clone())))
}

/// `None` or the quoted text, as Python would show it.
fn optional_repr(value: &Option<Vec<u8>>) -> String {
    value.as_deref().map_or("None".to_owned(), |v| {
        format!("{:?}", String::from_utf8_lossy(v))
    })
}

fn repr_tlvs(tlvs: &Tlvs) -> String {
    tlvs.iter()
        .map(|t| format!("0x{:04X}", t.tag))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One TLV (optional parameter), raw.
#[pyclass(module = "engine._native", name = "Tlv", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyTlv(Tlv);

#[pymethods]
impl PyTlv {
    /// `value`: the raw octets; an `int` for a TLV SMPP defines as an integer
    /// (written in its width); a `str` for a C-octet string (its NUL added).
    #[new]
    fn new(py: Python<'_>, tag: u16, value: &Bound<'_, PyAny>) -> PyResult<Self> {
        let raw = if let Ok(bytes) = value.cast::<PyBytes>() {
            bytes.as_bytes().to_vec()
        } else if let Ok(text) = value.cast::<PyString>() {
            let mut raw = octets_of(py, text.to_str()?, "TLV", status::ESME_RINVTLVVAL)?;
            raw.push(0);
            raw
        } else {
            let number: u64 = value.extract()?;
            let width = integer_width(tag).ok_or_else(|| {
                PyValueError::new_err(format!(
                    "TLV 0x{tag:04X} is not an integer TLV: give its value as bytes"
                ))
            })?;
            if width < 8 && number >> (8 * width) != 0 {
                return Err(PyValueError::new_err(format!(
                    "{number} does not fit the {width}-octet TLV 0x{tag:04X}"
                )));
            }
            number.to_be_bytes()[8 - width..].to_vec()
        };
        Ok(Self(Tlv::new(tag, raw)))
    }
    #[getter]
    fn tag(&self) -> u16 {
        self.0.tag
    }
    /// The SMPP name of the tag; None for vendor and unknown tags.
    #[getter]
    fn name(&self) -> Option<&'static str> {
        self.0.name()
    }
    #[getter]
    fn value<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        to_bytes(py, &self.0.value)
    }
    /// The value read by its tag: int, str (C-octet string), a
    /// (network_type, error_code) tuple, or bytes (octet strings, unknown tags).
    #[getter]
    fn parsed<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self.0.parsed() {
            TlvValue::Int(n) => n.into_pyobject(py)?.into_any(),
            TlvValue::Text(text) => latin1(py, text)?.into_any(),
            TlvValue::NetworkErrorCode(code) => (code.network_type, code.error_code)
                .into_pyobject(py)?
                .into_any(),
            TlvValue::Octets(raw) | TlvValue::Unknown(raw) => to_bytes(py, raw).into_any(),
        })
    }
    fn __repr__(&self) -> String {
        let hex: String = self.0.value.iter().map(|b| format!("{b:02x}")).collect();
        format!("Tlv(0x{:04X}, bytes.fromhex({hex:?}))", self.0.tag)
    }
}

/// The `#[pymethods]` block of a PDU class: the header getters and `encode`
/// every PDU has (`header:`), plus the TLV accessors (`tlvs:`), plus the
/// message TLVs an ESME acts on (`message:`), then the class's own methods.
/// pyo3 reads the block after this macro has expanded, so the shared methods
/// are spelled out here rather than in macros of their own.
macro_rules! pdu_pymethods {
    (header: $rust:ident { $($extra:tt)* }) => {
        #[pymethods]
        impl $rust {
        #[getter]
        fn command_id(&self) -> u32 {
            self.id()
        }
        /// The SMPP name of the command (`deliver_sm`, `enquire_link_resp`, ...).
        #[getter]
        fn command_name(&self) -> &'static str {
            command_name(self.id())
        }
        #[getter]
        fn command_status(&self) -> u32 {
            self.command_status
        }
        #[getter]
        fn sequence_number(&self) -> u32 {
            self.sequence_number
        }
        /// The PDU's bytes, command_length included.
        fn encode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
            encode_pdu(py, &self.pdu())
        }
            $($extra)*
        }
    };
    (tlvs: $rust:ident { $($extra:tt)* }) => {
        pdu_pymethods!(header: $rust {
        /// The TLVs in wire order, unknown and vendor ones included.
        #[getter]
        fn tlvs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
            tlvs_to_py(py, &self.tlv_list())
        }
        /// The raw value of the first TLV with `tag`, or None.
        fn tlv<'py>(&self, py: Python<'py>, tag: u16) -> Option<Bound<'py, PyBytes>> {
            self.tlv_list().get(tag).map(|v| to_bytes(py, v))
        }
            $($extra)*
        });
    };
    (message: $rust:ident { $($extra:tt)* }) => {
        pdu_pymethods!(tlvs: $rust {
        #[getter]
        fn message_payload<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
            self.body.tlvs.message_payload().map(|v| to_bytes(py, v))
        }
        /// `receipted_message_id` without its NUL (the id the SMSC gave the submit).
        #[getter]
        fn receipted_message_id<'py>(
            &self,
            py: Python<'py>,
        ) -> PyResult<Option<Bound<'py, PyString>>> {
            self.body
                .tlvs
                .receipted_message_id()
                .map(|v| latin1(py, v))
                .transpose()
        }
        #[getter]
        fn message_state(&self) -> Option<u8> {
            self.body.tlvs.message_state()
        }
        /// `(network_type, error_code)`.
        #[getter]
        fn network_error_code(&self) -> Option<(u8, u16)> {
            self.body
                .tlvs
                .network_error_code()
                .map(|c| (c.network_type, c.error_code))
        }
        /// `(sar_msg_ref_num, sar_total_segments, sar_segment_seqnum)`.
        #[getter]
        fn sar(&self) -> Option<(u16, u8, u8)> {
            self.body
                .tlvs
                .sar()
                .map(|s| (s.msg_ref_num, s.total_segments, s.segment_seqnum))
        }
        /// True when the message starts with a user data header (esm_class 0x40).
        #[getter]
        fn udhi(&self) -> bool {
            self.body.esm_class & smpp::ESM_CLASS_UDHI != 0
        }
        /// True for an SMSC delivery receipt or an intermediate notification (esm_class bits 5..2).
        #[getter]
        fn is_delivery_receipt(&self) -> bool {
            matches!(
                self.body.esm_class & 0x3C,
                smpp::ESM_CLASS_DELIVERY_RECEIPT | smpp::ESM_CLASS_INTERMEDIATE_NOTIFICATION
            )
        }
        #[getter]
        fn esm_class(&self) -> u8 {
            self.body.esm_class
        }
        #[getter]
        fn data_coding(&self) -> u8 {
            self.body.data_coding
        }
        #[getter]
        fn registered_delivery(&self) -> u8 {
            self.body.registered_delivery
        }
        #[getter]
        fn service_type<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
            latin1(py, &self.body.service_type)
        }
        #[getter]
        fn source_addr_ton(&self) -> u8 {
            self.body.source_addr_ton
        }
        #[getter]
        fn source_addr_npi(&self) -> u8 {
            self.body.source_addr_npi
        }
        #[getter]
        fn source_addr<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
            latin1(py, &self.body.source_addr)
        }
        #[getter]
        fn dest_addr_ton(&self) -> u8 {
            self.body.dest_addr_ton
        }
        #[getter]
        fn dest_addr_npi(&self) -> u8 {
            self.body.dest_addr_npi
        }
        #[getter]
        fn destination_addr<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
            latin1(py, &self.body.destination_addr)
        }
            $($extra)*
        });
    };
}

/// deliver_sm and submit_sm share their body; one macro makes both classes.
macro_rules! short_message_class {
    ($rust:ident, $name:tt, $variant:ident, $id:ident) => {
        #[pyclass(module = "engine._native", name = $name, frozen, eq)]
        #[derive(Clone, PartialEq)]
        pub(crate) struct $rust {
            command_status: u32,
            sequence_number: u32,
            body: ShortMessage,
        }

        impl $rust {
            fn id(&self) -> u32 {
                command::$id
            }
            fn pdu(&self) -> Pdu {
                Pdu {
                    command_status: self.command_status,
                    sequence_number: self.sequence_number,
                    body: Body::$variant(self.body.clone()),
                }
            }
            fn tlv_list(&self) -> &Tlvs {
                &self.body.tlvs
            }
        }

        pdu_pymethods!(message: $rust {
            #[new]
            #[pyo3(signature = (
                *, sequence_number, source_addr, destination_addr, short_message = b"".as_slice(),
                source_addr_ton = 0, source_addr_npi = 0, dest_addr_ton = 0, dest_addr_npi = 0,
                service_type = "", esm_class = 0, protocol_id = 0, priority_flag = 0,
                schedule_delivery_time = "", validity_period = "", registered_delivery = 0,
                replace_if_present_flag = 0, data_coding = 0, sm_default_msg_id = 0,
                tlvs = Vec::new(), command_status = 0
            ))]
            #[allow(clippy::too_many_arguments)] // a keyword-only API, one argument per field
            fn new(
                py: Python<'_>,
                sequence_number: u32,
                source_addr: &str,
                destination_addr: &str,
                short_message: &[u8],
                source_addr_ton: u8,
                source_addr_npi: u8,
                dest_addr_ton: u8,
                dest_addr_npi: u8,
                service_type: &str,
                esm_class: u8,
                protocol_id: u8,
                priority_flag: u8,
                schedule_delivery_time: &str,
                validity_period: &str,
                registered_delivery: u8,
                replace_if_present_flag: u8,
                data_coding: u8,
                sm_default_msg_id: u8,
                tlvs: Vec<Bound<'_, PyTlv>>,
                command_status: u32,
            ) -> PyResult<Self> {
                use status::*;
                let made = Self {
                    command_status,
                    sequence_number,
                    body: ShortMessage {
                        service_type: octets_of(py, service_type, "service_type", ESME_RINVSERTYP)?,
                        source_addr_ton,
                        source_addr_npi,
                        source_addr: octets_of(py, source_addr, "source_addr", ESME_RINVSRCADR)?,
                        dest_addr_ton,
                        dest_addr_npi,
                        destination_addr: octets_of(
                            py,
                            destination_addr,
                            "destination_addr",
                            ESME_RINVDSTADR,
                        )?,
                        esm_class,
                        protocol_id,
                        priority_flag,
                        schedule_delivery_time: octets_of(
                            py,
                            schedule_delivery_time,
                            "schedule_delivery_time",
                            ESME_RINVSCHED,
                        )?,
                        validity_period: octets_of(
                            py,
                            validity_period,
                            "validity_period",
                            ESME_RINVEXPIRY,
                        )?,
                        registered_delivery,
                        replace_if_present_flag,
                        data_coding,
                        sm_default_msg_id,
                        short_message: short_message.to_vec(),
                        tlvs: tlvs_from_py(tlvs),
                    },
                };
                validated(py, &made.pdu())?;
                Ok(made)
            }
            #[getter]
            fn protocol_id(&self) -> u8 {
                self.body.protocol_id
            }
            #[getter]
            fn priority_flag(&self) -> u8 {
                self.body.priority_flag
            }
            #[getter]
            fn schedule_delivery_time<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
                latin1(py, &self.body.schedule_delivery_time)
            }
            #[getter]
            fn validity_period<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
                latin1(py, &self.body.validity_period)
            }
            #[getter]
            fn replace_if_present_flag(&self) -> u8 {
                self.body.replace_if_present_flag
            }
            #[getter]
            fn sm_default_msg_id(&self) -> u8 {
                self.body.sm_default_msg_id
            }
            #[getter]
            fn sm_length(&self) -> usize {
                self.body.short_message.len()
            }
            #[getter]
            fn short_message<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
                to_bytes(py, &self.body.short_message)
            }
            /// The content: `message_payload` when present, else `short_message`.
            #[getter]
            fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
                to_bytes(py, self.body.payload())
            }
            fn __repr__(&self) -> String {
                format!(
                    "{}(sequence_number={}, source_addr={:?}, destination_addr={:?}, esm_class=0x{:02X}, data_coding=0x{:02X}, sm_length={}, tlvs=[{}])",
                    $name,
                    self.sequence_number,
                    String::from_utf8_lossy(&self.body.source_addr),
                    String::from_utf8_lossy(&self.body.destination_addr),
                    self.body.esm_class,
                    self.body.data_coding,
                    self.body.short_message.len(),
                    repr_tlvs(&self.body.tlvs),
                )
            }
        });
    };
}

short_message_class!(PyDeliverSm, "DeliverSm", DeliverSm, DELIVER_SM);
short_message_class!(PySubmitSm, "SubmitSm", SubmitSm, SUBMIT_SM);

/// data_sm.
#[pyclass(module = "engine._native", name = "DataSm", frozen, eq)]
#[derive(Clone, PartialEq)]
pub(crate) struct PyDataSm {
    command_status: u32,
    sequence_number: u32,
    body: DataSm,
}

impl PyDataSm {
    fn id(&self) -> u32 {
        command::DATA_SM
    }
    fn pdu(&self) -> Pdu {
        Pdu {
            command_status: self.command_status,
            sequence_number: self.sequence_number,
            body: Body::DataSm(self.body.clone()),
        }
    }
    fn tlv_list(&self) -> &Tlvs {
        &self.body.tlvs
    }
}

pdu_pymethods!(message: PyDataSm {
    #[new]
    #[pyo3(signature = (
        *, sequence_number, source_addr, destination_addr, source_addr_ton = 0,
        source_addr_npi = 0, dest_addr_ton = 0, dest_addr_npi = 0, service_type = "",
        esm_class = 0, registered_delivery = 0, data_coding = 0, tlvs = Vec::new(),
        command_status = 0
    ))]
    #[allow(clippy::too_many_arguments)] // a keyword-only API, one argument per field
    fn new(
        py: Python<'_>,
        sequence_number: u32,
        source_addr: &str,
        destination_addr: &str,
        source_addr_ton: u8,
        source_addr_npi: u8,
        dest_addr_ton: u8,
        dest_addr_npi: u8,
        service_type: &str,
        esm_class: u8,
        registered_delivery: u8,
        data_coding: u8,
        tlvs: Vec<Bound<'_, PyTlv>>,
        command_status: u32,
    ) -> PyResult<Self> {
        use status::*;
        let made = Self {
            command_status,
            sequence_number,
            body: DataSm {
                service_type: octets_of(py, service_type, "service_type", ESME_RINVSERTYP)?,
                source_addr_ton,
                source_addr_npi,
                source_addr: octets_of(py, source_addr, "source_addr", ESME_RINVSRCADR)?,
                dest_addr_ton,
                dest_addr_npi,
                destination_addr: octets_of(
                    py,
                    destination_addr,
                    "destination_addr",
                    ESME_RINVDSTADR,
                )?,
                esm_class,
                registered_delivery,
                data_coding,
                tlvs: tlvs_from_py(tlvs),
            },
        };
        validated(py, &made.pdu())?;
        Ok(made)
    }
    /// The content: `message_payload`, or empty bytes when there is none.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        to_bytes(py, self.body.tlvs.message_payload().unwrap_or_default())
    }
    fn __repr__(&self) -> String {
        format!(
            "DataSm(sequence_number={}, source_addr={:?}, destination_addr={:?}, esm_class=0x{:02X}, data_coding=0x{:02X}, tlvs=[{}])",
            self.sequence_number,
            String::from_utf8_lossy(&self.body.source_addr),
            String::from_utf8_lossy(&self.body.destination_addr),
            self.body.esm_class,
            self.body.data_coding,
            repr_tlvs(&self.body.tlvs),
        )
    }
});

/// submit_sm_resp, deliver_sm_resp and data_sm_resp share their body.
macro_rules! message_resp_class {
    ($rust:ident, $name:tt, $variant:ident, $id:ident) => {
        #[pyclass(module = "engine._native", name = $name, frozen, eq)]
        #[derive(Clone, PartialEq)]
        pub(crate) struct $rust {
            command_status: u32,
            sequence_number: u32,
            body: MessageResp,
        }

        impl $rust {
            fn id(&self) -> u32 {
                command::$id
            }
            fn pdu(&self) -> Pdu {
                Pdu {
                    command_status: self.command_status,
                    sequence_number: self.sequence_number,
                    body: Body::$variant(self.body.clone()),
                }
            }
            fn tlv_list(&self) -> &Tlvs {
                &self.body.tlvs
            }
        }

        pdu_pymethods!(tlvs: $rust {
            /// `message_id` None leaves the body empty (an error response may).
            #[new]
            #[pyo3(signature = (*, sequence_number, command_status = 0, message_id = Some(""), tlvs = Vec::new()))]
            fn new(
                py: Python<'_>,
                sequence_number: u32,
                command_status: u32,
                message_id: Option<&str>,
                tlvs: Vec<Bound<'_, PyTlv>>,
            ) -> PyResult<Self> {
                let message_id = message_id
                    .map(|id| octets_of(py, id, "message_id", status::ESME_RINVMSGID))
                    .transpose()?;
                let made = Self {
                    command_status,
                    sequence_number,
                    body: MessageResp {
                        message_id,
                        tlvs: tlvs_from_py(tlvs),
                    },
                };
                validated(py, &made.pdu())?;
                Ok(made)
            }
            /// None when the body is empty.
            #[getter]
            fn message_id<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
                self.body.message_id.as_deref().map(|id| latin1(py, id)).transpose()
            }
            fn __repr__(&self) -> String {
                format!(
                    "{}(sequence_number={}, command_status=0x{:08X}, message_id={})",
                    $name,
                    self.sequence_number,
                    self.command_status,
                    optional_repr(&self.body.message_id),
                )
            }
        });
    };
}

message_resp_class!(PySubmitSmResp, "SubmitSmResp", SubmitSmResp, SUBMIT_SM_RESP);
message_resp_class!(
    PyDeliverSmResp,
    "DeliverSmResp",
    DeliverSmResp,
    DELIVER_SM_RESP
);
message_resp_class!(PyDataSmResp, "DataSmResp", DataSmResp, DATA_SM_RESP);

/// The PDUs that are only a header.
macro_rules! header_only_class {
    ($rust:ident, $name:tt, $variant:ident, $id:ident) => {
        #[pyclass(module = "engine._native", name = $name, frozen, eq)]
        #[derive(Clone, PartialEq)]
        pub(crate) struct $rust {
            command_status: u32,
            sequence_number: u32,
        }

        impl $rust {
            fn id(&self) -> u32 {
                command::$id
            }
            fn pdu(&self) -> Pdu {
                Pdu {
                    command_status: self.command_status,
                    sequence_number: self.sequence_number,
                    body: Body::$variant,
                }
            }
        }

        pdu_pymethods!(header: $rust {
            #[new]
            #[pyo3(signature = (*, sequence_number, command_status = 0))]
            fn new(sequence_number: u32, command_status: u32) -> Self {
                Self {
                    command_status,
                    sequence_number,
                }
            }
            fn __repr__(&self) -> String {
                format!(
                    "{}(sequence_number={}, command_status=0x{:08X})",
                    $name, self.sequence_number, self.command_status
                )
            }
        });
    };
}

header_only_class!(PyEnquireLink, "EnquireLink", EnquireLink, ENQUIRE_LINK);
header_only_class!(
    PyEnquireLinkResp,
    "EnquireLinkResp",
    EnquireLinkResp,
    ENQUIRE_LINK_RESP
);
header_only_class!(PyUnbind, "Unbind", Unbind, UNBIND);
header_only_class!(PyUnbindResp, "UnbindResp", UnbindResp, UNBIND_RESP);
header_only_class!(PyGenericNack, "GenericNack", GenericNack, GENERIC_NACK);

/// bind_receiver, bind_transmitter or bind_transceiver, by `command_id`.
#[pyclass(module = "engine._native", name = "Bind", frozen, eq)]
#[derive(Clone, PartialEq)]
pub(crate) struct PyBind {
    /// One of the three bind commands, checked when made.
    command_id: u32,
    command_status: u32,
    sequence_number: u32,
    body: Bind,
}

impl PyBind {
    fn id(&self) -> u32 {
        self.command_id
    }
    fn pdu(&self) -> Pdu {
        let body = self.body.clone();
        Pdu {
            command_status: self.command_status,
            sequence_number: self.sequence_number,
            body: match self.command_id {
                command::BIND_RECEIVER => Body::BindReceiver(body),
                command::BIND_TRANSMITTER => Body::BindTransmitter(body),
                _ => Body::BindTransceiver(body),
            },
        }
    }
    fn bind(&self) -> &Bind {
        &self.body
    }
}

pdu_pymethods!(header: PyBind {
    #[new]
    #[pyo3(signature = (
        *, command_id, sequence_number, system_id, password = "", system_type = "",
        interface_version = 0x34, addr_ton = 0, addr_npi = 0, address_range = "",
        command_status = 0
    ))]
    #[allow(clippy::too_many_arguments)] // a keyword-only API, one argument per field
    fn new(
        py: Python<'_>,
        command_id: u32,
        sequence_number: u32,
        system_id: &str,
        password: &str,
        system_type: &str,
        interface_version: u8,
        addr_ton: u8,
        addr_npi: u8,
        address_range: &str,
        command_status: u32,
    ) -> PyResult<Self> {
        use status::*;
        let bind = Bind {
            system_id: octets_of(py, system_id, "system_id", ESME_RINVSYSID)?,
            password: octets_of(py, password, "password", ESME_RINVPASWD)?,
            system_type: octets_of(py, system_type, "system_type", ESME_RINVSYSTYP)?,
            interface_version,
            addr_ton,
            addr_npi,
            address_range: octets_of(py, address_range, "address_range", ESME_RBINDFAIL)?,
        };
        if !matches!(
            command_id,
            command::BIND_RECEIVER | command::BIND_TRANSMITTER | command::BIND_TRANSCEIVER
        ) {
            return Err(PyValueError::new_err(format!(
                "command_id 0x{command_id:08X} is not a bind (0x1, 0x2 or 0x9)"
            )));
        }
        let made = Self {
            command_id,
            command_status,
            sequence_number,
            body: bind,
        };
        validated(py, &made.pdu())?;
        Ok(made)
    }
    #[getter]
    fn system_id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        latin1(py, &self.bind().system_id)
    }
    #[getter]
    fn password<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        latin1(py, &self.bind().password)
    }
    #[getter]
    fn system_type<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        latin1(py, &self.bind().system_type)
    }
    #[getter]
    fn interface_version(&self) -> u8 {
        self.bind().interface_version
    }
    #[getter]
    fn addr_ton(&self) -> u8 {
        self.bind().addr_ton
    }
    #[getter]
    fn addr_npi(&self) -> u8 {
        self.bind().addr_npi
    }
    #[getter]
    fn address_range<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyString>> {
        latin1(py, &self.bind().address_range)
    }
    fn __repr__(&self) -> String {
        // The password stays out of logs.
        format!(
            "Bind(command_name={:?}, sequence_number={}, system_id={:?})",
            self.command_name(),
            self.sequence_number,
            String::from_utf8_lossy(&self.bind().system_id)
        )
    }
});

/// bind_receiver_resp, bind_transmitter_resp or bind_transceiver_resp, by `command_id`.
#[pyclass(module = "engine._native", name = "BindResp", frozen, eq)]
#[derive(Clone, PartialEq)]
pub(crate) struct PyBindResp {
    /// One of the three bind responses, checked when made.
    command_id: u32,
    command_status: u32,
    sequence_number: u32,
    body: BindResp,
}

impl PyBindResp {
    fn id(&self) -> u32 {
        self.command_id
    }
    fn pdu(&self) -> Pdu {
        let body = self.body.clone();
        Pdu {
            command_status: self.command_status,
            sequence_number: self.sequence_number,
            body: match self.command_id {
                command::BIND_RECEIVER_RESP => Body::BindReceiverResp(body),
                command::BIND_TRANSMITTER_RESP => Body::BindTransmitterResp(body),
                _ => Body::BindTransceiverResp(body),
            },
        }
    }
    fn tlv_list(&self) -> &Tlvs {
        &self.body.tlvs
    }
}

pdu_pymethods!(tlvs: PyBindResp {
    /// `system_id` None leaves the body empty (an error response may).
    #[new]
    #[pyo3(signature = (*, command_id, sequence_number, system_id = Some(""), command_status = 0, tlvs = Vec::new()))]
    fn new(
        py: Python<'_>,
        command_id: u32,
        sequence_number: u32,
        system_id: Option<&str>,
        command_status: u32,
        tlvs: Vec<Bound<'_, PyTlv>>,
    ) -> PyResult<Self> {
        if !matches!(
            command_id,
            command::BIND_RECEIVER_RESP
                | command::BIND_TRANSMITTER_RESP
                | command::BIND_TRANSCEIVER_RESP
        ) {
            return Err(PyValueError::new_err(format!(
                "command_id 0x{command_id:08X} is not a bind response (0x80000001, 0x80000002 or 0x80000009)"
            )));
        }
        let system_id = system_id
            .map(|id| octets_of(py, id, "system_id", status::ESME_RINVSYSID))
            .transpose()?;
        let made = Self {
            command_id,
            command_status,
            sequence_number,
            body: BindResp {
                system_id,
                tlvs: tlvs_from_py(tlvs),
            },
        };
        validated(py, &made.pdu())?;
        Ok(made)
    }
    /// None when the body is empty.
    #[getter]
    fn system_id<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        self.body
            .system_id
            .as_deref()
            .map(|id| latin1(py, id))
            .transpose()
    }
    /// The SMSC's `sc_interface_version` TLV (0x34 for SMPP 3.4), when sent.
    #[getter]
    fn sc_interface_version(&self) -> Option<u32> {
        self.body.tlvs.int(tag::SC_INTERFACE_VERSION)
    }
    fn __repr__(&self) -> String {
        format!(
            "BindResp(command_name={:?}, sequence_number={}, command_status=0x{:08X}, system_id={})",
            self.command_name(),
            self.sequence_number,
            self.command_status,
            optional_repr(&self.body.system_id),
        )
    }
});

/// The Python object of a decoded PDU.
fn pdu_to_py(py: Python<'_>, pdu: Pdu) -> PyResult<Py<PyAny>> {
    let Pdu {
        command_status,
        sequence_number,
        body,
    } = pdu;
    macro_rules! with_body {
        ($class:ident, $body:expr) => {
            Py::new(
                py,
                $class {
                    command_status,
                    sequence_number,
                    body: $body,
                },
            )?
            .into_any()
        };
    }
    macro_rules! header_only {
        ($class:ident) => {
            Py::new(
                py,
                $class {
                    command_status,
                    sequence_number,
                },
            )?
            .into_any()
        };
    }
    let command_id = body.command_id();
    Ok(match body {
        Body::DeliverSm(sm) => with_body!(PyDeliverSm, sm),
        Body::SubmitSm(sm) => with_body!(PySubmitSm, sm),
        Body::DataSm(sm) => with_body!(PyDataSm, sm),
        Body::DeliverSmResp(r) => with_body!(PyDeliverSmResp, r),
        Body::SubmitSmResp(r) => with_body!(PySubmitSmResp, r),
        Body::DataSmResp(r) => with_body!(PyDataSmResp, r),
        Body::BindReceiver(b) | Body::BindTransmitter(b) | Body::BindTransceiver(b) => Py::new(
            py,
            PyBind {
                command_id,
                command_status,
                sequence_number,
                body: b,
            },
        )?
        .into_any(),
        Body::BindReceiverResp(b) | Body::BindTransmitterResp(b) | Body::BindTransceiverResp(b) => {
            Py::new(
                py,
                PyBindResp {
                    command_id,
                    command_status,
                    sequence_number,
                    body: b,
                },
            )?
            .into_any()
        }
        Body::EnquireLink => header_only!(PyEnquireLink),
        Body::EnquireLinkResp => header_only!(PyEnquireLinkResp),
        Body::Unbind => header_only!(PyUnbind),
        Body::UnbindResp => header_only!(PyUnbindResp),
        Body::GenericNack => header_only!(PyGenericNack),
    })
}

/// Decode one whole PDU.
#[pyfunction]
fn smpp_decode_pdu(py: Python<'_>, frame: &[u8]) -> PyResult<Py<PyAny>> {
    let pdu = smpp::decode(frame).map_err(|e| smpp_error_to_py(py, &e))?;
    pdu_to_py(py, pdu)
}

/// The bytes that answer a PDU that failed to decode: its `_resp` with the
/// error status, or a `generic_nack`.
#[pyfunction]
#[pyo3(signature = (command_status, sequence_number, command_id))]
fn smpp_error_response<'py>(
    py: Python<'py>,
    command_status: u32,
    sequence_number: Option<u32>,
    command_id: Option<u32>,
) -> PyResult<Bound<'py, PyBytes>> {
    let error = SmppError {
        command_id,
        sequence_number,
        ..SmppError::new(command_status, 0, "")
    };
    encode_pdu(py, &error.response())
}

/// Splits a byte stream into whole PDUs (see `crate::smpp::FrameReader`).
#[pyclass(module = "engine._native", name = "FrameReader")]
pub(crate) struct PyFrameReader(FrameReader);

#[pymethods]
impl PyFrameReader {
    #[new]
    #[pyo3(signature = (max_command_length = smpp::DEFAULT_MAX_COMMAND_LENGTH))]
    fn new(max_command_length: u32) -> Self {
        Self(FrameReader::new(max_command_length))
    }
    #[getter]
    fn max_command_length(&self) -> u32 {
        self.0.max_command_length()
    }
    /// Bytes received and not yet returned in a frame.
    #[getter]
    fn buffered(&self) -> usize {
        self.0.buffered()
    }
    fn feed(&mut self, data: &[u8]) {
        self.0.feed(data);
    }
    /// The next whole frame, or None until more bytes arrive.
    fn next_frame<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        match self.0.next_frame() {
            Ok(frame) => Ok(frame.map(|f| PyBytes::new(py, f))),
            Err(e) => Err(smpp_error_to_py(py, &e)),
        }
    }
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }
    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.next_frame(py)?
            .ok_or_else(|| PyStopIteration::new_err(()))
    }
    fn __repr__(&self) -> String {
        format!(
            "FrameReader(max_command_length={}, buffered={})",
            self.0.max_command_length(),
            self.0.buffered()
        )
    }
}

/// The fields of a delivery receipt's text.
#[pyclass(module = "engine._native", name = "DeliveryReceipt", frozen, eq)]
#[derive(PartialEq)]
pub(crate) struct PyDeliveryReceipt(DeliveryReceipt);

fn optional_latin1<'py>(
    py: Python<'py>,
    value: &Option<Vec<u8>>,
) -> PyResult<Option<Bound<'py, PyString>>> {
    value.as_deref().map(|v| latin1(py, v)).transpose()
}

fn receipt_date<'py>(
    py: Python<'py>,
    date: Option<ReceiptDate>,
) -> PyResult<Option<Bound<'py, PyDateTime>>> {
    date.map(|d| {
        PyDateTime::new(
            py,
            i32::from(d.year),
            d.month,
            d.day,
            d.hour,
            d.minute,
            d.second,
            0,
            None,
        )
    })
    .transpose()
}

#[pymethods]
impl PyDeliveryReceipt {
    /// The message id as the text gives it (often decimal; the TLV is often hex).
    #[getter]
    fn id<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        optional_latin1(py, &self.0.id)
    }
    #[getter]
    fn sub<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        optional_latin1(py, &self.0.sub)
    }
    #[getter]
    fn dlvrd<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        optional_latin1(py, &self.0.dlvrd)
    }
    /// As written: `YYMMDDhhmm`, sometimes with seconds.
    #[getter]
    fn submit_date<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        optional_latin1(py, &self.0.submit_date)
    }
    #[getter]
    fn done_date<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        optional_latin1(py, &self.0.done_date)
    }
    /// `submit_date` as a naive datetime (the SMSC's time zone is not stated); None if invalid.
    #[getter]
    fn submitted_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDateTime>>> {
        receipt_date(py, self.0.submitted_at())
    }
    #[getter]
    fn done_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDateTime>>> {
        receipt_date(py, self.0.done_at())
    }
    #[getter]
    fn stat<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        optional_latin1(py, &self.0.stat)
    }
    #[getter]
    fn err<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        optional_latin1(py, &self.0.err)
    }
    /// The octets after `text:`, to the end (their coding is the PDU's data_coding).
    #[getter]
    fn text<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.0.text.as_deref().map(|t| to_bytes(py, t))
    }
    fn __repr__(&self) -> String {
        let field = |v: &Option<Vec<u8>>| {
            v.as_deref().map_or("None".to_owned(), |v| {
                format!("{:?}", String::from_utf8_lossy(v))
            })
        };
        format!(
            "DeliveryReceipt(id={}, stat={}, err={}, submit_date={}, done_date={})",
            field(&self.0.id),
            field(&self.0.stat),
            field(&self.0.err),
            field(&self.0.submit_date),
            field(&self.0.done_date),
        )
    }
}

#[pyfunction]
fn smpp_parse_delivery_receipt(data: &[u8]) -> Option<PyDeliveryReceipt> {
    parse_delivery_receipt(data).map(PyDeliveryReceipt)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTlv>()?;
    m.add_class::<PyBind>()?;
    m.add_class::<PyBindResp>()?;
    m.add_class::<PySubmitSm>()?;
    m.add_class::<PySubmitSmResp>()?;
    m.add_class::<PyDeliverSm>()?;
    m.add_class::<PyDeliverSmResp>()?;
    m.add_class::<PyDataSm>()?;
    m.add_class::<PyDataSmResp>()?;
    m.add_class::<PyEnquireLink>()?;
    m.add_class::<PyEnquireLinkResp>()?;
    m.add_class::<PyUnbind>()?;
    m.add_class::<PyUnbindResp>()?;
    m.add_class::<PyGenericNack>()?;
    m.add_class::<PyFrameReader>()?;
    m.add_class::<PyDeliveryReceipt>()?;
    m.add_function(wrap_pyfunction!(smpp_decode_pdu, m)?)?;
    m.add_function(wrap_pyfunction!(smpp_error_response, m)?)?;
    m.add_function(wrap_pyfunction!(smpp_parse_delivery_receipt, m)?)?;
    m.add(
        "SMPP_DEFAULT_MAX_COMMAND_LENGTH",
        smpp::DEFAULT_MAX_COMMAND_LENGTH,
    )?;
    m.add("SMPP_MAX_SHORT_MESSAGE", smpp::MAX_SHORT_MESSAGE)?;
    Ok(())
}
