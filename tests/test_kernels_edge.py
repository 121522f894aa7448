"""Cosine edge cases of xcat.topn and xcat.cosine_similarity.

Two conventions, each against an independent reference (hand-computed, or
NumPy float64):

- cosine scores are clamped to [-1, 1], and the order (score descending, ties
  to the lower index) holds on the clamped, reported scores;
- cosine is scale-invariant over the whole finite float32 range: rows of any
  non-zero norm (subnormal values, values near float32's max, whose squared
  norm overflows) are scored, and multiplying a row by a power of two changes
  nothing.
"""

from __future__ import annotations

import numpy as np
import pytest
import xcat
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_kernels import assert_close_topn, isas, reference_scores
from xcat import _xcat

SUB = np.float32(2.0**-149)  # smallest subnormal
MAX = np.finfo(np.float32).max


def ranked(scores):
    """Indices of each row by (score desc, index asc): the documented order."""
    idx = np.arange(scores.shape[1])
    return np.stack([np.lexsort((idx, -row)) for row in scores])


def kernel_inverse_norm(row):
    """1/|row| as the kernel computes it: an f64 sum of squares in its order
    (8 interleaved partial sums, then the tail), rounded to float32 once."""
    sq = row.astype(np.float64) ** 2
    whole = len(sq) // 8 * 8
    acc = [0.0] * 8
    for c in range(0, whole, 8):
        for i in range(8):
            acc[i] += sq[c + i]
    s = 0.0
    for v in sq[whole:]:
        s += v
    pairs = [acc[0] + acc[4], acc[1] + acc[5], acc[2] + acc[6], acc[3] + acc[7]]
    s = s + ((pairs[0] + pairs[2]) + (pairs[1] + pairs[3]))
    return np.float32(0.0) if s == 0 else np.float32(1.0 / np.sqrt(s))


def raw_cosine(users, items):
    """The unclamped float32 cosine every kernel path computes for rows near
    unit norm: the user pre-scaled by its inverse norm, the dot product over
    d in order (the kernel's own dot metric), times the item's inverse norm."""
    scaled = users * np.array([kernel_inverse_norm(u) for u in users])[:, None]
    top = xcat.topn(scaled.astype(np.float32), items, len(items), metric="dot")
    dots = np.empty((len(users), len(items)), dtype=np.float32)
    np.put_along_axis(dots, top.indices, top.scores, 1)
    return dots * np.array([kernel_inverse_norm(v) for v in items], dtype=np.float32)


# ------------------------------------------------------------ cosine range


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_cosine_scores_never_leave_the_unit_interval(dtype):
    # The reported cases: self-similarity of random rows rounds to 1.0000011
    # (float32) and 1.000001 (float16, d = 512) without the clamp.
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.standard_normal((64, 512)).astype(dtype)
        for users in (x, -x):
            top = xcat.topn(users, x, 3)
            assert top.scores.max() <= 1.0 and top.scores.min() >= -1.0
            dense = xcat.cosine_similarity(users, x)
            assert dense.max() <= 1.0 and dense.min() >= -1.0
            # The float64 reference is within [-1, 1]; the clamp only moves
            # scores toward it.
            ref = reference_scores(users, x, "cosine")
            np.testing.assert_allclose(dense, ref, atol=1e-5, rtol=0)


def multiples(seed, d=64, n_items=60):
    """Items that are float32 multiples of one vector: their raw cosines with
    it straddle 1.0 (0.99999994, 1.0, 1.0000001, ...) by rounding alone."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.5, 0.5, d).astype(np.float32)
    items = np.stack([x * np.float32(1 + j / 64) for j in range(n_items)])
    return np.stack([x, -x]), items


def clamp_ties_data():
    """The first seed whose raw scores go beyond [-1, 1] with a lower index
    scoring below a higher one although both clamp to 1.0."""
    for seed in range(200):
        users, items = multiples(seed)
        raw = raw_cosine(users, items)
        above = raw[0] >= 1.0
        inverted = any(
            raw[0, i] < raw[0, j] for i in np.flatnonzero(above) for j in np.flatnonzero(above)
        )
        if inverted and (raw[1] < -1.0).any():
            return users, items, raw
    raise AssertionError("no seed gives raw cosine scores beyond 1")


def test_clamped_ties_go_to_the_lower_index_for_every_n():
    # Clamping only the reported scores after selection would keep the item
    # with the larger raw score at the cut (1.0000001 beats an earlier 1.0):
    # the selection itself must see clamped scores.
    users, items, raw = clamp_ties_data()
    want_scores = np.clip(raw, -1.0, 1.0)
    want = ranked(want_scores)
    dense = xcat.cosine_similarity(users, items)
    np.testing.assert_array_equal(dense, want_scores)
    for n in range(1, len(items) + 1):
        for isa in isas():
            for threads, block in ((1, None), (2, 5), (2, 16)):
                idx, sc = _xcat.topn(
                    users,
                    items,
                    n,
                    "cosine",
                    num_threads=threads,
                    block_items=block,
                    isa_name=isa,
                )
                np.testing.assert_array_equal(idx, want[:, :n])
                np.testing.assert_array_equal(sc, np.take_along_axis(want_scores, want[:, :n], 1))


# ------------------------------------------------------- scale invariance


def test_rows_anywhere_in_the_float32_range_hand_computed():
    t = np.float32(2.0**125)
    users = np.array(
        [
            [3 * t, 4 * t],  # norm 5 * 2**125 ~ 2.1e38
            [3 * SUB, 4 * SUB],  # subnormal
            [3, 4],
            [MAX, MAX],  # squared norm overflows float32, norm > float32 max
            [1, 0],
        ],
        dtype=np.float32,
    )
    s140 = np.float32(2.0**-140)
    items = np.array([[0, SUB], [MAX, 0], [s140, s140], [0, 0]], dtype=np.float32)
    h = 2**-0.5
    want = np.array(
        [
            [0.8, 0.6, 1.4 * h, 0.0],
            [0.8, 0.6, 1.4 * h, 0.0],
            [0.8, 0.6, 1.4 * h, 0.0],
            [h, h, 1.0, 0.0],
            [0.0, 1.0, h, 0.0],
        ]
    )
    dense = xcat.cosine_similarity(users, items)
    np.testing.assert_allclose(dense, want, atol=1e-6, rtol=0)
    # (3, 4) at any scale gives the same bits.
    np.testing.assert_array_equal(dense[0], dense[2])
    np.testing.assert_array_equal(dense[1], dense[2])
    top = xcat.topn(users, items, 4)
    np.testing.assert_array_equal(top.indices[0], [2, 0, 1, 3])
    np.testing.assert_array_equal(top.indices[4], [1, 2, 0, 3])
    np.testing.assert_array_equal(top.scores, np.take_along_axis(dense, top.indices, 1))
    # One query at a time takes another kernel; same scores.
    for u in range(len(users)):
        one = xcat.topn(users[u], items, 4)
        np.testing.assert_array_equal(one.indices, top.indices[u])
        np.testing.assert_array_equal(one.scores, top.scores[u])


def test_rows_that_used_to_raise_are_scored():
    # Norms 1e-39 and 5.2e38 were rejected ("cosine needs norms between
    # 1e-30 and 1e30"); both rows have a well-defined cosine.
    tiny = np.array([[1e-39, 0, 0]], np.float32)
    top = xcat.topn(tiny, np.eye(3, dtype=np.float32), 3)
    np.testing.assert_array_equal(top.indices, [[0, 1, 2]])
    np.testing.assert_array_equal(top.scores, [[1.0, 0.0, 0.0]])
    huge = np.array([[3e38] * 3], np.float32)
    top = xcat.topn(np.ones((2, 3)), huge, 1)
    np.testing.assert_array_equal(top.indices, [[0], [0]])
    np.testing.assert_allclose(top.scores, 1.0, atol=1e-6, rtol=0)
    assert top.scores.max() <= 1.0


def test_long_row_at_float32_max_is_parallel_to_ones():
    d = 64
    big = np.full((1, d), MAX, dtype=np.float32)
    items = np.stack([np.ones(d), np.full(d, -MAX)]).astype(np.float32)
    top = xcat.topn(big, items, 2)
    np.testing.assert_array_equal(top.indices, [[0, 1]])
    np.testing.assert_allclose(top.scores, [[1.0, -1.0]], atol=1e-6, rtol=0)
    assert top.scores.max() <= 1.0 and top.scores.min() >= -1.0


# Small mantissas times small powers of two: every multiple by 2**k with k in
# [-146, 121] is exact in float32, subnormals included.
coarse = st.builds(lambda m, e: m * 2.0**e, st.integers(-7, 7), st.integers(-3, 3))
exponents = st.integers(-146, 121)


@st.composite
def scaled_problems(draw):
    d = draw(st.integers(1, 8))
    n_users = draw(st.integers(1, 20))
    n_items = draw(st.integers(1, 40))
    users = draw(hnp.arrays(np.float32, (n_users, d), elements=coarse))
    items = draw(hnp.arrays(np.float32, (n_items, d), elements=coarse))
    ku = draw(hnp.arrays(np.int64, n_users, elements=exponents))
    ki = draw(hnp.arrays(np.int64, n_items, elements=exponents))
    n = draw(st.integers(1, n_items + 2))
    return users, items, ku, ki, n


def times_pow2(rows, k):
    return (rows.astype(np.float64) * np.exp2(k.astype(np.float64))[:, None]).astype(np.float32)


@given(scaled_problems())
def test_power_of_two_row_scales_change_nothing(problem):
    users, items, ku, ki, n = problem
    su, si = times_pow2(users, ku), times_pow2(items, ki)
    # The multiples are exact: scaling back recovers the rows.
    np.testing.assert_array_equal(times_pow2(su, -ku), users)
    np.testing.assert_array_equal(times_pow2(si, -ki), items)
    for isa in isas():
        base = _xcat.topn(users, items, n, "cosine", isa_name=isa)
        for threads, block in ((1, None), (2, 3)):
            got = _xcat.topn(
                su, si, n, "cosine", num_threads=threads, block_items=block, isa_name=isa
            )
            np.testing.assert_array_equal(got[0], base[0])
            np.testing.assert_array_equal(got[1], base[1])
    got = xcat.topn(su, si, n)
    assert np.all(got.scores[got.indices >= 0] <= 1.0)
    assert np.all(got.scores[got.indices >= 0] >= -1.0)
    assert_close_topn(got, reference_scores(su, si, "cosine"), n, atol=2e-6 * users.shape[1])
    dense = xcat.cosine_similarity(su, si)
    valid = got.indices >= 0
    np.testing.assert_array_equal(
        np.take_along_axis(dense, got.indices, 1)[valid], got.scores[valid]
    )


# Any finite float32, from subnormals to the largest, in rows that may mix
# them; some rows scaled as a whole toward either end of the range.
any_finite = st.floats(width=32, allow_nan=False, allow_infinity=False)


@st.composite
def wide_problems(draw):
    d = draw(st.integers(1, 8))
    n_users = draw(st.integers(1, 12))
    n_items = draw(st.integers(1, 30))
    users = draw(hnp.arrays(np.float32, (n_users, d), elements=any_finite))
    items = draw(hnp.arrays(np.float32, (n_items, d), elements=any_finite))
    for rows in (users, items):
        unit = draw(hnp.arrays(np.float32, rows.shape, elements=st.floats(-1, 1, width=32)))
        k = draw(hnp.arrays(np.int64, len(rows), elements=st.integers(-149, 127)))
        pick = draw(hnp.arrays(np.bool_, len(rows)))
        rows[pick] = times_pow2(unit, k)[pick]
    n = draw(st.integers(1, n_items + 2))
    return users, items, n


@given(wide_problems())
def test_any_finite_rows_match_float64_reference(problem):
    users, items, n = problem
    got = xcat.topn(users, items, n)
    valid = got.indices >= 0
    assert np.all(np.abs(got.scores[valid]) <= 1.0)
    assert_close_topn(got, reference_scores(users, items, "cosine"), n, atol=2e-6 * users.shape[1])
    dense = xcat.cosine_similarity(users, items)
    assert np.all(np.abs(dense) <= 1.0)
    np.testing.assert_array_equal(
        np.take_along_axis(dense, got.indices, 1)[valid], got.scores[valid]
    )
    results = [_xcat.topn(users, items, n, "cosine", isa_name=isa) for isa in isas()]
    results.append(_xcat.topn(users, items, n, "cosine", num_threads=2, block_items=4))
    for other in results:
        np.testing.assert_array_equal(other[0], got.indices)
        np.testing.assert_array_equal(other[1], got.scores)
