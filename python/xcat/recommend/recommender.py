"""Top-N recommendation from user and item embeddings, with explanations.

A :class:`Recommender` needs no model object: it holds the float32
embeddings a two-tower model exports, the id maps, each item's category and
the training interactions, and answers with :func:`xcat.topn`. So a serving
process can load it without PyTorch: :meth:`Recommender.save` writes it to a
directory of ``.npy`` and JSON files (:mod:`xcat.recommend.io`) that
:meth:`Recommender.load` reads back, recommending exactly as before.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from xcat.data.idmap import IdMap
from xcat.evaluate.popularity import item_popularity, popularity_order
from xcat.kernels import cosine_similarity, topn

__all__ = ["Recommender"]


class Recommender:
    """Recommend items of a category to users, by exact top-N retrieval.

    Parameters
    ----------
    user_vectors : array_like of float, shape (U, d)
        User embeddings, row ``u`` for ``user_ids`` row ``u``.
    item_vectors : array_like of float, shape (I, d)
        Item embeddings, row ``i`` for ``item_ids`` row ``i``.
    user_ids, item_ids : IdMap
        Raw ids of the rows.
    item_categories : array_like, shape (I,)
        Category of each item row (the domain it belongs to).
    history : scipy.sparse matrix, shape (U, I)
        Training interactions (any stored entry counts), in every category:
        what ``exclude_seen`` removes, where explanations come from, and
        what popularity counts: :func:`xcat.evaluate.item_popularity`, the
        number of distinct users per item, the definition the evaluation's
        popularity baseline uses.
    metric : {"cosine", "dot"}, default "cosine"
        Score of :func:`xcat.topn`.
    popularity : array_like of float, shape (I,), optional
        Scores of the fallback for unknown users (most popular first, ties
        to the lower item row); default the number of distinct users per
        item in ``history``. :meth:`load` passes the saved scores.

    Attributes
    ----------
    metadata : dict
        For a loaded recommender, its ``recommender.json`` (``extra`` holds
        what was given to :meth:`save`); empty otherwise.

    Raises
    ------
    ValueError
        If shapes or lengths disagree (naming the argument).
    """

    def __init__(
        self,
        user_vectors: Any,
        item_vectors: Any,
        *,
        user_ids: IdMap,
        item_ids: IdMap,
        item_categories: Any,
        history: Any,
        metric: Literal["cosine", "dot"] = "cosine",
        popularity: Any = None,
    ) -> None:
        self.user_vectors = np.ascontiguousarray(user_vectors, dtype=np.float32)
        self.item_vectors = np.ascontiguousarray(item_vectors, dtype=np.float32)
        if self.user_vectors.ndim != 2 or self.item_vectors.ndim != 2:
            raise ValueError("user_vectors, item_vectors: expected 2-D arrays")
        n_users, n_items = len(self.user_vectors), len(self.item_vectors)
        if len(user_ids) != n_users:
            raise ValueError(f"user_ids: has {len(user_ids)} ids for {n_users} user vectors")
        if len(item_ids) != n_items:
            raise ValueError(f"item_ids: has {len(item_ids)} ids for {n_items} item vectors")
        self.item_categories = np.asarray(item_categories, dtype=object)
        if self.item_categories.shape != (n_items,):
            raise ValueError(
                f"item_categories: expected shape ({n_items},), got {self.item_categories.shape}"
            )
        if not sp.issparse(history) or history.shape != (n_users, n_items):
            raise ValueError(
                f"history: expected a scipy.sparse matrix of shape ({n_users}, {n_items})"
            )
        self.history = sp.csr_matrix(history)
        self.history.sort_indices()
        self.user_ids = user_ids
        self.item_ids = item_ids
        self.metric = metric
        self.metadata: dict[str, Any] = {}
        self._rows_by_category: dict[Hashable, np.ndarray] | None = None
        if popularity is None:
            coo = self.history.tocoo()
            # the one popularity definition (distinct users per item), as in evaluation
            self._popularity = item_popularity(coo.row, coo.col, n_items).astype(np.float64)
        else:
            self._popularity = np.array(popularity, dtype=np.float64)
            if self._popularity.shape != (n_items,):
                raise ValueError(
                    f"popularity: expected shape ({n_items},), got {self._popularity.shape}"
                )

    def save(self, path: str | Path, *, extra: dict[str, Any] | None = None) -> Path:
        """Write the recommender to a directory, replacing the one there in one step.

        No pickle and no PyTorch: ``.npy`` arrays (user and item vectors
        float32, each item's category, each user's seen items as CSR
        offsets and item rows, the popularity fallback's scores float64) and
        JSON (raw ids, categories, ``recommender.json`` written last); see
        :mod:`xcat.recommend.io`. :meth:`load` gives back a recommender
        whose :meth:`recommend` returns the same items, scores, fallback
        and explanations.

        Parameters
        ----------
        path : str or pathlib.Path
            Directory: new (its parents are created), empty, or a saved
            recommender, replaced as a whole: until the new one is complete
            the previous one stays (files that are not the recommender's are
            kept). A symbolic link to a directory is followed.
        extra : dict, optional
            JSON-serialisable metadata stored in ``recommender.json``
            (``metadata["extra"]`` after :meth:`load`).

        Returns
        -------
        pathlib.Path
            ``path``.

        Raises
        ------
        ValueError
            If a vector or popularity score is NaN or infinite, a category
            is neither a string nor an integer, or ``path`` is a file or a
            non-empty directory that is not a saved recommender (left as it
            was).
        TypeError
            If ``extra`` is not JSON-serialisable (nothing is written).
        OSError
            If writing fails (a full disk); the previous recommender at
            ``path`` is then intact.
        """
        from xcat.recommend.io import save

        return save(self, path, extra=extra)

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        """Read a recommender written by :meth:`save` (no PyTorch needed).

        Parameters
        ----------
        path : str or pathlib.Path

        Returns
        -------
        Recommender
            ``metadata`` holds ``recommender.json``.

        Raises
        ------
        FileNotFoundError
            If the directory, ``recommender.json`` or a file it lists is
            missing (the message names the files); a missing directory
            beside which an interrupted save kept the previous recommender
            names that backup.
        ValueError
            If ``path`` is the temporary or backup directory of an
            interrupted save, the format or a newer version is not one this
            xcat reads, or a file does not fit ``recommender.json``: a
            ``.npy`` header of another dtype or shape (checked before
            anything is allocated; object arrays are refused), a truncated
            file, NaN or infinite vectors, seen items or category positions
            out of range, id maps of another length (the message names the
            file, what was expected and what it holds).
        """
        from xcat.recommend.io import load

        return load(path)

    def categories(self) -> list[Hashable]:
        """Return the item categories, in order of first appearance."""
        return list(self._category_rows())

    def _category_rows(self) -> dict[Hashable, np.ndarray]:
        """Item rows of each category (ascending), computed once: serving asks per request."""
        if self._rows_by_category is None:
            codes, uniques = pd.factorize(self.item_categories)
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
            self._rows_by_category = {
                c: order[bounds[k] : bounds[k + 1]] for k, c in enumerate(uniques)
            }
        return self._rows_by_category

    def _candidates(self, category: Hashable | Iterable[Hashable] | None) -> np.ndarray | None:
        if category is None:
            return None
        wanted: list[Hashable] = (
            [category]
            if isinstance(category, (str, int))
            else list(cast(Iterable[Hashable], category))
        )
        rows = self._category_rows()
        missing = [c for c in wanted if c not in rows]
        if missing:
            raise ValueError(
                f"category: {missing} not among the item categories {sorted(rows, key=str)}"
            )
        if len(set(wanted)) == 1:
            return rows[wanted[0]]
        return np.sort(np.concatenate([rows[c] for c in dict.fromkeys(wanted)]))

    def recommend(
        self,
        users: Iterable[Hashable],
        n: int = 10,
        *,
        category: Hashable | Iterable[Hashable] | None = None,
        exclude_seen: bool = True,
        unknown: Literal["popular", "raise"] = "popular",
        explain: bool = False,
        explain_k: int = 3,
    ) -> pd.DataFrame:
        """Top-``n`` items for each user.

        Parameters
        ----------
        users : raw user id or iterable of raw user ids
        n : int, default 10
        category : category or list of categories, optional
            Only recommend items of these categories (the target category).
        exclude_seen : bool, default True
            Leave out items the user interacted with in training.
        unknown : {"popular", "raise"}, default "popular"
            Users the model does not know get the most popular items of the
            category (``source`` column ``"popular"``, ``score`` the item's
            ``popularity``, by default its number of distinct users in
            ``history``; ties to the lower item row), or raise.
        explain : bool, default False
            Add ``because``: for each recommended item, the ``explain_k``
            items of the user's history *outside* the recommended category
            (their source-category purchases) nearest to it in embedding
            space, by cosine similarity: the reason transfer suggests it.
        explain_k : int, default 3

        Returns
        -------
        pandas.DataFrame
            Columns ``user``, ``rank`` (1 = best), ``item`` (raw ids),
            ``score`` (float32), ``source`` (``"model"`` or ``"popular"``),
            and with ``explain`` also ``because`` (list of raw item ids) and
            ``because_score`` (list of float); one block of rows per distinct
            user, in the order the users first appear. Fewer than ``n`` rows
            for a user only when fewer items are eligible.

        Raises
        ------
        ValueError
            Unknown users with ``unknown="raise"``, unknown categories, or
            bad ``n`` (as :func:`xcat.topn`).
        """
        # a repeated id is answered once, where it first appears
        users = list(dict.fromkeys(_id_list(users)))
        if unknown not in ("popular", "raise"):
            raise ValueError(f"unknown: expected 'popular' or 'raise', got {unknown!r}")
        rows = self.user_ids.encode(users, unknown="raise" if unknown == "raise" else "mark")
        candidates = self._candidates(category)
        known = rows >= 0
        frames = []
        if known.any():
            known_rows = rows[known]
            exclude = self.history[known_rows] if exclude_seen else None
            top = topn(
                self.user_vectors[known_rows],
                self.item_vectors,
                n,
                metric=self.metric,
                exclude=exclude,
                candidates=candidates,
            )
            frames.append(
                self._frame(np.asarray(users, dtype=object)[known], known_rows, top, "model")
            )
        if (~known).any():
            order = popularity_order(self._popularity)
            if candidates is not None:
                order = order[np.isin(order, candidates)]
            best = order[:n]
            n_unknown = int((~known).sum())
            idx = np.tile(best, (n_unknown, 1))
            scores = np.tile(self._popularity[best].astype(np.float32), (n_unknown, 1))
            unknown_users = np.asarray(users, dtype=object)[~known]
            frames.append(
                self._frame(unknown_users, np.full(n_unknown, -1), (idx, scores), "popular")
            )
        out = pd.concat(frames, ignore_index=True) if frames else self._frame([], [], None, "")
        position = {u: i for i, u in enumerate(users)}
        if len(frames) > 1:
            # Back to the caller's user order (a single frame already is in it).
            out = out.sort_values(
                ["user", "rank"], key=lambda c: c.map(position) if c.name == "user" else c
            )
            out = out.reset_index(drop=True)
        if explain:
            out = self._explain(out, category, explain_k)
        return out

    def similar_items(
        self,
        items: Hashable | Iterable[Hashable],
        n: int = 10,
        *,
        category: Hashable | Iterable[Hashable] | None = None,
        exclude_self: bool = True,
    ) -> pd.DataFrame:
        """Items nearest to given items, e.g. target-category items like a source item.

        The cross-category use: ``similar_items("a-lipstick", category="toys")``
        lists the toys nearest to a beauty product in the shared item space
        the transfer learned (a "customers who like this also like" shelf in
        another department). Exact, by :func:`xcat.topn` with the cosine
        similarity of the item vectors (whatever ``metric`` users are scored
        with: item-item similarity should not favour items with long
        vectors), ties to the lower item row.

        Parameters
        ----------
        items : raw item id or iterable of raw item ids
            The query items, of any category.
        n : int, default 10
            Similar items per query item.
        category : category or list of categories, optional
            Only return items of these categories; default every category.
        exclude_self : bool, default True
            Leave the query item out of its own list.

        Returns
        -------
        pandas.DataFrame
            Columns ``item`` (the query, raw id), ``rank`` (1 = most
            similar), ``similar`` (raw id), ``score`` (float32 cosine
            similarity), ``category`` (of the similar item); one block of
            rows per query item, in the order given. Fewer than ``n`` rows
            for an item only when fewer items are eligible.

        Raises
        ------
        ValueError
            Naming ``items``: an item the recommender does not know (the
            message lists them), or no items; an unknown ``category``; a bad
            ``n`` (as :func:`xcat.topn`).
        """
        queries = _id_list(items)
        if not queries:
            raise ValueError("items: expected at least one item id, got none")
        missing = self.item_ids.unknown(queries)
        if len(missing):
            raise ValueError(f"items: not known to the recommender: {list(missing[:10])}")
        rows = self.item_ids.encode(queries, unknown="raise")
        candidates = self._candidates(category)
        exclude = None
        if exclude_self:
            m = len(rows)
            exclude = sp.csr_matrix(
                (np.ones(m, dtype=np.float32), (np.arange(m), rows)),
                shape=(m, len(self.item_vectors)),
            )
        indices, scores = topn(
            self.item_vectors[rows],
            self.item_vectors,
            n,
            metric="cosine",
            exclude=exclude,
            candidates=candidates,
        )
        keep = (indices >= 0).ravel()
        flat = indices.ravel()[keep]
        return pd.DataFrame(
            {
                "item": np.repeat(np.asarray(queries, dtype=object), n)[keep],
                "rank": np.tile(np.arange(1, n + 1), len(queries))[keep],
                "similar": self.item_ids.decode(flat),
                "score": scores.ravel()[keep],
                "category": self.item_categories[flat],
            }
        )

    def _frame(self, users, rows, top, source: str) -> pd.DataFrame:
        if top is None:
            return pd.DataFrame(columns=["user", "rank", "item", "score", "source"])
        indices, scores = top
        keep = indices >= 0
        n = indices.shape[1]
        return pd.DataFrame(
            {
                "user": np.repeat(np.asarray(users, dtype=object), n)[keep.ravel()],
                "user_row": np.repeat(np.asarray(rows), n)[keep.ravel()],
                "rank": np.tile(np.arange(1, n + 1), len(users))[keep.ravel()],
                "item": self.item_ids.decode(indices[keep]),
                "item_row": indices[keep],
                "score": scores[keep],
                "source": source,
            }
        )

    def _explain(self, out: pd.DataFrame, category: Any, k: int) -> pd.DataFrame:
        because: list[list[Hashable]] = [[] for _ in range(len(out))]
        because_score: list[list[float]] = [[] for _ in range(len(out))]
        target = set(
            self.categories()
            if category is None
            else ([category] if isinstance(category, (str, int)) else category)
        )
        for user_row, positions in out.groupby("user_row").indices.items():
            if user_row < 0:
                continue  # popularity fallback: nothing of the user's to point at
            start, end = self.history.indptr[user_row], self.history.indptr[user_row + 1]
            hist = self.history.indices[start:end]
            hist = hist[~np.isin(self.item_categories[hist], list(target))]
            if len(hist) == 0:
                continue
            rec_rows = out["item_row"].to_numpy()[positions]
            sims = cosine_similarity(self.item_vectors[rec_rows], self.item_vectors[hist])
            # Top-k of each row of `sims`, ties to the lower history position:
            # the rows are the queries and the identity picks out their entries.
            best = topn(sims, np.eye(len(hist), dtype=np.float32), min(k, len(hist)), metric="dot")
            for pos, idx, sc in zip(positions, best.indices, best.scores, strict=True):
                because[pos] = list(self.item_ids.decode(hist[idx]))
                because_score[pos] = [float(x) for x in sc]
        out = out.copy()
        out["because"] = because
        out["because_score"] = because_score
        return out


def _id_list(ids: Hashable | Iterable[Hashable]) -> list[Hashable]:
    """Return one raw id or an iterable of them as a list (a string is one id, not its letters)."""
    if isinstance(ids, (str, bytes, int, np.integer)):
        return [ids]
    return list(cast(Iterable[Hashable], ids))
