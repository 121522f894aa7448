"""Batches carry the histories; one step per loss, identical to the loop before the move."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="the training tests need the train extra (torch)")

import torch  # noqa: E402
from models_synthetic import make_cross_domain  # noqa: E402
from xcat.models import TwoTower, Vocab, bpr_loss, mse_loss, sampled_softmax_loss  # noqa: E402
from xcat.train import LOSS_STEPS, BatchSource, LossInputs, TrainConfig, train_step  # noqa: E402
from xcat.train.steps import without_items  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def small():
    data, _, _ = make_cross_domain(n_users=60, seed=0)
    v = Vocab.from_interactions(data.source, data.target)
    torch.manual_seed(0)
    cfg = v.model_config(dim=8, embedding_dim=8, hidden_dims=(16,), dropout=0.1, max_history=10)
    m = TwoTower(cfg, v)
    m.set_history(v.histories(data.source, data.target, max_len=10))
    return m, v.encode(data.target)


def test_without_items_removes_each_rows_positive():
    hist = torch.tensor([[1, 2, 1, 9], [3, 4, 9, 9]])
    out = without_items(hist, torch.tensor([1, 5]), pad=9)
    assert out.tolist() == [[9, 2, 9, 9], [3, 4, 9, 9]]
    assert hist.tolist() == [[1, 2, 1, 9], [3, 4, 9, 9]]  # a new tensor


def test_batches_hold_users_their_histories_and_items(small):
    m, train = small
    pad = m.config.n_items
    w = torch.arange(len(train), dtype=torch.float32)
    src = BatchSource(train, m.user_history, pad=pad, device=torch.device("cpu"), weights=w)
    rows = torch.tensor([5, 0, 17])
    b = src.batch(rows)
    u, i = torch.from_numpy(train.users[[5, 0, 17]]), torch.from_numpy(train.items[[5, 0, 17]])
    assert torch.equal(b.users, u) and torch.equal(b.items, i)
    hist = m.user_history[u]
    assert torch.equal(b.history, hist.masked_fill(hist == i[:, None], pad))
    assert not (b.history == i[:, None]).any()  # the positive is never an input
    assert torch.equal(b.weights, w[rows]) and b.targets is None


def _old_step(model, u, i, neg_pool, gen, log_q, config, targets, optims):
    """The body of the training loop before batches carried histories (stored-buffer path)."""
    hist = model.user_history[u]
    hist = hist.masked_fill(hist == i[:, None], model.config.n_items)
    uv = model.user_tower(u, hist)
    iv = model.encode_items(i)
    if config.loss == "softmax":
        loss = sampled_softmax_loss(
            uv, iv, temperature=config.temperature, log_q=log_q[i], item_ids=i
        )
    else:
        neg = neg_pool[torch.randint(len(neg_pool), (len(u),), generator=gen)]
        nv = model.encode_items(neg)
        if config.loss == "bpr":
            loss = bpr_loss(uv, iv, nv, temperature=config.temperature)
        elif targets is not None:
            loss = mse_loss(uv, iv, targets)
        else:
            ones = torch.ones(len(u))
            loss = mse_loss(
                torch.cat([uv, uv]), torch.cat([iv, nv]), torch.cat([ones, torch.zeros_like(ones)])
            )
    for opt in optims:
        opt.zero_grad(set_to_none=True)
    loss.backward()
    for opt in optims:
        opt.step()
    return loss.detach()


@pytest.mark.parametrize(
    ("loss", "ratings"), [("softmax", False), ("bpr", False), ("mse", False), ("mse", True)]
)
def test_train_step_is_bit_identical_to_the_loop_before(small, loss, ratings):
    """Same seed, same batches: the history-in-batch step gives the old step's numbers."""
    model, train = small
    config = TrainConfig(loss=loss, progress=False)
    cpu = torch.device("cpu")
    counts = np.bincount(train.items, minlength=model.config.n_items).astype(np.float64)
    log_q = torch.from_numpy(np.log(np.maximum(counts, 1) / counts.sum()).astype(np.float32))
    pool = torch.from_numpy(np.unique(train.items))
    targets = torch.linspace(-1, 1, len(train)) if ratings else None
    a, b = model.clone(), model.clone()
    opt_a = [torch.optim.Adam(a.parameters(), lr=1e-2)]
    opt_b = [torch.optim.Adam(b.parameters(), lr=1e-2)]
    gen_a, gen_b = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    inputs = LossInputs(config, log_q, pool, gen_b, cpu)
    source = BatchSource(train, b.user_history, pad=b.config.n_items, device=cpu, targets=targets)
    a.train(), b.train()
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(train)))
    for s in range(0, 5 * 32, 32):
        idx = order[s : s + 32]
        u, i = torch.from_numpy(train.users)[idx], torch.from_numpy(train.items)[idx]
        t = targets[idx] if targets is not None else None
        torch.manual_seed(s)  # the same dropout draws on both paths
        la = _old_step(a, u, i, pool, gen_a, log_q, config, t, opt_a)
        torch.manual_seed(s)
        lb = train_step(b, source.batch(idx), opt_b, inputs)
        assert torch.equal(la, lb)
    sa, sb = a.state_dict(), b.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert set(LOSS_STEPS) == {"softmax", "ce", "bpr", "mse"}
