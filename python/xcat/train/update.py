"""Incremental updates of a trained two-tower model from new interactions.

The feedback loop: recommendations change what users do, and what they do
next flows back into the model without retraining from scratch.
:func:`update` (``xcat.train.update(model, events)``)

1. checks the new events row by row (:func:`check_events`): rows with a
   missing id, an unparseable timestamp or rating, a category the model
   does not know, a known item under another category, or a timestamp
   before the model's training cut-off are reported by reason with counts
   and examples, never silently dropped;
2. appends unseen users and items to the id maps (the old map stays a
   prefix of the new one, so stored row numbers stay valid) and grows the
   embedding tables: a new item starts from the mean embedding of its
   category's items, a new user from the mean user-id embedding (its
   history items then shape its vector), so new rows start where their
   neighbours are rather than at random;
3. appends the events to the users' stored histories (most recent kept);
4. fine-tunes for a bounded number of optimizer steps on the events, with
   the same parameters frozen as when the model was trained (its
   ``frozen`` attribute, set by :func:`xcat.transfer.transfer`). Each
   batch mixes in ``replay`` times as many (user, item) pairs drawn from the
   stored histories: they give the in-batch softmax negatives when few
   events arrive, and they limit forgetting (experience replay, e.g.
   Rolnick et al., NeurIPS 2019).

With ``steps=0`` only steps 1-3 happen: users without events keep
bit-identical vectors.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from xcat.data.interactions import Interactions
from xcat.data.parse import parse_event_timestamps
from xcat.data.schema import CATEGORY, ITEM, RATING, TIMESTAMP, USER
from xcat.models.remapping import remap
from xcat.models.two_tower import TwoTower
from xcat.models.vocab import EncodedInteractions, Vocab
from xcat.train.config import TrainConfig
from xcat.train.loop import fit

__all__ = ["UpdateReport", "check_events", "update"]

#: Reasons a row of new events is not used, with what they mean.
INVALID_REASONS = {
    "malformed": "missing or unparseable id, timestamp or rating",
    "padded_id": "user or item id with leading or trailing whitespace",
    "unknown_category": "category not among the model's categories",
    "unknown_item_without_category": "item the model does not know and no category given",
    "ambiguous_item": "item id the model lists in several categories and no category given",
    "category_mismatch": "item the model knows under another category",
    "conflicting_category": "item new to the model given under several categories",
    "before_cutoff": "timestamp before the model's training cut-off",
}


@dataclass
class UpdateReport:
    """What :func:`update` did.

    Attributes
    ----------
    events : int
        Rows given.
    used : int
        Rows applied (appended to histories and trained on).
    invalid : dict of str to dict
        Per reason (keys of :data:`INVALID_REASONS`): ``{"count": int,
        "examples": [row dicts]}`` (at most 5 examples, with their index
        label in the input table under ``"row"``).
    new_users, new_items : int
        Rows appended to the user and item id maps.
    n_users, n_items : int
        Sizes after the update.
    steps : int
        Optimizer steps run.
    steps_requested : int
        The ``steps`` asked for (more than ``steps`` when interrupted).
    interrupted : bool
        Whether Ctrl-C stopped fine-tuning early (the weights reached are kept).
    repeated_rows : int
        Used rows repeating an earlier used (user, item) pair of the same
        events (repeat purchases are kept and trained on).
    replay_pairs : int
        History pairs mixed into training.
    loss : list of float
        Mean loss of each epoch over the update set (empty with ``steps=0``).
    frozen : list of str
        Parameters kept fixed.
    trained_until : str or None
        The model's training cut-off after the update (ISO 8601, UTC).
    """

    events: int
    used: int
    invalid: dict[str, dict[str, Any]]
    new_users: int = 0
    new_items: int = 0
    n_users: int = 0
    n_items: int = 0
    steps: int = 0
    steps_requested: int = 0
    interrupted: bool = False
    repeated_rows: int = 0
    replay_pairs: int = 0
    loss: list[float] = field(default_factory=list)
    frozen: list[str] = field(default_factory=list)
    trained_until: str | None = None

    @property
    def n_invalid(self) -> int:
        """Rows not used, all reasons together."""
        return sum(v["count"] for v in self.invalid.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        lines = [
            f"events: {self.events:,} rows, {self.used:,} used, {self.n_invalid:,} not used",
            f"new users: {self.new_users:,} (now {self.n_users:,}); "
            f"new items: {self.new_items:,} (now {self.n_items:,})",
            f"fine-tuning: {self.steps:,} steps on the events + {self.replay_pairs:,} replayed "
            f"history pairs; frozen: {', '.join(self.frozen) or 'nothing'}",
        ]
        if self.interrupted:
            lines.append(
                f"interrupted (Ctrl-C) after {self.steps:,} of {self.steps_requested:,} steps; "
                "the weights reached were kept"
            )
        if self.repeated_rows:
            lines.append(f"repeated (user, item) rows among the used ones: {self.repeated_rows:,}")
        for reason, v in self.invalid.items():
            ex = "; ".join(str(e) for e in v["examples"][:3])
            lines.append(
                f"not used, {reason} ({INVALID_REASONS[reason]}): {v['count']:,} rows, e.g. {ex}"
            )
        return "\n".join(lines)


# --------------------------------------------------------------------------- validation


def check_events(
    events: pd.DataFrame | Interactions,
    vocab: Vocab,
    *,
    trained_until: pd.Timestamp | str | None = None,
) -> tuple[Interactions | None, dict[str, dict[str, Any]]]:
    """Split new events into usable rows and reported invalid rows.

    Parameters
    ----------
    events : pandas.DataFrame or Interactions
        Columns ``user``, ``item``, optional ``category`` (needed for items
        the model does not know; a known item's category is taken from the
        model), ``timestamp`` (epoch seconds or ISO 8601) and ``rating``.
        Other columns are ignored.
    vocab : Vocab
        The model's vocabulary.
    trained_until : pandas.Timestamp or str, optional
        The model's training cut-off; earlier events are ``before_cutoff``.

    Returns
    -------
    (Interactions or None, dict)
        The usable rows (None if none) in input order, and the invalid rows
        by reason (see :class:`UpdateReport`).

    Raises
    ------
    ValueError
        If ``events`` is not a table or lacks the ``user`` or ``item`` column.
    """
    if isinstance(events, Interactions):
        frame = events.data
    elif isinstance(events, pd.DataFrame):
        frame = events
    else:
        raise ValueError(f"events: expected a DataFrame or Interactions, got {type(events)}")
    missing = [c for c in (USER, ITEM) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"events: missing columns {missing}; expected user, item and optionally "
            f"category, timestamp, rating (got {list(frame.columns)})"
        )
    n = len(frame)
    reason = np.full(n, "", dtype=object)

    def mark(mask: np.ndarray, why: str) -> None:
        reason[(reason == "") & mask] = why

    users, bad_u = vocab.users.parse(frame[USER])
    items, bad_i = vocab.items.parse(frame[ITEM])
    mark(bad_u | bad_i, "malformed")
    mark(_padded(users) | _padded(items), "padded_id")
    given_cat = None
    if vocab.scoped_items:
        # ids as xcat prints them for per-category items: "<category>:<id>"
        items, given_cat = _split_scoped_keys(vocab, items)
    out = pd.DataFrame({USER: users.to_numpy(), ITEM: items.to_numpy()})
    if TIMESTAMP in frame.columns:
        ts, bad_t = parse_event_timestamps(frame[TIMESTAMP].reset_index(drop=True))
        mark(bad_t, "malformed")
        out[TIMESTAMP] = ts.to_numpy()
    if RATING in frame.columns:
        r = pd.to_numeric(frame[RATING].reset_index(drop=True), errors="coerce")
        mark(~np.isfinite(r.to_numpy(dtype=np.float64)), "malformed")
        out[RATING] = r.to_numpy(dtype=np.float64)
    # category: given, or the category of a known item
    known_cat, ambiguous = _known_item_categories(vocab, out[ITEM])
    if CATEGORY in frame.columns:
        given = frame[CATEGORY].reset_index(drop=True)
        cat = given.astype("string").astype(object).where(given.notna(), None)
        cat = cat.where(cat.astype(str).str.strip() != "", None)
        mark(cat.notna().to_numpy(dtype=bool) & _padded(cat.fillna("")), "padded_id")
    else:
        cat = pd.Series([None] * n, dtype=object)
    if given_cat is not None:
        from_key = given_cat.notna().to_numpy()
        clash = from_key & cat.notna().to_numpy() & (cat != given_cat).to_numpy(dtype=bool)
        mark(clash, "category_mismatch")
        cat = cat.where(~from_key, given_cat)
    has_cat = cat.notna().to_numpy(dtype=bool)
    mark(has_cat & ~cat.isin(vocab.domains).to_numpy(dtype=bool), "unknown_category")
    if not vocab.scoped_items:
        given_cat, model_cat = cat.to_numpy(dtype=object), known_cat.to_numpy(dtype=object)
        known = known_cat.notna().to_numpy(dtype=bool)
        differs = np.array(
            [str(g) != str(k) for g, k in zip(given_cat, model_cat, strict=True)], dtype=bool
        )
        mark(has_cat & known & differs, "category_mismatch")
    final_cat = cat.where(cat.notna(), known_cat)
    mark(final_cat.isna().to_numpy(dtype=bool) & ambiguous, "ambiguous_item")
    mark(final_cat.isna().to_numpy(dtype=bool), "unknown_item_without_category")
    # A new item's category must be one: never choose silently between two.
    fresh = (reason == "") & known_cat.isna().to_numpy(dtype=bool)
    if fresh.any():
        texts = final_cat.astype(str)
        spread = texts[fresh].groupby(out[ITEM][fresh].to_numpy(), sort=False).nunique()
        torn = set(spread.index[spread.to_numpy() > 1])
        if torn:
            mark(fresh & out[ITEM].isin(torn).to_numpy(dtype=bool), "conflicting_category")
    out[CATEGORY] = final_cat.to_numpy(dtype=object)
    if trained_until is not None and TIMESTAMP in out.columns:
        early = (pd.to_datetime(out[TIMESTAMP], utc=True) < _utc(trained_until)).to_numpy()
        mark(early.astype(bool), "before_cutoff")
    invalid: dict[str, dict[str, Any]] = {}
    for why in INVALID_REASONS:
        rows = np.flatnonzero(reason == why)
        if len(rows):
            examples = [
                {"row": _plain(frame.index[r])}
                | {str(k): _plain(v) for k, v in frame.iloc[r].items()}
                for r in rows[:5]
            ]
            invalid[why] = {"count": int(len(rows)), "examples": examples}
    ok = reason == ""
    if not ok.any():
        return None, invalid
    good = out[ok].reset_index(drop=True)
    if TIMESTAMP in good.columns:  # naive UTC, as Interactions stores timestamps
        good[TIMESTAMP] = pd.to_datetime(good[TIMESTAMP], utc=True).dt.tz_localize(None)
    items_table = events.items if isinstance(events, Interactions) else None
    return Interactions(good, items=items_table), invalid


def _padded(ids: pd.Series) -> np.ndarray:
    """Rows whose (text) id has leading or trailing whitespace: kept as given, but suspicious."""
    if ids.dtype != object:
        return np.zeros(len(ids), dtype=bool)
    text = ids.astype(str)
    return (text != text.str.strip()).to_numpy(dtype=bool)


def _split_scoped_keys(vocab: Vocab, items: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split ids written as xcat prints them, ``"<category>:<id>"``, into (id, category).

    Ids without a category prefix are unchanged (category None).
    """
    text = items.astype(str)
    raw = items.copy()
    cats = pd.Series([None] * len(items), dtype=object, index=items.index)
    for domain in vocab.domains:
        prefix = f"{domain}:"
        mine = text.str.startswith(prefix).to_numpy(dtype=bool) & cats.isna().to_numpy()
        raw[mine] = text[mine].str.slice(len(prefix))
        cats[mine] = domain
    return raw, cats


def _utc(value: Any) -> pd.Timestamp:
    """Return ``value`` as a UTC timestamp (naive values are UTC, as in xcat.data)."""
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _plain(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    return v if isinstance(v, (int, float, str, bool)) else str(v)


def _known_item_categories(vocab: Vocab, items: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Category of each item the vocabulary knows (else None), and a mask of ambiguous ids.

    With per-category item keys (``scoped_items``) an id is known when
    exactly one category lists it; an id listed in several is ambiguous (the
    events must say which category they mean).
    """
    ids = vocab.items.ids
    if not vocab.scoped_items:
        rows = ids.get_indexer(pd.Index(items.to_numpy()))
        cats = vocab.item_categories()
        known = pd.Series(
            [cats[r] if r >= 0 else None for r in rows], dtype=object, index=items.index
        )
        return known, np.zeros(len(items), dtype=bool)
    text = items.astype(str).to_numpy(dtype=object)
    found = np.zeros(len(items), dtype=np.int64)
    which = np.full(len(items), None, dtype=object)
    for domain in vocab.domains:
        hit = pd.Index(vocab.item_keys(pd.DataFrame({ITEM: text, CATEGORY: domain}))).isin(ids)
        found += hit
        which[hit] = domain
    which[found != 1] = None
    return pd.Series(which, dtype=object, index=items.index), found > 1


# --------------------------------------------------------------------------- growing


def grow(model: TwoTower, vocab: Vocab) -> TwoTower:
    """Return a copy of ``model`` sized for ``vocab``, an extension of ``model.vocab``.

    Old rows of every id table (:meth:`TwoTower.id_tables`) are copied bit
    for bit; new item rows are the mean of their category's old rows, new
    user rows the mean of the old ones; a table's padding row stays last.
    Other parameters are copied; new users have empty histories. This is
    :func:`xcat.models.remap` where the old id maps are prefixes of the new.

    Raises
    ------
    ValueError
        If the model has no vocabulary or ``vocab`` does not extend it.
    """
    old_vocab = model.vocab
    if old_vocab is None:
        raise ValueError("model: has no vocabulary, so new ids cannot be mapped")
    if not vocab.extends(old_vocab):
        raise ValueError("vocab: the model's id maps must be a prefix of the new ones")
    return remap(model, vocab).model.train()


def _append_history(model: TwoTower, users: np.ndarray, items: np.ndarray) -> None:
    """Append (user, item) events, in the given order, to the stored histories."""
    hist = model.stored_history()
    width = hist.shape[1]
    order = np.argsort(users, kind="stable")
    users, items = users[order], items[order]
    starts = np.r_[0, np.flatnonzero(np.diff(users)) + 1]
    for s, e in zip(starts, np.r_[starts[1:], len(users)], strict=True):
        row = hist[users[s]]
        merged = np.r_[row[row >= 0], items[s:e]][-width:]
        hist[users[s]] = -1
        hist[users[s], : len(merged)] = merged
    model.set_history(hist)


def _replay_pairs(
    model: TwoTower, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` (user, item) pairs drawn uniformly from the stored histories."""
    hist = model.stored_history()
    users, cols = np.nonzero(hist >= 0)
    if n <= 0 or len(users) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    pick = rng.choice(len(users), size=min(n, len(users)), replace=False)
    return users[pick].astype(np.int64), hist[users[pick], cols[pick]].astype(np.int64)


def update(
    model: TwoTower,
    events: pd.DataFrame | Interactions,
    *,
    steps: int = 100,
    replay: float = 1.0,
    train_config: TrainConfig | None = None,
    invalid: str = "skip",
) -> UpdateReport:
    """Apply new interactions to a trained model, in place (see the module docstring).

    Parameters
    ----------
    model : TwoTower
        A model with a vocabulary (every model :mod:`xcat.transfer` trains
        or :func:`xcat.load` reads). It is modified in place: its config,
        vocabulary, tables and histories grow.
    events : pandas.DataFrame or Interactions
        New interactions: ``user``, ``item``, optional ``category``,
        ``timestamp``, ``rating`` (see :func:`check_events`).
    steps : int, default 100
        Optimizer steps of fine-tuning (batches of ``train_config.batch_size``);
        0 only extends ids and histories.
    replay : float, default 1.0
        History pairs mixed in per event (at least enough to fill one
        batch); 0 trains on the events alone.
    train_config : TrainConfig, optional
        Loss, learning rate, batch size, seed, device. Default
        ``TrainConfig(lr=1e-3, batch_size=256, progress=False)``.
    invalid : {"skip", "raise"}, default "skip"
        What to do with invalid rows: leave them out (they are counted, with
        examples, in the report) or raise ValueError.

    Returns
    -------
    UpdateReport

    Raises
    ------
    ValueError
        If the model has no vocabulary, ``steps`` or ``replay`` is negative,
        ``invalid`` is unknown, or ``invalid="raise"`` and a row is invalid.
    """
    if not isinstance(model, TwoTower):
        raise ValueError(f"model: expected a TwoTower, got {type(model).__name__}")
    if model.vocab is None:
        raise ValueError("model: has no vocabulary, so new ids cannot be mapped")
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps: expected a non-negative integer, got {steps!r}")
    if not replay >= 0:
        raise ValueError(f"replay: expected a non-negative number, got {replay!r}")
    if invalid not in ("skip", "raise"):
        raise ValueError(f"invalid: expected 'skip' or 'raise', got {invalid!r}")
    tc = train_config or TrainConfig(lr=1e-3, batch_size=256, progress=False)
    good, bad = check_events(events, model.vocab, trained_until=model.trained_until)
    n_rows = len(events.data) if isinstance(events, Interactions) else len(events)
    report = UpdateReport(
        events=n_rows, used=0 if good is None else len(good), invalid=bad, steps_requested=steps
    )
    if bad and invalid == "raise":
        raise ValueError(f"events: {report.n_invalid:,} rows are invalid\n{report}")
    report.frozen = list(model.frozen)
    if good is None:
        report.n_users, report.n_items = model.config.n_users, model.config.n_items
        report.trained_until = model.trained_until
        return report

    n_u, n_i = model.config.n_users, model.config.n_items
    vocab = model.vocab.extend(good)
    device = model.device
    if vocab.n_users > n_u or vocab.n_items > n_i:
        grown = grow(model.cpu(), vocab)
        # swap the grown modules and buffers in, so the caller's object is the updated model
        model.config, model.vocab = grown.config, grown.vocab
        for name, child in grown.named_children():
            setattr(model, name, child)
        for name, buf in grown.named_buffers(recurse=False):
            setattr(model, name, buf)
        model.to(device)
    report.new_users, report.new_items = vocab.n_users - n_u, vocab.n_items - n_i
    report.n_users, report.n_items = vocab.n_users, vocab.n_items

    data = good.data
    report.repeated_rows = int(data.duplicated([USER, ITEM, CATEGORY]).sum())
    if TIMESTAMP in data.columns:
        data = data.sort_values(TIMESTAMP, kind="stable")
        latest = pd.Timestamp(data[TIMESTAMP].max())
        latest = latest.tz_localize("UTC") if latest.tzinfo is None else latest.tz_convert("UTC")
        if model.trained_until is None or latest > _utc(model.trained_until):
            model.trained_until = latest.isoformat()
    enc = vocab.encode(Interactions(data.reset_index(drop=True), copy=False))
    rng = np.random.default_rng(tc.seed)
    n_replay = 0
    if replay > 0 and steps > 0:
        n_replay = max(round(replay * len(enc)), tc.batch_size - len(enc))
    r_users, r_items = _replay_pairs(model, n_replay, rng)
    _append_history(model, enc.users, enc.items)
    report.replay_pairs = len(r_users)
    report.trained_until = model.trained_until
    if steps == 0:
        return report
    train = EncodedInteractions(
        np.r_[enc.users, r_users],
        np.r_[enc.items, r_items],
        np.r_[enc.domains, vocab.item_domains[r_items]],
    )
    per_epoch = -(-len(train) // tc.batch_size)
    res = fit(
        model,
        train,
        config=tc.replace(epochs=-(-steps // per_epoch), max_steps=steps),
        frozen=model.frozen,
    )
    report.steps = int(res.steps)
    report.interrupted = bool(res.interrupted)
    report.loss = [float(r["loss"]) for r in res.history]
    return report
