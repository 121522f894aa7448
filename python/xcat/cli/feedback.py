"""``xcat feedback``: apply new interactions to a saved model (the feedback loop)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import pandas as pd


#: Text fields read as missing values: those pandas reads as missing by default.
MISSING = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"}
    | {"<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)


def read_events(path: Path) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Read an events file: CSV / TSV (optionally gzip) or Parquet, with a header.

    Text is kept as given (ids are matched to the model's own id types
    later); the fields in :data:`MISSING` are missing values. A line whose
    number of fields differs from the header's is not parsed but returned
    (file line number and fields) to be reported as malformed. The frame's
    index is the file line number of each row (1 = the header), so reports
    point at lines of the file.

    Raises
    ------
    click.BadParameter
        If the file type is unknown, or the file is empty or has no header.
    """
    import csv
    import gzip
    import io

    import pandas as pd

    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        frame = pd.read_parquet(path)
        frame.index = pd.RangeIndex(2, len(frame) + 2)  # as if row 1 were a header
        for col in frame.columns:  # the same missing markers as in text files
            if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
                frame[col] = frame[col].astype(object).where(~frame[col].isin(MISSING), None)
        return frame, []
    if not name.endswith((".csv", ".tsv", ".txt")):
        raise click.BadParameter(
            f"{path}: expected a .csv, .tsv (optionally .gz) or .parquet file",
            param_hint="--events",
        )
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as raw:  # type: ignore[operator]
        text = raw.read()
    reader = csv.reader(io.StringIO(text), delimiter="\t" if name.endswith(".tsv") else ",")
    header = next(reader, None)
    if not header:
        raise click.BadParameter(f"{path} is empty: expected a header line", param_hint="--events")
    rows, lines, ragged = [], [], []
    for record in reader:
        line = reader.line_num
        if not record:
            continue  # a blank line
        if len(record) != len(header):
            ragged.append({"line": line, "fields": record[:10]})
            continue
        rows.append([None if v in MISSING else v for v in record])
        lines.append(line)
    frame = pd.DataFrame(rows, columns=header, index=pd.Index(lines, name="line"), dtype=object)
    return frame, ragged


def split_holdout(
    frame: pd.DataFrame, known_users: pd.Index, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out the last event of a seeded ``fraction`` of known users with >= 2 events.

    "Last" is by ``timestamp`` when the table has one (ties by row order),
    else by row order. Returns ``(train_events, held_out)``; every row is in
    exactly one of them.
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


def _invalid_summary(invalid: dict[str, dict[str, Any]]) -> str:
    from xcat.train.update import INVALID_REASONS

    parts = []
    for reason, v in invalid.items():
        example = v["examples"][0] if v["examples"] else {}
        parts.append(f"{v['count']:,} {reason} ({INVALID_REASONS[reason]}), e.g. {example}")
    return "; ".join(parts)


@click.command()
@click.option(
    "--model",
    "model_dir",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    required=True,
    help="Saved two-tower model directory (e.g. RUN/models/freeze).",
)
@click.option(
    "--events",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    required=True,
    help="CSV/TSV/Parquet with user, item and optional category, timestamp, rating columns.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="New model directory (the report is written into it).",
)
@click.option(
    "--steps", type=click.IntRange(min=0), default=100, show_default=True, help="Fine-tuning steps."
)
@click.option(
    "--replay",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="History pairs per event.",
)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
@click.option(
    "--holdout",
    default=0.1,
    show_default=True,
    type=click.FloatRange(0, 1, max_open=True),
    help="Share of known users whose last event measures the update (0: no measurement).",
)
@click.option("--k", type=click.IntRange(min=1), default=10, show_default=True, help="Cut-off.")
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N")
@click.option(
    "--threads", type=click.IntRange(min=1), default=None, help="CPU threads for PyTorch."
)
@click.option(
    "--strict/--no-strict",
    default=False,
    show_default=True,
    help="Fail on any invalid row instead of reporting and leaving it out.",
)
@click.option(
    "--overwrite", is_flag=True, help="Replace the model in an existing --out model directory."
)
def feedback(
    model_dir,
    events,
    out,
    steps,
    replay,
    lr,
    batch_size,
    holdout,
    k,
    seed,
    device,
    threads,
    strict,
    overwrite,
):
    """Update a saved model with new interactions and save it as a new model.

    Unknown users and items are added (the old id maps stay a prefix of the
    new ones); invalid rows (malformed, padded ids, unknown category, older
    than the model's training cut-off...) are reported with counts and
    examples, never dropped silently. To measure the update, the last event
    of --holdout of the known users is held out from a trial update on a
    copy of the model, and NDCG@k / HR@k on those events are compared before
    and after; the saved model is then updated with every valid event.
    """
    import torch

    from xcat.models import TwoTower, load, save
    from xcat.models.io import read_metadata
    from xcat.train import TrainConfig
    from xcat.train.evaluation import heldout_metrics
    from xcat.train.loop import clone_model
    from xcat.train.update import check_events, update

    if out.resolve() == model_dir.resolve():
        raise click.BadParameter(
            "must differ from --model: the model you update from stays as it was",
            param_hint="--out",
        )
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise click.BadParameter(
                f"{out} exists and is not empty; choose a new directory or pass --overwrite",
                param_hint="--out",
            )
        try:
            read_metadata(out)
        except (FileNotFoundError, ValueError):
            raise click.BadParameter(
                f"{out} is not a saved xcat model; --overwrite only replaces a model directory",
                param_hint="--out",
            ) from None
    model = load(model_dir)
    if not isinstance(model, TwoTower):
        raise click.BadParameter(
            f"{model_dir} is a {type(model).__name__}; only two-tower models can be updated "
            f"(for an EMCDR mapping model, update its target model, {model_dir / 'target'}, "
            "and fit the mapping again with `xcat transfer --strategy mapping`)",
            param_hint="--model",
        )
    if model.vocab is None:
        raise click.BadParameter(
            f"{model_dir} was saved without a vocabulary", param_hint="--model"
        )
    if threads:
        torch.set_num_threads(threads)
    frame, ragged = read_events(events)
    # check every row first, so rows held out for the before/after metric are checked too
    good, invalid = check_events(frame, model.vocab, trained_until=model.trained_until)
    if ragged:
        malformed = invalid.setdefault("malformed", {"count": 0, "examples": []})
        malformed["count"] += len(ragged)
        malformed["examples"] = (malformed["examples"] + ragged)[:5]
    n_rows = len(frame) + len(ragged)
    if invalid and strict:
        raise click.ClickException(
            f"{events}: {sum(v['count'] for v in invalid.values()):,} of {n_rows:,} rows are "
            f"invalid: {_invalid_summary(invalid)}"
        )
    if good is None:
        raise click.ClickException(
            f"{events}: no usable events ({n_rows:,} rows"
            + (f": {_invalid_summary(invalid)}" if invalid else "")
            + "); the model was not changed"
        )
    rows = good.data
    tc = TrainConfig(lr=lr, batch_size=batch_size, seed=seed, device=device, progress=True)
    options = {"steps": steps, "replay": replay, "train_config": tc}
    train_events, held = split_holdout(rows, model.vocab.users.ids, holdout, seed)
    before = after = None
    if len(held):
        click.echo(f"measuring: a trial update without {len(held):,} held-out events...")
        trial = clone_model(model)
        update(trial, train_events, **options)
        before = heldout_metrics(model, held, k=k, exclude=train_events)
        after = heldout_metrics(trial, held, k=k, exclude=train_events)
    click.echo(f"updating with all {len(rows):,} valid events...")
    report = update(model, rows, **options)
    report.events = n_rows
    report.invalid = invalid
    extra = dict(getattr(model, "metadata", {}).get("extra", {}))
    extra["feedback"] = {
        "from": str(model_dir),
        "events": str(events),
        "steps": report.steps,
        "interrupted": report.interrupted,
    }
    save(model, out, extra=extra)
    summary = {
        "update": report.to_dict(),
        "held_out": {"events": len(held), "k": k, "before": before, "after": after},
    }
    (out / "feedback.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    lines = [
        f"# xcat feedback: {model_dir} + {events.name}",
        "",
        "```",
        str(report),
        "```",
        "",
        "Examples of rows not used give their line in the events file (`row`, or `line` for "
        "lines with the wrong number of fields).",
    ]
    if before is not None and after is not None:
        lines += [
            "",
            f"Measured on {len(held):,} held-out events (the last event of {holdout:.0%} of the "
            "known users with 2+ events): a trial update on a copy without them, then full "
            "ranking of their categories. The saved model was updated with every valid event, "
            "these included.",
            "",
            f"| model | NDCG@{k} | HR@{k} |",
            "|---|---|---|",
            f"| before | {before[f'NDCG@{k}']:.4f} | {before[f'HR@{k}']:.4f} |",
            f"| after (trial) | {after[f'NDCG@{k}']:.4f} | {after[f'HR@{k}']:.4f} |",
        ]
    (out / "feedback.md").write_text("\n".join(lines) + "\n")
    click.echo(str(report))
    if before is not None and after is not None:
        click.echo(
            f"held-out ({len(held):,} events): NDCG@{k} {before[f'NDCG@{k}']:.4f} -> "
            f"{after[f'NDCG@{k}']:.4f}, HR@{k} {before[f'HR@{k}']:.4f} -> {after[f'HR@{k}']:.4f}"
        )
    click.echo(f"saved {out} (feedback.md, feedback.json)")
