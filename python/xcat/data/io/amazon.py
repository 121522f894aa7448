"""Amazon review and metadata files: JSON lines (2014, 2018, 2023) and ratings-only CSVs."""

from __future__ import annotations

import ast
import json
import logging
import re
from collections.abc import Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from xcat.data.interactions import Interactions
from xcat.data.io.files import check_file, open_text, strip_compression
from xcat.data.messages import fmt_count, fmt_examples
from xcat.data.parse import MISSING_MARKERS, Dedup
from xcat.data.report import RemovalReport

__all__ = ["read_amazon_metadata", "read_amazon_reviews"]

logger = logging.getLogger("xcat.data")


def _iter_json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, record) of a JSON-lines file.

    Amazon 2014 metadata is written as Python literals (single quotes), not
    JSON; such lines are read with :func:`ast.literal_eval`.
    """
    with open_text(path) as f:
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
    name = strip_compression(path.name)
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
    p = check_file(path)
    ver = _amazon_version(version)
    cat = category if category is not None else _category_from_filename(p)
    base = strip_compression(p.name.lower())
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
            items, report = _read_amazon_metadata(check_file(metadata), "auto", "first", report)
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
            f"{path}: field {f!r} is missing in {fmt_count(core_missing[f])} of {fmt_count(n)} "
            "records "
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
    with open_text(path) as f:
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
        na_values={0: [""], 1: [""], 2: sorted(MISSING_MARKERS), 3: sorted(MISSING_MARKERS)},
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
        check_file(path), _amazon_version(version), duplicates, RemovalReport()
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
            fmt_count(bad_price),
        )
    dup = items["item"].duplicated()
    if dup.any():
        if duplicates == "raise":
            raise ValueError(
                f"{path}: {fmt_count(int(dup.sum()))} metadata rows repeat an item id, e.g. "
                f"{fmt_examples(items.loc[dup, 'item'].unique())}; pass duplicates='first'"
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
            "%s: removed %s metadata rows repeating an item id",
            path,
            fmt_count(before - len(items)),
        )
    return items.set_index("item"), report
