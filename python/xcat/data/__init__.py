"""Interaction data: loading, validation, source/target domains and evaluation splits.

``import xcat.data`` loads pandas; ``import xcat`` does not.

Modules
-------
interactions
    :class:`Interactions` (the validated table), :class:`IdMap`,
    :class:`RemovalReport`, cleaning (:func:`drop_duplicates`,
    :func:`filter_k_core`).
readers
    CSV/TSV/Parquet with a column mapping, Amazon reviews and metadata
    (2014/2018/2023), MovieLens, Taobao UserBehavior.
datasets
    One loader per folder of the shared data directory.
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
from xcat.data.interactions import (
    IdMap,
    Interactions,
    RemovalReport,
    RemovalStep,
    UnknownIdWarning,
    drop_duplicates,
    filter_k_core,
)
from xcat.data.readers import (
    read_amazon_metadata,
    read_amazon_reviews,
    read_movielens,
    read_table,
    read_taobao_userbehavior,
)
from xcat.data.splits import (
    ColdStartSplit,
    Split,
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
    "read_movielens",
    "read_table",
    "read_taobao_userbehavior",
    "select_domains",
    "split_stats",
    "temporal_split",
    "user_overlap",
]
