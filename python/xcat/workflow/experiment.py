"""A source -> target transfer experiment, end to end.

Split the target category with the cold-start protocol
(:mod:`xcat.transfer.protocol`), fit and select the no-transfer baselines
(:mod:`xcat.workflow.baselines`: popularity, EASE and ItemKNN on target-only
and merged interactions), pretrain a two-tower model on the source
category, transfer it with each strategy, rank the full target catalogue
with :func:`xcat.topn` (training and validation items excluded) and report Recall / NDCG /
HR / Precision / F1 / MAP @K, MRR and coverage for all target test users,
cold-start users and warm users, against the baselines and ``scratch`` (no
transfer). Every method is selected on the same validation users
(``select_on``): the baselines' grids and the neural models' best epoch.
Each strategy's NDCG@10 difference to the best baseline of each user group
(best on validation) comes with a paired bootstrap 95% CI over the test
users. This is what ``xcat quickstart`` runs.
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
    BaselineComparison,
    RankingMetrics,
    compare_to_best_baseline,
    comparison_table,
    write_report,
)
from xcat.evaluate.ranking import TestEvaluator
from xcat.evaluate.report import ITEMS_PER_USER
from xcat.recommend import Recommender
from xcat.transfer import STRATEGY_NAMES
from xcat.workflow.baselines import (
    BASELINE_NAMES,
    SELECT_ON,
    BaselineResult,
    check_baseline_names,
    make_selection,
    run_baselines,
)
from xcat.workflow.recommenders import save_recommender
from xcat.workflow.rundir import SPLIT_KEY, USER_TOWERS, split_identity

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "ExperimentConfig",
    "ExperimentInterrupted",
    "ExperimentResult",
    "build_recommender",
    "format_comparison",
    "run_experiment",
]

#: Resamples of the paired bootstrap of every comparison with the best baseline.
BOOTSTRAP_RESAMPLES = 1000


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
    protocol : {"cold-start", "published"}, default "cold-start"
        How the target is split: :func:`~xcat.transfer.protocol.cold_start_protocol`
        (any data with overlapping users) or the benchmark's own split,
        :func:`~xcat.transfer.protocol.published_protocol` (DisenCDR, CDRIB).
    sampled_negatives : int or None, default None
        Also report the papers' sampled protocol: each test item ranked
        against this many seeded random negatives
        (:func:`xcat.evaluate.sampled_metrics`). None: 999 with the published
        protocol, off (0) otherwise. The linear baselines have no embeddings
        and are not in the sampled table.
    baselines : tuple of str, default all of :data:`~xcat.workflow.baselines.BASELINE_NAMES`
        No-transfer baselines to fit and select (``popularity`` always
        runs); see :mod:`xcat.workflow.baselines`.
    select_on : {"auto", "all", "cold-start", "warm"}, default "auto"
        The validation users every method is selected on: the baselines'
        grid and the neural models' best epoch (early stopping). ``auto``:
        ``cold-start`` when the protocol has cold-start validation users,
        else ``all`` (:func:`~xcat.workflow.baselines.make_selection`).
    ease_max_items : int, default 30000
        EASE baselines fitting more items are skipped, with the reason in
        the report (EASE needs a dense ``I x I`` float64 matrix: 6.7 GiB at
        30,000 items).
    user_tower : {"mean", "sasrec", "gru"}, default "mean"
        The neural models' user tower (:mod:`xcat.models.towers`). The
        sequence towers use their own settings: width ``dim``, no item MLP,
        the 50 most recent items, dropout 0.2, full-softmax cross-entropy
        over the positive's category (``loss="ce"``, ``ce_scope="domain"``),
        dense Adam; ``batch_size`` and ``lr`` count sequences and apply as given.
    cold_views : float, default 0.0
        Sequence towers: loss weight of the cold-start view examples in
        target training (``TrainConfig.cold_views``, 0 for none): each
        overlapping user's source-only history labelled with each of its
        target training items, as a cold-start user is asked at test time.
    dropout : float or None, default None
        Dropout of the neural models (None: 0.2 for the sequence towers,
        the model's default otherwise).
    """

    strategies: tuple[str, ...] = STRATEGY_NAMES
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
    protocol: str = "cold-start"
    sampled_negatives: int | None = None
    baselines: tuple[str, ...] = BASELINE_NAMES
    select_on: str = "auto"
    ease_max_items: int = 30_000
    user_tower: str = "mean"
    cold_views: float = 0.0
    dropout: float | None = None

    @property
    def sequential(self) -> bool:
        """Whether the user tower is a sequence tower (``sasrec``, ``gru``)."""
        return self.user_tower != "mean"

    def __post_init__(self) -> None:
        if self.user_tower not in USER_TOWERS:
            raise ValueError(
                f"user_tower: expected one of {list(USER_TOWERS)}, got {self.user_tower!r}"
            )
        if self.cold_views and not self.sequential:
            raise ValueError(
                f"cold_views: only the sequence towers take cold-start views, "
                f"user_tower is {self.user_tower!r}"
            )
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise ValueError(f"dropout: expected a rate in [0, 1), got {self.dropout!r}")
        baselines = check_baseline_names(self.baselines)
        if "popularity" not in baselines:
            baselines = ("popularity", *baselines)
        object.__setattr__(self, "baselines", tuple(dict.fromkeys(baselines)))
        if (
            isinstance(self.ease_max_items, bool)
            or not isinstance(self.ease_max_items, int)
            or self.ease_max_items < 1
        ):
            raise ValueError(
                f"ease_max_items: expected a positive integer, got {self.ease_max_items!r}"
            )
        if self.select_on not in SELECT_ON:
            raise ValueError(
                f"select_on: expected one of {list(SELECT_ON)}, got {self.select_on!r}"
            )
        unknown = [s for s in self.strategies if s not in STRATEGY_NAMES]
        if unknown:
            raise ValueError(f"strategies: unknown {unknown}; choose from {list(STRATEGY_NAMES)}")
        if "scratch" not in self.strategies:
            object.__setattr__(self, "strategies", ("scratch", *self.strategies))
        if not self.ks or min(self.ks) < 1:
            raise ValueError(f"ks: expected positive cut-offs, got {self.ks}")
        if self.order not in ("auto", "timestamp", "row"):
            raise ValueError(f"order: expected 'auto', 'timestamp' or 'row', got {self.order!r}")
        if self.protocol not in ("cold-start", "published"):
            raise ValueError(
                f"protocol: expected 'cold-start' or 'published', got {self.protocol!r}"
            )
        if self.sampled_negatives is not None and self.sampled_negatives < 0:
            raise ValueError(
                f"sampled_negatives: expected 0 (off) or a positive count, "
                f"got {self.sampled_negatives!r}"
            )

    @property
    def n_sampled_negatives(self) -> int:
        """Negatives per test item of the sampled protocol (0: not reported)."""
        if self.sampled_negatives is not None:
            return self.sampled_negatives
        return 999 if self.protocol == "published" else 0

    def split(self, data: CrossDomainData) -> Any:
        """Split ``data`` by the configured ``protocol``.

        With :func:`~xcat.transfer.protocol.cold_start_protocol`, ``order="auto"``
        means by timestamp when the target has one, else by row (resolved by
        the split itself).
        """
        from xcat.transfer.protocol import cold_start_protocol, published_protocol

        if self.protocol == "published":
            return published_protocol(data, valid_fraction=self.valid_fraction, seed=self.seed)
        return cold_start_protocol(
            data,
            test_fraction=self.test_fraction,
            valid_fraction=self.valid_fraction,
            order=self.order,
            seed=self.seed,
        )

    def model_config(self, vocab: Any) -> Any:
        """Return the two-tower configuration for ``vocab`` (width ``dim``, 20 history items).

        Sequence towers: width ``dim``, no item MLP, 50 history items, dropout 0.2.
        """
        if self.sequential:
            return vocab.model_config(
                user_tower=self.user_tower,
                dim=self.dim,
                embedding_dim=self.dim,
                hidden_dims=(),
                max_history=50,
                dropout=0.2 if self.dropout is None else self.dropout,
            )
        extra = {} if self.dropout is None else {"dropout": self.dropout}
        return vocab.model_config(
            dim=self.dim,
            embedding_dim=self.dim,
            hidden_dims=(2 * self.dim,),
            max_history=20,
            **extra,
        )

    def train_config(self) -> Any:
        """Return the target-phase :class:`~xcat.train.TrainConfig`.

        Pretraining replaces ``epochs`` with ``pretrain_epochs``.
        """
        from xcat.train import TrainConfig

        config = TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            patience=self.patience,
            seed=self.seed,
            device=self.device,
            num_threads=self.threads,
        )
        if self.sequential:
            return config.replace(
                loss="ce", ce_scope="domain", sparse=False, cold_views=self.cold_views
            )
        return config


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` measured.

    Attributes
    ----------
    results : dict of method to dict of group to RankingMetrics
        Methods: ``popularity``, each baseline that ran, each strategy;
        groups ``all``, ``cold-start``, ``warm``.
    table : pandas.DataFrame
        :func:`xcat.evaluate.comparison_table` of ``results``, with the
        difference to the best baseline of each group.
    info : dict
        Split counts, wall times, epochs, ``selection`` (the group every
        method was selected on and its users), skipped baselines.
    models : dict
        Trained models by strategy (and ``pretrained``).
    recommendations : pandas.DataFrame
        Example recommendations with explanations for a few cold-start users.
    paths : dict of str to pathlib.Path
        Files written (empty without ``out_dir``).
    sampled : dict of str to SampledMetrics
        The papers' sampled protocol per method (empty when not requested).
    sampled_table : pandas.DataFrame or None
        :func:`sampled_table` of ``sampled``.
    baselines : dict of str to BaselineResult
        Every baseline asked for: grid, validation scores, chosen setting,
        fit times, or why it was skipped.
    comparison : BaselineComparison or None
        Each strategy against the best baseline of each group (paired
        bootstrap CIs), the best baseline and strategy per group (by
        validation) and every method's validation NDCG@10.
    """

    results: dict[str, dict[str, RankingMetrics]]
    table: pd.DataFrame
    info: dict[str, Any]
    models: dict[str, Any]
    recommendations: pd.DataFrame
    paths: dict[str, Path] = field(default_factory=dict)
    sampled: dict[str, Any] = field(default_factory=dict)
    sampled_table: pd.DataFrame | None = None
    baselines: dict[str, BaselineResult] = field(default_factory=dict)
    comparison: BaselineComparison | None = None


def build_recommender(model: Any, data: Any) -> Recommender:
    """Build a :class:`~xcat.recommend.Recommender` for ``model`` on ``data``'s history.

    Parameters
    ----------
    model
        Anything with ``user_embeddings()`` and ``item_embeddings()``; its
        ``vocab`` when it has one (a model updated with feedback extends
        ``data.vocab`` with new users and items), else ``data.vocab``.
    data : xcat.transfer.TransferData
        Its source and target training interactions, plus the model's stored
        histories when it has them (events applied by feedback), are the
        history that ``exclude_seen`` removes and explanations draw from.
    """
    vocab = getattr(model, "vocab", None) or data.vocab
    # Encoded separately: the two tables may describe an item listed in both
    # categories differently, which Interactions.concat rightly refuses.
    parts = [vocab.encode(data.source), vocab.encode(data.target_train)]
    users = [p.users for p in parts]
    items = [p.items for p in parts]
    stored = getattr(model, "user_history", None)
    if stored is not None:
        hist = stored.cpu().numpy()
        rows, cols = np.nonzero(hist != model.config.n_items)
        users.append(rows)
        items.append(hist[rows, cols])
    u, i = np.concatenate(users), np.concatenate(items)
    history = sp.csr_matrix((np.ones(len(u)), (u, i)), shape=(vocab.n_users, vocab.n_items))
    return Recommender(
        model.user_embeddings(),
        model.item_embeddings(),
        user_ids=vocab.users,
        item_ids=vocab.items,
        item_categories=vocab.item_categories(),
        history=history,
    )


def run_experiment(
    data: CrossDomainData,
    config: ExperimentConfig | None = None,
    *,
    out_dir: str | Path | None = None,
    echo: Callable[[str], None] = print,
    command: str = "",
) -> ExperimentResult:
    """Fit the baselines, pretrain on ``data.source``, transfer to ``data.target``, report.

    Every method is selected on the validation users of
    ``config.select_on`` (the baselines' settings, the strategies' best
    epoch); the test users are ranked once per method. The report compares
    each strategy with the best baseline of each user group (by validation
    NDCG@10) with a paired bootstrap 95% CI (:data:`BOOTSTRAP_RESAMPLES`
    resamples, seeded by ``config.seed``).

    Parameters
    ----------
    data : CrossDomainData
        Source and target categories with overlapping users.
    config : ExperimentConfig, optional
    out_dir : str or pathlib.Path, optional
        Run directory: ``config.json``, ``metrics.json``, ``report.md``,
        ``metrics.png``, ``recommendations.csv``, the trained models
        under ``models/`` (safetensors + JSON) and each strategy's
        recommender under ``recommenders/`` (:mod:`xcat.workflow.recommenders`).
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
        From the split (too few overlapping users), the configuration, or
        ``select_on`` naming a group without validation users.
    ExperimentInterrupted
        (a KeyboardInterrupt) On Ctrl-C from pretraining on: training
        stops (one Ctrl-C, though :func:`xcat.train.fit` catches it to keep
        its best weights), no further strategy runs, and a strategy cut
        short is neither saved nor reported. With ``out_dir``, the
        strategies trained to the end and a finished pretrained model are
        saved and, when a strategy is, reported; ``metrics.json``,
        ``config.json`` (``info``) and the report say ``interrupted``
        (:attr:`ExperimentInterrupted.interrupted`). A Ctrl-C while the
        baselines are fitted stops with nothing written.
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
    info: dict[str, Any] = {
        "data": repr(data),
        "protocol": protocol.info,
        "sampled_negatives": cfg.n_sampled_negatives,
    }
    echo(f"data: {data!r}")
    echo(
        f"split: {protocol.info['cold_test_users']:,} cold-start test users, "
        f"{protocol.info['warm_test_users']:,} warm test users, "
        f"{protocol.info['target_items']:,} target items ranked, "
        f"{protocol.info.get('repeat_test_pairs', 0):,} test items already in the user's "
        "training/validation (kept rankable)"
    )
    model_config = cfg.model_config(vocab)
    train_config = cfg.train_config()
    evaluator = TestEvaluator(
        protocol, cfg.ks, sampled_negatives=cfg.n_sampled_negatives, seed=cfg.seed
    )
    headline = evaluator.headline_group
    selection = make_selection(protocol, cfg.select_on)
    select_valid = selection.subset
    info["selection"] = selection.to_json()
    echo(
        f"selection: every method is selected on the {selection.group} validation users "
        f"({selection.n_users:,} users, NDCG@10)"
    )
    echo(f"baselines: {', '.join(cfg.baselines)}...")
    t = time.perf_counter()
    baselines = run_baselines(
        protocol,
        evaluator,
        selection,
        cfg.baselines,
        ease_max_items=cfg.ease_max_items,
        echo=echo,
    )
    info["baseline_seconds"] = round(time.perf_counter() - t, 1)
    info["baselines_skipped"] = {b.name: b.skipped for b in baselines.values() if b.skipped}
    results: dict[str, dict[str, RankingMetrics]] = {
        name: b.test for name, b in baselines.items() if b.test is not None
    }
    validation = {name: b.chosen_validation for name, b in baselines.items() if b.test is not None}
    sampled: dict[str, Any] = {}
    if evaluator.negatives is not None:
        sampled["popularity"] = evaluator.sampled_popularity()

    models: dict[str, Any] = {}
    timings: dict[str, float] = {}
    stage = "pretraining"
    interrupted: dict[str, Any] | None = None
    try:
        echo(f"pretraining on the source category ({len(tdata.source):,} interactions)...")
        t = time.perf_counter()
        pretrained, pre_fit = pretrain(
            tdata,
            model_config=model_config,
            train_config=train_config.replace(epochs=cfg.pretrain_epochs),
        )
        _stop_if_interrupted(pre_fit)
        info["pretrain_seconds"] = round(time.perf_counter() - t, 1)
        models["pretrained"] = pretrained
        for name in cfg.strategies:
            stage = f"transfer: {name}"
            echo(f"transfer: {name}...")
            t = time.perf_counter()
            res = transfer(
                name,
                tdata,
                pretrained=pretrained,
                model_config=model_config,
                train_config=train_config,
                target_model=models.get("scratch") if name == "mapping" else None,
                valid=select_valid,
            )
            _stop_if_interrupted(res.fit)
            seconds = round(time.perf_counter() - t, 1)
            scored = evaluator.model(res.model)
            valid_scores = selection.model_scores(res.model)
            samp = evaluator.sampled(res.model) if evaluator.negatives is not None else None
            # recorded together, once the strategy is complete: a Ctrl-C leaves none of it
            timings[name], models[name] = seconds, res.model
            results[name], validation[name] = scored, valid_scores
            if samp is not None:
                sampled[name] = samp
            r = results[name][headline]
            echo(
                f"  {name}: {timings[name]:.0f} s, {headline} NDCG@10 "
                f"{r.values.get('NDCG@10', float('nan')):.4f}"
            )
    except KeyboardInterrupt:
        done = [s for s in cfg.strategies if s in models]
        interrupted = {
            "during": stage,
            "completed": done,
            "not_run": [s for s in cfg.strategies if s not in done],
        }
        info["interrupted"] = interrupted
        echo(interrupted_note(interrupted))
    strategies = [s for s in cfg.strategies if s in models]
    if interrupted is not None and not strategies:
        # no strategy trained to the end: nothing to report; a finished pretraining is kept
        if out_dir is not None and "pretrained" in models:
            save_model(
                models["pretrained"],
                Path(out_dir) / "models" / "pretrained",
                extra={"strategy": "pretrained", SPLIT_KEY: split_identity(data, protocol, cfg)},
            )
        raise ExperimentInterrupted(interrupted)
    info["strategy_seconds"] = timings
    metric = "NDCG@10" if 10 in evaluator.ks else f"NDCG@{evaluator.ks[-1]}"
    comparison = compare_to_best_baseline(
        results,
        validation,
        [b for b in baselines if b in results],
        strategies,
        metric=metric,
        selection_group=selection.group,
        n_resamples=BOOTSTRAP_RESAMPLES,
        seed=cfg.seed,
    )
    info["total_seconds"] = round(time.perf_counter() - t_start, 1)
    metrics = [
        m for m in ("HR@10", "NDCG@10", "Recall@10") if m in results[strategies[0]]["all"].values
    ]
    table = comparison_table(
        results, metrics or [f"NDCG@{evaluator.ks[-1]}"], comparison=comparison
    )
    s_table = sampled_table(sampled) if sampled else None

    recs = _example_recommendations(tdata, models, results, protocol, headline)
    paths: dict[str, Path] = {}
    if out_dir is not None:
        out = Path(out_dir)
        notes = [
            f"- command: `{command}`" if command else "",
            f"- warning: {interrupted_note(interrupted)}" if interrupted else "",
            f"- data: {data!r}",
            f"- split ({cfg.protocol} protocol): {format_info(protocol.info)}",
            f"- wall time: {info['total_seconds']:.0f} s "
            f"(baselines {info['baseline_seconds']:.0f} s, "
            f"pretraining {info['pretrain_seconds']:.0f} s)",
            f"- selection: every method (baseline settings, best epochs) is chosen on the "
            f"{selection.group} validation users ({selection.n_users:,}), NDCG@10; test "
            "items are never used for selection",
        ]
        findings = ["Baselines (grid searched on validation):", ""]
        findings += [f"- {b.describe()}" for b in baselines.values()]
        sections = []
        if s_table is not None:
            sections.append((SAMPLED_TITLE.format(n=cfg.n_sampled_negatives), s_table))
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
            sections=sections,
            extra_metrics={
                "baselines": {name: b.to_json() for name, b in baselines.items()},
                **({"sampled": sampled_to_json(sampled)} if sampled else {}),
                **({"interrupted": interrupted} if interrupted else {}),
            },
            comparison=comparison,
            findings=findings,
        )
        split = split_identity(data, protocol, cfg)
        for name, model in models.items():  # TwoTower, or MappedModel for "mapping"
            save_model(model, out / "models" / name, extra={"strategy": name, SPLIT_KEY: split})
            if name != "pretrained":  # what `xcat recommend` loads, without the data
                save_recommender(out, name, model, tdata, split=split)
        recs.to_csv(out / "recommendations.csv", index=False)
        paths["recommendations"] = out / "recommendations.csv"
    result = ExperimentResult(
        results, table, info, models, recs, paths, sampled, s_table, baselines, comparison
    )
    if interrupted is not None:
        raise ExperimentInterrupted(interrupted, result)
    return result


class ExperimentInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped :func:`run_experiment`; what was complete is saved (see there).

    A :class:`KeyboardInterrupt`, so it stops whatever catches Ctrl-C.

    Parameters
    ----------
    interrupted : dict
        ``during`` (``"pretraining"`` or ``"transfer: NAME"``),
        ``completed`` (the strategies trained to the end, saved and
        reported) and ``not_run`` (the others: the one cut short and those
        after it).
    result : ExperimentResult, optional
        What was measured, when a strategy was complete.

    Attributes
    ----------
    interrupted : dict
    result : ExperimentResult or None
    """

    def __init__(self, interrupted: dict[str, Any], result: ExperimentResult | None = None) -> None:
        super().__init__(f"interrupted during {interrupted['during']}")
        self.interrupted = interrupted
        self.result = result


def _stop_if_interrupted(fit: Any) -> None:
    """Raise KeyboardInterrupt again if :func:`xcat.train.fit` caught one (``fit.interrupted``)."""
    if fit is not None and getattr(fit, "interrupted", False):
        raise KeyboardInterrupt


def interrupted_note(interrupted: dict[str, Any]) -> str:
    """One line on an interrupted run: where it stopped, what ran, what did not."""
    done, left = interrupted.get("completed", []), interrupted.get("not_run", [])
    return (
        f"the run was interrupted (Ctrl-C) during {interrupted.get('during', '?')}; "
        f"strategies trained to the end: {', '.join(done) or 'none'}; not run: "
        f"{', '.join(left) or 'none'}"
    )


#: Heading of the sampled-protocol table wherever it is shown.
SAMPLED_TITLE = (
    "Sampled protocol of DisenCDR / CDRIB (each test item vs {n} seeded random negatives; "
    "not comparable with full ranking)"
)


def sampled_to_json(sampled: dict[str, Any]) -> dict[str, Any]:
    """Plain-JSON form of sampled-protocol results (without the per-pair ranks)."""
    return {
        method: {
            "values": dict(r.values),
            "n_pairs": r.n_pairs,
            "n_users": r.n_users,
            "n_negatives": r.n_negatives,
            "seed": r.seed,
        }
        for method, r in sampled.items()
    }


def sampled_table(sampled: dict[str, Any]) -> pd.DataFrame:
    """One row per method: test pairs and the sampled metrics (HR@1/5/10, NDCG@5/10, MRR)."""
    rows = [
        {"method": method, "pairs": r.n_pairs} | dict(r.values) for method, r in sampled.items()
    ]
    return pd.DataFrame(rows)


def _example_recommendations(
    tdata: Any,
    models: dict[str, Any],
    results: dict[str, dict[str, RankingMetrics]],
    protocol: Any,
    group: str,
    n_users: int = 3,
    n: int = 5,
) -> pd.DataFrame:
    """Top-n target items for a few test users (cold-start ones if any), explained.

    The model is the strategy with the best NDCG@10 in ``group``.
    """
    best = max(
        (s for s in models if s != "pretrained"),
        key=lambda s: results[s][group].values.get("NDCG@10", 0.0),
    )
    rec = build_recommender(models[best], tdata)
    vocab = tdata.vocab
    shown = protocol.test_cold.users if len(protocol.test_cold.users) else protocol.test_all.users
    cold = vocab.users.decode(shown[:n_users])
    out = rec.recommend(list(cold), n=n, category=list(tdata.target_domain), explain=True)
    out.insert(0, "strategy", best)
    return out.drop(columns=["user_row", "item_row"])


def format_info(info: dict[str, Any]) -> str:
    """``key value, ...`` of a protocol's counts, for reports (numbers with separators)."""
    return ", ".join(
        f"{k.replace('_', ' ')} {v:,}"
        if isinstance(v, int) and not isinstance(v, bool)
        else f"{k.replace('_', ' ')} {v}"
        for k, v in info.items()
    )


def format_table(table: pd.DataFrame) -> str:
    """Format the comparison table as aligned text for a terminal."""
    shown = table.copy()
    for col in shown.columns:
        if col.startswith("gain"):
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:+.1f}%")
        elif col == ITEMS_PER_USER:
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
        elif shown[col].dtype.kind == "f":
            shown[col] = shown[col].map(lambda v: f"{v:.4f}")
    return shown.to_string(index=False)


def format_comparison(result: ExperimentResult) -> str:
    """Say how the strategies fare against the best baseline of each user group.

    Lines: the selection group, each baseline's choice (or why it was
    skipped), then per test group the best baseline (by validation) and the
    best strategy (by validation) with its difference and paired bootstrap
    CI, in words: beats, loses to, or is not distinguishable from it.

    Parameters
    ----------
    result : ExperimentResult

    Returns
    -------
    str
        Empty when the result has no comparison.
    """
    c = result.comparison
    if c is None:
        return ""
    selection = result.info.get("selection", {})
    n_users = selection.get("users", {}).get(c.selection_group)
    who = f" ({n_users:,} users)" if n_users is not None else ""
    lines = [
        f"Selection: every method is chosen on the {c.selection_group} validation "
        f"users{who}, NDCG@10; the test users are ranked once per method.",
        "Baselines:",
        *(f"  {b.describe()}" for b in result.baselines.values()),
        f"Against the best baseline of each user group ({c.metric}, paired bootstrap "
        f"{c.confidence:.0%} CI over test users, {c.n_resamples:,} resamples, seed {c.seed}):",
        *(f"  {line}" for line in c.lines()),
    ]
    return "\n".join(lines)


def summarize(result: ExperimentResult, metrics: Sequence[str] = ("NDCG@10",)) -> str:
    """One line per strategy: cold-start (else all-users) metric and gain over scratch."""
    lines = []
    group = "cold-start" if "cold-start" in result.results["scratch"] else "all"
    base = result.results["scratch"][group].values
    for method, groups in result.results.items():
        v = groups[group].values
        parts = []
        for m in metrics:
            gain = 100 * (v[m] / base[m] - 1) if base.get(m) else float("nan")
            parts.append(f"{m} {v[m]:.4f} ({gain:+.0f}% vs scratch)")
        lines.append(f"{method:>10}: " + ", ".join(parts))
    return "\n".join(lines)
