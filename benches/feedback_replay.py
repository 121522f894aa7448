"""Replay of the feedback loop on real sequences: does ``xcat.train.update`` help?

The Amazon 2014 5-core files keep each user's items in time order. Per user
and category: the first items are training data, the next ``--events``
items arrive later as feedback events (source and target), and the last
target item is the test item. A model is pretrained on the source, transferred
to the target (``--strategy``), then

* ``not updated``: scored as trained;
* ``history only``: :func:`xcat.train.update` with ``steps=0``
  (new ids and histories, no training);
* ``updated``: :func:`xcat.train.update` with ``--steps`` steps.

Each ranks the full target catalogue it knows, excluding the user's
training and event items (:func:`xcat.evaluate.ranking.heldout_metrics`);
a test item a model has never seen counts as a miss.

Usage::

    python benches/feedback_replay.py [--data-dir ../shared/data] [--source beauty]
        [--target toys] [--events 2] [--steps 200] [--sample-users N] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import pandas as pd
import torch
from xcat.data.datasets import load_amazon2014_5core
from xcat.data.domains import CrossDomainData, sample_users
from xcat.data.interactions import Interactions
from xcat.data.splits import leave_last_out
from xcat.evaluate.ranking import heldout_metrics
from xcat.models import Vocab
from xcat.train import TrainConfig
from xcat.train.update import update
from xcat.transfer import TransferData, pretrain, transfer

COLUMNS = ["user", "item", "category"]


def replay_split(
    data: CrossDomainData, n_events: int
) -> tuple[Interactions, Interactions, pd.DataFrame, pd.DataFrame]:
    """Return (source train, target train, events, target test) by sequence position."""
    src = leave_last_out(data.source, n_test=n_events, order="row")
    tgt = leave_last_out(data.target, n_test=1, n_valid=n_events, order="row")
    assert tgt.valid is not None
    events = pd.concat([src.test.data[COLUMNS], tgt.valid.data[COLUMNS]], ignore_index=True)
    return src.train, tgt.train, events, tgt.test.data[COLUMNS]


def replay_experiment(
    data: CrossDomainData,
    *,
    n_events: int = 2,
    steps: int = 200,
    strategy: str = "freeze",
    dim: int = 32,
    pretrain_epochs: int = 5,
    epochs: int = 5,
    seed: int = 0,
    k: int = 10,
) -> dict[str, Any]:
    """Train on the first part of the sequences, update with the next items, compare.

    Returns
    -------
    dict
        ``metrics``: NDCG@k / HR@k per variant; ``report``: the update report
        of the ``updated`` variant; ``counts``; ``seconds``.
    """
    src_train, tgt_train, events, test = replay_split(data, n_events)
    vocab = Vocab.from_interactions(src_train, tgt_train)
    tdata = TransferData(vocab, src_train, tgt_train)
    tc = TrainConfig(epochs=epochs, batch_size=512, lr=5e-3, seed=seed, progress=False)
    mc = vocab.model_config(dim=dim, embedding_dim=dim, hidden_dims=(2 * dim,), max_history=20)
    t0 = time.perf_counter()
    pre, _ = pretrain(tdata, model_config=mc, train_config=tc.replace(epochs=pretrain_epochs))
    model = transfer(strategy, tdata, pretrained=pre, train_config=tc).model
    t_train = time.perf_counter() - t0
    variants: dict[str, Any] = {"not updated": model}
    history_only = model.clone()
    update(history_only, events, steps=0)
    variants["history only"] = history_only
    updated = model.clone()
    t0 = time.perf_counter()
    report = update(
        updated,
        events,
        steps=steps,
        train_config=TrainConfig(lr=1e-3, batch_size=256, seed=seed, progress=False),
    )
    t_update = time.perf_counter() - t0
    variants["updated"] = updated
    metrics = {name: heldout_metrics(m, test, k=k, exclude=events) for name, m in variants.items()}
    return {
        "metrics": metrics,
        "report": report,
        "counts": {
            "source_train": len(src_train),
            "target_train": len(tgt_train),
            "events": len(events),
            "test_users": len(test),
        },
        "seconds": {"train": round(t_train, 1), "update": round(t_update, 1)},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--source", default="beauty")
    ap.add_argument("--target", default="toys")
    ap.add_argument("--events", type=int, default=2, help="Items per user fed back as events.")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--strategy", default="freeze")
    ap.add_argument("--sample-users", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_amazon2014_5core(args.source, args.target, root=args.data_dir)
    if args.sample_users:
        data = sample_users(data, args.sample_users, seed=args.seed)
    t0 = time.perf_counter()
    out = replay_experiment(
        data, n_events=args.events, steps=args.steps, strategy=args.strategy, seed=args.seed
    )
    print(f"{data!r}\ncounts: {out['counts']}\n{out['report']}\n")
    rows = [{"model": name} | m for name, m in out["metrics"].items()]
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"\ntime: {out['seconds']} (total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
