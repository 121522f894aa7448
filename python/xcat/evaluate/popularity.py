"""The popularity baseline: the most-interacted items of the target category."""

from __future__ import annotations

from typing import Any

import numpy as np

from xcat.kernels import TopN, topn

__all__ = ["popularity_topn"]


def popularity_topn(
    item_counts: Any,
    n_users: int,
    n: int,
    *,
    exclude: Any = None,
    candidates: Any = None,
) -> TopN:
    """Recommend the most popular items to everyone (PopRec).

    Items are ranked by training interaction count, ties to the lower item
    row, with each user's ``exclude`` items removed, through the same
    :func:`xcat.topn` kernel as every model, so the comparison is exact.

    Parameters
    ----------
    item_counts : array_like of int or float, shape (I,)
        Training interactions per item row (e.g. of the target category).
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
    order = np.lexsort((np.arange(counts.size), -counts))
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
