"""``xcat quickstart | pretrain | transfer | evaluate | recommend``.

Every command takes ``--data SPEC``: ``synthetic`` (the built-in generator,
default), ``amazon5:SOURCE:TARGET`` (Amazon 2014 5-core; beauty, sports,
toys), ``cdrib:SOURCE:TARGET`` (video/game, sport/cloth), ``disencdr:SOURCE:TARGET``,
``douban:book:music``, or a folder / files ``xcat data stats`` reads. Data
folders come from ``--data-dir`` or ``$XCAT_DATA_DIR`` (else ../shared/data).
``--protocol published`` keeps the train/valid/test files of DisenCDR and
CDRIB and adds the papers' sampled protocol (999 random negatives per test
item) beside full ranking. A run directory holds ``run.json`` (how to
rebuild the split), models under ``models/``, and after ``evaluate`` the
report files.

Each command parses its options, calls one function of :mod:`xcat.workflow`
and prints what it returns.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import click

from xcat.cli.options import Command, command_line, common_options, table_spec
from xcat.workflow import BASELINE_NAMES, SELECT_ON, STRATEGY_NAMES, USER_TOWERS


def _baselines(ctx: Any, param: Any, value: str | None) -> tuple[str, ...] | None:
    """Parse ``--baselines ease-merged,itemknn-merged`` against the registry."""
    if value is None:
        return None
    names = tuple(p.strip() for p in value.split(",") if p.strip())
    unknown = [n for n in names if n not in BASELINE_NAMES]
    if unknown or not names:
        raise click.BadParameter(
            f"unknown {unknown or [value]}; choose from {','.join(BASELINE_NAMES)}"
        )
    return names


def _cutoffs(ctx: Any, param: Any, value: str) -> list[int]:
    """Parse ``--k 5,10,20`` into positive integers."""
    parts = value.split(",")
    if not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise click.BadParameter(f"expected comma-separated positive integers, got {value!r}")
    return [int(p) for p in parts]


@click.command(cls=Command)
@common_options
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Run directory [default: runs/quickstart-<time>].",
)
@click.option(
    "--strategies",
    default=None,
    help=f"Comma-separated subset of {','.join(STRATEGY_NAMES)}.",
)
@click.option(
    "--baselines",
    default=None,
    callback=_baselines,
    help=f"Comma-separated no-transfer baselines, each tuned on validation, of "
    f"{','.join(BASELINE_NAMES)} [default: all; popularity always runs].",
)
@click.option(
    "--select-on",
    type=click.Choice(SELECT_ON),
    default="auto",
    show_default=True,
    help="Validation users every method (baseline settings, best epoch) is selected on; "
    "auto: cold-start when there are cold-start validation users, else all.",
)
@click.option(
    "--user-tower",
    type=click.Choice(USER_TOWERS),
    default="mean",
    show_default=True,
    help="User tower of the neural models: mean-pooled history, or a sequence tower "
    "(SASRec / GRU4Rec over the mixed-category history, full-softmax cross-entropy).",
)
@click.option(
    "--cold-views",
    type=click.FloatRange(min=0),
    default=None,
    help="Sequence towers: loss weight of cold-start views in target training (each "
    "overlapping user's source-only history -> each of its target items) [default: 0, off].",
)
@click.option(
    "--dropout",
    type=click.FloatRange(0, 1, max_open=True),
    default=None,
    help="Dropout of the neural models.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=None,
    help="Most target epochs (early stopping).",
)
@click.option(
    "--pretrain-epochs",
    type=click.IntRange(min=1),
    default=None,
    help="Source pretraining epochs.",
)
@click.option("--dim", type=click.IntRange(min=1), default=None, help="Embedding dimension.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=None,
    help="Interactions (sequences) per step.",
)
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Adam learning rate.",
)
def quickstart(
    data_spec,
    data_dir,
    sources,
    targets,
    user_col,
    item_col,
    category_col,
    timestamp_col,
    seed,
    device,
    threads,
    sample_users,
    protocol,
    sampled_negatives,
    out,
    strategies,
    baselines,
    select_on,
    user_tower,
    cold_views,
    dropout,
    epochs,
    pretrain_epochs,
    dim,
    batch_size,
    lr,
):
    """Pretrain on the source category, transfer to the target, compare, recommend.

    Runs every transfer strategy against the no-transfer baselines (scratch,
    popularity, EASE, ItemKNN; each tuned on validation), prints the
    comparison table for all, cold-start and warm target users with each
    strategy's difference to the best baseline (paired bootstrap 95% CI),
    and example recommendations with explanations.
    """
    from xcat.workflow import SAMPLED_TITLE, format_comparison, format_table
    from xcat.workflow import quickstart as run_quickstart

    out = out or Path("runs") / time.strftime("quickstart-%Y%m%d-%H%M%S")
    config = {
        "seed": seed,
        "device": device,
        "threads": threads,
        "epochs": epochs,
        "pretrain_epochs": pretrain_epochs,
        "dim": dim,
        "strategies": tuple(strategies.split(",")) if strategies else None,
        "baselines": baselines,
        "select_on": select_on,
        "user_tower": user_tower,
        "cold_views": cold_views,
        "dropout": dropout,
        "batch_size": batch_size,
        "lr": lr,
        "protocol": protocol,
        "sampled_negatives": sampled_negatives,
    }
    result = run_quickstart(
        out,
        data_spec,
        data_dir=data_dir,
        sample_users=sample_users,
        table=table_spec(sources, targets, user_col, item_col, category_col, timestamp_col),
        config=config,
        echo=click.echo,
        command=command_line(),
    )
    click.echo(
        "\nTarget test, full ranking (gain % vs scratch, same user group; Δ vs the group's best "
        "baseline by validation, paired bootstrap 95% CI):\n"
    )
    click.echo(format_table(result.table))
    click.echo(f"\n{format_comparison(result)}")
    if result.sampled_table is not None:
        click.echo(f"\n{SAMPLED_TITLE.format(n=result.info['sampled_negatives'])}:\n")
        click.echo(format_table(result.sampled_table))
    recs = result.recommendations
    who = "cold-start users" if "cold-start" in result.results["scratch"] else "test users"
    click.echo(
        f"\nExample recommendations for {who} ({recs['strategy'].iloc[0] if len(recs) else '-'}):"
    )
    for user, rows in recs.groupby("user", sort=False):
        click.echo(f"  {user}:")
        for row in rows.itertuples():
            because = ", ".join(map(str, row.because)) or "-"
            click.echo(f"    {row.rank}. {row.item}  score {row.score:.3f}  because of {because}")
    click.echo(
        f"\nRun directory: {out} ({', '.join(p.name for p in result.paths.values())}); "
        f"total {result.info['total_seconds']:.0f} s"
    )


@click.command(cls=Command)
@common_options
@click.option(
    "--out",
    "run_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Run directory to create.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Source pretraining epochs.",
)
@click.option("--dim", type=click.IntRange(min=1), default=32, show_default=True)
def pretrain(
    data_spec,
    data_dir,
    sources,
    targets,
    user_col,
    item_col,
    category_col,
    timestamp_col,
    seed,
    device,
    threads,
    sample_users,
    protocol,
    sampled_negatives,
    run_dir,
    epochs,
    dim,
):
    """Split the data (--protocol) and pretrain on the source category."""
    from xcat.workflow import pretrain as run_pretrain

    config = {
        "seed": seed,
        "device": device,
        "threads": threads,
        "dim": dim,
        "pretrain_epochs": epochs,
        "protocol": protocol,
        "sampled_negatives": sampled_negatives,
    }
    done = run_pretrain(
        run_dir,
        data_spec,
        data_dir=data_dir,
        sample_users=sample_users,
        table=table_spec(sources, targets, user_col, item_col, category_col, timestamp_col),
        config=config,
        echo=click.echo,
    )
    click.echo(str(done))


@click.command(cls=Command)
@click.option(
    "--run",
    "run_dir",
    type=click.Path(path_type=Path, exists=True),
    required=True,
    help="Run directory from `xcat pretrain`.",
)
@click.option("--strategy", type=click.Choice(STRATEGY_NAMES), required=True)
@click.option(
    "--freeze",
    "freeze_names",
    default=None,
    help="freeze: comma-separated parameter names/prefixes.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Most target epochs (mapping: of the scratch model, when it is trained).",
)
@click.option(
    "--mapper-epochs",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="mapping: epochs of the EMCDR mapping MLP.",
)
def transfer(run_dir, strategy, freeze_names, epochs, mapper_epochs):
    """Transfer the pretrained model to the target category with one strategy.

    ``mapping`` (EMCDR) maps pretrained source user vectors into a
    target-only model: RUN/models/scratch when the run has one, else a
    scratch model trained (and saved) first.
    """
    from xcat.workflow import transfer as run_transfer

    done = run_transfer(
        run_dir,
        strategy,
        freeze=freeze_names.split(",") if freeze_names else None,
        epochs=epochs,
        mapper_epochs=mapper_epochs,
        echo=click.echo,
    )
    click.echo(str(done))


@click.command(cls=Command)
@click.option("--run", "run_dir", type=click.Path(path_type=Path, exists=True), required=True)
@click.option(
    "--k", "ks", default="5,10,20", show_default=True, callback=_cutoffs, help="Cut-offs."
)
def evaluate(run_dir, ks):
    """Evaluate every model of a run against popularity and scratch; write the report."""
    from xcat.workflow import evaluate as run_evaluate
    from xcat.workflow import format_table
    from xcat.workflow.steps import UncheckedSplitWarning

    with warnings.catch_warnings():  # shown below as one line each, not as Python warnings
        warnings.simplefilter("ignore", UncheckedSplitWarning)
        done = run_evaluate(run_dir, ks, command=command_line())
    for note in done.notes:
        click.echo(f"warning: {note}", err=True)
    click.echo(format_table(done.table))
    if done.sampled_table is not None:
        click.echo(f"\n{done.sampled_title}:\n{format_table(done.sampled_table)}")
    click.echo(f"\nwrote {', '.join(str(p) for p in done.paths.values())}")


def _model_query_options(name: str, dest: str, what: str) -> Any:
    """Add the options of a query to one model of a run: --run, --strategy, the ids, -n, --category.

    ``name`` / ``dest`` / ``what``: the repeatable id option (``--user`` /
    ``users`` / ``user``), so ``recommend`` and ``similar`` read alike.
    """
    options = [
        click.option(
            "--run", "run_dir", type=click.Path(path_type=Path, exists=True), required=True
        ),
        click.option(
            "--strategy", required=True, help="Which model of the run (a folder of RUN/models)."
        ),
        click.option(
            name, dest, multiple=True, required=True, help=f"Raw {what} id (repeat for several)."
        ),
        click.option("-n", "--top", "n", type=click.IntRange(min=1), default=10, show_default=True),
        click.option(
            "--category",
            default=None,
            help="Only items of this category [default: the target category].",
        ),
    ]

    def add(f: Any) -> Any:
        for option in reversed(options):
            f = option(f)
        return f

    return add


@click.command(cls=Command)
@_model_query_options("--user", "users", "user")
@click.option(
    "--explain/--no-explain",
    default=True,
    show_default=True,
    help="Nearest items of the user's other categories.",
)
@click.option(
    "--unknown", type=click.Choice(["popular", "raise"]), default="popular", show_default=True
)
def recommend(run_dir, strategy, users, n, category, explain, unknown):
    """Recommend target-category items to users with a trained model."""
    from xcat.workflow import recommend as run_recommend

    done = run_recommend(
        run_dir, strategy, users, n=n, category=category, explain=explain, unknown=unknown
    )
    if done.rebuilt:
        click.echo(f"note: no saved recommender to load: {done.rebuilt}", err=True)
    for note in done.notes:
        click.echo(f"note: {note}; they get the most popular items", err=True)
    click.echo(done.table.drop(columns=["user_row", "item_row"]).to_string(index=False))


@click.command(cls=Command)
@_model_query_options("--item", "items", "item")
def similar(run_dir, strategy, items, n, category):
    """Items of the target category nearest to given items (e.g. source-category ones)."""
    from xcat.workflow import similar as run_similar

    done = run_similar(run_dir, strategy, items, n=n, category=category)
    if done.rebuilt:
        click.echo(f"note: no saved recommender to load: {done.rebuilt}", err=True)
    click.echo(done.table.to_string(index=False))
