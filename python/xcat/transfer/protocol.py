"""The cross-domain cold-start evaluation protocol used by the tests and benches.

From a :class:`~xcat.data.CrossDomainData`:

1. :func:`xcat.data.splits.cold_start_split` holds out *all* target
   interactions of a fraction of the overlapping users: they become
   cold-start test (and validation) users, whose source history stays known.
2. The remaining (warm) target users are split leave-last-out: the last
   interaction is test, the one before is validation.
3. Target validation = warm validation + cold-start validation users; test
   sets are built for all target test users and for cold-start users only.
   Rankings are over the full target catalogue, excluding training items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from xcat.data.domains import CrossDomainData
from xcat.data.interactions import Interactions
from xcat.data.splits import cold_start_split, leave_last_out
from xcat.models.vocab import Vocab
from xcat.train.loop import ValidationSet
from xcat.transfer.run import TransferData

__all__ = ["ColdStartProtocol", "cold_start_protocol"]


@dataclass(frozen=True)
class ColdStartProtocol:
    """Training data and test sets of one cold-start transfer experiment.

    Attributes
    ----------
    data : TransferData
        Vocabulary, source interactions, target train and validation.
    test_all : ValidationSet
        Warm users' last target item + every target item of cold-start test users.
    test_cold : ValidationSet
        Cold-start test users only.
    info : dict
        Counts and split parameters.
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
    order: str = "row",
    seed: int = 0,
    vocab: Vocab | None = None,
) -> ColdStartProtocol:
    """Build the cold-start protocol described in the module docstring.

    Parameters
    ----------
    data : CrossDomainData
    test_fraction, valid_fraction : float, default 0.2, 0.1
        Fractions of the overlapping users held out as cold-start test and
        validation users.
    order : {"row", "timestamp"}, default "row"
        How "last" is defined for warm users (``"row"`` for the Amazon
        5-core sequence files, which have no timestamps).
    seed : int, default 0
    vocab : Vocab, optional
        Default: built over ``data.source`` and ``data.target``.

    Returns
    -------
    ColdStartProtocol
    """
    cs = cold_start_split(
        data, test_fraction=test_fraction, valid_fraction=valid_fraction, seed=seed
    )
    warm = leave_last_out(cs.target_train, n_test=1, n_valid=1, order=order)  # type: ignore[arg-type]
    vocab = vocab or Vocab.from_interactions(data.source, data.target)
    parts = [p for p in (warm.valid, cs.target_valid) if p is not None and len(p)]
    valid = Interactions.concat(parts) if parts else None
    tdata = TransferData(vocab, data.source, warm.train, valid)
    train_enc = vocab.encode(warm.train)
    cands = tdata.target_items()
    test_all = ValidationSet.build(
        vocab.encode(Interactions.concat([warm.test, cs.target_test])),
        train_enc,
        n_items=vocab.n_items,
        candidates=cands,
    )
    test_cold = ValidationSet.build(
        vocab.encode(cs.target_test),
        train_enc,
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
    }
    return ColdStartProtocol(tdata, test_all, test_cold, info)
