"""Sequence training: (prefix -> next item) examples, full softmax, what the trainer refuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch", reason="the training tests need the train extra (torch)")
pytest.importorskip("tqdm")

import torch  # noqa: E402
from xcat.data.interactions import Interactions  # noqa: E402
from xcat.evaluate.ranking import ValidationSet, model_metrics  # noqa: E402
from xcat.models import TwoTower, TwoTowerConfig, Vocab  # noqa: E402
from xcat.models.vocab import EncodedInteractions  # noqa: E402
from xcat.train import SequenceSource, TrainConfig, fit  # noqa: E402
from xcat.train.steps import cold_start_views  # noqa: E402

torch.set_num_threads(1)


def enc(users, items, n_domains=1):
    users, items = np.asarray(users, dtype=np.int64), np.asarray(items, dtype=np.int64)
    return EncodedInteractions(users, items, np.zeros(len(users), dtype=np.int64), None)


def test_examples_are_the_positions_whose_next_item_is_a_training_pair():
    pad = 9
    # user 0: source items 0, 1 then target items 5, 6; user 1: one target item; user 2: none
    history = torch.tensor(
        [[0, 1, 5, 6, pad], [7, pad, pad, pad, pad], [pad] * 5, [2, 5, 2, 6, pad]]
    )
    train = enc([0, 0, 1, 3, 3], [5, 6, 7, 5, 6])  # the target interactions
    src = SequenceSource(train, history, pad=pad, device=torch.device("cpu"))
    assert src.rows.tolist() == [0, 3]  # user 1's only item has no prefix, user 2 has nothing
    assert src.targets.tolist()[0] == [-1, 5, 6, -1, -1]  # source items are inputs only
    assert src.targets.tolist()[3] == [5, -1, 6, -1, -1]
    assert src.n_examples == 4
    b = src.batch(torch.tensor([1, 0]))
    assert b.sequential and b.n_examples == 4
    assert b.users.tolist() == [3, 0] and b.history.shape == (2, 4)  # cut to the longest
    w = torch.arange(10, dtype=torch.float32)
    bw = SequenceSource(train, history, pad=pad, device=torch.device("cpu"), item_weights=w)
    assert bw.batch(torch.tensor([0])).weights.tolist() == [[0.0, 5.0, 6.0, 0.0]]


def cyclic_data(n_users=120, n_items=12, length=7, seed=0):
    """Each user walks the item cycle i, i+1, i+2, ... from a random start.

    The next item is a function of the last one, which a sequence tower
    learns and a bag of items cannot (every item appears in every position).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        start = rng.integers(n_items)
        rows += [(f"u{u}", f"i{(start + t) % n_items}", "c") for t in range(length)]
    df = pd.DataFrame(rows, columns=["user", "item", "category"])
    last = df.groupby("user").cumcount(ascending=False).to_numpy() == 0
    return Interactions(df[~last].reset_index(drop=True)), Interactions(
        df[last].reset_index(drop=True)
    )


@pytest.mark.parametrize(
    ("tower", "loss"), [("sasrec", "ce"), ("gru", "ce"), ("sasrec", "softmax")]
)
def test_a_sequence_tower_learns_the_next_item_a_pooling_tower_cannot(tower, loss):
    train, held = cyclic_data()
    vocab = Vocab.from_interactions(train, held)
    hist = vocab.histories(train, max_len=8)
    valid = ValidationSet.build(
        vocab.encode(held),
        vocab.encode(train),
        n_items=vocab.n_items,
        candidates=np.arange(vocab.n_items),
    )
    ndcg = {}
    for name in (tower, "mean"):
        torch.manual_seed(0)
        cfg = vocab.model_config(
            user_tower=name, dim=16, embedding_dim=16, hidden_dims=(), max_history=8
        )
        model = TwoTower(cfg, vocab)
        tc = TrainConfig(
            loss=loss, epochs=40, batch_size=32, lr=1e-2, progress=False, patience=40, sparse=False
        )
        res = fit(model, vocab.encode(train), config=tc, history=hist)
        assert res.history[-1]["loss"] < res.history[0]["loss"]
        ndcg[name] = model_metrics(model, valid, k=1).ndcg  # HR@1: the next item on top
    assert ndcg[tower] > 0.8, ndcg
    assert ndcg["mean"] < 0.5, ndcg


def test_sequence_towers_take_only_softmax_losses_and_interaction_sampling():
    train, held = cyclic_data(n_users=10)
    vocab = Vocab.from_interactions(train, held)
    model = TwoTower(vocab.model_config(user_tower="gru", dim=4, embedding_dim=4), vocab)
    with pytest.raises(ValueError, match="'gru' tower is trained on .* got 'bpr'"):
        fit(model, vocab.encode(train), config=TrainConfig(loss="bpr", progress=False))
    with pytest.raises(ValueError, match="sampling: the 'gru' tower draws whole sequences"):
        fit(model, vocab.encode(train), config=TrainConfig(sampling="balanced", progress=False))
    # histories without any training pair after another item: nothing to learn from
    one = enc([0], [0])
    cfg = TwoTowerConfig(n_users=1, n_items=2, dim=4, embedding_dim=4, user_tower="gru")
    with pytest.raises(ValueError, match="no .*prefix -> next item"):
        fit(TwoTower(cfg), one, config=TrainConfig(progress=False), history=np.array([[0]]))


def test_domain_scoped_softmax_equals_a_softmax_masked_to_each_positives_domain():
    from xcat.train import LOSS_STEPS, LossInputs
    from xcat.train.steps import Batch

    torch.manual_seed(0)
    cfg = TwoTowerConfig(n_users=3, n_items=6, dim=4, embedding_dim=4, hidden_dims=())
    model = TwoTower(cfg).eval()
    catalogue = torch.tensor([0, 1, 2, 4, 5])  # item 3 is not in training
    index = torch.tensor([0, 1, 2, -1, 3, 4])
    doms = torch.tensor([0, 1, 0, 1, 1])  # domain of each catalogue item
    batch = Batch(
        users=torch.tensor([0, 1, 2, 0]),
        history=torch.full((4, 2), 6),
        items=torch.tensor([2, 4, 0, 5]),
        weights=torch.tensor([1.0, 2.0, 1.0, 0.5]),
    )
    out = {}
    for scope in ("catalogue", "domain"):
        tc = TrainConfig(loss="ce", ce_scope=scope, temperature=0.5, progress=False)
        inputs = LossInputs(
            tc,
            torch.zeros(6),
            catalogue,
            torch.Generator(),
            torch.device("cpu"),
            catalogue=catalogue,
            catalogue_index=index,
            catalogue_domains=doms,
        )
        with torch.no_grad():
            out[scope] = LOSS_STEPS["ce"](model, batch, inputs).item()
    with torch.no_grad():
        uv = model.encode_users(batch.users, batch.history).double()
        cv = model.encode_items(catalogue).double()
    s = (uv @ cv.T / 0.5).numpy()
    pos = index[batch.items].numpy()
    w = batch.weights.double().numpy()
    full, scoped = [], []
    for b in range(4):
        full.append(-s[b, pos[b]] + np.log(np.exp(s[b]).sum()))
        same = doms.numpy() == doms.numpy()[pos[b]]
        scoped.append(-s[b, pos[b]] + np.log(np.exp(s[b][same]).sum()))
    assert out["catalogue"] == pytest.approx(np.dot(full, w) / w.sum(), rel=1e-5)
    assert out["domain"] == pytest.approx(np.dot(scoped, w) / w.sum(), rel=1e-5)
    assert out["domain"] < out["catalogue"]


# --------------------------------------------------------------------------- cold-start views


def test_cold_start_views_drop_the_query_category_and_label_each_query_item():
    pad = 7
    # items 0-2 are category 0 (source), 3-6 category 1 (the query)
    item_domain = np.array([0, 0, 0, 1, 1, 1, 1])
    history = np.array(
        [
            [0, 3, 1, 4, pad],  # both categories: two views, history [0, 1]
            [2, pad, pad, pad, pad],  # source only, no query item to label
            [5, 4, pad, pad, pad],  # query only: nothing left to condition on
            [2, 2, 6, pad, pad],  # one query training item not in its history (5) counts too
        ]
    )
    train = enc([0, 0, 0, 2, 2, 3, 3], [0, 3, 4, 5, 4, 6, 5])
    seqs, labels = cold_start_views(history, train, item_domain, 1, pad=pad)
    assert labels.tolist() == [3, 4, 5, 6]
    assert seqs.tolist() == [
        [0, 1, pad, pad, pad],
        [0, 1, pad, pad, pad],
        [2, 2, pad, pad, pad],
        [2, 2, pad, pad, pad],
    ]
    none = cold_start_views(history, enc([1], [2]), item_domain, 1, pad=pad)
    assert none[0].shape == (0, 5) and none[1].shape == (0,)


def test_sequence_source_appends_one_weighted_example_per_view():
    pad = 9
    history = torch.tensor([[0, 5, 6, pad], [1, 7, pad, pad]])
    train = enc([0, 0, 1], [5, 6, 7])
    views = (np.array([[0, pad, pad, pad], [0, pad, pad, pad]]), np.array([5, 6]))
    plain = SequenceSource(train, history, pad=pad, device=torch.device("cpu"))
    src = SequenceSource(
        train, history, pad=pad, device=torch.device("cpu"), views=views, view_weight=0.5
    )
    assert src.n_examples == plain.n_examples + 2
    assert src.rows.tolist() == [0, 1, 2, 3]
    b = src.batch(torch.tensor([2, 0, 3]))
    assert b.history.tolist() == [[0, pad, pad], [0, 5, 6], [0, pad, pad]]
    assert b.items.tolist() == [[5, -1, -1], [5, 6, -1], [6, -1, -1]]
    keep = b.items >= 0
    assert b.weights[keep].tolist() == [0.5, 1.0, 1.0, 0.5]


def bridge_data(n_train=120, n_cold=60, k=6, seed=0):
    """Source item s_j, then a random target item a_r, then the target item b_j.

    A cold-start user (only s_j) will buy b_j. In the plain sequences, the
    prefix holding only s_j is followed by the random a_r: only the views
    (s_j -> every target item of the user) teach s_j -> b_j from that prefix.
    """
    rng = np.random.default_rng(seed)
    src, tgt, cold_src, cold_tgt = [], [], [], []
    for u in range(n_train + n_cold):
        j = rng.integers(k)
        if u < n_train:
            src.append((f"u{u}", f"s{j}", "src"))
            tgt += [(f"u{u}", f"a{rng.integers(k)}", "tgt"), (f"u{u}", f"b{j}", "tgt")]
        else:
            cold_src.append((f"u{u}", f"s{j}", "src"))
            cold_tgt.append((f"u{u}", f"b{j}", "tgt"))
    cols = ["user", "item", "category"]
    frame = lambda rows: Interactions(pd.DataFrame(rows, columns=cols))  # noqa: E731
    return frame(src + cold_src), frame(tgt), frame(cold_tgt)


def test_cold_start_views_teach_what_a_source_only_history_predicts():
    from xcat.transfer import TransferData, transfer

    source, target, cold = bridge_data()
    vocab = Vocab.from_interactions(source, target, cold)
    held = cold.take(np.arange(len(cold)) % 2 == 0)  # early-stopping users
    test = cold.take(np.arange(len(cold)) % 2 == 1)
    td = TransferData(vocab, source, target, held)
    mc = vocab.model_config(
        user_tower="sasrec", dim=16, embedding_dim=16, hidden_dims=(), max_history=4
    )
    targets = np.flatnonzero(vocab.item_domains == list(vocab.domains).index("tgt"))
    scored = ValidationSet.build(
        vocab.encode(test), vocab.encode(target), n_items=vocab.n_items, candidates=targets
    )
    ndcg = {}
    for weight in (0.0, 1.0):
        tc = TrainConfig(
            epochs=15, batch_size=32, lr=5e-3, loss="ce", sparse=False, progress=False,
            patience=15, seed=0, cold_views=weight,
        )  # fmt: skip
        res = transfer("joint", td, model_config=mc, train_config=tc)
        ndcg[weight] = model_metrics(res.model, scored, k=3).ndcg
    assert ndcg[1.0] > 0.9, ndcg
    assert ndcg[1.0] > ndcg[0.0] + 0.2, ndcg


def test_fit_refuses_cold_views_it_cannot_build():
    train, held = cyclic_data(n_users=10)
    vocab = Vocab.from_interactions(train, held)
    mean = TwoTower(vocab.model_config(dim=8, embedding_dim=8, hidden_dims=()), vocab)
    with pytest.raises(ValueError, match="cold_views: only the sequence towers"):
        fit(mean, vocab.encode(train), config=TrainConfig(cold_views=1.0, progress=False))
    seq = TwoTower(vocab.model_config(user_tower="sasrec", dim=8, embedding_dim=8), vocab)
    config = TrainConfig(cold_views=1.0, loss="ce", sparse=False, progress=False)
    with pytest.raises(ValueError, match="cold_views: needs a sequence tower asked for one"):
        fit(seq, vocab.encode(train), config=config, history=vocab.histories(train, max_len=8))
    with pytest.raises(ValueError, match="cold_views: expected a weight >= 0"):
        TrainConfig(cold_views=-1.0)
