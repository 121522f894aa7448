"""Maps between raw ids and dense row numbers, saved with trained models."""

from __future__ import annotations

import json
import warnings
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from xcat.data.messages import fmt_count, fmt_examples
from xcat.data.parse import INT64_MAX, int64_from_text
from xcat.data.schema import FORMAT_VERSION, id_kind

__all__ = ["IdMap", "UnknownIdWarning"]


class UnknownIdWarning(UserWarning):
    """Ids that an :class:`IdMap` does not know were looked up (they map to -1)."""


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
            raise ValueError(
                f"{name} ids contain {fmt_count(int(values.isna().sum()))} null values"
            )
        self._kind = id_kind(values, f"{name} ids")
        dtype = np.int64 if self._kind == "int" else object
        index = pd.Index(values.to_numpy(), dtype=dtype, name=name)
        if not index.is_unique:
            dup = index[index.duplicated()].unique()
            raise ValueError(
                f"{name} ids contain {fmt_count(len(dup))} duplicated values, e.g. "
                f"{fmt_examples(dup)}"
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
        return self._kind

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
                f"{fmt_count(n_missing)} of {fmt_count(len(codes))} {self.name} ids are not in the "
                "map "
                f"({fmt_count(len(bad))} distinct, e.g. {fmt_examples(bad)})"
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
            if np.issubdtype(raw.dtype, np.unsignedinteger) and raw.max() > INT64_MAX:
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
                    f"{fmt_count(int((~whole).sum()))} of {fmt_count(raw.size)} {self.name} codes "
                    "are not "
                    f"integer row numbers (0..{len(self) - 1}), e.g. "
                    f"{fmt_examples(pd.unique(vals))}; codes are not rounded or truncated"
                )
            c = num.reshape(raw.shape)
        n = len(self)
        bad = (c < 0) | (c >= n) if c is not None else np.ones(raw.shape, dtype=bool)
        if bad.any():
            vals = (raw if c is None else c)[bad]
            hint = "; -1 marks ids that encode() did not know" if (vals == -1).any() else ""
            raise ValueError(
                f"{fmt_count(int(bad.sum()))} {self.name} row numbers are outside 0..{n - 1} "
                f"({fmt_count(int(bad.sum()))} of {fmt_count(raw.size)} codes; the map has "
                f"{fmt_count(n)} ids), "
                f"e.g. {fmt_examples(pd.unique(np.asarray(vals).ravel()))}{hint}"
            )
        return self._index.to_numpy()[np.asarray(c, dtype=np.int64)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, read back by :meth:`from_dict`."""
        ids = self._index.to_numpy()
        return {
            "format": "xcat.IdMap",
            "version": FORMAT_VERSION,
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
