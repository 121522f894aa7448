r"""Top-N ranking metrics over the full catalogue (no sampled negatives).

Definitions, for one user with relevant set ``R`` (held-out items, with
relevance grade ``rel(i)``) and recommended list ``L`` (best first, ``L[j]``
at rank ``j + 1``), at cut-off ``K``:

.. math::

    \mathrm{hits@K} = |L_{1..K} \cap R|

    \mathrm{HR@K} = [\mathrm{hits@K} > 0]

    \mathrm{Precision@K} = \mathrm{hits@K} / K

    \mathrm{Recall@K} = \mathrm{hits@K} / |R|
        \quad (\text{or } / \min(K, |R|) \text{ with recall\_denominator="min"})

    \mathrm{F1@K} = 2 P R / (P + R) \quad (0 \text{ when } P + R = 0)

    \mathrm{DCG@K} = \sum_{j=1}^{K} (2^{rel(L_j)} - 1) / \log_2(j + 1)

    \mathrm{NDCG@K} = \mathrm{DCG@K} / \mathrm{IDCG@K}

    \mathrm{AP@K} = \frac{1}{\min(K, |R|)} \sum_{j=1}^{K} \mathrm{Precision@j}\,[L_j \in R]

    \mathrm{MRR} = 1 / \text{rank of the first relevant item in } L \quad (0 \text{ if none})

IDCG@K is the DCG of the ideal list built from the ground truth: the user's
relevant items sorted by grade (Järvelin & Kekäläinen, TOIS 2002; the
exponential gain of Burges et al., ICML 2005, which is 1 for binary
relevance). AP@K and MAP@K follow RecBole (Zhao et al., CIKM 2021). MRR is
taken over the whole recommended list given (its length is the cut-off).
Every metric is averaged over users that have at least one relevant item;
users without any are skipped and counted in ``n_skipped``. Coverage@K is
the share of the catalogue that appears in at least one user's top K.

Conventions that keep every metric in [0, 1]:

- **Binary relevance by default.** ``R`` is a *set*: an item held out twice
  for a user (a repeated event, a repeated index in an ``(indptr, indices)``
  truth, a duplicate stored entry) is relevant once, with grade 1.
  ``relevance="graded"`` uses the stored values as grades instead (NDCG's
  gain ``2**grade - 1``); an entry stored twice then keeps its largest
  grade, never the sum.
- **A ranked list never repeats an item.** A row of ``recommended`` that
  lists an item id twice raises ``ValueError`` naming the row and the id
  (it would be credited twice); negative entries (``-1``) are padding and
  may repeat. Lists from :func:`xcat.topn` never repeat an item.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

__all__ = [
    "METRIC_NAMES",
    "RankingMetrics",
    "check_unique_items",
    "evaluate_groups",
    "hit_matrix",
    "ranking_metrics",
]

#: Metrics computed at every cut-off K (MRR has none).
METRIC_NAMES = ("Recall", "NDCG", "HR", "Precision", "F1", "MAP")


@dataclass(frozen=True)
class RankingMetrics:
    """Mean metrics of one group of users.

    Attributes
    ----------
    values : dict of str to float
        ``"NDCG@10"`` and so on for every K, plus ``"MRR"`` and
        ``"Coverage@K"``; means over evaluated users.
    n_users : int
        Users evaluated (with at least one relevant item).
    n_skipped : int
        Users given but skipped because they have no relevant item.
    per_user : dict of str to numpy.ndarray of float64, shape (n_users,)
        The per-user values behind each mean (no coverage: it is a set metric).
    relevant_per_user : float, default nan
        Mean number of relevant (held-out) items per evaluated user. HR@K
        rises with it for the same ranking quality, so groups with
        different values compare fairly by Recall@K, not HR@K.
    """

    values: dict[str, float]
    n_users: int
    n_skipped: int
    per_user: dict[str, np.ndarray]
    relevant_per_user: float = float("nan")

    def __getitem__(self, name: str) -> float:
        """Return the mean value of metric ``name``, e.g. ``result["NDCG@10"]``."""
        return self.values[name]


Relevance = Literal["binary", "graded"]


def _as_relevance(relevant: Any, n_users: int, relevance: Relevance = "binary") -> sp.csr_matrix:
    """Sorted, duplicate-free CSR of relevance grades (see the module docstring)."""
    if relevance not in ("binary", "graded"):
        raise ValueError(f"relevance: expected 'binary' or 'graded', got {relevance!r}")
    if isinstance(relevant, tuple) and len(relevant) == 2:
        indptr, indices = (np.asarray(a) for a in relevant)
        n_items = int(indices.max()) + 1 if indices.size else 0
        relevant = sp.csr_matrix(
            (np.ones(len(indices)), indices, indptr), shape=(len(indptr) - 1, n_items)
        )
    if not sp.issparse(relevant):
        raise ValueError(
            "relevant: expected a scipy.sparse matrix [users, items] (values = relevance grades) "
            f"or an (indptr, indices) pair, got {type(relevant).__name__}"
        )
    # COO keeps every stored entry, duplicates included, and is a copy: the
    # caller's matrix is never modified in place
    coo = sp.coo_matrix(relevant, dtype=np.float64, copy=True)
    if coo.shape[0] != n_users:
        raise ValueError(f"relevant: has {coo.shape[0]} rows but recommended has {n_users} users")
    if coo.nnz and coo.data.min() < 0:
        raise ValueError("relevant: relevance grades must be non-negative")
    nonzero = coo.data != 0  # a stored zero grade is not relevant
    row, col, data = coo.row[nonzero], coo.col[nonzero], coo.data[nonzero]
    n_cols = max(coo.shape[1], 1)
    key = row.astype(np.int64) * n_cols + col
    # by entry, then grade ascending: the last of each entry has its largest grade
    order = np.lexsort((data, key))
    key, data = key[order], data[order]
    last = np.r_[key[1:] != key[:-1], True] if key.size else np.zeros(0, dtype=bool)
    r, c = np.divmod(key[last], n_cols)
    # binary: a set of items, so an entry given twice is the same item, not grade 2;
    # graded: an entry given twice keeps its largest grade, never the sum
    grades = np.ones(int(last.sum())) if relevance == "binary" else data[last]
    rel = sp.csr_matrix((grades, (r, c)), shape=coo.shape)
    rel.sort_indices()
    return rel


def check_unique_items(recommended: np.ndarray) -> None:
    """Refuse ranked lists that repeat an item id.

    Parameters
    ----------
    recommended : numpy.ndarray of int, shape (U, N)
        Item rows per user, best first; negative entries (``-1``) are
        padding and may repeat.

    Raises
    ------
    ValueError
        If some row lists a non-negative item id more than once; the
        message names the first such row, its repeated id and how many
        rows repeat an item.
    """
    if recommended.shape[1] < 2:
        return
    ordered = np.sort(recommended, axis=1)
    repeat = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    bad_rows = np.flatnonzero(repeat.any(axis=1))
    if bad_rows.size:
        row = int(bad_rows[0])
        item = int(ordered[row, 1:][repeat[row]][0])
        raise ValueError(
            f"recommended: row {row} lists item {item} more than once ({bad_rows.size} rows "
            "repeat an item); a ranked list must hold each item at most once (only -1 "
            "padding may repeat), otherwise one item would be credited twice"
        )


def hit_matrix(recommended: np.ndarray, relevant: sp.csr_matrix) -> np.ndarray:
    """Relevance grade of each recommended item (0.0 where not relevant).

    Parameters
    ----------
    recommended : numpy.ndarray of int, shape (U, N)
        Item rows per user, best first; ``-1`` marks padding.
    relevant : scipy.sparse.csr_matrix, shape (U, I)
        Sorted, duplicate-free relevance grades.

    Returns
    -------
    numpy.ndarray of float64, shape (U, N)
    """
    n_users, n = recommended.shape
    n_items = relevant.shape[1]
    rows = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(relevant.indptr))
    keys = rows * (n_items + 1) + relevant.indices
    rec = recommended.astype(np.int64, copy=False)
    query = np.arange(n_users, dtype=np.int64)[:, None] * (n_items + 1) + rec
    pos = np.searchsorted(keys, query)
    pos_clipped = np.minimum(pos, max(len(keys) - 1, 0))
    found = (pos < len(keys)) & (rec >= 0) & (rec < n_items)
    if len(keys):
        found &= keys[pos_clipped] == query
    grades = np.zeros((n_users, n), dtype=np.float64)
    if len(keys):
        grades[found] = relevant.data[pos_clipped[found]]
    return grades


def ranking_metrics(
    recommended: Any,
    relevant: Any,
    ks: Iterable[int] = (10,),
    *,
    n_catalogue: int | None = None,
    recall_denominator: Literal["relevant", "min"] = "relevant",
    relevance: Relevance = "binary",
) -> RankingMetrics:
    """Recall, NDCG, HR, Precision, F1, MAP at each K, MRR and coverage.

    Parameters
    ----------
    recommended : array_like of int, shape (U, N)
        Each user's recommended item rows, best first, as returned by
        :func:`xcat.topn` (``-1`` padding allowed). ``N >= max(ks)``. No
        row may list an item twice.
    relevant : scipy.sparse matrix of shape (U, I), or (indptr, indices)
        Held-out relevant items per user; an item given twice is relevant
        once. Stored zeros are not relevant.
    ks : iterable of int, default (10,)
        Cut-offs, each in ``1..N``.
    n_catalogue : int, optional
        Size of the catalogue ranked (e.g. the target category) for
        Coverage@K; omitted when not given.
    recall_denominator : {"relevant", "min"}, default "relevant"
        Recall@K divides by ``|R|`` (the usual definition) or by
        ``min(K, |R|)`` (so a perfect list scores 1 even when ``|R| > K``).
    relevance : {"binary", "graded"}, default "binary"
        ``"binary"``: every relevant item has grade 1, whatever is stored.
        ``"graded"``: the stored values (e.g. ratings) are the grades of
        NDCG's gain ``2**grade - 1``; an entry stored twice keeps its
        largest grade. Build graded truth from one row per (user, item):
        SciPy's COO to CSR conversion already sums repeated entries.

    Returns
    -------
    RankingMetrics

    Raises
    ------
    ValueError
        If shapes disagree, a K is out of range, grades are negative, a row
        of ``recommended`` repeats an item (the message names the row and
        the id) or the options are unknown.
    """
    rec = np.asarray(recommended)
    if rec.ndim != 2 or rec.dtype.kind not in "iu":
        raise ValueError(
            f"recommended: expected a 2-D integer array, got {rec.dtype} of shape {rec.shape}"
        )
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1 or ks[-1] > rec.shape[1]:
        raise ValueError(f"ks: each K must be in 1..{rec.shape[1]} (list length), got {ks}")
    if recall_denominator not in ("relevant", "min"):
        raise ValueError(
            f"recall_denominator: expected 'relevant' or 'min', got {recall_denominator!r}"
        )
    check_unique_items(rec)
    rel = _as_relevance(relevant, rec.shape[0], relevance)
    n_rel = np.diff(rel.indptr)
    keep = n_rel > 0
    grades = hit_matrix(rec, rel)[keep]
    rec_kept = rec[keep]
    n_rel = n_rel[keep]
    n_users = int(keep.sum())

    hits = grades > 0
    gains = np.exp2(grades) - 1.0
    discount = 1.0 / np.log2(np.arange(2, rec.shape[1] + 2))
    # Ideal DCG from the ground truth: each user's grades, best first.
    max_k = ks[-1]
    ideal = np.zeros((n_users, max_k))
    kept_rows = np.flatnonzero(keep)
    for i, u in enumerate(kept_rows):
        g = np.sort(rel.data[rel.indptr[u] : rel.indptr[u + 1]])[::-1][:max_k]
        ideal[i, : len(g)] = np.exp2(g) - 1.0

    per_user: dict[str, np.ndarray] = {}
    values: dict[str, float] = {}
    cum_hits = np.cumsum(hits, axis=1)
    for k in ks:
        h = cum_hits[:, k - 1].astype(np.float64)
        precision = h / k
        denom = n_rel if recall_denominator == "relevant" else np.minimum(n_rel, k)
        recall = h / denom
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(
                precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0
            )
        dcg = (gains[:, :k] * discount[:k]).sum(axis=1)
        idcg = (ideal[:, :k] * discount[:k]).sum(axis=1)
        ndcg = np.divide(dcg, idcg, out=np.zeros_like(dcg), where=idcg > 0)
        prec_at_j = cum_hits[:, :k] / np.arange(1, k + 1)
        ap = (prec_at_j * hits[:, :k]).sum(axis=1) / np.minimum(k, n_rel)
        for name, v in zip(
            METRIC_NAMES,
            (recall, ndcg, (h > 0).astype(np.float64), precision, f1, ap),
            strict=True,
        ):
            per_user[f"{name}@{k}"] = v
        if n_catalogue is not None:
            shown = rec[:, :k]
            values[f"Coverage@{k}"] = len(np.unique(shown[shown >= 0])) / n_catalogue
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)
    per_user["MRR"] = np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0)
    del rec_kept
    for name, v in per_user.items():
        values[name] = float(v.mean()) if n_users else float("nan")
    return RankingMetrics(
        values=dict(sorted(values.items(), key=_metric_order)),
        n_users=n_users,
        n_skipped=int((~keep).sum()),
        per_user=per_user,
        relevant_per_user=float(n_rel.mean()) if n_users else float("nan"),
    )


def _metric_order(item: tuple[str, float]) -> tuple[int, int]:
    name, _ = item
    base, _, k = name.partition("@")
    order = [*METRIC_NAMES, "MRR", "Coverage"]
    return (order.index(base) if base in order else len(order), int(k) if k else 0)


def evaluate_groups(
    recommended: Any,
    relevant: Any,
    groups: Mapping[str, Any],
    ks: Iterable[int] = (10,),
    **options: Any,
) -> dict[str, RankingMetrics]:
    """:func:`ranking_metrics` for several groups of users (all, cold-start, warm...).

    Parameters
    ----------
    recommended, relevant, ks, **options
        As :func:`ranking_metrics` (``relevance``, ``n_catalogue``,
        ``recall_denominator``), for all users.
    groups : mapping of str to array_like
        Group name to a boolean mask of shape (U,) or an array of user rows.

    Returns
    -------
    dict of str to RankingMetrics
        One entry per group, in the order given.

    Raises
    ------
    ValueError
        If a group's mask has the wrong length or its rows are out of range;
        as :func:`ranking_metrics` otherwise (a repeated item is reported
        by its row in ``recommended``, not in the group).
    """
    rec = np.asarray(recommended)
    n_users = rec.shape[0] if rec.ndim == 2 else -1
    if rec.ndim == 2:
        check_unique_items(rec)
    rel = _as_relevance(relevant, n_users, options.get("relevance", "binary"))
    out: dict[str, RankingMetrics] = {}
    for name, members in groups.items():
        m = np.asarray(members)
        if m.dtype == bool:
            if m.shape != (n_users,):
                raise ValueError(
                    f"groups[{name!r}]: boolean mask has shape {m.shape}, expected ({n_users},)"
                )
            rows = np.flatnonzero(m)
        else:
            rows = m.astype(np.int64, copy=False)
            if rows.size and (rows.min() < 0 or rows.max() >= n_users):
                raise ValueError(f"groups[{name!r}]: user rows must be in 0..{n_users - 1}")
        out[name] = ranking_metrics(rec[rows], rel[rows], ks, **options)
    return out
