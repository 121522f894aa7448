r"""Full ranking of embeddings: ranking sets, embedding metrics, held-out metrics, test evaluator.

Every evaluation of a model's vectors goes through :func:`rank_embeddings`
(exact cosine top-k with :func:`xcat.topn`) and then the per-list metrics of
:func:`xcat.evaluate.ranking_metrics`:

- :class:`ValidationSet` -- held-out interactions as vocabulary rows; the
  set early stopping, model selection and the cold-start test rank.
- :func:`embedding_metrics` -- NDCG@k / HR@k of user and item vectors on a
  truth matrix; :func:`model_metrics` is the same for a model on a
  :class:`ValidationSet` (what :func:`xcat.train.fit` stops on).
- :func:`heldout_metrics` -- NDCG@k / HR@k of a model on held-out events
  given by raw ids (the feedback loop's before/after comparison).
- :class:`TestEvaluator` -- every metric for the groups all / cold-start /
  warm, the popularity baseline and the sampled protocol on a transfer
  protocol's test set.

**What is never ranked.** For a held-out set (validation or test), each
user's *known* interactions are excluded from its ranking -- at validation
its training items, at test its training **and validation** items -- except
the user's own held-out items: an item the user re-bought stays rankable
(the rule of RecBole's full-sort evaluation, Zhao et al., CIKM 2021, whose
test-time history is train + valid minus the user's test positives; S3-Rec
masks train and valid items too). Such held-out pairs are counted
(:attr:`ValidationSet.n_repeat_pairs`, the ``repeat_test_pairs`` of a
protocol's info), not dropped. Sampled evaluation draws each pair's negatives
outside every known positive of the user: training, validation and test.
Relevance is binary: an item held out twice for a user is relevant once.

Lower layer than models and training: nothing here imports them (nor
PyTorch). Models are duck-typed: anything with ``user_embeddings(rows)``
and ``item_embeddings(rows=None)`` returning float32 NumPy arrays.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from xcat.evaluate.metrics import RankingMetrics, evaluate_groups, ranking_metrics
from xcat.evaluate.popularity import item_popularity, popularity_topn
from xcat.evaluate.sampled import SampledMetrics, sample_negatives, sampled_metrics
from xcat.kernels import topn

__all__ = [
    "EmbeddingModel",
    "EncodedPairs",
    "RankingResult",
    "TestEvaluator",
    "ValidationSet",
    "embedding_metrics",
    "heldout_metrics",
    "lookup_rows",
    "model_metrics",
    "rank_embeddings",
]


class EncodedPairs(Protocol):
    """(user row, item row) pairs, e.g. :class:`xcat.models.EncodedInteractions`.

    Attributes
    ----------
    users, items : numpy.ndarray of int64, shape (N,)
        Row numbers in a vocabulary.
    """

    # Read-only, so frozen dataclasses such as EncodedInteractions conform.
    @property
    def users(self) -> np.ndarray:
        """User row of each pair."""
        ...

    @property
    def items(self) -> np.ndarray:
        """Item row of each pair."""
        ...


class EmbeddingModel(Protocol):
    """What evaluation needs of a model (e.g. :class:`xcat.models.TwoTower`)."""

    def user_embeddings(self, users: Any = None) -> np.ndarray:
        """Float32 vectors of user rows ``users`` (all users when None), shape (U, d)."""
        ...

    def item_embeddings(self, items: Any = None) -> np.ndarray:
        """Float32 vectors of item rows ``items`` (all items when None), shape (I, d)."""
        ...


def rank_embeddings(
    user_vectors: np.ndarray,
    item_vectors: np.ndarray,
    k: int,
    *,
    exclude: Any = None,
    candidates: Any = None,
    num_threads: int | None = None,
) -> np.ndarray:
    """Each user's top-``k`` item rows by cosine similarity, exactly.

    The one place evaluation ranks embeddings: every metric of this module
    scores what it returns.

    Parameters
    ----------
    user_vectors : numpy.ndarray of float32, shape (U, d)
    item_vectors : numpy.ndarray of float32, shape (I, d)
    k : int
        Items per user.
    exclude : scipy.sparse.csr_matrix, shape (U, I), optional
        Items never ranked for that user (e.g. its training items).
    candidates : array_like of int, shape (C,), optional
        The catalogue ranked; default all items.
    num_threads : int, optional
        Passed to :func:`xcat.topn`.

    Returns
    -------
    numpy.ndarray of int64, shape (U, k)
        Item rows, best first; ``-1`` pads users with fewer than ``k``
        eligible items.

    Raises
    ------
    ValueError
        As :func:`xcat.topn` (shapes, ``k``).
    """
    return topn(
        user_vectors,
        item_vectors,
        k,
        exclude=exclude,
        candidates=candidates,
        num_threads=num_threads,
    ).indices


@dataclass(frozen=True)
class ValidationSet:
    """Held-out interactions to rank, as row numbers of a model's vocabulary.

    Attributes
    ----------
    users : numpy.ndarray of int64, shape (U,)
        Users evaluated.
    truth : scipy.sparse.csr_matrix of float32, shape (U, n_items)
        Their held-out items, 1.0 each (binary: an item held out twice is
        stored once).
    exclude : scipy.sparse.csr_matrix of float32, shape (U, n_items)
        Items never ranked for them: their known interactions (training, and
        validation for a test set) minus their own held-out items.
    candidates : numpy.ndarray of int64, shape (C,)
        The catalogue ranked (e.g. every target-domain item).
    n_repeat_pairs : int, default 0
        Distinct (user, item) pairs of ``truth`` whose item is also among the
        user's known interactions (a re-bought item); they stay rankable.
    repeats : numpy.ndarray of int64, shape (U,), optional
        ``n_repeat_pairs`` per user (set by :meth:`build`), so that
        :meth:`subset` can count a subset's repeated pairs.
    """

    users: np.ndarray
    truth: sp.csr_matrix
    exclude: sp.csr_matrix
    candidates: np.ndarray
    n_repeat_pairs: int = 0
    repeats: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)

    def subset(self, users: Any) -> ValidationSet:
        """Return this held-out set restricted to some of its users (e.g. one user group).

        Parameters
        ----------
        users : array_like of bool, shape (U,), or array_like of int
            A boolean mask over :attr:`users` (rows kept in their order), or
            user rows (vocabulary rows, each one of :attr:`users`; kept in
            the order given).

        Returns
        -------
        ValidationSet
            ``truth``, ``exclude`` and ``repeats`` restricted to those rows,
            the same ``candidates``; ``n_repeat_pairs`` counts the subset's
            own repeated pairs.

        Raises
        ------
        ValueError
            Naming ``users``: a mask of another length, rows that are not
            users of this set, values neither boolean nor integer; or a set
            built without per-user ``repeats`` that has repeated pairs (its
            subset's count is unknown: build it with :meth:`build`).
        """
        sel = np.asarray(users)
        if sel.dtype == bool:
            if sel.shape != self.users.shape:
                raise ValueError(
                    f"users: boolean mask has shape {sel.shape}, expected {self.users.shape}"
                )
            pos = np.flatnonzero(sel)
        elif sel.dtype.kind in "iu" or (sel.size == 0 and sel.ndim == 1):
            rows = sel.astype(np.int64).ravel()
            order = np.argsort(self.users, kind="stable")
            at = np.searchsorted(self.users[order], rows)
            found = at < len(self.users)
            found[found] &= self.users[order][at[found]] == rows[found]
            if not found.all():
                missing = rows[~found][:5].tolist()
                raise ValueError(f"users: rows {missing} are not users of this set")
            pos = order[at]
        else:
            raise ValueError(
                f"users: expected a boolean mask or integer user rows, got dtype {sel.dtype}"
            )
        if self.repeats is not None:
            repeats = self.repeats[pos]
        elif self.n_repeat_pairs == 0:
            repeats = np.zeros(len(pos), dtype=np.int64)
        else:
            raise ValueError(
                "users: this set has repeated held-out pairs but no per-user counts "
                "(`repeats`), so its subset's count is unknown; build it with ValidationSet.build"
            )
        return ValidationSet(
            self.users[pos],
            self.truth[pos],
            self.exclude[pos],
            self.candidates,
            int(repeats.sum()),
            repeats,
        )

    @classmethod
    def build(
        cls,
        held_out: EncodedPairs,
        seen: EncodedPairs | Sequence[EncodedPairs],
        *,
        n_items: int,
        candidates: np.ndarray,
        users: np.ndarray | None = None,
    ) -> ValidationSet:
        """From held-out and known interactions.

        Parameters
        ----------
        held_out : EncodedPairs
            Interactions to find (validation or test), e.g.
            :class:`xcat.models.EncodedInteractions`.
        seen : EncodedPairs or sequence of EncodedPairs
            The users' known interactions, excluded from each user's ranking
            except where they are the user's own held-out items: training
            for a validation set; training and validation for a test set.
        n_items : int
            Item rows of the vocabulary (columns of ``truth`` and ``exclude``).
        candidates : numpy.ndarray of int64
        users : numpy.ndarray of int64, optional
            Evaluate only these users (default: every user in ``held_out``).

        Returns
        -------
        ValidationSet
        """
        u = np.unique(held_out.users) if users is None else np.asarray(users, dtype=np.int64)
        # one part (has .users) or several
        parts: list[EncodedPairs] = (
            [cast(EncodedPairs, seen)] if hasattr(seen, "users") else list(seen)
        )
        # position of each user row in u (the last one when u repeats a user)
        order = np.argsort(u, kind="stable")
        sorted_u = u[order]

        def restrict(pairs: Sequence[EncodedPairs]) -> sp.csr_matrix:
            us = [np.asarray(e.users, dtype=np.int64) for e in pairs]
            its = [np.asarray(e.items, dtype=np.int64) for e in pairs]
            x = np.concatenate(us) if us else np.zeros(0, np.int64)
            cols = np.concatenate(its) if its else np.zeros(0, np.int64)
            at = np.searchsorted(sorted_u, x, side="right") - 1
            keep = (at >= 0) & (sorted_u[np.maximum(at, 0)] == x) if len(u) else x < 0
            rows = order[at[keep]]
            m = sp.csr_matrix(
                (np.ones(int(keep.sum()), np.float32), (rows, cols[keep])),
                shape=(len(u), n_items),
            )
            m.sum_duplicates()
            m.data[:] = 1.0  # a set of items: an interaction repeated is stored once
            return m

        truth = restrict([held_out])
        known = restrict(parts)
        repeat = known.multiply(truth).tocsr()  # known items that are also held out
        repeat.eliminate_zeros()
        exclude = (known - repeat).tocsr()
        exclude.eliminate_zeros()
        exclude.sort_indices()
        repeats = np.diff(repeat.tocsr().indptr).astype(np.int64)
        return cls(
            u,
            truth,
            exclude,
            np.asarray(candidates, dtype=np.int64),
            int(repeat.nnz),
            repeats,
        )


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


def embedding_metrics(
    user_vectors: np.ndarray,
    item_vectors: np.ndarray,
    truth: sp.csr_matrix,
    *,
    k: int = 10,
    exclude: sp.csr_matrix | None = None,
    candidates: Any = None,
    num_threads: int | None = None,
) -> RankingResult:
    r"""NDCG@k and HR@k of a full ranking of embeddings, one row per user.

    Every user is ranked against all eligible items (``candidates`` minus
    ``exclude``), exactly, with :func:`rank_embeddings` (cosine).

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
        Held-out items of each user (any stored entry counts, once).
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
    top = rank_embeddings(
        user_vectors[rows],
        item_vectors,
        int(k),
        exclude=ex,
        candidates=candidates,
        num_threads=num_threads,
    )
    # binary relevance (ranking_metrics' default): any stored entry counts once
    m = ranking_metrics(top, truth[rows], ks=(int(k),))
    return RankingResult(m[f"NDCG@{k}"], m[f"HR@{k}"], int(k), m.n_users)


def model_metrics(model: EmbeddingModel, data: ValidationSet, *, k: int = 10) -> RankingResult:
    """NDCG@k / HR@k of a model on a ranking set: :func:`embedding_metrics` of its vectors.

    Parameters
    ----------
    model : EmbeddingModel
        Anything with ``user_embeddings(rows)`` and ``item_embeddings()``.
    data : ValidationSet
    k : int, default 10

    Returns
    -------
    RankingResult

    Raises
    ------
    ValueError
        As :func:`embedding_metrics`.
    """
    return embedding_metrics(
        model.user_embeddings(data.users),
        model.item_embeddings(),
        data.truth,
        k=k,
        exclude=data.exclude,
        candidates=data.candidates,
    )


def lookup_rows(idmap: Any, values: pd.Series) -> np.ndarray:
    """Row numbers of raw ids (text or numbers), -1 where unknown or unparseable (no warning).

    Parameters
    ----------
    idmap : xcat.data.IdMap
        Its ``parse`` reads the ids exactly (an integer id above 2**53 is
        not rounded through float64).
    values : pandas.Series
        Raw ids.

    Returns
    -------
    numpy.ndarray of int64, shape (len(values),)
    """
    ids, bad = idmap.parse(values)
    dtype = np.int64 if idmap.kind == "int" else object
    rows = np.asarray(idmap.ids.get_indexer(pd.Index(ids.to_numpy(), dtype=dtype)))
    rows[bad] = -1
    return rows


def _item_rows(vocab: Any, frame: pd.DataFrame) -> np.ndarray:
    return lookup_rows(vocab.items, vocab.item_keys(frame))


def heldout_metrics(
    model: Any, held_out: pd.DataFrame, *, k: int = 10, exclude: pd.DataFrame | None = None
) -> dict[str, float] | None:
    """NDCG@k and HR@k of a model on held-out events given by raw ids.

    For the feedback loop: compare a model before and after
    :func:`xcat.train.update.update` on the same held-out events. Each
    user known to the model is ranked over the items of the held-out rows'
    categories (full ranking, :func:`rank_embeddings`), excluding its stored
    history and its rows in ``exclude`` except its held-out items (which
    stay rankable, as in every protocol of this module). Relevance is
    binary: an event held out twice is one relevant item. A held-out item
    the model does not know counts as a miss (it cannot be recommended);
    users the model does not know are not evaluated.

    Parameters
    ----------
    model : TwoTower or alike
        An :class:`EmbeddingModel` with ``vocab`` (a
        :class:`xcat.models.Vocab`) and ``stored_history()`` (NumPy int
        array ``(n_users, L)`` of each user's item rows, ``-1`` padding).
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
    urows = lookup_rows(vocab.users, held_out["user"])
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
    hist = model.stored_history()[users]
    r, c = np.nonzero(hist >= 0)
    ex_rows, ex_cols = [r], [hist[r, c]]
    if exclude is not None and len(exclude):
        eu, ei = lookup_rows(vocab.users, exclude["user"]), _item_rows(vocab, exclude)
        where = np.searchsorted(users, eu)
        ok = (eu >= 0) & (ei >= 0) & (where < len(users))
        ok[ok] &= users[where[ok]] == eu[ok]
        ex_rows.append(where[ok])
        ex_cols.append(ei[ok])
    rr, cc = np.concatenate(ex_rows), np.concatenate(ex_cols)
    excl = sp.csr_matrix((np.ones(len(rr)), (rr, cc)), shape=(len(users), n_items))
    # as sets (an item in both the history and `exclude`, or held out twice, is one
    # entry): a held-out item is never excluded, the rule of every protocol here
    excl.data[:] = 1.0
    truth.data[:] = 1.0
    excl = excl - excl.multiply(truth)
    excl.eliminate_zeros()
    top = rank_embeddings(
        model.user_embeddings(users),
        model.item_embeddings(),
        int(k),
        exclude=excl.tocsr(),
        candidates=candidates,
    )
    if not hit.any():
        return {f"NDCG@{k}": 0.0, f"HR@{k}": 0.0, "users": int(len(users))}
    m = ranking_metrics(top, truth, ks=(int(k),))
    # users whose held-out item the model does not know are skipped there: count them as misses
    scale = m.n_users / len(users)
    return {
        f"NDCG@{k}": m[f"NDCG@{k}"] * scale,
        f"HR@{k}": m[f"HR@{k}"] * scale,
        "users": int(len(users)),
    }


def _groups(users: np.ndarray, cold_users: np.ndarray) -> dict[str, np.ndarray]:
    cold = np.isin(users, cold_users)
    return {"all": np.ones(len(users), bool), "cold-start": cold, "warm": ~cold}


def _binary(m: sp.csr_matrix) -> sp.csr_matrix:
    out = sp.csr_matrix(m, copy=True)
    out.data = np.ones_like(out.data, dtype=np.float64)
    return out


class TestEvaluator:
    """Scores anything with ``user_embeddings`` / ``item_embeddings`` on a protocol's test set.

    Full ranking of the target catalogue with :func:`rank_embeddings` (each
    user's ``test_all.exclude`` items never ranked: its training and
    validation items, except its own test items), metrics for the groups
    ``all``, ``cold-start`` and ``warm`` (a group without users is left out),
    the popularity baseline (:func:`xcat.evaluate.item_popularity` of the
    target training interactions). With ``sampled_negatives``, also the
    papers' sampled protocol (:func:`xcat.evaluate.sampled_metrics`) over all
    test items, each pair's negatives drawn outside every known positive of
    its user (training, validation and test items).

    Parameters
    ----------
    protocol : xcat.transfer.protocol.TransferProtocol
        Read for ``test_all`` and ``test_cold`` (:class:`ValidationSet`),
        ``data.vocab``, ``data.target_train`` and ``data.target_valid``
        (when present).
    ks : sequence of int
        Cut-offs.
    sampled_negatives : int, default 0
        Negatives per test item for :meth:`sampled`; 0 disables it.
    seed : int, default 0
        Seed of the sampled negatives (the same negatives for every model).
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(
        self, protocol: Any, ks: Sequence[int], *, sampled_negatives: int = 0, seed: int = 0
    ) -> None:
        self.test = protocol.test_all
        self.ks = tuple(sorted({int(k) for k in ks}))
        groups = _groups(self.test.users, protocol.test_cold.users)
        self.groups = {name: mask for name, mask in groups.items() if mask.any()}
        self.relevant = _binary(self.test.truth)
        vocab, target_train = protocol.data.vocab, protocol.data.target_train
        self.vocab = vocab
        train = vocab.encode(target_train)
        self.train_counts = item_popularity(train.users, train.items, vocab.n_items)
        self.negatives: np.ndarray | None = None
        self.seed = seed
        if sampled_negatives:
            truth = self.test.truth.tocoo()
            self.sampled_users = self.test.users[truth.row].astype(np.int64)
            self.sampled_items = truth.col.astype(np.int64)
            # every known positive of the user is never a negative: its training and
            # validation items (read from the data, not only from `exclude`, which
            # leaves out re-bought test items) and all of its test items
            ex = self.test.exclude.tocoo()
            known_users = [self.test.users[ex.row], self.sampled_users, train.users]
            known_items = [ex.col, self.sampled_items, train.items]
            target_valid = getattr(protocol.data, "target_valid", None)
            if target_valid is not None and len(target_valid):
                valid = vocab.encode(target_valid)
                known_users.append(valid.users)
                known_items.append(valid.items)
            ku, ki = np.concatenate(known_users), np.concatenate(known_items)
            seen = sp.csr_matrix((np.ones(len(ku)), (ku, ki)), shape=(vocab.n_users, vocab.n_items))
            self.negatives = sample_negatives(
                self.sampled_users,
                self.sampled_items,
                seen,
                # the catalogue ranked in full ranking; on the published files every
                # target item occurs in training, the pool the papers draw from
                self.test.candidates,
                n_negatives=sampled_negatives,
                seed=seed,
            )

    @property
    def headline_group(self) -> str:
        """The group a run's one-line summaries use: ``cold-start`` when it has users."""
        return "cold-start" if "cold-start" in self.groups else "all"

    def _metrics(self, indices: np.ndarray) -> dict[str, RankingMetrics]:
        return evaluate_groups(
            indices, self.relevant, self.groups, self.ks, n_catalogue=len(self.test.candidates)
        )

    def topn_metrics(self, indices: Any) -> dict[str, RankingMetrics]:
        """Metrics of precomputed rankings (any recommender: a linear model, a re-ranker...).

        Parameters
        ----------
        indices : array_like of int, shape (U, n)
            Each test user's recommended item rows, best first, one row per
            user of ``test_all.users`` in that order; ``n >= max(ks)``; ``-1``
            pads. The caller is responsible for the protocol's rules: only
            ``test_all.candidates``, never a ``test_all.exclude`` item (as
            :func:`xcat.topn` with ``exclude`` and ``candidates`` gives).

        Returns
        -------
        dict of str to RankingMetrics
            By user group, as :meth:`model`.

        Raises
        ------
        ValueError
            Naming ``indices``: not a 2-D integer array, another number of
            rows than test users, fewer columns than the largest cut-off; a
            row listing an item twice.
        """
        top = np.asarray(indices)
        if top.ndim != 2 or top.dtype.kind not in "iu":
            raise ValueError(
                f"indices: expected a 2-D integer array, got {top.dtype} of shape {top.shape}"
            )
        if top.shape[0] != len(self.test.users):
            raise ValueError(
                f"indices: has {top.shape[0]} rows but the test set has {len(self.test.users)} "
                "users (one row per user of test_all.users, in that order)"
            )
        if top.shape[1] < self.ks[-1]:
            raise ValueError(
                f"indices: has {top.shape[1]} items per user, fewer than the largest cut-off "
                f"{self.ks[-1]}"
            )
        return self._metrics(top.astype(np.int64, copy=False))

    def group_users(self, group: str) -> np.ndarray:
        """User rows of ``group``, in the order of its per-user metric arrays.

        Parameters
        ----------
        group : str
            One of :attr:`groups` (``all``, ``cold-start``, ``warm``).

        Returns
        -------
        numpy.ndarray of int64, shape (n_users,)
            The group's test users that have a held-out item (every metric
            skips the others), in ``test_all.users`` order.

        Raises
        ------
        ValueError
            If the group is not one of this evaluator's.
        """
        if group not in self.groups:
            raise ValueError(f"group: expected one of {list(self.groups)}, got {group!r}")
        has = np.diff(self.relevant.indptr) > 0
        return self.test.users[self.groups[group] & has]

    def per_user(
        self,
        results: dict[str, RankingMetrics],
        metrics: Sequence[str] = ("NDCG@10", "HR@10"),
    ) -> dict[str, dict[str, np.ndarray]]:
        """Per-user metric arrays by group, paired across methods (for a bootstrap).

        Every method scored by this evaluator (:meth:`model`,
        :meth:`popularity`, :meth:`topn_metrics`) has its arrays over the same
        users in the same order (:meth:`group_users`), so two methods' arrays
        of one group pair user by user, e.g. for
        :func:`xcat.evaluate.paired_bootstrap`.

        Parameters
        ----------
        results : dict of str to RankingMetrics
            What one of the scoring methods returned.
        metrics : sequence of str, default ("NDCG@10", "HR@10")
            Per-user metrics wanted (each must have been computed: its cut-off
            in ``ks``).

        Returns
        -------
        dict of str to dict of str to numpy.ndarray of float64
            ``{group: {metric: values of shape (n_users,)}}``.

        Raises
        ------
        ValueError
            If a metric was not computed, or ``results`` does not have this
            evaluator's groups and users (another evaluator's results).
        """
        out: dict[str, dict[str, np.ndarray]] = {}
        for group in self.groups:
            if group not in results:
                raise ValueError(f"results: has no group {group!r} (another evaluator's results?)")
            res = results[group]
            n = len(self.group_users(group))
            if res.n_users != n:
                raise ValueError(
                    f"results: group {group!r} has {res.n_users} users, this evaluator {n} "
                    "(another evaluator's results?)"
                )
            missing = [m for m in metrics if m not in res.per_user]
            if missing:
                raise ValueError(
                    f"metrics: {missing} not computed (cut-offs {list(self.ks)}; per-user metrics "
                    f"{sorted(res.per_user)})"
                )
            out[group] = {m: res.per_user[m] for m in metrics}
        return out

    def _items(self, model: Any) -> np.ndarray:
        """Return the vectors of this protocol's items (a model updated with feedback has more).

        Raises
        ------
        ValueError
            If the model's id maps do not start with the protocol's (another run's model).
        """
        own = getattr(model, "vocab", None)
        if own is not None and own is not self.vocab and not own.extends(self.vocab):
            raise ValueError(
                "model: its users and items are not those of this run's data (it was "
                "trained on other data, or the run's data changed)"
            )
        return model.item_embeddings(np.arange(self.vocab.n_items))

    def model(self, model: Any) -> dict[str, RankingMetrics]:
        """Metrics of one model, by user group.

        Raises
        ------
        ValueError
            If the model's id maps do not start with the protocol's.
        """
        top = rank_embeddings(
            model.user_embeddings(self.test.users),
            self._items(model),
            self.ks[-1],
            exclude=self.test.exclude,
            candidates=self.test.candidates,
        )
        return self._metrics(top)

    def popularity(self) -> dict[str, RankingMetrics]:
        """Metrics of the target-category popularity ranking, by user group."""
        pop = popularity_topn(
            self.train_counts,
            len(self.test.users),
            self.ks[-1],
            exclude=self.test.exclude,
            candidates=self.test.candidates,
        )
        return self._metrics(pop.indices)

    def sampled(self, model: Any) -> SampledMetrics:
        """Sampled-protocol metrics of one model (every test item vs the fixed negatives).

        Returns
        -------
        xcat.evaluate.SampledMetrics

        Raises
        ------
        ValueError
            If the evaluator was built with ``sampled_negatives=0``.
        """
        if self.negatives is None:
            raise ValueError("sampled_negatives: this evaluator was built without negatives")
        result = sampled_metrics(
            model.user_embeddings(np.arange(self.vocab.n_users)),
            self._items(model),
            self.sampled_users,
            self.sampled_items,
            negatives=self.negatives,
            ks=(1, 5, 10),
        )
        return dataclasses.replace(result, seed=self.seed)

    def sampled_popularity(self) -> SampledMetrics:
        """Sampled-protocol metrics of the popularity ranking (popularity as scores).

        Raises
        ------
        ValueError
            If the evaluator was built with ``sampled_negatives=0``.
        """
        if self.negatives is None:
            raise ValueError("sampled_negatives: this evaluator was built without negatives")
        # one-dimensional "embeddings": the user vector 1, the item vector its count
        users = np.ones((int(self.sampled_users.max()) + 1, 1))
        items = self.train_counts.astype(np.float64)[:, None]
        result = sampled_metrics(
            users,
            items,
            self.sampled_users,
            self.sampled_items,
            negatives=self.negatives,
            ks=(1, 5, 10),
        )
        return dataclasses.replace(result, seed=self.seed)
