"""Training configuration: a frozen dataclass saved as JSON with the model."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CE_SCOPES", "SAMPLING", "TrainConfig"]

#: Ways of drawing training interactions (see :class:`TrainConfig`).
SAMPLING = ("interaction", "balanced")

#: What the full softmax of the "ce" loss ranges over (see :class:`TrainConfig`).
CE_SCOPES = ("catalogue", "domain")


@dataclass(frozen=True)
class TrainConfig:
    """How to train a two-tower model.

    Attributes
    ----------
    loss : {"softmax", "ce", "bpr", "mse"}, default "softmax"
        Loss by name (:data:`xcat.models.LOSSES`): sampled softmax with
        in-batch negatives, full-softmax cross-entropy over the catalogue
        (``ce_scope``), BPR with one uniform negative, or MSE (explicit
        ratings when the data has them, else positives 1 / negatives 0).
        The sequence towers take ``"ce"`` or ``"softmax"``.
    temperature : float, default 0.05
        Softmax / BPR temperature ``tau`` (scores are cosines).
    log_q : bool, default True
        Log-Q popularity correction of the sampled softmax (Yi et al. 2019).
    epochs : int, default 20
        Maximum number of passes over the training interactions.
    batch_size : int, default 1024
        Interactions per step; for the sequence towers, sequences (users) per step.
    lr : float, default 1e-3
        Adam learning rate.
    weight_decay : float, default 0.0
        Adam weight decay of the dense (MLP) parameters; with ``sparse``
        the embedding tables get none.
    sparse : bool, default True
        Sparse gradients for the embedding tables, updated with
        :class:`torch.optim.SparseAdam` ("lazy Adam": only the rows in the
        batch move, as in TF's LazyAdam). Dense Adam touches every row of
        every table at every step, which dominates CPU time for large
        catalogues and small batches. False: dense Adam everywhere.
    patience : int, default 3
        Stop after this many evaluations without a better validation
        NDCG@k; the best weights are restored at the end.
    eval_k : int, default 10
        ``k`` of the validation NDCG@k used for early stopping.
    seed : int, default 0
        Seeds shuffling, negative sampling and dropout; CPU runs with the
        same seed, data and thread count are bit-identical.
    device : str, default "auto"
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``,
        ``"cuda:1"``...
    bf16 : bool, default True
        bfloat16 autocast, on CUDA only (ignored on CPU).
    num_threads : int or None, default None
        ``torch.set_num_threads`` during :func:`~xcat.train.fit` (restored
        afterwards); None leaves it.
    sampling : {"interaction", "balanced"}, default "interaction"
        When the training data spans several domains (categories):
        ``"interaction"`` draws every interaction once per epoch (large
        categories dominate); ``"balanced"`` draws each epoch's examples with
        replacement so that every domain contributes equally
        (category-balanced sampling). The default is "interaction": with
        one training domain (the usual fine-tuning) both are the same.
    domain_weights : dict of str to float, default {} (all 1.0)
        Per-domain loss weights by domain (category) name, e.g.
        ``{"Beauty": 0.5, "Toys_and_Games": 1.0}``; unlisted domains weigh 1.
    progress : bool, default True
        Show a tqdm progress bar with the loss and the validation metric.
    ce_scope : {"catalogue", "domain"}, default "catalogue"
        What the full softmax of the ``"ce"`` loss ranges over: every item of
        the training interactions, or only the items of the positive's own
        domain (category), the catalogue the model is asked to rank in
        (cheaper with several categories: the sequence towers already know
        the next item's category).
    max_steps : int or None, default None
        Stop after this many optimizer steps in all (bounded fine-tuning, as
        :func:`xcat.train.update` does); None: run the epochs.
    cold_views : float, default 0.0
        Sequence towers asked for one category (a query category): the loss
        weight of the *cold-start view* examples
        (:func:`~xcat.train.steps.cold_start_views`), 0 for none. Each user
        with training items in the query category and history in others gets
        extra examples: its history without the query category's items ->
        each of its query-category training items, the situation of a
        cold-start user at test time, simulated on the overlapping users as
        EMCDR (Man et al., IJCAI 2017) and PTUPCDR (Zhu et al., WSDM 2022)
        train their bridges.

    Raises
    ------
    ValueError
        Naming the field, for out-of-range values.
    """

    loss: str = "softmax"
    temperature: float = 0.05
    log_q: bool = True
    epochs: int = 20
    batch_size: int = 1024
    lr: float = 1e-3
    weight_decay: float = 0.0
    sparse: bool = True
    patience: int = 3
    eval_k: int = 10
    seed: int = 0
    device: str = "auto"
    bf16: bool = True
    num_threads: int | None = None
    sampling: str = "interaction"
    domain_weights: dict[str, float] = field(default_factory=dict)
    progress: bool = True
    max_steps: int | None = None
    ce_scope: str = "catalogue"
    cold_views: float = 0.0

    def __post_init__(self) -> None:
        from xcat.models.losses import LOSSES

        if self.loss not in LOSSES:
            raise ValueError(f"loss: expected one of {sorted(LOSSES)}, got {self.loss!r}")
        if not self.temperature > 0:
            raise ValueError(f"temperature: expected a positive number, got {self.temperature!r}")
        for name in ("epochs", "batch_size", "eval_k", "patience"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: expected a positive integer, got {v!r}")
        if not self.lr > 0:
            raise ValueError(f"lr: expected a positive number, got {self.lr!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay: expected >= 0, got {self.weight_decay!r}")
        if isinstance(self.cold_views, bool) or not (
            isinstance(self.cold_views, (int, float)) and self.cold_views >= 0
        ):
            raise ValueError(f"cold_views: expected a weight >= 0, got {self.cold_views!r}")
        if self.ce_scope not in CE_SCOPES:
            raise ValueError(f"ce_scope: expected one of {CE_SCOPES}, got {self.ce_scope!r}")
        if self.sampling not in SAMPLING:
            raise ValueError(f"sampling: expected one of {SAMPLING}, got {self.sampling!r}")
        if self.num_threads is not None and (
            not isinstance(self.num_threads, int) or self.num_threads < 1
        ):
            raise ValueError(
                f"num_threads: expected a positive integer or None, got {self.num_threads!r}"
            )
        if self.max_steps is not None and (
            isinstance(self.max_steps, bool)
            or not isinstance(self.max_steps, int)
            or self.max_steps < 1
        ):
            raise ValueError(
                f"max_steps: expected a positive integer or None, got {self.max_steps!r}"
            )
        for k, w in self.domain_weights.items():
            if not (isinstance(w, (int, float)) and w >= 0):
                raise ValueError(
                    f"domain_weights: weight of {k!r} must be a number >= 0, got {w!r}"
                )
        if self.device != "auto" and not self.device.startswith(("cpu", "cuda")):
            raise ValueError(f"device: expected 'auto', 'cpu' or 'cuda[:n]', got {self.device!r}")

    def replace(self, **changes: Any) -> TrainConfig:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, read back by :meth:`from_dict`."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        ValueError
            If ``d`` has unknown fields.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"TrainConfig: unknown fields {unknown}")
        return cls(**d)
