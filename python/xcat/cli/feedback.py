"""``xcat feedback``: apply new interactions to a saved model (the feedback loop).

The update, its measurement and its report are :func:`xcat.workflow.feedback`.
"""

from __future__ import annotations

from pathlib import Path

import click

from xcat.cli.options import Command


@click.command(cls=Command)
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
    from xcat.workflow import feedback as run_feedback

    report = run_feedback(
        model_dir,
        events,
        out,
        steps=steps,
        replay=replay,
        lr=lr,
        batch_size=batch_size,
        holdout=holdout,
        k=k,
        seed=seed,
        device=device,
        threads=threads,
        strict=strict,
        overwrite=overwrite,
        echo=click.echo,
    )
    click.echo(str(report))
    click.echo(f"saved {out} (feedback.md, feedback.json)")
