"""Splits: partitions without overlap, no future leakage, exact cold-start fractions, seeds."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xcat.data.domains import CrossDomainData, select_domains
from xcat.data.interactions import Interactions
from xcat.data.splits import (
    SplitOrderWarning,
    cold_start_split,
    leave_last_out,
    published_split,
    random_split,
    temporal_split,
)


def table(users, items, times=None, category="c", **extra):
    df = pd.DataFrame({"user": users, "item": items, "category": category, **extra})
    if times is not None:
        df["timestamp"] = pd.to_datetime(times, unit="s")
    df["row"] = np.arange(len(df))
    return Interactions(df)


def rows(inter):
    return sorted(inter.data["row"].tolist()) if inter is not None else []


def assert_partition(split, n):
    parts = [split.train, split.valid, split.test, split.excluded]
    got = sorted(r for p in parts for r in rows(p))
    assert got == list(range(n))  # every row exactly once


# ----------------------------------------------------------------------------- leave-last-out


def test_leave_last_out_hand_computed():
    # user a: times 5, 1, 9, 3 -> order rows 1, 3, 0, 2; last = row 2, before it row 0
    # user b: two rows -> too short for test + valid + 1 train: all train
    inter = table(["a", "a", "a", "a", "b", "b"], list("wxyzwx"), [5, 1, 9, 3, 2, 1])
    split = leave_last_out(inter, n_test=1, n_valid=1)
    assert rows(split.test) == [2]
    assert rows(split.valid) == [0]
    assert rows(split.train) == [1, 3, 4, 5]
    assert split.info["users_not_held_out"] == 1
    assert_partition(split, 6)
    assert leave_last_out(inter).valid is None


def test_leave_last_out_ties_and_row_order():
    # equal timestamps: the later row counts as later
    inter = table(["a", "a", "a"], list("xyz"), [7, 7, 7])
    assert rows(leave_last_out(inter).test) == [2]
    seq = table(["a", "b", "a", "a", "b"], list("vwxyz"))  # no timestamps: row order
    split = leave_last_out(seq, order="row")
    assert rows(split.test) == [3, 4]
    # the default (order="auto") uses row order when there are no timestamps
    auto = leave_last_out(seq)
    assert rows(auto.test) == [3, 4] and auto.info["order"] == "row"
    assert auto.info["users_out_of_time_order"] is None
    assert auto.info["users_held_out_not_latest"] is None
    with pytest.raises(ValueError, match="pass order='row'"):
        leave_last_out(seq, order="timestamp")
    with pytest.raises(ValueError, match="order must be 'auto', 'timestamp' or 'row'"):
        leave_last_out(seq, order="time")
    with pytest.raises(ValueError, match="need n_test >= 1"):
        leave_last_out(seq, n_test=0, order="row")


def test_leave_last_out_orders_by_time_when_file_order_disagrees():
    # Hand-computed.  File rows (user, time):
    #   a: 0 (t=1), 1 (t=9), 2 (t=3), 3 (t=5)  -> file order is not time order
    #   b: 4 (t=2), 5 (t=4), 6 (t=6)           -> in time order
    #   c: 7 (t=8), 8 (t=7)                    -> not in time order, too short to hold out
    users = ["a", "a", "a", "a", "b", "b", "b", "c", "c"]
    inter = table(users, list("pqrstuvwx"), [1, 9, 3, 5, 2, 4, 6, 8, 7])
    # by time: a's order is rows 0, 2, 3, 1 -> test row 1 (t=9), valid row 3 (t=5)
    split = leave_last_out(inter, n_test=1, n_valid=1)
    assert rows(split.test) == [1, 6]
    assert rows(split.valid) == [3, 5]
    assert rows(split.train) == [0, 2, 4, 7, 8]
    assert split.info["order"] == "timestamp"
    assert split.info["users_out_of_time_order"] == 2  # a and c
    assert split.info["users_held_out_not_latest"] == 0
    assert split.info["users_not_held_out"] == 1  # c
    assert_partition(split, 9)
    same = leave_last_out(inter, n_test=1, n_valid=1, order="timestamp")
    assert rows(same.test) == rows(split.test) and same.info == split.info
    # file order, asked for explicitly: a's test row 3 (t=5) is earlier than its
    # train row 1 (t=9); counted and warned about, not silent
    with pytest.warns(SplitOrderWarning, match="for 1 users a held-out row is earlier"):
        by_row = leave_last_out(inter, n_test=1, n_valid=1, order="row")
    assert rows(by_row.test) == [3, 6]
    assert rows(by_row.valid) == [2, 5]
    assert by_row.info["order"] == "row"
    assert by_row.info["users_out_of_time_order"] == 2
    assert by_row.info["users_held_out_not_latest"] == 1
    # valid later than test also counts: b's rows reordered so that valid is latest
    inter2 = table(["b"] * 3, list("xyz"), [1, 6, 4])
    with pytest.warns(SplitOrderWarning):
        by_row = leave_last_out(inter2, n_test=1, n_valid=1, order="row")
    assert by_row.info["users_held_out_not_latest"] == 1


def test_leave_last_out_by_row_in_time_order_is_silent():
    inter = table(["a", "a", "b", "b", "b"], list("vwxyz"), [1, 2, 3, 3, 4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        split = leave_last_out(inter, order="row")
    assert rows(split.test) == [1, 4]
    assert split.info["users_out_of_time_order"] == 0
    assert split.info["users_held_out_not_latest"] == 0


# ----------------------------------------------------------------------------- temporal


def test_temporal_split_by_time_and_ratio():
    inter = table(list("abcabc"), list("uvwxyz"), [10, 20, 30, 40, 50, 60])
    split = temporal_split(
        inter, test_start=pd.Timestamp(45, unit="s"), valid_start=pd.Timestamp(25, unit="s")
    )
    assert (rows(split.train), rows(split.valid), rows(split.test)) == ([0, 1], [2, 3], [4, 5])
    by_ratio = temporal_split(inter, test_ratio=1 / 3, valid_ratio=1 / 3)
    assert (rows(by_ratio.train), rows(by_ratio.valid), rows(by_ratio.test)) == (
        [0, 1],
        [2, 3],
        [4, 5],
    )
    assert by_ratio.info["test_start"] == pd.Timestamp(50, unit="s")
    assert split.info["test_rows_with_new_item"] == 2
    assert split.info["test_rows_with_new_user"] == 1  # user c (row 5) has no train row


def test_temporal_split_ties_at_the_cutoff_go_to_test():
    inter = table(list("abcd"), list("wxyz"), [1, 2, 2, 3])
    split = temporal_split(inter, test_ratio=0.5)  # cut at t=2: both t=2 rows are test
    assert rows(split.train) == [0] and rows(split.test) == [1, 2, 3]


def test_temporal_split_errors():
    inter = table(list("ab"), list("xy"), [1, 2])
    with pytest.raises(ValueError, match="exactly one of test_start= and test_ratio="):
        temporal_split(inter)
    with pytest.raises(ValueError, match="must be earlier than test_start"):
        temporal_split(inter, test_start="1970-01-01 00:00:01", valid_start="1970-01-01 00:00:02")
    with pytest.raises(ValueError, match="needs a 'timestamp' column"):
        temporal_split(table(list("ab"), list("xy")), test_ratio=0.5)


# ----------------------------------------------------------------------------- random


def test_random_split_counts_and_seed():
    inter = table([f"u{i % 7}" for i in range(100)], [f"i{i}" for i in range(100)])
    a = random_split(inter, test_ratio=0.2, valid_ratio=0.1, seed=3)
    assert a.sizes() == {"train": 70, "valid": 10, "test": 20}
    assert_partition(a, 100)
    b = random_split(inter, test_ratio=0.2, valid_ratio=0.1, seed=3)
    assert rows(a.test) == rows(b.test) and rows(a.valid) == rows(b.valid)
    c = random_split(inter, test_ratio=0.2, valid_ratio=0.1, seed=4)
    assert rows(a.test) != rows(c.test)
    with pytest.raises(ValueError, match="test_ratio \\+ valid_ratio must be < 1"):
        random_split(inter, test_ratio=0.6, valid_ratio=0.4)


def test_random_split_per_user():
    users = ["a"] * 10 + ["b"] * 5 + ["c"]
    inter = table(users, [str(i) for i in range(16)])
    split = random_split(inter, test_ratio=0.2, per_user=True, seed=0)
    per_user = split.test.data.groupby("user").size().to_dict()
    assert per_user == {"a": 2, "b": 1}  # round(0.2 * 10), round(0.2 * 5), round(0.2 * 1) = 0
    assert_partition(split, 16)


# ----------------------------------------------------------------------------- cold start


def cross_domain(n_shared=10, n_src_only=3, n_tgt_only=4):
    shared = [f"s{i}" for i in range(n_shared)]
    src_users = shared + [f"p{i}" for i in range(n_src_only)]
    tgt_users = shared + [f"t{i}" for i in range(n_tgt_only)]
    src = [(u, f"book{j}", "Books") for u in src_users for j in range(2)]
    tgt = [(u, f"toy{j}", "Toys") for u in tgt_users for j in range(3)]
    df = pd.DataFrame(src + tgt, columns=["user", "item", "category"])
    return select_domains(Interactions(df), "Books", "Toys")


@pytest.mark.parametrize(("fraction", "expected"), [(0.2, 2), (0.5, 5), (0.8, 8)])
def test_cold_start_fraction_of_overlapping_users(fraction, expected):
    data = cross_domain()
    cs = cold_start_split(data, test_fraction=fraction, seed=0)
    test_users = set(cs.test_users)
    assert len(test_users) == expected
    assert test_users <= {f"s{i}" for i in range(10)}  # only overlapping users
    # all their target rows are test rows; no target row of theirs is in training
    assert set(cs.target_test.data["user"]) == test_users
    assert len(cs.target_test) == 3 * expected
    assert not cs.target_train.data["user"].isin(test_users).any()
    # their source history stays for training
    assert test_users <= set(cs.source.data["user"])
    assert cs.source.equals(data.source)
    assert len(cs.target_train) + len(cs.target_test) == len(data.target)


def test_cold_start_seed_valid_users_and_row_order_independence():
    data = cross_domain()
    a = cold_start_split(data, test_fraction=0.3, valid_fraction=0.2, seed=11)
    b = cold_start_split(data, test_fraction=0.3, valid_fraction=0.2, seed=11)
    assert a.test_users.tolist() == b.test_users.tolist()
    assert len(a.valid_users) == 2 and not set(a.valid_users) & set(a.test_users)
    assert set(a.target_valid.data["user"]) == set(a.valid_users)
    shuffled = CrossDomainData(
        data.source.take(np.ones(len(data.source), bool)),
        Interactions(data.target.data.sample(frac=1, random_state=1)),
    )
    c = cold_start_split(shuffled, test_fraction=0.3, valid_fraction=0.2, seed=11)
    assert sorted(c.test_users) == sorted(a.test_users)
    seeds = {
        tuple(sorted(cold_start_split(data, test_fraction=0.3, seed=s).test_users))
        for s in range(5)
    }
    assert len(seeds) > 1


def test_cold_start_errors():
    data = cross_domain(n_shared=3)
    with pytest.raises(ValueError, match="rounds to 0 test users"):
        cold_start_split(data, test_fraction=0.1)
    with pytest.raises(ValueError, match="test_fraction must be in \\(0, 1\\)"):
        cold_start_split(data, test_fraction=1.0)


def test_domains_errors_name_the_domain():
    df = pd.DataFrame({"user": ["a", "b"], "item": ["x", "y"], "category": ["Books", "Toys"]})
    with pytest.raises(ValueError, match=r"no user appears in both the source domain \(Books"):
        select_domains(Interactions(df), "Books", "Toys")
    with pytest.raises(ValueError, match=r"given as both source and target"):
        select_domains(Interactions(df), ["Books", "Toys"], "Toys")
    empty = Interactions(df.iloc[:0])
    with pytest.raises(ValueError, match=r"the target domain \(empty\) has no interactions"):
        CrossDomainData(Interactions(df), empty)


def test_overlap_only_is_reported():
    data = cross_domain()
    df = pd.concat([data.source.data, data.target.data])
    kept = select_domains(Interactions(df), "Books", "Toys", overlap_only=True)
    assert kept.source.n_users == kept.target.n_users == 10
    step = kept.target.report.steps[-1]
    assert (step.step, step.rows_removed) == ("keep overlapping users", 12)
    assert "keep overlapping users" in str(kept.report)


# ----------------------------------------------------------------------------- published


def test_published_split_keeps_unknown_labels_apart():
    inter = table(list("aaab"), list("wxyz"), split=["train", "test", "test_cold_item", "valid"])
    split = published_split(inter)
    assert (rows(split.train), rows(split.valid), rows(split.test), rows(split.excluded)) == (
        [0],
        [3],
        [1],
        [2],
    )
    assert split.info["excluded_labels"] == ["test_cold_item"]
    with pytest.raises(ValueError, match="no 'split' column"):
        published_split(table(["a"], ["x"]))


# ----------------------------------------------------------------------------- properties


@st.composite
def logs(draw):
    n = draw(st.integers(1, 60))
    users = draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))
    times = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))  # many ties
    return table(users, list(range(n)), times)


@settings(max_examples=60, deadline=None)
@given(inter=logs(), n_test=st.integers(1, 3), n_valid=st.integers(0, 2))
def test_leave_last_out_partitions_without_future_leakage(inter, n_test, n_valid):
    split = leave_last_out(inter, n_test=n_test, n_valid=n_valid)
    assert_partition(split, len(inter))
    test = split.test.data
    train = split.train.data
    for user, held in test.groupby("user"):
        assert len(held) == n_test
        mine = train[train["user"] == user]
        if len(mine):
            assert mine["timestamp"].max() <= held["timestamp"].min()
            # ties: a train row at the same time as a held row comes earlier in the file
            t = held["timestamp"].min()
            same = mine[mine["timestamp"] == t]
            assert (same["row"] < held.loc[held["timestamp"] == t, "row"].min()).all()


@settings(max_examples=60, deadline=None)
@given(inter=logs(), n_test=st.integers(1, 2), n_valid=st.integers(0, 2))
def test_leave_last_out_order_counts_match_a_per_user_reference(inter, n_test, n_valid):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SplitOrderWarning)
        split = leave_last_out(inter, n_test=n_test, n_valid=n_valid, order="row")
    df = inter.data
    want_disordered = sum(
        bool((g["timestamp"].diff().dropna() < pd.Timedelta(0)).any())
        for _, g in df.groupby("user")
    )
    part = pd.Series(0, index=df["row"])
    if split.valid is not None:
        part[split.valid.data["row"]] = 1
    part[split.test.data["row"]] = 2
    want_not_latest = 0
    for _, g in df.groupby("user"):
        lab = part[g["row"]].to_numpy()
        t = g["timestamp"].to_numpy()
        # some row of an earlier part (train < valid < test) is later in time
        want_not_latest += any(
            lab[i] < lab[j] and t[i] > t[j] for i in range(len(g)) for j in range(len(g))
        )
    assert split.info["users_out_of_time_order"] == want_disordered
    assert split.info["users_held_out_not_latest"] == want_not_latest
    by_time = leave_last_out(inter, n_test=n_test, n_valid=n_valid)
    assert by_time.info["users_out_of_time_order"] == want_disordered
    assert by_time.info["users_held_out_not_latest"] == 0


@settings(max_examples=60, deadline=None)
@given(inter=logs(), ratio=st.floats(0.05, 0.6), vratio=st.floats(0.0, 0.3))
def test_temporal_split_has_no_future_leakage(inter, ratio, vratio):
    split = temporal_split(inter, test_ratio=ratio, valid_ratio=vratio if vratio > 0.01 else None)
    assert_partition(split, len(inter))
    parts = [
        p.data["timestamp"]
        for p in (split.train, split.valid, split.test)
        if p is not None and len(p)
    ]
    for early, late in zip(parts, parts[1:], strict=False):
        assert early.max() < late.min()


@settings(max_examples=60, deadline=None)
@given(
    inter=logs(), ratio=st.floats(0.0, 0.5), seed=st.integers(0, 2**32 - 1), per_user=st.booleans()
)
def test_random_split_partitions_and_is_deterministic(inter, ratio, seed, per_user):
    a = random_split(inter, test_ratio=ratio, valid_ratio=0.2, seed=seed, per_user=per_user)
    assert_partition(a, len(inter))
    b = random_split(inter, test_ratio=ratio, valid_ratio=0.2, seed=seed, per_user=per_user)
    assert rows(a.test) == rows(b.test) and rows(a.valid) == rows(b.valid)
    if not per_user:
        assert len(a.test) == round(ratio * len(inter))


@settings(max_examples=40, deadline=None)
@given(n_shared=st.integers(1, 40), fraction=st.floats(0.01, 0.99), seed=st.integers(0, 1000))
def test_cold_start_fraction_property(n_shared, fraction, seed):
    data = cross_domain(n_shared=n_shared)
    k = round(fraction * n_shared)
    if k == 0:
        with pytest.raises(ValueError):
            cold_start_split(data, test_fraction=fraction, seed=seed)
        return
    cs = cold_start_split(data, test_fraction=fraction, seed=seed)
    assert len(cs.test_users) == k
    assert set(cs.target_test.data["user"]) == set(cs.test_users)
    assert not set(cs.target_train.data["user"]) & set(cs.test_users)
