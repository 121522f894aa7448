"""The benchmarks' own splits (DisenCDR, CDRIB) and the papers' sampled protocol, end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from click.testing import CliRunner
from xcat.cli import main
from xcat.data.datasets import (
    load_amazon2014_5core,
    load_cdrib_amazon_coldstart,
    load_disencdr_amazon,
)
from xcat.data.domains import CrossDomainData
from xcat.data.interactions import Interactions
from xcat.data.synthetic import make_cross_category
from xcat.evaluate.ranking import TestEvaluator
from xcat.transfer.protocol import cold_start_protocol, published_protocol
from xcat.workflow.experiment import ExperimentConfig


def test_cdrib_published_split_matches_the_files(data_dir):
    data = load_cdrib_amazon_coldstart("video", "game", root=data_dir)
    p = published_protocol(data)
    # counts from ../shared/data/README.md (game_video = Toys & Games)
    assert p.info["valid_rows"] == 1_381 and p.info["test_rows"] == 1_304
    assert p.info["target_train_rows"] == 155_036 and p.info["target_items"] == 12_319
    assert p.info["source_rows"] == 156_091  # video_game/train.txt only
    assert len(p.test_all.users) == 212 and p.test_all.truth.nnz == 1_304
    # every CDRIB test user is a cold-start user of the target
    assert np.array_equal(p.test_cold.users, p.test_all.users)
    # no training row, but 199 of the 212 test users have rows in the valid file: known
    # positives, excluded from their test ranking (train + valid, as in RecBole); none of
    # them is also a test item of the user
    valid = p.data.vocab.encode(p.data.target_valid)
    of_test_users = np.isin(valid.users, p.test_all.users)
    assert len(np.unique(valid.users[of_test_users])) == 199
    excluded = sp.coo_matrix(p.test_all.exclude)
    got = set(zip(p.test_all.users[excluded.row].tolist(), excluded.col.tolist(), strict=True))
    want = {
        (u, i)
        for u, i, t in zip(valid.users.tolist(), valid.items.tolist(), of_test_users, strict=True)
        if t
    }
    assert got == want and len(got) == p.test_all.exclude.nnz == 1_346
    assert p.info["repeat_test_pairs"] == 0
    assert p.info["validation"] == "published valid file"
    valid = p.data.validation()
    assert valid is not None and len(valid.users) == 213
    # the source's own held-out rows (another direction's test) are not trained on
    assert set(p.data.source.data["split"]) == {"train"}


def test_disencdr_published_split_holds_validation_out_of_train(data_dir):
    data = load_disencdr_amazon("sport", "cloth", root=data_dir)
    p = published_protocol(data, valid_fraction=0.1, seed=0)
    # cloth_sport/: 7,540 test rows evaluated, 9,928 - 7,540 test_cold_item rows left out
    assert p.info["test_rows"] == 7_540
    assert p.info["excluded_target_rows"] == 9_928 - 7_540
    assert p.info["excluded_labels"] == ["test_cold_item"]
    # validation: one training row from 10 % of eligible users, removed from train
    assert p.info["valid_rows"] + p.info["target_train_rows"] == 87_829
    assert p.info["valid_rows"] == len(set(p.data.target_valid.data["user"]))
    assert 0.09 < p.info["valid_rows"] / 9_928 < 0.11

    def pairs(inter):
        return set(zip(inter.data["user"], inter.data["item"], strict=True))

    # DisenCDR's train files have no duplicate rows, so a held-out row is gone from train
    assert not pairs(p.data.target_train) & pairs(p.data.target_valid)
    # all DisenCDR users are shared and warm: no cold-start group
    assert len(p.test_cold.users) == 0 and p.info["warm_test_users"] == 7_540
    # the same seed gives the same validation rows
    again = published_protocol(data, valid_fraction=0.1, seed=0)
    assert again.data.target_valid.data.equals(p.data.target_valid.data)


def test_published_protocol_needs_a_split_column(data_dir):
    data = load_amazon2014_5core("beauty", "toys", root=data_dir)
    with pytest.raises(ValueError, match="split"):
        published_protocol(data)
    with pytest.raises(ValueError, match="protocol"):
        ExperimentConfig(protocol="papers")
    assert ExperimentConfig(protocol="published").n_sampled_negatives == 999
    assert ExperimentConfig().n_sampled_negatives == 0


def test_quickstart_published_cdrib_reports_full_ranking_and_sampled(tmp_path, data_dir):
    run_dir = tmp_path / "cdrib"
    result = CliRunner().invoke(
        main,
        [
            "quickstart",
            "--data",
            "cdrib:video:game",
            "--data-dir",
            str(data_dir),
            "--protocol",
            "published",
            "--sample-users",
            "1500",
            "--strategies",
            "freeze",
            "--epochs",
            "2",
            "--pretrain-epochs",
            "2",
            "--threads",
            "2",
            "--out",
            str(run_dir),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "Sampled protocol" in result.output and "999 seeded random negatives" in result.output
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # CDRIB's test users are all cold-start: no warm group
    assert set(metrics["scratch"]) == {"all", "cold-start"}
    assert metrics["scratch"]["all"]["users"] == 212
    sampled = metrics["sampled"]
    assert set(sampled) == {"popularity", "scratch", "freeze"}
    assert sampled["freeze"]["n_pairs"] == 1_304 and sampled["freeze"]["n_negatives"] == 999
    # a random ranking hits 10 of 1,000 candidates: the transferred model must do better
    assert sampled["freeze"]["values"]["HR@10"] > 0.02
    assert sampled["freeze"]["values"]["MRR"] > sampled["freeze"]["values"]["HR@1"] > 0
    report = (run_dir / "report.md").read_text()
    assert "## Sampled protocol" in report and "| freeze | 1304 |" in report
    assert "NDCG@20" in report and "MAP@5" in report  # every cut-off, not only @10


# --------------------------------------------------------------------------- issue 11: exclusion


def known_items(p):
    """Each user's target training and validation item rows (brute force, from the tables)."""
    known: dict[int, set[int]] = {}
    for part in (p.data.target_train, p.data.target_valid):
        if part is None:
            continue
        enc = p.data.vocab.encode(part)
        for u, i in zip(enc.users.tolist(), enc.items.tolist(), strict=True):
            known.setdefault(u, set()).add(i)
    return known


def check_exclusion_rule(p):
    """Test rankings exclude train + valid items except the user's own test items."""
    known = known_items(p)
    for vs in (p.test_all, p.test_cold):
        repeats = 0
        for row, u in enumerate(vs.users.tolist()):
            test = set(vs.truth[row].indices.tolist())
            assert set(vs.exclude[row].indices.tolist()) == known.get(u, set()) - test
            repeats += len(known.get(u, set()) & test)
        assert vs.n_repeat_pairs == repeats
    assert p.info["repeat_test_pairs"] == p.test_all.n_repeat_pairs
    return known


def rebuy(target: pd.DataFrame, users) -> pd.DataFrame:
    """Append to each user a last row that repeats its first item (a re-bought item)."""
    first = target[target["user"].isin(users)].groupby("user", sort=False).head(1).copy()
    if "timestamp" in first:
        first["timestamp"] = target["timestamp"].max() + pd.Timedelta(days=1)
    return pd.concat([target, first], ignore_index=True)


def test_cold_start_protocol_excludes_validation_items_and_keeps_rebought_test_items():
    data = make_cross_category(n_users=300, n_source_items=60, n_target_items=40, seed=1)
    target = data.target.data
    counts = target.groupby("user").size()
    rebuyers = counts[counts >= 5].index[:12].tolist()
    data = CrossDomainData(data.source, Interactions(rebuy(target, rebuyers)), name="rebuy")
    p = cold_start_protocol(data, order="row", seed=0)
    known = check_exclusion_rule(p)
    vocab = p.data.vocab
    warm = vocab.users.encode([u for u in rebuyers if u in set(p.data.target_train.data.user)])
    rows = {u: r for r, u in enumerate(p.test_all.users.tolist())}
    rebought = 0
    for u in warm.tolist():
        if u not in rows:
            continue
        test = p.test_all.truth[rows[u]].indices.tolist()
        assert len(test) == 1 and test[0] in known[u]  # its last row repeats its first item
        assert test[0] not in p.test_all.exclude[rows[u]].indices  # ... and stays rankable
        rebought += 1
    assert rebought >= 5 and p.info["repeat_test_pairs"] == rebought
    # warm users' validation items are excluded at test (they used to stay rankable)
    valid = vocab.encode(p.data.target_valid)
    in_test = [(u, i) for u, i in zip(valid.users, valid.items, strict=True) if u in rows]
    assert len(in_test) > 100
    assert all(i in p.test_all.exclude[rows[u]].indices for u, i in in_test)
    assert p.info["repeat_valid_pairs"] == 0  # leave-last-out: the valid row is not re-bought


def published_data(seed: int = 2):
    """Synthetic data labelled like a benchmark: per target user last row test, one before valid."""
    data = make_cross_category(n_users=300, n_source_items=60, n_target_items=400, seed=seed)
    target = data.target.data
    counts = target.groupby("user").size()
    target = rebuy(target, counts[counts >= 5].index[:10].tolist())
    rank = target.groupby("user").cumcount(ascending=False)  # 0 = the user's last row
    split = np.where(rank == 0, "test", np.where(rank == 1, "valid", "train"))
    source = data.source.data.assign(split="train")
    return CrossDomainData(
        Interactions(source), Interactions(target.assign(split=split)), name="labelled"
    )


def test_published_protocol_applies_the_same_rule_and_the_sampled_negatives_follow_it():
    p = published_protocol(published_data())
    known = check_exclusion_rule(p)
    assert p.info["repeat_test_pairs"] == 10 and p.info["repeat_valid_pairs"] == 0
    # sampled protocol: no negative is a training, validation or test item of its user
    ev = TestEvaluator(p, (10,), sampled_negatives=50, seed=3)
    truth = p.test_all.truth.tocoo()
    tests: dict[int, set[int]] = {}
    for u, i in zip(p.test_all.users[truth.row].tolist(), truth.col.tolist(), strict=True):
        tests.setdefault(u, set()).add(i)
    for u, row in zip(ev.sampled_users.tolist(), ev.negatives, strict=True):
        assert not (known.get(u, set()) | tests[u]) & set(row.tolist())


def test_published_protocol_without_a_validation_file_excludes_the_rows_it_holds_out():
    data = published_data()
    target = data.target.data.assign(split=lambda f: f["split"].replace("valid", "train"))
    data = CrossDomainData(data.source, Interactions(target), name="no-valid")
    p = published_protocol(data, valid_fraction=0.3, seed=0)
    assert p.info["validation"].startswith("1 random training row")
    known = check_exclusion_rule(p)
    valid = p.data.vocab.encode(p.data.target_valid)
    rows = {u: r for r, u in enumerate(p.test_all.users.tolist())}
    held = [(u, i) for u, i in zip(valid.users, valid.items, strict=True) if u in rows]
    assert len(held) > 20 and all(i in known[u] for u, i in held)
    test_of = {u: set(p.test_all.truth[r].indices.tolist()) for u, r in rows.items()}
    assert all(i in p.test_all.exclude[rows[u]].indices for u, i in held if i not in test_of[u])


def test_cold_start_protocol_holds_out_each_warm_users_latest_event_in_time():
    data = make_cross_category(n_users=400, seed=3)
    # Reverse the target file: file order now disagrees with time for every user
    # with several rows; "last" must still mean last in time.
    df = data.target.data.iloc[::-1].reset_index(drop=True)
    reversed_target = Interactions(df, items=data.target.items, users=data.target.users)
    p = cold_start_protocol(CrossDomainData(data.source, reversed_target), seed=0)
    assert p.info["users_out_of_time_order"] > 0
    assert p.info["users_held_out_not_latest"] == 0
    # Independent check: a warm user's test item is the item of its latest event.
    latest = df.sort_values("timestamp", kind="stable").groupby("user").tail(1)
    last_item = dict(zip(latest["user"], latest["item"], strict=True))
    train_users = set(p.data.target_train.data["user"])
    vocab = p.data.vocab
    checked = 0
    for k, row in enumerate(p.test_all.users):
        user = vocab.users.ids[row]
        if user not in train_users:
            continue  # a cold-start user: all of its target rows are held out
        held = p.test_all.truth[k].indices
        assert [vocab.items.ids[i] for i in held] == [last_item[user]]
        checked += 1
    assert checked > 100
