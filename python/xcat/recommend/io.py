"""Save and load a :class:`~xcat.recommend.Recommender`: one directory, no pickle, no PyTorch.

Layout (format ``"xcat.Recommender"``)::

    user_vectors.npy      float32 (n_users, dim)      user embeddings
    item_vectors.npy      float32 (n_items, dim)      item embeddings
    item_categories.npy   int32 (n_items,)            each item's position in ids.json "categories"
    seen_indptr.npy       int64 (n_users + 1,)        each user's training items, CSR: user u saw
    seen_indices.npy      int32 or int64 (n_seen,)    seen_indices[seen_indptr[u]:seen_indptr[u+1]]
    popularity.npy        float64 (n_items,)          score of the popularity fallback
    ids.json              raw ids: "users", "items" (xcat.data.IdMap), "categories" (str or int)
    recommender.json      format, format_version, xcat_version, metric, n_users, n_items, dim,
                          n_seen, files, extra

Every ``.npy`` file is read with its header checked first (dtype, shape,
byte count against ``recommender.json``), so a tampered size allocates
nothing, and never with pickle. The seen items keep their stored order and
repeats, so a loaded recommender explains and excludes exactly as the one
saved; the values of the history matrix are not kept (any stored entry
counts, see :class:`~xcat.recommend.Recommender`): they load as ones.

Durability is :func:`xcat.models.save`'s (:mod:`xcat._atomic`): the whole
new directory is written into a temporary sibling, each file synced,
``recommender.json`` last, and swapped into place in one step, so a killed
process leaves the previous recommender or the new one, complete.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from xcat._atomic import (
    check_saved_dir,
    marker_check,
    read_json,
    replace_dir,
    write_npy,
    write_text,
)
from xcat.data.idmap import IdMap

if TYPE_CHECKING:
    from xcat.recommend.recommender import Recommender

__all__ = ["FORMAT", "FORMAT_VERSION", "load", "read_metadata", "save"]

FORMAT = "xcat.Recommender"
FORMAT_VERSION = 1
META = "recommender.json"
IDS = "ids.json"
USER_VECTORS = "user_vectors.npy"
ITEM_VECTORS = "item_vectors.npy"
ITEM_CATEGORIES = "item_categories.npy"
SEEN_INDPTR = "seen_indptr.npy"
SEEN_INDICES = "seen_indices.npy"
POPULARITY = "popularity.npy"
_ARRAYS = (USER_VECTORS, ITEM_VECTORS, ITEM_CATEGORIES, SEEN_INDPTR, SEEN_INDICES, POPULARITY)
_FILES = frozenset({*_ARRAYS, IDS, META})
_INT32_MAX = np.iinfo(np.int32).max


def _xcat_version() -> str:
    # the package is imported (this is its submodule); a static `from xcat import` would
    # make the import graph reach xcat.load's lazy model import
    return str(getattr(sys.modules.get("xcat"), "__version__", "unknown"))


# ---------------------------------------------------------------- saving


def _category_codes(categories: np.ndarray) -> tuple[np.ndarray, list[str | int]]:
    """Each item's position in the list of distinct categories (first appearance), checked."""
    import pandas as pd

    codes, uniques = pd.factorize(pd.Series(categories, dtype=object), sort=False)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise ValueError(f"item_categories: item row {row} has no category (null); not saved")
    names: list[str | int] = []
    for c in uniques:
        if isinstance(c, (str, np.str_)):
            names.append(str(c))
        elif isinstance(c, (int, np.integer)) and not isinstance(c, (bool, np.bool_)):
            names.append(int(c))
        else:
            row = int(np.flatnonzero(codes == len(names))[0])
            raise ValueError(
                f"item_categories: only str or int categories can be saved, got "
                f"{type(c).__name__} {c!r} (item row {row}); not saved"
            )
    return codes.astype(np.int32), names


def _check_finite(name: str, a: np.ndarray) -> None:
    bad = int(a.size - np.isfinite(a).sum())
    if bad:
        raise ValueError(
            f"{name}: {bad:,} of {a.size:,} values are NaN or infinite; not saved (a model "
            "that diverged?)"
        )


def save(rec: Recommender, path: str | Path, *, extra: dict[str, Any] | None = None) -> Path:
    """Write ``rec`` to a directory, replacing the recommender there in one step.

    See :meth:`xcat.recommend.Recommender.save`.
    """
    codes, categories = _category_codes(rec.item_categories)
    for name, a in (
        ("user_vectors", rec.user_vectors),
        ("item_vectors", rec.item_vectors),
        ("popularity", rec._popularity),
    ):
        _check_finite(name, a)
    history = rec.history
    n_items = len(rec.item_vectors)
    index_dtype = np.int32 if n_items <= _INT32_MAX else np.int64
    arrays = {
        USER_VECTORS: rec.user_vectors,
        ITEM_VECTORS: rec.item_vectors,
        ITEM_CATEGORIES: codes,
        SEEN_INDPTR: np.ascontiguousarray(history.indptr, dtype=np.int64),
        SEEN_INDICES: np.ascontiguousarray(history.indices, dtype=index_dtype),
        POPULARITY: np.ascontiguousarray(rec._popularity, dtype=np.float64),
    }
    ids = json.dumps(
        {
            "users": rec.user_ids.to_dict(),
            "items": rec.item_ids.to_dict(),
            "categories": categories,
        }
    )
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "xcat_version": _xcat_version(),
        "metric": rec.metric,
        "n_users": len(rec.user_vectors),
        "n_items": n_items,
        "dim": int(rec.item_vectors.shape[1]),
        "n_seen": int(len(history.indices)),
        # written before recommender.json; load checks they are all there
        "files": [*_ARRAYS, IDS],
        "extra": extra or {},
    }
    text = json.dumps(meta, indent=1)  # a TypeError for a bad `extra` before anything is written

    def write(d: Path) -> None:
        for name, a in arrays.items():
            write_npy(d / name, a)
        write_text(d / IDS, ids)
        write_text(d / META, text)  # last: only a complete recommender has one

    return replace_dir(
        path, write, why_not_ours=marker_check(META, {FORMAT}), own=_FILES, what="recommender"
    )


# ---------------------------------------------------------------- loading


def read_metadata(path: str | Path) -> dict[str, Any]:
    """``recommender.json`` of a saved recommender, checked.

    Parameters
    ----------
    path : str or pathlib.Path
        A directory written by :meth:`xcat.recommend.Recommender.save`.

    Returns
    -------
    dict
        ``format`` (``"xcat.Recommender"``), ``format_version``,
        ``xcat_version``, ``metric``, ``n_users``, ``n_items``, ``dim``,
        ``n_seen``, ``files`` and ``extra`` (the metadata given to ``save``).

    Raises
    ------
    FileNotFoundError
        If the directory or ``recommender.json`` is missing, or a file it
        lists (a half-copied recommender); a missing directory beside which
        an interrupted save kept the previous recommender names that backup.
    ValueError
        If ``path`` is the temporary or backup directory of an interrupted
        save, ``recommender.json`` is not JSON of an xcat recommender, its
        version is newer than this xcat reads, or its sizes are not
        non-negative integers.
    """
    d = Path(path)
    check_saved_dir(d, "recommender")
    f = d / META
    if not f.is_file():
        raise FileNotFoundError(f"{d} is not a saved xcat recommender: {META} is missing")
    meta = read_json(f, "recommender")
    fmt = meta.get("format") if isinstance(meta, dict) else None
    if fmt != FORMAT:
        raise ValueError(f"{f}: not an xcat recommender (format {fmt!r}, expected {FORMAT!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{f}: recommender format version {version!r} was written by xcat "
            f"{meta.get('xcat_version', '?')}; this xcat ({_xcat_version()}) reads versions up "
            f"to {FORMAT_VERSION}. Upgrade xcat to load it"
        )
    for key in ("n_users", "n_items", "dim", "n_seen"):
        v = meta.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{f}: {key!r} must be a non-negative integer, got {v!r}")
    if meta.get("metric") not in ("cosine", "dot"):
        raise ValueError(f"{f}: 'metric' must be 'cosine' or 'dot', got {meta.get('metric')!r}")
    files = meta.get("files")
    if not isinstance(files, list) or not all(isinstance(x, str) for x in files):
        raise ValueError(f"{f}: 'files' must be a list of file names, got {files!r}")
    missing = [x for x in files if not (d / x).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{d} is not a complete xcat recommender: {', '.join(missing)} is missing ({META} "
            f"lists {files})"
        )
    if not isinstance(meta.get("extra", {}), dict):
        raise ValueError(f"{f}: 'extra' must be a JSON object, got {meta.get('extra')!r}")
    return dict(meta)


def _read_npy(f: Path, what: str, dtypes: tuple[type, ...], shape: tuple[int, ...]) -> np.ndarray:
    """Read a ``.npy`` file whose header says one of ``dtypes`` and exactly ``shape``.

    The header is checked before anything is allocated; object arrays
    (pickles) are refused by their dtype.
    """
    expected = " or ".join(np.dtype(t).name for t in dtypes)
    with open(f, "rb") as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                got_shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                got_shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
        except ValueError as e:
            raise ValueError(f"{f}: not a readable .npy file ({e})") from None
        if not any(dtype == np.dtype(t) for t in dtypes) or tuple(got_shape) != shape:
            raise ValueError(
                f"{f}: expected {what}: dtype {expected}, shape {shape}; the file holds dtype "
                f"{dtype}, shape {tuple(got_shape)}"
            )
        if fortran:
            raise ValueError(f"{f}: expected a C-ordered array, the file holds a Fortran one")
        offset = fh.tell()
        count = math.prod(shape)
        held = os.fstat(fh.fileno()).st_size - offset
        if held != count * dtype.itemsize:
            raise ValueError(
                f"{f}: truncated or padded: its header says {count:,} values of {dtype} "
                f"({count * dtype.itemsize:,} bytes), the file holds {held:,} bytes of data"
            )
        # native byte order: the kernels and comparisons below expect it
        return (
            np.fromfile(fh, dtype=dtype, count=count)
            .reshape(shape)
            .astype(dtype.newbyteorder("="), copy=False)
        )


def _read_ids(f: Path, n_users: int, n_items: int) -> tuple[IdMap, IdMap, list[Any]]:
    try:
        raw = json.loads(f.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{f}: not valid JSON ({e})") from None
    if not isinstance(raw, dict) or not {"users", "items", "categories"} <= set(raw):
        raise ValueError(f"{f}: expected a JSON object with 'users', 'items' and 'categories'")
    maps = []
    for key, n in (("users", n_users), ("items", n_items)):
        try:
            m = IdMap.from_dict(raw[key])
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ValueError(f"{f}: {key!r} is not a saved id map ({e})") from None
        if len(m) != n:
            raise ValueError(
                f"{f}: {key!r} holds {len(m):,} ids, {META} says {n:,} {key} (the vectors' rows)"
            )
        maps.append(m)
    categories = raw["categories"]
    if (
        not isinstance(categories, list)
        or not all(isinstance(c, (str, int)) and not isinstance(c, bool) for c in categories)
        or len(set(categories)) != len(categories)
    ):
        raise ValueError(f"{f}: 'categories' must be a list of distinct strings or integers")
    return maps[0], maps[1], categories


def load(path: str | Path) -> Recommender:
    """Read a recommender written by :func:`save`.

    See :meth:`xcat.recommend.Recommender.load`.
    """
    from xcat.recommend.recommender import Recommender

    d = Path(path)
    meta = read_metadata(d)
    n_users, n_items, dim, n_seen = (meta[k] for k in ("n_users", "n_items", "dim", "n_seen"))
    user_ids, item_ids, categories = _read_ids(d / IDS, n_users, n_items)
    users = _read_npy(d / USER_VECTORS, "the user vectors", (np.float32,), (n_users, dim))
    items = _read_npy(d / ITEM_VECTORS, "the item vectors", (np.float32,), (n_items, dim))
    codes = _read_npy(d / ITEM_CATEGORIES, "each item's category", (np.int32,), (n_items,))
    indptr = _read_npy(d / SEEN_INDPTR, "the seen items' offsets", (np.int64,), (n_users + 1,))
    indices = _read_npy(d / SEEN_INDICES, "the seen items' rows", (np.int32, np.int64), (n_seen,))
    popularity = _read_npy(d / POPULARITY, "the popularity scores", (np.float64,), (n_items,))
    for f, a in ((USER_VECTORS, users), (ITEM_VECTORS, items), (POPULARITY, popularity)):
        bad = int(a.size - np.isfinite(a).sum())
        if bad:
            raise ValueError(f"{d / f}: {bad:,} of {a.size:,} values are NaN or infinite")
    if len(codes) and (codes.min() < 0 or codes.max() >= len(categories)):
        raise ValueError(
            f"{d / ITEM_CATEGORIES}: category positions must lie in [0, {len(categories)}) "
            f"({IDS} lists {len(categories)} categories)"
        )
    if indptr[0] != 0 or indptr[-1] != n_seen or (np.diff(indptr) < 0).any():
        raise ValueError(
            f"{d / SEEN_INDPTR}: expected non-decreasing offsets from 0 to {n_seen:,} (n_seen)"
        )
    if n_seen and (indices.min() < 0 or indices.max() >= n_items):
        raise ValueError(f"{d / SEEN_INDICES}: item rows must lie in [0, {n_items:,})")
    history = sp.csr_matrix(
        (np.ones(n_seen, dtype=np.float32), indices, indptr), shape=(n_users, n_items)
    )
    rec = Recommender(
        users,
        items,
        user_ids=user_ids,
        item_ids=item_ids,
        item_categories=np.asarray(categories, dtype=object)[codes]
        if categories
        else np.empty(n_items, dtype=object),
        history=history,
        metric=meta["metric"],
        popularity=popularity,
    )
    rec.metadata = meta
    return rec
