"""``xcat data``: inspect interaction data (``xcat data stats PATH...``)."""

from __future__ import annotations

from pathlib import Path

import click

_FORMATS = ["auto", "csv", "tsv", "parquet", "amazon", "movielens", "taobao", "saved"]


@click.group("data")
def data() -> None:
    """Inspect interaction data: counts, overlap, density, removals."""


def _load_path(path: Path, fmt: str, opts: dict):  # noqa: ANN202 - returns list of (name, data)
    """Load one PATH as a list of (name, Interactions | CrossDomainData)."""
    from xcat.data import datasets, readers
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
            raise click.UsageError("--dedup/--k-core apply to raw files, not saved tables")
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
    table_fmt = None if fmt in ("table", "auto") else fmt
    mapping = {
        k: opts[k] for k in ("user", "item", "rating", "timestamp", "event") if opts[k] is not None
    }
    header = not opts["no_header"]
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
        elif header and "category" in readers._table_columns(path, table_fmt, opts["sep"]):
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


def _stem(path: Path) -> str:
    name = path.name
    for ext in (".gz", ".bz2", ".xz", ".zip", ".zst"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    return name.rsplit(".", 1)[0] if "." in name else name


@data.command("stats")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(_FORMATS),
    default="auto",
    show_default=True,
    help="Input kind; auto: dataset folder, saved table, MovieLens folder, Amazon JSON, "
    "or a CSV/TSV/Parquet table by suffix.",
)
@click.option("--user", default=None, help="User-id column [default: user].")
@click.option("--item", default=None, help="Item-id column [default: item].")
@click.option(
    "--category",
    default=None,
    help="Category column [default: a column named 'category' if the file has one; "
    "otherwise each file is one category named after the file, or --category-value].",
)
@click.option("--category-value", default=None, help="Category of every row of a file.")
@click.option("--rating", default=None, help="Rating column.")
@click.option("--timestamp", default=None, help="Timestamp column.")
@click.option(
    "--timestamp-unit",
    default="s",
    show_default=True,
    type=click.Choice(["s", "ms", "us", "ns"]),
    help="Unit of epoch timestamps.",
)
@click.option("--event", default=None, help="Event-type column.")
@click.option("--sep", default=None, help="Field separator of text tables.")
@click.option("--no-header", is_flag=True, help="Text tables have no header; columns are 0, 1, ...")
@click.option(
    "--amazon-version",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "2014", "2018", "2023"]),
    help="Amazon file version.",
)
@click.option(
    "--genres",
    default="first",
    show_default=True,
    type=click.Choice(["first", "explode"]),
    help="MovieLens: category of multi-genre movies.",
)
@click.option(
    "--dedup",
    default="keep",
    show_default=True,
    type=click.Choice(["keep", "first", "last"]),
    help="Repeated (user, item, category) rows: keep all, or keep the first/last.",
)
@click.option("--k-core", type=int, default=None, help="Keep the k-core of each category.")
@click.option("--drop-null-ids", is_flag=True, help="Remove rows with null ids instead of failing.")
@click.option(
    "--source",
    "sources",
    multiple=True,
    help="Source category (repeatable); with --target, also print source/target stats.",
)
@click.option("--target", "targets", multiple=True, help="Target category (repeatable).")
@click.option(
    "--max-categories",
    default=20,
    show_default=True,
    help="Show at most this many categories (the largest).",
)
def stats(
    paths: tuple[Path, ...],
    fmt: str,
    sources: tuple[str, ...],
    targets: tuple[str, ...],
    max_categories: int,
    **opts,
) -> None:
    """Print per-domain counts, user overlap, density and the removal report of PATH...

    Each PATH is a file (CSV/TSV/Parquet table, Amazon review JSON or
    ratings CSV, Taobao UserBehavior.csv), a MovieLens folder, a table saved
    with Interactions.save, or a dataset folder of the shared data directory.
    Several files are stacked into one table, e.g. one Amazon file per category.
    """
    import pandas as pd

    from xcat.data.domains import CrossDomainData, select_domains
    from xcat.data.interactions import Interactions
    from xcat.data.stats import (
        cross_domain_stats,
        domain_stats,
        format_table,
        largest_categories,
        split_stats,
        user_overlap,
    )

    loaded: list[tuple[str, object]] = []
    try:
        for p in paths:
            loaded.extend(_load_path(p, fmt, opts))
    except (ValueError, FileNotFoundError) as e:
        raise click.ClickException(str(e)) from e

    tables = [(n, d) for n, d in loaded if isinstance(d, Interactions)]
    pairs = [(n, d) for n, d in loaded if isinstance(d, CrossDomainData)]
    if len(tables) > 1:
        try:
            merged = Interactions.concat([d for _, d in tables])
        except ValueError as e:
            raise click.ClickException(str(e)) from e
        tables = [(" + ".join(n for n, _ in tables), merged)]

    def section(title: str, body: str) -> None:
        click.echo(f"\n{title}\n{'-' * len(title)}\n{body}")

    for name, inter in tables:
        click.echo(
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
                raise click.UsageError("give both --source and --target")
            try:
                pair = select_domains(
                    inter, [_cast(s, inter) for s in sources], [_cast(t, inter) for t in targets]
                )
            except ValueError as e:
                raise click.ClickException(str(e)) from e
            section("source / target", format_table(cross_domain_stats(pair)))
        section("removal report", str(inter.report))
    for name, pair in pairs:
        click.echo(f"\n== {name}")
        section("source / target", format_table(cross_domain_stats(pair)))
        for role, dom in (("source", pair.source), ("target", pair.target)):
            sp = split_stats(dom)
            if sp is not None:
                section(f"published split ({role})", format_table(sp))
        section("removal report", str(pair.report))


def _cast(value: str, inter) -> object:  # noqa: ANN001
    """Category given on the command line, as the type the table uses."""
    cats = inter.categories
    if cats and not isinstance(cats[0], str):
        try:
            return int(value)
        except ValueError:
            return value
    return value
