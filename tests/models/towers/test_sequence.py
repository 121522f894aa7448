"""The sequence user towers (SASRec, GRU4Rec): causality, padding, batching, save/load, learning."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="the model tests need the train extra (torch)")
pytest.importorskip("safetensors")

import torch  # noqa: E402
from models_synthetic import make_cross_domain  # noqa: E402
from xcat.models import TwoTower, TwoTowerConfig, Vocab, load, save  # noqa: E402
from xcat.models.towers import SequenceTower, get_tower  # noqa: E402
from xcat.models.towers.base import last_positions, left_align  # noqa: E402

TOWERS = ["sasrec", "gru"]
N_ITEMS, L = 30, 8
PAD = N_ITEMS


def make_model(tower: str, *, seed: int = 0, n_domains: int = 2, dropout: float = 0.1):
    torch.manual_seed(seed)
    cfg = TwoTowerConfig(
        n_users=10,
        n_items=N_ITEMS,
        embedding_dim=16,
        dim=8,
        hidden_dims=(),
        max_history=L,
        dropout=dropout,
        user_tower=tower,
        n_domains=n_domains,
        n_heads=2,
    )
    model = TwoTower(cfg).eval()
    model.user_tower.set_item_domains(np.arange(N_ITEMS) % n_domains)
    return model


def random_histories(rng: np.random.Generator, n: int, lengths=None) -> torch.Tensor:
    """Left-aligned histories of random lengths 1..L, padded with PAD."""
    h = np.full((n, L), PAD, dtype=np.int64)
    lengths = rng.integers(1, L + 1, n) if lengths is None else lengths
    for b, n_b in enumerate(lengths):
        h[b, :n_b] = rng.integers(0, N_ITEMS, n_b)
    return torch.from_numpy(h)


@pytest.mark.parametrize("tower", TOWERS)
def test_a_prefix_output_never_depends_on_later_items(tower):
    model = make_model(tower)
    rng = np.random.default_rng(0)
    h = random_histories(rng, 16, lengths=np.full(16, L))
    users = torch.zeros(16, dtype=torch.long)
    with torch.no_grad():
        base = model.user_tower.encode_positions(users, h)
        for t in range(1, L):
            # later items change, their categories (item % 2) stay: the next-category
            # token at position t - 1 is the query, known when asking for item t
            changed = h.clone()
            new = torch.from_numpy(rng.integers(0, N_ITEMS // 2, (16, L - t))) * 2
            changed[:, t:] = new + h[:, t:] % 2
            assert (changed[:, t:] != h[:, t:]).any()
            out = model.user_tower.encode_positions(users, changed)
            torch.testing.assert_close(out[:, :t], base[:, :t], rtol=0, atol=1e-6)
            # and the changed position itself does move (the check can fail)
            assert (out[:, t] - base[:, t]).abs().max() > 1e-3


@pytest.mark.parametrize("tower", TOWERS)
def test_the_next_category_and_the_query_steer_the_prefix_output(tower):
    model = make_model(tower)
    h = torch.tensor([[2, 4, 6, PAD, PAD, PAD, PAD, PAD], [2, 4, 7, PAD, PAD, PAD, PAD, PAD]])
    u = torch.zeros(2, dtype=torch.long)
    tw = model.user_tower
    with torch.no_grad():
        out = tw.encode_positions(u, h)
        # item 2 has category 0 vs 1: position 1 (asking for item 2) differs, position 0 not
        torch.testing.assert_close(out[0, 0], out[1, 0], rtol=0, atol=1e-6)
        assert (out[0, 1] - out[1, 1]).abs().max() > 1e-4
        assert tw.query_domain.item() == 2  # no query until the trainer sets one
        none = model.encode_users(u, h)
        tw.set_query_domain(1)
        one = model.encode_users(u, h)
        tw.set_query_domain(0)
        zero = model.encode_users(u, h)
    assert (one - zero).abs().max() > 1e-4 and (none - zero).abs().max() > 1e-4
    with pytest.raises(ValueError, match=r"domain: expected a row in 0..1"):
        tw.set_query_domain(2)


@pytest.mark.parametrize("tower", TOWERS)
def test_padding_and_holes_do_not_change_the_user_vector(tower):
    model = make_model(tower)
    rng = np.random.default_rng(1)
    h = random_histories(rng, 12, lengths=rng.integers(1, L // 2, 12))
    users = torch.zeros(12, dtype=torch.long)
    with torch.no_grad():
        base = model.encode_users(users, h)
        # fewer padding columns
        n = int((h != PAD).sum(1).max())
        torch.testing.assert_close(model.encode_users(users, h[:, :n]), base, rtol=0, atol=1e-6)
        # padding inside a row (an item removed) is skipped, order kept
        holed = torch.full_like(h, PAD)
        for b in range(len(h)):
            items = h[b][h[b] != PAD]
            holed[b, 1 : 1 + 2 * len(items) : 2] = items  # PAD, i0, PAD, i1, ...
        holed = holed[:, :L]
        keep = (holed != PAD).sum(1) == (h != PAD).sum(1)  # rows that fit in L columns
        assert keep.sum() >= 6
        torch.testing.assert_close(
            model.encode_users(users[keep], holed[keep]), base[keep], rtol=0, atol=1e-6
        )


@pytest.mark.parametrize("tower", TOWERS)
def test_a_user_scored_alone_or_in_a_batch_gets_the_same_vector(tower):
    model = make_model(tower)
    rng = np.random.default_rng(2)
    h = random_histories(rng, 20)
    users = torch.arange(20) % 10
    with torch.no_grad():
        batch = model.encode_users(users, h)
        for b in range(0, 20, 3):
            alone = model.encode_users(users[b : b + 1], h[b : b + 1])
            torch.testing.assert_close(alone[0], batch[b], rtol=0, atol=1e-6)


@pytest.mark.parametrize("tower", TOWERS)
def test_user_vector_is_the_last_item_output_and_unit_norm(tower):
    model = make_model(tower)
    h = torch.tensor([[3, 4, 5, PAD, PAD, PAD, PAD, PAD], [PAD] * L])
    with torch.no_grad():
        out = model.user_tower.encode_positions(torch.zeros(2, dtype=torch.long), h)
        u = model.encode_users(torch.zeros(2, dtype=torch.long), h)
    torch.testing.assert_close(u[0], out[0, 2])
    torch.testing.assert_close(u[1], out[1, 0])  # no history: the output at position 0
    torch.testing.assert_close(u.norm(dim=1), torch.ones(2))


def test_left_align_and_last_positions_by_hand():
    h = torch.tensor([[PAD, 7, PAD, 2, 9], [PAD] * 5, [1, 2, 3, 4, 5]])
    assert left_align(h, PAD).tolist() == [
        [7, 2, 9, PAD, PAD],
        [PAD] * 5,
        [1, 2, 3, 4, 5],
    ]
    assert last_positions(left_align(h, PAD), PAD).tolist() == [2, 0, 4]


@pytest.mark.parametrize("tower", TOWERS)
def test_category_embedding_is_used_and_domains_are_checked(tower):
    model = make_model(tower)
    h = torch.tensor([[3, 4, 5, PAD, PAD, PAD, PAD, PAD]])
    u = torch.zeros(1, dtype=torch.long)
    with torch.no_grad():
        before = model.encode_users(u, h)
        model.user_tower.set_item_domains(np.zeros(N_ITEMS, dtype=np.int64))
        after = model.encode_users(u, h)
    assert (before - after).abs().max() > 1e-4
    with pytest.raises(ValueError, match="item_domains: values must be in 0..1"):
        model.user_tower.set_item_domains(np.full(N_ITEMS, 2))
    with pytest.raises(ValueError, match="item_domains: expected shape"):
        model.user_tower.set_item_domains(np.zeros(3, dtype=np.int64))


def test_sasrec_refuses_histories_longer_than_its_positions():
    model = make_model("sasrec")
    with pytest.raises(ValueError, match="max_history"):
        model.user_tower.encode_positions(
            torch.zeros(1, dtype=torch.long), torch.zeros((1, L + 1), dtype=torch.long)
        )


def test_config_checks_heads_and_keeps_default_configs_unchanged():
    with pytest.raises(ValueError, match="n_heads: must divide embedding_dim=16"):
        TwoTowerConfig(n_users=2, n_items=3, embedding_dim=16, n_heads=3)
    d = TwoTowerConfig(n_users=2, n_items=3).to_dict()
    assert not {"n_domains", "n_layers", "n_heads", "user_tower"} & set(d)
    c = TwoTowerConfig(n_users=2, n_items=3, user_tower="sasrec", n_domains=2, n_layers=1)
    assert TwoTowerConfig.from_dict(c.to_dict()) == c


def test_registry_ships_the_sequence_towers():
    for name in TOWERS:
        cls = get_tower(name)
        assert issubclass(cls, SequenceTower) and cls.sequential and cls.name == name


@pytest.mark.parametrize("tower", TOWERS)
def test_save_load_round_trip_keeps_vectors_and_item_domains(tower, tmp_path):
    data, _, _ = make_cross_domain(n_users=40, seed=1)
    vocab = Vocab.from_interactions(data.source, data.target)
    cfg = vocab.model_config(
        user_tower=tower, dim=8, embedding_dim=8, hidden_dims=(), max_history=6, n_heads=2
    )
    assert cfg.n_domains == len(vocab.domains) == 2
    torch.manual_seed(0)
    model = TwoTower(cfg, vocab)
    assert model.user_tower.item_domain[:-1].tolist() == vocab.item_domains.tolist()
    model.set_history(vocab.histories(data.source, data.target, max_len=6))
    save(model, tmp_path / "m")
    back = load(tmp_path / "m")
    assert back.config == cfg
    for k, v in model.state_dict().items():
        assert torch.equal(v, back.state_dict()[k]), k
    np.testing.assert_array_equal(back.user_embeddings(), model.user_embeddings())


def test_remap_to_a_grown_vocabulary_rebuilds_item_domains_and_keeps_the_query():
    from xcat.models import remap

    data, _, _ = make_cross_domain(n_users=40, seed=1)
    vocab = Vocab.from_interactions(data.source, data.target)
    cfg = vocab.model_config(user_tower="sasrec", dim=8, embedding_dim=8, hidden_dims=())
    torch.manual_seed(0)
    model = TwoTower(cfg, vocab)
    model.user_tower.set_query_domain(1)
    # the same users and items listed in another order: every row moves
    other = Vocab.from_interactions(
        data.source.take(np.arange(len(data.source))[::-1]), data.target
    )
    moved = remap(model, other).model
    assert moved.user_tower.item_domain[:-1].tolist() == other.item_domains.tolist()
    assert moved.user_tower.query_domain.item() == 1
    assert set(moved.input_buffers) <= set(moved.state_dict())
    assert "user_tower.item_domain" not in TwoTower(vocab.model_config(), vocab).input_buffers
