r"""Sampled evaluation: each held-out item ranked against random negatives.

This is the "1 + N" protocol of He et al., *Neural Collaborative Filtering*
(WWW 2017), with N = 999 as in the code of DisenCDR (Cao et al., SIGIR 2022)
and CDRIB (Cao et al., ICDE 2022), and of UniCDR after them.  Each held-out
test pair (user ``u``, positive item ``i``) is one evaluation case.  The
``N`` negatives of a pair are drawn uniformly at random, without
replacement, from the candidate catalogue (the target domain's training
items) minus every known positive of ``u``: its training and validation
items (the rows of ``seen``) and all of ``u``'s test items, not only ``i``.
A negative is therefore never an item the user is known to like.  With ``s(u, j)`` the score
of item ``j`` and ``Neg`` the pair's negatives:

.. math::

    \mathrm{rank} = 1 + |\{j \in Neg : s(u, j) \ge s(u, i)\}|

    \mathrm{HR@K} = [\mathrm{rank} \le K]

    \mathrm{NDCG@K} = [\mathrm{rank} \le K] / \log_2(\mathrm{rank} + 1)

    \mathrm{MRR} = 1 / \mathrm{rank}

Ties are counted against the positive (pessimistic): a negative scored
exactly as high as the positive ranks above it, so a model that gives every
item the same score gets rank ``N + 1``, not 1.  Every metric is the mean
over test pairs, not over users: CDRIB's test files hold several rows per
user, and a user with more test rows weighs more, as in the papers' code.

.. warning::

    Sampled metrics are **not** comparable with full-ranking metrics
    (:mod:`xcat.evaluate.metrics`), and they overstate quality: HR@10 among
    1,000 items is far higher than HR@10 among the whole catalogue, and the
    two can even order models differently (Krichene & Rendle, *On Sampled
    Metrics for Item Recommendation*, KDD 2020).  Use them only to compare
    with papers that report them, with the same ``n_negatives``, and report
    the full-ranking metrics as well.

Lower layer than models and training: everything here takes NumPy arrays
(user and item vectors, row indices), never a model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["SampledMetrics", "sample_negatives", "sampled_metrics"]

#: Elements per work block (draws when sampling, products when scoring): 32 MB of int64/float64.
_BLOCK = 1 << 22


@dataclass(frozen=True)
class SampledMetrics:
    """Mean sampled metrics over the test pairs.

    Attributes
    ----------
    values : dict of str to float
        ``"HR@K"`` and ``"NDCG@K"`` for every K (ascending), then ``"MRR"``;
        means over test pairs.
    n_pairs : int
        Test pairs evaluated (each one evaluation case).
    n_users : int
        Distinct users among the test pairs.
    n_negatives : int
        Negatives per pair (the columns of ``negatives`` when those were given).
    seed : int or None
        Seed the negatives were drawn with; ``None`` when fixed negatives
        were passed.
    ranks : numpy.ndarray of int64, shape (n_pairs,)
        Rank of each pair's positive among itself and its negatives, 1 best.
    """

    values: dict[str, float]
    n_pairs: int
    n_users: int
    n_negatives: int
    seed: int | None
    ranks: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False, compare=False
    )

    def __getitem__(self, name: str) -> float:
        """Return the mean value of metric ``name``, e.g. ``result["HR@10"]``."""
        return self.values[name]


# ----------------------------------------------------------------------------- validation


def _int_scalar(value: Any, arg: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{arg}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def _rows(values: Any, arg: str, n: int, what: str) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
        raise ValueError(f"{arg}: expected a 1-D integer array, got {a.dtype} of shape {a.shape}")
    a = a.astype(np.int64, copy=False)
    bad = (a < 0) | (a >= n)
    if bad.any():
        raise ValueError(
            f"{arg}: {int(bad.sum())} values out of range 0..{n - 1} ({what}), "
            f"e.g. {a[bad][:5].tolist()}"
        )
    return a


def _pairs(test_users: Any, test_items: Any, n_users: int, n_items: int, source: str):
    users = _rows(test_users, "test_users", n_users, f"user rows of {source}")
    items = _rows(test_items, "test_items", n_items, f"item rows of {source}")
    if users.shape != items.shape:
        raise ValueError(
            f"test_items: has {items.shape[0]} entries but test_users has {users.shape[0]}; "
            "they must pair up one to one"
        )
    if users.size == 0:
        raise ValueError("test_users: no test pairs given")
    return users, items


def _seen(seen: Any, shape: tuple[int, int] | None) -> sp.csr_matrix:
    if not sp.issparse(seen):
        raise ValueError(
            "seen: expected a scipy.sparse matrix [users, items] of interacted items, "
            f"got {type(seen).__name__}"
        )
    if seen.ndim != 2 or (shape is not None and seen.shape != shape):
        raise ValueError(
            f"seen: has shape {seen.shape}, expected {shape} (users of user_vectors, "
            "items of item_vectors)"
        )
    return sp.csr_matrix(seen)


def _candidates(candidates: Any, n_items: int, items: np.ndarray) -> np.ndarray:
    cand = np.unique(_rows(candidates, "candidates", n_items, "item rows"))
    if cand.size == 0:
        raise ValueError("candidates: no candidate items given")
    pos = np.minimum(np.searchsorted(cand, items), cand.size - 1)
    missing = cand[pos] != items
    if missing.any():
        raise ValueError(
            f"test_items: {int(missing.sum())} test pairs have an item that is not in "
            f"candidates, e.g. item rows {np.unique(items[missing])[:5].tolist()}; the "
            "positive must be drawn from the same catalogue as its negatives"
        )
    return cand


# ----------------------------------------------------------------------------- sampling


def _excluded(
    users: np.ndarray, items: np.ndarray, seen: sp.csr_matrix, cand: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each test user's excluded candidate positions.

    Returns the pair -> user-group map, and per group the start of its
    excluded positions and the keys ``group * (C + 1) + e_j - j`` (``e_j``
    the j-th excluded position, ascending) used to skip them.
    """
    n_cand = cand.size
    uniq, group = np.unique(users, return_inverse=True)
    sub = seen[uniq]
    sub.eliminate_zeros()  # a stored zero is not an interaction
    rows = np.concatenate([np.repeat(np.arange(uniq.size), np.diff(sub.indptr)), group])
    cols = np.concatenate([sub.indices.astype(np.int64), items])
    pos = np.searchsorted(cand, cols)
    inside = pos < n_cand
    inside[inside] = cand[pos[inside]] == cols[inside]
    key = np.unique(rows[inside] * n_cand + pos[inside])
    ex_row, ex_pos = np.divmod(key, n_cand)
    counts = np.bincount(ex_row, minlength=uniq.size)
    starts = np.concatenate([[0], np.cumsum(counts)])
    skip_keys = ex_row * (n_cand + 1) + ex_pos - (np.arange(key.size) - starts[ex_row])
    return group, starts, skip_keys


def _draws_needed(n: int, m: int) -> int:
    """Draws with replacement from ``m`` values that give ``n`` distinct ones, w.h.p."""
    q = (m - np.arange(n)) / m  # success chance of each new distinct value
    mean = float(np.sum(1.0 / q))
    sd = float(np.sqrt(np.sum((1.0 - q) / q**2)))
    return int(np.ceil(mean + 6.0 * sd)) + 8


def _distinct_prefix(draws: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """First ``n`` distinct values of each row, in draw order, and which rows have them."""
    r, k = draws.shape
    key = np.sort(draws * k + np.arange(k), axis=1)  # by value, then by draw position
    value, col = np.divmod(key, k)
    first = np.ones((r, k), dtype=bool)
    first[:, 1:] = value[:, 1:] != value[:, :-1]
    keep = np.zeros((r, k), dtype=bool)
    keep[np.nonzero(first)[0], col[first]] = True
    keep &= np.cumsum(keep, axis=1) <= n
    ok = keep.sum(axis=1) == n
    return draws[ok][keep[ok]].reshape(-1, n), ok


def _draw_ranks(rng: np.random.Generator, n_free: np.ndarray, n: int) -> np.ndarray:
    """``n`` distinct integers uniform in ``0..n_free[p]-1`` for each row ``p``."""
    out = np.empty((n_free.size, n), dtype=np.int64)
    # Large catalogues: draw with replacement and keep the first n distinct values
    # (a uniform sample without replacement); rows short of n distinct are redrawn.
    big = np.flatnonzero(n_free >= 2 * n)
    if big.size:
        k = _draws_needed(n, int(n_free[big].min()))
        step = max(1, _BLOCK // k)
        for start in range(0, big.size, step):
            todo = big[start : start + step]
            kk = k
            while todo.size:
                draws = rng.integers(0, n_free[todo][:, None], size=(todo.size, kk))
                got, ok = _distinct_prefix(draws, n)
                out[todo[ok]] = got
                todo, kk = todo[~ok], 2 * kk
    # Small catalogues (n is at least half of them): one partial shuffle per row.
    for p in np.flatnonzero(n_free < 2 * n):
        out[p] = rng.choice(int(n_free[p]), size=n, replace=False)
    return out


def _sample(
    users: np.ndarray,
    items: np.ndarray,
    seen: sp.csr_matrix,
    cand: np.ndarray,
    n: int,
    seed: int,
) -> np.ndarray:
    n_cand = cand.size
    group, starts, skip_keys = _excluded(users, items, seen, cand)
    n_free = n_cand - np.diff(starts)
    short = n_free < n
    if short.any():
        raise ValueError(
            f"n_negatives: {n} negatives requested, but {int(short.sum())} test users have "
            f"fewer eligible candidates (candidates minus their seen and test items; "
            f"fewest: {int(n_free.min())}); lower n_negatives"
        )
    # Sorted per row, the queries below ascend overall and searchsorted runs fast.
    ranks = np.sort(_draw_ranks(np.random.default_rng(seed), n_free[group], n), axis=1)
    # The r-th free position of a user is r plus the number of excluded positions
    # e_j with e_j - j <= r (the keys hold e_j - j, offset per user).
    base = group[:, None] * (n_cand + 1)
    skipped = np.searchsorted(skip_keys, base + ranks, side="right") - starts[group][:, None]
    return cand[ranks + skipped]


def sample_negatives(
    test_users: Any,
    test_items: Any,
    seen: sp.csr_matrix,
    candidates: Any,
    *,
    n_negatives: int = 999,
    seed: int = 0,
) -> np.ndarray:
    """Draw the random negatives of each test pair (DisenCDR / CDRIB protocol).

    For each pair, ``n_negatives`` distinct items drawn uniformly at random,
    without replacement, from ``candidates`` minus every known positive of
    the user: its row of ``seen`` (training and validation items) and all of
    its test items in ``test_items`` (not only the pair's own).  Pairs of the same user get
    independent draws.  This is the sampling of Cao et al., DisenCDR
    (SIGIR 2022) and CDRIB (ICDE 2022), after the 1 + N protocol of He et
    al., NCF (WWW 2017); see the module docstring for why such metrics must
    not be compared with full-ranking ones.

    Parameters
    ----------
    test_users : array_like of int, shape (P,)
        User row of each test pair.
    test_items : array_like of int, shape (P,)
        Positive item row of each test pair; each must be in ``candidates``.
    seen : scipy.sparse matrix, shape (n_users, n_items)
        Items each user is known to have interacted with outside the test
        pairs (nonzero entries): its training **and validation** items.
    candidates : array_like of int, shape (C,)
        Item rows negatives are drawn from, e.g. the target domain's training
        items.  Order and duplicates do not matter.
    n_negatives : int, default 999
        Negatives per pair, at least 1.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`; the same inputs and seed
        give the same negatives on any machine (no threads are used).

    Returns
    -------
    numpy.ndarray of int64, shape (P, n_negatives)
        Item rows, distinct and ascending within a row.

    Raises
    ------
    ValueError
        If an argument has the wrong type, shape or dimension, a row is out
        of range, a test item is not a candidate, ``n_negatives < 1``, the
        seed is negative, or some user has fewer than ``n_negatives``
        eligible candidates (the message gives how many users).
    """
    n_negatives = _int_scalar(n_negatives, "n_negatives", 1)
    seed = _int_scalar(seed, "seed", 0)
    seen = _seen(seen, None)
    n_users, n_items = seen.shape
    users, items = _pairs(test_users, test_items, n_users, n_items, "seen")
    cand = _candidates(candidates, n_items, items)
    return _sample(users, items, seen, cand, n_negatives, seed)


# ----------------------------------------------------------------------------- metrics


def _vectors(values: Any, arg: str) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 2 or a.dtype.kind not in "fiu":
        raise ValueError(f"{arg}: expected a 2-D float array, got {a.dtype} of shape {a.shape}")
    return a


def _pair_scores(
    user_vectors: np.ndarray, item_vectors: np.ndarray, users: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """``user_vectors[users[p]] . item_vectors[cols[p, j]]`` in float64.

    Every score is summed by the same loop, so two items with equal vectors
    get exactly equal scores and ties are detected reliably (BLAS matmul can
    differ in the last bit between rows).
    """
    n_pairs, m = cols.shape
    step = max(1, _BLOCK // (m * max(item_vectors.shape[1], 1)))
    uv = user_vectors.astype(np.float64, copy=False)
    iv = item_vectors.astype(np.float64, copy=False)
    out = np.empty((n_pairs, m), dtype=np.float64)
    for start in range(0, n_pairs, step):
        sl = slice(start, start + step)
        # einsum's own loop (no BLAS): one dot product per output, all alike
        out[sl] = np.einsum("pmd,pd->pm", iv[cols[sl]], uv[users[sl]])
    return out


def sampled_metrics(
    user_vectors: Any,
    item_vectors: Any,
    test_users: Any,
    test_items: Any,
    *,
    seen: sp.csr_matrix | None = None,
    candidates: Any = None,
    n_negatives: int = 999,
    ks: Iterable[int] = (1, 5, 10),
    seed: int = 0,
    negatives: Any = None,
) -> SampledMetrics:
    """HR@K, NDCG@K and MRR of each positive ranked against sampled negatives.

    The protocol of Cao et al., DisenCDR (SIGIR 2022) and CDRIB (ICDE 2022):
    each test pair's positive is ranked against ``n_negatives`` (999) random
    negatives from :func:`sample_negatives`, or against fixed ``negatives``
    (e.g. Bi-TGCF's 99 per user); the 1 + N protocol of He et al., NCF
    (WWW 2017).  Scores are dot products of user and item vectors computed in
    float64 (cosine for unit rows).  rank = 1 + the number of negatives scored
    higher than **or equal to** the positive: ties count against the
    positive.  HR@K = [rank <= K], NDCG@K = [rank <= K] / log2(rank + 1),
    MRR = 1 / rank, each the mean over test pairs (a user with several test
    rows counts once per row).

    .. warning::

        Sampled metrics are not comparable with full-ranking metrics and
        overstate quality, and may even order models differently (Krichene &
        Rendle, "On Sampled Metrics for Item Recommendation", KDD 2020).
        Compare them only with numbers from the same protocol and
        ``n_negatives``.

    Parameters
    ----------
    user_vectors : array_like of float, shape (n_users, d)
        User embeddings by user row (float32 or float64).
    item_vectors : array_like of float, shape (n_items, d)
        Item embeddings by item row.
    test_users : array_like of int, shape (P,)
        User row of each test pair.
    test_items : array_like of int, shape (P,)
        Positive item row of each test pair.
    seen : scipy.sparse matrix, shape (n_users, n_items), optional
        Items each user is known to have interacted with outside the test
        pairs (training and validation); excluded from its negatives
        together with all of its test items.  Required unless
        ``negatives`` is given (then unused).
    candidates : array_like of int, shape (C,), optional
        Item rows negatives are drawn from (the target domain's training
        items); must contain every test item.  Required unless ``negatives``
        is given (then unused).
    n_negatives : int, default 999
        Negatives drawn per pair, at least 1; ignored with ``negatives``.
    ks : iterable of int, default (1, 5, 10)
        Cut-offs for HR and NDCG, each at least 1.
    seed : int, default 0
        Seed of the negative sampling (see :func:`sample_negatives`).
    negatives : array_like of int, shape (P, m), optional
        Fixed negative item rows per pair, used instead of sampling; must not
        contain the pair's own positive.

    Returns
    -------
    SampledMetrics
        ``values`` holds ``HR@K`` and ``NDCG@K`` for each K, then ``MRR``.

    Raises
    ------
    ValueError
        If shapes disagree (vectors' dimension, ``seen``'s shape, pair
        lengths, ``negatives``' rows), a row is out of range, a vector is
        not finite, a test item is not a candidate, a K is below 1,
        ``n_negatives < 1``, ``seen`` or ``candidates`` is missing without
        ``negatives``, a fixed negative is its pair's positive, or some user
        has fewer than ``n_negatives`` eligible candidates.  The message
        names the argument.
    """
    uv = _vectors(user_vectors, "user_vectors")
    iv = _vectors(item_vectors, "item_vectors")
    if uv.shape[1] != iv.shape[1]:
        raise ValueError(
            f"item_vectors: dimension {iv.shape[1]} differs from user_vectors' {uv.shape[1]}"
        )
    users, items = _pairs(test_users, test_items, uv.shape[0], iv.shape[0], "the vectors")
    ks_list = sorted({int(k) for k in ks})
    if not ks_list or ks_list[0] < 1:
        raise ValueError(f"ks: expected one or more cut-offs >= 1, got {ks_list}")
    for arg, vec, rows in (("user_vectors", uv, users), ("item_vectors", iv, None)):
        used = vec if rows is None else vec[np.unique(rows)]
        bad = ~np.isfinite(used).all(axis=1)
        if bad.any():
            raise ValueError(f"{arg}: {int(bad.sum())} rows used here have NaN or inf values")

    if negatives is None:
        n_negatives = _int_scalar(n_negatives, "n_negatives", 1)
        seed = _int_scalar(seed, "seed", 0)
        if seen is None or candidates is None:
            missing = "seen" if seen is None else "candidates"
            raise ValueError(f"{missing}: required to sample negatives (or pass negatives=)")
        seen_csr = _seen(seen, (uv.shape[0], iv.shape[0]))
        cand = _candidates(candidates, iv.shape[0], items)
        neg = _sample(users, items, seen_csr, cand, n_negatives, seed)
        used_seed: int | None = seed
    else:
        neg = np.asarray(negatives)
        if neg.ndim != 2 or neg.shape[0] != users.size or neg.shape[1] < 1:
            raise ValueError(
                f"negatives: expected shape ({users.size}, m) with m >= 1 (one row per test "
                f"pair), got {neg.shape}"
            )
        neg = _rows(neg.reshape(-1), "negatives", iv.shape[0], "item rows of the vectors")
        neg = neg.reshape(users.size, -1)
        own = (neg == items[:, None]).any(axis=1)
        if own.any():
            raise ValueError(
                f"negatives: {int(own.sum())} rows contain their own pair's positive item, "
                f"e.g. pairs {np.flatnonzero(own)[:5].tolist()}"
            )
        used_seed = None

    scores = _pair_scores(uv, iv, users, np.concatenate([items[:, None], neg], axis=1))
    ranks = 1 + (scores[:, 1:] >= scores[:, :1]).sum(axis=1)
    values: dict[str, float] = {}
    for k in ks_list:
        values[f"HR@{k}"] = float(np.mean(ranks <= k))
    for k in ks_list:
        values[f"NDCG@{k}"] = float(np.mean(np.where(ranks <= k, 1.0 / np.log2(ranks + 1), 0.0)))
    values["MRR"] = float(np.mean(1.0 / ranks))
    return SampledMetrics(
        values=values,
        n_pairs=int(users.size),
        n_users=int(np.unique(users).size),
        n_negatives=int(neg.shape[1]),
        seed=used_seed,
        ranks=ranks.astype(np.int64),
    )
