"""Full-ranking evaluation: top-N metrics, user groups and the popularity baseline.

Lower layer than models and training: everything here takes NumPy arrays
(recommended item rows, held-out relevant items), never a model.
"""

from xcat.evaluate.metrics import (
    METRIC_NAMES,
    RankingMetrics,
    evaluate_groups,
    hit_matrix,
    ranking_metrics,
)
from xcat.evaluate.popularity import popularity_topn
from xcat.evaluate.report import comparison_table, results_to_json, write_report
from xcat.evaluate.sampled import SampledMetrics, sample_negatives, sampled_metrics

__all__ = [
    "METRIC_NAMES",
    "RankingMetrics",
    "SampledMetrics",
    "comparison_table",
    "evaluate_groups",
    "hit_matrix",
    "popularity_topn",
    "ranking_metrics",
    "results_to_json",
    "sample_negatives",
    "sampled_metrics",
    "write_report",
]
