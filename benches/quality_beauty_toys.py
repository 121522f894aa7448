"""Issue 13 quality runs on the Amazon 5-core Beauty -> Toys split (``xcat quickstart`` seed 0).

Research script, not a test: every choice is made on validation users and
the test users are scored only with ``--test``, once, after the choices.

Subcommands::

    train   joint SASRec (next-category query, full-softmax CE over the
            positive's category), optional cold-start views; prints the
            validation NDCG@10 per epoch and per group, saves the model
    fuse    merged EASE (lam chosen on the cold-start validation users by the
            quickstart grid: 1000) blended with a saved model: z-scored
            scores per user, weight alpha chosen on the cold-start
            validation users; --test scores the cold-start test users once
            and prints the paired bootstrap 95% CI against EASE alone
    single  single-domain Toys SASRec, leave-last-out over all users
            (second-last item validation, last item test; the S3-Rec split)

Run from the repository root with ``XCAT_DATA_DIR`` set (or ../shared/data).
Times: about 95 s per joint epoch and 45 s per single-domain epoch on 2 idle
cores; merged EASE (24,000 items) about 9 minutes single-threaded.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from xcat.data.datasets import load_amazon2014_5core
from xcat.data.splits import leave_last_out
from xcat.evaluate.ranking import ValidationSet, model_metrics
from xcat.models import EASE, TwoTower, Vocab, load, save
from xcat.train import TrainConfig, fit
from xcat.transfer import transfer
from xcat.transfer.run import ask_for
from xcat.workflow.baselines import make_selection
from xcat.workflow.experiment import ExperimentConfig

OUT = Path("runs/quality")


def split(dim: int = 64):
    data = load_amazon2014_5core("beauty", "toys")
    cfg = ExperimentConfig(user_tower="sasrec", dim=dim)
    prot = cfg.split(data)
    return cfg, prot, make_selection(prot, "auto")


def cmd_train(a: argparse.Namespace) -> None:
    cfg, prot, sel = split(a.dim)
    cfg = dataclasses.replace(
        cfg, epochs=a.epochs, batch_size=a.bs, lr=a.lr, patience=a.patience, threads=2
    )
    mc = dataclasses.replace(cfg.model_config(prot.data.vocab), dropout=a.dropout)
    tc = cfg.train_config().replace(cold_views=a.cold_views, progress=False)
    t0 = time.perf_counter()
    res = transfer("joint", prot.data, train_config=tc, model_config=mc, valid=sel.subset)
    out = {"name": a.name, "args": vars(a), "seconds": time.perf_counter() - t0}
    hist = res.fit.history if res.fit else []
    out["history"] = [(h["epoch"], round(h["ndcg"], 4), round(h["seconds"])) for h in hist]
    for group, mask in sel.masks.items():
        vs = sel.valid if group == "all" else sel.valid.subset(mask)
        out[f"valid_{group}"] = model_metrics(res.model, vs, k=10).ndcg
    print(json.dumps(out, default=str))
    save(res.model, OUT / a.name, extra={"args": vars(a)})


def _ndcg(s: np.ndarray, exclude: np.ndarray, truth: np.ndarray, k: int = 10) -> np.ndarray:
    """Per-user binary NDCG@k of dense scores (float64 reference, ties to the lower index)."""
    s = np.where(exclude, -np.inf, s)
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]
    gains = np.take_along_axis(truth, top, 1) / np.log2(np.arange(2, k + 2))
    idcg = np.array([(1 / np.log2(np.arange(2, min(int(c), k) + 2))).sum() for c in truth.sum(1)])
    return gains.sum(1) / idcg


def _z(a: np.ndarray) -> np.ndarray:
    return (a - a.mean(1, keepdims=True)) / (a.std(1, keepdims=True) + 1e-12)


def cmd_fuse(a: argparse.Namespace) -> None:
    _, prot, sel = split()
    td, vocab = prot.data, prot.data.vocab
    vcold, tcold = sel.valid.subset(sel.masks["cold-start"]), prot.test_cold
    items = td.target_items()
    src, tgt = vocab.encode(td.source), vocab.encode(td.target_train)
    x = sp.csr_matrix(
        (
            np.ones(len(src) + len(tgt)),
            (np.r_[src.users, tgt.users], np.r_[src.items, tgt.items]),
        ),
        shape=(vocab.n_users, vocab.n_items),
    )
    x.data[:] = 1.0  # binary: duplicates summed above
    cache = OUT / f"ease_{int(a.lam)}.npz"
    if cache.exists():
        c = np.load(cache)
        ease = {"valid": c["valid"], "test": c["test"]}
    else:
        t = time.perf_counter()
        model = EASE(lam=a.lam).fit(x)
        print(f"EASE fit {time.perf_counter() - t:.0f} s", flush=True)
        ease = {
            "valid": model.scores(x[vcold.users], items=items),
            "test": model.scores(x[tcold.users], items=items),
        }
        OUT.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **ease)
    neural = load(OUT / a.name)
    iv = neural.item_embeddings()[items]

    def parts(vs: ValidationSet, which: str):
        e = ease[which].astype(np.float64)
        n = (neural.user_embeddings(vs.users) @ iv.T).astype(np.float64)
        return e, n, vs.exclude[:, items].toarray() > 0, vs.truth[:, items].toarray() > 0

    e, n, ex, tr = parts(vcold, "valid")
    alphas = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0]
    val = {al: float(_ndcg((1 - al) * _z(e) + al * _z(n), ex, tr).mean()) for al in alphas}
    best = max(alphas, key=lambda al: (val[al], -al))
    print(json.dumps({"validation_cold_ndcg10_by_alpha": val, "chosen_alpha": best}))
    if not a.test:
        return
    e, n, ex, tr = parts(tcold, "test")
    base, alone = _ndcg(_z(e), ex, tr), _ndcg(_z(n), ex, tr)
    fused = _ndcg((1 - best) * _z(e) + best * _z(n), ex, tr)
    rng = np.random.default_rng(0)
    out = {"test_cold_users": len(base), "ease": base.mean(), "neural": alone.mean()}
    out["fused"] = fused.mean()
    for name, v in (("fused_minus_ease", fused - base), ("neural_minus_ease", alone - base)):
        boots = [v[rng.integers(0, len(v), len(v))].mean() for _ in range(1000)]
        out[name] = [v.mean(), np.percentile(boots, 2.5), np.percentile(boots, 97.5)]
    print(json.dumps(out, default=float))


def cmd_single(a: argparse.Namespace) -> None:
    toys = load_amazon2014_5core("beauty", "toys").target
    s = leave_last_out(toys, n_test=1, n_valid=1)
    vocab = Vocab.from_interactions(s.train, s.valid, s.test)
    train, valid_pairs = vocab.encode(s.train), vocab.encode(s.valid)
    every = np.arange(vocab.n_items)
    valid = ValidationSet.build(valid_pairs, train, n_items=vocab.n_items, candidates=every)
    mc = vocab.model_config(
        user_tower="sasrec", dim=64, embedding_dim=64, hidden_dims=(), max_history=50,
        dropout=a.dropout,
    )  # fmt: skip
    torch.manual_seed(0)
    m = TwoTower(mc, vocab)
    ask_for(m, vocab, list(map(str, vocab.domains)))
    tc = TrainConfig(
        loss="ce", sparse=False, epochs=a.epochs, batch_size=256, lr=1e-3, patience=4,
        progress=False, seed=0,
    )  # fmt: skip
    t = time.perf_counter()
    res = fit(m, train, config=tc, valid=valid, history=vocab.histories(s.train, max_len=50))
    out = {"dropout": a.dropout, "seconds": time.perf_counter() - t}
    out["valid"] = model_metrics(m, valid, k=10).ndcg
    out["history"] = [(h["epoch"], round(h["ndcg"], 4), round(h["seconds"])) for h in res.history]
    print(json.dumps(out), flush=True)
    save(m, OUT / f"single_{a.name}", extra={"args": vars(a)})


def cmd_single_test(a: argparse.Namespace) -> None:
    """Score a saved single-domain model on the test items once (after the choice)."""
    toys = load_amazon2014_5core("beauty", "toys").target
    s = leave_last_out(toys, n_test=1, n_valid=1)
    m = load(OUT / f"single_{a.name}")
    vocab = m.vocab
    train, valid_pairs = vocab.encode(s.train), vocab.encode(s.valid)
    every = np.arange(vocab.n_items)
    # The test ranking excludes training and validation items; the history
    # now includes the validation item, as at serving time.
    test = ValidationSet.build(
        vocab.encode(s.test), [train, valid_pairs], n_items=vocab.n_items, candidates=every
    )
    m.set_history(vocab.histories(s.train, s.valid, max_len=50))
    print(json.dumps({"name": a.name, "test": model_metrics(m, test, k=10).ndcg}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train")
    tr.add_argument("--name", required=True)
    tr.add_argument("--cold-views", type=float, default=0.0)
    tr.add_argument("--dropout", type=float, default=0.2)
    tr.add_argument("--dim", type=int, default=64)
    tr.add_argument("--epochs", type=int, default=8)
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--bs", type=int, default=256)
    tr.add_argument("--patience", type=int, default=3)
    fu = sub.add_parser("fuse")
    fu.add_argument("--name", required=True)
    fu.add_argument("--lam", type=float, default=1000.0)
    fu.add_argument("--test", action="store_true")
    si = sub.add_parser("single")
    si.add_argument("--dropout", type=float, default=0.2)
    si.add_argument("--epochs", type=int, default=30)
    si.add_argument("--name", required=True)
    st = sub.add_parser("single-test")
    st.add_argument("--name", required=True)
    a = ap.parse_args()
    torch.set_num_threads(2)
    cmds = {"train": cmd_train, "fuse": cmd_fuse, "single": cmd_single}
    cmds["single-test"] = cmd_single_test
    cmds[a.cmd](a)


if __name__ == "__main__":
    main()
