"""Full-ranking evaluation: top-N metrics, user groups, the popularity baseline, ranking sets.

Lower layer than models and training: everything here takes NumPy arrays
(recommended item rows, held-out relevant items, embeddings) or a
duck-typed model (``user_embeddings`` / ``item_embeddings``), and never
imports :mod:`xcat.models`, :mod:`xcat.train` or PyTorch.
"""

from xcat.evaluate.bootstrap import (
    BaselineComparison,
    BootstrapCI,
    compare_to_best_baseline,
    paired_bootstrap,
)
from xcat.evaluate.metrics import (
    METRIC_NAMES,
    RankingMetrics,
    check_unique_items,
    evaluate_groups,
    hit_matrix,
    ranking_metrics,
)
from xcat.evaluate.popularity import item_popularity, popularity_order, popularity_topn
from xcat.evaluate.ranking import (
    RankingResult,
    TestEvaluator,
    ValidationSet,
    embedding_metrics,
    heldout_metrics,
    model_metrics,
    rank_embeddings,
)
from xcat.evaluate.report import (
    comparison_table,
    difference_column,
    results_to_json,
    write_report,
)
from xcat.evaluate.sampled import SampledMetrics, sample_negatives, sampled_metrics

__all__ = [
    "METRIC_NAMES",
    "BaselineComparison",
    "BootstrapCI",
    "RankingMetrics",
    "RankingResult",
    "SampledMetrics",
    "TestEvaluator",
    "ValidationSet",
    "check_unique_items",
    "compare_to_best_baseline",
    "comparison_table",
    "difference_column",
    "embedding_metrics",
    "evaluate_groups",
    "heldout_metrics",
    "hit_matrix",
    "item_popularity",
    "model_metrics",
    "paired_bootstrap",
    "popularity_order",
    "popularity_topn",
    "rank_embeddings",
    "ranking_metrics",
    "results_to_json",
    "sample_negatives",
    "sampled_metrics",
    "write_report",
]
