"""Evaluation splits: leave-last-out, global temporal, random holdout, cross-domain cold-start.

Every split is a partition: each input row lands in exactly one of train,
valid, test (or, for :func:`published_split`, ``excluded``), so nothing is
lost.  Splits with randomness take a ``seed`` and give the same result for the
same input and seed.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from xcat.data.domains import CrossDomainData
from xcat.data.interactions import Interactions
from xcat.data.messages import fmt_count
from xcat.data.schema import SPLIT, TIMESTAMP, USER

__all__ = [
    "ORDERS",
    "ColdStartSplit",
    "Split",
    "SplitOrderWarning",
    "cold_start_split",
    "leave_last_out",
    "published_split",
    "random_split",
    "resolve_order",
    "temporal_split",
]


@dataclass(frozen=True)
class Split:
    """Train / validation / test partition of one interaction table.

    Attributes
    ----------
    train, test : Interactions
    valid : Interactions or None
        None when the split has no validation part.
    excluded : Interactions or None
        Rows that belong to none of the three (only :func:`published_split`
        of benchmarks with extra labels), so that nothing is dropped silently.
    method : str
        Name of the function that made the split.
    info : dict
        Parameters and counts (``seed``, ratios, cutoff, users too short to
        hold out...).
    """

    train: Interactions
    test: Interactions
    valid: Interactions | None = None
    excluded: Interactions | None = None
    method: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def sizes(self) -> dict[str, int]:
        """Return the number of rows per part (parts that are None are left out)."""
        parts = {
            "train": self.train,
            "valid": self.valid,
            "test": self.test,
            "excluded": self.excluded,
        }
        return {k: len(v) for k, v in parts.items() if v is not None}


def _partition(
    inter: Interactions,
    labels: np.ndarray,
    method: str,
    info: dict[str, Any],
    with_valid: bool,
) -> Split:
    return Split(
        train=inter.take(labels == 0),
        test=inter.take(labels == 2),
        valid=inter.take(labels == 1) if with_valid else None,
        method=method,
        info=info,
    )


def _check_ratio(name: str, value: float) -> None:
    if not (0.0 <= value < 1.0):
        raise ValueError(f"{name} must be in [0, 1), got {value}")


#: Values of ``order`` that :func:`leave_last_out` accepts.
ORDERS = ("auto", "timestamp", "row")


class SplitOrderWarning(UserWarning):
    """A per-user split by file order held out rows that are not the user's latest in time."""


def resolve_order(inter: Interactions, order: str) -> Literal["timestamp", "row"]:
    """Return the order a per-user split uses: ``"timestamp"`` or ``"row"``.

    Parameters
    ----------
    inter : Interactions
    order : {"auto", "timestamp", "row"}
        ``"auto"`` is ``"timestamp"`` when the table has a ``timestamp``
        column, else ``"row"``.

    Returns
    -------
    {"timestamp", "row"}

    Raises
    ------
    ValueError
        If ``order`` is not one of :data:`ORDERS`, or is ``"timestamp"`` for a
        table without timestamps.
    """
    if order not in ORDERS:
        raise ValueError(f"order must be 'auto', 'timestamp' or 'row', got {order!r}")
    if order == "auto":
        return "timestamp" if inter.has_timestamp else "row"
    if order == "timestamp" and not inter.has_timestamp:
        raise ValueError(
            "order='timestamp' but the table has no 'timestamp' column; for sequence data "
            "stored in event order (e.g. the Amazon 5-core sequences) pass order='row' "
            "(or order='auto')"
        )
    return order  # type: ignore[return-value]


def _time_keys(inter: Interactions) -> np.ndarray:
    """Timestamps as int64 ticks of their unit, in time order (the column has no NaT)."""
    return inter.data[TIMESTAMP].to_numpy().view(np.int64)


def _held_out_not_latest(
    users: np.ndarray, times: np.ndarray, labels: np.ndarray, n_users: int
) -> int:
    """Users with a row in a later part (train < valid < test) earlier in time than one before.

    ``users``, ``times`` and ``labels`` (0 train, 1 valid, 2 test) are in the
    split's order: by user, then by row within each user, so each user's
    labels are non-decreasing.
    """
    bad = np.zeros(n_users, dtype=bool)
    big = np.iinfo(np.int64).max
    small = np.iinfo(np.int64).min
    latest = np.full((3, n_users), small, dtype=np.int64)
    earliest = np.full((3, n_users), big, dtype=np.int64)
    for lab in range(3):
        m = labels == lab
        np.maximum.at(latest[lab], users[m], times[m])
        np.minimum.at(earliest[lab], users[m], times[m])
    for before in range(2):
        for after in range(before + 1, 3):
            bad |= latest[before] > earliest[after]
    return int(bad.sum())


def leave_last_out(
    inter: Interactions,
    *,
    n_test: int = 1,
    n_valid: int = 0,
    order: Literal["auto", "timestamp", "row"] = "auto",
    min_train: int = 1,
) -> Split:
    """Per-user temporal leave-last-out split.

    Each user's last ``n_test`` interactions go to test, the ``n_valid``
    before them to validation, the rest to train.

    "Last" follows one convention: each user's rows are ordered by
    timestamp when the table has timestamps, ties kept in file (row) order;
    by file order when it has none (sequence files such as the Amazon
    5-core ones list each user's events in time order).  So with
    timestamps, no train row is later than a validation or test row of the
    same user, and no validation row later than a test row.  File order can
    still be asked for with ``order="row"``; then the users whose held-out
    rows are not their latest in time are counted, and a
    :class:`SplitOrderWarning` names their number.

    Parameters
    ----------
    inter : Interactions
    n_test : int, default 1
        Interactions per user held out for test (>= 1).
    n_valid : int, default 0
        Interactions per user held out for validation (>= 0).
    order : {"auto", "timestamp", "row"}, default "auto"
        How "last" is defined.  ``"auto"``: by timestamp when the table has a
        ``timestamp`` column, else by row order.  ``"timestamp"``: by the
        ``timestamp`` column, ties by row order (an error without one).
        ``"row"``: by row order, whatever the timestamps say.
    min_train : int, default 1
        Users with fewer than ``n_test + n_valid + min_train`` interactions
        are not held out: all their rows go to train.  Their number is in
        ``info["users_not_held_out"]``.

    Returns
    -------
    Split
        ``valid`` is None when ``n_valid == 0``.  ``info`` holds the
        parameters, ``order`` (the order used: ``"timestamp"`` or
        ``"row"``), ``users_not_held_out``, and, None when the table has no
        timestamps:

        * ``users_out_of_time_order``: users whose rows are not in time
          order in the file (file order and time order disagree), whichever
          order was used;
        * ``users_held_out_not_latest``: users with a train row later in time
          than one of their validation/test rows, or a validation row later
          than a test row; 0 when ordered by timestamp.

    Warns
    -----
    SplitOrderWarning
        With ``order="row"``, when ``users_held_out_not_latest > 0``.

    Raises
    ------
    ValueError
        If counts are out of range, ``order`` is unknown, or
        ``order="timestamp"`` for a table without timestamps.
    """
    if n_test < 1 or n_valid < 0 or min_train < 0:
        raise ValueError(
            f"need n_test >= 1, n_valid >= 0, min_train >= 0; got {n_test}, {n_valid}, {min_train}"
        )
    used = resolve_order(inter, order)
    codes = pd.factorize(inter.data[USER])[0]
    by_row = np.argsort(codes, kind="stable")
    times = _time_keys(inter) if inter.has_timestamp else None
    if times is None:
        pos = by_row
        out_of_order: int | None = None
    else:
        # np.lexsort is stable: equal (user, time) keys keep their row order
        by_time = np.lexsort((times, codes))
        pos = by_time if used == "timestamp" else by_row
        # both orders group the users in the same blocks, so they differ
        # exactly within the users whose file order is not time order
        out_of_order = len(np.unique(codes[by_row[by_row != by_time]]))
    users = codes[pos]
    size = np.bincount(users)[users]
    # rank from the end within each user: 0 = last
    starts = np.r_[0, np.flatnonzero(np.diff(users)) + 1]
    rank_from_start = np.arange(len(users)) - np.repeat(starts, np.diff(np.r_[starts, len(users)]))
    rank_from_end = size - 1 - rank_from_start
    eligible = size >= n_test + n_valid + min_train
    labels_sorted = np.zeros(len(users), dtype=np.int8)
    labels_sorted[eligible & (rank_from_end < n_test)] = 2
    labels_sorted[eligible & (rank_from_end >= n_test) & (rank_from_end < n_test + n_valid)] = 1
    labels = np.empty_like(labels_sorted)
    labels[pos] = labels_sorted
    n_short = int(len(np.unique(users[~eligible])))
    not_latest: int | None = None
    if times is not None:
        not_latest = 0
        if used == "row" and out_of_order:
            n_users = int(codes.max()) + 1
            not_latest = _held_out_not_latest(users, times[pos], labels_sorted, n_users)
    if not_latest:
        warnings.warn(
            f"leave_last_out(order='row'): for {fmt_count(not_latest)} users a held-out row is "
            "earlier in time than a row before it in the file (a train row after the test "
            "row); use order='auto' to hold out each user's latest rows by timestamp",
            SplitOrderWarning,
            stacklevel=2,
        )
    info = {
        "n_test": n_test,
        "n_valid": n_valid,
        "order": used,
        "min_train": min_train,
        "users_not_held_out": n_short,
        "users_out_of_time_order": out_of_order,
        "users_held_out_not_latest": not_latest,
    }
    return _partition(inter, labels, "leave_last_out", info, n_valid > 0)


def _as_time(value: Any, what: str) -> pd.Timestamp:
    try:
        t = pd.Timestamp(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what}={value!r} is not a date or time") from e
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return t


def temporal_split(
    inter: Interactions,
    *,
    test_start: Any = None,
    valid_start: Any = None,
    test_ratio: float | None = None,
    valid_ratio: float | None = None,
) -> Split:
    """Global temporal split: one cut-off time for all users, no future leakage.

    Rows at or after ``test_start`` are test, rows in ``[valid_start,
    test_start)`` validation, earlier rows train, so every train row is
    strictly earlier than every validation row, and those than every test row.

    Parameters
    ----------
    inter : Interactions
        Must have a ``timestamp`` column.
    test_start, valid_start : date-like, optional
        Cut-off times (anything :class:`pandas.Timestamp` accepts; aware times
        are converted to UTC).
    test_ratio, valid_ratio : float, optional
        Instead of times: put about this fraction of the rows (the latest) in
        test / validation.  Rows sharing the cut-off timestamp all go to the
        later part, so the fraction can be slightly larger.

    Returns
    -------
    Split
        ``info`` holds the cut-off times used and the number of test rows whose
        user or item never occurs in train.

    Raises
    ------
    ValueError
        If there is no timestamp column, both or neither of ``test_start`` and
        ``test_ratio`` are given, or ``valid_start >= test_start``.
    """
    if TIMESTAMP not in inter.data.columns:
        raise ValueError("temporal_split needs a 'timestamp' column; this table has none")
    if (test_start is None) == (test_ratio is None):
        raise ValueError("give exactly one of test_start= and test_ratio=")
    if valid_start is not None and valid_ratio is not None:
        raise ValueError("give at most one of valid_start= and valid_ratio=")
    ts = inter.data[TIMESTAMP].to_numpy()
    sorted_ts = np.sort(ts)
    n = len(ts)

    def cut_at_ratio(ratio: float, name: str) -> pd.Timestamp:
        _check_ratio(name, ratio)
        k = int(round(ratio * n))
        if k == 0 or n == 0:
            return pd.Timestamp.max
        return pd.Timestamp(sorted_ts[n - k])

    if test_ratio is not None:
        t_test = cut_at_ratio(test_ratio, "test_ratio")
    else:
        t_test = _as_time(test_start, "test_start")
    t_valid = None
    if valid_ratio is not None:
        _check_ratio("valid_ratio", valid_ratio)
        if test_ratio is not None and test_ratio + valid_ratio >= 1:
            raise ValueError(
                f"test_ratio + valid_ratio must be < 1, got {test_ratio + valid_ratio}"
            )
        n_before_test = int((ts < np.datetime64(t_test)).sum())
        k = int(round(valid_ratio * n))
        t_valid = (
            pd.Timestamp(sorted_ts[max(n_before_test - k, 0)]) if k and n_before_test else t_test
        )
    elif valid_start is not None:
        t_valid = _as_time(valid_start, "valid_start")
        if t_valid >= t_test:
            raise ValueError(f"valid_start ({t_valid}) must be earlier than test_start ({t_test})")
    labels = np.zeros(n, dtype=np.int8)
    if t_valid is not None:
        labels[ts >= np.datetime64(t_valid)] = 1
    labels[ts >= np.datetime64(t_test)] = 2
    split = _partition(inter, labels, "temporal_split", {}, t_valid is not None)
    train_users = set(split.train.data[USER])
    train_items = set(split.train.data["item"])
    test = split.test.data
    info = {
        "test_start": t_test,
        "valid_start": t_valid,
        "test_rows_with_new_user": int((~test[USER].isin(train_users)).sum()),
        "test_rows_with_new_item": int((~test["item"].isin(train_items)).sum()),
    }
    return Split(split.train, split.test, split.valid, None, "temporal_split", info)


def random_split(
    inter: Interactions,
    *,
    test_ratio: float = 0.2,
    valid_ratio: float = 0.0,
    seed: int = 0,
    per_user: bool = False,
) -> Split:
    """Random holdout by ratio, deterministic by seed.

    Parameters
    ----------
    inter : Interactions
    test_ratio : float, default 0.2
        Fraction of rows in test, in ``[0, 1)``.
    valid_ratio : float, default 0.0
        Fraction of rows in validation; ``test_ratio + valid_ratio < 1``.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`.
    per_user : bool, default False
        Hold out the fractions within each user (``round(ratio * n_u)`` of
        each user's ``n_u`` rows) instead of over all rows
        (``round(ratio * n_rows)`` rows in total).

    Returns
    -------
    Split
        ``valid`` is None when ``valid_ratio == 0``.

    Raises
    ------
    ValueError
        If a ratio is out of range.
    """
    _check_ratio("test_ratio", test_ratio)
    _check_ratio("valid_ratio", valid_ratio)
    if test_ratio + valid_ratio >= 1:
        raise ValueError(f"test_ratio + valid_ratio must be < 1, got {test_ratio + valid_ratio}")
    n = len(inter)
    rng = np.random.default_rng(seed)
    key = rng.permutation(n)  # a random rank for every row
    labels = np.zeros(n, dtype=np.int8)
    if per_user:
        users = pd.factorize(inter.data[USER])[0]
        order = np.lexsort((key, users))
        u_sorted = users[order]
        size = np.bincount(users)[u_sorted]
        starts = np.r_[0, np.flatnonzero(np.diff(u_sorted)) + 1]
        rank = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
        n_test = np.round(test_ratio * size).astype(np.int64)
        n_valid = np.round(valid_ratio * size).astype(np.int64)
        lab = np.zeros(n, dtype=np.int8)
        lab[rank < n_test] = 2
        lab[(rank >= n_test) & (rank < n_test + n_valid)] = 1
        labels[order] = lab
    else:
        k_test = int(round(test_ratio * n))
        k_valid = int(round(valid_ratio * n))
        labels[key < k_test] = 2
        labels[(key >= k_test) & (key < k_test + k_valid)] = 1
    info = {
        "test_ratio": test_ratio,
        "valid_ratio": valid_ratio,
        "seed": seed,
        "per_user": per_user,
    }
    return _partition(inter, labels, "random_split", info, valid_ratio > 0)


def published_split(
    inter: Interactions,
    *,
    train: Sequence[str] = ("train",),
    valid: Sequence[str] = ("valid",),
    test: Sequence[str] = ("test",),
) -> Split:
    """Return the split a benchmark ships with, from the ``split`` column.

    Parameters
    ----------
    inter : Interactions
        Must have a ``split`` column (the dataset loaders of published
        benchmarks fill it).
    train, valid, test : sequence of str
        Labels that make up each part.

    Returns
    -------
    Split
        ``valid`` is None if no row has a valid label; rows with other labels
        (e.g. DisenCDR's ``"test_cold_item"``) are in ``excluded``.

    Raises
    ------
    ValueError
        If there is no ``split`` column or a label is in two parts.
    """
    if SPLIT not in inter.data.columns:
        raise ValueError("this table has no 'split' column: the data came without its own split")
    parts = {"train": set(train), "valid": set(valid), "test": set(test)}
    for a in parts:
        for b in parts:
            if a < b and parts[a] & parts[b]:
                raise ValueError(f"labels {sorted(parts[a] & parts[b])} are in both {a} and {b}")
    lab = inter.data[SPLIT]
    m_train = lab.isin(parts["train"]).to_numpy()
    m_valid = lab.isin(parts["valid"]).to_numpy()
    m_test = lab.isin(parts["test"]).to_numpy()
    other = ~(m_train | m_valid | m_test)
    info = {
        "labels": {k: sorted(v) for k, v in parts.items()},
        "excluded_labels": sorted(pd.unique(lab[other]).tolist()),
        "excluded_rows": int(other.sum()),
    }
    return Split(
        train=inter.take(m_train),
        test=inter.take(m_test),
        valid=inter.take(m_valid) if m_valid.any() else None,
        excluded=inter.take(other) if other.any() else None,
        method="published_split",
        info=info,
    )


@dataclass(frozen=True)
class ColdStartSplit:
    """Cross-domain cold-start split: some shared users lose their target history.

    Attributes
    ----------
    source : Interactions
        All source-domain interactions (training data for every user).
    target_train : Interactions
        Target interactions of users that are not held out.
    target_test : Interactions
        All target interactions of the cold-start test users.
    target_valid : Interactions or None
        All target interactions of the cold-start validation users.
    test_users, valid_users : numpy.ndarray
        Raw ids of the held-out users (shapes ``(n_test_users,)`` and
        ``(n_valid_users,)``).
    info : dict
        ``seed``, fractions and the number of overlapping users.
    """

    source: Interactions
    target_train: Interactions
    target_test: Interactions
    target_valid: Interactions | None
    test_users: np.ndarray
    valid_users: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def _sorted_ids(ids: np.ndarray) -> np.ndarray:
    try:
        return np.sort(ids)
    except TypeError:  # not comparable: keep order of appearance
        return ids


def cold_start_split(
    data: CrossDomainData,
    *,
    test_fraction: float = 0.2,
    valid_fraction: float = 0.0,
    seed: int = 0,
) -> ColdStartSplit:
    """Hold out all target interactions of a fraction of the overlapping users.

    This is the cross-domain cold-start protocol: ``round(test_fraction *
    n_overlap)`` randomly chosen users among those who appear in both domains
    become *cold-start users*: all their target interactions go to test, while
    their source history stays in training.  Validation users are drawn the
    same way from the remaining overlapping users.

    Parameters
    ----------
    data : CrossDomainData
    test_fraction : float, default 0.2
        Fraction of overlapping users held out for test, in ``(0, 1)``; the
        field uses 0.2, 0.5 and 0.8.
    valid_fraction : float, default 0.0
        Fraction of overlapping users held out for validation;
        ``test_fraction + valid_fraction <= 1``.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`.  Users are drawn from the
        overlapping ids in sorted order, so the result does not depend on
        the row order of the input.

    Returns
    -------
    ColdStartSplit

    Raises
    ------
    ValueError
        If a fraction is out of range or rounds to zero users.
    """
    if not (0.0 < test_fraction < 1.0):
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if not (0.0 <= valid_fraction < 1.0) or test_fraction + valid_fraction > 1.0:
        raise ValueError(
            f"valid_fraction must be in [0, 1) with test_fraction + valid_fraction <= 1, "
            f"got {valid_fraction}"
        )
    shared = _sorted_ids(np.asarray(data.overlap_users(), dtype=object))
    n = len(shared)
    n_test = int(round(test_fraction * n))
    n_valid = int(round(valid_fraction * n))
    if n_test == 0:
        raise ValueError(
            f"test_fraction={test_fraction} of {fmt_count(n)} overlapping users rounds to 0 test "
            "users"
        )
    if valid_fraction > 0 and n_valid == 0:
        raise ValueError(
            f"valid_fraction={valid_fraction} of {fmt_count(n)} overlapping users rounds to 0 users"
        )
    perm = np.random.default_rng(seed).permutation(n)
    test_users = shared[perm[:n_test]]
    valid_users = shared[perm[n_test : n_test + n_valid]]
    tgt_users = data.target.data[USER]
    in_test = tgt_users.isin(set(test_users)).to_numpy()
    in_valid = tgt_users.isin(set(valid_users)).to_numpy()
    info = {
        "test_fraction": test_fraction,
        "valid_fraction": valid_fraction,
        "seed": seed,
        "overlapping_users": n,
        "test_users": n_test,
        "valid_users": n_valid,
    }
    dtype = data.target.data[USER].dtype
    return ColdStartSplit(
        source=data.source,
        target_train=data.target.take(~(in_test | in_valid)),
        target_test=data.target.take(in_test),
        target_valid=data.target.take(in_valid) if n_valid else None,
        test_users=test_users.astype(dtype),
        valid_users=valid_users.astype(dtype),
        info=info,
    )
