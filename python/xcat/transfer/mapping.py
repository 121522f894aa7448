"""EMCDR embedding mapping (Man et al., IJCAI 2017): fitting the mapping.

*Cross-Domain Recommendation: An Embedding and Mapping Approach*.

Two models are trained separately, one per domain. A small MLP ``f`` is then
fitted on the overlapping users so that ``f(u_source) ~ u_target``; a
cold-start user of the target domain is represented by ``f(u_source)``. The
model types (:class:`~xcat.models.mapped.EmcdrMapper`,
:class:`~xcat.models.mapped.MappedModel`) live in :mod:`xcat.models.mapped`.
"""

from __future__ import annotations

import numpy as np
import torch

from xcat.models.mapped import EmcdrMapper

__all__ = ["fit_mapper"]


def fit_mapper(
    source_vectors: np.ndarray,
    target_vectors: np.ndarray,
    *,
    hidden_dim: int | None = None,
    epochs: int = 200,
    lr: float = 1e-3,
    batch_size: int = 256,
    seed: int = 0,
) -> EmcdrMapper:
    r"""Fit the mapping on overlapping users by mean squared error.

    .. math:: \min_f \sum_{u \in \mathcal{U}_s \cap \mathcal{U}_t} \| f(u_s) - u_t \|^2

    Parameters
    ----------
    source_vectors : numpy.ndarray of float32, shape (N, d_s)
        Source-model embeddings of the overlapping users.
    target_vectors : numpy.ndarray of float32, shape (N, d_t)
        Target-model embeddings of the same users, same row order.
    hidden_dim : int, optional
    epochs : int, default 200
    lr : float, default 1e-3
    batch_size : int, default 256
    seed : int, default 0

    Returns
    -------
    EmcdrMapper
        In eval mode, on CPU.

    Raises
    ------
    ValueError
        If the arrays are not 2-D with the same number of rows (at least 2).
    """
    xs = np.asarray(source_vectors, dtype=np.float32)
    ys = np.asarray(target_vectors, dtype=np.float32)
    if xs.ndim != 2 or ys.ndim != 2 or len(xs) != len(ys):
        raise ValueError(
            f"source_vectors/target_vectors: expected 2-D arrays with equal rows, "
            f"got {xs.shape} and {ys.shape}"
        )
    if len(xs) < 2:
        raise ValueError(f"source_vectors: need at least 2 overlapping users, got {len(xs)}")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    mapper = EmcdrMapper(xs.shape[1], ys.shape[1], hidden_dim)
    opt = torch.optim.Adam(mapper.parameters(), lr=lr)
    x, y = torch.from_numpy(xs), torch.from_numpy(ys)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for s in range(0, len(x), batch_size):
            idx = perm[s : s + batch_size]
            loss = ((mapper(x[idx]) - y[idx]) ** 2).sum(-1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return mapper.eval()
