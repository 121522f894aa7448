//! The one mapping from core errors to Python exceptions.

use pyo3::exceptions::{PyKeyboardInterrupt, PyMemoryError, PyRuntimeError, PyValueError};
use pyo3::PyErr;

use crate::error::XcatError;

impl From<XcatError> for PyErr {
    fn from(e: XcatError) -> PyErr {
        match e {
            XcatError::Invalid { .. } | XcatError::NonFinite { .. } | XcatError::ScoreOverflow => {
                PyValueError::new_err(e.to_string())
            }
            XcatError::Cancelled => PyKeyboardInterrupt::new_err("xcat: interrupted"),
            XcatError::OutOfMemory(_) => PyMemoryError::new_err(e.to_string()),
            XcatError::ThreadPool(_) => PyRuntimeError::new_err(e.to_string()),
        }
    }
}
