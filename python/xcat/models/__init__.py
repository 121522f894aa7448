"""Two-tower retrieval model, its losses, vocabularies and checkpoints.

Importing :mod:`xcat.models` imports PyTorch; ``import xcat`` does not.
"""

from xcat.models.config import TwoTowerConfig
from xcat.models.io import load, save
from xcat.models.losses import LOSSES, bpr_loss, get_loss, mse_loss, sampled_softmax_loss
from xcat.models.two_tower import ItemTower, TwoTower, UserTower
from xcat.models.vocab import EncodedInteractions, Vocab

__all__ = [
    "LOSSES",
    "EncodedInteractions",
    "ItemTower",
    "TwoTower",
    "TwoTowerConfig",
    "UserTower",
    "Vocab",
    "bpr_loss",
    "get_loss",
    "load",
    "mse_loss",
    "sampled_softmax_loss",
    "save",
]
