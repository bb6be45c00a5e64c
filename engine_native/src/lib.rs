//! Septet's native core.
//!
//! Every module here is pure Rust working on bytes and strings; none of them
//! knows Python, so `cargo test` runs without an interpreter. The `python`
//! module at the bottom of this file (built only with the `python` feature,
//! which maturin turns on) is the one place with pyo3 glue.

pub mod error;

pub use error::{CodecError, ErrorKind};

#[cfg(feature = "python")]
mod python {
    use pyo3::prelude::*;

    // ===== codec glue (PDU, GSM-7, UCS-2, reassembly) =====
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
    pub(crate) fn register_signing(_m: &Bound<'_, PyModule>) -> PyResult<()> {
        Ok(())
    }
    // ===== end signing glue =====

    #[pymodule]
    #[pyo3(name = "_native")]
    fn native_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
        register_codec(m)?;
        register_otp(m)?;
        register_signing(m)?;
        Ok(())
    }
}
