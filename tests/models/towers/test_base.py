"""The user-tower protocol: a second tower, chosen by the config, trains, saves, loads, grows."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch", reason="the model tests need the train extra (torch)")
pytest.importorskip("safetensors")
pytest.importorskip("tqdm")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import xcat.models.towers as towers  # noqa: E402
from models_synthetic import make_cross_domain  # noqa: E402
from torch import nn  # noqa: E402
from xcat.models import Vocab, load, save  # noqa: E402
from xcat.models.towers import (  # noqa: E402
    TOWERS,
    IdTable,
    MeanPoolTower,
    UserEncoder,
    get_tower,
    register_tower,
    tower_names,
)
from xcat.train import TrainConfig, update  # noqa: E402
from xcat.transfer import TransferData, pretrain, transfer  # noqa: E402

torch.set_num_threads(1)

TC = TrainConfig(epochs=2, batch_size=64, progress=False, device="cpu", num_threads=1)


@register_tower
class SumTower(UserEncoder):
    """A trivial second tower: the sum of the history item rows, one linear layer."""

    name = "test_sum"
    default_freeze = ("proj",)

    def __init__(self, config):
        super().__init__(config)
        self.items = nn.EmbeddingBag(
            config.n_items + 1, config.dim, mode="sum", padding_idx=config.n_items
        )
        self.proj = nn.Linear(config.dim, config.dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.items.weight, std=0.05)
        with torch.no_grad():
            self.items.weight[-1].zero_()
        self.proj.reset_parameters()

    def id_tables(self) -> dict[str, IdTable]:
        return {"items.weight": IdTable("item", padding=True)}

    def forward(self, users: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.proj(self.items(history)), dim=-1)


@pytest.fixture(scope="module")
def data():
    d, _, _ = make_cross_domain(n_users=120, seed=4)
    vocab = Vocab.from_interactions(d.source, d.target)
    return TransferData(vocab, d.source, d.target)


def test_a_registered_tower_is_chosen_by_the_config_and_transfers(data, tmp_path):
    mc = data.vocab.model_config(dim=8, embedding_dim=8, user_tower="test_sum")
    pre, fit = pretrain(data, model_config=mc, train_config=TC)
    assert isinstance(pre.user_tower, SumTower) and fit.steps > 0
    assert [k for k in pre.state_dict() if k.startswith("user_tower.")] == [
        "user_tower.items.weight",
        "user_tower.proj.weight",
        "user_tower.proj.bias",
    ]
    losses = [h["loss"] for h in fit.history]
    assert np.isfinite(losses).all()
    # the freeze strategy asks the tower what to keep fixed
    res = transfer("freeze", data, pretrained=pre, train_config=TC)
    assert res.frozen == ["user_tower.proj.weight", "user_tower.proj.bias"]
    assert res.spec.freeze == ("user_tower.proj",)
    model = res.model
    assert torch.equal(model.user_tower.proj.weight, pre.user_tower.proj.weight)
    # saved with its tower's name, loaded into the same tower, identical vectors
    d = save(model, tmp_path / "m")
    assert json.loads((d / "config.json").read_text())["config"]["user_tower"] == "test_sum"
    back = load(d)
    assert isinstance(back.user_tower, SumTower) and back.config == model.config
    np.testing.assert_array_equal(back.user_embeddings(), model.user_embeddings())
    np.testing.assert_array_equal(back.item_embeddings(), model.item_embeddings())


def test_a_second_tower_grows_through_its_id_tables(data):
    mc = data.vocab.model_config(dim=8, embedding_dim=8, user_tower="test_sum")
    model, _ = pretrain(data, model_config=mc, train_config=TC)
    n_i = model.config.n_items
    old = model.user_tower.items.weight.detach().clone()
    tgt = model.vocab.domain_items(["tgt"])
    events = pd.DataFrame({"user": ["brand-new"], "item": ["t-new"], "category": ["tgt"]})
    rep = update(model, events, steps=2, train_config=TC.replace(batch_size=16))
    assert (rep.new_users, rep.new_items, rep.steps) == (1, 1, 2)
    assert isinstance(model.user_tower, SumTower)
    w = model.user_tower.items.weight.detach()
    assert w.shape == (n_i + 2, old.shape[1])
    assert torch.count_nonzero(w[-1]) == 0  # the padding row moved to the end
    fresh, _ = pretrain(data, model_config=mc, train_config=TC)
    grown = update(fresh, events, steps=0)
    assert grown.new_items == 1
    np.testing.assert_allclose(
        fresh.user_tower.items.weight[n_i].detach().numpy(), old[tgt].mean(0).numpy(), rtol=1e-6
    )
    assert np.isfinite(model.user_embeddings()).all()


def test_registry_lookup_and_errors(monkeypatch):
    assert get_tower("mean") is MeanPoolTower and TOWERS["test_sum"] is SumTower
    assert {"mean", "test_sum"} <= set(tower_names())
    with pytest.raises(ValueError, match=r"unknown tower 'nope'; expected one of \[.*'mean'"):
        get_tower("nope")
    with pytest.raises(ValueError, match="no name"):
        register_tower(type("Nameless", (UserEncoder,), {}))
    with pytest.raises(ValueError, match="already"):
        register_tower(type("Other", (UserEncoder,), {"name": "mean"}))
    with pytest.raises(ValueError, match="UserEncoder subclass"):
        register_tower(nn.Linear)  # type: ignore[arg-type]
    # a tower shipped as xcat/models/towers/<name>.py is found by its name alone
    monkeypatch.setattr(towers, "mean", towers.mean)
    monkeypatch.delitem(TOWERS, "mean")
    monkeypatch.delitem(sys.modules, "xcat.models.towers.mean")
    found = get_tower("mean")
    assert found.name == "mean" and found.__module__ == "xcat.models.towers.mean"
