"""``xcat data``: inspect interaction data (``xcat data stats PATH...``).

The reading and the tables are :func:`xcat.workflow.stats.data_stats`.
"""

from __future__ import annotations

from pathlib import Path

import click

from xcat.cli.options import Command, LazyChoice, input_formats


@click.group("data")
def data() -> None:
    """Inspect interaction data: counts, overlap, density, removals."""


@data.command("stats", cls=Command)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=LazyChoice(input_formats),
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
@click.option(
    "--k-core",
    type=click.IntRange(min=1),
    default=None,
    help="Keep the k-core of each category.",
)
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
    with Interactions.save, or a dataset folder of the shared data directory
    or one of its pair folders (e.g. disencdr_amazon/sport_cloth).
    Several files are stacked into one table, e.g. one Amazon file per category.
    """
    from xcat.workflow.stats import data_stats

    opts["header"] = not opts.pop("no_header")
    data_stats(
        paths,
        fmt,
        sources=sources,
        targets=targets,
        max_categories=max_categories,
        echo=click.echo,
        **opts,
    )
