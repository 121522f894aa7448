"""Exact top-N retrieval and similarity: the public face of the Rust kernel.

The Rust side is strict (C-contiguous float32, int64 index arrays); this
module is permissive: it accepts any real floating array-like (CPU PyTorch
tensors too, without importing PyTorch), converts it once, and validates
everything else so errors name the argument at fault.
"""

from __future__ import annotations

import numbers
import sys
from typing import Any, NamedTuple

import numpy as np

import xcat._xcat as _xcat

__all__ = ["TopN", "cosine_similarity", "default_threads", "topn"]

_METRICS = ("cosine", "dot")
_MAX_THREADS = 1024  # as rust/parallel.rs


class TopN(NamedTuple):
    """Result of :func:`topn`.

    Attributes
    ----------
    indices : numpy.ndarray of int64, shape (U, n) or (n,)
        Row numbers into ``items``; ``-1`` where fewer than ``n`` items were
        eligible.
    scores : numpy.ndarray of float32, same shape
        Similarity of each returned item, descending along each row (within
        ``[-1, 1]`` for cosine); ``-inf`` in padded slots.
    """

    indices: np.ndarray
    scores: np.ndarray


def _from_torch(x: Any, name: str) -> Any:
    """Return a PyTorch tensor ``x`` as a NumPy array (shared memory where possible).

    Anything else is returned as it is. PyTorch is never imported here: a
    tensor exists only if the caller has imported it already.

    * ``requires_grad`` tensors are detached: retrieval is not differentiable.
    * bfloat16 (which NumPy lacks) is upcast to float32, exactly; float16 is
      read as float16 and upcast by the caller, exactly too.
    * Tensors off the CPU (CUDA, MPS, meta) and sparse tensors raise: the
      kernel runs on the CPU, and copying a catalogue off the GPU is not a
      cost to hide.

    Raises
    ------
    ValueError
        Naming ``name``: a tensor not on the CPU, or not dense (strided).
    """
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(x, torch.Tensor):
        return x
    if x.layout != torch.strided:
        raise ValueError(
            f"{name}: expected a dense tensor, got layout {x.layout}; convert it with .to_dense()"
        )
    if x.device.type != "cpu":
        raise ValueError(
            f"{name}: expected a CPU tensor, got one on {x.device} (xcat's kernels run on the "
            "CPU); move it with .cpu()"
        )
    x = x.detach()
    if x.dtype == torch.bfloat16:
        x = x.float()
    try:
        # resolve lazy conjugate / negative views, which .numpy() refuses
        return x.resolve_conj().resolve_neg().numpy()
    except (TypeError, RuntimeError) as e:  # e.g. quantized or functorch-wrapped tensors
        raise ValueError(f"{name}: cannot read this tensor as a NumPy array ({e})") from e


def _asarray(x: Any, name: str) -> np.ndarray:
    """Return ``np.asarray(x)`` (tensors via :func:`_from_torch`); ValueError naming ``name``."""
    x = _from_torch(x, name)
    try:
        return np.asarray(x)
    except (TypeError, ValueError, RuntimeError) as e:
        # e.g. ragged nested lists, GPU arrays of other libraries
        raise ValueError(
            f"{name}: cannot be read as a NumPy array ({type(x).__name__}: {e})"
        ) from e


def _as_float32_matrix(x: Any, name: str, *, allow_1d: bool) -> tuple[np.ndarray, bool]:
    """Return ``x`` as a C-contiguous float32 2-D array and whether it was 1-D."""
    arr = _asarray(x, name)
    if arr.dtype.kind != "f":
        raise ValueError(f"{name}: expected a real floating-point array, got dtype {arr.dtype}")
    was_1d = arr.ndim == 1 and allow_1d
    if was_1d:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        expected = "a 1-D or 2-D array" if allow_1d else "a 2-D array"
        raise ValueError(f"{name}: expected {expected}, got shape {arr.shape}")
    with np.errstate(over="ignore"):  # reported below, naming the row
        out = np.ascontiguousarray(arr, dtype=np.float32)
    if arr.dtype.itemsize > 4 and out.size:
        # Finite values too large for float32 would silently become inf.
        overflow = np.isinf(out) & np.isfinite(arr)
        if overflow.any():
            row = int(np.argwhere(overflow)[0, 0])
            raise ValueError(
                f"{name}: row {row} has values outside the float32 range (|x| > 3.4e38)"
            )
    return out, was_1d


def as_index_array(x: Any, name: str) -> np.ndarray:
    """``x`` as a C-contiguous 1-D int64 array; ``ValueError`` naming ``name`` otherwise.

    Ranges are not checked here (the kernel checks them against its sizes).
    """
    arr = _asarray(x, name)
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValueError(
            f"{name}: expected a 1-D integer array, got dtype {arr.dtype} and shape {arr.shape}"
        )
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name}: index {arr.max()} does not fit in int64")
    return np.ascontiguousarray(arr, dtype=np.int64)


def as_exclude(exclude: Any, n_users: int, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """``exclude`` (scipy.sparse ``(n_users, n_items)`` or ``(indptr, indices)``) as int64 arrays.

    Checks the type and the sparse shape; ``ValueError`` naming ``exclude``
    otherwise. The structure of a raw ``(indptr, indices)`` pair and the item
    range are left to the caller (the kernel checks them).
    """
    if hasattr(exclude, "tocsr") and hasattr(exclude, "shape"):
        if tuple(exclude.shape) != (n_users, n_items):
            raise ValueError(
                f"exclude: expected shape ({n_users}, {n_items}) (users x items), "
                f"got {tuple(exclude.shape)}"
            )
        csr = exclude.tocsr()
        return (
            as_index_array(csr.indptr, "exclude.indptr"),
            as_index_array(csr.indices, "exclude.indices"),
        )
    if isinstance(exclude, tuple) and len(exclude) == 2:
        return (
            as_index_array(exclude[0], "exclude indptr"),
            as_index_array(exclude[1], "exclude indices"),
        )
    raise ValueError(
        "exclude: expected a scipy.sparse matrix of shape (users, items) or an "
        f"(indptr, indices) pair, got {type(exclude).__name__}"
    )


def _check_threads(num_threads: Any) -> int | None:
    if num_threads is None:
        return None
    if (
        isinstance(num_threads, bool)
        or not isinstance(num_threads, numbers.Integral)
        or num_threads < 1
    ):
        raise ValueError(f"num_threads: expected a positive integer or None, got {num_threads!r}")
    if num_threads > _MAX_THREADS:
        raise ValueError(f"num_threads: {num_threads} is more than the {_MAX_THREADS} supported")
    return int(num_threads)


def topn(
    users: Any,
    items: Any,
    n: int,
    *,
    metric: str = "cosine",
    exclude: Any = None,
    candidates: Any = None,
    num_threads: int | None = None,
) -> TopN:
    """Exact top-``n`` items for each user by cosine or dot similarity.

    Scans every eligible item (full ranking, no approximation) in blocks that
    stay in cache, keeping a bounded top-n per user, so the ``[U, I]`` score
    matrix is never materialised. Runs in parallel with the GIL released;
    Ctrl-C stops a long call between blocks.

    Parameters
    ----------
    users : array_like of float, shape (U, d) or (d,)
        Query embeddings. C-contiguous float32 is used without a copy; any
        other real floating array is converted to float32 once (float64
        values are rounded to float32). A 1-D array is a single query and
        gives 1-D results. A CPU PyTorch tensor is read as its NumPy view:
        detached if it requires grad, bfloat16 and float16 upcast to
        float32 (exactly, so results are those of the float32 values).
    items : array_like of float, shape (I, d)
        Item embeddings, same rules as ``users`` (never copied when
        C-contiguous float32; never normalised in place).
    n : int
        Items to return per user, ``n >= 0``. If fewer than ``n`` items are
        eligible, rows are padded with index ``-1`` and score ``-inf``.
    metric : {"cosine", "dot"}, default "cosine"
        ``"cosine"`` scores ``u.v / (|u| |v|)``, clamped to ``[-1, 1]``
        (float32 rounding alone would give 1.0000001 for parallel rows); a
        zero-norm row scores 0.0 against everything (the scikit-learn
        convention). Cosine is scale-invariant and accepts every other finite
        float32 row, from subnormal values to values near the float32 maximum
        (whose squared norm overflows float32): multiplying a row by a power
        of two leaves every score unchanged, bit for bit, as long as the
        scaled row is exact in float32.
        ``"dot"`` scores the raw inner product ``u.v``, unclamped; scores
        beyond the float32 range raise rather than rank.
    exclude : scipy.sparse matrix of shape (U, I) or (indptr, indices), optional
        Items each user must not get (for example, already bought), in CSR
        form: user ``u`` excludes ``indices[indptr[u]:indptr[u + 1]]``.
        Every stored entry counts, whatever its value. Other sparse formats
        are converted with ``.tocsr()``. A 1-D ``users`` is one row.
    candidates : array_like of int, shape (C,), optional
        The only item rows that may be returned (for example, the target
        category). Returned indices still refer to rows of ``items``.
    num_threads : int, optional
        Worker threads, 1 to 1024; default ``XCAT_NUM_THREADS`` or all CPUs.
        Results are identical for every thread count. Pools are kept for the
        last few thread counts used.

    Returns
    -------
    TopN
        ``(indices, scores)``: int64 and float32 arrays of shape ``(U, n)``
        (``(n,)`` for 1-D ``users``), each row sorted by descending score,
        ties broken by the lower item index, so results are deterministic.
        Order and ties are those of the reported (clamped) scores: items
        whose cosine rounds to 1.0000001 and 1.0 both report 1.0 and come
        back by index.

    Raises
    ------
    MemoryError
        If the ``(U, n)`` result itself cannot be allocated.
    ValueError
        Naming the argument: non-floating or non-finite (NaN, inf) ``users``
        or ``items``, dot scores that overflow float32, wrong number of
        dimensions, mismatched ``d``, values beyond the float32 range (in
        float64 input), input that NumPy cannot read, PyTorch tensors not on
        the CPU (pass ``.cpu()``) or not dense; ``n`` negative or not an integer; unknown
        ``metric``; ``exclude`` of the wrong shape or with out-of-range
        items; ``candidates`` not 1-D integers, out of range or duplicated;
        ``num_threads`` outside 1..1024.
    KeyboardInterrupt
        If interrupted with Ctrl-C.

    Notes
    -----
    Each score is accumulated in float32 with fused multiply-adds over
    ``d`` in order (the user row pre-scaled by its inverse norm for cosine,
    then multiplied by the item's inverse norm, computed in float64), the
    same way on every CPU path, so agreement with a float64 reference is up
    to float32 rounding (about ``d * 6e-8`` at worst for cosine). For
    cosine, a row whose norm lies outside ``[2**-64, 2**64]`` is first
    multiplied by the power of two that brings its largest ``|x|`` into
    ``[1, 2)``: that is exact and changes no rounding, and keeps ``1/|x|``
    and every dot product inside float32. The clamp to ``[-1, 1]`` is
    applied as a score enters the per-user selection (only scores above the
    user's current n-th best get there), so selection, order and ties all
    see the reported scores. Extra memory beyond the inputs: the users
    packed once (``U * d`` float32) and ``2n`` (score, index) pairs per
    user for each of up to ``4 * threads`` item ranges (a single range once
    the batch has ``1024 * threads`` users), plus one cache-sized block of
    rescaled item rows per task when such rows occur; never anything of size
    ``U * I``.

    Examples
    --------
    >>> import numpy as np, xcat
    >>> users = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    >>> items = np.array([[1.0, 0.1], [0.0, 2.0], [1.0, 1.0]], dtype=np.float32)
    >>> xcat.topn(users, items, 2).indices
    array([[0, 2],
           [1, 2]])
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise ValueError(f"n: expected a non-negative integer, got {n!r}")
    if n < 0 or n > np.iinfo(np.int64).max:
        raise ValueError(f"n: expected a non-negative integer below 2**63, got {n}")
    if metric not in _METRICS:
        raise ValueError(f"metric: expected one of {_METRICS}, got {metric!r}")
    users_f, single = _as_float32_matrix(users, "users", allow_1d=True)
    items_f, _ = _as_float32_matrix(items, "items", allow_1d=False)
    if users_f.shape[1] != items_f.shape[1]:
        raise ValueError(
            f"items: has d={items_f.shape[1]} columns but users has d={users_f.shape[1]}"
        )
    indptr = indices = None
    if exclude is not None:
        indptr, indices = as_exclude(exclude, users_f.shape[0], items_f.shape[0])
    cand = None if candidates is None else as_index_array(candidates, "candidates")
    idx, scores = _xcat.topn(
        users_f,
        items_f,
        int(n),
        metric,
        indptr,
        indices,
        cand,
        _check_threads(num_threads),
    )
    if single:
        return TopN(idx[0], scores[0])
    return TopN(idx, scores)


def cosine_similarity(a: Any, b: Any, *, num_threads: int | None = None) -> np.ndarray:
    """Dense cosine similarity matrix, for small inputs.

    Parameters
    ----------
    a : array_like of float, shape (A, d)
    b : array_like of float, shape (B, d)
        Same conversion rules as :func:`topn` (float32, one copy at most).
    num_threads : int, optional
        Worker threads; default as in :func:`topn`.

    Returns
    -------
    numpy.ndarray of float32, shape (A, B)
        ``a_i . b_j / (|a_i| |b_j|)``, clamped to ``[-1, 1]``; 0.0 where
        either row has zero norm. Any finite float32 rows are accepted, as
        in :func:`topn` (scale-invariant over the whole finite float32
        range). The values equal, bit for bit, the scores :func:`topn`
        reports.

    Raises
    ------
    ValueError
        As :func:`topn` for ``a`` (in place of ``users``) and ``b``
        (``items``).
    """
    a_f, _ = _as_float32_matrix(a, "a", allow_1d=False)
    b_f, _ = _as_float32_matrix(b, "b", allow_1d=False)
    if a_f.shape[1] != b_f.shape[1]:
        raise ValueError(f"b: has d={b_f.shape[1]} columns but a has d={a_f.shape[1]}")
    return _xcat.similarity(a_f, b_f, "cosine", _check_threads(num_threads))


def default_threads() -> int:
    """Threads a kernel call uses by default: ``XCAT_NUM_THREADS`` or all CPUs."""
    return _xcat.default_threads()
