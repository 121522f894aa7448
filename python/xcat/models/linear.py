"""Item-item linear baselines: EASE and ItemKNN, NumPy / SciPy only (no PyTorch).

Both models learn an ``(I, I)`` item-item matrix ``W`` from a binary user x
item matrix ``X`` and score a user's history ``x`` (a row of ``X``) as
``x @ W``; :meth:`EASE.topn` / :meth:`ItemKNN.topn` return the best items
with the same contract as :func:`xcat.topn` (int64 indices, float32 scores,
best first, ties to the lower item index, ``-1`` / ``-inf`` padding,
``exclude`` and ``candidates``).

- :class:`EASE`: Steck, "Embarrassingly Shallow Autoencoders for Sparse
  Data", WWW 2019. Closed form ``B = I - P / diag(P)`` with
  ``P = (X^T X + lam I)^-1`` and ``diag(B) = 0``.
- :class:`ItemKNN`: item-based collaborative filtering with cosine
  similarity (Sarwar et al., "Item-based collaborative filtering
  recommendation algorithms", WWW 2001), each item's ``k`` most similar
  items kept (Deshpande & Karypis, "Item-based top-N recommendation
  algorithms", ACM TOIS 22(1), 2004), with an optional shrinkage term.

Scores are computed in blocks of ``block_size`` users (a dense
``(block_size, I)`` float64 block at a time), so the users x items score
matrix is never held whole.

Why top-n is selected in NumPy here rather than with :func:`xcat.topn`: the
kernel would take each user's history as a dense ``d = I`` "embedding" and
``W^T`` as the items, i.e. ``O(U * I * I)`` multiply-adds accumulated in
float32 that ignore the sparsity of ``X``, with a rounding error growing
with ``d``. The sparse product ``X_block @ W`` costs ``nnz(X_block) * I`` in
float64; the scores are then rounded once to float32 (the reported scores)
and the top-n is selected exactly on those float32 values, ties to the lower
item index, which is the kernel's own contract.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from xcat.kernels import TopN, as_exclude, as_index_array

__all__ = ["EASE", "ItemKNN", "as_binary_csr"]

#: Users scored per dense block by default (1,024 x 24,000 items: ~200 MB of float64 scores).
DEFAULT_BLOCK_SIZE = 1024


def _check_positive_int(value: Any, name: str, *, what: str = "a positive integer") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name}: expected {what}, got {value!r}")
    return int(value)


def _check_real(value: Any, name: str, *, positive: bool) -> float:
    """Return ``value`` as a float after checking it is finite and > 0 (``positive``) or >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite real number, got {value!r}")
    if (positive and value <= 0) or (not positive and value < 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name}: expected a number {bound}, got {value!r}")
    return float(value)


def as_binary_csr(x: Any, name: str, *, n_items: int | None = None) -> sp.csr_matrix:
    """Validate a user x item interaction matrix and return it as binary float64 CSR.

    Parameters
    ----------
    x : scipy.sparse matrix or array_like, shape (U, I)
        Values 0 or 1 (bool, integer or floating). Stored entries of a
        sparse matrix are summed when repeated (SciPy's convention), so an
        interaction stored twice is the value 2 and is refused: build ``x``
        from distinct (user, item) pairs, or pass ``x > 0``. Explicit zeros
        are dropped.
    name : str
        Argument name used in error messages.
    n_items : int, optional
        Required number of columns.

    Returns
    -------
    scipy.sparse.csr_matrix of float64, shape (U, I)
        A new matrix (``x`` is never modified): sorted indices, no
        duplicates, every stored value 1.0.

    Raises
    ------
    ValueError
        Naming ``name``: not 2-D, not numeric, non-finite, negative or
        non-binary values (the message gives the first offending entry), or
        a number of columns other than ``n_items``.
    """
    if sp.issparse(x):
        if x.ndim != 2:
            raise ValueError(f"{name}: expected a 2-D matrix (users x items), got {x.ndim}-D")
        if x.dtype.kind not in "biuf":
            raise ValueError(f"{name}: expected a numeric matrix, got dtype {x.dtype}")
        csr = sp.csr_matrix(x, dtype=np.float64, copy=True)
    else:
        arr = np.asarray(x)
        if arr.ndim != 2:
            raise ValueError(
                f"{name}: expected a 2-D matrix (users x items), got shape {arr.shape}"
            )
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{name}: expected a numeric matrix, got dtype {arr.dtype}")
        csr = sp.csr_matrix(arr.astype(np.float64, copy=False))
    csr.sum_duplicates()
    csr.eliminate_zeros()
    data = csr.data
    bad = ~np.isfinite(data)
    if bad.any():
        raise ValueError(f"{name}: has a non-finite value at {_where(csr, bad)}")
    bad = data < 0
    if bad.any():
        raise ValueError(
            f"{name}: values must be non-negative (0/1 interactions); found "
            f"{float(data[bad][0])!r} at {_where(csr, bad)}"
        )
    bad = data != 1.0
    if bad.any():
        value = float(data[bad][0])
        raise ValueError(
            f"{name}: expected a binary 0/1 matrix; found {value!r} at {_where(csr, bad)} "
            "(entries stored twice are summed: build it from distinct (user, item) pairs, or "
            "pass (X > 0) to binarise counts)"
        )
    if n_items is not None and csr.shape[1] != n_items:
        raise ValueError(
            f"{name}: has {csr.shape[1]} columns but the model was fitted on {n_items} items"
        )
    return csr


def _where(csr: sp.csr_matrix, bad: np.ndarray) -> str:
    """``(row r, item c)`` of the first flagged stored entry."""
    pos = int(np.flatnonzero(bad)[0])
    row = int(np.searchsorted(csr.indptr, pos, side="right") - 1)
    return f"(row {row}, item {int(csr.indices[pos])})"


def _as_exclude(exclude: Any, n_users: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """``exclude`` as validated int64 arrays.

    :func:`xcat.kernels.as_exclude`, plus the structure and range checks the
    Rust kernel does for ``xcat.topn`` (selection is NumPy here).
    """
    indptr, indices = as_exclude(exclude, n_users, n_items)
    if (
        len(indptr) != n_users + 1
        or indptr[0] != 0
        or (np.diff(indptr) < 0).any()
        or indptr[-1] > len(indices)
    ):
        raise ValueError(
            f"exclude: indptr must have {n_users + 1} non-decreasing entries from 0 to at "
            f"most len(indices)={len(indices)}"
        )
    used = indices[: indptr[-1]]
    if used.size and (used.min() < 0 or used.max() >= n_items):
        raise ValueError(f"exclude: item indices must be in 0..{n_items - 1}")
    return indptr, indices


def _as_candidates(candidates: Any, n_items: int) -> np.ndarray:
    """Candidate item rows, validated, ascending (so ties by position are ties by item)."""
    cand = as_index_array(candidates, "candidates")
    if cand.size and (cand.min() < 0 or cand.max() >= n_items):
        raise ValueError(f"candidates: item indices must be in 0..{n_items - 1}")
    out = np.unique(cand)
    if out.size != cand.size:
        raise ValueError("candidates: item indices must not repeat")
    return out


def _select(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``n`` columns of each row of ``scores``, best first, ties to the lower column.

    ``scores`` is float32 without NaN (``-inf`` marks ineligible entries);
    ``n <= scores.shape[1]``. Returns the columns (int64) and their scores.
    """
    rows, n_cols = scores.shape
    neg = -scores  # exact in float32; ascending order of neg = descending score
    if n == n_cols:
        cols = np.argsort(neg, axis=1, kind="stable")  # stable: ties keep column order
    else:
        part = np.argpartition(neg, n - 1, axis=1)[:, :n]
        kth = np.take_along_axis(scores, part, axis=1).min(axis=1)[:, None]  # n-th best
        above = scores > kth
        tied = scores == kth
        # of the items tied with the n-th best, keep the lowest columns that still fit
        need = n - above.sum(axis=1, dtype=np.int64)
        keep = above | (tied & (np.cumsum(tied, axis=1, dtype=np.int32) <= need[:, None]))
        cols = np.nonzero(keep)[1].reshape(rows, n)  # ascending columns within each row
        order = np.argsort(np.take_along_axis(neg, cols, axis=1), axis=1, kind="stable")
        cols = np.take_along_axis(cols, order, axis=1)
    return cols.astype(np.int64, copy=False), np.take_along_axis(scores, cols, axis=1)


class _ItemItemModel:
    """Shared scoring and top-n of the item-item models (``x @ W`` by user blocks)."""

    n_items_: int | None = None

    def __init__(self, block_size: int) -> None:
        self.block_size = _check_positive_int(block_size, "block_size")

    def _fitted_items(self) -> int:
        if self.n_items_ is None:
            raise RuntimeError(f"{type(self).__name__}: call fit(X) before scoring")
        return self.n_items_

    def _block_scores(self, x: sp.csr_matrix) -> np.ndarray:
        """Dense float64 scores ``x @ W`` of a block of users, shape (rows, I)."""
        raise NotImplementedError

    def _users(self, x_users: Any) -> tuple[sp.csr_matrix, bool]:
        n_items = self._fitted_items()
        single = False
        if not sp.issparse(x_users):
            arr = np.asarray(x_users)
            if arr.ndim == 1:
                x_users, single = arr.reshape(1, -1), True
        return as_binary_csr(x_users, "X_users", n_items=n_items), single

    def _float32_block(self, x: sp.csr_matrix, start: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            block = self._block_scores(x).astype(np.float32)
        if not np.isfinite(block).all():
            row = start + int(np.argwhere(~np.isfinite(block))[0, 0])
            raise ValueError(
                f"X_users: row {row} has scores beyond the float32 range (a stronger "
                "regularisation keeps the weights smaller)"
            )
        return block

    def scores(self, X_users: Any, items: Any = None) -> np.ndarray:
        """Dense scores ``X_users @ W`` as float32: for small inputs and tests.

        Parameters
        ----------
        X_users : scipy.sparse matrix or array_like, shape (U, I) or (I,)
            Binary histories of the users to score (the rules of ``fit``'s
            ``X``); a 1-D array is one user and gives a 1-D result.
        items : array_like of int, shape (C,), optional
            Item rows to return, in the order given (default: all).

        Returns
        -------
        numpy.ndarray of float32, shape (U, C)
            The very values :meth:`topn` ranks and reports.

        Raises
        ------
        RuntimeError
            If the model is not fitted.
        ValueError
            As ``fit`` for ``X_users``; ``items`` not 1-D integers in range;
            scores beyond the float32 range.
        """
        x, single = self._users(X_users)
        n_items = self._fitted_items()
        cols = None if items is None else as_index_array(items, "items")
        if cols is not None and cols.size and (cols.min() < 0 or cols.max() >= n_items):
            raise ValueError(f"items: item indices must be in 0..{n_items - 1}")
        out = []
        for start in range(0, x.shape[0], self.block_size):
            block = self._float32_block(x[start : start + self.block_size], start)
            out.append(block if cols is None else block[:, cols])
        width = n_items if cols is None else len(cols)
        result = np.concatenate(out) if out else np.zeros((0, width), dtype=np.float32)
        return result[0] if single else result

    def topn(
        self,
        X_users: Any,
        n: int,
        exclude: Any = None,
        candidates: Any = None,
    ) -> TopN:
        """Exact top-``n`` items for each user, with the contract of :func:`xcat.topn`.

        Parameters
        ----------
        X_users : scipy.sparse matrix or array_like, shape (U, I) or (I,)
            Binary histories of the users to recommend for (for example
            rows of the training matrix); a 1-D array is one user and gives
            1-D results.
        n : int
            Items per user, ``n >= 0``; rows are padded with index ``-1`` and
            score ``-inf`` when fewer than ``n`` items are eligible.
        exclude : scipy.sparse matrix of shape (U, I) or (indptr, indices), optional
            Items each user must not get, in CSR form: user ``u`` excludes
            ``indices[indptr[u]:indptr[u + 1]]`` (every stored entry counts,
            whatever its value). Note that a user's own history is *not*
            excluded unless given here.
        candidates : array_like of int, shape (C,), optional
            The only item rows that may be returned (e.g. the target
            category); indices still refer to all ``I`` items.

        Returns
        -------
        TopN
            ``indices`` int64 and ``scores`` float32, shape ``(U, n)``, each
            row by descending score, ties to the lower item index (on the
            float32 scores reported, as :meth:`scores` gives them).

        Raises
        ------
        RuntimeError
            If the model is not fitted.
        ValueError
            Naming the argument: ``X_users`` as ``fit``'s ``X`` or with
            another number of items; ``n`` negative or not an integer;
            ``exclude`` of the wrong shape or with out-of-range items;
            ``candidates`` not 1-D integers, out of range or repeated;
            scores beyond the float32 range.

        Notes
        -----
        Memory beyond the inputs and the model: the ``(U, n)`` result and,
        per block of users, temporaries of about four times one dense
        float64 ``block_size x I`` block (the float64 scores, their float32
        copy, the selection's indices and masks): about 0.8 GB for 1,024
        users and 24,000 items. A smaller ``block_size`` lowers it.
        """
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"n: expected a non-negative integer, got {n!r}")
        x, single = self._users(X_users)
        n_users, n_items = x.shape
        indptr = indices = None
        if exclude is not None:
            indptr, indices = _as_exclude(exclude, n_users, n_items)
        cand = None if candidates is None else _as_candidates(candidates, n_items)
        n_cols = n_items if cand is None else len(cand)
        n = int(n)
        m = min(n, n_cols)
        out_idx = np.full((n_users, n), -1, dtype=np.int64)
        out_scores = np.full((n_users, n), -np.inf, dtype=np.float32)
        if m > 0:
            for start in range(0, n_users, self.block_size):
                stop = min(start + self.block_size, n_users)
                block = self._float32_block(x[start:stop], start)
                if indptr is not None and indices is not None:
                    lo, hi = indptr[start], indptr[stop]
                    rows = np.repeat(np.arange(stop - start), np.diff(indptr[start : stop + 1]))
                    block[rows, indices[lo:hi]] = -np.inf  # ineligible: sorts last, padded
                if cand is not None:
                    block = block[:, cand]
                cols, vals = _select(block, m)
                items = cols if cand is None else cand[cols]
                out_idx[start:stop, :m] = np.where(np.isneginf(vals), -1, items)
                out_scores[start:stop, :m] = vals
        if single:
            return TopN(out_idx[0], out_scores[0])
        return TopN(out_idx, out_scores)


class EASE(_ItemItemModel):
    r"""EASE: the closed-form item-item linear autoencoder (Steck, WWW 2019).

    Fits ``B = argmin ||X - X B||_F^2 + lam ||B||_F^2`` subject to
    ``diag(B) = 0``, whose solution is

    .. math::

        P = (X^\top X + \lambda I)^{-1}, \qquad
        B_{ij} = -P_{ij} / P_{jj} \; (i \ne j), \qquad B_{jj} = 0,

    i.e. ``B = I - P / diag(P)`` (column ``j`` divided by ``P[j, j]``). A
    user with history ``x`` scores ``x @ B``.

    Parameters
    ----------
    lam : float, default 500.0
        The L2 regularisation ``lambda`` (> 0). Steck reports values in the
        hundreds to thousands for the MovieLens / Netflix / MSD data; choose
        it on validation users.
    max_items : int, default 30,000
        Largest catalogue :meth:`fit` accepts: the dense Gram matrix alone
        takes ``n_items**2 * 8`` bytes (30,000 items: 6.7 GiB).
    block_size : int, default 1024
        Users scored per dense block in :meth:`topn` / :meth:`scores`.

    Attributes
    ----------
    B_ : numpy.ndarray of float64, shape (I, I), C-contiguous
        The weights after :meth:`fit` (None before).
    n_items_ : int
        Items ``I`` of the fitted matrix.

    Raises
    ------
    ValueError
        If ``lam`` is not a finite number > 0, or ``max_items`` /
        ``block_size`` not a positive integer.

    Notes
    -----
    Memory of :meth:`fit`: ``n_items**2 * 8`` bytes (float64), once. The
    Gram matrix is factored (Cholesky, LAPACK ``dpotrf``), inverted
    (``dpotri``) and turned into ``B`` in the same buffer, which becomes
    ``B_``; the sparse ``X^T X`` and a ``1,024 x I`` block used to symmetrise
    the inverse come on top. Time: about ``I**3`` floating-point operations
    (24,000 items: minutes on one core).
    """

    def __init__(
        self,
        lam: float = 500.0,
        *,
        max_items: int = 30_000,
        block_size: int = DEFAULT_BLOCK_SIZE,
    ) -> None:
        super().__init__(block_size)
        self.lam = _check_real(lam, "lam", positive=True)
        self.max_items = _check_positive_int(max_items, "max_items")
        self.B_: np.ndarray | None = None

    def fit(self, X: Any) -> EASE:
        """Compute ``B`` from the binary interaction matrix ``X``.

        Parameters
        ----------
        X : scipy.sparse matrix or array_like, shape (U, I)
            Binary (0/1) user x item training interactions, preferably
            scipy CSR. Explicit zeros are ignored.

        Returns
        -------
        EASE
            ``self``, with ``B_`` set.

        Raises
        ------
        ValueError
            Naming ``X``: not 2-D, non-numeric, non-finite, negative or
            non-binary values, or more than ``max_items`` items (the message
            gives the memory needed); if the regularised Gram matrix is
            numerically not positive definite.
        """
        x = as_binary_csr(X, "X")
        n = x.shape[1]
        if n > self.max_items:
            gib = n * n * 8 / 2**30
            raise ValueError(
                f"X: {n:,} items need a {n:,} x {n:,} float64 Gram matrix ({gib:.1f} GiB); "
                f"EASE accepts at most max_items={self.max_items:,} items (raise max_items "
                "if the memory is there, or restrict the catalogue)"
            )
        gram = (x.T @ x).toarray()  # float64, exact integer counts (SciPy gives Fortran order)
        gram[np.diag_indices(n)] += self.lam
        self.B_ = _ease_weights(gram) if n else gram
        self.n_items_ = n
        return self

    def _block_scores(self, x: sp.csr_matrix) -> np.ndarray:
        assert self.B_ is not None
        return np.asarray(x @ self.B_)


def _ease_weights(gram: np.ndarray) -> np.ndarray:
    """Turn the regularised Gram matrix into EASE's ``B``, in place.

    ``gram`` is symmetric, so in C order its transpose is the same matrix in
    Fortran order: LAPACK then works on it without a copy (a C-ordered
    argument would be copied, doubling the memory).
    """
    from threadpoolctl import threadpool_limits

    n = gram.shape[0]
    fortran = gram if gram.flags.f_contiguous else gram.T
    # One BLAS thread: SciPy's threaded OpenBLAS dpotrf wrote past a buffer and
    # segfaulted on the 24,025-item Amazon Beauty+Toys Gram matrix (2 cores);
    # single-threaded it fits that matrix in 342 s (280 s threaded, when it survived).
    with threadpool_limits(limits=1, user_api="blas"):
        factor, info = lapack.dpotrf(fortran, lower=0, clean=0, overwrite_a=1)
        if info != 0:
            raise ValueError(
                "X: the regularised Gram matrix X^T X + lam I is not numerically positive "
                f"definite (LAPACK dpotrf info={info}); use a larger lam"
            )
        p, info = lapack.dpotri(factor, lower=0, overwrite_c=1)
    if info != 0:
        raise ValueError(f"X: inverting X^T X + lam I failed (LAPACK dpotri info={info})")
    del factor, fortran
    # dpotri fills the upper triangle only: mirror it, a block of rows at a time
    for s in range(0, n, DEFAULT_BLOCK_SIZE):
        e = min(s + DEFAULT_BLOCK_SIZE, n)
        p[s:e, :s] = p[:s, s:e].T
        diag = p[s:e, s:e]
        p[s:e, s:e] = np.triu(diag) + np.triu(diag, 1).T
    # p is symmetric now, so its transpose (C order when p is in Fortran order) is P too
    inv = p.T if p.flags.f_contiguous else np.ascontiguousarray(p)
    d = inv.diagonal().copy()
    np.divide(inv, -d[None, :], out=inv)  # B[i, j] = -P[i, j] / P[j, j]
    np.fill_diagonal(inv, 0.0)
    return inv


class ItemKNN(_ItemItemModel):
    r"""Item-based k-nearest-neighbour recommender with cosine similarity.

    On the binary matrix ``X``, the similarity of items ``a`` and ``b`` is

    .. math::

        s(a, b) = \frac{x_a \cdot x_b}{\lVert x_a \rVert \lVert x_b \rVert + \mathrm{shrink}}

    (``x_a`` the column of item ``a``: the co-occurrence count over the
    square root of the product of the two items' user counts; ``shrink > 0``
    damps similarities supported by few users). An item is not its own
    neighbour (``s(a, a) = 0``). With ``k``, only each item's ``k`` most
    similar items are kept (row ``a`` of ``S``, ties to the lower item
    index), as in Deshpande & Karypis (TOIS 2004); a user with history ``x``
    scores ``x @ S``: each item gets the summed similarity of the user's
    items that count it among their neighbours. Cosine item-item similarity
    is Sarwar et al. (WWW 2001).

    Parameters
    ----------
    k : int or None, default None
        Neighbours kept per item (>= 1); None keeps every item with a
        co-occurrence.
    shrink : float, default 0.0
        Shrinkage added to the denominator (>= 0).
    block_size : int, default 1024
        Users scored per dense block in :meth:`topn` / :meth:`scores`.

    Attributes
    ----------
    S_ : scipy.sparse.csr_matrix of float64, shape (I, I)
        The (pruned) similarity matrix after :meth:`fit` (None before);
        sorted indices, only positive entries stored.
    n_items_ : int
        Items ``I`` of the fitted matrix.

    Raises
    ------
    ValueError
        If ``k`` is not None or a positive integer, ``shrink`` is negative or
        not finite, or ``block_size`` is not a positive integer.

    Notes
    -----
    Memory: the sparse co-occurrence matrix ``X^T X`` (about 16 bytes per
    co-occurring item pair, during :meth:`fit`) and ``S_`` (at most the same
    number of entries, ``I * k`` with ``k``).
    """

    def __init__(
        self,
        k: int | None = None,
        *,
        shrink: float = 0.0,
        block_size: int = DEFAULT_BLOCK_SIZE,
    ) -> None:
        super().__init__(block_size)
        self.k = (
            None if k is None else _check_positive_int(k, "k", what="a positive integer or None")
        )
        self.shrink = _check_real(shrink, "shrink", positive=False)
        self.S_: sp.csr_matrix | None = None

    def fit(self, X: Any) -> ItemKNN:
        """Compute the item-item similarity matrix from the binary matrix ``X``.

        Parameters
        ----------
        X : scipy.sparse matrix or array_like, shape (U, I)
            Binary (0/1) user x item training interactions.

        Returns
        -------
        ItemKNN
            ``self``, with ``S_`` set.

        Raises
        ------
        ValueError
            Naming ``X``: not 2-D, non-numeric, non-finite, negative or
            non-binary values.
        """
        x = as_binary_csr(X, "X")
        n = x.shape[1]
        co = sp.coo_matrix(x.T @ x)  # co-occurrence counts, exact in float64
        norms = np.sqrt(np.asarray(x.sum(axis=0)).ravel())
        off = co.row != co.col
        row, col = co.row[off].astype(np.int64), co.col[off].astype(np.int64)
        sim = co.data[off] / (norms[row] * norms[col] + self.shrink)
        if self.k is not None and sim.size:
            # rank each item's neighbours by (similarity desc, item asc); keep the first k
            order = np.lexsort((col, -sim, row))
            row, col, sim = row[order], col[order], sim[order]
            start = np.searchsorted(row, row, side="left")
            keep = np.arange(row.size) - start < self.k
            row, col, sim = row[keep], col[keep], sim[keep]
        s = sp.csr_matrix((sim, (row, col)), shape=(n, n))
        s.sum_duplicates()
        s.sort_indices()
        self.S_ = s
        self.n_items_ = n
        return self

    def _block_scores(self, x: sp.csr_matrix) -> np.ndarray:
        assert self.S_ is not None
        return np.asarray((x @ self.S_).toarray())
