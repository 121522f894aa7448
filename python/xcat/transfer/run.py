"""Pretrain on the source domain, then transfer to the target with a named strategy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from xcat.data.interactions import Interactions
from xcat.models.config import TwoTowerConfig
from xcat.models.two_tower import TwoTower
from xcat.models.vocab import EncodedInteractions, Vocab
from xcat.train.config import TrainConfig
from xcat.train.loop import FitResult, ValidationSet, clone_model, fit
from xcat.transfer.mapping import MappedModel, fit_mapper
from xcat.transfer.strategies import Strategy, StrategySpec, frozen_parameters, plan
from xcat.transfer.weights import copy_weights, reinit_weights

__all__ = ["TransferData", "TransferResult", "pretrain", "transfer"]


@dataclass(frozen=True)
class TransferData:
    """The data of one source -> target transfer.

    Attributes
    ----------
    vocab : Vocab
        Built over source and target (``Vocab.from_interactions(source, target)``).
    source : Interactions
        Source-domain training interactions (every user's source history).
    target_train : Interactions
        Target-domain training interactions.
    target_valid : Interactions or None
        Held-out target interactions for early stopping (e.g. the last
        item of warm users and all items of cold-start validation users).
    target_domain : tuple of str
        Target categories: the catalogue ranked. Default: the categories of
        ``target_train``.
    """

    vocab: Vocab
    source: Interactions
    target_train: Interactions
    target_valid: Interactions | None = None
    target_domain: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.target_domain:
            object.__setattr__(self, "target_domain", tuple(map(str, self.target_train.categories)))

    def target_items(self) -> np.ndarray:
        """Item rows of the target catalogue, int64 ascending."""
        return self.vocab.domain_items(list(self.target_domain))

    def validation(self) -> ValidationSet | None:
        """Return the target validation set (None without ``target_valid``)."""
        if self.target_valid is None or len(self.target_valid) == 0:
            return None
        return ValidationSet.build(
            self.vocab.encode(self.target_valid),
            self.vocab.encode(self.target_train),
            n_items=self.vocab.n_items,
            candidates=self.target_items(),
        )


@dataclass
class TransferResult:
    """A model transferred with one strategy.

    Attributes
    ----------
    spec : StrategySpec
        What the strategy copied, re-drew and froze.
    model : TwoTower or MappedModel
        Has ``user_embeddings`` / ``item_embeddings``.
    fit : FitResult or None
        Target-phase training record (None for ``mapping``, whose target
        model is trained by a ``scratch`` run).
    frozen : list of str
        Exact parameters kept bit-identical during target training.
    reinitialised : list of str
        Exact parameters re-drawn before target training.
    """

    spec: StrategySpec
    model: Any
    fit: FitResult | None
    frozen: list[str] = field(default_factory=list)
    reinitialised: list[str] = field(default_factory=list)


def _new_model(data: TransferData, config: TwoTowerConfig, seed: int) -> TwoTower:
    torch.manual_seed(seed)
    return TwoTower(config, data.vocab)


def _concat(a: EncodedInteractions, b: EncodedInteractions) -> EncodedInteractions:
    ratings = None
    if a.ratings is not None and b.ratings is not None:
        ratings = np.concatenate([a.ratings, b.ratings])
    return EncodedInteractions(
        np.concatenate([a.users, b.users]),
        np.concatenate([a.items, b.items]),
        np.concatenate([a.domains, b.domains]),
        ratings,
    )


def pretrain(
    data: TransferData,
    *,
    model_config: TwoTowerConfig,
    train_config: TrainConfig | None = None,
) -> tuple[TwoTower, FitResult]:
    """Train a model on the source domain only (the ``pretrain`` phase).

    The user tower pools source history only; no target data is seen.
    Without a source validation set, all ``train_config.epochs`` run.

    Returns
    -------
    (TwoTower, FitResult)
    """
    tc = train_config or TrainConfig()
    model = _new_model(data, model_config, tc.seed)
    model.set_history(data.vocab.histories(data.source, max_len=model_config.max_history))
    model.trained_until = _latest(data.source)
    result = fit(model, data.vocab.encode(data.source), config=tc)
    return model, result


def _latest(*parts: Interactions) -> str | None:
    """Latest timestamp of the tables that have one (ISO 8601, UTC); None if none has."""
    stamped = [p for p in parts if "timestamp" in p.data.columns and len(p)]
    if not stamped:
        return None
    latest = max(p.data["timestamp"].max() for p in stamped)
    if latest is None or latest is pd.NaT:
        return None
    ts = pd.Timestamp(latest)
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).isoformat()


def transfer(
    strategy: str | Strategy,
    data: TransferData,
    *,
    pretrained: TwoTower | None = None,
    train_config: TrainConfig | None = None,
    model_config: TwoTowerConfig | None = None,
    freeze: list[str] | None = None,
    reinit: list[str] | None = None,
    joint: bool = False,
    target_model: TwoTower | None = None,
    mapper_epochs: int = 200,
) -> TransferResult:
    """Transfer to the target domain with a named strategy.

    Parameters
    ----------
    strategy : {"full", "freeze", "reinit", "scratch", "mapping"}
        See :class:`~xcat.transfer.Strategy` and :func:`~xcat.transfer.plan`.
    data : TransferData
    pretrained : TwoTower, optional
        The source model from :func:`pretrain`; required by every strategy
        but ``scratch``. It is not modified (a copy is trained).
    train_config : TrainConfig, optional
        Target-phase training; early stopping on ``data.target_valid``.
    model_config : TwoTowerConfig, optional
        For ``scratch`` (and the target model of ``mapping``); default the
        pretrained model's config.
    freeze : list of str, optional
        ``freeze`` only: names/prefixes to keep fixed (default
        :data:`~xcat.transfer.DEFAULT_FREEZE`); unknown names raise
        ValueError with close matches.
    reinit : list of str, optional
        ``reinit`` only: names/prefixes to re-draw (default the item tower).
    joint : bool, default False
        Train the target phase on source + target interactions instead of
        target only (``full``/``freeze``/``reinit``); ``train_config``'s
        ``sampling`` and ``domain_weights`` then balance the categories.
    target_model : TwoTower, optional
        ``mapping`` only: an already trained target-only model (e.g. the
        ``scratch`` result) to reuse instead of training one.
    mapper_epochs : int, default 200
        ``mapping`` only: epochs of the EMCDR mapping MLP.

    Returns
    -------
    TransferResult

    Raises
    ------
    ValueError
        If the strategy is unknown, a needed model is missing, a freeze or
        reinit name matches no parameter, or no user overlaps (mapping).
    """
    spec = plan(strategy, freeze=freeze, reinit=reinit)
    tc = train_config or TrainConfig()
    if spec.strategy is not Strategy.SCRATCH and pretrained is None:
        raise ValueError(
            f"pretrained: the {spec.strategy.value!r} strategy needs the pretrained source model"
        )
    mc = model_config or (pretrained.config if pretrained is not None else None)
    if mc is None:
        raise ValueError("model_config: needed for 'scratch' when no pretrained model is given")
    vocab = data.vocab
    for role, m in (("pretrained", pretrained), ("target_model", target_model)):
        if m is not None and (m.config.n_users, m.config.n_items) != (vocab.n_users, vocab.n_items):
            raise ValueError(
                f"{role}: built for {m.config.n_users} users and {m.config.n_items} items, but "
                f"data.vocab has {vocab.n_users} and {vocab.n_items}; use the same Vocab"
            )
    valid = data.validation()

    if spec.strategy is Strategy.SCRATCH:
        model = _new_model(data, mc, tc.seed)
        model.set_history(vocab.histories(data.target_train, max_len=mc.max_history))
        model.trained_until = _latest(data.target_train)
        res = fit(model, vocab.encode(data.target_train), config=tc, valid=valid)
        return TransferResult(spec, model, res)

    assert pretrained is not None
    if spec.strategy is Strategy.MAPPING:
        if target_model is None:
            target_model = transfer("scratch", data, train_config=tc, model_config=mc).model
        warm_s = pretrained.has_history()
        warm_t = target_model.has_history()
        overlap = np.flatnonzero(warm_s & warm_t)
        mapper = fit_mapper(
            pretrained.user_embeddings(overlap),
            target_model.user_embeddings(overlap),
            epochs=mapper_epochs,
            seed=tc.seed,
        )
        return TransferResult(
            spec, MappedModel(pretrained, target_model, mapper, cold=~warm_t), None
        )

    # full / freeze / reinit: start from the pretrained weights
    fresh = _new_model(data, pretrained.config, tc.seed + 1)
    state = copy_weights(pretrained.state_dict(), fresh.state_dict())
    reinitialised: list[str] = []
    if spec.reinit:
        param_names = [n for n, _ in fresh.named_parameters()]
        state, reinitialised = reinit_weights(
            state, fresh.state_dict(), spec.reinit, parameters=param_names
        )
    model = clone_model(fresh)
    model.load_state_dict(state)
    frozen = frozen_parameters(spec, [n for n, _ in model.named_parameters()])
    parts = [data.source, data.target_train]
    model.set_history(vocab.histories(*parts, max_len=model.config.max_history))
    train = vocab.encode(data.target_train)
    if joint:
        train = _concat(vocab.encode(data.source), train)
    model.frozen = tuple(frozen)
    model.trained_until = _latest(*parts)
    res = fit(model, train, config=tc, valid=valid, frozen=frozen)
    return TransferResult(spec, model, res, frozen=frozen, reinitialised=reinitialised)
