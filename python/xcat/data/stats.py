"""Counts per domain, user overlap and density, as tables."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from xcat.data.domains import CrossDomainData
from xcat.data.interactions import Interactions
from xcat.data.schema import CATEGORY, ITEM, SPLIT, USER

__all__ = [
    "cross_domain_stats",
    "domain_stats",
    "format_table",
    "largest_categories",
    "split_stats",
    "user_overlap",
]

_COLUMNS = ["users", "items", "interactions", "density"]
_PERCENT = {"density", "share_of_a", "share_of_b", "overlap_share"}
_COUNTS = {
    "users",
    "items",
    "interactions",
    "shared_users",
    "overlapping_users",
    "rows_before",
    "rows_removed",
    "rows_after",
}


def _counts(df: pd.DataFrame) -> dict[str, float]:
    users = int(df[USER].nunique())
    items = int(df[ITEM].nunique())
    pairs = int(len(df[[USER, ITEM]].drop_duplicates())) if len(df) else 0
    return {
        "users": users,
        "items": items,
        "interactions": len(df),
        "density": pairs / (users * items) if users and items else float("nan"),
    }


def largest_categories(inter: Interactions, n: int | None = None) -> list[Hashable]:
    """Categories by number of interactions, largest first; ties by category value.

    The order is deterministic (it does not depend on row order or hashing), so
    every table that shows "the largest n" categories shows the same ones.

    Parameters
    ----------
    inter : Interactions
    n : int, optional
        Return at most this many; default all.

    Returns
    -------
    list
        Category values.
    """
    counts = inter.data[CATEGORY].value_counts(sort=False)
    order = pd.DataFrame({"category": counts.index, "n": counts.to_numpy()}).sort_values(
        ["n", "category"], ascending=[False, True], kind="stable"
    )
    cats = order["category"].tolist()
    return cats if n is None else cats[:n]


def domain_stats(inter: Interactions) -> pd.DataFrame:
    """Users, items, interactions and density per category.

    Parameters
    ----------
    inter : Interactions

    Returns
    -------
    pandas.DataFrame
        Indexed by ``category`` (order of first appearance) plus a last row
        ``"(all)"`` when there are several categories; columns ``users``,
        ``items``, ``interactions`` (int64) and ``density`` (float64:
        distinct user-item pairs / (users * items)).
    """
    df = inter.data
    rows = {cat: _counts(g) for cat, g in df.groupby(CATEGORY, sort=False)}
    if len(rows) > 1:
        rows["(all)"] = _counts(df)
    out = pd.DataFrame.from_dict(rows, orient="index", columns=_COLUMNS)
    out.index.name = CATEGORY
    return out.astype({"users": np.int64, "items": np.int64, "interactions": np.int64})


def user_overlap(
    inter: Interactions,
    categories: Sequence[Hashable] | None = None,
    *,
    max_categories: int = 20,
) -> pd.DataFrame:
    """Users shared by each pair of categories.

    Parameters
    ----------
    inter : Interactions
    categories : sequence of hashable, optional
        Categories to compare; default: the ``max_categories`` categories
        with the most interactions (ties by category value, see
        :func:`largest_categories`).
    max_categories : int, default 20
        Limit when ``categories`` is not given (the table has
        ``k * (k - 1) / 2`` rows).

    Returns
    -------
    pandas.DataFrame
        Columns ``category_a``, ``category_b``, ``shared_users`` (int64),
        ``share_of_a`` and ``share_of_b`` (fraction of each category's users).
    """
    df = inter.data
    if categories is None:
        categories = largest_categories(inter, max_categories)
    cats = list(categories)
    users = {c: set(df.loc[df[CATEGORY] == c, USER]) for c in cats}
    rows = []
    for i, a in enumerate(cats):
        for b in cats[i + 1 :]:
            shared = len(users[a] & users[b])
            rows.append(
                {
                    "category_a": a,
                    "category_b": b,
                    "shared_users": shared,
                    "share_of_a": shared / len(users[a]) if users[a] else float("nan"),
                    "share_of_b": shared / len(users[b]) if users[b] else float("nan"),
                }
            )
    return pd.DataFrame(
        rows, columns=["category_a", "category_b", "shared_users", "share_of_a", "share_of_b"]
    ).astype({"shared_users": np.int64})


def cross_domain_stats(data: CrossDomainData) -> pd.DataFrame:
    """Count users, items and interactions of the source and target domains, and their overlap.

    Parameters
    ----------
    data : CrossDomainData

    Returns
    -------
    pandas.DataFrame
        Index ``["source", "target"]``; columns ``categories`` (str),
        ``users``, ``items``, ``interactions``, ``density``,
        ``overlapping_users`` (users in both domains) and ``overlap_share``
        (their fraction of the domain's users).
    """
    n_overlap = len(data.overlap_users())
    rows = {}
    for role, dom in (("source", data.source), ("target", data.target)):
        c = _counts(dom.data)
        rows[role] = {
            "categories": ", ".join(map(str, dom.categories)),
            **c,
            "overlapping_users": n_overlap,
            "overlap_share": n_overlap / c["users"] if c["users"] else float("nan"),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "domain"
    return out.astype(
        {
            "users": np.int64,
            "items": np.int64,
            "interactions": np.int64,
            "overlapping_users": np.int64,
        }
    )


def split_stats(inter: Interactions) -> pd.DataFrame | None:
    """Rows and users per category and ``split`` label (published splits).

    Returns
    -------
    pandas.DataFrame or None
        Columns ``category``, ``split``, ``interactions``, ``users``; None if
        the table has no ``split`` column.
    """
    if SPLIT not in inter.data.columns:
        return None
    g = inter.data.groupby([CATEGORY, SPLIT], sort=False)
    return pd.DataFrame({"interactions": g.size(), "users": g[USER].nunique()}).reset_index()


def format_table(df: pd.DataFrame) -> str:
    """Plain-text table with thousands separators and densities in percent.

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    str
    """
    if df is None or len(df) == 0:
        return "(empty)"
    shown = df.copy()
    for col in shown.columns:
        s = shown[col]
        if col in _PERCENT:
            shown[col] = s.map(lambda v: "" if pd.isna(v) else f"{100 * v:.4g} %")
        elif col in _COUNTS and pd.api.types.is_integer_dtype(s):
            shown[col] = s.map(lambda v: f"{v:,}")
    return shown.to_string()
