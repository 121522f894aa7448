"""The interaction table, raw-id maps and the removal report.

An :class:`Interactions` object holds one row per user event with the canonical
columns below, plus an optional item table and user table:

=============  ==============================================  ========
column         meaning                                         required
=============  ==============================================  ========
``user``       raw user id (``int64`` or ``str``)              yes
``item``       raw item id (``int64`` or ``str``)              yes
``category``   product category, i.e. the *domain* of the row  yes
``rating``     explicit rating (numeric)                       no
``event``      event type (``"view"``, ``"cart"``, ``"buy"``)  no
``timestamp``  event time, ``datetime64[ns]`` (naive, UTC)     no
``split``      a benchmark's own split label (``"train"``..)   no
=============  ==============================================  ========

Other columns are allowed and kept unchanged.  Nothing in this module removes a
row unless asked to; every removal is recorded in a :class:`RemovalReport`.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

logger = logging.getLogger("xcat.data")

USER = "user"
ITEM = "item"
CATEGORY = "category"
RATING = "rating"
EVENT = "event"
TIMESTAMP = "timestamp"
SPLIT = "split"

#: Columns every :class:`Interactions` table has.
REQUIRED_COLUMNS: tuple[str, ...] = (USER, ITEM, CATEGORY)
#: Columns with a fixed meaning that a table may have.
OPTIONAL_COLUMNS: tuple[str, ...] = (RATING, EVENT, TIMESTAMP, SPLIT)
ID_COLUMNS: tuple[str, ...] = (USER, ITEM, CATEGORY)

_FORMAT_VERSION = 1
_INT64_MAX = np.iinfo(np.int64).max


class UnknownIdWarning(UserWarning):
    """Ids that an :class:`IdMap` does not know were looked up (they map to -1)."""


# --------------------------------------------------------------------------- helpers


def _fmt(n: int) -> str:
    return f"{n:,}"


def _examples(values: Iterable[Any], limit: int = 5) -> str:
    shown = [
        repr(v.item() if isinstance(v, np.generic) else v)
        for _, v in zip(range(limit), values, strict=False)
    ]
    return ", ".join(shown)


def _positions(mask: np.ndarray, limit: int = 5) -> str:
    pos = np.flatnonzero(mask)[:limit]
    more = ", ..." if mask.sum() > limit else ""
    return ", ".join(str(p) for p in pos) + more


def _id_kind(values: pd.Series | pd.Index | np.ndarray, what: str) -> Literal["int", "str"]:
    """Return ``"int"`` or ``"str"`` for an id column, or raise ValueError."""
    values = pd.Series(values, copy=False) if not isinstance(values, pd.Series) else values
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise ValueError(f"{what} has boolean dtype; ids must be integers or strings")
    if pd.api.types.is_integer_dtype(dtype):
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) and values.isna().any():
            n = int(values.isna().sum())
            raise ValueError(f"{what} has {_fmt(n)} null values")
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        raise ValueError(
            f"{what} has float dtype ({dtype}); ids must be integers or strings. "
            "If the values are whole numbers, convert them with .astype('int64') first"
        )
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return "str"
    if kind == "integer":
        return "int"
    types = pd.Series([type(v).__name__ for v in values.dropna()]).value_counts()
    raise ValueError(
        f"{what} mixes value types "
        f"({', '.join(f'{t}: {_fmt(int(c))} rows' for t, c in types.items())}); "
        "ids must be all integers or all strings"
    )


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class RemovalStep:
    """One data-changing step of a load and how many rows it removed.

    Attributes
    ----------
    step : str
        Short name of the step (``"drop duplicates"``, ``"k-core"``...).
    rows_before, rows_after : int
        Row counts before and after the step.  ``rows_after > rows_before``
        only for steps that add rows (MovieLens ``genres="explode"``).
    detail : str
        Human-readable parameters of the step.
    """

    step: str
    rows_before: int
    rows_after: int
    detail: str = ""

    @property
    def rows_removed(self) -> int:
        """Rows removed by this step (negative if the step added rows)."""
        return self.rows_before - self.rows_after


@dataclass(frozen=True)
class RemovalReport:
    """Ordered record of every step that removed (or added) rows during a load.

    An empty report means no row was removed.  Reports are immutable;
    :meth:`add` returns a new report.

    Attributes
    ----------
    steps : tuple of RemovalStep
        The steps in the order they were applied.
    """

    steps: tuple[RemovalStep, ...] = ()

    def add(self, step: str, rows_before: int, rows_after: int, detail: str = "") -> RemovalReport:
        """Return a new report with one more step (also logged at INFO level).

        Parameters
        ----------
        step : str
            Name of the step.
        rows_before, rows_after : int
            Row counts before and after the step.
        detail : str, default ""
            Parameters of the step, for people.

        Returns
        -------
        RemovalReport
        """
        s = RemovalStep(step, int(rows_before), int(rows_after), detail)
        logger.info(
            "%s: %s -> %s rows (%s removed)%s",
            step,
            _fmt(s.rows_before),
            _fmt(s.rows_after),
            _fmt(s.rows_removed),
            f"; {detail}" if detail else "",
        )
        return RemovalReport((*self.steps, s))

    def extend(self, other: RemovalReport, prefix: str = "") -> RemovalReport:
        """Return a report with the steps of ``other`` appended (names prefixed)."""
        extra = tuple(
            RemovalStep(prefix + s.step, s.rows_before, s.rows_after, s.detail) for s in other.steps
        )
        return RemovalReport((*self.steps, *extra))

    @property
    def total_removed(self) -> int:
        """Sum of :attr:`RemovalStep.rows_removed` over all steps."""
        return sum(s.rows_removed for s in self.steps)

    def to_frame(self) -> pd.DataFrame:
        """Return the report as a table.

        Returns
        -------
        pandas.DataFrame
            Columns ``step``, ``rows_before``, ``rows_removed``, ``rows_after``,
            ``detail``; one row per step (zero rows if nothing was removed).
        """
        return pd.DataFrame(
            {
                "step": [s.step for s in self.steps],
                "rows_before": [s.rows_before for s in self.steps],
                "rows_removed": [s.rows_removed for s in self.steps],
                "rows_after": [s.rows_after for s in self.steps],
                "detail": [s.detail for s in self.steps],
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, read back by :meth:`from_dict`."""
        return {"steps": [s.__dict__.copy() for s in self.steps]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RemovalReport:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(RemovalStep(**s) for s in d.get("steps", [])))

    def __str__(self) -> str:
        if not self.steps:
            return "no rows removed"
        lines = []
        for s in self.steps:
            verb = "removed" if s.rows_removed >= 0 else "added"
            lines.append(
                f"{s.step}: {_fmt(abs(s.rows_removed))} rows {verb} "
                f"({_fmt(s.rows_before)} -> {_fmt(s.rows_after)})"
                + (f"; {s.detail}" if s.detail else "")
            )
        return "\n".join(lines)


# --------------------------------------------------------------------------- id map


class IdMap:
    """Map between raw ids (strings or integers) and dense row numbers ``0..n-1``.

    The map is fixed at construction: the raw id at position ``i`` gets row
    number ``i``.  :meth:`from_values` builds it in order of first appearance,
    so the same input always gives the same map.  Save it with a trained model
    (:meth:`save`, :meth:`load`) to encode new data the same way; ids the map
    does not know become ``-1`` and are reported with an
    :class:`UnknownIdWarning` instead of raising.

    Parameters
    ----------
    ids : array-like
        Unique raw ids, all integers or all strings, no nulls.
    name : str, default "id"
        What the ids are (``"user"``, ``"item"``); used in messages.

    Raises
    ------
    ValueError
        If ``ids`` has nulls, duplicates, floats or mixed types.
    """

    def __init__(self, ids: Sequence[Hashable] | np.ndarray | pd.Index, *, name: str = "id"):
        values = pd.Series(list(ids) if not hasattr(ids, "dtype") else ids, copy=False)
        if values.isna().any():
            raise ValueError(f"{name} ids contain {_fmt(int(values.isna().sum()))} null values")
        self._kind = _id_kind(values, f"{name} ids")
        dtype = np.int64 if self._kind == "int" else object
        index = pd.Index(values.to_numpy(), dtype=dtype, name=name)
        if not index.is_unique:
            dup = index[index.duplicated()].unique()
            raise ValueError(
                f"{name} ids contain {_fmt(len(dup))} duplicated values, e.g. {_examples(dup)}"
            )
        self._index = index
        self.name = name

    @classmethod
    def from_values(cls, values: Iterable[Hashable], *, name: str = "id") -> IdMap:
        """Build a map from (possibly repeated) ids, in order of first appearance.

        Parameters
        ----------
        values : array-like
            Raw ids, e.g. ``interactions.data["user"]``.
        name : str, default "id"
            What the ids are.

        Returns
        -------
        IdMap
        """
        series = values if isinstance(values, pd.Series) else pd.Series(list(values))
        return cls(pd.unique(series), name=name)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"IdMap(name={self.name!r}, n={len(self):,}, kind={self._kind!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IdMap):
            return NotImplemented
        return self._kind == other._kind and self._index.equals(other._index)

    __hash__ = None  # type: ignore[assignment]

    @property
    def ids(self) -> pd.Index:
        """The raw ids; position ``i`` holds the id of row number ``i``."""
        return self._index

    @property
    def kind(self) -> Literal["int", "str"]:
        """Whether the raw ids are integers or strings."""
        return self._kind  # type: ignore[return-value]

    def __contains__(self, value: Hashable) -> bool:
        return value in self._index

    def _sequence(self, values: Iterable[Hashable], arg: str) -> Any:
        """``values`` as an array-like of ids; a single str/bytes is rejected."""
        if isinstance(values, (str, bytes)):
            raise ValueError(
                f"{arg} must be a sequence of ids, got the single string {values!r}; "
                f"to look up one id pass a list: [{values!r}]"
            )
        if isinstance(values, (pd.Series, pd.Index, np.ndarray)):
            return values
        return list(values)

    def parse(self, values: pd.Series) -> tuple[pd.Series, np.ndarray]:
        """Raw values (e.g. text read from a file) in this map's id type, value by value.

        Text stays as given (no stripping). For an integer map, integer text
        and whole floats are parsed exactly (never through float64 above
        2**53).

        Returns
        -------
        (pandas.Series, numpy.ndarray of bool)
            The ids (with a RangeIndex) and a mask of the values that are
            missing, blank or, for an integer map, not an int64 integer; their
            ids are placeholders.
        """
        values = pd.Series(values).reset_index(drop=True)
        if self._kind == "int":
            if pd.api.types.is_integer_dtype(values) and not values.isna().any():
                return values.astype(np.int64), np.zeros(len(values), dtype=bool)
            if pd.api.types.is_float_dtype(values):  # integers next to nulls, as pandas reads them
                num = values.to_numpy(dtype=np.float64)
                ok = np.isfinite(num) & (num == np.floor(num)) & (np.abs(num) < 2.0**53)
                return pd.Series(np.where(ok, num, 0).astype(np.int64)), ~ok
            arr, not_integer, out_of_range = int64_from_text(values)
            return pd.Series(arr), values.isna().to_numpy() | not_integer | out_of_range
        text = values.astype("string")
        bad = (text.isna() | (text.str.strip() == "")).to_numpy(dtype=bool)
        return text.fillna("").astype(object), bad

    def encode(
        self, values: Iterable[Hashable], *, unknown: Literal["mark", "raise"] = "mark"
    ) -> np.ndarray:
        """Row numbers of raw ids.

        Parameters
        ----------
        values : array-like of shape (n,)
            Raw ids to look up.  A single string is rejected (it is not a
            sequence of ids); pass ``[id]`` to look up one id.
        unknown : {"mark", "raise"}, default "mark"
            ``"mark"``: ids not in the map get ``-1`` and one
            :class:`UnknownIdWarning` says how many there were.  ``"raise"``:
            raise ``ValueError`` instead.

        Returns
        -------
        numpy.ndarray of shape (n,), dtype int64
            Row numbers, ``-1`` for unknown ids.

        Raises
        ------
        ValueError
            If ``unknown`` is not "mark" or "raise" (checked before the
            lookup), ``values`` is a single string, or with ``unknown="raise"``
            if any id is unknown.
        """
        if unknown not in ("mark", "raise"):
            raise ValueError(f"unknown must be 'mark' or 'raise', got {unknown!r}")
        arr = self._sequence(values, "values")
        codes = self._index.get_indexer(
            pd.Index(arr, dtype=object if self._kind == "str" else None)
        )
        codes = np.asarray(codes, dtype=np.int64)
        missing = codes < 0
        n_missing = int(missing.sum())
        if n_missing:
            bad = pd.unique(np.asarray(arr, dtype=object)[missing])
            msg = (
                f"{_fmt(n_missing)} of {_fmt(len(codes))} {self.name} ids are not in the map "
                f"({_fmt(len(bad))} distinct, e.g. {_examples(bad)})"
            )
            if unknown == "raise":
                raise ValueError(msg)
            warnings.warn(msg + "; they were encoded as -1", UnknownIdWarning, stacklevel=2)
        return codes

    def unknown(self, values: Iterable[Hashable]) -> np.ndarray:
        """Distinct ids in ``values`` that the map does not know, in order of appearance.

        Returns
        -------
        numpy.ndarray of shape (k,), dtype object

        Raises
        ------
        ValueError
            If ``values`` is a single string (pass ``[id]``).
        """
        seq = self._sequence(values, "values")
        arr = np.asarray(seq if hasattr(seq, "__array__") else list(seq), dtype=object)
        mask = self._index.get_indexer(pd.Index(arr, dtype=object)) < 0
        return pd.unique(arr[mask])

    def decode(self, codes: Iterable[int]) -> np.ndarray:
        """Raw ids of row numbers.

        Parameters
        ----------
        codes : array-like of int, shape (n,)
            Row numbers ``0..len(self)-1``.  Floats are accepted only if they
            are whole numbers; nothing is rounded or truncated.

        Returns
        -------
        numpy.ndarray of shape (n,)
            ``int64`` for integer ids, ``object`` (str) otherwise.

        Raises
        ------
        ValueError
            If a code is not an integer, is negative (``-1`` marks ids that
            :meth:`encode` did not know) or is ``>= len(self)``; the message
            gives the count and examples.
        """
        if isinstance(codes, (str, bytes)):
            raise ValueError(f"codes must be a sequence of integer row numbers, got {codes!r}")
        raw = np.asarray(codes if hasattr(codes, "__array__") else list(codes))
        if raw.dtype == bool:
            raise ValueError("codes must be integer row numbers, got booleans")
        if raw.size == 0:
            c = raw.astype(np.int64)
        elif np.issubdtype(raw.dtype, np.integer):
            if np.issubdtype(raw.dtype, np.unsignedinteger) and raw.max() > _INT64_MAX:
                c = None
            else:
                c = raw.astype(np.int64)
        else:
            num = pd.to_numeric(pd.Series(raw.ravel(), dtype=object), errors="coerce").to_numpy(
                dtype=float, na_value=np.nan
            )
            whole = np.isfinite(num) & (num == np.round(num))
            if not whole.all():
                vals = raw.ravel()[~whole]
                raise ValueError(
                    f"{_fmt(int((~whole).sum()))} of {_fmt(raw.size)} {self.name} codes are not "
                    f"integer row numbers (0..{len(self) - 1}), e.g. "
                    f"{_examples(pd.unique(vals))}; codes are not rounded or truncated"
                )
            c = num.reshape(raw.shape)
        n = len(self)
        bad = (c < 0) | (c >= n) if c is not None else np.ones(raw.shape, dtype=bool)
        if bad.any():
            vals = (raw if c is None else c)[bad]
            hint = "; -1 marks ids that encode() did not know" if (vals == -1).any() else ""
            raise ValueError(
                f"{_fmt(int(bad.sum()))} {self.name} row numbers are outside 0..{n - 1} "
                f"({_fmt(int(bad.sum()))} of {_fmt(raw.size)} codes; the map has {_fmt(n)} ids), "
                f"e.g. {_examples(pd.unique(np.asarray(vals).ravel()))}{hint}"
            )
        return self._index.to_numpy()[np.asarray(c, dtype=np.int64)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, read back by :meth:`from_dict`."""
        ids = self._index.to_numpy()
        return {
            "format": "xcat.IdMap",
            "version": _FORMAT_VERSION,
            "name": self.name,
            "kind": self._kind,
            "ids": [int(v) for v in ids] if self._kind == "int" else [str(v) for v in ids],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IdMap:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        ValueError
            If ``d`` is not a saved IdMap.
        """
        if d.get("format") != "xcat.IdMap":
            raise ValueError("not a saved xcat IdMap (missing 'format': 'xcat.IdMap')")
        ids = d["ids"]
        if d["kind"] == "int":
            return cls(np.asarray(ids, dtype=np.int64), name=d["name"])
        return cls(np.asarray(ids, dtype=object), name=d["name"])

    def save(self, path: str | Path) -> None:
        """Write the map to a JSON file."""
        Path(path).write_text(json.dumps(self.to_dict()), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> IdMap:
        """Read a map written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


# --------------------------------------------------------------------------- validation


def _validate_frame(df: pd.DataFrame) -> None:
    """Raise ValueError if ``df`` is not a valid canonical interaction table."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"interaction table is missing column(s) {missing}; it has {list(df.columns)}. "
            "Use Interactions.from_frame(..., user=, item=, category=) to map your column names"
        )
    if not df.columns.is_unique:
        dup = df.columns[df.columns.duplicated()].tolist()
        raise ValueError(f"interaction table has duplicated column names {dup}")
    n = len(df)
    for col in ID_COLUMNS:
        nulls = df[col].isna().to_numpy()
        if nulls.any():
            raise ValueError(
                f"column {col!r} has {_fmt(int(nulls.sum()))} null values out of {_fmt(n)} rows "
                f"(row positions {_positions(nulls)}); pass drop_null_ids=True to remove those rows"
            )
        _id_kind(df[col], f"column {col!r}")
    if RATING in df.columns:
        r = df[RATING]
        if not pd.api.types.is_numeric_dtype(r) or pd.api.types.is_bool_dtype(r):
            raise ValueError(f"column 'rating' must be numeric, got dtype {r.dtype}")
        nulls = r.isna().to_numpy()
        if nulls.any():
            raise ValueError(
                f"column 'rating' has {_fmt(int(nulls.sum()))} missing values out of {_fmt(n)} "
                f"rows (row positions {_positions(nulls)})"
            )
    if TIMESTAMP in df.columns:
        t = df[TIMESTAMP]
        if not pd.api.types.is_datetime64_dtype(t) or isinstance(t.dtype, pd.DatetimeTZDtype):
            raise ValueError(
                f"column 'timestamp' must be naive datetime64 (UTC), got dtype {t.dtype}; "
                "Interactions.from_frame parses epoch numbers and date strings"
            )
        nulls = t.isna().to_numpy()
        if nulls.any():
            raise ValueError(
                f"column 'timestamp' has {_fmt(int(nulls.sum()))} missing values out of {_fmt(n)} "
                f"rows (row positions {_positions(nulls)})"
            )
    for col in (EVENT, SPLIT):
        if col in df.columns:
            nulls = df[col].isna().to_numpy()
            if nulls.any():
                raise ValueError(
                    f"column {col!r} has {_fmt(int(nulls.sum()))} missing values out of "
                    f"{_fmt(n)} rows"
                )


def _validate_table(table: pd.DataFrame | None, key: str) -> pd.DataFrame | None:
    if table is None:
        return None
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"the {key} table must be a pandas DataFrame, got {type(table).__name__}")
    if table.index.name != key:
        raise ValueError(
            f"the {key} table must be indexed by {key!r} (index name {key!r}), "
            f"got index name {table.index.name!r}"
        )
    if table.index.isna().any():
        raise ValueError(
            f"the {key} table has {_fmt(int(table.index.isna().sum()))} null {key} ids"
        )
    if not table.index.is_unique:
        dup = table.index[table.index.duplicated()].unique()
        raise ValueError(
            f"the {key} table has {_fmt(len(dup))} duplicated {key} ids, e.g. {_examples(dup)}"
        )
    return table


# --------------------------------------------------------------------------- parsing


_NA_STRINGS = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None")


def parse_ratings(values: pd.Series, column: str) -> pd.Series:
    """Convert a rating column to numbers.

    Parameters
    ----------
    values : pandas.Series of shape (n,)
        Numbers or numeric strings.
    column : str
        Name of the source column, for messages.

    Returns
    -------
    pandas.Series of shape (n,), numeric dtype
        Integer dtype is kept; strings become ``float64``.

    Raises
    ------
    ValueError
        If any value is missing or not a number (message gives the count).
    """
    if pd.api.types.is_bool_dtype(values):
        raise ValueError(f"rating column {column!r} is boolean; ratings must be numbers")
    if pd.api.types.is_numeric_dtype(values):
        out = values
    else:
        out = pd.to_numeric(values, errors="coerce")
        bad = out.isna().to_numpy() & values.notna().to_numpy()
        if bad.any():
            raise ValueError(
                f"rating column {column!r}: {_fmt(int(bad.sum()))} of {_fmt(len(values))} values "
                f"are not numbers, e.g. {_examples(pd.unique(values[bad]))}"
            )
    nulls = out.isna().to_numpy()
    if nulls.any():
        raise ValueError(
            f"rating column {column!r}: {_fmt(int(nulls.sum()))} of {_fmt(len(values))} rows "
            f"have no rating (row positions {_positions(nulls)})"
        )
    return out


TIMESTAMP_UNITS: tuple[str, ...] = ("s", "ms", "us", "ns")
_NUMBER = r"[-+]?\d+(?:\.\d+)?"


def _check_timestamp_unit(unit: object) -> None:
    if not isinstance(unit, str) or unit not in TIMESTAMP_UNITS:
        raise ValueError(
            f"timestamp_unit must be one of {', '.join(map(repr, TIMESTAMP_UNITS))} (the unit of "
            f"epoch-number timestamps), got {unit!r}"
        )


def _check_k_core(k: object) -> tuple[int, int]:
    """``(k_user, k_item)`` of a k-core argument, or ValueError."""

    def is_int(v: object) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))

    if is_int(k):
        pair: tuple[Any, ...] = (k, k)
    elif isinstance(k, (tuple, list)) and len(k) == 2 and all(is_int(v) for v in k):
        pair = tuple(k)
    else:
        raise ValueError(
            f"k_core must be an integer or a pair of integers (k_user, k_item), got {k!r}"
        )
    k_user, k_item = int(pair[0]), int(pair[1])
    if k_user < 1 or k_item < 1:
        raise ValueError(f"k-core needs k >= 1, got k_user={k_user}, k_item={k_item}")
    return k_user, k_item


def check_options(
    *,
    id_dtype: object = None,
    category_dtype: object = None,
    timestamp_unit: object = "s",
    k_core: object = None,
    dedup: object = "keep",
) -> None:
    """Raise ValueError naming the argument if a loading option is invalid.

    Used by :meth:`Interactions.from_frame` and the readers so that a bad
    option fails before a file is read.
    """
    for arg, value in (("id_dtype", id_dtype), ("category_dtype", category_dtype)):
        if value not in ("str", "int", None):
            raise ValueError(f"{arg} must be 'str', 'int' or None, got {value!r}")
    _check_timestamp_unit(timestamp_unit)
    if k_core is not None:
        _check_k_core(k_core)
    if dedup not in ("keep", "first", "last", "raise"):
        raise ValueError(f"dedup must be 'keep', 'first', 'last' or 'raise', got {dedup!r}")


def _numbers_as_text(values: pd.Series) -> pd.Series:
    """Numbers as decimal text (whole floats without ``.0``), for parsing with a format."""
    if pd.api.types.is_float_dtype(values):
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(arr) & (arr == np.round(arr))
        text = values.astype("string").to_numpy(dtype=object)
        text[whole] = [str(int(v)) for v in arr[whole]]
        return pd.Series(text, index=values.index, dtype="string")
    return values.astype("string")


def parse_iso_utc(text: pd.Series) -> pd.Series:
    """ISO 8601 strings (no nulls) to UTC; naive values are taken as UTC, element by element.

    pandas' fast ISO 8601 path applies the offset of one aware value to the naive values
    after it, so validity is checked with it and the values are converted with the
    element-wise parser (``format="mixed"``), which handles naive and aware values
    independently.
    """
    codes, uniques = pd.factorize(text)
    u = pd.Index(uniques, dtype=object)
    strict = pd.to_datetime(u, format="ISO8601", utc=True, errors="coerce")
    each = pd.to_datetime(u, format="mixed", utc=True, errors="coerce")
    parsed = each.where(~each.isna(), strict).where(~strict.isna())
    return pd.Series(parsed.take(codes), index=text.index)


def parse_timestamps(
    values: pd.Series,
    column: str,
    *,
    unit: str = "s",
    format: str | None = None,
) -> pd.Series:
    """Convert epoch numbers or date strings to naive UTC ``datetime64[ns]``.

    Parameters
    ----------
    values : pandas.Series of shape (n,)
        Epoch numbers, strings of digits (epoch), ISO 8601 date strings or
        datetimes.  Each date string is converted on its own: one with a UTC
        offset (``Z``, ``+02:00``) is converted to UTC, one without is taken to
        be UTC already, so a column may mix both and the row order does not
        matter.  A column must not mix epoch numbers and date strings.
    column : str
        Name of the source column, for messages.
    unit : {"s", "ms", "us", "ns"}, default "s"
        Unit of epoch numbers.  Amazon 2014/2018 files use seconds, Amazon 2023
        files milliseconds.
    format : str, optional
        ``strftime`` format of date strings; default: ISO 8601.  When given,
        every value is parsed with it, including all-digit values such as
        ``20200101`` with ``"%Y%m%d"`` (they are then not epoch numbers).

    Returns
    -------
    pandas.Series of shape (n,), dtype datetime64[ns]

    Raises
    ------
    ValueError
        If ``unit`` is not one of the above, any value is missing or cannot be
        parsed (the message gives the count and exactly the values that fail),
        the column mixes epoch numbers and date strings, or epoch seconds are so
        large that they must be milliseconds.
    """
    _check_timestamp_unit(unit)
    n = len(values)
    present = values.notna().to_numpy()

    def fail(bad: np.ndarray, expected: str, hint: str) -> ValueError:
        return ValueError(
            f"timestamp column {column!r}: {_fmt(int(bad.sum()))} of {_fmt(n)} values could "
            f"not be parsed as {expected}, e.g. {_examples(pd.unique(values[bad]))}; {hint}"
        )

    def epoch(numeric: pd.Series) -> pd.Series:
        if unit == "s" and numeric.notna().any() and float(numeric.abs().max()) > 1e11:
            raise ValueError(
                f"timestamp column {column!r}: values up to {numeric.abs().max():.0f} are too "
                "large for epoch seconds (later than year 5000); these look like milliseconds, "
                "pass timestamp_unit='ms'"
            )
        try:
            return pd.to_datetime(numeric, unit=unit, utc=True, errors="coerce")
        except (OverflowError, pd.errors.OutOfBoundsDatetime) as e:
            raise ValueError(
                f"timestamp column {column!r}: epoch values out of range for unit {unit!r}"
            ) from e

    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.to_datetime(values, utc=True)
    elif format is not None:
        text = _numbers_as_text(values) if pd.api.types.is_numeric_dtype(values) else values
        out = pd.to_datetime(text, format=format, utc=True, errors="coerce")
        bad = out.isna().to_numpy() & present
        if bad.any():
            raise fail(bad, f"dates in format {format!r}", "check timestamp_format=")
    elif pd.api.types.is_bool_dtype(values):
        raise ValueError(f"timestamp column {column!r} is boolean; expected dates or epoch numbers")
    elif pd.api.types.is_numeric_dtype(values):
        out = epoch(values)
    elif pd.api.types.infer_dtype(values, skipna=True) in ("datetime", "datetime64", "date"):
        out = pd.to_datetime(values, utc=True)
    else:
        text = values.astype("string").str.strip()
        is_num = text.str.fullmatch(_NUMBER).fillna(False).to_numpy(dtype=bool) & present
        is_date = present & ~is_num
        out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
        if is_date.any():
            parsed = parse_iso_utc(text[is_date].astype(object))
            bad_date = is_date.copy()
            bad_date[is_date] = parsed.isna().to_numpy()
            if bad_date.any():
                n_num = int(is_num.sum())
                also = (
                    f" (the other {_fmt(n_num)} value{'s are' if n_num != 1 else ' is an'} "
                    f"epoch number{'s' if n_num != 1 else ''})"
                    if n_num
                    else ""
                )
                raise fail(
                    bad_date,
                    "ISO 8601 dates or epoch numbers" + also,
                    "pass timestamp_format= for other date formats",
                )
            if is_num.any():
                raise ValueError(
                    f"timestamp column {column!r} mixes epoch numbers ({_fmt(int(is_num.sum()))} "
                    f"of {_fmt(n)} values, e.g. {_examples(pd.unique(values[is_num]))}) and date "
                    f"strings ({_fmt(int(is_date.sum()))} values, e.g. "
                    f"{_examples(pd.unique(values[is_date]))}); a timestamp column must hold one "
                    "kind: convert the column to one representation first"
                )
            out[is_date] = parsed.to_numpy()
        elif is_num.any():
            digits = text.where(pd.Series(is_num, index=text.index))
            try:
                numeric = pd.to_numeric(digits)
            except (ValueError, OverflowError):  # beyond int64: let the range checks report it
                numeric = digits.astype("Float64")
            out = epoch(numeric)
    nulls = out.isna().to_numpy()
    if nulls.any():
        raise ValueError(
            f"timestamp column {column!r}: {_fmt(int(nulls.sum()))} of {_fmt(n)} rows have no "
            f"timestamp (row positions {_positions(nulls)})"
        )
    return out.dt.tz_convert(None).astype("datetime64[ns]")


def int64_from_text(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decimal integer text to exact ``int64``, value by value; never via float.

    Returns
    -------
    (numpy.ndarray of int64, numpy.ndarray of bool, numpy.ndarray of bool)
        The integers (0 where a value is missing or bad), and masks of the
        present values that are not decimal integers and of those outside the
        int64 range. Surrounding whitespace is ignored.
    """
    text = values.astype("string").str.strip()
    present = values.notna().to_numpy()
    match = text.str.fullmatch(r"[-+]?\d+").fillna(False).to_numpy(dtype=bool)
    not_integer = present & ~match
    out_of_range = np.zeros(len(values), dtype=bool)
    digits = text.str.lstrip("+-").str.lstrip("0").str.len().fillna(0).to_numpy()
    big = np.flatnonzero(match & (digits >= 19))
    out_of_range[big] = [not (-_INT64_MAX - 1 <= int(v) <= _INT64_MAX) for v in text.iloc[big]]
    ok = match & ~out_of_range
    arr = np.zeros(len(values), dtype=np.int64)
    if ok.any():
        arr[ok] = pd.to_numeric(text[ok].str.lstrip("+").astype(object), downcast=None).to_numpy(
            dtype=np.int64
        )
    return arr, not_integer, out_of_range


def _text_to_int64(values: pd.Series, column: str) -> pd.Series:
    """Decimal integer text to exact ``int64`` (``Int64`` if there are nulls); never via float."""
    arr, not_integer, out_of_range = int64_from_text(values)
    if not_integer.any():
        raise ValueError(
            f"id column {column!r}: {_fmt(int(not_integer.sum()))} of {_fmt(len(values))} "
            f"values are not integers, e.g. {_examples(pd.unique(values[not_integer]))}; "
            "use id_dtype='str'"
        )
    if out_of_range.any():
        raise ValueError(
            f"id column {column!r}: {_fmt(int(out_of_range.sum()))} of {_fmt(len(values))} values "
            f"are outside the int64 range, e.g. {_examples(pd.unique(values[out_of_range]))}; "
            "use id_dtype='str'"
        )
    present = values.notna().to_numpy()
    if present.all():
        return pd.Series(arr, index=values.index)
    return pd.Series(pd.arrays.IntegerArray(arr, ~present), index=values.index)


def _exact_int64(values: pd.Series, column: str) -> pd.Series:
    """Convert an integer column (numpy, nullable or pyarrow) without nulls to ``int64``."""
    if pd.api.types.is_unsigned_integer_dtype(values) and len(values):
        if int(values.max()) > _INT64_MAX:
            n_big = int((values > _INT64_MAX).sum())
            raise ValueError(
                f"id column {column!r}: {_fmt(n_big)} of {_fmt(len(values))} values are larger "
                "than the int64 maximum; use id_dtype='str'"
            )
    return values.astype(np.int64)


def parse_ids(values: pd.Series, column: str, id_dtype: Literal["str", "int"] | None) -> pd.Series:
    """Check (and optionally convert) an id column.

    Parameters
    ----------
    values : pandas.Series of shape (n,)
    column : str
        Source column name, for messages.
    id_dtype : {"str", "int"} or None
        ``"str"``: convert to Python strings (integers become their decimal
        text).  ``"int"``: parse to ``int64`` exactly (never through
        ``float64``); a ValueError gives the number of non-integer or
        out-of-range values.  None: keep as given (must be integers or
        strings; nullable and pyarrow-backed integers become ``int64``).

    Returns
    -------
    pandas.Series of shape (n,)
        dtype ``int64`` or ``object`` (str); with nulls, integer ids are
        ``Int64`` and string ids ``object`` with None.
    """
    if id_dtype not in ("str", "int", None):
        raise ValueError(f"id_dtype must be 'str', 'int' or None, got {id_dtype!r}")
    has_null = bool(values.isna().any())
    if id_dtype is None:
        _id_kind(values.dropna(), f"id column {column!r}")
        if pd.api.types.is_integer_dtype(values) and not has_null:
            if isinstance(values.dtype, pd.api.extensions.ExtensionDtype):
                return _exact_int64(values, column)
            return values
        if pd.api.types.is_string_dtype(values) and not pd.api.types.is_object_dtype(values):
            return values.astype(object).where(values.notna(), None)
        return values
    if id_dtype == "str":
        if pd.api.types.is_float_dtype(values):
            _id_kind(values, f"id column {column!r}")
        out = values.astype(object)
        mask = values.notna()
        out[mask] = [str(v) for v in out[mask]]
        return out
    if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_bool_dtype(values):
        if not has_null:
            return _exact_int64(values, column)
        return _exact_int64(values.dropna(), column).astype("Int64").reindex(values.index)
    return _text_to_int64(values, column)


# --------------------------------------------------------------------------- table


class Interactions:
    """A validated table of user-item interactions, one row per event.

    Parameters
    ----------
    data : pandas.DataFrame of shape (n_rows, n_columns)
        Canonical columns (see the module docstring): ``user``, ``item``,
        ``category`` required; ``rating``, ``event``, ``timestamp``, ``split``
        optional; other columns kept as they are.  The row order is kept (for
        sequence data without timestamps it is the event order).  Use
        :meth:`from_frame` to map other column names and parse values.
    items : pandas.DataFrame, optional
        Item features indexed by ``item`` (e.g. ``title``, ``brand``,
        ``price``, ``category_path``).  May hold items without interactions.
    users : pandas.DataFrame, optional
        User features indexed by ``user``.
    report : RemovalReport, optional
        What the load removed; default: nothing.
    copy : bool, default True
        Copy ``data``.  The index is always reset to ``0..n_rows-1``.

    Raises
    ------
    ValueError
        If a required column is missing, an id column has nulls, floats or
        mixed types, ratings are not numeric, timestamps are not naive
        ``datetime64`` or optional columns have nulls; the message names the
        column and the number of rows affected.
    """

    def __init__(
        self,
        data: pd.DataFrame,
        items: pd.DataFrame | None = None,
        users: pd.DataFrame | None = None,
        report: RemovalReport | None = None,
        *,
        copy: bool = True,
    ):
        if not isinstance(data, pd.DataFrame):
            raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}")
        _validate_frame(data)
        df = data.copy() if copy else data
        df = df.reset_index(drop=True)
        self._data = df
        self._items = _validate_table(items, ITEM)
        self._users = _validate_table(users, USER)
        self._report = report if report is not None else RemovalReport()

    # ------------------------------------------------------------- construction

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        user: Hashable = USER,
        item: Hashable = ITEM,
        category: Hashable | None = None,
        category_value: Hashable | None = None,
        rating: Hashable | None | Literal[False] = None,
        timestamp: Hashable | None | Literal[False] = None,
        event: Hashable | None | Literal[False] = None,
        split: Hashable | None | Literal[False] = None,
        keep_columns: Sequence[Hashable] = (),
        id_dtype: Literal["str", "int"] | None = None,
        category_dtype: Literal["str", "int"] | None = None,
        timestamp_unit: str = "s",
        timestamp_format: str | None = None,
        items: pd.DataFrame | None = None,
        users: pd.DataFrame | None = None,
        drop_null_ids: bool = False,
        dedup: Literal["keep", "first", "last", "raise"] = "keep",
        k_core: int | tuple[int, int] | None = None,
        report: RemovalReport | None = None,
    ) -> Interactions:
        """Build an interaction table from any dataframe, with a column mapping.

        Parameters
        ----------
        frame : pandas.DataFrame of shape (n_rows, n_columns)
            The input; it is not modified.
        user, item : hashable, default "user", "item"
            Names of the user-id and item-id columns.
        category : hashable, optional
            Name of the category (domain) column.  Default: ``"category"`` if
            the frame has it.
        category_value : hashable, optional
            One category for every row (for example a file per category).
            Give exactly one of ``category`` and ``category_value``.
        rating, timestamp, event, split : hashable or False, optional
            Names of the optional columns.  Default (None): the canonical name
            if the frame has such a column; False: do not use one.
        keep_columns : sequence of hashable, default ()
            Further columns to keep unchanged.
        id_dtype : {"str", "int"}, optional
            Convert the user and item ids (see :func:`parse_ids`); default
            keeps them as given (float columns of whole numbers, as pandas
            makes of integers next to nulls, become ``int64``; other floats
            raise).  It does not apply to the category column.
        category_dtype : {"str", "int"}, optional
            The same for the category column; default keeps it as given.
        timestamp_unit : {"s", "ms", "us", "ns"}, default "s"
            Unit of epoch-number timestamps; other values raise ValueError.
        timestamp_format : str, optional
            ``strftime`` format of date strings; default ISO 8601 (naive
            values are UTC, values with an offset are converted to UTC).  When
            given, all values are parsed with it, digits-only values too.
        items, users : pandas.DataFrame, optional
            Item and user tables (see the class docstring).
        drop_null_ids : bool, default False
            Remove rows whose user, item or category is null (reported) instead
            of raising.
        dedup : {"keep", "first", "last", "raise"}, default "keep"
            Repeated (user, item, category) rows: keep all, keep the first or
            last (by timestamp if there is one, else by row order), or raise.
        k_core : int or (int, int), optional
            Keep only rows in the k-core of each category: repeatedly remove
            users with fewer than ``k_user`` and items with fewer than
            ``k_item`` rows.  An int means the same k for both; anything else
            raises ValueError before the data is parsed.
        report : RemovalReport, optional
            Report of earlier steps to continue.

        Returns
        -------
        Interactions

        Raises
        ------
        ValueError
            If a mapped column is missing (names the argument and the column),
            ids are null (with ``drop_null_ids=False``), ratings are not
            numbers, timestamps cannot be parsed, or ``dedup="raise"`` finds
            duplicates; messages give the number of rows affected.
        """
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
        report = report if report is not None else RemovalReport()
        cols = frame.columns
        # Check the plain arguments before any (possibly slow) parsing.
        check_options(
            id_dtype=id_dtype,
            category_dtype=category_dtype,
            timestamp_unit=timestamp_unit,
            k_core=k_core,
            dedup=dedup,
        )

        def need(arg: str, name: Hashable) -> Hashable:
            if name not in cols:
                raise ValueError(
                    f"{arg}={name!r}: no such column; the data has columns {list(cols)}"
                )
            return name

        def optional(arg: str, name: Hashable | None | Literal[False], canonical: str):
            if name is False:
                return None
            if name is None:
                return canonical if canonical in cols else None
            return need(arg, name)

        mapping: dict[str, Hashable] = {USER: need("user", user), ITEM: need("item", item)}
        if category is not None and category_value is not None:
            raise ValueError(
                "give either category= (a column) or category_value= (a value), not both"
            )
        if category is None and category_value is None:
            if CATEGORY in cols:
                category = CATEGORY
            else:
                raise ValueError(
                    "no category: pass category=<column name> or category_value=<one category for "
                    f"all rows>; the data has columns {list(cols)}"
                )
        if category is not None:
            mapping[CATEGORY] = need("category", category)
        for arg, name, canon in (
            ("rating", rating, RATING),
            ("timestamp", timestamp, TIMESTAMP),
            ("event", event, EVENT),
            ("split", split, SPLIT),
        ):
            col = optional(arg, name, canon)
            if col is not None:
                mapping[canon] = col
        for c in keep_columns:
            need("keep_columns", c)
        used = list(mapping.values())
        if len(set(used)) != len(used):
            raise ValueError(f"one column is mapped to two roles: {mapping}")
        clash = [c for c in keep_columns if c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)]
        if clash:
            raise ValueError(
                f"keep_columns {clash} use canonical column names; map them with the "
                "user=/item=/category=/rating=/timestamp=/event=/split= arguments instead"
            )

        out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
        for canon, src in mapping.items():
            out[canon] = frame[src].reset_index(drop=True)
        if category_value is not None:
            out[CATEGORY] = pd.Series([category_value] * len(frame), dtype=object).infer_objects()
        for c in keep_columns:
            out[c] = frame[c].reset_index(drop=True)
        order = [c for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if c in out.columns]
        out = out[order + list(keep_columns)]
        source = {c: str(mapping.get(c, "category_value")) for c in out.columns if c in mapping}

        null = out[list(ID_COLUMNS)].isna().any(axis=1).to_numpy()
        if null.any():
            if not drop_null_ids:
                per = {
                    source[c]: int(out[c].isna().sum()) for c in ID_COLUMNS if out[c].isna().any()
                }
                raise ValueError(
                    f"null ids in {_fmt(int(null.sum()))} of {_fmt(len(out))} rows "
                    f"(per column: {per}; row positions {_positions(null)}); "
                    "pass drop_null_ids=True to remove those rows"
                )
            before = len(out)
            out = out.loc[~null].reset_index(drop=True)
            report = report.add(
                "drop null ids", before, len(out), "rows whose user, item or category is null"
            )

        for canon in ID_COLUMNS:
            if canon in mapping:
                out[canon] = parse_ids(
                    _whole_floats_to_int(out[canon]),
                    source[canon],
                    category_dtype if canon == CATEGORY else id_dtype,
                )
            else:
                _id_kind(out[canon], "category_value")
        if RATING in out.columns:
            out[RATING] = parse_ratings(out[RATING], source[RATING])
        if TIMESTAMP in out.columns:
            out[TIMESTAMP] = parse_timestamps(
                out[TIMESTAMP], source[TIMESTAMP], unit=timestamp_unit, format=timestamp_format
            )
        for canon in (EVENT, SPLIT):
            if canon in out.columns:
                s = out[canon]
                if s.isna().any():
                    raise ValueError(
                        f"{canon} column {source[canon]!r}: {_fmt(int(s.isna().sum()))} of "
                        f"{_fmt(len(s))} rows have no value"
                    )

        result = cls(out, items=items, users=users, report=report, copy=False)
        if dedup != "keep":
            result = drop_duplicates(result, keep=dedup)
        if k_core is not None:
            result = filter_k_core(result, k_core)
        return result

    # ------------------------------------------------------------- accessors

    @property
    def data(self) -> pd.DataFrame:
        """The interaction rows (a DataFrame; do not modify it in place)."""
        return self._data

    @property
    def items(self) -> pd.DataFrame | None:
        """Item table indexed by ``item``, or None."""
        return self._items

    @property
    def users(self) -> pd.DataFrame | None:
        """User table indexed by ``user``, or None."""
        return self._users

    @property
    def report(self) -> RemovalReport:
        """Every row removal applied while loading and cleaning."""
        return self._report

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        cats = self.categories
        shown = ", ".join(map(repr, cats[:4])) + (", ..." if len(cats) > 4 else "")
        return (
            f"Interactions({len(self):,} rows, {self.n_users:,} users, {self.n_items:,} items, "
            f"categories [{shown}])"
        )

    @property
    def n_users(self) -> int:
        """Number of distinct users."""
        return int(self._data[USER].nunique())

    @property
    def n_items(self) -> int:
        """Number of distinct items."""
        return int(self._data[ITEM].nunique())

    @property
    def categories(self) -> list[Hashable]:
        """Distinct categories in order of first appearance."""
        return list(pd.unique(self._data[CATEGORY]))

    @property
    def has_timestamp(self) -> bool:
        """Whether the table has a ``timestamp`` column."""
        return TIMESTAMP in self._data.columns

    def user_map(self) -> IdMap:
        """:class:`IdMap` of the users, in order of first appearance."""
        return IdMap.from_values(self._data[USER], name=USER)

    def item_map(self) -> IdMap:
        """:class:`IdMap` of the items, in order of first appearance."""
        return IdMap.from_values(self._data[ITEM], name=ITEM)

    # ------------------------------------------------------------- derived tables

    def _derive(self, data: pd.DataFrame, report: RemovalReport | None = None) -> Interactions:
        return Interactions(
            data,
            items=self._items,
            users=self._users,
            report=self._report if report is None else report,
            copy=False,
        )

    def take(self, mask: np.ndarray | pd.Series) -> Interactions:
        """Rows where ``mask`` is True, with the same item/user tables and report.

        This is a *selection* (used by splits); it adds no report step.

        Parameters
        ----------
        mask : array-like of bool, shape (n_rows,)

        Returns
        -------
        Interactions
        """
        m = np.asarray(mask, dtype=bool)
        if m.shape != (len(self),):
            raise ValueError(f"mask has shape {m.shape}, expected ({len(self)},)")
        return self._derive(self._data.loc[m].reset_index(drop=True))

    def select(
        self, categories: Hashable | Sequence[Hashable], *, role: str = "category"
    ) -> Interactions:
        """Rows of the given categories (recorded in the removal report).

        Parameters
        ----------
        categories : hashable or sequence of hashable
            Category values to keep, e.g. ``"Beauty"`` or ``[2520377, 149192]``.
        role : str, default "category"
            How to name the categories in messages (``"source"``, ``"target"``).

        Returns
        -------
        Interactions

        Raises
        ------
        ValueError
            If a requested category does not occur in the data.
        """
        wanted = _as_list(categories)
        present = set(self.categories)
        missing = [c for c in wanted if c not in present]
        if missing:
            avail = self.categories
            raise ValueError(
                f"{role} categor{'y' if len(missing) == 1 else 'ies'} {missing} not found in the "
                f"data; {len(avail):,} categories are present, e.g. {_examples(avail, 10)}"
            )
        mask = self._data[CATEGORY].isin(wanted).to_numpy()
        report = self._report.add(
            f"select {role} categories", len(self), int(mask.sum()), f"kept {wanted}"
        )
        return self._derive(self._data.loc[mask].reset_index(drop=True), report)

    @staticmethod
    def concat(parts: Sequence[Interactions]) -> Interactions:
        """Stack several tables (e.g. one file per category) into one.

        Item and user tables are stacked too; an id present in two of them
        must have identical rows there.  Reports are concatenated.

        Parameters
        ----------
        parts : sequence of Interactions

        Returns
        -------
        Interactions

        Raises
        ------
        ValueError
            If ``parts`` is empty, id kinds differ between parts, or two item
            tables disagree about one item.
        """
        if not parts:
            raise ValueError("concat needs at least one Interactions table")
        data = pd.concat([p.data for p in parts], ignore_index=True)
        for col in ID_COLUMNS:
            kinds = {_id_kind(p.data[col], col) for p in parts if len(p)}
            if len(kinds) > 1:
                raise ValueError(
                    f"column {col!r} holds integers in some parts and strings in others"
                )

        def stack(tables: list[pd.DataFrame | None], key: str) -> pd.DataFrame | None:
            present = [t for t in tables if t is not None]
            if not present:
                return None
            t = pd.concat(present)
            dup = t.index.duplicated(keep=False)
            if dup.any():
                d = t[dup]
                same = d.astype(str).groupby(level=0).nunique(dropna=False).le(1).all(axis=1)
                if not same.all():
                    bad = same.index[~same]
                    raise ValueError(
                        f"{_fmt(len(bad))} {key} ids have different rows in different {key} "
                        f"tables, e.g. {_examples(bad)}"
                    )
                t = t[~t.index.duplicated(keep="first")]
            return t

        report = RemovalReport()
        for p in parts:
            cats = ",".join(map(str, p.categories[:3]))
            report = report.extend(p.report, prefix=f"[{cats}] " if len(parts) > 1 else "")
        return Interactions(
            data,
            items=stack([p.items for p in parts], ITEM),
            users=stack([p.users for p in parts], USER),
            report=report,
            copy=False,
        )

    def equals(self, other: Interactions) -> bool:
        """Whether both tables hold the same rows (in order), columns and tables."""

        def same(a: pd.DataFrame | None, b: pd.DataFrame | None) -> bool:
            if a is None or b is None:
                return a is None and b is None
            try:
                pd.testing.assert_frame_equal(a, b, check_dtype=False, check_index_type=False)
            except AssertionError:
                return False
            return True

        return (
            same(self.data, other.data)
            and same(self.items, other.items)
            and same(self.users, other.users)
        )

    # ------------------------------------------------------------- persistence

    def save(self, path: str | Path) -> Path:
        """Write the table to a directory of Parquet files.

        Layout: ``interactions.parquet``, ``items.parquet`` and
        ``users.parquet`` (if present), ``report.json``.  :meth:`load` reads it
        back with every row, dtype and the report.

        Parameters
        ----------
        path : str or pathlib.Path
            Directory; created if needed.  Existing files of that layout are
            overwritten.

        Returns
        -------
        pathlib.Path
            The directory.
        """
        d = Path(path)
        d.mkdir(parents=True, exist_ok=True)
        self._data.to_parquet(d / "interactions.parquet", index=False)
        for name, table in (("items", self._items), ("users", self._users)):
            f = d / f"{name}.parquet"
            if table is not None:
                table.to_parquet(f, index=True)
            elif f.exists():
                f.unlink()
        meta = {
            "format": "xcat.Interactions",
            "version": _FORMAT_VERSION,
            "report": self._report.to_dict(),
        }
        (d / "report.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return d

    @classmethod
    def load(cls, path: str | Path) -> Interactions:
        """Read a directory written by :meth:`save`.

        Raises
        ------
        ValueError
            If ``path`` is not such a directory.
        """
        d = Path(path)
        meta_file = d / "report.json"
        if not meta_file.is_file():
            raise ValueError(f"{d} is not a saved xcat Interactions directory (no report.json)")
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta.get("format") != "xcat.Interactions":
            raise ValueError(f"{meta_file} is not an xcat Interactions report")
        data = pd.read_parquet(d / "interactions.parquet")
        tables = {}
        for name in ("items", "users"):
            f = d / f"{name}.parquet"
            tables[name] = pd.read_parquet(f) if f.exists() else None
        for col in ID_COLUMNS:
            if pd.api.types.is_string_dtype(data[col]) and not pd.api.types.is_object_dtype(
                data[col]
            ):
                data[col] = data[col].astype(object)
        return cls(
            data,
            items=tables["items"],
            users=tables["users"],
            report=RemovalReport.from_dict(meta.get("report", {})),
            copy=False,
        )


def _whole_floats_to_int(values: pd.Series) -> pd.Series:
    """Float ids that are all whole numbers (pandas' int-with-NaN) back to int64."""
    if pd.api.types.is_float_dtype(values) and values.notna().all():
        arr = values.to_numpy()
        if np.isfinite(arr).all() and (arr == np.round(arr)).all():
            return values.astype(np.int64)
    return values


def _as_list(x: Hashable | Sequence[Hashable]) -> list[Hashable]:
    if isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
        return [x]
    return list(x)


# --------------------------------------------------------------------------- cleaning


def drop_duplicates(
    inter: Interactions,
    *,
    keep: Literal["first", "last", "raise"] = "first",
    subset: Sequence[str] = (USER, ITEM, CATEGORY),
) -> Interactions:
    """Remove repeated interactions (recorded in the report).

    Parameters
    ----------
    inter : Interactions
    keep : {"first", "last", "raise"}, default "first"
        Which row of each group of duplicates to keep.  "first"/"last" are by
        timestamp when the table has one (ties by row order), else by row
        order.  "raise": raise ValueError if there are duplicates.
    subset : sequence of str, default ("user", "item", "category")
        Columns that define a duplicate.

    Returns
    -------
    Interactions
        Kept rows in their original order.

    Raises
    ------
    ValueError
        If ``keep="raise"`` and duplicates exist, or ``subset`` names a missing column.
    """
    df = inter.data
    missing = [c for c in subset if c not in df.columns]
    if missing:
        raise ValueError(f"drop_duplicates subset has columns {missing} the table does not have")
    if keep not in ("first", "last", "raise"):
        raise ValueError(f"keep must be 'first', 'last' or 'raise', got {keep!r}")
    ordered = df.sort_values(TIMESTAMP, kind="stable") if TIMESTAMP in df.columns else df
    dup = ordered.duplicated(list(subset), keep="last" if keep == "last" else "first")
    n_dup = int(dup.sum())
    if keep == "raise":
        if n_dup:
            raise ValueError(
                f"{_fmt(n_dup)} of {_fmt(len(df))} rows repeat an earlier {tuple(subset)}; "
                "pass dedup='first' or 'last' to remove them"
            )
        return inter
    mask = np.ones(len(df), dtype=bool)
    mask[dup.index[dup.to_numpy()]] = False
    report = inter.report.add(
        "drop duplicates", len(df), int(mask.sum()), f"same {tuple(subset)}, kept {keep}"
    )
    return inter._derive(df.loc[mask].reset_index(drop=True), report)


def filter_k_core(
    inter: Interactions, k: int | tuple[int, int], *, per_category: bool = True
) -> Interactions:
    """Keep the k-core: every user and item has at least k rows (recorded in the report).

    Users with fewer than ``k_user`` rows and items with fewer than ``k_item``
    rows are removed repeatedly until none is left.

    Parameters
    ----------
    inter : Interactions
    k : int or (int, int)
        ``k`` for both, or ``(k_user, k_item)``; each at least 1.
    per_category : bool, default True
        Compute the core within each category separately (the usual
        preprocessing of each domain) rather than on the whole table.

    Returns
    -------
    Interactions

    Raises
    ------
    ValueError
        If ``k`` is not an integer or a pair of integers, or a k is below 1.
    """
    k_user, k_item = _check_k_core(k)
    df = inter.data
    keys = [CATEGORY] if per_category else []
    mask = np.ones(len(df), dtype=bool)
    rounds = 0
    while True:
        rounds += 1
        sub = df.loc[mask, [*keys, USER, ITEM]]
        u_cnt = sub.groupby([*keys, USER], sort=False)[ITEM].transform("size").to_numpy()
        i_cnt = sub.groupby([*keys, ITEM], sort=False)[USER].transform("size").to_numpy()
        bad = (u_cnt < k_user) | (i_cnt < k_item)
        if not bad.any():
            break
        idx = np.flatnonzero(mask)
        mask[idx[bad]] = False
    report = inter.report.add(
        "k-core",
        len(df),
        int(mask.sum()),
        f"k_user={k_user}, k_item={k_item}, {'per category' if per_category else 'whole table'}, "
        f"{rounds} rounds",
    )
    return inter._derive(df.loc[mask].reset_index(drop=True), report)
