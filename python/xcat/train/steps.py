"""Training batches and one optimizer step per loss, shared by :func:`~xcat.train.fit`.

:func:`xcat.train.fit` (and :func:`xcat.train.update`, which fine-tunes
through it) draws row indices, turns them into a :class:`Batch` and calls
:func:`train_step`, which runs the step of the configured loss
(:data:`LOSS_STEPS`). The user tower gets the histories from the batch: it
never reads the model's stored histories.

Two kinds of batches:

* :class:`BatchSource` (pooling towers): a row is one training
  interaction: the user, its history without the row's item, the item;
* :class:`SequenceSource` (sequential towers, ``UserEncoder.sequential``):
  a row is one user's time-ordered sequence; every position whose next item
  is a training interaction is an example (prefix -> next item), so one
  causal pass trains on all of them (as SASRec is trained).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from xcat.models.losses import bpr_loss, full_softmax_loss, mse_loss, sampled_softmax_loss
from xcat.models.towers.base import left_align
from xcat.models.two_tower import TwoTower
from xcat.models.vocab import EncodedInteractions
from xcat.train.config import TrainConfig

__all__ = [
    "LOSS_STEPS",
    "Batch",
    "BatchSource",
    "LossInputs",
    "SequenceSource",
    "bpr_step",
    "ce_step",
    "cold_start_views",
    "examples",
    "mse_step",
    "softmax_step",
    "train_step",
    "without_items",
]


@dataclass(frozen=True)
class Batch:
    """One training batch of (user, positive item) rows, or of users' sequences.

    Attributes
    ----------
    users : torch.LongTensor, shape (B,)
    history : torch.LongTensor, shape (B, L)
        Interaction rows: each user's history items (padded with
        ``n_items``), the row's positive removed so the tower cannot copy its
        label. Sequence rows: each user's time-ordered sequence, left-aligned.
    items : torch.LongTensor, shape (B,) or (B, L)
        The positives. For sequences, ``items[b, t]`` is the next item after
        position ``t`` when it is a training example, else ``-1``.
    weights : torch.Tensor, shape of ``items``, optional
        Per-example loss weights (``TrainConfig.domain_weights``).
    targets : torch.Tensor, shape (B,), optional
        MSE targets in ``[-1, 1]`` (explicit ratings).
    """

    users: torch.Tensor
    history: torch.Tensor
    items: torch.Tensor
    weights: torch.Tensor | None = None
    targets: torch.Tensor | None = None

    @property
    def sequential(self) -> bool:
        """Whether the rows are sequences (``items`` has one column per position)."""
        return self.items.ndim == 2

    @property
    def n_examples(self) -> int:
        """Number of training examples: rows, or sequence positions with a next item."""
        return int((self.items >= 0).sum()) if self.sequential else len(self.items)


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


class SequenceSource:
    """Builds sequence :class:`Batch` objects: one row per user, every next item an example.

    Parameters
    ----------
    train : EncodedInteractions
        Training interactions: position ``t`` of a user's sequence is an
        example when the (user, item at ``t + 1``) pair is among them (so a
        sequence of source and target items, fine-tuned on the target's
        interactions, learns only to predict target items, from prefixes that
        hold the source history).
    history : torch.LongTensor, shape (n_users, L)
        Every user's time-ordered sequence, left-aligned, padded with ``pad``,
        on ``device``.
    pad : int
        The padding row (``n_items``).
    device : torch.device
    item_weights : torch.Tensor, shape (n_items,), optional
        Loss weight of an example by its next item (``domain_weights`` by
        the item's domain).

    Attributes
    ----------
    rows : numpy.ndarray of int64
        The users with at least one example; a batch takes positions in it.
    n_examples : int
        Examples over all rows (one epoch).
    """

    def __init__(
        self,
        train: EncodedInteractions,
        history: torch.Tensor,
        *,
        pad: int,
        device: torch.device,
        item_weights: torch.Tensor | None = None,
        views: tuple[np.ndarray, np.ndarray] | None = None,
        view_weight: float = 1.0,
    ) -> None:
        seq = history.cpu().numpy()
        n_users = len(seq)
        n_items = pad
        keys = np.unique(train.users.astype(np.int64) * (n_items + 1) + train.items)
        nxt = seq[:, 1:]
        user_col = np.arange(len(seq), dtype=np.int64)[:, None]
        is_example = (nxt != pad) & np.isin(user_col * (n_items + 1) + nxt, keys)
        targets = np.full(seq.shape, -1, dtype=np.int64)
        targets[:, :-1] = np.where(is_example, nxt, -1)
        self.rows = np.flatnonzero(is_example.any(axis=1)).astype(np.int64)
        self.n_examples = int(is_example.sum())
        self.row_weights: torch.Tensor | None = None
        if views is not None and len(views[1]):
            # view rows follow the users' rows: one example each, at its last item
            v_seq, v_label = views
            v_targets = np.full(v_seq.shape, -1, dtype=np.int64)
            v_targets[np.arange(len(v_seq)), (v_seq != pad).sum(axis=1) - 1] = v_label
            history = torch.cat([history, torch.from_numpy(v_seq).to(history.device)])
            targets = np.concatenate([targets, v_targets])
            self.rows = np.concatenate([self.rows, n_users + np.arange(len(v_seq))])
            self.n_examples += len(v_seq)
            rw = np.ones(len(targets), dtype=np.float32)
            rw[n_users:] = view_weight
            self.row_weights = torch.from_numpy(rw).to(device)
        self.history = history
        self.targets = torch.from_numpy(targets).to(device)
        self.pad = pad
        self.device = device
        self.item_weights = item_weights

    def batch(self, rows: torch.Tensor) -> Batch:
        """Return the sequences of ``self.rows[rows]`` (int64, on the CPU), cut to their length."""
        u = torch.from_numpy(self.rows[rows.numpy()]).to(self.device)
        h = self.history[u]
        # left-aligned: columns past the longest sequence of the batch are padding only
        length = max(int((h != self.pad).sum(dim=1).max()), 1)
        items = self.targets[u, :length]
        w = None
        if self.item_weights is not None:
            w = torch.where(items >= 0, self.item_weights[items.clamp_min(0)], 0.0)
        if self.row_weights is not None:
            rw = self.row_weights[u][:, None].expand_as(items)
            w = rw if w is None else w * rw
        return Batch(users=u, history=h[:, :length], items=items, weights=w)


def cold_start_views(
    history: np.ndarray,
    train: EncodedInteractions,
    item_domain: np.ndarray,
    query_domain: int,
    *,
    pad: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Cold-start views: each user's history without the query category -> each query item.

    A cold-start user is asked for the query (target) category with a
    history of other categories only. A user with both is turned into that
    situation once per query-category training item: its sequence with the
    query category's items removed, labelled with the item. This trains the
    source -> target bridge on the overlapping users directly, as EMCDR
    (Man et al., IJCAI 2017) and PTUPCDR (Zhu et al., WSDM 2022) fit their
    mapping on them.

    Parameters
    ----------
    history : numpy.ndarray of int64, shape (n_users, L)
        Time-ordered sequences, left-aligned, padded with ``pad``.
    train : EncodedInteractions
        Training interactions; the labels are its query-category items.
    item_domain : numpy.ndarray of int64, shape (n_items,)
        Category row of every item.
    query_domain : int
        The category the views are labelled with.
    pad : int
        Padding row (``n_items``).

    Returns
    -------
    (numpy.ndarray of int64, numpy.ndarray of int64)
        Sequences ``(V, L)`` (left-aligned, padded, at least one item each)
        and their labels ``(V,)``; ``V`` is 0 when no user has both.
    """
    seq = np.asarray(history, dtype=np.int64)
    in_query = np.zeros(seq.shape, dtype=bool)
    real = seq != pad
    in_query[real] = item_domain[seq[real]] == query_domain
    keep = real & ~in_query
    view = left_align(torch.from_numpy(np.where(keep, seq, pad)), pad).numpy()
    has_view = keep.any(axis=1)
    q = item_domain[train.items] == query_domain
    pairs = np.unique(
        np.stack([train.users[q].astype(np.int64), train.items[q].astype(np.int64)], axis=1),
        axis=0,
    ).reshape(-1, 2)
    pairs = pairs[has_view[pairs[:, 0]]]
    return view[pairs[:, 0]], pairs[:, 1]


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
    catalogue : torch.LongTensor, shape (N,), optional
        Item rows the full softmax (``"ce"``) ranges over, on ``device``
        (the items of the training interactions).
    catalogue_index : torch.LongTensor, shape (n_items,), optional
        Position of each item row in ``catalogue`` (-1 if absent), on ``device``.
    catalogue_domains : torch.LongTensor, shape (N,), optional
        Domain row of each catalogue item (``ce_scope="domain"``), on ``device``.
    """

    config: TrainConfig
    log_q: torch.Tensor
    negatives: torch.Tensor
    generator: torch.Generator
    device: torch.device
    catalogue: torch.Tensor | None = None
    catalogue_index: torch.Tensor | None = None
    catalogue_domains: torch.Tensor | None = None

    def draw_negatives(self, n: int) -> torch.Tensor:
        """``n`` item rows drawn uniformly (with replacement) from ``negatives``, on ``device``."""
        pick = torch.randint(len(self.negatives), (n,), generator=self.generator)
        return self.negatives[pick].to(self.device)


def examples(
    model: TwoTower, batch: Batch
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Return the batch's examples as aligned (user vector, positive item, weight) rows.

    Returns
    -------
    (torch.Tensor, torch.LongTensor, torch.Tensor or None)
        User (or prefix) vectors ``(P, dim)``, positives ``(P,)`` and
        weights ``(P,)``: one row per interaction row, or per sequence
        position with a next item (``UserEncoder.encode_positions``).
    """
    if not batch.sequential:
        return model.encode_users(batch.users, batch.history), batch.items, batch.weights
    out = model.user_tower.encode_positions(batch.users, batch.history)
    keep = batch.items >= 0
    w = batch.weights[keep] if batch.weights is not None else None
    return out[keep], batch.items[keep], w


def softmax_step(model: TwoTower, batch: Batch, inputs: LossInputs) -> torch.Tensor:
    """Compute the sampled softmax loss with in-batch negatives (log-Q corrected if set)."""
    c = inputs.config
    uv, items, w = examples(model, batch)
    iv = model.encode_items(items)
    return sampled_softmax_loss(
        uv,
        iv,
        temperature=c.temperature,
        log_q=inputs.log_q[items] if c.log_q else None,
        item_ids=items,
        weights=w,
    )


def ce_step(model: TwoTower, batch: Batch, inputs: LossInputs) -> torch.Tensor:
    """Compute the full-softmax cross-entropy over ``inputs.catalogue`` (or each example's domain).

    With ``ce_scope="domain"`` each example's softmax ranges over the
    catalogue items of its positive's domain.
    """
    if inputs.catalogue is None or inputs.catalogue_index is None:
        raise ValueError("inputs: the 'ce' loss needs the catalogue")
    uv, items, w = examples(model, batch)
    tau = inputs.config.temperature
    pos = inputs.catalogue_index[items]
    if inputs.config.ce_scope == "catalogue" or inputs.catalogue_domains is None:
        cat = model.encode_items(inputs.catalogue)
        return full_softmax_loss(uv, cat, pos, temperature=tau, weights=w)
    # one softmax per domain, over that domain's items: the weighted mean over all examples
    doms = inputs.catalogue_domains
    ex_dom = doms[pos]
    w_all = w if w is not None else torch.ones(len(pos), device=uv.device)
    total = uv.new_zeros(())
    for d in torch.unique(ex_dom).tolist():
        sel = ex_dom == d
        members = torch.nonzero(doms == d).squeeze(1)
        local = torch.cumsum(doms == d, 0) - 1  # position of a catalogue row within its domain
        cat = model.encode_items(inputs.catalogue[members])
        loss_d = full_softmax_loss(
            uv[sel], cat, local[pos[sel]], temperature=tau, weights=w_all[sel]
        )
        total = total + loss_d * w_all[sel].sum()
    return total / w_all.sum().clamp_min(1e-12)


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
    "ce": ce_step,
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
