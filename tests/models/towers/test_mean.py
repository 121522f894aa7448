"""The mean-pooling user tower (the default): what it pools, its tables and defaults."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="the model tests need the train extra (torch)")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from xcat.models import TwoTowerConfig  # noqa: E402
from xcat.models.towers import IdTable, MeanPoolTower  # noqa: E402


def test_mean_pooling_of_the_history_next_to_the_user_id():
    torch.manual_seed(0)
    cfg = TwoTowerConfig(n_users=3, n_items=5, embedding_dim=4, dim=4, hidden_dims=())
    tower = MeanPoolTower(cfg).eval()
    pad = cfg.n_items
    assert torch.count_nonzero(tower.history.weight[pad]) == 0  # the padding row pools to 0
    users = torch.tensor([0, 2])
    history = torch.tensor([[1, 3, pad], [pad, pad, pad]])
    got = tower(users, history)
    e = tower.history.weight
    pooled = torch.stack([(e[1] + e[3]) / 2, torch.zeros(4)])
    expected = F.normalize(tower.mlp(torch.cat([tower.user_id(users), pooled], -1)), dim=-1)
    torch.testing.assert_close(got, expected)
    assert tower.id_tables() == {
        "user_id.weight": IdTable("user"),
        "history.weight": IdTable("item", padding=True),
    }
    assert MeanPoolTower.name == "mean" and MeanPoolTower.default_freeze == ("user_id", "mlp")


def test_without_user_ids_the_history_alone_makes_the_vector():
    torch.manual_seed(0)
    cfg = TwoTowerConfig(n_users=3, n_items=5, embedding_dim=4, dim=4, use_user_id=False)
    tower = MeanPoolTower(cfg).eval()
    assert tower.user_id is None and set(tower.id_tables()) == {"history.weight"}
    history = torch.tensor([[1, 3, 5], [1, 3, 5]])
    out = tower(torch.tensor([0, 2]), history)
    torch.testing.assert_close(out[0], out[1])  # same history, same vector, whoever the user
