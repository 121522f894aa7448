"""The measured feedback update: new interactions into a saved model, and how much they helped.

:func:`feedback` is what ``xcat feedback`` runs: read an events file, check
every row against the model (:func:`xcat.train.update.check_events`), hold
out the last event of a share of the known users (:func:`split_holdout`),
run a trial update on a copy without them and compare NDCG@k / HR@k before
and after (:func:`xcat.evaluate.heldout_metrics`), then update the model
with every valid event and save it, with ``feedback.json`` and
``feedback.md``, as a new model directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xcat.workflow.errors import ArgumentError
from xcat.workflow.locks import writing

if TYPE_CHECKING:
    import pandas as pd

    from xcat.models import TwoTower
    from xcat.train.update import UpdateReport

__all__ = ["MIN_HELD_OUT", "FeedbackReport", "feedback", "read_events", "split_holdout"]

#: Fewest held-out events for a before/after measurement. Below it the
#: difference is noise: the standard error of an HR@10 near 0.1 is about
#: 0.04 over 50 events, as large as the changes an update makes.
MIN_HELD_OUT = 50


def read_events(path: str | Path) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Read an events file: CSV / TSV (optionally gzip) or Parquet, with a header.

    Text is kept as given (ids are matched to the model's own id types
    later); the fields in :data:`xcat.data.parse.MISSING_MARKERS` are missing
    values, except in the ``user``, ``item`` and ``category`` columns, where
    only an empty field is (an id such as ``"NA"`` stays an id, as in every
    reader of :mod:`xcat.data`). A line whose number of fields differs from the header's is not
    parsed but returned (file line number and fields) to be reported as
    malformed. The frame's index is the file line number of each row (1 =
    the header), so reports point at lines of the file.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.csv``, ``.tsv``, ``.txt`` (comma-separated), each optionally
        ``.gz``, or ``.parquet``.

    Returns
    -------
    (pandas.DataFrame, list of dict)
        The rows (object columns, ``None`` for missing values) and the
        malformed lines as ``{"line": int, "fields": [first 10 fields]}``.

    Raises
    ------
    ArgumentError
        (``argument="events"``) If the file type is unknown, or the file is
        empty or has no header.
    """
    import csv
    import gzip
    import io

    import pandas as pd

    from xcat.data.parse import MISSING_MARKERS as MISSING

    path = Path(path)
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        frame = pd.read_parquet(path)
        frame.index = pd.RangeIndex(2, len(frame) + 2)  # as if row 1 were a header
        for col in frame.columns:  # the same missing markers as in text files
            if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
                missing = _markers(col, MISSING)
                frame[col] = frame[col].astype(object).where(~frame[col].isin(missing), None)
        return frame, []
    if not name.endswith((".csv", ".tsv", ".txt")):
        raise ArgumentError(
            "events", f"{path}: expected a .csv, .tsv (optionally .gz) or .parquet file"
        )
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as raw:
        text = raw.read()
    reader = csv.reader(io.StringIO(text), delimiter="\t" if name.endswith(".tsv") else ",")
    header = next(reader, None)
    if not header:
        raise ArgumentError("events", f"{path} is empty: expected a header line")
    markers = [_markers(col, MISSING) for col in header]
    rows, lines, ragged = [], [], []
    for record in reader:
        line = reader.line_num
        if not record:
            continue  # a blank line
        if len(record) != len(header):
            ragged.append({"line": line, "fields": record[:10]})
            continue
        rows.append([None if v in m else v for v, m in zip(record, markers, strict=True)])
        lines.append(line)
    frame = pd.DataFrame(rows, columns=header, index=pd.Index(lines, name="line"), dtype=object)
    return frame, ragged


#: Columns of ids: only an empty field is missing there, so that an id such as
#: ``"NA"`` stays an id (the policy of :mod:`xcat.data.parse`).
_ID_COLUMNS = ("user", "item", "category")


def _markers(column: object, missing: frozenset[str]) -> frozenset[str]:
    """Return the texts that are a missing value in ``column``."""
    return frozenset({""}) if column in _ID_COLUMNS else missing


def split_holdout(
    frame: pd.DataFrame, known_users: pd.Index, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out the last event of a seeded ``fraction`` of known users with >= 2 events.

    "Last" is by ``timestamp`` when the table has one (ties by row order),
    else by row order.

    Parameters
    ----------
    frame : pandas.DataFrame
        Events with a ``user`` column (and optionally ``timestamp``).
    known_users : pandas.Index
        The model's user ids; only these users are held out from.
    fraction : float
        Share of the eligible users held out (at least one when any is
        eligible); 0 holds out nothing.
    seed : int
        Seed of the choice of users.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        ``(train_events, held_out)``; every row is in exactly one of them.
    """
    import numpy as np
    import pandas as pd

    if fraction <= 0 or frame.empty:
        return frame, frame.iloc[:0]
    users = frame["user"]
    counts = users.value_counts()
    eligible = counts.index[(counts >= 2).to_numpy() & counts.index.isin(known_users)]
    if len(eligible) == 0:
        return frame, frame.iloc[:0]
    rng = np.random.default_rng(seed)
    size = max(1, round(fraction * len(eligible)))
    chosen = eligible[np.sort(rng.choice(len(eligible), size=size, replace=False))]
    position = np.arange(len(frame))
    order = position
    if "timestamp" in frame.columns:
        order = np.empty(len(frame), dtype=np.int64)
        order[np.lexsort((position, frame["timestamp"].to_numpy()))] = position
    mine = users.isin(chosen).to_numpy()
    ranked = pd.DataFrame({"user": users.to_numpy()[mine], "order": order[mine]})
    last = np.flatnonzero(mine)[ranked.groupby("user")["order"].idxmax().to_numpy()]
    held = np.zeros(len(frame), dtype=bool)
    held[last] = True
    return frame[~held], frame[held]


def invalid_summary(invalid: dict[str, dict[str, Any]]) -> str:
    """One line on invalid rows: count, reason and first example of each reason.

    Parameters
    ----------
    invalid : dict of str to dict
        As :attr:`xcat.train.update.UpdateReport.invalid`.
    """
    from xcat.train.update import INVALID_REASONS

    parts = []
    for reason, v in invalid.items():
        example = v["examples"][0] if v["examples"] else {}
        parts.append(f"{v['count']:,} {reason} ({INVALID_REASONS[reason]}), e.g. {example}")
    return "; ".join(parts)


@dataclass
class FeedbackReport:
    """What :func:`feedback` did and measured.

    Attributes
    ----------
    update : xcat.train.update.UpdateReport
        The final update with every valid event (``events`` counts every row
        of the file, malformed lines included; ``invalid`` has them all).
    held_out : int
        Events held out for the measurement (0: none). Fewer than
        :data:`MIN_HELD_OUT` are not measured (``before`` and ``after``
        None, :attr:`too_few`).
    k : int
        Cut-off of the measurement.
    holdout : float
        The share of known users asked for.
    before, after : dict or None
        ``{"NDCG@k", "HR@k", "users"}`` of the model before the update and of
        the trial update, on the held-out events (None when not measured).
    source, events, out : pathlib.Path
        The model updated from, the events file, the new model directory.
    model : xcat.models.TwoTower
        The updated model (saved in ``out``).
    min_held_out : int, default MIN_HELD_OUT
        Fewest held-out events measured.
    """

    update: UpdateReport
    held_out: int
    k: int
    holdout: float
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    source: Path
    events: Path
    out: Path
    model: TwoTower
    min_held_out: int = MIN_HELD_OUT

    @property
    def measured(self) -> bool:
        """Whether the before/after comparison ran."""
        return self.before is not None and self.after is not None

    @property
    def too_few(self) -> bool:
        """Whether events were held out but too few (``min_held_out``) to measure."""
        return 0 < self.held_out < self.min_held_out

    def _too_few_line(self) -> str:
        return (
            f"held-out: only {self.held_out:,} events, too few to measure a change in "
            f"NDCG@{self.k} / HR@{self.k} (at least {self.min_held_out:,} are needed; raise "
            "--holdout or send more events); not measured"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready summary written to ``feedback.json``."""
        return {
            "update": self.update.to_dict(),
            "held_out": {
                "events": self.held_out,
                "k": self.k,
                "min_events": self.min_held_out,
                "before": self.before,
                "after": self.after,
            },
        }

    def markdown(self) -> str:
        """Return the report written to ``feedback.md``."""
        k, before, after = self.k, self.before, self.after
        lines = [
            f"# xcat feedback: {self.source} + {self.events.name}",
            "",
            "```",
            str(self.update),
            "```",
            "",
            "Examples of rows not used give their line in the events file (`row`, or `line` for "
            "lines with the wrong number of fields).",
        ]
        if before is not None and after is not None:
            lines += [
                "",
                f"Measured on {self.held_out:,} held-out events (the last event of "
                f"{self.holdout:.0%} of the known users with 2+ events): a trial update on a "
                "copy without them, then full ranking of their categories. The saved model was "
                "updated with every valid event, these included.",
                "",
                f"| model | NDCG@{k} | HR@{k} |",
                "|---|---|---|",
                f"| before | {before[f'NDCG@{k}']:.4f} | {before[f'HR@{k}']:.4f} |",
                f"| after (trial) | {after[f'NDCG@{k}']:.4f} | {after[f'HR@{k}']:.4f} |",
            ]
        elif self.too_few:
            line = self._too_few_line()
            lines += ["", line[0].upper() + line[1:] + "."]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        text = str(self.update)
        if self.before is not None and self.after is not None:
            k, before, after = self.k, self.before, self.after
            text += (
                f"\nheld-out ({self.held_out:,} events): NDCG@{k} {before[f'NDCG@{k}']:.4f} -> "
                f"{after[f'NDCG@{k}']:.4f}, HR@{k} {before[f'HR@{k}']:.4f} -> "
                f"{after[f'HR@{k}']:.4f}"
            )
        elif self.too_few:
            text += "\n" + self._too_few_line()
        return text


def _check_out(model_dir: Path, out: Path, overwrite: bool) -> None:
    """Refuse an ``out`` that is the model itself, or a non-empty folder that is not a model."""
    from xcat.models.io import read_metadata

    if out.resolve() == model_dir.resolve():
        raise ArgumentError(
            "out", "must differ from --model: the model you update from stays as it was"
        )
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ArgumentError(
                "out",
                f"{out} exists and is not empty; choose a new directory or pass --overwrite",
            )
        try:
            read_metadata(out)
        except (FileNotFoundError, ValueError):
            raise ArgumentError(
                "out",
                f"{out} is not a saved xcat model; --overwrite only replaces a model directory",
            ) from None


def feedback(
    model: str | Path,
    events: str | Path,
    out: str | Path,
    *,
    steps: int = 100,
    replay: float = 1.0,
    lr: float = 1e-3,
    batch_size: int = 256,
    holdout: float = 0.1,
    k: int = 10,
    min_held_out: int = MIN_HELD_OUT,
    seed: int = 0,
    device: str = "auto",
    threads: int | None = None,
    strict: bool = False,
    overwrite: bool = False,
    echo: Callable[[str], None] = print,
) -> FeedbackReport:
    """Update a saved model with new interactions and save it as a new model.

    Unknown users and items are added (the old id maps stay a prefix of the
    new ones); invalid rows (malformed, padded ids, unknown category, older
    than the model's training cut-off...) are reported with counts and
    examples, never dropped silently. To measure the update, the last event
    of ``holdout`` of the known users is held out from a trial update on a
    copy of the model, and NDCG@k / HR@k on those events are compared before
    and after (when at least :data:`MIN_HELD_OUT` events are held out); the
    saved model is then updated with every valid event.

    Parameters
    ----------
    model : str or pathlib.Path
        Saved two-tower model directory (e.g. ``RUN/models/freeze``); it is
        not changed.
    events : str or pathlib.Path
        CSV / TSV / Parquet with ``user``, ``item`` and optional ``category``,
        ``timestamp``, ``rating`` columns (:func:`read_events`).
    out : str or pathlib.Path
        New model directory; ``feedback.json`` and ``feedback.md`` are
        written into it.
    steps : int, default 100
        Fine-tuning steps (:func:`xcat.train.update`).
    replay : float, default 1.0
        History pairs per event.
    lr : float, default 1e-3
    batch_size : int, default 256
    holdout : float, default 0.1
        Share of known users whose last event measures the update, in
        ``[0, 1)``; 0: no measurement.
    k : int, default 10
        Cut-off of the measurement.
    min_held_out : int, default MIN_HELD_OUT (50)
        Fewest held-out events measured; with fewer the report says so and
        no trial update runs.
    seed : int, default 0
        Seed of the hold-out choice and of fine-tuning.
    device : str, default "auto"
    threads : int, optional
        CPU threads for PyTorch (``torch.set_num_threads``).
    strict : bool, default False
        Fail on any invalid row instead of reporting and leaving it out.
    overwrite : bool, default False
        Replace the model in an existing, non-empty ``out`` model directory.
    echo : callable, default print
        Where progress lines go.

    Returns
    -------
    FeedbackReport

    Raises
    ------
    ArgumentError
        ``out`` is ``model``, or not empty without ``overwrite``, or with
        ``overwrite`` not a saved model; ``model`` is not a two-tower model
        with a vocabulary; ``events`` is not a readable events file.
    DirectoryBusyError
        (``argument="out"``) Another xcat process is writing ``out``
        (:func:`xcat.workflow.locks.writing`); nothing but the lock file is
        written.
    ValueError
        With ``strict`` when a row is invalid; when no row is usable (the
        model is then not saved).
    """
    import torch

    from xcat.evaluate import heldout_metrics
    from xcat.models import TwoTower, load, save
    from xcat.train import TrainConfig
    from xcat.train.update import check_events, update

    model_dir, events, out = Path(model), Path(events), Path(out)
    if isinstance(min_held_out, bool) or not isinstance(min_held_out, int) or min_held_out < 1:
        raise ArgumentError("min_held_out", f"expected a positive integer, got {min_held_out!r}")
    with writing(out, "out"):  # one writer of `out` at a time
        _check_out(model_dir, out, overwrite)
        loaded = load(model_dir)
        if not isinstance(loaded, TwoTower):
            raise ArgumentError(
                "model",
                f"{model_dir} is a {type(loaded).__name__}; only two-tower models can be updated "
                f"(for an EMCDR mapping model, update its target model, {model_dir / 'target'}, "
                "and fit the mapping again with `xcat transfer --strategy mapping`)",
            )
        if loaded.vocab is None:
            raise ArgumentError("model", f"{model_dir} was saved without a vocabulary")
        if threads:
            torch.set_num_threads(threads)
        frame, ragged = read_events(events)
        # check every row first, so rows held out for the before/after metric are checked too
        good, invalid = check_events(frame, loaded.vocab, trained_until=loaded.trained_until)
        if ragged:
            malformed = invalid.setdefault("malformed", {"count": 0, "examples": []})
            malformed["count"] += len(ragged)
            malformed["examples"] = (malformed["examples"] + ragged)[:5]
        n_rows = len(frame) + len(ragged)
        if invalid and strict:
            raise ValueError(
                f"{events}: {sum(v['count'] for v in invalid.values()):,} of {n_rows:,} rows are "
                f"invalid: {invalid_summary(invalid)}"
            )
        if good is None:
            raise ValueError(
                f"{events}: no usable events ({n_rows:,} rows"
                + (f": {invalid_summary(invalid)}" if invalid else "")
                + "); the model was not changed"
            )
        rows = good.data
        tc = TrainConfig(lr=lr, batch_size=batch_size, seed=seed, device=device, progress=True)
        train_events, held = split_holdout(rows, loaded.vocab.users.ids, holdout, seed)
        before = after = None
        if len(held) >= min_held_out:
            echo(f"measuring: a trial update without {len(held):,} held-out events...")
            trial = loaded.clone()
            update(trial, train_events, steps=steps, replay=replay, train_config=tc)
            before = heldout_metrics(loaded, held, k=k, exclude=train_events)
            after = heldout_metrics(trial, held, k=k, exclude=train_events)
        echo(f"updating with all {len(rows):,} valid events...")
        done = update(loaded, rows, steps=steps, replay=replay, train_config=tc)
        done.events = n_rows
        done.invalid = invalid
        extra = dict(getattr(loaded, "metadata", {}).get("extra", {}))
        extra["feedback"] = {
            "from": str(model_dir),
            "events": str(events),
            "steps": done.steps,
            "interrupted": done.interrupted,
        }
        save(loaded, out, extra=extra)
        report = FeedbackReport(
            update=done,
            held_out=len(held),
            k=k,
            holdout=holdout,
            before=before,
            after=after,
            source=model_dir,
            events=events,
            out=out,
            model=loaded,
            min_held_out=min_held_out,
        )
        (out / "feedback.json").write_text(
            json.dumps(report.to_dict(), indent=2, default=str) + "\n"
        )
        (out / "feedback.md").write_text(report.markdown())
    return report
