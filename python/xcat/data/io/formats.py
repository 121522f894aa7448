"""The input formats xcat reads, and :func:`read_any`, which picks the reader from the path.

=============  ===============================================================
format         recognised by
=============  ===============================================================
``csv``        a ``.csv`` file (optionally compressed, e.g. ``.csv.gz``)
``tsv``        a ``.tsv`` or ``.tab`` file (optionally compressed)
``parquet``    a ``.parquet`` or ``.pq`` file
``amazon``     a ``.json`` or ``.jsonl`` file (optionally compressed)
``movielens``  a folder with ``u.data``, ``ratings.dat`` or ``ratings.csv``
``taobao``     a ``UserBehavior*.csv`` file (optionally compressed)
``saved``      a folder written by :meth:`Interactions.save` (``report.json``)
=============  ===============================================================

A new format is one more :class:`InputFormat` in :data:`FORMATS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xcat.data.interactions import Interactions
from xcat.data.io.amazon import read_amazon_reviews
from xcat.data.io.files import check_file, strip_compression
from xcat.data.io.movielens import MOVIELENS_RATINGS, read_movielens
from xcat.data.io.table import read_table, table_format_of
from xcat.data.io.taobao import read_taobao_userbehavior

__all__ = ["FORMATS", "InputFormat", "detect_format", "read_any"]


@dataclass(frozen=True)
class InputFormat:
    """One input format: how to recognise a path of it and how to read it.

    Attributes
    ----------
    name : str
        The format's name (``read_any(path, format=name)``, ``--format`` of the CLI).
    description : str
        What the format is and how it is recognised, for people.
    detect : callable
        ``detect(path) -> bool``: whether an existing path is of this format.
        At most one format detects a given path.
    read : callable
        ``read(path, **options) -> Interactions``.
    """

    name: str
    description: str
    detect: Callable[[Path], bool]
    read: Callable[..., Interactions]


def _base(path: Path) -> str:
    return strip_compression(path.name.lower())


def _is_saved(path: Path) -> bool:
    return path.is_dir() and (path / "report.json").is_file()


def _is_movielens(path: Path) -> bool:
    return (
        path.is_dir()
        and not _is_saved(path)
        and any((path / f).exists() for f in MOVIELENS_RATINGS)
    )


def _is_taobao(path: Path) -> bool:
    return (
        path.is_file()
        and path.name.lower().startswith("userbehavior")
        and _base(path).endswith(".csv")
    )


def _is_table(fmt: str) -> Callable[[Path], bool]:
    def detect(path: Path) -> bool:
        return path.is_file() and table_format_of(path) == fmt and not _is_taobao(path)

    return detect


def _read_as(fmt: str) -> Callable[..., Interactions]:
    def read(path: Path, **options: Any) -> Interactions:
        return read_table(path, format=fmt, **options)  # type: ignore[arg-type]

    return read


def _read_saved(path: Path, **options: Any) -> Interactions:
    if options:
        raise ValueError(
            f"{path}: a saved Interactions table is read as it was saved; it takes no options, "
            f"got {sorted(options)}"
        )
    return Interactions.load(path)


#: The input formats, by name (the order of the CLI's ``--format`` choices).
FORMATS: dict[str, InputFormat] = {
    f.name: f
    for f in (
        InputFormat(
            "csv",
            "comma-separated table with a header (.csv, optionally compressed)",
            _is_table("csv"),
            _read_as("csv"),
        ),
        InputFormat(
            "tsv",
            "tab-separated table with a header (.tsv/.tab, optionally compressed)",
            _is_table("tsv"),
            _read_as("tsv"),
        ),
        InputFormat(
            "parquet", "Parquet table (.parquet/.pq)", _is_table("parquet"), _read_as("parquet")
        ),
        InputFormat(
            "amazon",
            "Amazon reviews, JSON lines 2014/2018/2023 (.json/.jsonl, optionally compressed)",
            lambda p: p.is_file() and _base(p).endswith((".json", ".jsonl")),
            read_amazon_reviews,
        ),
        InputFormat(
            "movielens",
            "MovieLens folder (u.data, ratings.dat or ratings.csv)",
            _is_movielens,
            read_movielens,
        ),
        InputFormat(
            "taobao",
            "Taobao UserBehavior*.csv (headerless)",
            _is_taobao,
            read_taobao_userbehavior,
        ),
        InputFormat(
            "saved", "folder written by Interactions.save (report.json)", _is_saved, _read_saved
        ),
    )
}


def _known() -> str:
    return "; ".join(f"{f.name}: {f.description}" for f in FORMATS.values())


def detect_format(path: str | Path) -> str:
    """Return the name of the input format of an existing file or folder.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    str
        A key of :data:`FORMATS`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If no format recognises it; the message names the path and every
        known format.
    """
    p = check_file(path)
    for f in FORMATS.values():
        if f.detect(p):
            return f.name
    hint = (
        " (a dataset folder of the shared data directory is read with "
        "xcat.data.datasets.load_dataset_folder)"
        if p.is_dir()
        else ""
    )
    raise ValueError(
        f"{p}: cannot tell the input format{hint}; known formats: {_known()}. "
        "Pass format=<name> to choose one"
    )


def read_any(path: str | Path, *, format: str | None = None, **options: Any) -> Interactions:
    """Read interactions from a file or folder of any known format.

    Parameters
    ----------
    path : str or pathlib.Path
        A file or folder (see :data:`FORMATS` for what each format looks like).
    format : str, optional
        A key of :data:`FORMATS`; default: detected from ``path``
        (:func:`detect_format`).
    **options
        Passed to the format's reader: :func:`~xcat.data.io.table.read_table`
        (csv, tsv, parquet: column mapping, ``id_dtype``...),
        :func:`~xcat.data.io.amazon.read_amazon_reviews`,
        :func:`~xcat.data.io.movielens.read_movielens`,
        :func:`~xcat.data.io.taobao.read_taobao_userbehavior`; the cleaning
        options ``drop_null_ids``, ``dedup`` and ``k_core`` apply to all of
        these.  A saved table takes none.

    Returns
    -------
    Interactions
        Exactly what the format's reader returns for ``path`` and ``options``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``format`` is not a known format, the format cannot be detected
        (the message names the path and the known formats), or the reader
        rejects the file or the options.
    TypeError
        If an option is not an argument of the format's reader.
    """
    if format is None:
        name = detect_format(path)
    elif format in FORMATS:
        name = format
    else:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    return FORMATS[name].read(check_file(path), **options)
