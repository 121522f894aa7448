"""Readers of interaction files, one module per source, and :func:`read_any`.

Every reader returns an :class:`~xcat.data.interactions.Interactions` table
(Amazon metadata: an item table) and accepts the cleaning options of
:meth:`Interactions.from_frame <xcat.data.interactions.Interactions.from_frame>`
(``drop_null_ids``, ``dedup``, ``k_core``); nothing is removed unless asked,
and removals are in the table's :attr:`~xcat.data.interactions.Interactions.report`.
Compressed files (``.gz``, ``.bz2``, ``.xz``, ``.zip``, ``.zst``) are read
transparently.

Modules
-------
table
    CSV/TSV/Parquet with a column mapping (:func:`read_table`).
amazon
    Amazon reviews and metadata, 2014/2018/2023.
movielens
    MovieLens folders, genres as categories.
taobao
    Taobao UserBehavior.
formats
    The input-format registry :data:`FORMATS` and :func:`read_any`.
files
    Opening (possibly compressed) files.
"""

from __future__ import annotations

from xcat.data.io.amazon import read_amazon_metadata, read_amazon_reviews
from xcat.data.io.formats import FORMATS, InputFormat, detect_format, read_any
from xcat.data.io.movielens import read_movielens
from xcat.data.io.table import read_table, table_columns
from xcat.data.io.taobao import read_taobao_userbehavior

__all__ = [
    "FORMATS",
    "InputFormat",
    "detect_format",
    "read_amazon_metadata",
    "read_amazon_reviews",
    "read_any",
    "read_movielens",
    "read_table",
    "read_taobao_userbehavior",
    "table_columns",
]
