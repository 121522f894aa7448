"""A source -> target transfer experiment, end to end.

Split the target category with the cold-start protocol
(:mod:`xcat.transfer.protocol`), pretrain a two-tower model on the source
category, transfer it with each strategy, rank the full target catalogue
with :func:`xcat.topn` (training items excluded) and report Recall / NDCG /
HR / Precision / F1 / MAP @K, MRR and coverage for all target test users,
cold-start users and warm users, against the popularity baseline and
``scratch`` (no transfer). This is what ``xcat quickstart`` runs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from xcat.data.domains import CrossDomainData
from xcat.evaluate import (
    RankingMetrics,
    comparison_table,
    evaluate_groups,
    popularity_topn,
    write_report,
)
from xcat.kernels import topn
from xcat.recommend import Recommender

__all__ = [
    "ExperimentConfig",
    "ExperimentResult",
    "TestEvaluator",
    "build_recommender",
    "run_experiment",
]

STRATEGIES = ("scratch", "full", "freeze", "reinit", "mapping")


@dataclass(frozen=True)
class ExperimentConfig:
    """Settings of :func:`run_experiment` (defaults: minutes on 2 CPU cores).

    Attributes
    ----------
    strategies : tuple of str, default all five
        Transfer strategies to run (``scratch`` always runs: it is the
        baseline, and ``mapping`` reuses its target model).
    ks : tuple of int, default (5, 10, 20)
        Cut-offs of the metrics.
    test_fraction, valid_fraction : float, default 0.2 and 0.1
        Shares of the overlapping users held out as cold-start test and
        validation users (all their target interactions).
    order : {"auto", "timestamp", "row"}, default "auto"
        What "last" means for the warm users' leave-last-out split: by
        timestamp when the data has one ("auto"), else by row order.
    dim : int, default 32
        Embedding and output dimension of both towers.
    pretrain_epochs, epochs : int, default 5 and 10
        Source pretraining epochs; most target epochs (early stopping on
        validation NDCG@10, patience ``patience``).
    batch_size : int, default 512
    lr : float, default 5e-3
    patience : int, default 2
    seed : int, default 0
    device : str, default "auto"
        CUDA when available, else CPU.
    threads : int or None, default None
        CPU threads for PyTorch (None: PyTorch's default).
    """

    strategies: tuple[str, ...] = STRATEGIES
    ks: tuple[int, ...] = (5, 10, 20)
    test_fraction: float = 0.2
    valid_fraction: float = 0.1
    order: str = "auto"
    dim: int = 32
    pretrain_epochs: int = 5
    epochs: int = 10
    batch_size: int = 512
    lr: float = 5e-3
    patience: int = 2
    seed: int = 0
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self) -> None:
        unknown = [s for s in self.strategies if s not in STRATEGIES]
        if unknown:
            raise ValueError(f"strategies: unknown {unknown}; choose from {list(STRATEGIES)}")
        if "scratch" not in self.strategies:
            object.__setattr__(self, "strategies", ("scratch", *self.strategies))
        if not self.ks or min(self.ks) < 1:
            raise ValueError(f"ks: expected positive cut-offs, got {self.ks}")
        if self.order not in ("auto", "timestamp", "row"):
            raise ValueError(f"order: expected 'auto', 'timestamp' or 'row', got {self.order!r}")

    def split(self, data: CrossDomainData) -> Any:
        """Split ``data`` by :func:`~xcat.transfer.protocol.cold_start_protocol`.

        ``order="auto"`` means by timestamp when the target has one, else by row.
        """
        from xcat.transfer.protocol import cold_start_protocol

        order = self.order
        if order == "auto":
            order = "timestamp" if "timestamp" in data.target.data.columns else "row"
        return cold_start_protocol(
            data,
            test_fraction=self.test_fraction,
            valid_fraction=self.valid_fraction,
            order=order,
            seed=self.seed,
        )

    def model_config(self, vocab: Any) -> Any:
        """Return the two-tower configuration for ``vocab`` (width ``dim``, 20 history items)."""
        return vocab.model_config(
            dim=self.dim, embedding_dim=self.dim, hidden_dims=(2 * self.dim,), max_history=20
        )

    def train_config(self) -> Any:
        """Return the target-phase :class:`~xcat.train.TrainConfig`.

        Pretraining replaces ``epochs`` with ``pretrain_epochs``.
        """
        from xcat.train import TrainConfig

        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            patience=self.patience,
            seed=self.seed,
            device=self.device,
            num_threads=self.threads,
        )


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` measured.

    Attributes
    ----------
    results : dict of method to dict of group to RankingMetrics
        Methods: ``popularity`` and each strategy; groups ``all``,
        ``cold-start``, ``warm``.
    table : pandas.DataFrame
        :func:`xcat.evaluate.comparison_table` of ``results``.
    info : dict
        Split counts, wall times, epochs.
    models : dict
        Trained models by strategy (and ``pretrained``).
    recommendations : pandas.DataFrame
        Example recommendations with explanations for a few cold-start users.
    paths : dict of str to pathlib.Path
        Files written (empty without ``out_dir``).
    """

    results: dict[str, dict[str, RankingMetrics]]
    table: pd.DataFrame
    info: dict[str, Any]
    models: dict[str, Any]
    recommendations: pd.DataFrame
    paths: dict[str, Path] = field(default_factory=dict)


class TestEvaluator:
    """Scores anything with ``user_embeddings`` / ``item_embeddings`` on a protocol's test set.

    Full ranking of the target catalogue with :func:`xcat.topn` (each user's
    training items excluded), metrics for the groups ``all``, ``cold-start``
    and ``warm``.

    Parameters
    ----------
    protocol : xcat.transfer.protocol.ColdStartProtocol
    ks : sequence of int
        Cut-offs.
    """

    def __init__(self, protocol: Any, ks: Sequence[int]) -> None:
        self.test = protocol.test_all
        self.ks = tuple(sorted({int(k) for k in ks}))
        self.groups = _groups(self.test.users, protocol.test_cold.users)
        self.relevant = _binary(self.test.truth)
        vocab, target_train = protocol.data.vocab, protocol.data.target_train
        self.train_counts = np.bincount(vocab.encode(target_train).items, minlength=vocab.n_items)

    def _metrics(self, indices: np.ndarray) -> dict[str, RankingMetrics]:
        return evaluate_groups(
            indices, self.relevant, self.groups, self.ks, n_catalogue=len(self.test.candidates)
        )

    def model(self, model: Any) -> dict[str, RankingMetrics]:
        """Metrics of one model, by user group."""
        top = topn(
            model.user_embeddings(self.test.users),
            model.item_embeddings(),
            self.ks[-1],
            exclude=self.test.exclude,
            candidates=self.test.candidates,
        )
        return self._metrics(top.indices)

    def popularity(self) -> dict[str, RankingMetrics]:
        """Metrics of the target-category popularity ranking, by user group."""
        pop = popularity_topn(
            self.train_counts,
            len(self.test.users),
            self.ks[-1],
            exclude=self.test.exclude,
            candidates=self.test.candidates,
        )
        return self._metrics(pop.indices)


def build_recommender(model: Any, data: Any) -> Recommender:
    """Build a :class:`~xcat.recommend.Recommender` for ``model`` on ``data``'s history.

    Parameters
    ----------
    model
        Anything with ``user_embeddings()`` and ``item_embeddings()`` over
        ``data.vocab``.
    data : xcat.transfer.TransferData
        Its source and target training interactions are the history that
        ``exclude_seen`` removes and explanations draw from.
    """
    vocab = data.vocab
    # Encoded separately: the two tables may describe an item listed in both
    # categories differently, which Interactions.concat rightly refuses.
    parts = [vocab.encode(data.source), vocab.encode(data.target_train)]
    users = np.concatenate([p.users for p in parts])
    items = np.concatenate([p.items for p in parts])
    history = sp.csr_matrix(
        (np.ones(len(users)), (users, items)), shape=(vocab.n_users, vocab.n_items)
    )
    return Recommender(
        model.user_embeddings(),
        model.item_embeddings(),
        user_ids=vocab.users,
        item_ids=vocab.items,
        item_categories=vocab.item_categories(),
        history=history,
    )


def _groups(users: np.ndarray, cold_users: np.ndarray) -> dict[str, np.ndarray]:
    cold = np.isin(users, cold_users)
    return {"all": np.ones(len(users), bool), "cold-start": cold, "warm": ~cold}


def _binary(m: sp.csr_matrix) -> sp.csr_matrix:
    out = sp.csr_matrix(m, copy=True)
    out.data = np.ones_like(out.data, dtype=np.float64)
    return out


def run_experiment(
    data: CrossDomainData,
    config: ExperimentConfig | None = None,
    *,
    out_dir: str | Path | None = None,
    echo: Callable[[str], None] = print,
    command: str = "",
) -> ExperimentResult:
    """Pretrain on ``data.source``, transfer to ``data.target``, evaluate, report.

    Parameters
    ----------
    data : CrossDomainData
        Source and target categories with overlapping users.
    config : ExperimentConfig, optional
    out_dir : str or pathlib.Path, optional
        Run directory: ``config.json``, ``metrics.json``, ``report.md``,
        ``metrics.png``, ``recommendations.csv`` and the trained models
        under ``models/`` (safetensors + JSON).
    echo : callable, default print
        Where progress lines go.
    command : str
        The command line, recorded in the report.

    Returns
    -------
    ExperimentResult

    Raises
    ------
    ValueError
        From the split (too few overlapping users) or the configuration.
    """
    import torch

    from xcat.models import save as save_model
    from xcat.transfer import pretrain, transfer

    cfg = config or ExperimentConfig()
    t_start = time.perf_counter()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    protocol = cfg.split(data)
    tdata = protocol.data
    vocab = tdata.vocab
    info: dict[str, Any] = {"data": repr(data), "protocol": protocol.info}
    echo(f"data: {data!r}")
    echo(
        f"split: {protocol.info['cold_test_users']:,} cold-start test users, "
        f"{protocol.info['warm_test_users']:,} warm test users, "
        f"{protocol.info['target_items']:,} target items ranked"
    )
    model_config = cfg.model_config(vocab)
    train_config = cfg.train_config()
    evaluator = TestEvaluator(protocol, cfg.ks)
    results: dict[str, dict[str, RankingMetrics]] = {"popularity": evaluator.popularity()}

    echo(f"pretraining on the source category ({len(tdata.source):,} interactions)...")
    t = time.perf_counter()
    pretrained, pre_fit = pretrain(
        tdata,
        model_config=model_config,
        train_config=train_config.replace(epochs=cfg.pretrain_epochs),
    )
    info["pretrain_seconds"] = round(time.perf_counter() - t, 1)
    models: dict[str, Any] = {"pretrained": pretrained}
    timings: dict[str, float] = {}
    for name in cfg.strategies:
        echo(f"transfer: {name}...")
        t = time.perf_counter()
        res = transfer(
            name,
            tdata,
            pretrained=pretrained,
            model_config=model_config,
            train_config=train_config,
            target_model=models.get("scratch") if name == "mapping" else None,
        )
        timings[name] = round(time.perf_counter() - t, 1)
        models[name] = res.model
        results[name] = evaluator.model(res.model)
        r = results[name]["cold-start"]
        echo(
            f"  {name}: {timings[name]:.0f} s, cold-start NDCG@10 "
            f"{r.values.get('NDCG@10', float('nan')):.4f}"
        )
    info["strategy_seconds"] = timings
    info["total_seconds"] = round(time.perf_counter() - t_start, 1)
    metrics = [
        m for m in ("HR@10", "NDCG@10", "Recall@10") if m in results["scratch"]["all"].values
    ]
    table = comparison_table(results, metrics or [f"NDCG@{evaluator.ks[-1]}"])

    recs = _example_recommendations(data, tdata, models, results, protocol)
    paths: dict[str, Path] = {}
    if out_dir is not None:
        out = Path(out_dir)
        notes = [
            f"- command: `{command}`" if command else "",
            f"- data: {data!r}",
            f"- split: {protocol.info}",
            f"- wall time: {info['total_seconds']:.0f} s "
            f"(pretraining {info['pretrain_seconds']:.0f} s)",
        ]
        paths = write_report(
            out,
            results,
            title=f"xcat transfer: {data.name or 'source -> target'}",
            config={
                "experiment": dataclasses.asdict(cfg),
                "model": dataclasses.asdict(model_config),
                "train": train_config.to_dict()
                if hasattr(train_config, "to_dict")
                else str(train_config),
                "info": info,
            },
            metrics=metrics,
            notes=[n for n in notes if n],
        )
        for name, model in models.items():
            if hasattr(model, "state_dict"):  # mapping results are not saveable yet
                save_model(model, out / "models" / name, extra={"strategy": name})
        recs.to_csv(out / "recommendations.csv", index=False)
        paths["recommendations"] = out / "recommendations.csv"
    return ExperimentResult(results, table, info, models, recs, paths)


def _example_recommendations(
    data: CrossDomainData,
    tdata: Any,
    models: dict[str, Any],
    results: dict[str, dict[str, RankingMetrics]],
    protocol: Any,
    n_users: int = 3,
    n: int = 5,
) -> pd.DataFrame:
    """Top-n target items for a few cold-start users from the best strategy, explained."""
    best = max(
        (s for s in models if s != "pretrained"),
        key=lambda s: results[s]["cold-start"].values.get("NDCG@10", 0.0),
    )
    rec = build_recommender(models[best], tdata)
    vocab = tdata.vocab
    cold = vocab.users.decode(protocol.test_cold.users[:n_users])
    out = rec.recommend(list(cold), n=n, category=list(tdata.target_domain), explain=True)
    out.insert(0, "strategy", best)
    return out.drop(columns=["user_row", "item_row"])


def format_table(table: pd.DataFrame) -> str:
    """Format the comparison table as aligned text for a terminal."""
    shown = table.copy()
    for col in shown.columns:
        if col.startswith("gain"):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:+.1f}%")
        elif shown[col].dtype.kind == "f":
            shown[col] = shown[col].map(lambda v: f"{v:.4f}")
    return shown.to_string(index=False)


def summarize(result: ExperimentResult, metrics: Sequence[str] = ("NDCG@10",)) -> str:
    """One line per strategy: cold-start metric and gain over scratch."""
    lines = []
    base = result.results["scratch"]["cold-start"].values
    for method, groups in result.results.items():
        v = groups["cold-start"].values
        parts = []
        for m in metrics:
            gain = 100 * (v[m] / base[m] - 1) if base.get(m) else float("nan")
            parts.append(f"{m} {v[m]:.4f} ({gain:+.0f}% vs scratch)")
        lines.append(f"{method:>10}: " + ", ".join(parts))
    return "\n".join(lines)
