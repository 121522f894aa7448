"""Training losses of the two-tower model, as plain functions.

All losses take L2-normalised embeddings (so scores are cosines in
``[-1, 1]``) and optional per-example weights (e.g. per-domain loss
weights), and return a scalar: the weighted mean over the batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = [
    "LOSSES",
    "bpr_loss",
    "full_softmax_loss",
    "get_loss",
    "mse_loss",
    "sampled_softmax_loss",
]


def _weighted_mean(values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    if weights is None:
        return values.mean()
    w = weights.to(values.dtype)
    return (values * w).sum() / w.sum().clamp_min(1e-12)


def _check_temperature(temperature: float) -> None:
    if not temperature > 0:
        raise ValueError(f"temperature: expected a positive number, got {temperature!r}")


def sampled_softmax_loss(
    users: torch.Tensor,
    items: torch.Tensor,
    *,
    temperature: float = 0.05,
    log_q: torch.Tensor | None = None,
    item_ids: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Compute the sampled softmax loss with in-batch negatives and log-Q correction.

    Row ``b`` is a (user, positive item) pair; the other positives of the
    batch are its negatives. With ``s_{bj} = u_b \cdot c_j / \tau`` and the
    sampling probability ``q_j`` of item ``j``,

    .. math::
        \ell_b = -\log \frac{\exp(s_{bb} - \log q_b)}{\sum_j \exp(s_{bj} - \log q_j)}

    Subtracting ``log q`` removes the bias of in-batch negatives toward
    popular items (Yi et al., *Sampling-Bias-Corrected Neural Modeling for
    Large Corpus Item Recommendations*, RecSys 2019).

    Parameters
    ----------
    users, items : torch.Tensor, shape (B, d)
        Unit-norm user and positive-item embeddings, row-aligned.
    temperature : float, default 0.05
        ``tau`` > 0.
    log_q : torch.Tensor, shape (B,), optional
        ``log q_j`` of each row's item (e.g. its log training frequency);
        None disables the correction.
    item_ids : torch.LongTensor, shape (B,), optional
        Item rows; when given, a row's positive that reappears elsewhere in
        the batch is not used as its negative (no false negatives).
    weights : torch.Tensor, shape (B,), optional
        Per-row weights (default 1).

    Returns
    -------
    torch.Tensor, scalar

    Raises
    ------
    ValueError
        If shapes disagree or ``temperature <= 0``.
    """
    _check_temperature(temperature)
    if users.shape != items.shape or users.ndim != 2:
        raise ValueError(
            f"users/items: expected equal (B, d) shapes, got {tuple(users.shape)} "
            f"and {tuple(items.shape)}"
        )
    logits = (users @ items.T).float() / temperature
    if log_q is not None:
        logits = logits - log_q.float()[None, :]
    if item_ids is not None:
        same = item_ids[:, None] == item_ids[None, :]
        same.fill_diagonal_(False)
        logits = logits.masked_fill(same, float("-inf"))
    target = torch.arange(len(users), device=users.device)
    return _weighted_mean(F.cross_entropy(logits, target, reduction="none"), weights)


def full_softmax_loss(
    users: torch.Tensor,
    catalogue: torch.Tensor,
    targets: torch.Tensor,
    *,
    temperature: float = 0.05,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Cross-entropy of the positive against every item of the catalogue (full softmax).

    With ``s_{bj} = u_b \cdot c_j / \tau`` over all ``N`` catalogue items,

    .. math:: \ell_b = -\log \frac{\exp(s_{b, y_b})}{\sum_{j=1}^{N} \exp(s_{bj})}

    the loss SASRec is trained with in its strongest published form
    (cross-entropy over all items rather than one sampled negative: Klenitskiy
    & Vasilev, *Turning Dross Into Gold Loss: is BERT4Rec really better than
    SASRec?*, RecSys 2023). No sampling, so no popularity correction is
    needed; for catalogues too large to score at every step use the sampled
    softmax (:func:`sampled_softmax_loss`) with its log-Q correction.

    Parameters
    ----------
    users : torch.Tensor, shape (B, d)
        Unit-norm user (or prefix) embeddings.
    catalogue : torch.Tensor, shape (N, d)
        Unit-norm embeddings of every item the softmax ranges over.
    targets : torch.LongTensor, shape (B,)
        Row of each example's positive in ``catalogue``.
    temperature : float, default 0.05
    weights : torch.Tensor, shape (B,), optional

    Returns
    -------
    torch.Tensor, scalar

    Raises
    ------
    ValueError
        If shapes disagree, a target is out of range or ``temperature <= 0``.
    """
    _check_temperature(temperature)
    if users.ndim != 2 or catalogue.ndim != 2 or users.shape[1] != catalogue.shape[1]:
        raise ValueError(
            f"users/catalogue: expected (B, d) and (N, d), got {tuple(users.shape)} and "
            f"{tuple(catalogue.shape)}"
        )
    if targets.shape != users.shape[:1]:
        raise ValueError(f"targets: expected shape ({len(users)},), got {tuple(targets.shape)}")
    if len(targets) and (int(targets.min()) < 0 or int(targets.max()) >= len(catalogue)):
        raise ValueError(f"targets: rows must be in 0..{len(catalogue) - 1}")
    logits = (users @ catalogue.T).float() / temperature
    return _weighted_mean(F.cross_entropy(logits, targets, reduction="none"), weights)


def bpr_loss(
    users: torch.Tensor,
    positives: torch.Tensor,
    negatives: torch.Tensor,
    *,
    temperature: float = 0.05,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Bayesian personalised ranking (Rendle et al., UAI 2009).

    .. math:: \ell_b = -\log \sigma\big((u_b \cdot c^+_b - u_b \cdot c^-_b) / \tau\big)

    Parameters
    ----------
    users, positives, negatives : torch.Tensor, shape (B, d)
        Unit-norm embeddings of users, their positives and one sampled
        negative each.
    temperature : float, default 0.05
    weights : torch.Tensor, shape (B,), optional

    Returns
    -------
    torch.Tensor, scalar
    """
    _check_temperature(temperature)
    if not (users.shape == positives.shape == negatives.shape):
        raise ValueError("users/positives/negatives: expected equal (B, d) shapes")
    diff = ((users * positives).sum(-1) - (users * negatives).sum(-1)).float() / temperature
    return _weighted_mean(-F.logsigmoid(diff), weights)


def mse_loss(
    users: torch.Tensor,
    items: torch.Tensor,
    targets: torch.Tensor,
    *,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""Squared error of the cosine score against a target in ``[-1, 1]``.

    .. math:: \ell_b = (u_b \cdot c_b - y_b)^2

    For explicit ratings the trainer maps ratings ``r`` in ``[r_min, r_max]``
    to ``y = 2 (r - r_min) / (r_max - r_min) - 1``; for implicit data it uses
    ``y = 1`` for positives and ``y = 0`` for sampled negatives.

    Parameters
    ----------
    users, items : torch.Tensor, shape (B, d)
    targets : torch.Tensor, shape (B,)
    weights : torch.Tensor, shape (B,), optional

    Returns
    -------
    torch.Tensor, scalar
    """
    if users.shape != items.shape or targets.shape != users.shape[:1]:
        raise ValueError("users/items/targets: expected shapes (B, d), (B, d), (B,)")
    scores = (users * items).sum(-1).float()
    return _weighted_mean((scores - targets.float()) ** 2, weights)


#: Loss functions by name.
LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "softmax": sampled_softmax_loss,
    "ce": full_softmax_loss,
    "bpr": bpr_loss,
    "mse": mse_loss,
}


def get_loss(name: str) -> Callable[..., torch.Tensor]:
    """Return the loss function called ``name`` (``"softmax"``, ``"ce"``, ``"bpr"``, ``"mse"``).

    Raises
    ------
    ValueError
        If the name is unknown.
    """
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"loss: expected one of {sorted(LOSSES)}, got {name!r}") from None
