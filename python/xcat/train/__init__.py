"""Training of two-tower models: config, loop with early stopping, ranking metrics.

Importing :mod:`xcat.train` imports PyTorch.
"""

from xcat.train.config import SAMPLING, TrainConfig
from xcat.train.evaluation import RankingResult, ranking_metrics
from xcat.train.loop import FitResult, ValidationSet, clone_model, evaluate, fit, resolve_device

__all__ = [
    "SAMPLING",
    "FitResult",
    "RankingResult",
    "TrainConfig",
    "ValidationSet",
    "clone_model",
    "evaluate",
    "fit",
    "ranking_metrics",
    "resolve_device",
]
