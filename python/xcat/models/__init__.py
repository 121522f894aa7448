"""Two-tower retrieval model, its user towers, losses, vocabularies and checkpoints.

Importing :mod:`xcat.models` imports PyTorch; ``import xcat`` does not.
"""

from xcat.models.config import DEFAULT_USER_TOWER, TwoTowerConfig
from xcat.models.io import load, save
from xcat.models.linear import EASE, ItemKNN
from xcat.models.losses import (
    LOSSES,
    bpr_loss,
    full_softmax_loss,
    get_loss,
    mse_loss,
    sampled_softmax_loss,
)
from xcat.models.mapped import EmcdrMapper, MappedModel
from xcat.models.remapping import Remapped, RowCounts, remap
from xcat.models.towers import (
    TOWERS,
    IdTable,
    MeanPoolTower,
    UserEncoder,
    get_tower,
    register_tower,
)
from xcat.models.two_tower import ItemTower, TwoTower, UserTower
from xcat.models.vocab import EncodedInteractions, Vocab

__all__ = [
    "EASE",
    "ItemKNN",
    "DEFAULT_USER_TOWER",
    "LOSSES",
    "TOWERS",
    "EmcdrMapper",
    "EncodedInteractions",
    "IdTable",
    "ItemTower",
    "MappedModel",
    "MeanPoolTower",
    "Remapped",
    "RowCounts",
    "TwoTower",
    "TwoTowerConfig",
    "UserEncoder",
    "UserTower",
    "Vocab",
    "bpr_loss",
    "get_loss",
    "get_tower",
    "load",
    "mse_loss",
    "register_tower",
    "remap",
    "full_softmax_loss",
    "sampled_softmax_loss",
    "save",
]
