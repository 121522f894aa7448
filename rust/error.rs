//! The one error type of the core. No Python here: the binding layer maps it.

use thiserror::Error;

/// Everything the core can reject or stop with.
///
/// `Invalid` errors always name the argument (`users`, `items`, `exclude`,
/// `candidates`, `n`, ...) so the message makes sense to a caller who never
/// sees the Rust side.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum XcatError {
    /// An argument has the wrong shape or an out-of-range / malformed value.
    #[error("{arg}: {msg}")]
    Invalid { arg: &'static str, msg: String },
    /// A NaN or infinity in an input matrix.
    #[error("{arg}: row {row} contains NaN or infinity; scores would be undefined")]
    NonFinite { arg: &'static str, row: usize },
    /// Scores beyond the float32 range (dot products of huge vectors).
    #[error(
        "scores overflow float32 (|u.v| above 3.4e38, or inf - inf) with metric='dot': \
         scale users or items down, or use metric='cosine'"
    )]
    ScoreOverflow,
    /// The caller asked the computation to stop (Ctrl-C in Python).
    #[error("interrupted")]
    Cancelled,
    /// An output allocation failed.
    #[error("could not allocate {0} bytes for the result")]
    OutOfMemory(usize),
    /// The thread pool could not be created.
    #[error("thread pool: {0}")]
    ThreadPool(String),
}

impl XcatError {
    pub(crate) fn invalid(arg: &'static str, msg: impl Into<String>) -> Self {
        XcatError::Invalid {
            arg,
            msg: msg.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, XcatError>;
