"""Inspecting interaction data: what ``xcat data stats`` runs.

:func:`load_inputs` reads files and folders of any input format (tables,
Amazon reviews, MovieLens, Taobao, saved tables, dataset folders of the
shared data directory) and stacks several tables into one;
:func:`data_stats` prints per-domain counts, user overlap, density, the
published split, source/target statistics and the removal report of each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from xcat.workflow.errors import ArgumentError

__all__ = ["data_stats", "load_inputs"]

#: Suffixes taken off a file name before its stem names its category.
_COMPRESSION = (".gz", ".bz2", ".xz", ".zip", ".zst")


def _stem(path: Path) -> str:
    """File name without compression suffix and extension (``ratings.tsv.gz`` -> ``ratings``)."""
    name = path.name
    for ext in _COMPRESSION:
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    return name.rsplit(".", 1)[0] if "." in name else name


def _load_path(path: Path, fmt: str, opts: dict[str, Any]) -> list[tuple[str, Any]]:
    """Load one path as a list of (name, Interactions | CrossDomainData)."""
    from xcat.data import datasets
    from xcat.data import io as readers
    from xcat.data.interactions import Interactions

    clean = {
        "dedup": opts["dedup"],
        "k_core": opts["k_core"],
        "drop_null_ids": opts["drop_null_ids"],
    }
    name = path.name
    lower = name.lower()
    if fmt == "auto":
        if path.is_dir():
            if (path / "report.json").is_file():
                fmt = "saved"
            elif any((path / f).exists() for f in ("u.data", "ratings.dat", "ratings.csv")):
                fmt = "movielens"
            else:
                return datasets.load_dataset_folder(path)
        elif any(lower.endswith(s) for s in (".json", ".jsonl", ".json.gz", ".jsonl.gz")) or (
            opts["amazon_version"] != "auto"
        ):
            fmt = "amazon"
        elif lower.startswith("userbehavior"):
            fmt = "taobao"
        else:
            fmt = "table"
    if fmt == "saved":
        inter = Interactions.load(path)
        if opts["dedup"] != "keep" or opts["k_core"]:
            raise ArgumentError(None, "--dedup/--k-core apply to raw files, not saved tables")
        return [(name, inter)]
    if fmt == "movielens":
        return [(name, readers.read_movielens(path, genres=opts["genres"], **clean))]
    if fmt == "amazon":
        return [
            (
                name,
                readers.read_amazon_reviews(
                    path, version=opts["amazon_version"], category=opts["category_value"], **clean
                ),
            )
        ]
    if fmt == "taobao":
        return [(name, readers.read_taobao_userbehavior(path, **clean))]
    table_fmt: Any = None if fmt in ("table", "auto") else fmt  # csv, tsv or parquet
    mapping = {
        k: opts[k] for k in ("user", "item", "rating", "timestamp", "event") if opts[k] is not None
    }
    header = opts["header"]
    if not header:  # headerless: numbers address columns (0-based)
        mapping = {k: int(v) if str(v).isdigit() else v for k, v in mapping.items()}
        mapping.setdefault("user", 0)
        mapping.setdefault("item", 1)
    cat_col = opts["category"]
    if cat_col is not None and not header and str(cat_col).isdigit():
        cat_col = int(cat_col)
    cat_value = None
    if cat_col is None:
        if opts["category_value"] is not None:
            cat_value = opts["category_value"]
        elif header and "category" in readers.table_columns(path, table_fmt, opts["sep"]):
            cat_col = "category"  # as read_table does by default
        else:
            cat_value = _stem(path)
    inter = readers.read_table(
        path,
        format=table_fmt,
        sep=opts["sep"],
        header=header,
        category=cat_col,
        category_value=cat_value,
        timestamp_unit=opts["timestamp_unit"],
        **mapping,
        **clean,
    )
    return [(name, inter)]


def load_inputs(
    paths: Sequence[str | Path],
    format: str = "auto",
    *,
    user: str | None = None,
    item: str | None = None,
    category: str | None = None,
    category_value: str | None = None,
    rating: str | None = None,
    timestamp: str | None = None,
    timestamp_unit: str = "s",
    event: str | None = None,
    sep: str | None = None,
    header: bool = True,
    amazon_version: str = "auto",
    genres: str = "first",
    dedup: str = "keep",
    k_core: int | None = None,
    drop_null_ids: bool = False,
) -> list[tuple[str, Any]]:
    """Read files and folders of interactions; several tables are stacked into one.

    Parameters
    ----------
    paths : sequence of str or pathlib.Path
        Each a file (CSV/TSV/Parquet table, Amazon review JSON, Taobao
        UserBehavior.csv), a MovieLens folder, a table saved with
        ``Interactions.save``, or a dataset folder of the shared data
        directory (:func:`xcat.data.datasets.load_dataset_folder`).
    format : str, default "auto"
        ``auto`` (by folder contents and file name) or a name of
        :data:`xcat.data.io.FORMATS`.
    user, item, rating, timestamp, event : str, optional
        Table columns (numbers address the columns of headerless tables).
    category : str, optional
        Category column; default a column named ``category`` if the table
        has one, otherwise each file is one category: ``category_value``, or
        the file's name without extensions.
    category_value : str, optional
        Category of every row of a file (tables, Amazon files).
    timestamp_unit : {"s", "ms", "us", "ns"}, default "s"
        Unit of epoch timestamps.
    sep : str, optional
        Field separator of text tables.
    header : bool, default True
        Whether text tables have a header line.
    amazon_version : {"auto", "2014", "2018", "2023"}, default "auto"
        Amazon file version; not "auto": the files are Amazon files.
    genres : {"first", "explode"}, default "first"
        MovieLens: category of multi-genre movies.
    dedup : {"keep", "first", "last"}, default "keep"
        Repeated (user, item, category) rows.
    k_core : int, optional
        Keep the k-core of each category.
    drop_null_ids : bool, default False
        Remove rows with null ids instead of failing.

    Returns
    -------
    list of (str, Interactions or CrossDomainData)
        The tables stacked into one (named ``"a + b"``) first, then the
        source/target pairs of dataset folders.

    Raises
    ------
    ArgumentError
        (``argument=None``) ``dedup`` or ``k_core`` with a saved table.
    ValueError, FileNotFoundError
        From the readers, or when the tables cannot be stacked.
    """
    from xcat.data.domains import CrossDomainData
    from xcat.data.interactions import Interactions

    opts = {
        "user": user,
        "item": item,
        "category": category,
        "category_value": category_value,
        "rating": rating,
        "timestamp": timestamp,
        "timestamp_unit": timestamp_unit,
        "event": event,
        "sep": sep,
        "header": header,
        "amazon_version": amazon_version,
        "genres": genres,
        "dedup": dedup,
        "k_core": k_core,
        "drop_null_ids": drop_null_ids,
    }
    loaded: list[tuple[str, Any]] = []
    for p in paths:
        loaded.extend(_load_path(Path(p), format, opts))
    tables = [(n, d) for n, d in loaded if isinstance(d, Interactions)]
    pairs = [(n, d) for n, d in loaded if isinstance(d, CrossDomainData)]
    if len(tables) > 1:
        merged = Interactions.concat([d for _, d in tables])
        tables = [(" + ".join(n for n, _ in tables), merged)]
    return tables + pairs


def cast_category(value: str, inter: Any) -> object:
    """Return a category given as text as the type the table uses."""
    cats = inter.categories
    if cats and not isinstance(cats[0], str):
        try:
            return int(value)
        except ValueError:
            return value
    return value


def data_stats(
    paths: Sequence[str | Path],
    format: str = "auto",
    *,
    sources: Sequence[str] = (),
    targets: Sequence[str] = (),
    max_categories: int = 20,
    echo: Callable[[str], None] = print,
    **options: Any,
) -> list[tuple[str, Any]]:
    """Print per-domain counts, user overlap, density and the removal report of ``paths``.

    For a table: the per-domain table (the ``max_categories`` largest
    categories when there are more), the user overlap of the categories, the
    published split when the rows have one, source/target statistics with
    ``sources`` and ``targets``, and the removal report. For a dataset
    folder's pair: source/target statistics, the published split of each
    side and the removal report.

    Parameters
    ----------
    paths : sequence of str or pathlib.Path
    format : str, default "auto"
        See :func:`load_inputs`.
    sources, targets : sequence of str, default ()
        Source and target categories (give both); as text, cast to integers
        when the table's categories are integers.
    max_categories : int, default 20
        Show at most this many categories (the largest).
    echo : callable, default print
        Where the sections go, as they are computed.
    **options
        The reading options of :func:`load_inputs`.

    Returns
    -------
    list of (str, Interactions or CrossDomainData)
        What :func:`load_inputs` read.

    Raises
    ------
    ArgumentError
        (``argument=None``) Only one of ``sources`` and ``targets``; see
        :func:`load_inputs`.
    ValueError, FileNotFoundError
        From reading, or unknown source/target categories.
    """
    import pandas as pd

    from xcat.data.domains import CrossDomainData, select_domains
    from xcat.data.stats import (
        cross_domain_stats,
        domain_stats,
        format_table,
        largest_categories,
        split_stats,
        user_overlap,
    )

    loaded = load_inputs(paths, format, **options)

    def section(title: str, body: str) -> None:
        echo(f"\n{title}\n{'-' * len(title)}\n{body}")

    for name, inter in loaded:
        if isinstance(inter, CrossDomainData):
            continue
        echo(
            f"== {name}: {len(inter):,} interactions, {inter.n_users:,} users, "
            f"{inter.n_items:,} items, {len(inter.categories):,} categories"
        )
        per = domain_stats(inter)
        if len(per) > max_categories + 1:
            # the same categories, in the same order, as the user-overlap table
            top = per.loc[largest_categories(inter, max_categories)]
            per = pd.concat([top, per.loc[["(all)"]]])
            section(
                f"per domain (largest {max_categories} of {len(inter.categories):,})",
                format_table(per),
            )
        else:
            section("per domain", format_table(per))
        if len(inter.categories) > 1:
            section(
                "user overlap", format_table(user_overlap(inter, max_categories=max_categories))
            )
        sp = split_stats(inter)
        if sp is not None:
            section("published split", format_table(sp))
        if sources or targets:
            if not (sources and targets):
                raise ArgumentError(None, "give both --source and --target")
            pair = select_domains(
                inter,
                [cast_category(s, inter) for s in sources],
                [cast_category(t, inter) for t in targets],
            )
            section("source / target", format_table(cross_domain_stats(pair)))
        section("removal report", str(inter.report))
    for name, pair in loaded:
        if not isinstance(pair, CrossDomainData):
            continue
        echo(f"\n== {name}")
        section("source / target", format_table(cross_domain_stats(pair)))
        for role, dom in (("source", pair.source), ("target", pair.target)):
            sp = split_stats(dom)
            if sp is not None:
                section(f"published split ({role})", format_table(sp))
        section("removal report", str(pair.report))
    return loaded
