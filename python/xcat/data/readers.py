"""Readers for interaction files: CSV/TSV/Parquet, Amazon reviews and metadata, MovieLens, Taobao.

Every reader returns an :class:`~xcat.data.interactions.Interactions` table
(Amazon metadata: an item table) and accepts the cleaning options of
:meth:`Interactions.from_frame <xcat.data.interactions.Interactions.from_frame>`
(``drop_null_ids``, ``dedup``, ``k_core``); nothing is removed unless asked,
and removals are in the table's :attr:`~xcat.data.interactions.Interactions.report`.
Compressed files (``.gz``, ``.bz2``, ``.xz``, ``.zip``, ``.zst``) are read
transparently.
"""

from __future__ import annotations

import ast
import bz2
import csv
import gzip
import json
import logging
import lzma
import re
import warnings
from collections.abc import Hashable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from xcat.data.interactions import (
    _NA_STRINGS,
    Interactions,
    RemovalReport,
    _examples,
    _fmt,
    check_options,
)

__all__ = [
    "read_amazon_metadata",
    "read_amazon_reviews",
    "read_movielens",
    "read_table",
    "read_taobao_userbehavior",
]

logger = logging.getLogger("xcat.data")

_COMPRESSION = (".gz", ".bz2", ".xz", ".zip", ".zst")
Dedup = Literal["keep", "first", "last", "raise"]


def _strip_compression(name: str) -> str:
    for ext in _COMPRESSION:
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


def _open_text(path: Path, encoding: str = "utf-8") -> IO[str]:
    """Open a possibly compressed text file; universal newlines (CRLF safe)."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding)
    if name.endswith(".bz2"):
        return bz2.open(path, "rt", encoding=encoding)
    if name.endswith(".xz"):
        return lzma.open(path, "rt", encoding=encoding)
    if name.endswith((".zip", ".zst")):
        raise ValueError(
            f"{path}: line-by-line reading of {name.rsplit('.', 1)[1]} files is not "
            "supported; decompress it or use .gz"
        )
    return open(path, encoding=encoding)  # noqa: SIM115


def _check_file(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file or directory: {p}")
    return p


# --------------------------------------------------------------------------- generic tables


def _infer_format(path: Path, fmt: str | None, sep: str | None) -> tuple[str, str | None]:
    if fmt is not None:
        fmt = fmt.lower()
        if fmt not in ("csv", "tsv", "parquet"):
            raise ValueError(f"format must be 'csv', 'tsv' or 'parquet', got {fmt!r}")
    else:
        base = _strip_compression(path.name.lower())
        if base.endswith((".parquet", ".pq")):
            fmt = "parquet"
        elif base.endswith((".tsv", ".tab")):
            fmt = "tsv"
        elif base.endswith(".csv"):
            fmt = "csv"
        elif sep is not None:
            fmt = "csv"
        else:
            raise ValueError(
                f"cannot tell the format of {path.name}: pass format='csv'|'tsv'|'parquet' or sep="
            )
    if fmt == "tsv" and sep is None:
        sep = "\t"
    if fmt == "csv" and sep is None:
        sep = ","
    return fmt, sep


def read_table(
    source: str | Path | pd.DataFrame,
    *,
    user: Hashable = "user",
    item: Hashable = "item",
    category: Hashable | None = None,
    category_value: Hashable | None = None,
    rating: Hashable | None | Literal[False] = None,
    timestamp: Hashable | None | Literal[False] = None,
    event: Hashable | None | Literal[False] = None,
    split: Hashable | None | Literal[False] = None,
    keep_columns: Sequence[Hashable] = (),
    format: Literal["csv", "tsv", "parquet"] | None = None,
    sep: str | None = None,
    header: bool = True,
    names: Sequence[str] | None = None,
    encoding: str = "utf-8",
    id_dtype: Literal["str", "int"] | None = None,
    category_dtype: Literal["str", "int"] | None = None,
    timestamp_unit: str = "s",
    timestamp_format: str | None = None,
    items: pd.DataFrame | None = None,
    drop_null_ids: bool = False,
    dedup: Dedup = "keep",
    k_core: int | tuple[int, int] | None = None,
) -> Interactions:
    """Read a CSV, TSV or Parquet file (or a DataFrame) with a column mapping.

    Parameters
    ----------
    source : str, pathlib.Path or pandas.DataFrame
        File to read (compression inferred from the suffix), or a DataFrame.
    user, item : hashable, default "user", "item"
        Columns with the user and item ids.  For files without a header
        (``header=False`` and no ``names``) columns are numbered from 0, so
        ``user=0, item=1`` works.
    category : hashable, optional
        Column with the category (domain).  Default: a column named
        ``"category"`` if there is one.
    category_value : hashable, optional
        One category for all rows, e.g. ``"Beauty"`` for a file per category.
    rating, timestamp, event, split : hashable or False, optional
        Optional columns; default: the canonical name if present.
    keep_columns : sequence of hashable, default ()
        Further columns to keep.
    format : {"csv", "tsv", "parquet"}, optional
        Default: from the file suffix (``.csv``, ``.tsv``/``.tab``,
        ``.parquet``/``.pq``, optionally followed by a compression suffix).
    sep : str, optional
        Field separator of text files; default ``","`` (csv) or tab (tsv).
    header : bool, default True
        Whether the first line of a text file holds column names.  With
        ``names`` it is skipped and its names are replaced by ``names``.
    names : sequence of str, optional
        Column names of a text file (``header=False``: the first line is
        data; ``header=True``: they replace the header line's names).
    encoding : str, default "utf-8"
        Text encoding; a file that does not decode raises ValueError with a
        hint to pass the right one (e.g. ``encoding="latin-1"``).
    id_dtype : {"str", "int"}, optional
        Type of the user and item ids (not the category).  Default: text for
        CSV/TSV files (so that ``"007"`` stays ``"007"``), the stored type for
        Parquet files and DataFrames.  ``"int"`` parses them as integers,
        exactly (id columns are never read through ``float64``, also when
        some ids are missing).
    category_dtype : {"str", "int"}, optional
        The same for the category column.  Default: text for CSV/TSV files,
        the stored type otherwise.
    timestamp_unit : {"s", "ms", "us", "ns"}, default "s"
        Unit of epoch-number timestamps.
    timestamp_format : str, optional
        ``strftime`` format of date strings; default ISO 8601 (see
        :func:`~xcat.data.interactions.parse_timestamps`).  When given it
        applies to every value, e.g. ``"%Y%m%d"`` for ``20200101``.
    items : pandas.DataFrame, optional
        Item table indexed by ``item``.
    drop_null_ids, dedup, k_core
        Cleaning options, see :meth:`Interactions.from_frame`.

    Returns
    -------
    Interactions

    Raises
    ------
    ValueError
        If the format cannot be inferred, the file is empty, cannot be decoded
        with ``encoding`` or is not valid Parquet, lines of a text file have
        more or fewer fields than the header (the message names the lines), a
        mapped column is missing, or the values are invalid (see
        :meth:`Interactions.from_frame`).
    FileNotFoundError
        If the file does not exist.
    """
    common: dict[str, Any] = dict(
        user=user,
        item=item,
        category=category,
        category_value=category_value,
        rating=rating,
        timestamp=timestamp,
        event=event,
        split=split,
        keep_columns=keep_columns,
        timestamp_unit=timestamp_unit,
        timestamp_format=timestamp_format,
        items=items,
        drop_null_ids=drop_null_ids,
        dedup=dedup,
        k_core=k_core,
    )
    if isinstance(source, pd.DataFrame):
        return Interactions.from_frame(
            source, id_dtype=id_dtype, category_dtype=category_dtype, **common
        )
    # Plain arguments are checked before the file is read (from_frame checks them again).
    check_options(
        id_dtype=id_dtype,
        category_dtype=category_dtype,
        timestamp_unit=timestamp_unit,
        k_core=k_core,
        dedup=dedup,
    )
    path = _check_file(source)
    fmt, sep = _infer_format(path, format, sep)
    id_cols = [user, item, "category" if category is None else category]
    if fmt == "parquet":
        frame = _read_parquet(path, id_cols)
        return Interactions.from_frame(
            frame, id_dtype=id_dtype, category_dtype=category_dtype, **common
        )

    # Id columns are read as text with only "" as missing, so that "007" or "NA" stay ids
    # and large integers are never read through float64; the other mapped columns treat the
    # usual markers ("", "NA", "null", ...) as missing.
    na_values: dict[Hashable, list[str]] = {}
    for given, canon in (
        (rating, "rating"),
        (timestamp, "timestamp"),
        (event, "event"),
        (split, "split"),
    ):
        if given is not False:
            na_values[canon if given is None else given] = list(_NA_STRINGS)
    na_values.update({c: [""] for c in id_cols})
    frame = _read_text_table(
        path,
        fmt,
        sep,
        header=header,
        names=names,
        encoding=encoding,
        dtype={c: str for c in id_cols},
        na_values=na_values,
    )
    return Interactions.from_frame(
        frame,
        id_dtype="str" if id_dtype is None else id_dtype,
        category_dtype=category_dtype,
        **common,
    )


def _parquet_error(path: Path, e: Exception) -> str:
    return (
        f"{path}: cannot read as Parquet ({e}); if it is a text table pass format='csv' or "
        "'tsv' (CLI: --format csv|tsv)"
    )


def _read_parquet(path: Path, id_cols: Sequence[Hashable]) -> pd.DataFrame:
    """Read a Parquet file; integer id columns with nulls stay exact (pyarrow-backed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as e:
        raise ValueError(_parquet_error(path, e)) from e
    frame = table.to_pandas()
    for c in id_cols:
        if isinstance(c, str) and c in table.column_names and c in frame.columns:
            col = table.column(c)
            if pa.types.is_integer(col.type) and col.null_count:
                # numpy int64 cannot hold nulls; pandas would make the column float64
                # and change ids above 2**53.  Keep the exact integers.
                frame[c] = pd.arrays.ArrowExtensionArray(col)
    return frame


def _table_columns(
    path: Path,
    format: str | None = None,
    sep: str | None = None,
    *,
    header: bool = True,
    names: Sequence[str] | None = None,
    encoding: str = "utf-8",
) -> list[Hashable]:
    """Column names of a CSV/TSV/Parquet file, without reading its rows."""
    fmt, sep = _infer_format(path, format, sep)
    if names is not None:
        return list(names)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except (pa.ArrowException, OSError) as e:
            raise ValueError(_parquet_error(path, e)) from e
    if not header:
        return []
    return list(
        _read_text_table(path, fmt, sep, header=True, names=None, encoding=encoding, nrows=0)
    )


def _read_text_table(
    path: Path,
    fmt: str,
    sep: str,
    *,
    header: bool,
    names: Sequence[str] | None,
    encoding: str,
    dtype: dict[Hashable, Any] | None = None,
    na_values: dict[Hashable, list[str]] | None = None,
    nrows: int | None = None,
) -> pd.DataFrame:
    """``pandas.read_csv`` with errors that name the file, and no silent column shifts.

    ``index_col=False`` stops pandas from turning the first column into the index
    when the lines have one field more than the header; lines with more or fewer
    fields than the header are reported (see :func:`_ragged_lines`).
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frame = pd.read_csv(
                path,
                sep=sep,
                header=0 if header else None,
                names=list(names) if names is not None else None,
                index_col=False,
                dtype=dtype,
                keep_default_na=False,
                na_values=na_values if na_values is not None else {},
                encoding=encoding,
                compression="infer",
                engine="python" if len(sep) > 1 else "c",
                nrows=nrows,
            )
    except pd.errors.EmptyDataError as e:
        raise ValueError(f"{path}: the file is empty (no header line and no rows)") from e
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{path}: cannot be decoded as {encoding!r} ({e.reason}); pass "
            "encoding= with the file's encoding, e.g. encoding='latin-1' or 'cp1252'"
        ) from e
    except pd.errors.ParserError as e:
        ragged = _ragged_lines(path, sep, header=header, names=names, encoding=encoding)
        if ragged:
            raise ValueError(ragged) from e
        raise ValueError(f"{path}: cannot parse as {fmt} with sep={sep!r}: {e}") from e
    too_long = False
    for w in caught:
        if issubclass(w.category, pd.errors.ParserWarning) and "Length of header" in str(w.message):
            too_long = True
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    # A line with too few fields leaves the last column missing; one with too many
    # fields makes pandas warn (first line) or fail (later lines).
    if too_long or (len(frame.columns) and frame.iloc[:, -1].isna().any()):
        ragged = _ragged_lines(path, sep, header=header, names=names, encoding=encoding)
        if ragged:
            raise ValueError(ragged)
        if too_long:
            raise ValueError(
                f"{path}: some lines have more fields than the {len(frame.columns)} column names"
            )
    return frame


def _ragged_lines(
    path: Path, sep: str, *, header: bool, names: Sequence[str] | None, encoding: str
) -> str | None:
    """Describe the lines whose number of fields differs from the header's, or None.

    Only called when pandas signalled a problem; the file is read again with the
    standard :mod:`csv` module (same quoting rules) to count the fields per line.
    """
    try:
        f = _open_text(path, encoding)
    except (ValueError, OSError):
        return None
    expected: int | None = len(names) if names is not None else None
    what = "names" if names is not None else "header"
    longer: list[tuple[int, int]] = []
    shorter: list[tuple[int, int]] = []
    n_lines = 0
    first = True
    try:
        with f:
            if len(sep) == 1:
                reader = csv.reader(f, delimiter=sep)
                records: Iterator[tuple[int, list[str]]] = (
                    (reader.line_num, row) for row in reader
                )
            else:
                pattern = re.compile(sep)
                records = (
                    (i, pattern.split(line.rstrip("\r\n"))) for i, line in enumerate(f, start=1)
                )
            for lineno, row in records:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line; pandas skips those too
                if first:
                    first = False
                    if expected is None:
                        expected = len(row)
                        if not header:
                            what = "first line"
                    if header:
                        continue
                n_lines += 1
                if len(row) > expected:
                    longer.append((lineno, len(row)))
                elif len(row) < expected:
                    shorter.append((lineno, len(row)))
    except (csv.Error, UnicodeDecodeError):
        return None
    if not longer and not shorter:
        return None
    if len(longer) == n_lines and len({k for _, k in longer}) == 1:
        return (
            f"{path}: every data line ({_fmt(n_lines)}) has {longer[0][1]} fields but the "
            f"{what} has {expected} columns; the columns would be shifted. Add the missing "
            "column name(s) or remove the extra (e.g. trailing) separator"
        )
    parts = []
    for lines, word in ((longer, "more"), (shorter, "fewer")):
        if lines:
            shown = ", ".join(f"line {ln} has {k}" for ln, k in lines[:5])
            parts.append(
                f"{_fmt(len(lines))} line{'s' if len(lines) != 1 else ''} with {word} fields "
                f"({shown}{', ...' if len(lines) > 5 else ''})"
            )
    n_bad = len(longer) + len(shorter)
    return (
        f"{path}: {_fmt(n_bad)} of {_fmt(n_lines)} data lines do not have the {expected} fields "
        f"of the {what}: {'; '.join(parts)}. Fix or remove those lines"
    )


# --------------------------------------------------------------------------- JSON lines


def _iter_json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, record) of a JSON-lines file.

    Amazon 2014 metadata is written as Python literals (single quotes), not
    JSON; such lines are read with :func:`ast.literal_eval`.
    """
    with _open_text(path) as f:
        for lineno, line in enumerate(f, start=1):
            s = line.strip()
            if not s:
                continue
            try:
                rec = json.loads(s)
            except json.JSONDecodeError:
                try:
                    rec = ast.literal_eval(s)
                except (ValueError, SyntaxError) as e:
                    raise ValueError(f"{path}, line {lineno}: not a JSON object: {s[:80]!r}") from e
            if not isinstance(rec, dict):
                raise ValueError(
                    f"{path}, line {lineno}: expected a JSON object, got {type(rec).__name__}"
                )
            yield lineno, rec


def _category_from_filename(path: Path) -> str:
    """Category from an Amazon file name: ``reviews_Beauty_5.json.gz`` -> ``Beauty``."""
    name = _strip_compression(path.name)
    name = re.sub(r"\.(json|jsonl|csv|tsv|txt)$", "", name, flags=re.IGNORECASE)
    name = re.sub(r"^(reviews|ratings|meta)_", "", name)
    name = re.sub(r"_5$", "", name)
    return name


_AMAZON_FIELDS = {
    # version: (user, item, rating, timestamp, timestamp unit)
    "2014": ("reviewerID", "asin", "overall", "unixReviewTime", "s"),
    "2018": ("reviewerID", "asin", "overall", "unixReviewTime", "s"),
    "2023": ("user_id", "parent_asin", "rating", "timestamp", "ms"),
}


def _amazon_version(version: str | int) -> str:
    v = str(version)
    if v not in ("auto", "2014", "2018", "2023"):
        raise ValueError(f"version must be 'auto', 2014, 2018 or 2023, got {version!r}")
    return v


def read_amazon_reviews(
    path: str | Path,
    *,
    category: Hashable | None = None,
    version: Literal["auto", "2014", "2018", "2023"] | int = "auto",
    item_field: str | None = None,
    keep_columns: Sequence[str] = (),
    metadata: str | Path | pd.DataFrame | None = None,
    drop_null_ids: bool = False,
    dedup: Dedup = "keep",
    k_core: int | tuple[int, int] | None = None,
) -> Interactions:
    """Read an Amazon review file: JSON lines (2014, 2018, 2023) or a ratings-only CSV.

    Field names by version:

    ======  ==============  ================  ============  ====================
    year    user            item              rating        timestamp
    ======  ==============  ================  ============  ====================
    2014    ``reviewerID``  ``asin``          ``overall``   ``unixReviewTime`` s
    2018    ``reviewerID``  ``asin``          ``overall``   ``unixReviewTime`` s
    2023    ``user_id``     ``parent_asin``   ``rating``    ``timestamp`` ms
    ======  ==============  ================  ============  ====================

    Ratings-only CSVs have no header in 2014 (``user,item,rating,timestamp``)
    and 2018 (``item,user,rating,timestamp``: the column order differs!), and
    a header ``user_id,parent_asin,rating,timestamp`` in 2023.  The reader
    checks the order against the data: item ids must be 10-character ASINs.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.json``/``.jsonl`` (JSON lines) or ``.csv`` file, optionally ``.gz``.
    category : hashable, optional
        Category of all rows.  Default: from the file name
        (``reviews_Beauty_5.json.gz`` -> ``"Beauty"``).
    version : {"auto", 2014, 2018, 2023}, default "auto"
        File version; "auto" detects it from the field names (JSON), the
        header (2023 CSV) or which column holds ASINs (2014/2018 CSV).
    item_field : str, optional
        Item id field of 2023 JSON files: ``"parent_asin"`` (default, the
        product) or ``"asin"`` (the variant).
    keep_columns : sequence of str, default ()
        Further JSON fields to keep as columns (e.g. ``"verified"``).
    metadata : str, pathlib.Path or pandas.DataFrame, optional
        Amazon metadata file (see :func:`read_amazon_metadata`) or an item
        table, attached as :attr:`Interactions.items`.
    drop_null_ids, dedup, k_core
        Cleaning options, see :meth:`Interactions.from_frame`.

    Returns
    -------
    Interactions
        Columns ``user``, ``item``, ``category``, ``rating`` (float64),
        ``timestamp``; string ids.

    Raises
    ------
    ValueError
        If the version cannot be detected or contradicts the data (names the
        fields or columns), a field is missing in some records (with the
        count), or values are invalid.
    """
    p = _check_file(path)
    ver = _amazon_version(version)
    cat = category if category is not None else _category_from_filename(p)
    base = _strip_compression(p.name.lower())
    if base.endswith(".csv"):
        frame, ver = _read_amazon_ratings_csv(p, ver)
        unit = _AMAZON_FIELDS[ver][4]
        if keep_columns:
            raise ValueError("keep_columns: ratings-only CSV files have no further fields")
    elif base.endswith((".json", ".jsonl")):
        frame, ver = _read_amazon_json(p, ver, item_field, keep_columns)
        unit = _AMAZON_FIELDS[ver][4]
    else:
        raise ValueError(f"{p.name}: Amazon review files end in .json, .jsonl or .csv (maybe .gz)")
    report = RemovalReport()
    items = None
    if metadata is not None:
        if isinstance(metadata, pd.DataFrame):
            items = metadata
        else:
            items, report = _read_amazon_metadata(_check_file(metadata), "auto", "first", report)
    return Interactions.from_frame(
        frame,
        category_value=cat,
        rating="rating",
        timestamp="timestamp",
        keep_columns=list(keep_columns),
        id_dtype="str",
        timestamp_unit=unit,
        items=items,
        drop_null_ids=drop_null_ids,
        dedup=dedup,
        k_core=k_core,
        report=report,
    )


def _read_amazon_json(
    path: Path, ver: str, item_field: str | None, keep: Sequence[str]
) -> tuple[pd.DataFrame, str]:
    records = _iter_json_lines(path)
    try:
        _, first = next(records)
    except StopIteration:
        raise ValueError(f"{path}: the file has no records") from None
    detected = "2023" if "user_id" in first else "2014" if "reviewerID" in first else None
    if detected is None:
        raise ValueError(
            f"{path}: the first record has fields {sorted(first)}; expected Amazon review fields "
            "(2014/2018: reviewerID, asin, overall, unixReviewTime; 2023: user_id, parent_asin, "
            "rating, timestamp)"
        )
    if ver == "auto":
        ver = detected
    elif (ver == "2023") != (detected == "2023"):
        raise ValueError(
            f"{path}: version={ver} but the records have "
            f"{'2023' if detected == '2023' else '2014/2018'}"
            f" field names ({', '.join(sorted(first)[:6])}, ...); pass version='auto'"
        )
    f_user, f_item, f_rating, f_time, _ = _AMAZON_FIELDS[ver]
    if item_field is not None:
        if ver != "2023" and item_field != "asin":
            raise ValueError(f"item_field={item_field!r}: {ver} files only have 'asin'")
        f_item = item_field
    fields = [f_user, f_item, f_rating, f_time, *keep]
    cols: dict[str, list[Any]] = {f: [] for f in fields}
    missing: dict[str, int] = dict.fromkeys(fields, 0)
    first_missing: dict[str, int] = {}

    def add(lineno: int, rec: dict[str, Any]) -> None:
        for f in fields:
            v = rec.get(f)
            if v is None:
                missing[f] += 1
                first_missing.setdefault(f, lineno)
            cols[f].append(v)

    add(1, first)
    for lineno, rec in records:
        add(lineno, rec)
    n = len(cols[f_user])
    core_missing = {
        f: c for f, c in missing.items() if c and f in (f_user, f_item, f_rating, f_time)
    }
    if core_missing.get(f_rating) or core_missing.get(f_time):
        f = f_rating if core_missing.get(f_rating) else f_time
        raise ValueError(
            f"{path}: field {f!r} is missing in {_fmt(core_missing[f])} of {_fmt(n)} records "
            f"(first at line {first_missing[f]})"
        )
    frame = pd.DataFrame(
        {
            "user": pd.Series(cols[f_user], dtype=object),
            "item": pd.Series(cols[f_item], dtype=object),
            "rating": cols[f_rating],
            "timestamp": cols[f_time],
            **{k: cols[k] for k in keep},
        }
    )
    return frame, ver


_ASIN = re.compile(r"^[0-9A-Z]{10}$")


def _asin_share(values: pd.Series) -> float:
    s = values.dropna().astype(str)
    if len(s) == 0:
        return 0.0
    return float(s.str.fullmatch(_ASIN.pattern).mean())


def _read_amazon_ratings_csv(path: Path, ver: str) -> tuple[pd.DataFrame, str]:
    with _open_text(path) as f:
        first = f.readline().strip()
    head = [h.strip().strip('"') for h in first.split(",")]
    if "rating" in head or "user_id" in head:
        if ver in ("2014", "2018"):
            raise ValueError(
                f"{path}: version={ver} ratings files have no header, but the first line is "
                f"{first!r} (a 2023 header); pass version=2023 or 'auto'"
            )
        want = {"user": "user_id", "rating": "rating", "timestamp": "timestamp"}
        want["item"] = "parent_asin" if "parent_asin" in head else "asin"
        lacking = [c for c in want.values() if c not in head]
        if lacking:
            raise ValueError(f"{path}: header {head} lacks column(s) {lacking}")
        frame = pd.read_csv(
            path,
            dtype={want["user"]: str, want["item"]: str},
            keep_default_na=False,
            na_values={c: [""] for c in head},
            usecols=list(want.values()),
        )
        frame = frame.rename(columns={v: k for k, v in want.items()})[
            ["user", "item", "rating", "timestamp"]
        ]
        return frame, "2023"
    if ver == "2023":
        raise ValueError(
            f"{path}: version=2023 ratings files start with a header "
            f"'user_id,parent_asin,rating,timestamp', but the first line is {first!r}"
        )
    raw = pd.read_csv(
        path,
        header=None,
        dtype={0: str, 1: str},
        keep_default_na=False,
        na_values={0: [""], 1: [""], 2: list(_NA_STRINGS), 3: list(_NA_STRINGS)},
    )
    if raw.shape[1] != 4:
        raise ValueError(
            f"{path}: Amazon ratings-only files have 4 columns, this one has {raw.shape[1]}"
        )
    share0, share1 = _asin_share(raw[0]), _asin_share(raw[1])
    order_2014 = share1 == 1.0 and share0 < 1.0
    order_2018 = share0 == 1.0 and share1 < 1.0
    if ver == "auto":
        if order_2014:
            ver = "2014"
        elif order_2018:
            ver = "2018"
        else:
            raise ValueError(
                f"{path}: cannot tell the column order: {share0:.0%} of column 1 and "
                f"{share1:.0%} of "
                "column 2 look like 10-character ASINs; pass version=2014 "
                "(user,item,rating,timestamp) "
                "or version=2018 (item,user,rating,timestamp)"
            )
    elif ver == "2014" and order_2018:
        raise ValueError(
            f"{path}: version=2014 means user,item,rating,timestamp, but column 1 holds ASINs and "
            "column 2 reviewer ids: this is the 2018 order (item,user,rating,timestamp); pass "
            "version=2018"
        )
    elif ver == "2018" and order_2014:
        raise ValueError(
            f"{path}: version=2018 means item,user,rating,timestamp, but column 2 holds ASINs and "
            "column 1 reviewer ids: this is the 2014 order (user,item,rating,timestamp); pass "
            "version=2014"
        )
    u, i = (0, 1) if ver == "2014" else (1, 0)
    frame = pd.DataFrame({"user": raw[u], "item": raw[i], "rating": raw[2], "timestamp": raw[3]})
    return frame, ver


# --------------------------------------------------------------------------- metadata


def _parse_price(v: Any) -> float:
    if v is None:
        return np.nan
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    s = str(v).strip().replace(",", "")
    m = re.fullmatch(r"\$?\s*(\d+(?:\.\d+)?)", s)
    return float(m.group(1)) if m else np.nan


def read_amazon_metadata(
    path: str | Path,
    *,
    version: Literal["auto", "2014", "2018", "2023"] | int = "auto",
    duplicates: Literal["first", "raise"] = "first",
) -> pd.DataFrame:
    """Read an Amazon metadata file (JSON lines, 2014/2018/2023) into an item table.

    Parameters
    ----------
    path : str or pathlib.Path
        ``meta_*.json(.gz)`` (2014, Python-literal lines are accepted),
        ``meta_*.json(.gz)`` (2018) or ``meta_*.jsonl(.gz)`` (2023).
    version : {"auto", 2014, 2018, 2023}, default "auto"
        Detected per record from its fields when "auto".
    duplicates : {"first", "raise"}, default "first"
        Metadata rows repeating an item id (2018 files have some): keep the
        first (logged, and in the interaction report when read through
        :func:`read_amazon_reviews`) or raise.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``item`` (the ASIN; ``parent_asin`` in 2023), columns
        ``title`` (str or None), ``brand`` (str or None; 2023: ``details
        ["Brand"]``, else ``store``), ``price`` (float64, NaN when missing or
        not a single number such as a range), ``category_path`` (list of
        str, the first path in 2014 files) and, for 2014 files,
        ``category_paths`` (all paths).

    Raises
    ------
    ValueError
        If a record has no item id, or ``duplicates="raise"`` and an item
        repeats.
    """
    items, _ = _read_amazon_metadata(
        _check_file(path), _amazon_version(version), duplicates, RemovalReport()
    )
    return items


def _read_amazon_metadata(
    path: Path, ver: str, duplicates: str, report: RemovalReport
) -> tuple[pd.DataFrame, RemovalReport]:
    rows: list[dict[str, Any]] = []
    has_paths = False
    bad_price = 0
    for lineno, rec in _iter_json_lines(path):
        v = ver
        if v == "auto":
            v = (
                "2023"
                if "parent_asin" in rec
                else "2014"
                if "categories" in rec
                and (rec["categories"] and isinstance(rec["categories"][0], list))
                else "2018"
            )
        item = rec.get("parent_asin") if v == "2023" else rec.get("asin")
        if item is None:
            raise ValueError(f"{path}, line {lineno}: record has no item id ('asin'/'parent_asin')")
        if v == "2014":
            paths = rec.get("categories") or []
            path0 = list(paths[0]) if paths else []
            has_paths = True
            brand = rec.get("brand")
        elif v == "2018":
            paths = None
            path0 = list(rec.get("category") or [])
            brand = rec.get("brand")
        else:
            paths = None
            path0 = list(rec.get("categories") or [])
            details = rec.get("details") or {}
            brand = details.get("Brand") if isinstance(details, dict) else None
            brand = brand or rec.get("store")
        price_raw = rec.get("price")
        price = _parse_price(price_raw)
        if np.isnan(price) and price_raw not in (None, ""):
            bad_price += 1
        row = {
            "item": str(item),
            "title": rec.get("title"),
            "brand": brand or None,
            "price": price,
            "category_path": path0,
        }
        if paths is not None:
            row["category_paths"] = [list(p) for p in paths]
        rows.append(row)
    items = pd.DataFrame(rows)
    if has_paths and "category_paths" not in items:
        items["category_paths"] = [[] for _ in range(len(items))]
    if len(items) == 0:
        items = pd.DataFrame(columns=["item", "title", "brand", "price", "category_path"])
    items["price"] = items["price"].astype(np.float64)
    if bad_price:
        logger.info(
            "%s: %s prices are not single numbers (e.g. ranges); stored as NaN",
            path,
            _fmt(bad_price),
        )
    dup = items["item"].duplicated()
    if dup.any():
        if duplicates == "raise":
            raise ValueError(
                f"{path}: {_fmt(int(dup.sum()))} metadata rows repeat an item id, e.g. "
                f"{_examples(items.loc[dup, 'item'].unique())}; pass duplicates='first'"
            )
        if duplicates != "first":
            raise ValueError(f"duplicates must be 'first' or 'raise', got {duplicates!r}")
        before = len(items)
        items = items.loc[~dup]
        report = report.add(
            "drop duplicate metadata rows",
            before,
            len(items),
            f"{path.name}: kept the first row of each item id",
        )
        logger.warning(
            "%s: removed %s metadata rows repeating an item id", path, _fmt(before - len(items))
        )
    return items.set_index("item"), report


# --------------------------------------------------------------------------- MovieLens


_ML100K_GENRES = [
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]


def read_movielens(
    path: str | Path,
    *,
    genres: Literal["first", "explode"] = "first",
    drop_null_ids: bool = False,
    dedup: Dedup = "keep",
    k_core: int | tuple[int, int] | None = None,
) -> Interactions:
    """Read a local MovieLens folder with genres as categories.

    Supports ML-100K (``u.data``, ``u.item``, ``u.genre``), ML-1M / ML-10M
    (``ratings.dat``, ``movies.dat``, ``::``-separated) and ML-latest /
    ML-20M / ML-25M (``ratings.csv``, ``movies.csv``).  MovieLens cannot be
    redistributed, so xcat ships no copy.

    Parameters
    ----------
    path : str or pathlib.Path
        The extracted MovieLens folder.
    genres : {"first", "explode"}, default "first"
        A movie can have several genres.  ``"first"``: the category of a
        rating is the movie's first listed genre (rows unchanged).
        ``"explode"``: one row per (rating, genre), so a rating appears in
        every genre domain of its movie; the added rows are recorded in the
        report.
    drop_null_ids, dedup, k_core
        Cleaning options, see :meth:`Interactions.from_frame`.

    Returns
    -------
    Interactions
        Integer ``user`` and ``item`` ids, ``category`` (genre name),
        ``rating``, ``timestamp``; ``items`` has ``title`` and ``genres``
        (list of str).

    Raises
    ------
    ValueError
        If no MovieLens ratings file is found, or ratings refer to movies not
        in the movie file (with the count).
    """
    d = _check_file(path)
    if d.is_file():
        d = d.parent
    if genres not in ("first", "explode"):
        raise ValueError(f"genres must be 'first' or 'explode', got {genres!r}")
    if (d / "u.data").exists():
        ratings = pd.read_csv(
            d / "u.data", sep="\t", header=None, names=["user", "item", "rating", "timestamp"]
        )
        genre_names = _ML100K_GENRES
        if (d / "u.genre").exists():
            g = pd.read_csv(
                d / "u.genre", sep="|", header=None, names=["name", "idx"], encoding="latin-1"
            ).dropna()
            genre_names = list(g.sort_values("idx")["name"])
        movies = pd.read_csv(d / "u.item", sep="|", header=None, encoding="latin-1")
        flags = movies.iloc[:, 5 : 5 + len(genre_names)].to_numpy().astype(bool)
        items = pd.DataFrame(
            {
                "item": movies[0].astype(np.int64),
                "title": movies[1],
                "genres": [[genre_names[j] for j in np.flatnonzero(row)] for row in flags],
            }
        )
    elif (d / "ratings.dat").exists():
        ratings = _read_double_colon(d / "ratings.dat", ["user", "item", "rating", "timestamp"])
        movies = _read_double_colon(
            d / "movies.dat", ["item", "title", "genres"], encoding="latin-1"
        )
        items = pd.DataFrame(
            {
                "item": movies["item"].astype(np.int64),
                "title": movies["title"],
                "genres": movies["genres"].str.split("|"),
            }
        )
    elif (d / "ratings.csv").exists():
        ratings = pd.read_csv(d / "ratings.csv").rename(
            columns={"userId": "user", "movieId": "item"}
        )
        movies = pd.read_csv(d / "movies.csv")
        items = pd.DataFrame(
            {
                "item": movies["movieId"].astype(np.int64),
                "title": movies["title"],
                "genres": movies["genres"].str.split("|"),
            }
        )
    else:
        raise ValueError(
            f"{d}: no MovieLens ratings file (u.data, ratings.dat or ratings.csv) found"
        )
    items = items.set_index("item")
    known = ratings["item"].isin(items.index)
    if not known.all():
        bad = ratings.loc[~known, "item"]
        raise ValueError(
            f"{d}: {_fmt(len(bad))} ratings refer to {_fmt(bad.nunique())} movies that are not in "
            f"the movie file, e.g. {_examples(bad.unique())}"
        )
    movie_genres = items["genres"].reindex(ratings["item"]).to_numpy()
    report = RemovalReport()
    if genres == "first":
        ratings["category"] = [g[0] if len(g) else "(no genres listed)" for g in movie_genres]
    else:
        before = len(ratings)
        ratings["category"] = [g if len(g) else ["(no genres listed)"] for g in movie_genres]
        ratings = ratings.explode("category", ignore_index=True)
        report = report.add(
            "explode genres", before, len(ratings), "one row per (rating, genre) of the movie"
        )
    return Interactions.from_frame(
        ratings,
        category="category",
        rating="rating",
        timestamp="timestamp",
        id_dtype=None,
        items=items,
        drop_null_ids=drop_null_ids,
        dedup=dedup,
        k_core=k_core,
        report=report,
    )


def _read_double_colon(path: Path, names: list[str], encoding: str = "utf-8") -> pd.DataFrame:
    """Read a MovieLens ``::``-separated file (fields contain no ``::``)."""
    with open(path, encoding=encoding) as f:
        rows = [line.rstrip("\r\n").split("::") for line in f if line.strip()]
    bad = [i for i, r in enumerate(rows) if len(r) != len(names)]
    if bad:
        raise ValueError(
            f"{path}: {_fmt(len(bad))} lines do not have {len(names)} '::' fields "
            f"(first at line {bad[0] + 1})"
        )
    frame = pd.DataFrame(rows, columns=names)
    for c in names:
        if c in ("user", "item", "timestamp"):
            frame[c] = pd.to_numeric(frame[c]).astype(np.int64)
        elif c == "rating":
            frame[c] = pd.to_numeric(frame[c])
    return frame


# --------------------------------------------------------------------------- Taobao


def read_taobao_userbehavior(
    path: str | Path,
    *,
    drop_null_ids: bool = False,
    dedup: Dedup = "keep",
    k_core: int | tuple[int, int] | None = None,
) -> Interactions:
    """Read Alibaba's Taobao ``UserBehavior.csv`` (or a head of it).

    The file has no header; columns are ``user,item,category,behavior,timestamp``
    with behaviours ``pv`` (page view), ``cart``, ``fav``, ``buy`` and epoch
    seconds.  Timestamps are stored in UTC; the dataset's documented period
    (2017-11-25 to 2017-12-03) is in Beijing time (UTC+8).

    Parameters
    ----------
    path : str or pathlib.Path
    drop_null_ids, dedup, k_core
        Cleaning options, see :meth:`Interactions.from_frame`.

    Returns
    -------
    Interactions
        Integer ``user``, ``item`` and ``category`` ids, ``event`` (the
        behaviour, unchanged) and ``timestamp``.
    """
    return read_table(
        path,
        format="csv",
        header=False,
        names=["user", "item", "category", "event", "timestamp"],
        id_dtype="int",
        category_dtype="int",
        timestamp_unit="s",
        drop_null_ids=drop_null_ids,
        dedup=dedup,
        k_core=k_core,
    )
