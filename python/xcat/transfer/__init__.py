"""Source -> target transfer of two-tower models: strategies, weight moves, EMCDR.

Strategies (:class:`Strategy`): ``full``, ``freeze``, ``reinit``,
``scratch`` (baseline) and ``mapping`` (EMCDR, Man et al. IJCAI 2017).
Importing :mod:`xcat.transfer` imports PyTorch.
"""

from xcat.transfer.mapping import EmcdrMapper, MappedModel, fit_mapper
from xcat.transfer.run import TransferData, TransferResult, pretrain, transfer
from xcat.transfer.strategies import (
    DEFAULT_FREEZE,
    DEFAULT_REINIT,
    Phase,
    Strategy,
    StrategySpec,
    frozen_parameters,
    plan,
)
from xcat.transfer.weights import copy_weights, match_names, reinit_weights

__all__ = [
    "DEFAULT_FREEZE",
    "DEFAULT_REINIT",
    "EmcdrMapper",
    "MappedModel",
    "Phase",
    "Strategy",
    "StrategySpec",
    "TransferData",
    "TransferResult",
    "copy_weights",
    "fit_mapper",
    "frozen_parameters",
    "match_names",
    "plan",
    "pretrain",
    "reinit_weights",
    "transfer",
]
