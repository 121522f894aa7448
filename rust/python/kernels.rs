//! Short wrappers: borrow the arrays, run the core with the thread detached
//! from the interpreter, convert back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use numpy::{
    PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::error::XcatError;
use crate::kernel::Isa;
use crate::parallel;
use crate::topn::{self, Csr, Matrix, Metric, Options};

/// Below this many multiply-adds a call is too short to be worth a watcher
/// thread for Ctrl-C.
const WATCH_MIN_WORK: usize = 50_000_000;

fn metric(name: &str) -> PyResult<Metric> {
    match name {
        "cosine" => Ok(Metric::Cosine),
        "dot" => Ok(Metric::Dot),
        other => Err(PyValueError::new_err(format!(
            "metric: expected 'cosine' or 'dot', got {other:?}"
        ))),
    }
}

fn isa(name: Option<&str>) -> PyResult<Option<Isa>> {
    match name {
        None => Ok(None),
        Some("avx512") => Ok(Some(Isa::Avx512)),
        Some("avx2") => Ok(Some(Isa::Avx2)),
        Some("portable") => Ok(Some(Isa::Portable)),
        Some(other) => Err(PyValueError::new_err(format!(
            "isa: expected 'avx512', 'avx2' or 'portable', got {other:?}"
        ))),
    }
}

fn matrix<'a>(arg: &'static str, a: &'a PyReadonlyArray2<'_, f32>) -> PyResult<Matrix<'a>> {
    let shape = a.shape();
    let data = a
        .as_slice()
        .map_err(|_| PyValueError::new_err(format!("{arg}: must be C-contiguous")))?;
    Ok(Matrix::new(arg, data, shape[0], shape[1])?)
}

/// Run `work` detached from the interpreter. Long calls run on a scoped
/// thread while this one polls for signals, so Ctrl-C stops the kernel at
/// its next block boundary.
fn run_interruptible<T: Send>(
    py: Python<'_>,
    work_size: usize,
    work: impl FnOnce(&AtomicBool) -> Result<T, XcatError> + Send,
) -> PyResult<T> {
    let cancel = AtomicBool::new(false);
    if work_size < WATCH_MIN_WORK {
        return Ok(py.detach(|| work(&cancel))?);
    }
    let mut signal: Option<PyErr> = None;
    let result = py.detach(|| {
        std::thread::scope(|s| {
            let (tx, rx) = mpsc::channel();
            let cancel = &cancel;
            s.spawn(move || {
                // The receiver only disappears if this scope is unwinding.
                let _ = tx.send(work(cancel));
            });
            loop {
                match rx.recv_timeout(Duration::from_millis(50)) {
                    Ok(r) => return r,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if signal.is_none() {
                            if let Err(e) = Python::attach(|py| py.check_signals()) {
                                signal = Some(e);
                                cancel.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(XcatError::ThreadPool("kernel thread panicked".into()))
                    }
                }
            }
        })
    });
    // A signal handler's exception (KeyboardInterrupt) wins over `Cancelled`.
    match (signal, result) {
        (Some(e), Err(XcatError::Cancelled)) => Err(e),
        (Some(e), Ok(_)) => Err(e),
        (_, r) => Ok(r?),
    }
}

type TopNArrays<'py> = (Bound<'py, PyArray2<i64>>, Bound<'py, PyArray2<f32>>);

/// Core of `xcat.topn`; see `python/xcat/kernels.py` for the public contract.
#[pyfunction]
#[pyo3(name = "topn", signature = (users, items, n, metric_name, exclude_indptr=None, exclude_indices=None, candidates=None, num_threads=None, block_items=None, isa_name=None))]
#[allow(clippy::too_many_arguments)]
pub fn py_topn<'py>(
    py: Python<'py>,
    users: PyReadonlyArray2<'py, f32>,
    items: PyReadonlyArray2<'py, f32>,
    n: usize,
    metric_name: &str,
    exclude_indptr: Option<PyReadonlyArray1<'py, i64>>,
    exclude_indices: Option<PyReadonlyArray1<'py, i64>>,
    candidates: Option<PyReadonlyArray1<'py, i64>>,
    num_threads: Option<usize>,
    block_items: Option<usize>,
    isa_name: Option<&str>,
) -> PyResult<TopNArrays<'py>> {
    let users_m = matrix("users", &users)?;
    let items_m = matrix("items", &items)?;
    let exclude = match (&exclude_indptr, &exclude_indices) {
        (Some(p), Some(i)) => Some(Csr {
            indptr: p
                .as_slice()
                .map_err(|_| PyValueError::new_err("exclude: indptr must be contiguous"))?,
            indices: i
                .as_slice()
                .map_err(|_| PyValueError::new_err("exclude: indices must be contiguous"))?,
        }),
        (None, None) => None,
        _ => {
            return Err(PyValueError::new_err(
                "exclude: give both indptr and indices",
            ))
        }
    };
    let cand = candidates
        .as_ref()
        .map(|c| {
            c.as_slice()
                .map_err(|_| PyValueError::new_err("candidates: must be contiguous"))
        })
        .transpose()?;
    let metric = metric(metric_name)?;
    let isa = isa(isa_name)?;
    let work = users_m.rows * items_m.rows * users_m.cols.max(1);
    let out = run_interruptible(py, work, |cancel| {
        let options = Options {
            metric,
            exclude,
            candidates: cand,
            num_threads,
            block_items,
            isa,
            cancel: Some(cancel),
        };
        topn::topn(users_m, items_m, n, &options)
    })?;
    let shape = [out.rows, out.n];
    let indices = PyArray1::from_vec(py, out.indices).reshape(shape)?;
    let scores = PyArray1::from_vec(py, out.scores).reshape(shape)?;
    Ok((indices, scores))
}

/// Core of `xcat.cosine_similarity`.
#[pyfunction]
#[pyo3(name = "similarity", signature = (a, b, metric_name, num_threads=None, isa_name=None))]
pub fn py_similarity<'py>(
    py: Python<'py>,
    a: PyReadonlyArray2<'py, f32>,
    b: PyReadonlyArray2<'py, f32>,
    metric_name: &str,
    num_threads: Option<usize>,
    isa_name: Option<&str>,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let a_m = matrix("a", &a)?;
    let b_m = matrix("b", &b)?;
    let metric = metric(metric_name)?;
    let isa = isa(isa_name)?;
    let (rows, cols) = (a_m.rows, b_m.rows);
    let out = py.detach(|| topn::similarity(a_m, b_m, metric, num_threads, isa))?;
    PyArray1::from_vec(py, out).reshape([rows, cols])
}

/// Threads a call uses by default (`XCAT_NUM_THREADS` or all CPUs).
#[pyfunction]
#[pyo3(name = "default_threads")]
pub fn py_default_threads() -> usize {
    parallel::default_threads()
}

/// The micro-kernel instruction set this CPU gets: 'avx512', 'avx2' or 'portable'.
#[pyfunction]
#[pyo3(name = "isa")]
pub fn py_isa() -> &'static str {
    match Isa::detect() {
        Isa::Avx512 => "avx512",
        Isa::Avx2 => "avx2",
        Isa::Portable => "portable",
    }
}
