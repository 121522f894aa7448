"""The training loop of a two-tower model, with early stopping on target NDCG@k."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from xcat.evaluate.ranking import ValidationSet, model_metrics
from xcat.models.io import save
from xcat.models.two_tower import TwoTower
from xcat.models.vocab import EncodedInteractions
from xcat.train.config import TrainConfig
from xcat.train.steps import (
    BatchSource,
    LossInputs,
    SequenceSource,
    cold_start_views,
    train_step,
)

__all__ = ["FitResult", "fit", "resolve_device"]

logger = logging.getLogger("xcat.train")


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; other strings as given.

    Raises
    ------
    ValueError
        If CUDA is asked for and not available.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    d = torch.device(device)
    if d.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {device!r} requested but CUDA is not available")
    return d


@dataclass
class FitResult:
    """What happened during :func:`fit`.

    Attributes
    ----------
    best_epoch : int
        Epoch (1-based) whose weights the model holds; 0 if none finished.
    best_metric : float
        Validation NDCG@k of that epoch (``nan`` without validation).
    history : list of dict
        Per epoch: ``epoch``, ``loss``, ``seconds``, ``interactions_per_s``
        and ``ndcg`` / ``hr`` with validation.
    interrupted : bool
        Whether Ctrl-C stopped the run (the best weights are kept).
    stopped_early : bool
        Whether patience ran out.
    trainable : list of str
        Parameters that were trained.
    frozen : list of str
        Parameters that were frozen (bit-identical before and after).
    device : str
    steps : int
        Optimizer steps taken.
    """

    best_epoch: int = 0
    best_metric: float = float("nan")
    history: list[dict[str, float]] = field(default_factory=list)
    interrupted: bool = False
    stopped_early: bool = False
    trainable: list[str] = field(default_factory=list)
    frozen: list[str] = field(default_factory=list)
    device: str = "cpu"
    steps: int = 0


def _domain_weights(model: TwoTower, config: TrainConfig) -> np.ndarray | None:
    """Loss weight per domain row of the vocabulary (``domain_weights``), or None."""
    if not config.domain_weights:
        return None
    if model.vocab is None:
        raise ValueError("domain_weights: the model has no vocab, so domain names are unknown")
    domains = list(model.vocab.domains)
    unknown = [d for d in config.domain_weights if d not in domains]
    if unknown:
        raise ValueError(
            f"domain_weights: unknown domains {unknown}; the model's domains are {domains}"
        )
    return np.array([float(config.domain_weights.get(d, 1.0)) for d in domains], dtype=np.float32)


def _cold_views(
    model: TwoTower, train: EncodedInteractions, config: TrainConfig
) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the cold-start view examples of a sequence tower asked for one category, or None."""
    if not config.cold_views:
        return None
    tower = model.user_tower
    query = int(getattr(tower, "query_domain", -1))
    n_domains = model.config.n_domains
    if model.vocab is None or not 0 <= query < n_domains:
        raise ValueError(
            "cold_views: needs a sequence tower asked for one category (a vocabulary with "
            "categories and a query category, see xcat.transfer.ask_for)"
        )
    history = model.user_history.cpu().numpy()
    return cold_start_views(
        history, train, np.asarray(model.vocab.item_domains), query, pad=model.config.n_items
    )


def _optimizers(
    model: TwoTower, trainable: list[str], config: TrainConfig
) -> list[torch.optim.Optimizer]:
    """Adam for dense parameters; SparseAdam for embedding tables when ``config.sparse``."""
    sparse_names: set[str] = set()
    for mod_name, mod in model.named_modules():
        if isinstance(mod, (nn.Embedding, nn.EmbeddingBag)):
            mod.sparse = config.sparse
            if config.sparse:
                sparse_names.add(f"{mod_name}.weight")
    params = dict(model.named_parameters())
    dense = [params[n] for n in trainable if n not in sparse_names]
    sparse = [params[n] for n in trainable if n in sparse_names]
    out: list[torch.optim.Optimizer] = []
    if dense:
        out.append(torch.optim.Adam(dense, lr=config.lr, weight_decay=config.weight_decay))
    if sparse:
        out.append(torch.optim.SparseAdam(sparse, lr=config.lr))
    return out


def _epoch_order(
    train: EncodedInteractions, config: TrainConfig, rng: np.random.Generator
) -> np.ndarray:
    n = len(train)
    if config.sampling == "interaction":
        return rng.permutation(n)
    counts = np.bincount(train.domains)
    p = 1.0 / counts[train.domains]
    return rng.choice(n, size=n, replace=True, p=p / p.sum())


def fit(
    model: TwoTower,
    train: EncodedInteractions,
    *,
    config: TrainConfig | None = None,
    valid: ValidationSet | None = None,
    frozen: Iterable[str] = (),
    history: np.ndarray | None = None,
    checkpoint_dir: str | Path | None = None,
) -> FitResult:
    """Train a model in place on (user, item) interactions.

    Parameters
    ----------
    model : TwoTower
    train : EncodedInteractions
        Training interactions (positives). Each batch holds these rows'
        users, their histories (without the row's item) and items
        (:class:`~xcat.train.steps.BatchSource`).
    config : TrainConfig, optional
        Default ``TrainConfig()``.
    valid : ValidationSet, optional
        Held-out target interactions; after every epoch NDCG@``eval_k`` is
        computed with :func:`xcat.topn` over ``valid.candidates`` excluding
        training items; training stops after ``patience`` epochs without
        improvement and the best weights are restored. Without it, all
        epochs run and the last weights are kept.
    frozen : iterable of str
        Exact parameter names (state-dict keys) not to train: their
        ``requires_grad`` is set to False and they are left out of the
        optimizer, so they stay bit-identical.
        :func:`xcat.transfer.frozen_parameters` computes them from a strategy.
    history : numpy.ndarray of int, shape (n_users, L), optional
        The users' histories the user tower pools, item rows with ``-1``
        padding (:meth:`xcat.models.Vocab.histories`). They are stored in the
        model (:meth:`TwoTower.set_history`), which validation and
        :meth:`TwoTower.user_embeddings` encode. Default: the histories the
        model already stores (as :func:`xcat.train.update` continues).
    checkpoint_dir : str or pathlib.Path, optional
        Where the best model is saved (:func:`xcat.models.save`) whenever
        validation improves.

    Returns
    -------
    FitResult

    Raises
    ------
    ValueError
        If ``train`` is empty, a frozen name is not a parameter, everything
        is frozen, or ``history`` has the wrong shape.

    Notes
    -----
    Ctrl-C ends training cleanly: the best weights so far are restored
    (and were checkpointed) and ``FitResult.interrupted`` is True.
    """
    config = config or TrainConfig()
    if len(train) == 0:
        raise ValueError("train: no interactions")
    device = resolve_device(config.device)
    threads_before = torch.get_num_threads()
    if config.num_threads is not None:
        torch.set_num_threads(config.num_threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    gen = torch.Generator().manual_seed(config.seed)

    sequential = bool(model.user_tower.sequential)
    if sequential and config.loss not in ("ce", "softmax"):
        raise ValueError(
            f"loss: the {model.config.user_tower!r} tower is trained on (prefix -> next item) "
            f"examples with 'ce' (full softmax) or 'softmax' (sampled), got {config.loss!r}"
        )
    if config.cold_views and not sequential:
        raise ValueError(
            f"cold_views: only the sequence towers take cold-start views, the model's user "
            f"tower is {model.config.user_tower!r}"
        )
    if sequential and config.sampling != "interaction":
        raise ValueError(
            f"sampling: the {model.config.user_tower!r} tower draws whole sequences; "
            f"'interaction' is the only choice, got {config.sampling!r} (use domain_weights "
            "to balance categories)"
        )
    params = dict(model.named_parameters())
    frozen_set = set(frozen)
    bad = sorted(frozen_set - set(params))
    if bad:
        raise ValueError(f"frozen: {bad} are not parameters of the model")
    for name, p in params.items():
        p.requires_grad_(name not in frozen_set)
    trainable = [n for n in params if n not in frozen_set]
    if not trainable:
        raise ValueError("frozen: every parameter is frozen; nothing to train")
    if history is not None:
        model.set_history(history)
    model.to(device)
    optims = _optimizers(model, trainable, config)
    use_bf16 = config.bf16 and device.type == "cuda"

    counts = np.bincount(train.items, minlength=model.config.n_items).astype(np.float64)
    log_q_table = torch.from_numpy(
        np.log(np.maximum(counts, 1) / counts.sum()).astype(np.float32)
    ).to(device)
    pad = model.config.n_items
    per_domain = _domain_weights(model, config)
    batches: BatchSource | SequenceSource
    # the stored histories (on the device now) are the table the batches' histories come from
    if sequential:
        # a sequence example is weighted by its next item's domain
        iw = per_domain[model.vocab.item_domains] if per_domain is not None else None
        batches = SequenceSource(
            train,
            model.user_history,
            pad=pad,
            device=device,
            item_weights=torch.from_numpy(iw).to(device) if iw is not None else None,
            views=_cold_views(model, train, config),
            view_weight=float(config.cold_views),
        )
        if not len(batches.rows):
            raise ValueError(
                "train: no interaction follows another item in the users' histories, so the "
                "sequence tower has no (prefix -> next item) example"
            )
        n_rows = len(batches.rows)
    else:
        w = per_domain[train.domains] if per_domain is not None else None
        targets_all = None
        if config.loss == "mse" and train.ratings is not None:
            lo, hi = float(train.ratings.min()), float(train.ratings.max())
            scale = (
                (train.ratings - lo) / (hi - lo) * 2 - 1 if hi > lo else np.ones_like(train.ratings)
            )
            targets_all = torch.from_numpy(scale.astype(np.float32))
        batches = BatchSource(
            train,
            model.user_history,
            pad=pad,
            device=device,
            weights=torch.from_numpy(w) if w is not None else None,
            targets=targets_all,
        )
        n_rows = len(train)
    catalogue = np.unique(train.items)
    catalogue_index = np.full(pad, -1, dtype=np.int64)
    catalogue_index[catalogue] = np.arange(len(catalogue))
    item_domain = np.zeros(pad, dtype=np.int64)
    item_domain[train.items] = train.domains
    catalogue_domains = item_domain[catalogue]
    inputs = LossInputs(
        config=config,
        log_q=log_q_table,
        negatives=torch.from_numpy(catalogue),
        generator=gen,
        device=device,
        catalogue=torch.from_numpy(catalogue).to(device),
        catalogue_index=torch.from_numpy(catalogue_index).to(device),
        catalogue_domains=torch.from_numpy(catalogue_domains).to(device),
    )

    result = FitResult(trainable=trainable, frozen=sorted(frozen_set), device=str(device))
    best_state: dict[str, torch.Tensor] | None = None
    bad_epochs = 0

    from tqdm.auto import tqdm

    n_batches = math.ceil(n_rows / config.batch_size)
    # A step budget (xcat feedback's update: often many epochs of one batch) is
    # one bar over the steps and one summary line, not a line per epoch.
    by_steps = config.max_steps is not None
    bar = None

    def new_bar(total: int, desc: str) -> Any:
        return tqdm(
            total=total,
            desc=desc,
            # None: tqdm hides the bar when stderr is not a terminal (logs, CI);
            # the summary lines are still written.
            disable=None if config.progress else True,
            leave=False,
        )

    try:
        if by_steps:
            bar = new_bar(int(config.max_steps or 0), "steps")
        for epoch in range(1, config.epochs + 1):
            model.train()
            order = torch.from_numpy(
                rng.permutation(n_rows) if sequential else _epoch_order(train, config, rng)
            )
            t0 = time.perf_counter()
            total, seen = 0.0, 0
            if not by_steps:
                bar = new_bar(n_batches, f"epoch {epoch}")
            assert bar is not None
            for s in range(0, len(order), config.batch_size):
                if config.max_steps is not None and result.steps >= config.max_steps:
                    break
                batch = batches.batch(order[s : s + config.batch_size])
                loss = train_step(model, batch, optims, inputs, bf16=use_bf16)
                result.steps += 1
                total += float(loss) * batch.n_examples
                seen += batch.n_examples
                bar.update(1)
                bar.set_postfix(loss=f"{total / seen:.4f}")
            if not by_steps:
                bar.close()
            secs = time.perf_counter() - t0
            row: dict[str, float] = {
                "epoch": epoch,
                "loss": total / seen,
                "seconds": secs,
                "interactions_per_s": seen / secs if secs > 0 else float("inf"),
            }
            if valid is not None:
                m = model_metrics(model, valid, k=config.eval_k)
                row["ndcg"], row["hr"] = m.ndcg, m.hr
                improved = best_state is None or m.ndcg > result.best_metric
                if improved:
                    result.best_epoch, result.best_metric = epoch, m.ndcg
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                    bad_epochs = 0
                    if checkpoint_dir is not None:
                        save(
                            model,
                            checkpoint_dir,
                            extra={
                                "train_config": config.to_dict(),
                                "epoch": epoch,
                                f"valid_ndcg@{config.eval_k}": m.ndcg,
                            },
                        )
                else:
                    bad_epochs += 1
            else:
                result.best_epoch = epoch
            result.history.append(row)
            if config.progress and not by_steps:
                extra = (
                    f", valid NDCG@{config.eval_k} {row['ndcg']:.4f}" if valid is not None else ""
                )
                tqdm.write(
                    f"epoch {epoch}: loss {row['loss']:.4f}{extra} "
                    f"({row['interactions_per_s']:,.0f} inter/s)"
                )
            if valid is not None and bad_epochs >= config.patience:
                result.stopped_early = True
                break
            if config.max_steps is not None and result.steps >= config.max_steps:
                break
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        result.interrupted = True
        logger.warning(
            "training interrupted; keeping the best weights (epoch %d)", result.best_epoch
        )
    if by_steps and bar is not None:
        bar.close()
        if config.progress and result.history:
            first, last = result.history[0], result.history[-1]
            extra = f", valid NDCG@{config.eval_k} {last['ndcg']:.4f}" if "ndcg" in last else ""
            tqdm.write(
                f"{result.steps:,} steps over {len(result.history):,} epochs: loss "
                f"{first['loss']:.4f} -> {last['loss']:.4f}{extra}"
            )
    if best_state is not None:
        model.load_state_dict(best_state)
    elif checkpoint_dir is not None and valid is None and result.best_epoch:
        save(
            model,
            checkpoint_dir,
            extra={"train_config": config.to_dict(), "epoch": result.best_epoch},
        )
    model.eval()
    torch.set_num_threads(threads_before)
    return result
