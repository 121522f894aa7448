//! Process-local rayon pools, one per thread count, rebuilt after `fork`.
//!
//! A global rayon pool inherited through `fork` (PyTorch DataLoader workers,
//! multiprocessing) has no threads in the child and hangs the first parallel
//! call. Pools here are keyed by the process id, so a child builds its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::{ThreadPool, ThreadPoolBuilder};

use crate::error::{Result, XcatError};

/// Environment variable that sets the default thread count.
pub const THREADS_ENV: &str = "XCAT_NUM_THREADS";

/// Most pools kept alive at once; callers alternating between more thread
/// counts than this rebuild pools instead of accumulating idle threads.
const MAX_POOLS: usize = 4;

/// Largest thread count accepted: far beyond any useful oversubscription,
/// low enough that a typo cannot spawn thousands of OS threads.
pub const MAX_THREADS: usize = 1024;

struct Pools {
    pid: u32,
    by_threads: HashMap<usize, Arc<ThreadPool>>,
}

fn registry() -> &'static Mutex<Pools> {
    static POOLS: OnceLock<Mutex<Pools>> = OnceLock::new();
    POOLS.get_or_init(|| {
        Mutex::new(Pools {
            pid: std::process::id(),
            by_threads: HashMap::new(),
        })
    })
}

/// The default thread count: `XCAT_NUM_THREADS` if set to a positive integer,
/// else the number of CPUs available to this process.
pub fn default_threads() -> usize {
    std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&t| t > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

/// A pool with `threads` workers (`None`: [`default_threads`]).
///
/// # Errors
/// `Invalid` for `Some(0)`; `ThreadPool` if the OS refuses to spawn threads.
pub fn pool(threads: Option<usize>) -> Result<Arc<ThreadPool>> {
    let threads = match threads {
        Some(0) => return Err(XcatError::invalid("num_threads", "must be at least 1")),
        Some(t) if t > MAX_THREADS => {
            return Err(XcatError::invalid(
                "num_threads",
                format!("{t} is more than the {MAX_THREADS} supported"),
            ))
        }
        Some(t) => t,
        None => default_threads().min(MAX_THREADS),
    };
    // A poisoned lock only means another thread panicked while holding it;
    // the map itself is still consistent.
    let mut pools = registry().lock().unwrap_or_else(|e| e.into_inner());
    let pid = std::process::id();
    if pools.pid != pid {
        // Forked child: the parent's workers do not exist here. Leak the old
        // handles rather than run their destructors against missing threads.
        for (_, p) in pools.by_threads.drain() {
            std::mem::forget(p);
        }
        pools.pid = pid;
    }
    if let Some(p) = pools.by_threads.get(&threads) {
        return Ok(Arc::clone(p));
    }
    let p = Arc::new(
        ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("xcat-{i}"))
            .build()
            .map_err(|e| XcatError::ThreadPool(e.to_string()))?,
    );
    if pools.by_threads.len() >= MAX_POOLS {
        // Dropping our handle lets that pool's workers exit once idle; a call
        // still running on it holds its own `Arc`.
        if let Some(&victim) = pools.by_threads.keys().next() {
            pools.by_threads.remove(&victim);
        }
    }
    pools.by_threads.insert(threads, Arc::clone(&p));
    Ok(p)
}
