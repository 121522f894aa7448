"""Pretrain on the source domain, then transfer to the target with a named strategy."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from xcat.data.interactions import Interactions
from xcat.evaluate.ranking import ValidationSet
from xcat.models.config import TwoTowerConfig
from xcat.models.mapped import MappedModel
from xcat.models.remapping import RowCounts, remap, same_ids
from xcat.models.towers import SequenceTower
from xcat.models.two_tower import TwoTower
from xcat.models.vocab import EncodedInteractions, Vocab
from xcat.train.config import TrainConfig
from xcat.train.loop import FitResult, fit
from xcat.transfer.mapping import fit_mapper
from xcat.transfer.strategies import Strategy, StrategySpec, frozen_parameters, plan
from xcat.transfer.weights import copy_weights, reinit_weights

__all__ = [
    "TransferData",
    "TransferJob",
    "TransferResult",
    "on_vocab",
    "pretrain",
    "run_fine_tune",
    "run_mapping",
    "run_scratch",
    "transfer",
]

logger = logging.getLogger("xcat.transfer")


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
    id_mapping : dict
        How the rows of each given model (``"pretrained"``, ``"target_model"``)
        were matched to ``data.vocab`` by raw id: per id map (``"users"``,
        ``"items"``, ``"features"``) ``{"copied": int, "new": int, "dropped":
        int}`` (see :func:`transfer`). Empty for ``scratch`` without a
        pretrained model.
    """

    spec: StrategySpec
    model: Any
    fit: FitResult | None
    frozen: list[str] = field(default_factory=list)
    reinitialised: list[str] = field(default_factory=list)
    id_mapping: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)


def _new_model(
    data: TransferData,
    config: TwoTowerConfig,
    seed: int,
    domains: Sequence[str] | None = None,
) -> TwoTower:
    """Build a fresh model on ``data.vocab``, asked for ``domains`` (default the target's)."""
    torch.manual_seed(seed)
    model = TwoTower(config, data.vocab)
    ask_for(model, data.vocab, data.target_domain if domains is None else domains)
    return model


def ask_for(model: TwoTower, vocab: Vocab, domains: Sequence[str]) -> None:
    """Point a sequence tower's next-category query at ``domains`` (no-op for other towers).

    The user vectors of a :class:`~xcat.models.towers.SequenceTower` are asked
    for one category (:meth:`~xcat.models.towers.SequenceTower.set_query_domain`):
    the target when training or scoring on it, the source when pretraining.
    With several categories (or none) there is no query.
    """
    tower = model.user_tower
    if not isinstance(tower, SequenceTower) or tower.domain is None:
        return
    names = list(map(str, vocab.domains))
    one = len(domains) == 1 and str(domains[0]) in names
    tower.set_query_domain(names.index(str(domains[0])) if one else None)


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
    model = _new_model(data, model_config, tc.seed, tuple(map(str, data.source.categories)))
    model.trained_until = _latest(data.source)
    result = fit(
        model,
        data.vocab.encode(data.source),
        config=tc,
        history=data.vocab.histories(data.source, max_len=model_config.max_history),
    )
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


@dataclass(frozen=True)
class TransferJob:
    """One run of a strategy: what :func:`transfer` hands the strategy's run function.

    Attributes
    ----------
    spec : StrategySpec
        The declared weight moves (:func:`~xcat.transfer.plan`).
    data : TransferData
    train_config : TrainConfig
        Target-phase training.
    model_config : TwoTowerConfig
        Of a fresh model (``scratch``, the target model of ``mapping``).
    pretrained : TwoTower or None
        The source model (never modified).
    valid : ValidationSet or None
        Early-stopping set (``data.validation()``).
    joint : bool
        Train the target phase on source + target interactions.
    target_model : TwoTower or None
        ``mapping``: a trained target-only model to reuse.
    mapper_epochs : int
        ``mapping``: epochs of the mapping MLP.
    """

    spec: StrategySpec
    data: TransferData
    train_config: TrainConfig
    model_config: TwoTowerConfig
    pretrained: TwoTower | None = None
    valid: ValidationSet | None = None
    joint: bool = False
    target_model: TwoTower | None = None
    mapper_epochs: int = 200


def run_scratch(job: TransferJob) -> TransferResult:
    """Run ``scratch``: train a fresh model on the target only, with target histories only."""
    data, mc, tc = job.data, job.model_config, job.train_config
    model = _new_model(data, mc, tc.seed)
    model.trained_until = _latest(data.target_train)
    res = fit(
        model,
        data.vocab.encode(data.target_train),
        config=tc,
        valid=job.valid,
        history=data.vocab.histories(data.target_train, max_len=mc.max_history),
    )
    return TransferResult(job.spec, model, res)


def run_joint(job: TransferJob) -> TransferResult:
    """Run ``joint``: train a fresh model on source + target interactions together.

    The multi-domain baseline a transfer method must beat: no pretrain /
    fine-tune sequencing, the user tower sees both categories' histories,
    early stopping on the target validation set. ``train_config``'s
    ``sampling`` and ``domain_weights`` balance the categories.
    """
    data, mc, tc = job.data, job.model_config, job.train_config
    vocab = data.vocab
    model = _new_model(data, mc, tc.seed)
    parts = [data.source, data.target_train]
    model.trained_until = _latest(*parts)
    res = fit(
        model,
        _concat(vocab.encode(data.source), vocab.encode(data.target_train)),
        config=tc,
        valid=job.valid,
        history=vocab.histories(*parts, max_len=mc.max_history),
    )
    return TransferResult(job.spec, model, res)


def run_mapping(job: TransferJob) -> TransferResult:
    """Run ``mapping`` (EMCDR): map pretrained source user vectors into a target-only model.

    The target model is ``job.target_model``, or a ``scratch`` run trained first.
    """
    pretrained = job.pretrained
    assert pretrained is not None  # checked by transfer()
    target_model = job.target_model
    if target_model is None:
        target_model = transfer(
            "scratch",
            job.data,
            train_config=job.train_config,
            model_config=job.model_config,
            valid=job.valid,
        ).model
    warm_s = pretrained.has_history()
    warm_t = target_model.has_history()
    overlap = np.flatnonzero(warm_s & warm_t)
    mapper = fit_mapper(
        pretrained.user_embeddings(overlap),
        target_model.user_embeddings(overlap),
        epochs=job.mapper_epochs,
        seed=job.train_config.seed,
    )
    return TransferResult(
        job.spec, MappedModel(pretrained, target_model, mapper, cold=~warm_t), None
    )


def run_fine_tune(job: TransferJob) -> TransferResult:
    """Run ``full`` / ``freeze`` / ``reinit``: fine-tune the pretrained weights on the target.

    The spec's ``reinit`` names are re-drawn first and its ``freeze`` names
    kept fixed; the user tower sees source and target histories.
    """
    pretrained, data, tc, spec = job.pretrained, job.data, job.train_config, job.spec
    assert pretrained is not None  # checked by transfer()
    vocab = data.vocab
    fresh = _new_model(data, pretrained.config, tc.seed + 1)
    state = copy_weights(pretrained.state_dict(), fresh.state_dict())
    reinitialised: list[str] = []
    if spec.reinit:
        param_names = [n for n, _ in fresh.named_parameters()]
        state, reinitialised = reinit_weights(
            state, fresh.state_dict(), spec.reinit, parameters=param_names
        )
    model = fresh.clone()
    model.load_state_dict(state)
    ask_for(model, vocab, data.target_domain)  # the pretrained model asked for the source
    frozen = frozen_parameters(spec, [n for n, _ in model.named_parameters()])
    parts = [data.source, data.target_train]
    train = vocab.encode(data.target_train)
    if job.joint:
        train = _concat(vocab.encode(data.source), train)
    model.frozen = tuple(frozen)
    model.trained_until = _latest(*parts)
    res = fit(
        model,
        train,
        config=tc,
        valid=job.valid,
        frozen=frozen,
        history=vocab.histories(*parts, max_len=model.config.max_history),
    )
    return TransferResult(spec, model, res, frozen=frozen, reinitialised=reinitialised)


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
    valid: ValidationSet | None = None,
) -> TransferResult:
    """Transfer to the target domain with a named strategy.

    The strategy's entry of :data:`~xcat.transfer.STRATEGIES` says which
    function runs it (:func:`run_scratch`, :func:`run_fine_tune`,
    :func:`run_mapping`).

    Parameters
    ----------
    strategy : {"scratch", "full", "freeze", "reinit", "joint", "mapping"}
        See :data:`~xcat.transfer.STRATEGIES` and :func:`~xcat.transfer.plan`.
    data : TransferData
    pretrained : TwoTower, optional
        The source model from :func:`pretrain`; required by every strategy
        but ``scratch``. It is not modified (a copy is trained). Its rows
        are matched to ``data.vocab`` by raw id (:func:`on_vocab`), so a
        vocabulary rebuilt from changed data (other users, another order)
        gives every user and item its own pretrained row; with the same
        vocabulary nothing moves.
    train_config : TrainConfig, optional
        Target-phase training; early stopping on ``data.target_valid``.
    model_config : TwoTowerConfig, optional
        For ``scratch`` (and the target model of ``mapping``); default the
        pretrained model's config.
    freeze : list of str, optional
        ``freeze`` only: names/prefixes to keep fixed (default the
        pretrained model's :meth:`~xcat.models.TwoTower.default_freeze`,
        :data:`~xcat.transfer.DEFAULT_FREEZE` for the default user tower);
        unknown names raise ValueError with close matches.
    reinit : list of str, optional
        ``reinit`` only: names/prefixes to re-draw (default the item tower).
    joint : bool, default False
        Train the target phase on source + target interactions instead of
        target only (``full``/``freeze``/``reinit``); ``train_config``'s
        ``sampling`` and ``domain_weights`` then balance the categories.
    target_model : TwoTower, optional
        ``mapping`` only: an already trained target-only model (e.g. the
        ``scratch`` result) to reuse instead of training one; matched to
        ``data.vocab`` by raw id like ``pretrained``.
    mapper_epochs : int, default 200
        ``mapping`` only: epochs of the EMCDR mapping MLP.
    valid : ValidationSet, optional
        Early-stopping and best-epoch selection set; default
        ``data.validation()`` (every validation user). Pass a subset (e.g.
        the cold-start validation users) to select on one user group.

    Returns
    -------
    TransferResult
        ``id_mapping`` counts, per given model and id map, the rows copied,
        new and dropped.

    Raises
    ------
    ValueError
        If the strategy is unknown, a needed model is missing, a freeze or
        reinit name matches no parameter, no user overlaps (mapping), or a
        model without a vocabulary has other sizes than ``data.vocab``.
    """
    spec = plan(strategy, freeze=freeze, reinit=reinit, model=pretrained)
    definition = spec.definition
    tc = train_config or TrainConfig()
    if definition.needs_pretrained and pretrained is None:
        raise ValueError(
            f"pretrained: the {spec.strategy.value!r} strategy needs the pretrained source model"
        )
    if model_config is None and pretrained is None:
        raise ValueError("model_config: needed for 'scratch' when no pretrained model is given")
    # rows follow raw ids: a model built on another vocabulary is moved onto data.vocab
    id_mapping: dict[str, dict[str, dict[str, int]]] = {}
    if pretrained is not None:
        pretrained, id_mapping["pretrained"] = on_vocab(pretrained, data.vocab, "pretrained")
    if target_model is not None:
        target_model, id_mapping["target_model"] = on_vocab(
            target_model, data.vocab, "target_model"
        )
    mc = model_config or (pretrained.config if pretrained is not None else None)
    assert mc is not None  # checked above
    job = TransferJob(
        spec,
        data,
        tc,
        mc,
        pretrained=pretrained,
        valid=valid if valid is not None else data.validation(),
        joint=joint,
        target_model=target_model,
        mapper_epochs=mapper_epochs,
    )
    result: TransferResult = definition.run_function()(job)
    result.id_mapping = id_mapping
    return result


def on_vocab(
    model: TwoTower, vocab: Vocab, role: str = "model"
) -> tuple[TwoTower, dict[str, dict[str, int]]]:
    """Return ``model`` with its rows matched to ``vocab`` by raw id, and the counts.

    A model whose vocabulary gives every row the meaning ``vocab`` gives it
    (:func:`xcat.models.remapping.same_ids`: the same object, or the same
    ids in the same order, as when ``xcat transfer`` rebuilds the vocabulary
    from unchanged data) is returned as it is. Otherwise a copy is built by
    :func:`xcat.models.remap`: rows of ids known to both are copied, new
    ids start at the mean of the old rows (items: of their category),
    dropped ids are left out; the counts are logged (logger
    ``"xcat.transfer"``, INFO).

    Parameters
    ----------
    model : TwoTower
        Not modified.
    vocab : Vocab
        The vocabulary of the transfer data.
    role : str, default "model"
        Name of the model in messages.

    Returns
    -------
    (TwoTower, dict)
        The model on ``vocab`` and, per id map (``"users"``, ``"items"``,
        ``"features"``), ``{"copied": int, "new": int, "dropped": int}``.

    Raises
    ------
    ValueError
        If the model has no vocabulary and its sizes differ from ``vocab``'s
        (without raw ids its rows can only be taken by position), or the
        vocabularies disagree on whether items have features.
    """
    c = model.config
    if model.vocab is None:
        if (c.n_users, c.n_items) != (vocab.n_users, vocab.n_items):
            raise ValueError(
                f"{role}: built for {c.n_users} users and {c.n_items} items, but data.vocab has "
                f"{vocab.n_users} and {vocab.n_items}, and the model has no vocabulary to match "
                "its rows by raw id; use the same Vocab"
            )
        # no raw ids to match: rows are taken to mean what data.vocab's rows mean
        n_features = len(vocab.features) if vocab.features is not None else 0
        return model, {
            "users": RowCounts(c.n_users, 0, 0).to_dict(),
            "items": RowCounts(c.n_items, 0, 0).to_dict(),
            "features": RowCounts(n_features, 0, 0).to_dict(),
        }
    if same_ids(model.vocab, vocab):
        n_features = len(vocab.features) if vocab.features is not None else 0
        return model, {
            "users": RowCounts(vocab.n_users, 0, 0).to_dict(),
            "items": RowCounts(vocab.n_items, 0, 0).to_dict(),
            "features": RowCounts(n_features, 0, 0).to_dict(),
        }
    moved = remap(model, vocab)
    logger.info(
        "%s: rows matched to data.vocab by raw id: users %s; items %s; features %s",
        role,
        moved.counts["users"],
        moved.counts["items"],
        moved.counts["features"],
    )
    return moved.model, {k: v.to_dict() for k, v in moved.counts.items()}
