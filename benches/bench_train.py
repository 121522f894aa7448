"""Training throughput of the two-tower model (interactions per second).

Trains for a fixed number of batches on real data (Amazon 2014 5-core,
source + target categories, when ``$XCAT_DATA_DIR`` or ``--data`` points to
it) or on synthetic power-law data, on CPU and, when available, on CUDA
(bf16 autocast). Prints one line per device and loss.

Usage::

    python benches/bench_train.py [--data DIR] [--steps 50] [--batch-size 1024]
        [--threads 2] [--losses softmax,bpr] [--devices cpu,cuda] [--repeat 3] [--dense]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from xcat.models import EncodedInteractions, TwoTower, TwoTowerConfig, Vocab
from xcat.train import TrainConfig, fit


def synthetic(
    n_users: int, n_items: int, n_rows: int, seed: int = 0
) -> tuple[TwoTowerConfig, EncodedInteractions, np.ndarray]:
    rng = np.random.default_rng(seed)
    items = np.minimum(rng.zipf(1.3, n_rows) - 1, n_items - 1).astype(np.int64)
    users = rng.integers(0, n_users, n_rows).astype(np.int64)
    cfg = TwoTowerConfig(n_users=n_users, n_items=n_items)
    hist = np.full((n_users, cfg.max_history), -1, np.int64)
    order = np.argsort(users, kind="stable")
    for u, i in zip(users[order], items[order], strict=True):
        row = hist[u]
        free = np.flatnonzero(row < 0)
        if len(free):
            row[free[0]] = i
    return cfg, EncodedInteractions(users, items, np.zeros(n_rows, np.int64)), hist


def real(data_dir: str) -> tuple[TwoTowerConfig, EncodedInteractions, np.ndarray, Vocab]:
    from xcat.data.datasets import load_amazon2014_5core

    d = load_amazon2014_5core("beauty", "toys", root=data_dir)
    vocab = Vocab.from_interactions(d.source, d.target)
    cfg = vocab.model_config()
    enc = vocab.encode(d.source)
    t = vocab.encode(d.target)
    enc = EncodedInteractions(
        np.concatenate([enc.users, t.users]),
        np.concatenate([enc.items, t.items]),
        np.concatenate([enc.domains, t.domains]),
    )
    return cfg, enc, vocab.histories(d.source, d.target, max_len=cfg.max_history), vocab


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("XCAT_DATA_DIR"))
    ap.add_argument("--steps", type=int, default=50, help="batches timed per run")
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--losses", default="softmax,bpr")
    ap.add_argument("--devices", default="cpu,cuda")
    ap.add_argument("--dense", action="store_true", help="dense Adam on embeddings (sparse=False)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs; best and median shown")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    vocab = None
    if args.data and os.path.isdir(os.path.join(args.data, "amazon2014_5core_beauty_sports_toys")):
        cfg, enc, hist, vocab = real(args.data)
        what = "Amazon 5-core Beauty+Toys"
    else:
        cfg, enc, hist = synthetic(20_000, 20_000, 200_000)
        what = "synthetic (20k users, 20k items)"
    n = min(len(enc), args.steps * args.batch_size)
    sub = EncodedInteractions(enc.users[:n], enc.items[:n], enc.domains[:n])
    print(
        f"data: {what}; {n:,} interactions per run; dim={cfg.dim}, "
        f"embedding_dim={cfg.embedding_dim}, "
        f"hidden={cfg.hidden_dims}, max_history={cfg.max_history}, n_features={cfg.n_features}; "
        f"torch {torch.__version__}, {args.threads} CPU threads"
    )
    devices = [d for d in args.devices.split(",") if d == "cpu" or torch.cuda.is_available()]
    for device in devices:
        for loss in args.losses.split(","):
            torch.manual_seed(0)
            model = TwoTower(cfg, vocab)
            model.set_history(hist)
            tc = TrainConfig(
                loss=loss,
                sparse=not args.dense,
                epochs=1,
                batch_size=args.batch_size,
                device=device,
                progress=False,
            )
            fit(
                model,
                EncodedInteractions(
                    sub.users[: args.batch_size * 2],
                    sub.items[: args.batch_size * 2],
                    sub.domains[: args.batch_size * 2],
                ),
                config=tc,
            )  # warm-up
            times = []
            for _ in range(args.repeat):
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                fit(model, sub, config=tc)
                if device.startswith("cuda"):
                    torch.cuda.synchronize()
                times.append(time.perf_counter() - t0)
            best, median = min(times), float(np.median(times))
            extra = " (bf16 autocast)" if device.startswith("cuda") else ""
            print(
                f"{device:5s} {loss:8s} batch {args.batch_size}: best {n / best:10,.0f} "
                f"interactions/s, median {n / median:10,.0f} ({args.repeat} runs){extra}"
            )


if __name__ == "__main__":
    main()
