"""``xcat feedback``: apply new interactions to a saved model (the feedback loop)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import pandas as pd


def read_events(path: Path) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Read an events file: CSV / TSV (optionally gzip) or Parquet, with a header.

    Ids are read as text, so nothing is converted before the model's own
    id types are applied. Lines with the wrong number of fields are not
    parsed but returned (line number and text) to be reported as malformed.
    """
    import pandas as pd

    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        return pd.read_parquet(path), []
    if not name.endswith((".csv", ".tsv", ".txt")):
        raise click.BadParameter(
            f"{path}: expected a .csv, .tsv (optionally .gz) or .parquet file",
            param_hint="--events",
        )
    bad: list[list[str]] = []
    frame = pd.read_csv(
        path,
        sep="\t" if name.endswith(".tsv") else ",",
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        engine="python",
        on_bad_lines=lambda fields: bad.append(fields) and None,
    )
    return frame, [{"fields": fields} for fields in bad]


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


@click.command()
@click.option(
    "--model",
    "model_dir",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    required=True,
    help="Saved model directory (e.g. RUN/models/freeze).",
)
@click.option(
    "--events",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    required=True,
    help="CSV/TSV/Parquet with user, item and optional category, timestamp, rating columns.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="New model directory (the report is written into it).",
)
@click.option("--steps", default=100, show_default=True, help="Fine-tuning steps (0: ids only).")
@click.option("--replay", default=1.0, show_default=True, help="History pairs per event.")
@click.option("--lr", default=1e-3, show_default=True)
@click.option("--batch-size", default=256, show_default=True)
@click.option(
    "--holdout",
    default=0.1,
    show_default=True,
    type=click.FloatRange(0, 1, max_open=True),
    help="Share of users whose last event is held out to measure the model before/after.",
)
@click.option("--k", default=10, show_default=True, help="Cut-off of the held-out metrics.")
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N")
@click.option(
    "--strict/--no-strict",
    default=False,
    show_default=True,
    help="Fail on any invalid row instead of reporting and leaving it out.",
)
def feedback(
    model_dir, events, out, steps, replay, lr, batch_size, holdout, k, seed, device, strict
):
    """Update a saved model with new interactions and save it as a new model.

    Unknown users and items are added (the old id maps stay a prefix of the
    new ones); invalid rows (malformed, unknown category, older than the
    model's training cut-off) are reported with counts and examples. The
    report compares the model before and after on held-out events.
    """
    from xcat.models import load, save
    from xcat.train import TrainConfig
    from xcat.train.evaluation import heldout_metrics
    from xcat.train.update import check_events, update

    model = load(model_dir)
    if model.vocab is None:
        raise click.BadParameter(
            f"{model_dir} was saved without a vocabulary", param_hint="--model"
        )
    frame, ragged = read_events(events)
    if ragged and strict:
        raise click.ClickException(f"{events}: {len(ragged)} lines have the wrong number of fields")
    # check every row first, so rows held out for the before/after metric are checked too
    good, invalid = check_events(frame, model.vocab, trained_until=model.trained_until)
    if invalid and strict:
        n_bad = sum(v["count"] for v in invalid.values())
        raise click.ClickException(
            f"{events}: {n_bad:,} rows are invalid ({', '.join(invalid)}); "
            "run without --strict to see them reported"
        )
    rows = good.data if good is not None else frame.iloc[:0]
    train_events, held = split_holdout(rows, model.vocab.users.ids, holdout, seed)
    before = heldout_metrics(model, held, k=k, exclude=train_events)
    tc = TrainConfig(lr=lr, batch_size=batch_size, seed=seed, device=device, progress=False)
    report = update(model, train_events, steps=steps, replay=replay, train_config=tc)
    after = heldout_metrics(model, held, k=k, exclude=train_events)
    report.events = len(frame) + len(ragged)
    report.held_out = len(held)
    report.invalid = invalid
    if ragged:
        malformed = report.invalid.setdefault("malformed", {"count": 0, "examples": []})
        malformed["count"] += len(ragged)
        malformed["examples"] = (malformed["examples"] + ragged)[:5]
    extra = dict(getattr(model, "metadata", {}).get("extra", {}))
    extra["feedback"] = {"from": str(model_dir), "events": str(events), "steps": report.steps}
    save(model, out, extra=extra)
    summary = {
        "update": report.to_dict(),
        "held_out": {"events": len(held), "before": before, "after": after},
    }
    (out / "feedback.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    lines = [f"# xcat feedback: {model_dir} + {events.name}", "", "```", str(report), "```", ""]
    if before is not None and after is not None:
        lines += [
            f"Held-out events: {len(held):,} (last event of {holdout:.0%} of known users "
            "with 2+ events; not trained on)",
            "",
            f"| model | NDCG@{k} | HR@{k} |",
            "|---|---|---|",
            f"| before | {before[f'NDCG@{k}']:.4f} | {before[f'HR@{k}']:.4f} |",
            f"| after | {after[f'NDCG@{k}']:.4f} | {after[f'HR@{k}']:.4f} |",
        ]
    (out / "feedback.md").write_text("\n".join(lines) + "\n")
    click.echo(str(report))
    if before is not None and after is not None:
        click.echo(
            f"held-out ({len(held):,} events): NDCG@{k} {before[f'NDCG@{k}']:.4f} -> "
            f"{after[f'NDCG@{k}']:.4f}, HR@{k} {before[f'HR@{k}']:.4f} -> {after[f'HR@{k}']:.4f}"
        )
    click.echo(f"saved {out} (feedback.md, feedback.json)")
