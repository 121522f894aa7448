"""Evaluation protocols of a source -> target transfer experiment.

:func:`cold_start_protocol` (ours, for any data with overlapping users), from
a :class:`~xcat.data.CrossDomainData`:

1. :func:`xcat.data.splits.cold_start_split` holds out *all* target
   interactions of a fraction of the overlapping users: they become
   cold-start test (and validation) users, whose source history stays known.
2. The remaining (warm) target users are split leave-last-out: the last
   interaction is test, the one before is validation.
3. Target validation = warm validation + cold-start validation users; test
   sets are built for all target test users and for cold-start users only.

:func:`published_protocol` keeps the split a benchmark ships with (the
``split`` column of the DisenCDR and CDRIB loaders) instead, so results sit
beside the papers' numbers.

Both protocols rank the full target catalogue and exclude the same items
(:class:`~xcat.evaluate.ranking.ValidationSet`): at validation each user's
target training items, at test its target training **and validation**
items -- in both cases except the user's own held-out items. A test item the
user already has in training or validation (a re-bought item) therefore
stays rankable, as in RecBole's full-sort evaluation (its test-time history
is train + valid minus the user's test positives); such pairs are kept and
counted in ``info["repeat_test_pairs"]`` (``info["repeat_valid_pairs"]`` for
validation). The sampled protocol draws negatives outside all of these
(:class:`~xcat.evaluate.ranking.TestEvaluator`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from xcat.data.domains import CrossDomainData
from xcat.data.interactions import Interactions
from xcat.data.splits import cold_start_split, leave_last_out
from xcat.evaluate.ranking import ValidationSet
from xcat.models.vocab import EncodedInteractions, Vocab
from xcat.transfer.run import TransferData

__all__ = [
    "TransferProtocol",
    "cold_start_protocol",
    "known_interactions",
    "published_protocol",
    "repeat_counts",
]


@dataclass(frozen=True)
class TransferProtocol:
    """Training data and test sets of one transfer experiment.

    Attributes
    ----------
    data : TransferData
        Vocabulary, source interactions, target train and validation.
    test_all : ValidationSet
        Every target test user (cold-start protocol: warm users' last target
        item + every target item of cold-start test users).
    test_cold : ValidationSet
        Cold-start test users only (no target training interaction); may
        have no users (DisenCDR: every test user is warm).
    info : dict
        Counts and split parameters; ``repeat_test_pairs`` /
        ``repeat_valid_pairs`` count the distinct held-out (user, item)
        pairs whose item the user also has among its known interactions
        (kept rankable, see the module docstring).
    """

    data: TransferData
    test_all: ValidationSet
    test_cold: ValidationSet
    info: dict[str, Any]


def cold_start_protocol(
    data: CrossDomainData,
    *,
    test_fraction: float = 0.2,
    valid_fraction: float = 0.1,
    order: str = "auto",
    seed: int = 0,
    vocab: Vocab | None = None,
) -> TransferProtocol:
    """Build the cold-start protocol described in the module docstring.

    Parameters
    ----------
    data : CrossDomainData
    test_fraction, valid_fraction : float, default 0.2, 0.1
        Fractions of the overlapping users held out as cold-start test and
        validation users.
    order : {"auto", "timestamp", "row"}, default "auto"
        How "last" is defined for warm users: by timestamp when the target
        has one (ties in file order), else by file order (the Amazon 5-core
        sequence files have no timestamps); see
        :func:`xcat.data.splits.leave_last_out`. ``info`` counts the users
        whose file order disagrees with time order.
    seed : int, default 0
    vocab : Vocab, optional
        Default: built over ``data.source`` and ``data.target``.

    Returns
    -------
    TransferProtocol
    """
    cs = cold_start_split(
        data, test_fraction=test_fraction, valid_fraction=valid_fraction, seed=seed
    )
    warm = leave_last_out(cs.target_train, n_test=1, n_valid=1, order=order)  # type: ignore[arg-type]
    vocab = vocab or Vocab.from_interactions(data.source, data.target)
    parts = [p for p in (warm.valid, cs.target_valid) if p is not None and len(p)]
    valid = Interactions.concat(parts) if parts else None
    tdata = TransferData(vocab, data.source, warm.train, valid)
    known = known_interactions(tdata)
    cands = tdata.target_items()
    test_all = ValidationSet.build(
        vocab.encode(Interactions.concat([warm.test, cs.target_test])),
        known,
        n_items=vocab.n_items,
        candidates=cands,
    )
    test_cold = ValidationSet.build(
        vocab.encode(cs.target_test),
        known,
        n_items=vocab.n_items,
        candidates=cands,
    )
    info = {
        **cs.info,
        "warm_test_users": int(len(set(warm.test.data["user"]))),
        "cold_test_users": int(len(test_cold.users)),
        "target_train_rows": len(warm.train),
        "source_rows": len(data.source),
        "target_items": int(len(cands)),
        **repeat_counts(tdata, test_all),
    }
    # Only with timestamps: without them file order is the only order.
    for key in ("users_out_of_time_order", "users_held_out_not_latest"):
        if warm.info.get(key) is not None:
            info[key] = warm.info[key]
    return TransferProtocol(tdata, test_all, test_cold, info)


def known_interactions(tdata: TransferData) -> list[EncodedInteractions]:
    """Return what a test ranking excludes: target training and validation interactions, encoded.

    Parameters
    ----------
    tdata : TransferData

    Returns
    -------
    list of EncodedInteractions
        Training, then validation when there is any.
    """
    parts = [tdata.vocab.encode(tdata.target_train)]
    if tdata.target_valid is not None and len(tdata.target_valid):
        parts.append(tdata.vocab.encode(tdata.target_valid))
    return parts


def repeat_counts(tdata: TransferData, test_all: ValidationSet) -> dict[str, int]:
    """Held-out pairs whose item the user already has (kept rankable), for a protocol's info.

    Parameters
    ----------
    tdata : TransferData
    test_all : ValidationSet
        The protocol's test set.

    Returns
    -------
    dict
        ``repeat_test_pairs``: test (user, item) pairs whose item is among the
        user's target training or validation items; ``repeat_valid_pairs``:
        validation pairs whose item is among its training items.
    """
    valid = tdata.validation()
    return {
        "repeat_test_pairs": int(test_all.n_repeat_pairs),
        "repeat_valid_pairs": int(valid.n_repeat_pairs) if valid is not None else 0,
    }


def published_protocol(
    data: CrossDomainData,
    *,
    valid_fraction: float = 0.1,
    seed: int = 0,
) -> TransferProtocol:
    """Use the train / valid / test split a benchmark ships with.

    For the DisenCDR (Cao et al., SIGIR 2022) and CDRIB (Cao et al., ICDE
    2022) pairs, whose loaders label every row in a ``split`` column:

    * source: the source rows labelled ``train`` only (the source's own
      valid/test rows are another direction's held-out data);
    * target training: the rows labelled ``train``;
    * validation (early stopping, model selection): the rows labelled
      ``valid`` (CDRIB's cold-start validation users). DisenCDR ships no
      validation file and its code selects on the test file; here one
      random training row of a ``valid_fraction`` share of the target users
      (those with at least 2 training rows) is held out instead, so the
      test file is only ever used for the final report;
    * test: the rows labelled ``test``. Other labels (DisenCDR's
      ``test_cold_item``: held out, item never in train, not evaluated by the
      paper) are left out and counted in ``info``.

    Test users without target training rows form the cold-start group (all
    of CDRIB's test users; none of DisenCDR's).

    Parameters
    ----------
    data : CrossDomainData
        Both domains need a ``split`` column.
    valid_fraction : float, default 0.1
        Only used when the target has no ``valid`` rows.
    seed : int, default 0
        Seeds the validation rows drawn from training (DisenCDR).

    Returns
    -------
    TransferProtocol

    Raises
    ------
    ValueError
        If a domain has no ``split`` column, or the target has no ``train``
        or no ``test`` rows.
    """
    from xcat.data.splits import published_split

    for role, inter in (("source", data.source), ("target", data.target)):
        if "split" not in inter.data.columns:
            raise ValueError(
                f"data: the {role} has no 'split' column; the published protocol needs a "
                "benchmark loader that keeps its split (disencdr, cdrib); use the cold-start "
                "protocol for other data"
            )
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction: expected a number in (0, 1), got {valid_fraction!r}")
    source = data.source.take((data.source.data["split"] == "train").to_numpy())
    split = published_split(data.target)
    if len(split.train) == 0 or len(split.test) == 0:
        raise ValueError(
            f"data: the target needs 'train' and 'test' rows, got {len(split.train)} and "
            f"{len(split.test)}"
        )
    train, valid = split.train, split.valid
    valid_source = "published valid file"
    if valid is None:
        train, valid = _hold_out_rows(train, valid_fraction, seed)
        valid_source = (
            f"1 random training row of {valid_fraction:.0%} of target users "
            "(the benchmark ships no validation file)"
        )
    vocab = Vocab.from_interactions(source, train, valid, split.test)
    tdata = TransferData(vocab, source, train, valid, tuple(map(str, data.target.categories)))
    known = known_interactions(tdata)
    cands = tdata.target_items()
    test_enc = vocab.encode(split.test)
    test_all = ValidationSet.build(test_enc, known, n_items=vocab.n_items, candidates=cands)
    # cold-start = no target *training* row (a validation row does not make a user warm)
    warm = np.zeros(vocab.n_users, dtype=bool)
    warm[known[0].users] = True
    cold_users = test_all.users[~warm[test_all.users]]
    test_cold = ValidationSet.build(
        test_enc, known, n_items=vocab.n_items, candidates=cands, users=cold_users
    )
    info = {
        "protocol": "published",
        "validation": valid_source,
        "excluded_target_rows": split.info["excluded_rows"],
        "excluded_labels": split.info["excluded_labels"],
        "valid_rows": len(valid),
        "test_rows": len(split.test),
        "warm_test_users": int(len(test_all.users) - len(cold_users)),
        "cold_test_users": int(len(cold_users)),
        "target_train_rows": len(train),
        "source_rows": len(source),
        "target_items": int(len(cands)),
        **repeat_counts(tdata, test_all),
    }
    return TransferProtocol(tdata, test_all, test_cold, info)


def _hold_out_rows(
    train: Interactions, fraction: float, seed: int
) -> tuple[Interactions, Interactions]:
    """Move one random row of a ``fraction`` of users (with >= 2 rows) from train to valid."""
    users = train.data["user"].to_numpy()
    rng = np.random.default_rng(seed)
    uniq, counts = np.unique(users, return_counts=True)
    eligible = uniq[counts >= 2]
    chosen = rng.choice(eligible, size=max(1, round(fraction * len(eligible))), replace=False)
    rows = np.flatnonzero(np.isin(users, chosen))
    rows = rows[rng.permutation(len(rows))]
    # first row of each chosen user in the shuffled order: one random row per user
    _, first = np.unique(users[rows], return_index=True)
    mask = np.zeros(len(train), dtype=bool)
    mask[rows[first]] = True
    return train.take(~mask), train.take(mask)
