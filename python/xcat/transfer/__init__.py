"""Source -> target transfer of two-tower models: strategies, weight moves, EMCDR.

Strategies are declared once, in :data:`STRATEGIES` (names in
:data:`STRATEGY_NAMES`): ``scratch`` (baseline), ``full``, ``freeze``,
``reinit`` and ``mapping`` (EMCDR, Man et al. IJCAI 2017).

Names are imported on first use (PEP 562): ``from xcat.transfer import
STRATEGY_NAMES`` (and anything of :mod:`xcat.transfer.strategies`) imports no
PyTorch; the training functions, the weight moves' defaults and the EMCDR
types do.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xcat.models.mapped import EmcdrMapper, MappedModel
    from xcat.transfer.mapping import fit_mapper
    from xcat.transfer.run import (
        TransferData,
        TransferJob,
        TransferResult,
        pretrain,
        run_fine_tune,
        run_mapping,
        run_scratch,
        transfer,
    )
    from xcat.transfer.strategies import (
        DEFAULT_FREEZE,
        DEFAULT_REINIT,
        STRATEGIES,
        STRATEGY_NAMES,
        Phase,
        Strategy,
        StrategyDef,
        StrategySpec,
        as_strategy,
        frozen_parameters,
        plan,
    )
    from xcat.transfer.weights import copy_weights, match_names, reinit_weights

#: Where each public name lives.
_HOMES = {
    "EmcdrMapper": "xcat.models.mapped",
    "MappedModel": "xcat.models.mapped",
    "fit_mapper": "xcat.transfer.mapping",
    **dict.fromkeys(
        [
            "TransferData",
            "TransferJob",
            "TransferResult",
            "pretrain",
            "run_fine_tune",
            "run_mapping",
            "run_scratch",
            "transfer",
        ],
        "xcat.transfer.run",
    ),
    **dict.fromkeys(
        [
            "DEFAULT_FREEZE",
            "DEFAULT_REINIT",
            "STRATEGIES",
            "STRATEGY_NAMES",
            "Phase",
            "Strategy",
            "StrategyDef",
            "StrategySpec",
            "as_strategy",
            "frozen_parameters",
            "plan",
        ],
        "xcat.transfer.strategies",
    ),
    **dict.fromkeys(["copy_weights", "match_names", "reinit_weights"], "xcat.transfer.weights"),
}

__all__ = [
    "DEFAULT_FREEZE",
    "DEFAULT_REINIT",
    "STRATEGIES",
    "STRATEGY_NAMES",
    "EmcdrMapper",
    "MappedModel",
    "Phase",
    "Strategy",
    "StrategyDef",
    "StrategySpec",
    "TransferData",
    "TransferJob",
    "TransferResult",
    "as_strategy",
    "copy_weights",
    "fit_mapper",
    "frozen_parameters",
    "match_names",
    "plan",
    "pretrain",
    "reinit_weights",
    "run_fine_tune",
    "run_mapping",
    "run_scratch",
    "transfer",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
