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
//! matrix is never copied or normalised. For cosine, a row whose norm is far
//! from 1 (outside `[2**-64, 2**64]`: subnormals, values near `f32::MAX`) is
//! first multiplied by the power of two that brings its max-abs into
//! `[1, 2)` (see [`row_scales`]); an item row then points at that scaled copy.

// Register tiles read best as explicit index loops.
#![allow(clippy::needless_range_loop)]

use crate::select::Sink;

/// Items per register tile of the user-lane kernels.
pub const NR: usize = 12;
/// The widest tile any kernel reads: callers pad row buffers to a multiple
/// of the tile width plus this.
pub const MAX_WIDTH: usize = 16;

/// Instruction set of the micro-kernel, chosen at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512F: 32 (or 16) users x 12 items in 24 (or 12) zmm accumulators;
    /// for up to 8 users, 16 items per vector after an in-register transpose.
    Avx512,
    /// AVX2 + FMA: 8 users x 12 items, auto-vectorised.
    Avx2,
    /// Any CPU: 8 users x 12 items in plain Rust (slow where FMA is emulated).
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
}

/// A micro-kernel: its instruction set, users per packed panel and items per
/// tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Micro {
    pub isa: Isa,
    pub panel: usize,
    pub width: usize,
}

impl Micro {
    /// The kernel for a batch of `users` queries on `isa`.
    ///
    /// Few users (up to 8) leave most user lanes empty, so the AVX-512 path
    /// then vectorises along items instead: same arithmetic, no idle lanes.
    pub fn choose(isa: Isa, users: usize) -> Micro {
        let (panel, width) = match isa {
            Isa::Avx512 if users <= 8 => (users.max(1).next_power_of_two(), 16),
            Isa::Avx512 if users <= 16 => (16, NR),
            Isa::Avx512 => (32, NR),
            Isa::Avx2 | Isa::Portable => (8, NR),
        };
        Micro { isa, panel, width }
    }
}

/// One register tile's inputs.
pub struct Tile<'t> {
    /// Packed user panel `[d][panel]`.
    pub panel: &'t [f32],
    /// At least `width` item rows of length `d` (padding rows point at zeros).
    pub rows: &'t [*const f32],
    pub d: usize,
    /// Per-item score scale (at least `width`).
    pub scale: &'t [f32],
    /// Item row numbers reported to the sink (at least `width`).
    pub ids: &'t [u32],
    /// How many of the `width` items are real.
    pub n_items: usize,
    /// Group-local lane of the panel's first user.
    pub lane0: usize,
}

/// Run one tile with micro-kernel `m`.
///
/// # Safety
/// `m` must come from [`Micro::choose`] with an `isa` this CPU supports;
/// `tile.panel.len() >= tile.d * m.panel`; `rows`, `scale`, `ids` hold at
/// least `m.width` entries; every row pointer is valid for `tile.d` reads.
#[inline]
pub unsafe fn run_tile<S: Sink>(m: Micro, tile: &Tile<'_>, sink: &mut S) {
    debug_assert!(tile.panel.len() >= tile.d * m.panel);
    debug_assert!(tile.rows.len() >= m.width && tile.scale.len() >= m.width);
    debug_assert!(tile.ids.len() >= m.width && tile.n_items <= m.width);
    match (m.isa, m.panel, m.width) {
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, 32, NR) => avx512::user_lanes::<2, S>(tile, sink),
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, 16, NR) => avx512::user_lanes::<1, S>(tile, sink),
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, 1, 16) => avx512::item_lanes::<1, S>(tile, sink),
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, 2, 16) => avx512::item_lanes::<2, S>(tile, sink),
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, 4, 16) => avx512::item_lanes::<4, S>(tile, sink),
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, 8, 16) => avx512::item_lanes::<8, S>(tile, sink),
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx2, 8, NR) => tile_avx2::<8, S>(tile, sink),
        (_, 8, NR) => tile_generic::<8, S>(tile, sink),
        _ => unreachable!("{m:?} is not a kernel Micro::choose returns"),
    }
}

/// The reference tile in plain Rust; the other paths must match it bit for bit.
#[inline(always)]
unsafe fn tile_generic<const MR: usize, S: Sink>(t: &Tile<'_>, sink: &mut S) {
    let rows = &*(t.rows.as_ptr() as *const [*const f32; NR]);
    let mut acc = [[0f32; MR]; NR];
    for k in 0..t.d {
        let u: &[f32; MR] = &*(t.panel.as_ptr().add(k * MR) as *const [f32; MR]);
        for j in 0..NR {
            let b = *rows[j].add(k);
            for i in 0..MR {
                acc[j][i] = u[i].mul_add(b, acc[j][i]);
            }
        }
    }
    for j in 0..t.n_items {
        for i in 0..MR {
            let s = acc[j][i] * t.scale[j];
            if !s.is_finite() {
                sink.overflow();
            }
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
    pub(super) unsafe fn user_lanes<const MV: usize, S: Sink>(t: &Tile<'_>, sink: &mut S) {
        let rows = &*(t.rows.as_ptr() as *const [*const f32; NR]);
        let mut acc = [[_mm512_setzero_ps(); MV]; NR];
        let mut p = t.panel.as_ptr();
        for k in 0..t.d {
            let mut u = [_mm512_setzero_ps(); MV];
            for (v, uv) in u.iter_mut().enumerate() {
                *uv = _mm512_loadu_ps(p.add(16 * v));
            }
            for j in 0..NR {
                let b = _mm512_set1_ps(*rows[j].add(k));
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
                check_finite(s, sink);
                let thr = _mm512_loadu_ps(sink.threshold_ptr(lane));
                let mask: u16 = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(s, thr);
                if mask != 0 {
                    let mut buf = [0f32; 16];
                    _mm512_storeu_ps(buf.as_mut_ptr(), s);
                    for_each_bit(mask, |l| sink.hit(lane + l, t.ids[j], buf[l]));
                }
            }
        }
    }

    /// `MU` users (1 to 8) x 16 items, one zmm of 16 items per user: 16 rows
    /// are loaded 16 values at a time and transposed in registers, so every
    /// lane does useful work however few users there are.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn item_lanes<const MU: usize, S: Sink>(t: &Tile<'_>, sink: &mut S) {
        let rows = &*(t.rows.as_ptr() as *const [*const f32; 16]);
        let mut acc = [_mm512_setzero_ps(); MU];
        let mut k0 = 0;
        while k0 < t.d {
            let len = (t.d - k0).min(16);
            let load_mask: u16 = if len == 16 {
                u16::MAX
            } else {
                (1u16 << len) - 1
            };
            let mut r = [_mm512_setzero_ps(); 16];
            for j in 0..16 {
                r[j] = _mm512_maskz_loadu_ps(load_mask, rows[j].add(k0));
            }
            let cols = transpose16(r);
            // Columns in k order, so each score is the same FMA chain as in
            // every other kernel.
            for (kk, col) in cols.iter().enumerate().take(len) {
                let p = t.panel.as_ptr().add((k0 + kk) * MU);
                for u in 0..MU {
                    acc[u] = _mm512_fmadd_ps(_mm512_set1_ps(*p.add(u)), *col, acc[u]);
                }
            }
            k0 += 16;
        }
        let scale = _mm512_loadu_ps(t.scale.as_ptr());
        let valid: u16 = if t.n_items >= 16 {
            u16::MAX
        } else {
            (1u16 << t.n_items) - 1
        };
        for u in 0..MU {
            let s = _mm512_mul_ps(acc[u], scale);
            check_finite(s, sink);
            let thr = _mm512_set1_ps(*sink.threshold_ptr(t.lane0 + u));
            let mask: u16 = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(s, thr) & valid;
            if mask != 0 {
                let mut buf = [0f32; 16];
                _mm512_storeu_ps(buf.as_mut_ptr(), s);
                for_each_bit(mask, |j| sink.hit(t.lane0 + u, t.ids[j], buf[j]));
            }
        }
    }

    /// Tell the sink if any lane of `s` is NaN or infinite. Padding lanes
    /// hold zeros, so all 16 can be checked.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn check_finite<S: Sink>(s: __m512, sink: &mut S) {
        let finite: u16 =
            _mm512_cmp_ps_mask::<_CMP_LE_OQ>(_mm512_abs_ps(s), _mm512_set1_ps(f32::MAX));
        if finite != u16::MAX {
            sink.overflow();
        }
    }

    #[inline(always)]
    fn for_each_bit(mut mask: u16, mut f: impl FnMut(usize)) {
        while mask != 0 {
            f(mask.trailing_zeros() as usize);
            mask &= mask - 1;
        }
    }

    /// Rows `r[0..16]` of a 16 x 16 block to its columns, in order.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn transpose16(r: [__m512; 16]) -> [__m512; 16] {
        // Stage 1: pairs of rows interleaved within 128-bit lanes.
        let mut t = [_mm512_setzero_ps(); 16];
        for i in 0..8 {
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        // Stage 2: groups of four rows; q[4g + c] holds rows 4g..4g+4 at
        // columns c, c+4, c+8, c+12 (one per 128-bit lane).
        let lo = |a: __m512, b: __m512| {
            _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)))
        };
        let hi = |a: __m512, b: __m512| {
            _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)))
        };
        let mut q = [_mm512_setzero_ps(); 16];
        for g in 0..4 {
            let (a0, a1, b0, b1) = (t[4 * g], t[4 * g + 1], t[4 * g + 2], t[4 * g + 3]);
            q[4 * g] = lo(a0, b0);
            q[4 * g + 1] = hi(a0, b0);
            q[4 * g + 2] = lo(a1, b1);
            q[4 * g + 3] = hi(a1, b1);
        }
        // Stages 3 and 4: gather the 128-bit lanes of one column.
        let mut out = [_mm512_setzero_ps(); 16];
        for c in 0..4 {
            let v0 = _mm512_shuffle_f32x4::<0x88>(q[c], q[4 + c]);
            let v1 = _mm512_shuffle_f32x4::<0xDD>(q[c], q[4 + c]);
            let v2 = _mm512_shuffle_f32x4::<0x88>(q[8 + c], q[12 + c]);
            let v3 = _mm512_shuffle_f32x4::<0xDD>(q[8 + c], q[12 + c]);
            out[c] = _mm512_shuffle_f32x4::<0x88>(v0, v2);
            out[c + 8] = _mm512_shuffle_f32x4::<0xDD>(v0, v2);
            out[c + 4] = _mm512_shuffle_f32x4::<0x88>(v1, v3);
            out[c + 12] = _mm512_shuffle_f32x4::<0xDD>(v1, v3);
        }
        out
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn transpose16_is_a_transpose() {
            if !is_x86_feature_detected!("avx512f") {
                return;
            }
            let m: Vec<f32> = (0..256).map(|x| x as f32).collect();
            let mut got = [0f32; 256];
            // SAFETY: avx512f checked above; each row has 16 values.
            unsafe {
                let mut r = [_mm512_setzero_ps(); 16];
                for (i, ri) in r.iter_mut().enumerate() {
                    *ri = _mm512_loadu_ps(m.as_ptr().add(16 * i));
                }
                for (c, col) in transpose16(r).iter().enumerate() {
                    _mm512_storeu_ps(got.as_mut_ptr().add(16 * c), *col);
                }
            }
            for i in 0..16 {
                for j in 0..16 {
                    assert_eq!(got[16 * j + i], m[16 * i + j], "row {i} col {j}");
                }
            }
        }
    }
}

/// Hint the CPU to bring `row` into cache (a no-op off x86-64).
#[inline(always)]
pub fn prefetch(row: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        for k in (0..row.len()).step_by(16) {
            // SAFETY: prefetch never faults, and the address is inside `row`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(row.as_ptr().add(k).cast()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = row;
}

/// Sum of squares in f64 of `f(x)` over the row: exact enough for any
/// finite f32 row and never overflows, so a non-finite result means the row
/// has NaN or infinity. The summation order is fixed, so a row and its
/// power-of-two multiples (`f` a shift) give sums that are exact powers of
/// four apart.
#[inline(always)]
fn sum_squares_by(row: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut acc = [0f64; 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            let x = f64::from(f(c[i]));
            acc[i] += x * x;
        }
    }
    let mut s = 0f64;
    for &x in chunks.remainder() {
        let x = f64::from(f(x));
        s += x * x;
    }
    let pairs = [
        acc[0] + acc[4],
        acc[1] + acc[5],
        acc[2] + acc[6],
        acc[3] + acc[7],
    ];
    s + ((pairs[0] + pairs[2]) + (pairs[1] + pairs[3]))
}

/// A NaN or infinity in a row: it cannot be scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonFinite;

/// Norms of rows that cosine reads in place (shift 0). Inside this range
/// `1/|x|` is a normal float32 and no dot product with a unit vector can
/// overflow; rows outside it (down to subnormals, up to `f32::MAX`) are
/// first multiplied by a power of two that brings their max-abs into
/// `[1, 2)`. A power of two changes no rounding away from the ends of the
/// float32 range, so both ways give the same bits where both apply.
const DIRECT_MIN_NORM: f64 = 5.421010862427522e-20; // 2**-64
const DIRECT_MAX_NORM: f64 = 1.8446744073709552e19; // 2**64

/// `2**shift` as float32 factors applied one after the other (see
/// [`shifted`]), for `-127 <= shift <= 149`: 2**149 is beyond float32, so
/// shifts above 127 take a second factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pow2(f32, f32);

/// `2**e` in float32, for `-149 <= e <= 127` (subnormal below -126).
fn f32_pow2(e: i16) -> f32 {
    if e >= -126 {
        f32::from_bits(((e + 127) as u32) << 23)
    } else {
        f32::from_bits(1 << (e + 149))
    }
}

/// The factors of `2**shift`.
#[inline]
pub fn pow2(shift: i16) -> Pow2 {
    let first = shift.min(127);
    Pow2(f32_pow2(first), f32_pow2(shift - first))
}

/// `x * 2**shift`, rounded once to float32 (exact unless it leaves the
/// normal range). Above 127 the shift only scales rows whose values are all
/// below 2**-127 up toward 1, so both products are exact. Every path scales
/// a row this way.
#[inline(always)]
pub fn shifted(x: f32, p: Pow2) -> f32 {
    x * p.0 * p.1
}

/// The shift that brings the largest `|x|` of a non-zero finite row into
/// `[1, 2)`: between -127 (values near `f32::MAX`) and 149 (the smallest
/// subnormal).
fn shift_for(row: &[f32]) -> i16 {
    // For finite values the magnitude order is the order of the bits
    // without the sign: an integer max, which vectorises.
    let bits = row
        .iter()
        .fold(0u32, |m, &x| m.max(x.to_bits() & 0x7fff_ffff));
    let exp = (bits >> 23) as i32;
    let log2 = if exp == 0 {
        // A subnormal max: mantissa * 2**-149.
        31 - (bits & 0x7f_ffff).leading_zeros() as i32 - 149
    } else {
        exp - 127
    };
    -log2 as i16
}

/// Score scale of a row outside the direct range: the inverse norm of the
/// row shifted to max-abs in `[1, 2)`, and that shift. Inlined into the
/// target-feature callers so whole batches of such rows stay vectorised.
#[inline(always)]
fn shifted_inverse_norm(row: &[f32]) -> (f32, i16) {
    let shift = shift_for(row);
    let p = pow2(shift);
    let s = sum_squares_by(row, |x| shifted(x, p));
    ((1.0 / s.sqrt()) as f32, shift)
}

/// `(1/|row|, 0)`, or for a row outside the direct range the inverse norm
/// of the shifted row and the shift; `(0, 0)` for a zero row.
#[inline(always)]
fn inverse_norm_generic(row: &[f32]) -> Result<(f32, i16), NonFinite> {
    let s = sum_squares_by(row, |x| x);
    if !s.is_finite() {
        return Err(NonFinite);
    }
    if s == 0.0 {
        // Squares of f32 subnormals are normal f64: only a zero row sums to 0.
        return Ok((0.0, 0));
    }
    let norm = s.sqrt();
    if (DIRECT_MIN_NORM..=DIRECT_MAX_NORM).contains(&norm) {
        return Ok(((1.0 / norm) as f32, 0));
    }
    Ok(shifted_inverse_norm(row))
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

/// Score scales of `rows` (each `d` long) into `scales` and `shifts`: the
/// inverse norm and power-of-two shift (cosine) or 1 and 0 (dot). The loop
/// sits inside one target-feature function so it vectorises and nothing is
/// called per row.
#[inline(always)]
unsafe fn row_scales_generic(
    cosine: bool,
    rows: &[*const f32],
    d: usize,
    scales: &mut [f32],
    shifts: &mut [i16],
) -> Result<(), usize> {
    for (j, ((&p, o), sh)) in rows
        .iter()
        .zip(scales.iter_mut())
        .zip(shifts.iter_mut())
        .enumerate()
    {
        let row = std::slice::from_raw_parts(p, d);
        (*o, *sh) = if cosine {
            inverse_norm_generic(row)
        } else if is_finite_generic(row) {
            Ok((1.0, 0))
        } else {
            Err(NonFinite)
        }
        .map_err(|_| j)?;
    }
    Ok(())
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn row_scales_avx512(
    cosine: bool,
    rows: &[*const f32],
    d: usize,
    scales: &mut [f32],
    shifts: &mut [i16],
) -> Result<(), usize> {
    row_scales_generic(cosine, rows, d, scales, shifts)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_scales_avx2(
    cosine: bool,
    rows: &[*const f32],
    d: usize,
    scales: &mut [f32],
    shifts: &mut [i16],
) -> Result<(), usize> {
    row_scales_generic(cosine, rows, d, scales, shifts)
}

/// Score scale and shift of each row, the same on every instruction set,
/// written to `scales[..rows.len()]` and `shifts[..rows.len()]`.
///
/// Cosine: `1/|row|` in f32 from an f64 sum and shift 0 for a row read in
/// place; for a row whose norm is outside `[2**-64, 2**64]` (subnormal
/// values, values near `f32::MAX`), the shift `s` that brings its max-abs
/// into `[1, 2)` and the inverse norm of the row times `2**s` (see
/// [`shifted`]); scores use that shifted row. A zero row gets `(0, 0)`.
/// Dot: `(1, 0)` after a finiteness check.
///
/// # Errors
/// The position in `rows` of the first row with a NaN or infinity.
///
/// # Safety
/// `isa` must be supported; every pointer must be valid for `d` reads;
/// `scales` and `shifts` must be at least as long as `rows`.
#[inline]
pub unsafe fn row_scales(
    isa: Isa,
    cosine: bool,
    rows: &[*const f32],
    d: usize,
    scales: &mut [f32],
    shifts: &mut [i16],
) -> Result<(), usize> {
    debug_assert!(scales.len() >= rows.len() && shifts.len() >= rows.len());
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => row_scales_avx512(cosine, rows, d, scales, shifts),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => row_scales_avx2(cosine, rows, d, scales, shifts),
        _ => row_scales_generic(cosine, rows, d, scales, shifts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_range_and_powers_of_two() {
        assert_eq!(DIRECT_MIN_NORM, 2f64.powi(-64));
        assert_eq!(DIRECT_MAX_NORM, 2f64.powi(64));
        for e in -149..=127 {
            assert_eq!(f64::from(f32_pow2(e)), 2f64.powi(e.into()), "{e}");
        }
        for shift in -127..=149i16 {
            let p = pow2(shift);
            assert_eq!(f64::from(p.0) * f64::from(p.1), 2f64.powi(shift.into()));
        }
    }

    #[test]
    fn shift_brings_max_abs_into_one_two() {
        let sub = f32::from_bits(1);
        for (row, want) in [
            (vec![0.0, -sub], 149i16),
            (vec![3.0 * sub, 4.0 * sub], 147),
            (vec![f32::from_bits(0x007f_ffff)], 127), // largest subnormal
            (vec![f32::MIN_POSITIVE], 126),
            (vec![1.0, -1.5], 0),
            (vec![-2.0], -1),
            (vec![f32::MAX, 1.0], -127),
        ] {
            let s = shift_for(&row);
            assert_eq!(s, want, "{row:?}");
            let m = row.iter().fold(0f32, |m, &x| m.max(x.abs()));
            assert!((1.0..2.0).contains(&shifted(m, pow2(s))), "{row:?}");
        }
    }

    #[test]
    fn shifted_rounds_once_like_float64() {
        // The float32 factors give the correctly rounded `x * 2**shift`,
        // subnormal results included.
        let mut s = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let x = f32::from_bits((s >> 32) as u32 & 0x7f7f_ffff | ((s as u32) & 1) << 31);
            let row = [x];
            let shift = if x == 0.0 { 0 } else { shift_for(&row) };
            for k in [shift, shift - 20, shift + 20, -127, 149] {
                if !(-127..=149).contains(&k) || (k > 127 && x.abs() >= 2f32.powi(-127)) {
                    continue;
                }
                let want = (f64::from(x) * 2f64.powi(k.into())) as f32;
                assert_eq!(shifted(x, pow2(k)).to_bits(), want.to_bits(), "{x:e} {k}");
            }
        }
    }

    #[test]
    fn scale_of_a_shifted_row_is_the_scale_of_the_row() {
        // (3, 4) has inverse norm 0.2; at any power of two it is the same
        // once shifted, and read in place it is 0.2 as well.
        let t = 2f32.powi(125);
        let sub = f32::from_bits(1);
        let rows = [
            [3.0f32, 4.0],
            [3.0 * t, 4.0 * t],
            [3.0 * sub, 4.0 * sub],
            [0.0, 0.0],
        ];
        let ptrs: Vec<*const f32> = rows.iter().map(|r| r.as_ptr()).collect();
        let mut sc = [0f32; 4];
        let mut sh = [0i16; 4];
        // SAFETY: portable is always supported; each row has 2 values.
        unsafe { row_scales(Isa::Portable, true, &ptrs, 2, &mut sc, &mut sh) }.unwrap();
        assert_eq!(sh, [0, -127, 147, 0]);
        assert_eq!(sc[0], 0.2);
        assert_eq!(sc[1], 0.8); // (0.75, 1) has norm 1.25
        assert_eq!(sc[2], 0.8);
        assert_eq!(sc[3], 0.0);
        let bad = [1.0f32, f32::NAN];
        // SAFETY: as above.
        let err = unsafe { row_scales(Isa::Portable, true, &[bad.as_ptr()], 2, &mut sc, &mut sh) };
        assert_eq!(err, Err(0));
    }
}
