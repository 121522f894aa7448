"""CSV, TSV and Parquet interaction tables with a column mapping (:func:`read_table`)."""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from xcat.data.interactions import Interactions
from xcat.data.io.files import check_file, open_text, strip_compression
from xcat.data.messages import fmt_count
from xcat.data.parse import MISSING_MARKERS, Dedup, check_options

__all__ = ["TABLE_SUFFIXES", "read_table", "table_columns", "table_format_of"]


#: The table formats and the file suffixes that name them (before a compression suffix).
TABLE_SUFFIXES: dict[str, tuple[str, ...]] = {
    "parquet": (".parquet", ".pq"),
    "tsv": (".tsv", ".tab"),
    "csv": (".csv",),
}


def table_format_of(path: str | Path) -> str | None:
    """``"csv"``, ``"tsv"`` or ``"parquet"`` from a file name's suffix, else None.

    The suffix may be followed by a compression suffix (``events.csv.gz``).
    """
    base = strip_compression(Path(path).name.lower())
    for fmt, suffixes in TABLE_SUFFIXES.items():
        if base.endswith(suffixes):
            return fmt
    return None


def _infer_format(path: Path, fmt: str | None, sep: str | None) -> tuple[str, str | None]:
    if fmt is not None:
        fmt = fmt.lower()
        if fmt not in ("csv", "tsv", "parquet"):
            raise ValueError(f"format must be 'csv', 'tsv' or 'parquet', got {fmt!r}")
    else:
        fmt = table_format_of(path)
        if fmt is None:
            if sep is not None:
                fmt = "csv"
            else:
                raise ValueError(
                    f"cannot tell the format of {path.name}: pass format='csv'|'tsv'|'parquet' "
                    "or sep="
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
        :func:`~xcat.data.parse.parse_timestamps`).  When given it
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
    path = check_file(source)
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
            na_values[canon if given is None else given] = sorted(MISSING_MARKERS)
    na_values.update({c: [""] for c in id_cols})
    assert sep is not None  # _infer_format gives csv and tsv a separator
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


def table_columns(
    path: Path,
    format: str | None = None,
    sep: str | None = None,
    *,
    header: bool = True,
    names: Sequence[str] | None = None,
    encoding: str = "utf-8",
) -> list[Hashable]:
    """Column names of a CSV/TSV/Parquet file, without reading its rows.

    Parameters
    ----------
    path : pathlib.Path
    format, sep, header, names, encoding
        As for :func:`read_table`.

    Returns
    -------
    list of hashable
        The names (``names`` when given); empty for a text file without a header.

    Raises
    ------
    ValueError
        If the format cannot be inferred or the file cannot be read.
    """
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
    assert sep is not None  # _infer_format gives csv and tsv a separator
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
        f = open_text(path, encoding)
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
                assert expected is not None  # set from the first line at the latest
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
            f"{path}: every data line ({fmt_count(n_lines)}) has {longer[0][1]} fields but the "
            f"{what} has {expected} columns; the columns would be shifted. Add the missing "
            "column name(s) or remove the extra (e.g. trailing) separator"
        )
    parts = []
    for lines, word in ((longer, "more"), (shorter, "fewer")):
        if lines:
            shown = ", ".join(f"line {ln} has {k}" for ln, k in lines[:5])
            parts.append(
                f"{fmt_count(len(lines))} line{'s' if len(lines) != 1 else ''} with {word} fields "
                f"({shown}{', ...' if len(lines) > 5 else ''})"
            )
    n_bad = len(longer) + len(shorter)
    return (
        f"{path}: {fmt_count(n_bad)} of {fmt_count(n_lines)} data lines do not have the {expected} "
        "fields "
        f"of the {what}: {'; '.join(parts)}. Fix or remove those lines"
    )
