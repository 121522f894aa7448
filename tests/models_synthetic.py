"""Small synthetic cross-domain data with a planted structure, for the model tests.

Users belong to one of ``k`` taste clusters; each domain has ``k`` item
clusters and users interact with items of their own cluster in both
domains. A model that transfers the source history can place a cold-start
user (no target rows) near the target items of the right cluster.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from xcat.data.domains import CrossDomainData
from xcat.data.interactions import Interactions


def make_cross_domain(
    n_users: int = 300,
    items_per_cluster: int = 12,
    k: int = 4,
    per_user: int = 6,
    cold_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[CrossDomainData, np.ndarray, Interactions]:
    """(data, cold_users, cold_target): cold users have source rows only in ``data``;
    their held-out target rows (same planted clusters) are ``cold_target``."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, k, n_users)
    cold = rng.random(n_users) < cold_fraction
    rows = []
    for dom, prefix in (("src", "s"), ("tgt", "t")):
        for u in range(n_users):
            items = (
                rng.choice(items_per_cluster, per_user, replace=False)
                + cluster[u] * items_per_cluster
            )
            for i in items:
                rows.append((f"u{u}", f"{prefix}{i}", dom, bool(dom == "tgt" and cold[u])))
    full = pd.DataFrame(rows, columns=["user", "item", "category", "held"])
    df = full[~full["held"]].drop(columns="held").reset_index(drop=True)
    held = full[full["held"]].drop(columns="held").reset_index(drop=True)
    item_ids = pd.unique(df["item"])
    attrs = pd.DataFrame(
        {
            "attributes": [
                [f"c{int(i[1:]) // items_per_cluster}", f"x{int(i[1:]) % 3}"] for i in item_ids
            ],
            "price": rng.random(len(item_ids)) * 100,
        },
        index=pd.Index(item_ids, name="item"),
    )
    inter = Interactions(df, items=attrs)
    src = inter.select(["src"], role="source")
    tgt = inter.select(["tgt"], role="target")
    cold_ids = np.array([f"u{u}" for u in np.flatnonzero(cold)], dtype=object)
    return CrossDomainData(src, tgt, name="synthetic"), cold_ids, Interactions(held)


def train_freeze_with_timestamps():
    """(model, data): a ``freeze`` model on the planted-cluster data, timestamps on the target.

    Shared by the feedback-loop tests (library, CLI, held-out metrics); the
    caller's module-scoped fixture trains it once per module.
    """
    import torch
    from xcat.models import Vocab
    from xcat.train import TrainConfig
    from xcat.transfer import TransferData, pretrain, transfer

    tc = TrainConfig(epochs=3, batch_size=128, lr=5e-3, progress=False, device="cpu", num_threads=1)
    torch.set_num_threads(1)
    data, _, _ = make_cross_domain(n_users=200, seed=3)
    tgt = data.target.data.assign(
        timestamp=pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(len(data.target)), "min")
    )
    target = Interactions(tgt, items=data.target.items)
    vocab = Vocab.from_interactions(data.source, target)
    tdata = TransferData(vocab, data.source, target)
    pre, _ = pretrain(tdata, model_config=vocab.model_config(dim=16), train_config=tc)
    res = transfer("freeze", tdata, pretrained=pre, train_config=tc)
    return res.model, data


def write_feedback_events(tmp_path):
    """(path, rows): an events CSV for the library and CLI feedback tests.

    60 known users with 3 events each, a newcomer, an event before the training
    cut-off and a malformed line; ``rows`` are the well-formed rows.
    """
    rng = np.random.default_rng(0)
    users = [f"u{i}" for i in range(60)]
    rows = [
        (u, f"t{rng.integers(0, 48)}", "tgt", f"2025-02-01T{h:02d}:00:00Z")
        for u in users
        for h in range(3)
    ]
    rows += [("newcomer", "t-brand-new", "tgt", "2025-02-02T00:00:00Z")]
    rows += [("u1", "t2", "tgt", "1999-01-01T00:00:00Z")]  # before the cut-off
    path = tmp_path / "events.csv"
    pd.DataFrame(rows, columns=["user", "item", "category", "timestamp"]).to_csv(path, index=False)
    with open(path, "a") as f:
        f.write("u2,t3,tgt,2025-02-03T00:00:00Z,extra-field\n")  # a malformed line
    return path, rows
