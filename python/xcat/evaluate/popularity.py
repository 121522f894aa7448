"""Item popularity, defined once, and the popularity baseline (PopRec).

**Popularity of an item = the number of distinct users who interacted with it
in the training data** (:func:`item_popularity`). A user who buys the same
item five times is one user who likes it: counting distinct users keeps a
few heavy re-buyers from making an item look popular to everyone else.
Items are ranked by popularity, most popular first, ties to the lower item
row (:func:`popularity_order`). The evaluation baseline
(:func:`popularity_topn`, :class:`xcat.evaluate.TestEvaluator`) and
:class:`xcat.recommend.Recommender`'s fallback for unknown users both use
these two functions, so they always agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xcat.kernels import TopN, topn

__all__ = ["item_popularity", "popularity_order", "popularity_topn"]


def item_popularity(users: Any, items: Any, n_items: int) -> np.ndarray:
    """Count the distinct users who interacted with each item: the one popularity definition.

    Parameters
    ----------
    users, items : array_like of int, shape (N,)
        User row and item row of each training interaction (one row per
        event; repeated events of a user and an item count once).
    n_items : int
        Item rows of the vocabulary (length of the result).

    Returns
    -------
    numpy.ndarray of int64, shape (n_items,)
        Distinct users per item row (0 for items nobody interacted with).

    Raises
    ------
    ValueError
        If the arrays are not 1-D integers of the same length, or a row is
        negative or an item row is not below ``n_items``.
    """
    u, i = np.asarray(users), np.asarray(items)
    for name, a in (("users", u), ("items", i)):
        if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
            raise ValueError(
                f"{name}: expected a 1-D integer array, got {a.dtype} of shape {a.shape}"
            )
    if u.shape != i.shape:
        raise ValueError(f"items: has {i.size} entries but users has {u.size}")
    u, i = u.astype(np.int64, copy=False), i.astype(np.int64, copy=False)
    if u.size and (u.min() < 0 or i.min() < 0 or i.max() >= n_items):
        raise ValueError(f"users, items: rows must be >= 0 and item rows below {n_items}")
    if u.size == 0:
        return np.zeros(n_items, dtype=np.int64)
    width = int(u.max()) + 1
    distinct = np.unique(i * width + u)  # one key per distinct (item, user) pair
    return np.bincount(distinct // width, minlength=n_items).astype(np.int64)


def popularity_order(popularity: Any) -> np.ndarray:
    """Item rows from most to least popular, ties to the lower item row.

    Parameters
    ----------
    popularity : array_like of int or float, shape (I,)
        E.g. :func:`item_popularity`.

    Returns
    -------
    numpy.ndarray of int64, shape (I,)
    """
    counts = np.asarray(popularity, dtype=np.float64)
    return np.lexsort((np.arange(counts.size), -counts)).astype(np.int64)


def popularity_topn(
    item_counts: Any,
    n_users: int,
    n: int,
    *,
    exclude: Any = None,
    candidates: Any = None,
) -> TopN:
    """Recommend the most popular items to everyone (PopRec).

    Items are ranked by ``item_counts`` (:func:`popularity_order`: most
    popular first, ties to the lower item row), with each user's ``exclude``
    items removed, through the same :func:`xcat.topn` kernel as every
    model, so the comparison is exact.

    Parameters
    ----------
    item_counts : array_like of int or float, shape (I,)
        Popularity per item row, :func:`item_popularity` of the training
        interactions (distinct users per item).
    n_users : int
        Rows of the result.
    n : int
        Items per user.
    exclude, candidates
        As :func:`xcat.topn`.

    Returns
    -------
    TopN
        Scores are the items' counts.

    Raises
    ------
    ValueError
        If counts are negative, not 1-D, or the catalogue has more than
        2**24 items (ranks would not be exact in float32); as
        :func:`xcat.topn` otherwise.
    """
    counts = np.asarray(item_counts, dtype=np.float64)
    if counts.ndim != 1 or (counts.size and counts.min() < 0):
        raise ValueError("item_counts: expected a 1-D array of non-negative counts")
    if counts.size >= 2**24:
        raise ValueError("item_counts: more than 2**24 items; ranks would not be exact in float32")
    # Rank (count desc, row asc) as an exact float32 score; top-n keeps that order.
    order = popularity_order(counts)
    rank_score = np.empty(counts.size, dtype=np.float32)
    rank_score[order] = np.arange(counts.size, 0, -1, dtype=np.float32)
    result = topn(
        np.ones((n_users, 1), dtype=np.float32),
        rank_score[:, None],
        n,
        metric="dot",
        exclude=exclude,
        candidates=candidates,
    )
    scores = np.where(result.indices >= 0, counts[np.maximum(result.indices, 0)], -np.inf)
    return TopN(result.indices, scores.astype(np.float32))
