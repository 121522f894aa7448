//! Bounded per-user top-n selection.
//!
//! Each user keeps a reservoir of up to `cap` (about 2n) candidates and a
//! threshold: a score enters only if it beats the threshold. When the
//! reservoir is full it is cut back to the best `n` with `select_nth_unstable`
//! and the threshold rises to the n-th best score. Over a scan of `I` items a
//! user sees about `n ln(I/n)` inserts, so selection costs little next to the
//! similarity itself.
//!
//! Order is total and deterministic: higher score first, then lower item
//! index. Items reach one reservoir in increasing index order, so a later item
//! that only ties the threshold always loses, and the threshold test can be a
//! strict `>`.
//!
//! Scores are clamped to `[-bound, bound]` (cosine: `[-1, 1]`) in `hit`,
//! before anything else looks at them: the reservoir, its threshold, the cut,
//! the merge and the final sort all see the reported scores, so two items
//! whose raw scores differ (1.0000001 and 1.0) but report the same 1.0 are
//! ordered by index. The micro-kernels compare raw scores with the
//! thresholds: clamping is monotone and thresholds are clamped values, so a
//! raw score at or below a threshold is never above it once clamped, and
//! `hit` re-tests the clamped score. Only scores above a threshold pay for it.

use std::cmp::Ordering;

/// Whether `score` enters a reservoir with this threshold (false for NaN).
#[inline(always)]
fn above(score: f32, threshold: f32) -> bool {
    score > threshold
}

/// The reported score: `score` clamped to `[-bound, bound]`, with -0.0
/// folded into +0.0 so equal scores compare equal. Infinite scores (dot
/// overflow, `bound` infinite) pass through; NaN never reaches a sink.
#[inline(always)]
pub fn reported(score: f32, bound: f32) -> f32 {
    score.clamp(-bound, bound) + 0.0
}

/// One scored candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    pub score: f32,
    pub item: u32,
}

/// The result order: score descending, then item index ascending.
#[inline]
pub fn rank_order(a: &Entry, b: &Entry) -> Ordering {
    // Scores are never NaN here (NaN never beats a threshold) and -0.0 is
    // folded into +0.0 on insert, so `total_cmp` agrees with `==` on ties.
    b.score.total_cmp(&a.score).then(a.item.cmp(&b.item))
}

/// Where a micro-kernel sends scores: it compares each score with
/// `threshold(lane)` and calls `hit` only for those above it.
pub trait Sink {
    /// Pointer to the thresholds of lanes `lane..lane + width`.
    fn threshold_ptr(&self, lane: usize) -> *const f32;
    /// Offer `score` of `item` to the user in `lane` (group-local).
    fn hit(&mut self, lane: usize, item: u32, score: f32);
    /// Note that some score was not finite (overflowed float32).
    fn overflow(&mut self);
}

/// Sorted per-user lists of items that must not be returned.
#[derive(Debug, Clone)]
pub struct Excluded {
    pub indptr: Vec<usize>,
    pub items: Vec<u32>,
}

impl Excluded {
    #[inline]
    fn contains(&self, user: usize, item: u32) -> bool {
        self.items[self.indptr[user]..self.indptr[user + 1]]
            .binary_search(&item)
            .is_ok()
    }
}

/// Reservoirs for a contiguous range of users (`user0..user0 + users`).
pub struct TopStates<'a> {
    n: usize,
    cap: usize,
    user0: usize,
    users: usize,
    entries: Vec<Entry>,
    lens: Vec<usize>,
    /// One per lane, padded to whole panels with +inf so padding lanes never hit.
    thresholds: Vec<f32>,
    exclude: Option<&'a Excluded>,
    /// Scores are clamped to `[-bound, bound]` (infinite: no clamp).
    bound: f32,
    /// Whether any score offered was NaN or infinite.
    pub overflowed: bool,
}

impl<'a> TopStates<'a> {
    /// `n >= 1` wanted per user, at most `eligible` candidates per user in
    /// total, `lanes >= users` (padded to the micro-kernel width), scores
    /// clamped to `[-bound, bound]` (`bound > 0`; infinite for no clamp).
    pub fn new(
        n: usize,
        eligible: usize,
        user0: usize,
        users: usize,
        lanes: usize,
        exclude: Option<&'a Excluded>,
        bound: f32,
    ) -> Self {
        debug_assert!(n >= 1 && lanes >= users);
        // With n >= eligible everything fits and the reservoir never fills;
        // otherwise cap > n, so a cut always frees room.
        let cap = if n >= eligible {
            eligible.max(1)
        } else {
            (2 * n).max(n + 8).min(eligible)
        };
        let mut thresholds = vec![f32::NEG_INFINITY; lanes];
        thresholds[users..].fill(f32::INFINITY);
        TopStates {
            n,
            cap,
            user0,
            users,
            entries: vec![
                Entry {
                    score: 0.0,
                    item: 0
                };
                users * cap
            ],
            lens: vec![0; users],
            thresholds,
            exclude,
            bound,
            overflowed: false,
        }
    }

    fn cut(&mut self, user: usize) {
        let start = user * self.cap;
        let list = &mut self.entries[start..start + self.lens[user]];
        list.select_nth_unstable_by(self.n - 1, rank_order);
        self.thresholds[user] = list[self.n - 1].score;
        self.lens[user] = self.n;
    }

    /// Merge `other` (same users, later or earlier items) into `self`.
    pub fn merge(mut self, other: TopStates<'a>) -> TopStates<'a> {
        debug_assert_eq!((self.user0, self.users), (other.user0, other.users));
        self.overflowed |= other.overflowed;
        let mut both: Vec<Entry> = Vec::with_capacity(self.cap + other.cap);
        for u in 0..self.users {
            both.clear();
            both.extend_from_slice(&self.entries[u * self.cap..u * self.cap + self.lens[u]]);
            both.extend_from_slice(&other.entries[u * other.cap..u * other.cap + other.lens[u]]);
            if both.len() > self.n {
                both.select_nth_unstable_by(self.n - 1, rank_order);
                both.truncate(self.n);
            }
            let start = u * self.cap;
            self.entries[start..start + both.len()].copy_from_slice(&both);
            self.lens[u] = both.len();
        }
        self
    }

    /// Write each user's best `n` (sorted, padded with -1 / -inf) into
    /// `indices` / `scores`, both `[users, n_out]` row-major.
    pub fn finish_into(mut self, n_out: usize, indices: &mut [i64], scores: &mut [f32]) {
        for u in 0..self.users {
            let start = u * self.cap;
            let list = &mut self.entries[start..start + self.lens[u]];
            list.sort_unstable_by(rank_order);
            let row_i = &mut indices[u * n_out..(u + 1) * n_out];
            let row_s = &mut scores[u * n_out..(u + 1) * n_out];
            row_i.fill(-1);
            row_s.fill(f32::NEG_INFINITY);
            for (k, e) in list.iter().take(n_out).enumerate() {
                row_i[k] = i64::from(e.item);
                row_s[k] = e.score;
            }
        }
    }

    pub fn users(&self) -> usize {
        self.users
    }
}

impl Sink for TopStates<'_> {
    #[inline(always)]
    fn threshold_ptr(&self, lane: usize) -> *const f32 {
        self.thresholds[lane..].as_ptr()
    }

    #[inline(never)]
    fn hit(&mut self, lane: usize, item: u32, score: f32) {
        let score = reported(score, self.bound);
        if !above(score, self.thresholds[lane]) {
            return;
        }
        if let Some(ex) = self.exclude {
            if ex.contains(self.user0 + lane, item) {
                return;
            }
        }
        if self.lens[lane] == self.cap {
            self.cut(lane);
            if !above(score, self.thresholds[lane]) {
                return;
            }
        }
        self.entries[lane * self.cap + self.lens[lane]] = Entry { score, item };
        self.lens[lane] += 1;
    }

    #[cold]
    fn overflow(&mut self) {
        self.overflowed = true;
    }
}

/// A sink that keeps every score: the dense similarity matrix rows
/// `user0..user0 + users`, `[users, cols]` row-major.
pub struct DenseSink<'a> {
    pub out: &'a mut [f32],
    pub cols: usize,
    pub users: usize,
    pub thresholds: Vec<f32>,
    /// Scores are clamped to `[-bound, bound]`, as in [`TopStates`].
    pub bound: f32,
    /// Whether any score was NaN or infinite.
    pub overflowed: bool,
}

impl<'a> DenseSink<'a> {
    pub fn new(out: &'a mut [f32], cols: usize, users: usize, lanes: usize, bound: f32) -> Self {
        let mut thresholds = vec![f32::NEG_INFINITY; lanes];
        thresholds[users..].fill(f32::INFINITY);
        DenseSink {
            out,
            cols,
            users,
            thresholds,
            bound,
            overflowed: false,
        }
    }
}

impl Sink for DenseSink<'_> {
    #[inline(always)]
    fn threshold_ptr(&self, lane: usize) -> *const f32 {
        self.thresholds[lane..].as_ptr()
    }

    #[inline]
    fn hit(&mut self, lane: usize, item: u32, score: f32) {
        self.out[lane * self.cols + item as usize] = reported(score, self.bound);
    }

    #[cold]
    fn overflow(&mut self) {
        self.overflowed = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(n: usize, scores: &[f32]) -> Vec<(i64, f32)> {
        let mut st = TopStates::new(n, scores.len(), 0, 1, 1, None, f32::INFINITY);
        for (i, &s) in scores.iter().enumerate() {
            st.hit(0, i as u32, s);
        }
        let mut idx = vec![0i64; n];
        let mut sc = vec![0f32; n];
        st.finish_into(n, &mut idx, &mut sc);
        idx.into_iter().zip(sc).collect()
    }

    #[test]
    fn keeps_best_with_lower_index_on_ties() {
        let s = [1.0, 3.0, 2.0, 3.0, 0.5, 3.0, -1.0, 2.0, 2.0, 9.0, 0.0, 3.0];
        let got = run(4, &s);
        assert_eq!(got, vec![(9, 9.0), (1, 3.0), (3, 3.0), (5, 3.0)]);
    }

    #[test]
    fn pads_when_fewer_than_n() {
        let got = run(3, &[0.25, -0.0]);
        assert_eq!(got[0], (0, 0.25));
        assert_eq!(got[1], (1, 0.0));
        assert_eq!(got[2].0, -1);
        assert_eq!(got[2].1, f32::NEG_INFINITY);
    }

    /// Best `n` of `scores` (item = position) with scores clamped to
    /// `[-1, 1]`, the items split at `split` into two merged reservoirs.
    fn run_clamped(n: usize, scores: &[f32], split: usize) -> Vec<(i64, f32)> {
        let mut a = TopStates::new(n, scores.len(), 0, 1, 1, None, 1.0);
        let mut b = TopStates::new(n, scores.len(), 0, 1, 1, None, 1.0);
        for (i, &s) in scores.iter().enumerate() {
            if i < split {
                a.hit(0, i as u32, s)
            } else {
                b.hit(0, i as u32, s)
            }
        }
        let mut idx = vec![0i64; n];
        let mut sc = vec![0f32; n];
        b.merge(a).finish_into(n, &mut idx, &mut sc);
        idx.into_iter().zip(sc).collect()
    }

    #[test]
    fn clamped_scores_tie_by_lower_index() {
        let up = |k: u32| f32::from_bits(1f32.to_bits() + k); // k ulps above 1
                                                              // Raw scores rise with the index, so unclamped the last would win;
                                                              // clamped they all report 1.0 and the lowest index wins.
        let rising: Vec<f32> = (0..30).map(up).collect();
        for split in [0, 7, 30] {
            assert_eq!(run_clamped(1, &rising, split), vec![(0, 1.0)]);
            assert_eq!(
                run_clamped(3, &rising, split),
                vec![(0, 1.0), (1, 1.0), (2, 1.0)]
            );
        }
        let mixed = [0.5, up(1), 1.0, -1.0000001, up(2), -1.0, 0.99999994];
        assert_eq!(
            run_clamped(7, &mixed, 3),
            vec![
                (1, 1.0),
                (2, 1.0),
                (4, 1.0),
                (6, 0.99999994),
                (0, 0.5),
                (3, -1.0),
                (5, -1.0)
            ]
        );
        assert_eq!(reported(-0.0, 1.0).to_bits(), 0);
        assert_eq!(reported(f32::INFINITY, f32::INFINITY), f32::INFINITY);
    }

    #[test]
    fn merge_equals_single_pass() {
        let s: Vec<f32> = (0..200).map(|i| ((i * 37) % 23) as f32).collect();
        let whole = run(7, &s);
        let mut a = TopStates::new(7, s.len(), 0, 1, 1, None, f32::INFINITY);
        let mut b = TopStates::new(7, s.len(), 0, 1, 1, None, f32::INFINITY);
        for (i, &x) in s.iter().enumerate() {
            if i < 90 {
                a.hit(0, i as u32, x)
            } else {
                b.hit(0, i as u32, x)
            }
        }
        let m = b.merge(a);
        let mut idx = vec![0i64; 7];
        let mut sc = vec![0f32; 7];
        m.finish_into(7, &mut idx, &mut sc);
        assert_eq!(whole, idx.into_iter().zip(sc).collect::<Vec<_>>());
    }
}
