"""NDCG@k / HR@k of embeddings: :func:`xcat.topn` then :mod:`xcat.evaluate`.

The compact result early stopping needs; the definitions live in
:func:`xcat.evaluate.ranking_metrics`. No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from xcat import evaluate
from xcat.kernels import topn

__all__ = ["RankingResult", "heldout_metrics", "ranking_metrics"]


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


def _rows(idmap: Any, values: pd.Series) -> np.ndarray:
    """Row numbers of raw ids (text or numbers), -1 where unknown or unparseable (no warning)."""
    ids, bad = idmap.parse(values)
    dtype = np.int64 if idmap.kind == "int" else object
    rows = np.asarray(idmap.ids.get_indexer(pd.Index(ids.to_numpy(), dtype=dtype)))
    rows[bad] = -1
    return rows


def _item_rows(vocab: Any, frame: pd.DataFrame) -> np.ndarray:
    return _rows(vocab.items, vocab.item_keys(frame))


def heldout_metrics(
    model: Any, held_out: pd.DataFrame, *, k: int = 10, exclude: pd.DataFrame | None = None
) -> dict[str, float] | None:
    """NDCG@k and HR@k of a model on held-out events given by raw ids.

    For the feedback loop: compare a model before and after
    :func:`xcat.train.update.update` on the same held-out events. Each
    user known to the model is ranked over the items of the held-out rows'
    categories (full ranking, :func:`xcat.topn`), excluding its stored
    history and its rows in ``exclude``. A held-out item the model does not
    know counts as a miss (it cannot be recommended); users the model does
    not know are not evaluated.

    Parameters
    ----------
    model : TwoTower
        With a vocabulary.
    held_out : pandas.DataFrame
        Columns ``user``, ``item`` and ``category`` (raw ids).
    k : int, default 10
    exclude : pandas.DataFrame, optional
        More (user, item, category) rows never ranked, e.g. the events the
        update was trained on, so a model that has not seen them is not
        credited for recommending what the user already bought.

    Returns
    -------
    dict or None
        ``{"NDCG@k": float, "HR@k": float, "users": int}`` (means over
        evaluated users); None when no held-out user is known to the model.
    """
    vocab = model.vocab
    if held_out.empty:
        return None
    urows = _rows(vocab.users, held_out["user"])
    irows = _item_rows(vocab, held_out)
    keep = urows >= 0
    users, pos = np.unique(urows[keep], return_inverse=True)
    if len(users) == 0:
        return None
    cats = [c for c in pd.unique(held_out["category"].dropna().astype(str)) if c in vocab.domains]
    candidates = vocab.domain_items(cats) if cats else np.arange(vocab.n_items)
    n_items = vocab.n_items
    hit = irows[keep] >= 0
    truth = sp.csr_matrix(
        (np.ones(int(hit.sum())), (pos[hit], irows[keep][hit])), shape=(len(users), n_items)
    )
    hist = model.user_history.cpu().numpy()[users]
    r, c = np.nonzero(hist != model.config.n_items)
    ex_rows, ex_cols = [r], [hist[r, c]]
    if exclude is not None and len(exclude):
        eu, ei = _rows(vocab.users, exclude["user"]), _item_rows(vocab, exclude)
        where = np.searchsorted(users, eu)
        ok = (eu >= 0) & (ei >= 0) & (where < len(users))
        ok[ok] &= users[where[ok]] == eu[ok]
        ex_rows.append(where[ok])
        ex_cols.append(ei[ok])
    rr, cc = np.concatenate(ex_rows), np.concatenate(ex_cols)
    excl = sp.csr_matrix((np.ones(len(rr)), (rr, cc)), shape=(len(users), n_items))
    excl = excl - excl.multiply(truth)  # a held-out item is never excluded
    excl.eliminate_zeros()
    top = topn(
        model.user_embeddings(users),
        model.item_embeddings(),
        int(k),
        exclude=excl.tocsr(),
        candidates=candidates,
    ).indices
    if not hit.any():
        return {f"NDCG@{k}": 0.0, f"HR@{k}": 0.0, "users": int(len(users))}
    m = evaluate.ranking_metrics(top, truth, ks=(int(k),))
    # users whose held-out item the model does not know are skipped there: count them as misses
    scale = m.n_users / len(users)
    return {
        f"NDCG@{k}": m[f"NDCG@{k}"] * scale,
        f"HR@{k}": m[f"HR@{k}"] * scale,
        "users": int(len(users)),
    }
