"""Alibaba's Taobao ``UserBehavior.csv`` (headerless, category ids, behaviours)."""

from __future__ import annotations

from pathlib import Path

from xcat.data.interactions import Interactions
from xcat.data.io.table import read_table
from xcat.data.parse import Dedup

__all__ = ["read_taobao_userbehavior"]


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
