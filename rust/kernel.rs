//! Micro-kernels: a register tile of `MR` users x `NR` items of dot products,
//! fused with the threshold test of the selection.
//!
//! Every path computes each score the same way, so results do not depend on
//! the instruction set, the tile position, the block size or the thread
//! count: `acc = 0; for k in 0..d { acc = fma(user[k], item[k], acc) }`, then
//! `score = acc * item_scale` (cosine: the item's inverse norm, with the user
//! pre-scaled by its own; dot: 1). A fused multiply-add rounds once, in a
//! vector lane exactly as in `f32::mul_add`.
//!
//! Users are packed once into panels `[d][MR]` (vectorised along users);
//! items are read in place, row-major, through `NR` row pointers, so the item
//! matrix is never copied or normalised.

// Register tiles read best as explicit index loops.
#![allow(clippy::needless_range_loop)]

use crate::select::Sink;

/// Items per register tile.
pub const NR: usize = 12;

/// Instruction set of the micro-kernel, chosen at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512F: 32 (or 16) users x 12 items in 24 (or 12) zmm accumulators.
    Avx512,
    /// AVX2 + FMA: 8 users x 12 items, auto-vectorised.
    Avx2,
    /// Any CPU: 8 users x 12 items in plain Rust.
    Portable,
}

impl Isa {
    /// The best instruction set this CPU supports.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// Whether this CPU can run `self`.
    pub fn supported(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// Users per panel for a batch of `users` queries.
    pub fn panel_width(self, users: usize) -> usize {
        match self {
            Isa::Avx512 if users <= 16 => 16,
            Isa::Avx512 => 32,
            Isa::Avx2 | Isa::Portable => 8,
        }
    }
}

/// One register tile's inputs.
pub struct Tile<'t> {
    /// Packed user panel `[d][mr]`.
    pub panel: &'t [f32],
    /// `NR` item rows of length `d` (padding rows point at zeros).
    pub rows: &'t [*const f32; NR],
    pub d: usize,
    /// Per-item score scale.
    pub scale: &'t [f32; NR],
    /// Item row numbers reported to the sink.
    pub ids: &'t [u32; NR],
    /// How many of the `NR` items are real.
    pub n_items: usize,
    /// Group-local lane of the panel's first user.
    pub lane0: usize,
}

/// Run one tile with `isa` and panel width `mr` (from [`Isa::panel_width`]).
///
/// # Safety
/// `isa` must be supported by this CPU; `tile.panel.len() >= tile.d * mr`;
/// every row pointer must be valid for `tile.d` reads.
#[inline]
pub unsafe fn run_tile<S: Sink>(isa: Isa, mr: usize, tile: &Tile<'_>, sink: &mut S) {
    debug_assert!(tile.panel.len() >= tile.d * mr);
    match (isa, mr) {
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, 32) => avx512::tile::<2, S>(tile, sink),
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, 16) => avx512::tile::<1, S>(tile, sink),
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx2, 8) => tile_avx2::<8, S>(tile, sink),
        (_, 8) => tile_generic::<8, S>(tile, sink),
        _ => unreachable!("panel width {mr} is not one of Isa::panel_width"),
    }
}

/// The reference tile in plain Rust; the other paths must match it bit for bit.
#[inline(always)]
unsafe fn tile_generic<const MR: usize, S: Sink>(t: &Tile<'_>, sink: &mut S) {
    let mut acc = [[0f32; MR]; NR];
    for k in 0..t.d {
        let u: &[f32; MR] = &*(t.panel.as_ptr().add(k * MR) as *const [f32; MR]);
        for j in 0..NR {
            let b = *t.rows[j].add(k);
            for i in 0..MR {
                acc[j][i] = u[i].mul_add(b, acc[j][i]);
            }
        }
    }
    for j in 0..t.n_items {
        for i in 0..MR {
            let s = acc[j][i] * t.scale[j];
            if s > *sink.threshold_ptr(t.lane0 + i) {
                sink.hit(t.lane0 + i, t.ids[j], s);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tile_avx2<const MR: usize, S: Sink>(t: &Tile<'_>, sink: &mut S) {
    tile_generic::<MR, S>(t, sink)
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Tile, NR};
    use crate::select::Sink;
    use std::arch::x86_64::*;

    /// `16 * MV` users x `NR` items; the epilogue compares 16 scores with 16
    /// thresholds at once and leaves the vector path only for set mask bits.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn tile<const MV: usize, S: Sink>(t: &Tile<'_>, sink: &mut S) {
        let mut acc = [[_mm512_setzero_ps(); MV]; NR];
        let mut p = t.panel.as_ptr();
        for k in 0..t.d {
            let mut u = [_mm512_setzero_ps(); MV];
            for (v, uv) in u.iter_mut().enumerate() {
                *uv = _mm512_loadu_ps(p.add(16 * v));
            }
            for j in 0..NR {
                let b = _mm512_set1_ps(*t.rows[j].add(k));
                for v in 0..MV {
                    acc[j][v] = _mm512_fmadd_ps(u[v], b, acc[j][v]);
                }
            }
            p = p.add(16 * MV);
        }
        for j in 0..t.n_items {
            let scale = _mm512_set1_ps(t.scale[j]);
            for v in 0..MV {
                let lane = t.lane0 + 16 * v;
                let s = _mm512_mul_ps(acc[j][v], scale);
                let thr = _mm512_loadu_ps(sink.threshold_ptr(lane));
                let mut mask: u16 = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(s, thr);
                if mask != 0 {
                    let mut buf = [0f32; 16];
                    _mm512_storeu_ps(buf.as_mut_ptr(), s);
                    while mask != 0 {
                        let l = mask.trailing_zeros() as usize;
                        sink.hit(lane + l, t.ids[j], buf[l]);
                        mask &= mask - 1;
                    }
                }
            }
        }
    }
}

/// Sum of squares in f64: exact enough for any finite f32 row and never
/// overflows, so a non-finite result means the row has NaN or infinity.
#[inline(always)]
fn sum_squares(row: &[f32]) -> f64 {
    let mut acc = [0f64; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            let x = f64::from(c[i]);
            acc[i] += x * x;
        }
    }
    let mut s = 0f64;
    for &x in chunks.remainder() {
        s += f64::from(x) * f64::from(x);
    }
    let pairs = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    s + ((pairs[0] + pairs[2]) + (pairs[1] + pairs[3]))
}

/// `1/|row|` (0 for a zero row), or `None` if the row is not finite.
#[inline(always)]
fn inverse_norm_generic(row: &[f32]) -> Option<f32> {
    let s = sum_squares(row);
    if !s.is_finite() {
        None
    } else if s == 0.0 {
        Some(0.0)
    } else {
        Some((1.0 / s.sqrt()) as f32)
    }
}

/// Whether every value is finite (`x * 0` is NaN exactly for NaN and inf).
#[inline(always)]
fn is_finite_generic(row: &[f32]) -> bool {
    let mut acc = [0f32; 16];
    let mut chunks = row.chunks_exact(16);
    for c in &mut chunks {
        for i in 0..16 {
            acc[i] += c[i] * 0.0;
        }
    }
    let tail: f32 = chunks.remainder().iter().map(|&x| x * 0.0).sum();
    acc.iter().sum::<f32>() + tail == 0.0
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn inverse_norm_avx512(row: &[f32]) -> Option<f32> {
    inverse_norm_generic(row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn inverse_norm_avx2(row: &[f32]) -> Option<f32> {
    inverse_norm_generic(row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn is_finite_avx512(row: &[f32]) -> bool {
    is_finite_generic(row)
}

/// `1/|row|` in f32 from an f64 sum (0 for a zero row), `None` if not finite.
/// The same value on every instruction set.
#[inline]
pub fn inverse_norm(isa: Isa, row: &[f32]) -> Option<f32> {
    match isa {
        // SAFETY: callers only pass an `isa` that `supported()` accepted.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { inverse_norm_avx512(row) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { inverse_norm_avx2(row) },
        _ => inverse_norm_generic(row),
    }
}

/// Whether every value of `row` is finite.
#[inline]
pub fn is_finite(isa: Isa, row: &[f32]) -> bool {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { is_finite_avx512(row) },
        _ => is_finite_generic(row),
    }
}
