"""NDCG@k / HR@k of embeddings: :func:`xcat.topn` then :mod:`xcat.evaluate`.

The compact result early stopping needs; the definitions live in
:func:`xcat.evaluate.ranking_metrics`. No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from xcat import evaluate
from xcat.kernels import topn

__all__ = ["RankingResult", "ranking_metrics"]


@dataclass(frozen=True)
class RankingResult:
    """Mean ranking metrics over evaluated users.

    Attributes
    ----------
    ndcg : float
        Mean NDCG@k.
    hr : float
        Mean HR@k (hit rate: 1 if any held-out item is in the top k).
    k : int
    n_users : int
        Users evaluated (those with at least one held-out item).
    """

    ndcg: float
    hr: float
    k: int
    n_users: int


def ranking_metrics(
    user_vectors: np.ndarray,
    item_vectors: np.ndarray,
    truth: sp.csr_matrix,
    *,
    k: int = 10,
    exclude: sp.csr_matrix | None = None,
    candidates: Any = None,
    num_threads: int | None = None,
) -> RankingResult:
    r"""NDCG@k and HR@k of a full ranking, one row per user.

    Every user is ranked against all eligible items (``candidates`` minus
    ``exclude``), exactly, with :func:`xcat.topn` (cosine).

    .. math::
        \mathrm{NDCG@k} = \frac{\sum_{r=1}^{k} \mathbb{1}[i_r \in T] / \log_2(r+1)}
                               {\sum_{r=1}^{\min(k, |T|)} 1 / \log_2(r+1)},
        \qquad \mathrm{HR@k} = \mathbb{1}[\{i_1..i_k\} \cap T \neq \emptyset]

    with ``T`` the user's held-out items (Järvelin & Kekäläinen, TOIS 2002;
    with one held-out item this is the leave-one-out NDCG/HR of
    He et al., NCF, WWW 2017).

    Parameters
    ----------
    user_vectors : numpy.ndarray of float32, shape (U, d)
    item_vectors : numpy.ndarray of float32, shape (I, d)
    truth : scipy.sparse.csr_matrix, shape (U, I)
        Held-out items of each user (stored entries count).
    k : int, default 10
    exclude : scipy.sparse.csr_matrix, shape (U, I), optional
        Items never ranked for that user (its training items).
    candidates : array_like of int, shape (C,), optional
        The catalogue (e.g. target-domain item rows); default all items.
    num_threads : int, optional
        Passed to :func:`xcat.topn`.

    Returns
    -------
    RankingResult
        Means over users with at least one held-out item; ``nan`` when
        there are none.

    Raises
    ------
    ValueError
        If shapes disagree or ``k < 1``.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k: expected a positive integer, got {k!r}")
    truth = sp.csr_matrix(truth)
    if truth.shape != (len(user_vectors), len(item_vectors)):
        raise ValueError(
            f"truth: expected shape ({len(user_vectors)}, {len(item_vectors)}), got {truth.shape}"
        )
    has = np.diff(truth.indptr) > 0
    rows = np.flatnonzero(has)
    if len(rows) == 0:
        return RankingResult(float("nan"), float("nan"), int(k), 0)
    ex = exclude[rows] if exclude is not None else None
    top = topn(
        user_vectors[rows],
        item_vectors,
        int(k),
        exclude=ex,
        candidates=candidates,
        num_threads=num_threads,
    ).indices
    relevant = truth[rows]
    relevant.data = np.ones_like(relevant.data)  # binary relevance: any stored entry
    m = evaluate.ranking_metrics(top, relevant, ks=(int(k),))
    return RankingResult(m[f"NDCG@{k}"], m[f"HR@{k}"], int(k), m.n_users)
