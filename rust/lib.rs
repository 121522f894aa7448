//! xcat core: exact batched cosine / dot similarity and parallel top-N.
//!
//! Plain Rust, no Python: slices in, results out. The `python` feature adds
//! the PyO3 binding in `python/`, which only converts and validates.

pub mod error;
pub mod kernel;
pub mod parallel;
pub mod select;
pub mod topn;

pub use error::{Result, XcatError};
pub use kernel::Isa;
pub use topn::{similarity, topn, Csr, Matrix, Metric, Options, TopN};

#[cfg(feature = "python")]
mod python;
