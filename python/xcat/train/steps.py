"""Training batches and one optimizer step per loss, shared by :func:`~xcat.train.fit`.

:func:`xcat.train.fit` (and :func:`xcat.train.update`, which fine-tunes
through it) draws row indices, turns them into a :class:`Batch` with
:class:`BatchSource` (users, their histories, items) and calls
:func:`train_step`, which runs the step of the configured loss
(:data:`LOSS_STEPS`). The user tower gets the histories from the batch: it
never reads the model's stored histories.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from xcat.models.losses import bpr_loss, mse_loss, sampled_softmax_loss
from xcat.models.two_tower import TwoTower
from xcat.models.vocab import EncodedInteractions
from xcat.train.config import TrainConfig

__all__ = [
    "LOSS_STEPS",
    "Batch",
    "BatchSource",
    "LossInputs",
    "bpr_step",
    "mse_step",
    "softmax_step",
    "train_step",
    "without_items",
]


@dataclass(frozen=True)
class Batch:
    """One training batch of (user, positive item) rows.

    Attributes
    ----------
    users : torch.LongTensor, shape (B,)
    history : torch.LongTensor, shape (B, L)
        Each user's history items (padded with ``n_items``), the row's
        positive removed so the tower cannot copy its label.
    items : torch.LongTensor, shape (B,)
        The positives.
    weights : torch.Tensor, shape (B,), optional
        Per-row loss weights (``TrainConfig.domain_weights``).
    targets : torch.Tensor, shape (B,), optional
        MSE targets in ``[-1, 1]`` (explicit ratings).
    """

    users: torch.Tensor
    history: torch.Tensor
    items: torch.Tensor
    weights: torch.Tensor | None = None
    targets: torch.Tensor | None = None


def without_items(history: torch.Tensor, items: torch.Tensor, pad: int) -> torch.Tensor:
    """Remove each row's item from its history.

    Parameters
    ----------
    history : torch.LongTensor, shape (B, L)
    items : torch.LongTensor, shape (B,)
    pad : int
        The padding row (``n_items``) written in place of the removed entries.

    Returns
    -------
    torch.LongTensor, shape (B, L)
        A new tensor; every occurrence of ``items[b]`` in row ``b`` is ``pad``.
    """
    return history.masked_fill(history == items[:, None], pad)


class BatchSource:
    """Builds :class:`Batch` objects from training rows and the users' histories.

    Parameters
    ----------
    train : EncodedInteractions
        Training interactions.
    history : torch.LongTensor, shape (n_users, L)
        Item rows of every user's history, padded with ``pad``, on ``device``.
    pad : int
        The padding row of ``history`` (``n_items``).
    device : torch.device
    weights : torch.Tensor, shape (len(train),), optional
        Per-row loss weights.
    targets : torch.Tensor, shape (len(train),), optional
        Per-row MSE targets.
    """

    def __init__(
        self,
        train: EncodedInteractions,
        history: torch.Tensor,
        *,
        pad: int,
        device: torch.device,
        weights: torch.Tensor | None = None,
        targets: torch.Tensor | None = None,
    ) -> None:
        self.users = torch.from_numpy(train.users)
        self.items = torch.from_numpy(train.items)
        self.history = history
        self.pad = pad
        self.device = device
        self.weights = weights
        self.targets = targets

    def batch(self, rows: torch.Tensor) -> Batch:
        """Return the batch of training rows ``rows`` (int64, on the CPU)."""
        u = self.users[rows].to(self.device)
        i = self.items[rows].to(self.device)
        return Batch(
            users=u,
            history=without_items(self.history[u], i, self.pad),
            items=i,
            weights=self.weights[rows].to(self.device) if self.weights is not None else None,
            targets=self.targets[rows].to(self.device) if self.targets is not None else None,
        )


@dataclass(frozen=True)
class LossInputs:
    """What the loss steps need besides the batch.

    Attributes
    ----------
    config : TrainConfig
        Loss name, temperature, log-Q correction.
    log_q : torch.Tensor, shape (n_items,)
        Log training frequency of every item, on the training device.
    negatives : torch.LongTensor, shape (P,)
        Item rows negatives are drawn from (BPR, implicit MSE), on the CPU.
    generator : torch.Generator
        CPU generator of the negative draws.
    device : torch.device
    """

    config: TrainConfig
    log_q: torch.Tensor
    negatives: torch.Tensor
    generator: torch.Generator
    device: torch.device

    def draw_negatives(self, n: int) -> torch.Tensor:
        """``n`` item rows drawn uniformly (with replacement) from ``negatives``, on ``device``."""
        pick = torch.randint(len(self.negatives), (n,), generator=self.generator)
        return self.negatives[pick].to(self.device)


def softmax_step(model: TwoTower, batch: Batch, inputs: LossInputs) -> torch.Tensor:
    """Compute the sampled softmax loss with in-batch negatives (log-Q corrected if set)."""
    c = inputs.config
    uv = model.encode_users(batch.users, batch.history)
    iv = model.encode_items(batch.items)
    return sampled_softmax_loss(
        uv,
        iv,
        temperature=c.temperature,
        log_q=inputs.log_q[batch.items] if c.log_q else None,
        item_ids=batch.items,
        weights=batch.weights,
    )


def bpr_step(model: TwoTower, batch: Batch, inputs: LossInputs) -> torch.Tensor:
    """Compute the BPR loss against one uniformly drawn negative per row."""
    uv = model.encode_users(batch.users, batch.history)
    iv = model.encode_items(batch.items)
    nv = model.encode_items(inputs.draw_negatives(len(batch.items)))
    return bpr_loss(uv, iv, nv, temperature=inputs.config.temperature, weights=batch.weights)


def mse_step(model: TwoTower, batch: Batch, inputs: LossInputs) -> torch.Tensor:
    """Compute the MSE on the rating targets, or of positives 1 / one drawn negative 0 per row.

    A negative is drawn even with rating targets, so the random streams (and
    the results) do not depend on whether the data has ratings.
    """
    uv = model.encode_users(batch.users, batch.history)
    iv = model.encode_items(batch.items)
    nv = model.encode_items(inputs.draw_negatives(len(batch.items)))
    wb = batch.weights
    if batch.targets is not None:
        return mse_loss(uv, iv, batch.targets, weights=wb)
    ones = torch.ones(len(batch.items), device=inputs.device)
    ww = torch.cat([wb, wb]) if wb is not None else None
    return mse_loss(
        torch.cat([uv, uv]),
        torch.cat([iv, nv]),
        torch.cat([ones, torch.zeros_like(ones)]),
        weights=ww,
    )


#: The step of each loss (``TrainConfig.loss``): the batch's loss, before backward.
LOSS_STEPS: dict[str, Callable[[TwoTower, Batch, LossInputs], torch.Tensor]] = {
    "softmax": softmax_step,
    "bpr": bpr_step,
    "mse": mse_step,
}


def train_step(
    model: TwoTower,
    batch: Batch,
    optimizers: Sequence[torch.optim.Optimizer],
    inputs: LossInputs,
    *,
    bf16: bool = False,
) -> torch.Tensor:
    """One optimizer step: the configured loss on ``batch``, backward, every optimizer steps.

    Parameters
    ----------
    model : TwoTower
        In train mode, on ``inputs.device``.
    batch : Batch
    optimizers : sequence of torch.optim.Optimizer
    inputs : LossInputs
        ``inputs.config.loss`` picks the step in :data:`LOSS_STEPS`.
    bf16 : bool, default False
        Run the forward pass under CUDA bfloat16 autocast.

    Returns
    -------
    torch.Tensor
        The loss, a detached scalar.
    """
    step = LOSS_STEPS[inputs.config.loss]
    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
        loss = step(model, batch, inputs)
    for opt in optimizers:
        opt.zero_grad(set_to_none=True)
    loss.backward()
    for opt in optimizers:
        opt.step()
    return loss.detach()
