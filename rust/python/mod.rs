//! The PyO3 module `xcat._xcat`: conversion and validation only.

mod errors;
mod kernels;

use pyo3::prelude::*;

#[pymodule(gil_used = false)]
fn _xcat(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(kernels::py_topn, m)?)?;
    m.add_function(wrap_pyfunction!(kernels::py_similarity, m)?)?;
    m.add_function(wrap_pyfunction!(kernels::py_default_threads, m)?)?;
    m.add_function(wrap_pyfunction!(kernels::py_isa, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
