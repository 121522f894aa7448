//! Exact top-n by cosine or dot similarity, blocked so that the `[U, I]`
//! score matrix is never held: item blocks of a few hundred rows stay in L2,
//! each register tile's scores go straight to the per-user selection, and
//! parallel tasks cover (user group x item range) with their own reservoirs,
//! merged at the end.

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use crate::error::{Result, XcatError};
use crate::kernel::{self, Isa, Micro, Tile, MAX_WIDTH, NR};
use crate::parallel;
use crate::select::{DenseSink, Excluded, Sink, TopStates};

/// Similarity between a user row `u` and an item row `v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// `u.v / (|u| |v|)`, clamped to `[-1, 1]`; a zero row scores 0.0
    /// against everything. Scale-invariant over the whole finite float32
    /// range.
    Cosine,
    /// `u.v`.
    Dot,
}

/// A borrowed row-major (C-contiguous) matrix.
#[derive(Debug, Clone, Copy)]
pub struct Matrix<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
}

impl<'a> Matrix<'a> {
    /// # Errors
    /// `Invalid` naming `arg` if `data.len() != rows * cols`.
    pub fn new(arg: &'static str, data: &'a [f32], rows: usize, cols: usize) -> Result<Self> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(XcatError::invalid(
                arg,
                format!(
                    "buffer of {} values does not hold {rows} x {cols}",
                    data.len()
                ),
            ));
        }
        Ok(Matrix { data, rows, cols })
    }

    #[inline]
    fn row(&self, r: usize) -> &'a [f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }
}

/// Items each user must not get, in CSR form: user `u`'s items are
/// `indices[indptr[u]..indptr[u + 1]]`.
#[derive(Debug, Clone, Copy)]
pub struct Csr<'a> {
    pub indptr: &'a [i64],
    pub indices: &'a [i64],
}

/// Options of [`topn`]. `Default` gives cosine, no filters, default threads.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    pub metric: Metric,
    pub exclude: Option<Csr<'a>>,
    /// Allowed item rows; results still index rows of `items`.
    pub candidates: Option<&'a [i64]>,
    /// Worker threads (`None`: `XCAT_NUM_THREADS` or all CPUs).
    pub num_threads: Option<usize>,
    /// Items per block (`None`: sized to L2). Results never depend on it.
    pub block_items: Option<usize>,
    /// Instruction set (`None`: the best available). Results never depend on it.
    pub isa: Option<Isa>,
    /// Checked between blocks; when set, the call returns `Cancelled`.
    pub cancel: Option<&'a AtomicBool>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            metric: Metric::Cosine,
            exclude: None,
            candidates: None,
            num_threads: None,
            block_items: None,
            isa: None,
            cancel: None,
        }
    }
}

/// Result of [`topn`]: `[rows, n]` row-major, each row by descending score,
/// ties to the lower item index, padded with `-1` / `-inf`.
#[derive(Debug, Clone, PartialEq)]
pub struct TopN {
    pub indices: Vec<i64>,
    pub scores: Vec<f32>,
    pub rows: usize,
    pub n: usize,
}

/// Users packed into panels `[panels][d][mr]`, pre-scaled for cosine.
struct PackedUsers {
    data: Vec<f32>,
    mr: usize,
    panels: usize,
    d: usize,
}

impl PackedUsers {
    fn new(
        users: &Matrix<'_>,
        arg: &'static str,
        metric: Metric,
        isa: Isa,
        mr: usize,
    ) -> Result<Self> {
        let d = users.cols;
        let panels = users.rows.div_ceil(mr);
        let mut data = vec![0f32; panels * d * mr];
        let rows: Vec<*const f32> = (0..users.rows).map(|u| users.row(u).as_ptr()).collect();
        let mut scales = vec![0f32; users.rows];
        let mut shifts = vec![0i16; users.rows];
        let cosine = metric == Metric::Cosine;
        // SAFETY: `isa` was checked by `resolve_isa`; every pointer is a row of
        // `users`, `d` long; `scales` and `shifts` are as long as `rows`.
        unsafe { kernel::row_scales(isa, cosine, &rows, d, &mut scales, &mut shifts) }
            .map_err(|u| XcatError::NonFinite { arg, row: u })?;
        for (u, (&scale, &shift)) in scales.iter().zip(&shifts).enumerate() {
            let (p, i) = (u / mr, u % mr);
            let panel = &mut data[p * d * mr..(p + 1) * d * mr];
            if shift == 0 {
                for (k, &x) in users.row(u).iter().enumerate() {
                    panel[k * mr + i] = x * scale;
                }
            } else {
                // A row far from unit norm: its max-abs is brought into
                // [1, 2) first, so `scale` stays a normal float32.
                let pw = kernel::pow2(shift);
                for (k, &x) in users.row(u).iter().enumerate() {
                    panel[k * mr + i] = kernel::shifted(x, pw) * scale;
                }
            }
        }
        Ok(PackedUsers {
            data,
            mr,
            panels,
            d,
        })
    }

    fn panel(&self, p: usize) -> &[f32] {
        &self.data[p * self.d * self.mr..(p + 1) * self.d * self.mr]
    }
}

/// The item rows to scan: all of them, or the sorted candidates.
#[derive(Clone, Copy)]
enum ItemSet<'a> {
    All(usize),
    Subset(&'a [u32]),
}

impl ItemSet<'_> {
    fn len(&self) -> usize {
        match self {
            ItemSet::All(n) => *n,
            ItemSet::Subset(c) => c.len(),
        }
    }
    #[inline]
    fn id(&self, pos: usize) -> u32 {
        match self {
            ItemSet::All(_) => pos as u32,
            ItemSet::Subset(c) => c[pos],
        }
    }
}

/// How many rows ahead of the block preparation to prefetch.
const PREFETCH_ROWS: usize = 16;

/// Everything a scan task needs, shared read-only.
struct Plan<'a> {
    items: Matrix<'a>,
    /// Scales and shifts per eligible position, when precomputed; else
    /// computed per block.
    scales: Option<(Vec<f32>, Vec<i16>)>,
    /// Argument name of `items` in errors.
    items_arg: &'static str,
    set: ItemSet<'a>,
    users: &'a PackedUsers,
    metric: Metric,
    isa: Isa,
    micro: Micro,
    block: usize,
    cancel: Option<&'a AtomicBool>,
}

impl Plan<'_> {
    /// Score scales and shifts of the item rows at `rows` (row numbers
    /// `ids`), as [`kernel::row_scales`].
    ///
    /// # Errors
    /// `NonFinite` naming the first row with a NaN or infinity.
    fn row_scales(
        &self,
        rows: &[*const f32],
        ids: &[u32],
        scales: &mut [f32],
        shifts: &mut [i16],
    ) -> Result<()> {
        let cosine = self.metric == Metric::Cosine;
        // SAFETY: `isa` was checked by `resolve_isa`; every pointer is a row
        // of `items`, `items.cols` long; `scales` and `shifts` are as long as
        // `rows`.
        unsafe { kernel::row_scales(self.isa, cosine, rows, self.items.cols, scales, shifts) }
            .map_err(|j| XcatError::NonFinite {
                arg: self.items_arg,
                row: ids[j] as usize,
            })
    }

    /// Scales of every eligible item, computed once in parallel: worth it
    /// when several user groups would otherwise each compute them again.
    fn precompute_scales(&mut self) -> Result<()> {
        const CHUNK: usize = 4096;
        let mut scales = vec![0f32; self.set.len()];
        let mut shifts = vec![0i16; self.set.len()];
        scales
            .par_chunks_mut(CHUNK)
            .zip(shifts.par_chunks_mut(CHUNK))
            .enumerate()
            .try_for_each(|(c, (out, sh))| {
                let ids: Vec<u32> = (0..out.len()).map(|j| self.set.id(c * CHUNK + j)).collect();
                let rows: Vec<*const f32> = ids
                    .iter()
                    .map(|&id| self.items.row(id as usize).as_ptr())
                    .collect();
                self.row_scales(&rows, &ids, out, sh)
            })?;
        self.scales = Some((scales, shifts));
        Ok(())
    }

    /// Scan item positions `range` for user panels `panels` into `sink`
    /// (whose lane 0 is the first user of `panels.start`).
    fn scan<S: Sink>(
        &self,
        panels: std::ops::Range<usize>,
        range: std::ops::Range<usize>,
        sink: &mut S,
    ) -> Result<()> {
        let d = self.items.cols;
        let mr = self.micro.panel;
        let zeros = vec![0f32; d.max(1)];
        let width = self.micro.width;
        let padded = self.block.div_ceil(width) * width + MAX_WIDTH;
        let mut rows: Vec<*const f32> = vec![zeros.as_ptr(); padded];
        let mut scale = vec![0f32; padded];
        let mut shift = vec![0i16; padded];
        let mut ids = vec![0u32; padded];
        // Shifted copies of the block's rows far from unit norm (cosine);
        // allocated on first need, never reallocated after.
        let mut shift_buf: Vec<f32> = Vec::new();
        let mut start = range.start;
        while start < range.end {
            if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(XcatError::Cancelled);
            }
            let len = self.block.min(range.end - start);
            for j in 0..len {
                // The first touch of each row streams it from memory: ask
                // for rows a few KiB ahead so the loads overlap.
                if start + j + PREFETCH_ROWS < range.end {
                    let ahead = self.set.id(start + j + PREFETCH_ROWS) as usize;
                    kernel::prefetch(&self.items.data[ahead * d..(ahead + 1) * d]);
                }
                let id = self.set.id(start + j);
                rows[j] = self.items.row(id as usize).as_ptr();
                ids[j] = id;
            }
            match &self.scales {
                Some((all, shifts)) => {
                    scale[..len].copy_from_slice(&all[start..start + len]);
                    shift[..len].copy_from_slice(&shifts[start..start + len]);
                }
                None => self.row_scales(
                    &rows[..len],
                    &ids[..len],
                    &mut scale[..len],
                    &mut shift[..len],
                )?,
            }
            if shift[..len].iter().any(|&s| s != 0) {
                self.shift_rows(&mut rows[..len], &shift[..len], &mut shift_buf);
            }
            rows[len..len.div_ceil(width) * width].fill(zeros.as_ptr());
            // While this block is scored, pull the next one toward the
            // cache a few rows per tile, so its first touch does not stall.
            let next = (start + len)..(start + len + self.block).min(range.end);
            let tiles = panels.len() * len.div_ceil(width);
            let per_tile = if panels.len() > 1 {
                next.len().div_ceil(tiles.max(1))
            } else {
                0 // one panel is memory-bound: the preparation's prefetch does better
            };
            let mut cursor = next.start;
            for p in panels.clone() {
                let panel = self.users.panel(p);
                let lane0 = (p - panels.start) * mr;
                for q in (0..len).step_by(width) {
                    for pos in cursor..(cursor + per_tile).min(next.end) {
                        let id = self.set.id(pos) as usize;
                        kernel::prefetch(&self.items.data[id * d..(id + 1) * d]);
                    }
                    cursor = (cursor + per_tile).min(next.end);
                    let tile = Tile {
                        panel,
                        rows: &rows[q..q + width],
                        d,
                        scale: &scale[q..q + width],
                        ids: &ids[q..q + width],
                        n_items: (len - q).min(width),
                        lane0,
                    };
                    // SAFETY: `isa` was checked by `resolve_isa`; the panel
                    // holds d * mr values; each row pointer is a live row of
                    // `items` or `zeros`, all of length d.
                    unsafe { kernel::run_tile(self.micro, &tile, sink) };
                }
            }
            start += len;
        }
        Ok(())
    }

    /// Point each row with a non-zero shift at a copy of it multiplied by
    /// `2**shift` in `buf` (sized on first use to a whole block).
    #[cold]
    fn shift_rows(&self, rows: &mut [*const f32], shifts: &[i16], buf: &mut Vec<f32>) {
        let d = self.items.cols;
        if buf.is_empty() {
            buf.resize(self.block * d, 0.0);
        }
        for (j, (&p, &s)) in rows.iter().zip(shifts).enumerate() {
            if s != 0 {
                let pw = kernel::pow2(s);
                // SAFETY: `p` is a row of `items` (not yet redirected), `d` long.
                let row = unsafe { std::slice::from_raw_parts(p, d) };
                for (o, &x) in buf[j * d..(j + 1) * d].iter_mut().zip(row) {
                    *o = kernel::shifted(x, pw);
                }
            }
        }
        // Pointers taken after every write, from one shared borrow.
        let base = buf.as_ptr();
        for (j, (r, &s)) in rows.iter_mut().zip(shifts).enumerate() {
            if s != 0 {
                // SAFETY: j < rows.len() <= block, so j * d is inside `buf`.
                *r = unsafe { base.add(j * d) };
            }
        }
    }
}

fn resolve_isa(isa: Option<Isa>) -> Result<Isa> {
    match isa {
        None => Ok(Isa::detect()),
        Some(i) if i.supported() => Ok(i),
        Some(i) => Err(XcatError::invalid(
            "isa",
            format!("{i:?} is not supported by this CPU"),
        )),
    }
}

/// Items per block: about 96 KiB of rows so a block stays in L2 while every
/// user panel passes over it.
fn block_items(requested: Option<usize>, d: usize) -> Result<usize> {
    match requested {
        Some(0) => Err(XcatError::invalid("block_items", "must be at least 1")),
        Some(b) => Ok(b),
        None => Ok(((96 * 1024) / (4 * d.max(1))).clamp(4 * NR, 2048) / NR * NR),
    }
}

fn check_exclude(ex: &Csr<'_>, users: usize, items: usize) -> Result<Excluded> {
    if ex.indptr.len() != users + 1 {
        return Err(XcatError::invalid(
            "exclude",
            format!(
                "has {} rows but users has {users}",
                ex.indptr.len().saturating_sub(1)
            ),
        ));
    }
    if ex.indptr[0] != 0 || ex.indptr[users] != ex.indices.len() as i64 {
        return Err(XcatError::invalid(
            "exclude",
            format!(
                "indptr must start at 0 and end at len(indices) = {}",
                ex.indices.len()
            ),
        ));
    }
    let mut indptr = Vec::with_capacity(users + 1);
    let mut out = Vec::with_capacity(ex.indices.len());
    indptr.push(0usize);
    for u in 0..users {
        let (a, b) = (ex.indptr[u], ex.indptr[u + 1]);
        if b < a || b > ex.indptr[users] {
            return Err(XcatError::invalid(
                "exclude",
                format!("indptr must be non-decreasing; it is not at row {u}"),
            ));
        }
        let row_start = out.len();
        for &i in &ex.indices[a as usize..b as usize] {
            if i < 0 || i as u64 >= items as u64 {
                return Err(XcatError::invalid(
                    "exclude",
                    format!("row {u} has item {i}, outside 0..{items}"),
                ));
            }
            out.push(i as u32);
        }
        out[row_start..].sort_unstable();
        indptr.push(out.len());
    }
    Ok(Excluded { indptr, items: out })
}

fn check_candidates(c: &[i64], items: usize) -> Result<Vec<u32>> {
    let mut out = Vec::with_capacity(c.len());
    for &i in c {
        if i < 0 || i as u64 >= items as u64 {
            return Err(XcatError::invalid(
                "candidates",
                format!("item {i} is outside 0..{items}"),
            ));
        }
        out.push(i as u32);
    }
    out.sort_unstable();
    if let Some(w) = out.windows(2).find(|w| w[0] == w[1]) {
        return Err(XcatError::invalid(
            "candidates",
            format!("item {} appears more than once", w[0]),
        ));
    }
    Ok(out)
}

fn check_shapes(
    users: &Matrix<'_>,
    items: &Matrix<'_>,
    (users_arg, items_arg): (&'static str, &'static str),
) -> Result<()> {
    if users.cols != items.cols {
        return Err(XcatError::invalid(
            items_arg,
            format!("has d={} but {users_arg} has d={}", items.cols, users.cols),
        ));
    }
    if items.rows > u32::MAX as usize {
        return Err(XcatError::invalid(
            items_arg,
            format!(
                "has {} rows; at most {} are supported",
                items.rows,
                u32::MAX
            ),
        ));
    }
    Ok(())
}

/// `rows * cols` output cells, or an error naming `arg` on overflow.
fn output_cells(rows: usize, cols: usize, arg: &'static str) -> Result<usize> {
    rows.checked_mul(cols)
        .filter(|&c| c <= isize::MAX as usize / 8)
        .ok_or_else(|| XcatError::invalid(arg, format!("a {rows} x {cols} result is too large")))
}

/// A vector of `len` copies of `value`, or `OutOfMemory` instead of an abort.
fn filled<T: Clone>(len: usize, value: T) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| XcatError::OutOfMemory(len * std::mem::size_of::<T>()))?;
    v.resize(len, value);
    Ok(v)
}

/// Largest `|score|` reported: cosine is clamped to `[-1, 1]` (float32
/// rounding can give 1.0000001 for parallel rows); dot is not clamped.
fn score_bound(metric: Metric) -> f32 {
    match metric {
        Metric::Cosine => 1.0,
        Metric::Dot => f32::INFINITY,
    }
}

/// Split the work into (user-panel group) x (item range) tasks, about four
/// per thread for load balance.
///
/// User groups come first: every user's reservoir then sees the whole item
/// stream, so its threshold rises once instead of once per range (far fewer
/// inserts at large n), and there is one reservoir per user, not one per
/// range. A group keeps at least `MIN_GROUP_PANELS` panels so the similarity
/// work per item read (about 2 x group size FLOP per 4 bytes) stays well
/// above what memory bandwidth allows. Small batches split the items instead.
fn split(panels: usize, items: usize, block: usize, threads: usize) -> (usize, usize) {
    const MIN_GROUP_PANELS: usize = 8;
    let want = 4 * threads;
    let blocks = items.div_ceil(block).max(1);
    let groups = (panels / MIN_GROUP_PANELS).clamp(1, want);
    let item_chunks = want.div_ceil(groups).min(blocks);
    (groups, item_chunks)
}

fn ranges(total: usize, parts: usize, align: usize) -> Vec<std::ops::Range<usize>> {
    let units = total.div_ceil(align);
    (0..parts)
        .map(|k| {
            let a = (units * k / parts * align).min(total);
            let b = (units * (k + 1) / parts * align).min(total);
            a..b
        })
        .filter(|r| !r.is_empty())
        .collect()
}

/// Exact top-`n` items for each user by `options.metric`.
///
/// `users` is `[U, d]`, `items` is `[I, d]`, both row-major float32. Returns
/// `[U, n]` indices (rows of `items`) and scores, each row sorted by
/// descending score with ties to the lower index, padded with `-1` / `-inf`
/// when fewer than `n` items are eligible. Results are identical for every
/// thread count, block size and instruction set.
///
/// Cosine scores are clamped to `[-1, 1]` as they enter the selection (in the
/// insert path, which only scores above a user's threshold reach), so the
/// order and the tie rule hold on the reported, clamped scores. Any finite
/// row is accepted: rows far from unit norm are rescaled by a power of two
/// (see [`kernel::row_scales`]), which changes no rounding, so `r` and
/// `2**k * r` score the same wherever both are exact in float32.
///
/// Extra memory: the packed users (`U x d`), and per task `U_group x 2n`
/// reservoir entries plus one block of row pointers (and, for cosine rows
/// outside `[2**-64, 2**64]` in norm, one block of shifted rows); never
/// `U x I`.
///
/// # Errors
/// `Invalid` (naming the argument) for mismatched `d`, more than `u32::MAX`
/// items, malformed `exclude` or `candidates`, zero threads; `NonFinite` for a
/// NaN or infinity in `users` or `items`; `ScoreOverflow` for dot scores
/// beyond float32; `Cancelled` if `options.cancel` was set during the call.
pub fn topn(users: Matrix<'_>, items: Matrix<'_>, n: usize, options: &Options<'_>) -> Result<TopN> {
    check_shapes(&users, &items, ("users", "items"))?;
    let isa = resolve_isa(options.isa)?;
    let block = block_items(options.block_items, items.cols)?;
    let excluded = options
        .exclude
        .map(|e| check_exclude(&e, users.rows, items.rows))
        .transpose()?;
    let candidates = options
        .candidates
        .map(|c| check_candidates(c, items.rows))
        .transpose()?;
    let pool = parallel::pool(options.num_threads)?;
    let micro = Micro::choose(isa, users.rows);
    let mr = micro.panel;
    let packed = PackedUsers::new(&users, "users", options.metric, isa, mr)?;

    let u = users.rows;
    let cells = output_cells(u, n, "n")?;
    let mut out = TopN {
        indices: filled(cells, -1i64)?,
        scores: filled(cells, f32::NEG_INFINITY)?,
        rows: u,
        n,
    };
    let set = match &candidates {
        Some(c) => ItemSet::Subset(c),
        None => ItemSet::All(items.rows),
    };
    let eligible = set.len();
    if n == 0 || u == 0 || eligible == 0 {
        // Still validate every item row, as a call with work would.
        if eligible > 0 && u == 0 {
            let rows: Vec<*const f32> = (0..items.rows).map(|r| items.row(r).as_ptr()).collect();
            let mut scales = vec![0f32; items.rows];
            let mut shifts = vec![0i16; items.rows];
            // SAFETY: as in `PackedUsers::new`, for the rows of `items`.
            unsafe { kernel::row_scales(isa, false, &rows, items.cols, &mut scales, &mut shifts) }
                .map_err(|r| XcatError::NonFinite {
                    arg: "items",
                    row: r,
                })?;
        }
        return Ok(out);
    }

    let mut plan = Plan {
        items,
        scales: None,
        items_arg: "items",
        set,
        users: &packed,
        metric: options.metric,
        isa,
        micro,
        block,
        cancel: options.cancel,
    };
    let (groups, chunks) = split(packed.panels, eligible, block, pool.current_num_threads());
    let panel_groups = ranges(packed.panels, groups, 1);
    let item_ranges = ranges(eligible, chunks, block);
    let ex = excluded.as_ref();
    let bound = score_bound(options.metric);
    if panel_groups.len() > 1 {
        pool.install(|| plan.precompute_scales())?;
    }
    let plan = plan;

    let states: Result<Vec<TopStates<'_>>> = pool.install(|| {
        panel_groups
            .par_iter()
            .map(|pg| {
                let user0 = pg.start * mr;
                let users_here = (pg.end * mr).min(u) - user0;
                let lanes = pg.len() * mr;
                item_ranges
                    .par_iter()
                    .map(|r| {
                        let mut st =
                            TopStates::new(n, eligible, user0, users_here, lanes, ex, bound);
                        plan.scan(pg.clone(), r.clone(), &mut st)?;
                        Ok(st)
                    })
                    .try_reduce_with(|a, b| Ok(a.merge(b)))
                    .expect("at least one item range")
            })
            .collect()
    });
    let states = states?;
    if states.iter().any(|s| s.overflowed) {
        return Err(XcatError::ScoreOverflow);
    }

    // Each group owns a contiguous band of output rows.
    let mut idx_rest: &mut [i64] = &mut out.indices;
    let mut sc_rest: &mut [f32] = &mut out.scores;
    let mut bands = Vec::with_capacity(states.len());
    for st in states {
        let (i, ir) = idx_rest.split_at_mut(st.users() * n);
        let (s, sr) = sc_rest.split_at_mut(st.users() * n);
        idx_rest = ir;
        sc_rest = sr;
        bands.push((st, i, s));
    }
    pool.install(|| {
        bands
            .into_par_iter()
            .for_each(|(st, i, s)| st.finish_into(n, i, s));
    });
    Ok(out)
}

/// Dense `[A, B]` similarity matrix (row-major), with exactly the scores
/// [`topn`] would report (cosine clamped to `[-1, 1]` the same way). For
/// small inputs: it holds all `A x B` scores.
///
/// # Errors
/// As [`topn`] for shapes, non-finite values and threads.
pub fn similarity(
    a: Matrix<'_>,
    b: Matrix<'_>,
    metric: Metric,
    num_threads: Option<usize>,
    isa: Option<Isa>,
) -> Result<Vec<f32>> {
    check_shapes(&a, &b, ("a", "b"))?;
    let isa = resolve_isa(isa)?;
    let pool = parallel::pool(num_threads)?;
    let micro = Micro::choose(isa, a.rows);
    let mr = micro.panel;
    let packed = PackedUsers::new(&a, "a", metric, isa, mr)?;
    let mut out = filled(output_cells(a.rows, b.rows, "b")?, 0f32)?;
    let block = block_items(None, b.cols)?;
    let plan = Plan {
        items: b,
        scales: None,
        items_arg: "b",
        set: ItemSet::All(b.rows),
        users: &packed,
        metric,
        isa,
        micro,
        block,
        cancel: None,
    };
    if a.rows == 0 || b.rows == 0 {
        return Ok(out);
    }
    let result: Result<()> = pool.install(|| {
        out.par_chunks_mut(mr * b.rows)
            .enumerate()
            .try_for_each(|(p, rows)| {
                let users_here = rows.len() / b.rows;
                let mut sink = DenseSink::new(rows, b.rows, users_here, mr, score_bound(metric));
                plan.scan(p..p + 1, 0..b.rows, &mut sink)?;
                if sink.overflowed {
                    return Err(XcatError::ScoreOverflow);
                }
                Ok(())
            })
    });
    result?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Independent reference: f64 scores, full sort by (score desc, index asc).
    fn reference(
        users: &[f32],
        items: &[f32],
        d: usize,
        n: usize,
        metric: Metric,
        allowed: impl Fn(usize, usize) -> bool,
    ) -> Vec<Vec<(i64, f64)>> {
        let nu = users.len().checked_div(d).unwrap_or(0);
        let ni = items.len().checked_div(d).unwrap_or(0);
        let norm = |r: &[f32]| r.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
        (0..nu)
            .map(|u| {
                let ur = &users[u * d..(u + 1) * d];
                let mut all: Vec<(i64, f64)> = (0..ni)
                    .filter(|&i| allowed(u, i))
                    .map(|i| {
                        let ir = &items[i * d..(i + 1) * d];
                        let dot: f64 = ur
                            .iter()
                            .zip(ir)
                            .map(|(&a, &b)| f64::from(a) * f64::from(b))
                            .sum();
                        let s = match metric {
                            Metric::Dot => dot,
                            Metric::Cosine => {
                                let den = norm(ur) * norm(ir);
                                if den == 0.0 {
                                    0.0
                                } else {
                                    dot / den
                                }
                            }
                        };
                        (i as i64, s)
                    })
                    .collect();
                all.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then(a.0.cmp(&b.0)));
                all.truncate(n);
                all
            })
            .collect()
    }

    fn run(users: &[f32], items: &[f32], d: usize, n: usize, opts: &Options<'_>) -> TopN {
        let nu = users.len().checked_div(d).unwrap_or(0);
        let ni = items.len().checked_div(d).unwrap_or(0);
        topn(
            Matrix::new("users", users, nu, d).unwrap(),
            Matrix::new("items", items, ni, d).unwrap(),
            n,
            opts,
        )
        .unwrap()
    }

    /// Small integers: every dot product is exact in f32, so dot-metric
    /// results must equal the reference exactly, indices included.
    fn small_ints(len: usize) -> impl Strategy<Value = Vec<f32>> {
        prop::collection::vec((-3i8..=3).prop_map(f32::from), len)
    }

    fn isas() -> Vec<Isa> {
        [Isa::Avx512, Isa::Avx2, Isa::Portable]
            .into_iter()
            .filter(|i| i.supported())
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn dot_matches_reference_exactly(
            (d, users, items) in (1usize..9, 1usize..40, 0usize..70)
                .prop_flat_map(|(d, nu, ni)| (Just(d), small_ints(nu * d), small_ints(ni * d))),
            n in 0usize..12,
        ) {
            let (nu, ni) = (users.len() / d, items.len() / d);
            let _ = ni;
            let expect = reference(&users, &items, d, n, Metric::Dot, |_, _| true);
            for isa in isas() {
                let got = run(&users, &items, d, n, &Options { metric: Metric::Dot, isa: Some(isa), block_items: Some(13), ..Default::default() });
                for u in 0..nu {
                    for k in 0..n {
                        let (gi, gs) = (got.indices[u * n + k], got.scores[u * n + k]);
                        match expect[u].get(k) {
                            Some(&(ei, es)) => { prop_assert_eq!(gi, ei); prop_assert_eq!(f64::from(gs), es); }
                            None => { prop_assert_eq!(gi, -1); prop_assert_eq!(gs, f32::NEG_INFINITY); }
                        }
                    }
                }
            }
        }

        #[test]
        fn independent_of_threads_blocks_and_isa(
            users in small_ints(37 * 5),
            items in prop::collection::vec(-1.0f32..1.0, 150 * 5),
            n in 1usize..20,
            block in 1usize..64,
        ) {
            let d = 5;
            let base = run(&users, &items, d, n, &Options { num_threads: Some(1), ..Default::default() });
            for isa in isas() {
                for threads in [1, 2, 3] {
                    let got = run(&users, &items, d, n, &Options { num_threads: Some(threads), block_items: Some(block), isa: Some(isa), ..Default::default() });
                    prop_assert_eq!(&got, &base);
                }
            }
        }
    }

    #[test]
    fn many_users_in_several_groups_match_reference() {
        // 700 users are 22 panels of 32: several user groups, precomputed
        // item scales, item ranges per group; results must not change.
        let d = 3;
        let users: Vec<f32> = (0..700 * d)
            .map(|i| ((i * 7919) % 7) as f32 - 3.0)
            .collect();
        let items: Vec<f32> = (0..500 * d)
            .map(|i| ((i * 104_729) % 5) as f32 - 2.0)
            .collect();
        for &(metric, n) in &[(Metric::Dot, 9usize), (Metric::Cosine, 4)] {
            let expect = reference(&users, &items, d, n, metric, |_, _| true);
            for threads in [1, 2, 5] {
                let got = run(
                    &users,
                    &items,
                    d,
                    n,
                    &Options {
                        metric,
                        num_threads: Some(threads),
                        block_items: Some(24),
                        ..Default::default()
                    },
                );
                for u in 0..700 {
                    for k in 0..n {
                        let (ei, es) = expect[u][k];
                        assert!((f64::from(got.scores[u * n + k]) - es).abs() < 1e-6);
                        if metric == Metric::Dot {
                            assert_eq!(got.indices[u * n + k], ei, "user {u} rank {k}");
                        }
                    }
                }
                if threads > 1 {
                    let one = run(
                        &users,
                        &items,
                        d,
                        n,
                        &Options {
                            metric,
                            num_threads: Some(1),
                            ..Default::default()
                        },
                    );
                    assert_eq!(got, one);
                }
            }
        }
    }

    #[test]
    fn cosine_close_to_reference_with_zero_rows_and_ties() {
        let d = 3;
        // Item 1 duplicates item 0, item 3 is a zero row, items 4 and 5 are
        // parallel (equal cosine): ties must go to the lower index.
        let items = [
            1.0, 2.0, 2.0, 1.0, 2.0, 2.0, -1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0, 1.0, 6.0, 0.0,
            2.0,
        ];
        let users = [1.0, 2.0, 2.0, 0.0, 0.0, 0.0, 3.0, 0.1, 1.0];
        let n = 6;
        let got = run(&users, &items, d, n, &Options::default());
        let expect = reference(&users, &items, d, n, Metric::Cosine, |_, _| true);
        for u in 0..3 {
            for k in 0..n {
                let (ei, es) = expect[u][k];
                assert!(
                    (f64::from(got.scores[u * n + k]) - es).abs() < 1e-6,
                    "user {u} rank {k}"
                );
                // Scores of duplicate / parallel rows are equal in f32 too.
                assert_eq!(got.indices[u * n + k], ei, "user {u} rank {k}: {got:?}");
            }
        }
        // The zero user scores 0.0 everywhere and so returns items in index order.
        assert_eq!(&got.indices[n..2 * n], &[0, 1, 2, 3, 4, 5]);
        assert!(got.scores[n..2 * n].iter().all(|&s| s == 0.0));
    }

    #[test]
    fn exclude_and_candidates_filter_exactly() {
        let d = 2;
        let items: Vec<f32> = (0..40).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
        let users = [1.0, 0.5, -1.0, 2.0];
        let indptr = [0i64, 3, 4];
        let excl = [4i64, 0, 9, 4];
        let cand = [19i64, 0, 4, 7, 9, 12, 2, 15, 3];
        let opts = Options {
            metric: Metric::Dot,
            exclude: Some(Csr {
                indptr: &indptr,
                indices: &excl,
            }),
            candidates: Some(&cand),
            block_items: Some(2),
            ..Default::default()
        };
        let n = 12;
        let got = run(&users, &items, d, n, &opts);
        let banned = |u: usize, i: usize| {
            excl[indptr[u] as usize..indptr[u + 1] as usize].contains(&(i as i64))
        };
        let expect = reference(&users, &items, d, n, Metric::Dot, |u, i| {
            cand.contains(&(i as i64)) && !banned(u, i)
        });
        for u in 0..2 {
            let row: Vec<i64> = got.indices[u * n..(u + 1) * n].to_vec();
            let mut want: Vec<i64> = expect[u].iter().map(|e| e.0).collect();
            want.resize(n, -1);
            assert_eq!(row, want, "user {u}");
        }
    }

    #[test]
    fn similarity_equals_topn_scores_bitwise() {
        let d = 7;
        let a: Vec<f32> = (0..9 * d)
            .map(|i| ((i * 31 % 17) as f32 - 8.0) * 0.37)
            .collect();
        let b: Vec<f32> = (0..23 * d)
            .map(|i| ((i * 13 % 19) as f32 - 9.0) * 0.21)
            .collect();
        let dense = similarity(
            Matrix::new("a", &a, 9, d).unwrap(),
            Matrix::new("b", &b, 23, d).unwrap(),
            Metric::Cosine,
            None,
            None,
        )
        .unwrap();
        let top = run(&a, &b, d, 23, &Options::default());
        for u in 0..9 {
            for k in 0..23 {
                let i = top.indices[u * 23 + k] as usize;
                assert_eq!(
                    top.scores[u * 23 + k].to_bits(),
                    dense[u * 23 + i].to_bits()
                );
            }
        }
    }

    #[test]
    fn errors_name_the_argument() {
        let ok = [1.0f32, 2.0];
        let m = |data: &'static [f32], rows| Matrix::new("items", data, rows, 2).unwrap();
        let err = topn(
            Matrix::new("users", &ok, 1, 2).unwrap(),
            Matrix::new("items", &[1.0, 2.0, 3.0], 1, 3).unwrap(),
            1,
            &Options::default(),
        )
        .unwrap_err();
        assert!(
            matches!(err, XcatError::Invalid { arg: "items", .. }),
            "{err}"
        );
        let err = topn(
            Matrix::new("users", &ok, 1, 2).unwrap(),
            m(&[1.0, f32::NAN, 0.0, 1.0], 2),
            1,
            &Options::default(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            XcatError::NonFinite {
                arg: "items",
                row: 0
            }
        );
        let err = topn(
            Matrix::new("users", &[f32::INFINITY, 0.0], 1, 2).unwrap(),
            m(&[1.0, 2.0], 1),
            1,
            &Options {
                metric: Metric::Dot,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            err,
            XcatError::NonFinite {
                arg: "users",
                row: 0
            }
        );
        for (cand, what) in [(&[0i64, 0][..], "more than once"), (&[2i64][..], "outside")] {
            let err = topn(
                Matrix::new("users", &ok, 1, 2).unwrap(),
                m(&[1.0, 2.0, 3.0, 4.0], 2),
                1,
                &Options {
                    candidates: Some(cand),
                    ..Default::default()
                },
            )
            .unwrap_err();
            assert!(
                matches!(&err, XcatError::Invalid { arg: "candidates", msg } if msg.contains(what)),
                "{err}"
            );
        }
        let bad = Csr {
            indptr: &[0, 1],
            indices: &[5],
        };
        let err = topn(
            Matrix::new("users", &ok, 1, 2).unwrap(),
            m(&[1.0, 2.0], 1),
            1,
            &Options {
                exclude: Some(bad),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, XcatError::Invalid { arg: "exclude", .. }),
            "{err}"
        );
        let rows = Csr {
            indptr: &[0, 0, 0],
            indices: &[],
        };
        let err = topn(
            Matrix::new("users", &ok, 1, 2).unwrap(),
            m(&[1.0, 2.0], 1),
            1,
            &Options {
                exclude: Some(rows),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(
            matches!(err, XcatError::Invalid { arg: "exclude", .. }),
            "{err}"
        );
    }

    #[test]
    fn malformed_indptr_is_an_error_not_a_panic() {
        let users = [1.0f32; 4];
        let items = [1.0f32; 6];
        for indptr in [&[0i64, 2, 1][..], &[0, -1, 1], &[1, 1, 1]] {
            let ex = Csr {
                indptr,
                indices: &[0],
            };
            let err = topn(
                Matrix::new("users", &users, 2, 2).unwrap(),
                Matrix::new("items", &items, 3, 2).unwrap(),
                1,
                &Options {
                    exclude: Some(ex),
                    ..Default::default()
                },
            )
            .unwrap_err();
            assert!(
                matches!(err, XcatError::Invalid { arg: "exclude", .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn non_finite_item_is_reported_by_row_on_every_path() {
        let d = 4;
        let mut items = vec![0.5f32; 300 * d];
        items[137 * d + 2] = f32::NAN;
        // 1 user: per-block scales; 700 users: scales precomputed in parallel.
        for users in [1usize, 700] {
            let u = vec![1.0f32; users * d];
            for metric in [Metric::Cosine, Metric::Dot] {
                let err = topn(
                    Matrix::new("users", &u, users, d).unwrap(),
                    Matrix::new("items", &items, 300, d).unwrap(),
                    3,
                    &Options {
                        metric,
                        ..Default::default()
                    },
                )
                .unwrap_err();
                assert_eq!(
                    err,
                    XcatError::NonFinite {
                        arg: "items",
                        row: 137
                    }
                );
            }
        }
    }

    /// Raw (unclamped) cosine scores exactly as every kernel computes them:
    /// the user pre-scaled by its scale, an FMA chain over `d` in order, then
    /// times the item's scale (rows shifted first where `row_scales` says so).
    fn kernel_raw_cosine(users: &[f32], items: &[f32], d: usize) -> Vec<Vec<f32>> {
        let prep = |m: &[f32]| -> Vec<Vec<f32>> {
            let rows: Vec<*const f32> = m.chunks(d).map(|r| r.as_ptr()).collect();
            let mut sc = vec![0f32; rows.len()];
            let mut sh = vec![0i16; rows.len()];
            // SAFETY: portable is always supported; each pointer is a d-long row.
            unsafe { kernel::row_scales(Isa::Portable, true, &rows, d, &mut sc, &mut sh) }.unwrap();
            m.chunks(d)
                .zip(sc.iter().zip(&sh))
                .map(|(r, (&s, &k))| {
                    let p = kernel::pow2(k);
                    r.iter()
                        .map(|&x| if k == 0 { x } else { kernel::shifted(x, p) } * s)
                        .collect()
                })
                .collect()
        };
        let un = prep(users);
        let rows: Vec<*const f32> = items.chunks(d).map(|r| r.as_ptr()).collect();
        let mut sc = vec![0f32; rows.len()];
        let mut sh = vec![0i16; rows.len()];
        // SAFETY: as above.
        unsafe { kernel::row_scales(Isa::Portable, true, &rows, d, &mut sc, &mut sh) }.unwrap();
        un.iter()
            .map(|u| {
                items
                    .chunks(d)
                    .zip(sc.iter().zip(&sh))
                    .map(|(v, (&s, &k))| {
                        let p = kernel::pow2(k);
                        let mut acc = 0f32;
                        for (&a, &b) in u.iter().zip(v) {
                            let b = if k == 0 { b } else { kernel::shifted(b, p) };
                            acc = a.mul_add(b, acc);
                        }
                        acc * s
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn cosine_is_clamped_before_selection_so_ties_follow_reported_scores() {
        // Multiples of one vector: float32 rounding scores some of them
        // above 1 (and their negatives below -1). Clamped, they report 1.0
        // and must come back in index order, whatever their raw order, for
        // every n. The first seed whose data shows all of that is used.
        let (d, ni) = (64, 60);
        let mut found = None;
        for seed in 1..200u64 {
            let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            let x: Vec<f32> = (0..d)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect();
            let items: Vec<f32> = (0..ni)
                .flat_map(|j| x.iter().map(move |&v| v * (1.0 + j as f32 / 64.0)))
                .collect();
            let mut users = x.clone();
            users.extend(x.iter().map(|v| -v));
            let raw = kernel_raw_cosine(&users, &items, d);
            let inverted =
                (0..ni).any(|i| (i + 1..ni).any(|j| raw[0][i] < raw[0][j] && raw[0][i] >= 1.0));
            if inverted && raw[1].iter().any(|&r| r < -1.0) {
                found = Some((users, items, raw));
                break;
            }
        }
        let (users, items, raw) = found.expect("no seed gives raw cosine scores beyond 1");
        // Expected: order by (clamped raw desc, index asc).
        let want: Vec<Vec<(i64, f32)>> = raw
            .iter()
            .map(|r| {
                let mut v: Vec<(i64, f32)> = r
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| (i as i64, s.clamp(-1.0, 1.0)))
                    .collect();
                v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                v
            })
            .collect();
        let dense = similarity(
            Matrix::new("a", &users, 2, d).unwrap(),
            Matrix::new("b", &items, ni, d).unwrap(),
            Metric::Cosine,
            None,
            None,
        )
        .unwrap();
        for n in 1..=ni {
            for isa in isas() {
                for (threads, block) in [(1, None), (2, Some(5)), (3, Some(16))] {
                    let got = run(
                        &users,
                        &items,
                        d,
                        n,
                        &Options {
                            isa: Some(isa),
                            num_threads: Some(threads),
                            block_items: block,
                            ..Default::default()
                        },
                    );
                    for u in 0..2 {
                        for k in 0..n {
                            let (gi, gs) = (got.indices[u * n + k], got.scores[u * n + k]);
                            assert_eq!((gi, gs.to_bits()), (want[u][k].0, want[u][k].1.to_bits()));
                            assert_eq!(gs.to_bits(), dense[u * ni + gi as usize].to_bits());
                        }
                    }
                }
            }
        }
    }

    /// `m * 2**e` with small `m` and `e`: every multiple by `2**k` with k in
    /// -146..=121 is exact in float32, subnormals included.
    fn coarse(len: usize) -> impl Strategy<Value = Vec<f32>> {
        prop::collection::vec(
            (-7i32..=7, -3i32..=3).prop_map(|(m, e)| m as f32 * 2f32.powi(e)),
            len,
        )
    }

    /// Each row `r` of `data` times `2**ks[r]` (exact for `coarse` rows).
    fn scale_rows(data: &[f32], d: usize, ks: &[i32]) -> Vec<f32> {
        data.chunks(d)
            .zip(ks)
            .flat_map(|(r, &k)| r.iter().map(move |&x| (f64::from(x) * 2f64.powi(k)) as f32))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn cosine_is_invariant_to_power_of_two_row_scales(
            (d, users, items, ku, ki) in (1usize..9, 1usize..40, 1usize..60)
                .prop_flat_map(|(d, nu, ni)| (
                    Just(d),
                    coarse(nu * d),
                    coarse(ni * d),
                    prop::collection::vec(-146i32..=121, nu),
                    prop::collection::vec(-146i32..=121, ni),
                )),
            n in 1usize..12,
            block in 1usize..20,
        ) {
            let (nu, ni) = (users.len() / d, items.len() / d);
            let su = scale_rows(&users, d, &ku);
            let si = scale_rows(&items, d, &ki);
            let expect = reference(&users, &items, d, n, Metric::Cosine, |_, _| true);
            for isa in isas() {
                let opts = Options { isa: Some(isa), block_items: Some(block), ..Default::default() };
                let base = run(&users, &items, d, n, &opts);
                let got = run(&su, &si, d, n, &opts);
                // Scaling a row by a power of two changes no rounding: the
                // same indices and the same score bits.
                prop_assert_eq!(&got, &base);
                for u in 0..nu {
                    for k in 0..n.min(ni) {
                        let gs = got.scores[u * n + k];
                        prop_assert!((-1.0..=1.0).contains(&gs));
                        prop_assert!((f64::from(gs) - expect[u][k].1).abs() < 1e-6);
                    }
                }
                let dense = similarity(
                    Matrix::new("a", &su, nu, d).unwrap(),
                    Matrix::new("b", &si, ni, d).unwrap(),
                    Metric::Cosine,
                    None,
                    Some(isa),
                ).unwrap();
                for u in 0..nu {
                    for k in 0..n.min(ni) {
                        let i = got.indices[u * n + k] as usize;
                        prop_assert_eq!(got.scores[u * n + k].to_bits(), dense[u * ni + i].to_bits());
                    }
                }
            }
        }
    }

    #[test]
    fn rows_anywhere_in_the_float32_range_score_like_hand_computed() {
        let t = 2f32.powi(125);
        let sub = f32::from_bits(1); // 2**-149, the smallest subnormal
        let max = f32::MAX;
        // Users: (3, 4) at 2**125, at 2**-149 (subnormal), as is; (1, 1) at
        // f32::MAX (squared norm overflows float32); (1, 0).
        let users = [
            3.0 * t,
            4.0 * t,
            3.0 * sub,
            4.0 * sub,
            3.0,
            4.0,
            max,
            max,
            1.0,
            0.0,
        ];
        // Items: (0, 1) subnormal, (1, 0) at f32::MAX, (1, 1) at 2**-140, zero.
        let s140 = 2f32.powi(-140);
        let items = [0.0, sub, max, 0.0, s140, s140, 0.0, 0.0];
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let want = [
            [0.8, 0.6, 7.0 / 5.0 * h, 0.0],
            [0.8, 0.6, 7.0 / 5.0 * h, 0.0],
            [0.8, 0.6, 7.0 / 5.0 * h, 0.0],
            [h, h, 1.0, 0.0],
            [0.0, 1.0, h, 0.0],
        ];
        let d = 2;
        for isa in isas() {
            for users_here in [5usize, 1] {
                // 1 user takes the item-lanes kernel, 5 the others' panels.
                let u = &users[..users_here * d];
                let dense = similarity(
                    Matrix::new("a", u, users_here, d).unwrap(),
                    Matrix::new("b", &items, 4, d).unwrap(),
                    Metric::Cosine,
                    None,
                    Some(isa),
                )
                .unwrap();
                let top = run(
                    u,
                    &items,
                    d,
                    4,
                    &Options {
                        isa: Some(isa),
                        ..Default::default()
                    },
                );
                for r in 0..users_here {
                    for i in 0..4 {
                        let got = f64::from(dense[r * 4 + i]);
                        assert!(
                            (got - want[r][i]).abs() < 1e-6,
                            "{isa:?} user {r} item {i}: {got}"
                        );
                        assert!(got.abs() <= 1.0);
                    }
                    for k in 0..4 {
                        let i = top.indices[r * 4 + k] as usize;
                        assert_eq!(top.scores[r * 4 + k].to_bits(), dense[r * 4 + i].to_bits());
                    }
                }
                if users_here == 5 {
                    // (3, 4) at any scale: the same bits.
                    assert_eq!(dense[0..4], dense[4..8]);
                    assert_eq!(dense[0..4], dense[8..12]);
                    assert_eq!(&top.indices[..4], &[2, 0, 1, 3]);
                    assert_eq!(&top.indices[16..20], &[1, 2, 0, 3]);
                }
            }
        }
        // A long row at f32::MAX: its squared norm overflows float32 and its
        // norm exceeds f32::MAX; it is parallel to the all-ones row.
        let d = 64;
        let big = vec![max; d];
        let mut items = vec![1.0f32; d];
        items.extend(std::iter::repeat_n(-max, d));
        for isa in isas() {
            let top = run(
                &big,
                &items,
                d,
                2,
                &Options {
                    isa: Some(isa),
                    ..Default::default()
                },
            );
            assert_eq!(top.indices, vec![0, 1]);
            assert!((f64::from(top.scores[0]) - 1.0).abs() < 1e-6 && top.scores[0] <= 1.0);
            assert!((f64::from(top.scores[1]) + 1.0).abs() < 1e-6 && top.scores[1] >= -1.0);
        }
    }

    #[test]
    fn extreme_rows_in_every_task_layout_match_unit_rows() {
        // 700 users: several user groups, item scales precomputed in
        // parallel; small blocks reuse the shifted-row buffer. Every row is
        // scaled by its own power of two; results must equal the unscaled.
        let d = 5;
        let users: Vec<f32> = (0..700 * d)
            .map(|i| ((i * 7919) % 7) as f32 - 3.0)
            .collect();
        let items: Vec<f32> = (0..300 * d)
            .map(|i| ((i * 104_729) % 5) as f32 - 2.0)
            .collect();
        let ku: Vec<i32> = (0..700i32).map(|r| r * 37 % 268 - 146).collect();
        let ki: Vec<i32> = (0..300i32).map(|r| r * 53 % 268 - 146).collect();
        let (su, si) = (scale_rows(&users, d, &ku), scale_rows(&items, d, &ki));
        for n in [1usize, 7] {
            for (threads, block) in [(1, None), (2, Some(9)), (3, Some(64))] {
                let opts = Options {
                    num_threads: Some(threads),
                    block_items: block,
                    ..Default::default()
                };
                assert_eq!(run(&su, &si, d, n, &opts), run(&users, &items, d, n, &opts));
            }
        }
    }

    #[test]
    fn overflowing_dot_scores_are_errors_not_wrong_results() {
        // Dot products beyond float32: an error on every path, never a dropped item.
        let big = [3e38f32, 3e38];
        for users in [1usize, 40] {
            let u = vec![2.0f32; users * 2];
            for isa in isas() {
                let err = topn(
                    Matrix::new("users", &u, users, 2).unwrap(),
                    Matrix::new("items", &big, 1, 2).unwrap(),
                    1,
                    &Options {
                        metric: Metric::Dot,
                        isa: Some(isa),
                        ..Default::default()
                    },
                )
                .unwrap_err();
                assert_eq!(err, XcatError::ScoreOverflow, "{isa:?}");
            }
        }
    }

    #[test]
    fn cancel_flag_stops_the_scan() {
        let flag = AtomicBool::new(true);
        let items = vec![1.0f32; 1000 * 4];
        let err = topn(
            Matrix::new("users", &[1.0; 4], 1, 4).unwrap(),
            Matrix::new("items", &items, 1000, 4).unwrap(),
            3,
            &Options {
                cancel: Some(&flag),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(err, XcatError::Cancelled);
    }
}
