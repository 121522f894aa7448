"""Pieces of the end-to-end experiment that the CLI shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
from xcat.data.domains import CrossDomainData
from xcat.data.interactions import Interactions
from xcat.data.synthetic import make_cross_category
from xcat.transfer.protocol import cold_start_protocol
from xcat.workflow.experiment import build_recommender


class RandomModel:
    def __init__(self, vocab):
        rng = np.random.default_rng(0)
        self.users = rng.standard_normal((vocab.n_users, 4)).astype(np.float32)
        self.items = rng.standard_normal((vocab.n_items, 4)).astype(np.float32)

    def user_embeddings(self, users=None):
        return self.users if users is None else self.users[users]

    def item_embeddings(self, items=None):
        return self.items if items is None else self.items[items]


def test_recommender_for_an_item_listed_in_both_categories():
    # Like one ASIN in Amazon Sports and Toys: same id, different item-table rows.
    data = make_cross_category(n_users=300, n_source_items=60, n_target_items=40, seed=1)
    shared = data.source.data["item"].iloc[0]
    target = data.target.data.copy()
    old = target["item"].iloc[0]
    target.loc[target["item"] == old, "item"] = shared
    items = data.target.items.rename(index={old: shared})
    items.loc[shared, "brand"] = "another-brand"
    data = CrossDomainData(data.source, Interactions(target, items=items), name="shared-item")
    protocol = cold_start_protocol(data, order="timestamp", seed=0)
    vocab = protocol.data.vocab
    rec = build_recommender(RandomModel(vocab), protocol.data)
    user = vocab.users.decode([0])[0]
    out = rec.recommend([user], n=5, category="clothing")
    assert len(out) == 5 and out["item"].str.startswith("clothing:").all()
    assert pd.Series(vocab.items.ids).str.endswith(f":{shared}").sum() == 2


def test_a_sequence_tower_experiment_trains_with_full_softmax_and_reports_it():
    import pytest

    pytest.importorskip("torch", reason="training needs the train extra (torch)")
    from xcat.workflow.experiment import ExperimentConfig, run_experiment

    with pytest.raises(ValueError, match="user_tower: expected one of"):
        ExperimentConfig(user_tower="lstm")
    cfg = ExperimentConfig(
        user_tower="sasrec",
        strategies=("joint",),
        baselines=("popularity",),
        epochs=1,
        pretrain_epochs=1,
        dim=8,
        threads=1,
    )
    tc = cfg.train_config()
    assert (tc.loss, tc.ce_scope, tc.sparse, tc.cold_views) == ("ce", "domain", False, 0.0)
    data = make_cross_category(n_users=200, n_source_items=40, n_target_items=30, seed=2)
    result = run_experiment(data, cfg, echo=lambda _line: None)
    model = result.models["joint"]
    assert model.config.user_tower == "sasrec" and model.config.n_domains == 2
    # its user vectors are asked for the target category
    target = list(map(str, model.vocab.domains)).index(str(data.target.categories[0]))
    assert model.user_tower.query_domain.item() == target
    assert {"popularity", "scratch", "joint"} <= set(result.results)
    assert 0.0 <= result.results["joint"]["all"].values["NDCG@10"] <= 1.0


def test_cold_views_and_dropout_reach_the_models_and_are_checked():
    import pytest

    pytest.importorskip("torch", reason="the model configs need the train extra (torch)")
    from xcat.models import Vocab
    from xcat.workflow.experiment import ExperimentConfig

    data = make_cross_category(n_users=60, n_source_items=20, n_target_items=15, seed=1)
    vocab = Vocab.from_interactions(data.source, data.target)
    cfg = ExperimentConfig(user_tower="gru", cold_views=0.5, dropout=0.4)
    assert cfg.train_config().cold_views == 0.5
    assert cfg.model_config(vocab).dropout == 0.4
    assert ExperimentConfig(user_tower="sasrec").model_config(vocab).dropout == 0.2
    assert ExperimentConfig(dropout=0.3).model_config(vocab).dropout == 0.3
    assert ExperimentConfig().model_config(vocab).dropout == 0.0  # the model's default
    with pytest.raises(ValueError, match="cold_views: only the sequence towers"):
        ExperimentConfig(cold_views=1.0)
    with pytest.raises(ValueError, match=r"dropout: expected a rate in \[0, 1\)"):
        ExperimentConfig(user_tower="sasrec", dropout=1.0)
