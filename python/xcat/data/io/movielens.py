"""Local MovieLens folders (100K, 1M, 10M, 20M, 25M, latest) with genres as categories."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from xcat.data.interactions import Interactions
from xcat.data.io.files import check_file
from xcat.data.messages import fmt_count, fmt_examples
from xcat.data.parse import Dedup
from xcat.data.report import RemovalReport

__all__ = ["MOVIELENS_RATINGS", "read_movielens"]

#: The ratings files that make a folder a MovieLens folder (100K, 1M/10M, 20M/25M/latest).
MOVIELENS_RATINGS: tuple[str, ...] = ("u.data", "ratings.dat", "ratings.csv")

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
    d = check_file(path)
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
            f"{d}: {fmt_count(len(bad))} ratings refer to {fmt_count(bad.nunique())} movies that "
            "are not in "
            f"the movie file, e.g. {fmt_examples(bad.unique())}"
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
            f"{path}: {fmt_count(len(bad))} lines do not have {len(names)} '::' fields "
            f"(first at line {bad[0] + 1})"
        )
    frame = pd.DataFrame(rows, columns=names)
    for c in names:
        if c in ("user", "item", "timestamp"):
            frame[c] = pd.to_numeric(frame[c]).astype(np.int64)
        elif c == "rating":
            frame[c] = pd.to_numeric(frame[c])
    return frame
