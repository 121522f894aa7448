"""The interaction table (:class:`Interactions`) and cleaning.

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

Other columns are allowed and kept unchanged (:mod:`xcat.data.schema`).  Nothing
in this module removes a row unless asked to; every removal is recorded in a
:class:`~xcat.data.report.RemovalReport`.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from xcat.data.idmap import IdMap
from xcat.data.messages import fmt_count, fmt_examples, fmt_positions
from xcat.data.parse import (
    check_k_core,
    check_options,
    parse_ids,
    parse_ratings,
    parse_timestamps,
    whole_floats_to_int,
)
from xcat.data.report import RemovalReport
from xcat.data.schema import (
    CATEGORY,
    EVENT,
    FORMAT_VERSION,
    ID_COLUMNS,
    ITEM,
    OPTIONAL_COLUMNS,
    RATING,
    REQUIRED_COLUMNS,
    SPLIT,
    TIMESTAMP,
    USER,
    as_list,
    id_kind,
)

__all__ = ["Interactions", "drop_duplicates", "filter_k_core"]


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
                f"column {col!r} has {fmt_count(int(nulls.sum()))} null values out of "
                f"{fmt_count(n)} rows "
                f"(row positions {fmt_positions(nulls)}); pass drop_null_ids=True to remove those "
                "rows"
            )
        id_kind(df[col], f"column {col!r}")
    if RATING in df.columns:
        r = df[RATING]
        if not pd.api.types.is_numeric_dtype(r) or pd.api.types.is_bool_dtype(r):
            raise ValueError(f"column 'rating' must be numeric, got dtype {r.dtype}")
        nulls = r.isna().to_numpy()
        if nulls.any():
            raise ValueError(
                f"column 'rating' has {fmt_count(int(nulls.sum()))} missing values out of "
                f"{fmt_count(n)} "
                f"rows (row positions {fmt_positions(nulls)})"
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
                f"column 'timestamp' has {fmt_count(int(nulls.sum()))} missing values out of "
                f"{fmt_count(n)} "
                f"rows (row positions {fmt_positions(nulls)})"
            )
    for col in (EVENT, SPLIT):
        if col in df.columns:
            nulls = df[col].isna().to_numpy()
            if nulls.any():
                raise ValueError(
                    f"column {col!r} has {fmt_count(int(nulls.sum()))} missing values out of "
                    f"{fmt_count(n)} rows"
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
            f"the {key} table has {fmt_count(int(table.index.isna().sum()))} null {key} ids"
        )
    if not table.index.is_unique:
        dup = table.index[table.index.duplicated()].unique()
        raise ValueError(
            f"the {key} table has {fmt_count(len(dup))} duplicated {key} ids, e.g. "
            f"{fmt_examples(dup)}"
        )
    return table


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
            Convert the user and item ids (see :func:`~xcat.data.parse.parse_ids`); default
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
                    f"null ids in {fmt_count(int(null.sum()))} of {fmt_count(len(out))} rows "
                    f"(per column: {per}; row positions {fmt_positions(null)}); "
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
                    whole_floats_to_int(out[canon]),
                    source[canon],
                    category_dtype if canon == CATEGORY else id_dtype,
                )
            else:
                id_kind(out[canon], "category_value")
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
                        f"{canon} column {source[canon]!r}: {fmt_count(int(s.isna().sum()))} of "
                        f"{fmt_count(len(s))} rows have no value"
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
        wanted = as_list(categories)
        present = set(self.categories)
        missing = [c for c in wanted if c not in present]
        if missing:
            avail = self.categories
            raise ValueError(
                f"{role} categor{'y' if len(missing) == 1 else 'ies'} {missing} not found in the "
                f"data; {len(avail):,} categories are present, e.g. {fmt_examples(avail, 10)}"
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
            kinds = {id_kind(p.data[col], col) for p in parts if len(p)}
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
                        f"{fmt_count(len(bad))} {key} ids have different rows in different {key} "
                        f"tables, e.g. {fmt_examples(bad)}"
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
            "version": FORMAT_VERSION,
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
                f"{fmt_count(n_dup)} of {fmt_count(len(df))} rows repeat an earlier "
                f"{tuple(subset)}; "
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
    k_user, k_item = check_k_core(k)
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
