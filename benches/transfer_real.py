"""Every transfer strategy on real data: Amazon 2014 5-core, source -> target.

Pretrains a two-tower model on the source category, runs every strategy on
the target category and prints target test NDCG@10 / HR@10 (full ranking
over the target catalogue, training items excluded, exact top-n with
``xcat.topn``) for all target test users and for cold-start users, with
wall times. Protocol: :mod:`xcat.transfer.protocol` (20 % of the shared
users are cold-start test users, 10 % cold-start validation users; warm
users leave-last-out). A popularity ranking (target training counts) is
printed for reference, and ``full+joint`` fine-tunes on source + target
with category-balanced sampling.

Usage::

    XCAT_DATA_DIR=/path/to/data python benches/transfer_real.py \
        [--source beauty] [--target toys] [--pretrain-epochs 5] [--epochs 10]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from xcat.data.datasets import load_amazon2014_5core
from xcat.train import TrainConfig, evaluate
from xcat.transfer import pretrain, transfer
from xcat.transfer.protocol import cold_start_protocol


class Popularity:
    """Ranks items by target training count: users ``[1, 0]``, items ``[count, 1]``.

    The cosine ``count / sqrt(count^2 + 1)`` increases with the count.
    """

    def __init__(self, counts: np.ndarray):
        self.items = np.stack([counts, np.ones_like(counts)], axis=1).astype(np.float32)

    def user_embeddings(self, users: np.ndarray) -> np.ndarray:
        return np.tile(np.array([[1.0, 0.0]], dtype=np.float32), (len(users), 1))

    def item_embeddings(self) -> np.ndarray:
        return self.items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("XCAT_DATA_DIR"))
    ap.add_argument("--source", default="beauty")
    ap.add_argument("--target", default="toys")
    ap.add_argument("--pretrain-epochs", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    if not args.data:
        raise SystemExit("pass --data or set XCAT_DATA_DIR")
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    data = load_amazon2014_5core(args.source, args.target, root=args.data)
    p = cold_start_protocol(data, test_fraction=0.2, valid_fraction=0.1, seed=args.seed)
    print(f"{data!r}\nprotocol: {p.info}\nsetup {time.perf_counter() - t0:.1f} s")
    mc = p.data.vocab.model_config(
        dim=args.dim, embedding_dim=args.dim, hidden_dims=(2 * args.dim,), max_history=20
    )
    tc = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        patience=2,
        seed=args.seed,
        device=args.device,
        progress=False,
        num_threads=args.threads,
    )
    print(f"model: {mc}\ntrain: {tc}")

    rows = []
    counts = np.bincount(
        p.data.vocab.encode(p.data.target_train).items, minlength=p.data.vocab.n_items
    )
    pop = Popularity(counts.astype(np.float32))
    rows.append(("popularity", evaluate(pop, p.test_all), evaluate(pop, p.test_cold), "-", 0.0))

    t = time.perf_counter()
    pre, pre_fit = pretrain(
        p.data, model_config=mc, train_config=tc.replace(epochs=args.pretrain_epochs)
    )
    t_pre = time.perf_counter() - t
    print(
        f"pretrain on {args.source}: {len(pre_fit.history)} epochs, {t_pre:.1f} s, "
        f"{np.mean([h['interactions_per_s'] for h in pre_fit.history]):,.0f} interactions/s"
    )

    scratch_model = None
    runs = ["scratch", "full", "freeze", "reinit", "mapping", "full+joint"]
    for name in runs:
        t = time.perf_counter()
        # full+joint: fine-tune on source + target with category-balanced sampling
        res = transfer(
            name.split("+")[0],
            p.data,
            pretrained=pre,
            model_config=mc,
            train_config=tc.replace(sampling="balanced") if name == "full+joint" else tc,
            target_model=scratch_model if name == "mapping" else None,
            joint=name == "full+joint",
        )
        secs = time.perf_counter() - t
        if name == "scratch":
            scratch_model = res.model
        epochs = f"{res.fit.best_epoch}/{len(res.fit.history)}" if res.fit is not None else "map"
        rows.append(
            (name, evaluate(res.model, p.test_all), evaluate(res.model, p.test_cold), epochs, secs)
        )
        print(f"  {name}: {secs:.1f} s; {res.spec.describe()}", flush=True)

    n_all, n_cold = rows[0][1].n_users, rows[0][2].n_users
    print(
        f"\nAmazon 5-core {args.source} -> {args.target}, target test, full ranking over "
        f"{len(p.data.target_items()):,} target items; pretrain {t_pre:.0f} s (not included below)"
    )
    print(
        "| strategy | all NDCG@10 | all HR@10 | cold NDCG@10 | cold HR@10 "
        "| best/run epochs | wall s |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, a, c, ep, secs in rows:
        print(
            f"| {name} | {a.ndcg:.4f} | {a.hr:.4f} | {c.ndcg:.4f} | {c.hr:.4f} "
            f"| {ep} | {secs:.0f} |"
        )
    print(
        f"(all = {n_all:,} target test users, cold = {n_cold:,} cold-start users; "
        f"total {time.perf_counter() - t0:.0f} s)"
    )


if __name__ == "__main__":
    main()
