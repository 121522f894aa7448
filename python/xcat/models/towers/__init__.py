"""User towers of the two-tower model: the encoder protocol, the registry, the towers.

``TwoTowerConfig.user_tower`` names the tower (default ``"mean"``,
:class:`MeanPoolTower`; the sequence towers ``"sasrec"`` and ``"gru"`` are
imported on first use). A new tower is one new module here (see
:mod:`xcat.models.towers.base`).
"""

from xcat.models.towers.base import (
    TOWERS,
    IdTable,
    SequenceTower,
    UserEncoder,
    get_tower,
    register_tower,
    tower_names,
)
from xcat.models.towers.mean import MeanPoolTower

__all__ = [
    "TOWERS",
    "IdTable",
    "MeanPoolTower",
    "SequenceTower",
    "UserEncoder",
    "get_tower",
    "register_tower",
    "tower_names",
]
