"""TwoTowerConfig: validation, JSON round trip, the user tower field."""

from __future__ import annotations

import pytest
from xcat.models.config import DEFAULT_USER_TOWER, TwoTowerConfig


def test_config_round_trip_and_errors():
    cfg = TwoTowerConfig(
        n_users=3, n_items=5, n_features=2, max_item_features=1, hidden_dims=[8, 4]
    )
    assert cfg.hidden_dims == (8, 4)
    assert TwoTowerConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="n_users"):
        TwoTowerConfig(n_users=0, n_items=5)
    with pytest.raises(ValueError, match="dropout"):
        TwoTowerConfig(n_users=1, n_items=5, dropout=1.0)
    with pytest.raises(ValueError, match="max_item_features"):
        TwoTowerConfig(n_users=1, n_items=5, n_features=3)
    with pytest.raises(ValueError, match="unknown fields"):
        TwoTowerConfig.from_dict({**cfg.to_dict(), "bogus": 1})


def test_user_tower_field_defaults_and_is_saved_only_when_not_the_default():
    cfg = TwoTowerConfig(n_users=3, n_items=5)
    assert cfg.user_tower == DEFAULT_USER_TOWER == "mean"
    # a default config is written as before the field existed (older xcat reads it) ...
    assert "user_tower" not in cfg.to_dict()
    # ... and a config saved before the field existed reads back with the default tower
    old = {k: v for k, v in cfg.to_dict().items() if k != "user_tower"}
    assert TwoTowerConfig.from_dict(old).user_tower == "mean"
    other = cfg.replace(user_tower="gru")
    assert other.to_dict()["user_tower"] == "gru"
    assert TwoTowerConfig.from_dict(other.to_dict()) == other
    with pytest.raises(ValueError, match="user_tower"):
        TwoTowerConfig(n_users=3, n_items=5, user_tower="")
