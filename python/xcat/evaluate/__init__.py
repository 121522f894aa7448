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

__all__ = [
    "METRIC_NAMES",
    "RankingMetrics",
    "evaluate_groups",
    "hit_matrix",
    "popularity_topn",
    "ranking_metrics",
]
