"""User towers of the two-tower model: the encoder protocol, the registry, the towers.

``TwoTowerConfig.user_tower`` names the tower (default ``"mean"``,
:class:`MeanPoolTower`). A new tower is one new module here (see
:mod:`xcat.models.towers.base`).
"""

from xcat.models.towers.base import (
    TOWERS,
    IdTable,
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
    "UserEncoder",
    "get_tower",
    "register_tower",
    "tower_names",
]
