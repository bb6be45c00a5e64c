//! Septet's native core.
//!
//! Every module here is pure Rust working on bytes and strings; none of them
//! knows Python, so `cargo test` runs without an interpreter. The `python`
//! module at the bottom of this file (built only with the `python` feature,
//! which maturin turns on) is the one place with pyo3 glue.

pub mod error;
pub mod gsm7;
mod gsm7_tables;
pub mod signing;
pub mod ucs2;
pub mod sms;

pub use error::{CodecError, ErrorKind};

#[cfg(feature = "python")]
mod python {
    use pyo3::prelude::*;

    // ===== gsm7 glue (GSM-7 and UCS-2 text functions) =====
    pub(crate) fn register_gsm7(_m: &Bound<'_, PyModule>) -> PyResult<()> {
        Ok(())
    }
    // ===== end gsm7 glue =====

    // ===== codec glue (PDU decoding, reassembly) =====
    pub(crate) fn register_codec(_m: &Bound<'_, PyModule>) -> PyResult<()> {
        Ok(())
    }
    // ===== end codec glue =====

    // ===== otp glue =====
    pub(crate) fn register_otp(_m: &Bound<'_, PyModule>) -> PyResult<()> {
        Ok(())
    }
    // ===== end otp glue =====

    // ===== signing glue =====
    pub(crate) fn register_signing(m: &Bound<'_, PyModule>) -> PyResult<()> {
        signing_glue::register(m)
    }

    /// Thin wrappers over `crate::signing`; `engine/signing.py` is the public face.
    mod signing_glue {
        use pyo3::exceptions::PyValueError;
        use pyo3::prelude::*;
        use pyo3::pybacked::PyBackedBytes;
        use pyo3::types::{PyBytes, PyString};

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
        Ok(())
    }
}
