"""Parsing raw values: ids (exact integers from text), ratings, timestamps, missing markers.

Every reader and the feedback events go through these functions, so a value
means the same wherever it is read: :data:`MISSING_MARKERS` are missing,
integer ids are parsed exactly (never through ``float64``), ISO 8601 dates
are converted to UTC value by value.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from xcat.data.messages import fmt_count, fmt_examples, fmt_positions
from xcat.data.schema import id_kind

__all__ = [
    "INT64_MAX",
    "MAX_EPOCH_SECONDS",
    "MISSING_MARKERS",
    "TIMESTAMP_UNITS",
    "Dedup",
    "check_k_core",
    "check_options",
    "int64_from_text",
    "parse_event_timestamps",
    "parse_ids",
    "parse_iso_utc",
    "parse_ratings",
    "parse_timestamps",
    "whole_floats_to_int",
]

#: Text fields read as missing values: the strings pandas reads as missing by default
#: (``pandas.read_csv``'s ``na_values``).  Text readers apply them to the value columns
#: (rating, timestamp, event, split); id columns treat only ``""`` as missing, so that an
#: id such as ``"NA"`` stays an id.
MISSING_MARKERS: frozenset[str] = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"}
    | {"<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)

#: Largest int64 value; integer ids must fit in int64.
INT64_MAX = np.iinfo(np.int64).max

#: What to do with repeated (user, item, category) rows (see ``Interactions.from_frame``).
Dedup = Literal["keep", "first", "last", "raise"]


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
                f"rating column {column!r}: {fmt_count(int(bad.sum()))} of "
                f"{fmt_count(len(values))} values "
                f"are not numbers, e.g. {fmt_examples(pd.unique(values[bad]))}"
            )
    nulls = out.isna().to_numpy()
    if nulls.any():
        raise ValueError(
            f"rating column {column!r}: {fmt_count(int(nulls.sum()))} of {fmt_count(len(values))} "
            "rows "
            f"have no rating (row positions {fmt_positions(nulls)})"
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


def check_k_core(k: object) -> tuple[int, int]:
    """``(k_user, k_item)`` of a k-core argument.

    Parameters
    ----------
    k : object
        An integer (both k) or a pair of integers ``(k_user, k_item)``.

    Returns
    -------
    (int, int)

    Raises
    ------
    ValueError
        If ``k`` is neither, or a k is below 1.
    """

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

    Used by :meth:`~xcat.data.interactions.Interactions.from_frame` and the readers so that a bad
    option fails before a file is read.
    """
    for arg, value in (("id_dtype", id_dtype), ("category_dtype", category_dtype)):
        if value not in ("str", "int", None):
            raise ValueError(f"{arg} must be 'str', 'int' or None, got {value!r}")
    _check_timestamp_unit(timestamp_unit)
    if k_core is not None:
        check_k_core(k_core)
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


#: Epoch-number timestamps of feedback events are seconds; larger numbers
#: (milliseconds?) are rejected. 9e9 s is the year 2255, inside the range of
#: pandas' nanosecond timestamps.
MAX_EPOCH_SECONDS = 9e9


def parse_event_timestamps(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Read feedback-event timestamps value by value: epoch seconds or ISO 8601 text.

    The one reading of an event's timestamp, shared by
    :func:`xcat.train.update.check_events` and the server that writes the
    events log (``xcat serve``), so what the server accepts is what the
    update reads.

    Parameters
    ----------
    values : pandas.Series
        Datetimes, numbers, numeric text (epoch seconds, ``|t| < 9e9``) or
        ISO 8601 text (naive values are UTC; surrounding spaces ignored).

    Returns
    -------
    (pandas.Series of datetime64[ns, UTC], numpy.ndarray of bool)
        The timestamps (RangeIndex; NaT where bad) and the mask of values
        that are missing or cannot be read.
    """
    values = values.reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(values):
        ts = pd.to_datetime(values, utc=True)
        return ts, ts.isna().to_numpy()
    num = pd.to_numeric(values, errors="coerce")
    is_num = num.notna().to_numpy()
    seconds = is_num & (num.abs() < MAX_EPOCH_SECONDS).to_numpy()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if seconds.any():
        out[seconds] = pd.to_datetime(num[seconds], unit="s", utc=True)
    text = ~is_num & values.notna().to_numpy()
    if text.any():
        # element by element, as xcat.data parses dates: naive values are UTC
        out[text] = parse_iso_utc(values[text].astype(str).str.strip().astype(object)).to_numpy()
    return out, out.isna().to_numpy()


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
            f"timestamp column {column!r}: {fmt_count(int(bad.sum()))} of {fmt_count(n)} values "
            "could "
            f"not be parsed as {expected}, e.g. {fmt_examples(pd.unique(values[bad]))}; {hint}"
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
                    f" (the other {fmt_count(n_num)} value{'s are' if n_num != 1 else ' is an'} "
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
                    f"timestamp column {column!r} mixes epoch numbers "
                    f"({fmt_count(int(is_num.sum()))} "
                    f"of {fmt_count(n)} values, e.g. {fmt_examples(pd.unique(values[is_num]))}) "
                    "and date "
                    f"strings ({fmt_count(int(is_date.sum()))} values, e.g. "
                    f"{fmt_examples(pd.unique(values[is_date]))}); a timestamp column must hold "
                    "one "
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
            f"timestamp column {column!r}: {fmt_count(int(nulls.sum()))} of {fmt_count(n)} rows "
            "have no "
            f"timestamp (row positions {fmt_positions(nulls)})"
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
    out_of_range[big] = [not (-INT64_MAX - 1 <= int(v) <= INT64_MAX) for v in text.iloc[big]]
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
            f"id column {column!r}: {fmt_count(int(not_integer.sum()))} of "
            f"{fmt_count(len(values))} "
            f"values are not integers, e.g. {fmt_examples(pd.unique(values[not_integer]))}; "
            "use id_dtype='str'"
        )
    if out_of_range.any():
        raise ValueError(
            f"id column {column!r}: {fmt_count(int(out_of_range.sum()))} of "
            f"{fmt_count(len(values))} values "
            f"are outside the int64 range, e.g. {fmt_examples(pd.unique(values[out_of_range]))}; "
            "use id_dtype='str'"
        )
    present = values.notna().to_numpy()
    if present.all():
        return pd.Series(arr, index=values.index)
    return pd.Series(pd.arrays.IntegerArray(arr, ~present), index=values.index)


def _exact_int64(values: pd.Series, column: str) -> pd.Series:
    """Convert an integer column (numpy, nullable or pyarrow) without nulls to ``int64``."""
    if pd.api.types.is_unsigned_integer_dtype(values) and len(values):
        if int(values.max()) > INT64_MAX:
            n_big = int((values > INT64_MAX).sum())
            raise ValueError(
                f"id column {column!r}: {fmt_count(n_big)} of {fmt_count(len(values))} values are "
                "larger "
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
        id_kind(values.dropna(), f"id column {column!r}")
        if pd.api.types.is_integer_dtype(values) and not has_null:
            if isinstance(values.dtype, pd.api.extensions.ExtensionDtype):
                return _exact_int64(values, column)
            return values
        if pd.api.types.is_string_dtype(values) and not pd.api.types.is_object_dtype(values):
            return values.astype(object).where(values.notna(), None)
        return values
    if id_dtype == "str":
        if pd.api.types.is_float_dtype(values):
            id_kind(values, f"id column {column!r}")
        out = values.astype(object)
        mask = values.notna()
        out[mask] = [str(v) for v in out[mask]]
        return out
    if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_bool_dtype(values):
        if not has_null:
            return _exact_int64(values, column)
        return _exact_int64(values.dropna(), column).astype("Int64").reindex(values.index)
    return _text_to_int64(values, column)


def whole_floats_to_int(values: pd.Series) -> pd.Series:
    """Float ids that are all whole numbers (pandas' int-with-NaN) back to int64.

    Parameters
    ----------
    values : pandas.Series of shape (n,)

    Returns
    -------
    pandas.Series of shape (n,)
        ``int64`` if ``values`` is a float column without nulls whose values
        are all finite whole numbers; otherwise ``values`` unchanged.
    """
    if pd.api.types.is_float_dtype(values) and values.notna().all():
        arr = values.to_numpy()
        if np.isfinite(arr).all() and (arr == np.round(arr)).all():
            return values.astype(np.int64)
    return values
