"""Interaction data: loading, validation, source/target domains and evaluation splits.

``import xcat.data`` loads pandas; ``import xcat`` does not.

Modules
-------
schema
    The canonical column names and the rule for id values.
parse
    Value parsing: exact integer ids from text, ratings, ISO/epoch timestamps,
    the missing-value markers (:data:`~xcat.data.parse.MISSING_MARKERS`).
idmap
    :class:`IdMap` (raw ids <-> row numbers) and :class:`UnknownIdWarning`.
report
    :class:`RemovalReport` and :class:`RemovalStep`.
interactions
    :class:`Interactions` (the validated table) and cleaning
    (:func:`drop_duplicates`, :func:`filter_k_core`).
messages
    How counts and examples are written in messages.
io
    One reader per source format: CSV/TSV/Parquet with a column mapping,
    Amazon reviews and metadata (2014/2018/2023), MovieLens, Taobao
    UserBehavior; the format registry and :func:`read_any`.
datasets
    One loader per folder of the shared data directory, and the dataset
    registry (:data:`~xcat.data.datasets.DATASETS`, :func:`~xcat.data.datasets.load`).
domains
    :class:`CrossDomainData` and :func:`select_domains`.
splits
    Leave-last-out, global temporal, random holdout, cross-domain cold-start
    and published splits.
stats
    Per-domain counts, user overlap and density tables.
"""

from xcat.data.datasets import (
    TestNegatives,
    data_dir,
    load_amazon2014_5core,
    load_bitgcf_test_negatives,
    load_cdrib_amazon_coldstart,
    load_dataset_folder,
    load_disencdr_amazon,
    load_douban_book_music,
    load_taobao_userbehavior_head,
    load_unisrec_scientific,
)
from xcat.data.domains import CrossDomainData, select_domains
from xcat.data.idmap import IdMap, UnknownIdWarning
from xcat.data.interactions import Interactions, drop_duplicates, filter_k_core
from xcat.data.io import (
    read_amazon_metadata,
    read_amazon_reviews,
    read_any,
    read_movielens,
    read_table,
    read_taobao_userbehavior,
)
from xcat.data.report import RemovalReport, RemovalStep
from xcat.data.splits import (
    ColdStartSplit,
    Split,
    SplitOrderWarning,
    cold_start_split,
    leave_last_out,
    published_split,
    random_split,
    temporal_split,
)
from xcat.data.stats import cross_domain_stats, domain_stats, split_stats, user_overlap

__all__ = [
    "ColdStartSplit",
    "CrossDomainData",
    "IdMap",
    "Interactions",
    "RemovalReport",
    "RemovalStep",
    "Split",
    "SplitOrderWarning",
    "TestNegatives",
    "UnknownIdWarning",
    "cold_start_split",
    "cross_domain_stats",
    "data_dir",
    "domain_stats",
    "drop_duplicates",
    "filter_k_core",
    "leave_last_out",
    "load_amazon2014_5core",
    "load_bitgcf_test_negatives",
    "load_cdrib_amazon_coldstart",
    "load_dataset_folder",
    "load_disencdr_amazon",
    "load_douban_book_music",
    "load_taobao_userbehavior_head",
    "load_unisrec_scientific",
    "published_split",
    "random_split",
    "read_amazon_metadata",
    "read_amazon_reviews",
    "read_any",
    "read_movielens",
    "read_table",
    "read_taobao_userbehavior",
    "select_domains",
    "split_stats",
    "temporal_split",
    "user_overlap",
]
