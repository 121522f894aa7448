"""Loss functions against NumPy oracles and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch", reason="the model tests need the train extra (torch)")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from xcat.models import bpr_loss, get_loss, mse_loss, sampled_softmax_loss  # noqa: E402


def test_sampled_softmax_matches_numpy_oracle_with_log_q():
    g = torch.Generator().manual_seed(0)
    u = F.normalize(torch.randn(5, 4, generator=g), dim=-1)
    c = F.normalize(torch.randn(5, 4, generator=g), dim=-1)
    log_q = torch.log(torch.tensor([0.1, 0.2, 0.3, 0.25, 0.15]))
    got = sampled_softmax_loss(u, c, temperature=0.5, log_q=log_q)
    s = (u.numpy() @ c.numpy().T) / 0.5 - log_q.numpy()[None, :]
    expected = np.mean([-s[b, b] + math.log(np.exp(s[b]).sum()) for b in range(5)])
    assert got.item() == pytest.approx(expected, rel=1e-5)
    assert sampled_softmax_loss(u, c, temperature=0.5).item() != pytest.approx(expected, rel=1e-3)


def test_sampled_softmax_masks_repeated_positives_and_weights():
    g = torch.Generator().manual_seed(1)
    u = F.normalize(torch.randn(3, 4, generator=g), dim=-1)
    c = F.normalize(torch.randn(3, 4, generator=g), dim=-1)
    c[2] = c[0]
    ids = torch.tensor([7, 8, 7])
    s = (u.numpy() @ c.numpy().T) / 0.1
    per_row = []
    for b in range(3):
        keep = [j for j in range(3) if j == b or ids[j] != ids[b]]
        per_row.append(-s[b, b] + math.log(np.exp(s[b, keep]).sum()))
    w = torch.tensor([1.0, 0.0, 3.0])
    got = sampled_softmax_loss(u, c, temperature=0.1, item_ids=ids, weights=w)
    assert got.item() == pytest.approx((per_row[0] + 3 * per_row[2]) / 4, rel=1e-5)


def test_bpr_and_mse_values():
    u = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    n = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    expected = np.mean([np.log1p(np.exp(-(1 - 0) / 0.5)), np.log1p(np.exp(-(0.8 - 1) / 0.5))])
    assert bpr_loss(u, p, n, temperature=0.5).item() == pytest.approx(expected, rel=1e-5)
    assert mse_loss(u, p, torch.tensor([1.0, 0.0])).item() == pytest.approx((0 + 0.64) / 2)
    assert get_loss("bpr") is bpr_loss
    with pytest.raises(ValueError, match="loss"):
        get_loss("hinge")
    with pytest.raises(ValueError, match="temperature"):
        sampled_softmax_loss(u, p, temperature=0)


def test_full_softmax_matches_a_float64_oracle_and_checks_targets():
    from xcat.models import full_softmax_loss

    g = torch.Generator().manual_seed(2)
    u = F.normalize(torch.randn(4, 3, generator=g), dim=-1)
    cat = F.normalize(torch.randn(7, 3, generator=g), dim=-1)
    y = torch.tensor([0, 6, 3, 3])
    w = torch.tensor([1.0, 2.0, 0.5, 0.0])
    got = full_softmax_loss(u, cat, y, temperature=0.2, weights=w)
    s = u.double().numpy() @ cat.double().numpy().T / 0.2
    per = [-s[b, y[b]] + math.log(np.exp(s[b]).sum()) for b in range(4)]
    assert got.item() == pytest.approx(np.dot(per, w.numpy()) / w.sum().item(), rel=1e-5)
    assert get_loss("ce") is full_softmax_loss
    with pytest.raises(ValueError, match=r"targets: rows must be in 0..6"):
        full_softmax_loss(u, cat, torch.tensor([0, 7, 1, 1]))
    with pytest.raises(ValueError, match="users/catalogue"):
        full_softmax_loss(u, cat[:, :2], y)
