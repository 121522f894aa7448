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
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import click

_SPEC_HELP = (
    "synthetic | amazon5:SRC:TGT | cdrib:SRC:TGT | disencdr:SRC:TGT | douban:SRC:TGT | PATH"
)


def load_data(
    spec: str, data_dir: str | None, seed: int = 0, sample_users: int | None = None
) -> Any:
    """Load the CrossDomainData a ``--data`` spec names (see the module docstring)."""
    data = _load_data(spec, data_dir, seed)
    if sample_users is not None:
        from xcat.data.domains import sample_users as sample

        data = sample(data, sample_users, seed=seed)
    return data


def _load_data(spec: str, data_dir: str | None, seed: int) -> Any:
    from xcat.data import datasets
    from xcat.data.domains import CrossDomainData
    from xcat.data.synthetic import make_cross_category

    if spec == "synthetic":
        return make_cross_category(seed=seed)
    loaders = {
        "amazon5": datasets.load_amazon2014_5core,
        "cdrib": datasets.load_cdrib_amazon_coldstart,
        "disencdr": datasets.load_disencdr_amazon,
        "douban": datasets.load_douban_book_music,
    }
    name, _, rest = spec.partition(":")
    if name in loaders:
        parts = rest.split(":")
        if len(parts) != 2 or not all(parts):
            raise click.BadParameter(
                f"expected {name}:SOURCE:TARGET, got {spec!r}", param_hint="--data"
            )
        source = parts[0].split("+") if name == "amazon5" and "+" in parts[0] else parts[0]
        return loaders[name](source, parts[1], root=data_dir)
    path = Path(spec)
    if not path.exists():
        raise click.BadParameter(
            f"{spec!r} is neither a known dataset nor a path ({_SPEC_HELP})", param_hint="--data"
        )
    found = [d for _, d in datasets.load_dataset_folder(path) if isinstance(d, CrossDomainData)]
    if not found:
        raise click.BadParameter(f"{spec}: no source/target pair found there", param_hint="--data")
    return found[0]


def _resolved_data_dir(spec: str, data_dir: str | None) -> str | None:
    """Return the data folder a dataset spec reads, as an absolute path (for run.json)."""
    if spec.partition(":")[0] not in ("amazon5", "cdrib", "disencdr", "douban"):
        return data_dir
    from xcat.data.datasets import data_dir as find

    return str(find(data_dir).resolve())


def _common(f: Any) -> Any:
    options = [
        click.option(
            "--data", "data_spec", default="synthetic", show_default=True, help=_SPEC_HELP
        ),
        click.option("--data-dir", default=None, help="Folder of the shared datasets."),
        click.option(
            "--seed", default=0, show_default=True, help="Seed of the split and training."
        ),
        click.option(
            "--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N"
        ),
        click.option("--threads", type=int, default=None, help="CPU threads for PyTorch."),
        click.option(
            "--sample-users",
            type=int,
            default=None,
            help="Keep all overlapping users but only this many others per domain (quick runs).",
        ),
        click.option(
            "--protocol",
            type=click.Choice(["cold-start", "published"]),
            default="cold-start",
            show_default=True,
            help="cold-start: hold out overlapping users' target history (any data); "
            "published: the benchmark's own train/valid/test files (cdrib, disencdr).",
        ),
        click.option(
            "--sampled-negatives",
            type=click.IntRange(min=0),
            default=None,
            help="Also rank each test item against N seeded random negatives, as the "
            "DisenCDR/CDRIB papers do [default: 999 with --protocol published, else 0 = off].",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _config(**kw: Any) -> Any:
    from xcat.workflow.experiment import ExperimentConfig

    return ExperimentConfig(**{k: v for k, v in kw.items() if v is not None})


def _command_line() -> str:
    return "xcat " + " ".join(shlex.quote(a) for a in sys.argv[1:])


@click.command()
@_common
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Run directory [default: runs/quickstart-<time>].",
)
@click.option(
    "--strategies",
    default=None,
    help="Comma-separated subset of scratch,full,freeze,reinit,mapping.",
)
@click.option("--epochs", type=int, default=None, help="Most target epochs (early stopping).")
@click.option("--pretrain-epochs", type=int, default=None, help="Source pretraining epochs.")
@click.option("--dim", type=int, default=None, help="Embedding dimension.")
def quickstart(
    data_spec,
    data_dir,
    seed,
    device,
    threads,
    sample_users,
    protocol,
    sampled_negatives,
    out,
    strategies,
    epochs,
    pretrain_epochs,
    dim,
):
    """Pretrain on the source category, transfer to the target, compare, recommend.

    Runs every transfer strategy against the no-transfer baseline (scratch)
    and popularity, prints the comparison table for all, cold-start and
    warm target users, and example recommendations with explanations.
    """
    from xcat.workflow.experiment import SAMPLED_TITLE, format_table, run_experiment

    out = out or Path("runs") / time.strftime("quickstart-%Y%m%d-%H%M%S")
    _check_new_run_dir(out)
    cfg = _config(
        seed=seed,
        device=device,
        threads=threads,
        epochs=epochs,
        pretrain_epochs=pretrain_epochs,
        dim=dim,
        strategies=tuple(strategies.split(",")) if strategies else None,
        protocol=protocol,
        sampled_negatives=sampled_negatives,
    )
    data = load_data(data_spec, data_dir, seed, sample_users)
    result = run_experiment(data, cfg, out_dir=out, echo=click.echo, command=_command_line())
    # a run directory like `xcat pretrain` makes: evaluate / recommend / transfer work on it
    run = {
        "data": data_spec,
        "data_dir": _resolved_data_dir(data_spec, data_dir),
        "sample_users": sample_users,
        "experiment": dataclasses.asdict(cfg),
    }
    (Path(out) / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    click.echo("\nTarget test, full ranking (gain % vs scratch, same user group):\n")
    click.echo(format_table(result.table))
    if result.sampled_table is not None:
        click.echo(f"\n{SAMPLED_TITLE.format(n=cfg.n_sampled_negatives)}:\n")
        click.echo(format_table(result.sampled_table))
    who = "cold-start users" if "cold-start" in result.results["scratch"] else "test users"
    click.echo(
        f"\nExample recommendations for {who} "
        f"({result.recommendations['strategy'].iloc[0] if len(result.recommendations) else '-'}):"
    )
    for user, recs in result.recommendations.groupby("user", sort=False):
        click.echo(f"  {user}:")
        for row in recs.itertuples():
            because = ", ".join(map(str, row.because)) or "-"
            click.echo(f"    {row.rank}. {row.item}  score {row.score:.3f}  because of {because}")
    click.echo(
        f"\nRun directory: {out} ({', '.join(p.name for p in result.paths.values())}); "
        f"total {result.info['total_seconds']:.0f} s"
    )


def _check_new_run_dir(path: Path) -> None:
    """Refuse to write a run into another run's or a model's directory (they would mix)."""
    for marker, what in (("run.json", "a run directory"), ("config.json", "a saved model")):
        if (path / marker).exists():
            raise click.BadParameter(
                f"{path} is already {what} ({marker}); choose a new --out", param_hint="--out"
            )
    if (path / "models").is_dir() and any((path / "models").iterdir()):
        raise click.BadParameter(
            f"{path} already holds models; choose a new --out", param_hint="--out"
        )


def _cutoffs(ctx: Any, param: Any, value: str) -> list[int]:
    """Parse ``--k 5,10,20`` into positive integers."""
    parts = value.split(",")
    if not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise click.BadParameter(f"expected comma-separated positive integers, got {value!r}")
    return [int(p) for p in parts]


def _experiment(run: dict[str, Any]) -> Any:
    """Return the ExperimentConfig a run directory's ``run.json`` records."""
    from xcat.workflow.experiment import ExperimentConfig

    return ExperimentConfig(**run["experiment"])


def _protocol(run: dict[str, Any]) -> Any:
    """Rebuild the run's data and its cold-start split exactly (same data, same seed)."""
    cfg = _experiment(run)
    data = load_data(run["data"], run.get("data_dir"), cfg.seed, run.get("sample_users"))
    return data, cfg.split(data)


def _read_run(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "run.json"
    if not path.is_file():
        raise click.BadParameter(
            f"{run_dir} has no run.json; create it with `xcat pretrain --out {run_dir}`",
            param_hint="--run",
        )
    return json.loads(path.read_text())


@click.command()
@_common
@click.option(
    "--out",
    "run_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Run directory to create.",
)
@click.option("--epochs", type=int, default=5, show_default=True, help="Source pretraining epochs.")
@click.option("--dim", type=int, default=32, show_default=True)
def pretrain(
    data_spec,
    data_dir,
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
    from xcat.models import save
    from xcat.transfer import pretrain as pretrain_model

    cfg = _config(
        seed=seed,
        device=device,
        threads=threads,
        dim=dim,
        pretrain_epochs=epochs,
        protocol=protocol,
        sampled_negatives=sampled_negatives,
    )
    run = {
        "data": data_spec,
        "data_dir": _resolved_data_dir(data_spec, data_dir),
        "sample_users": sample_users,
        "experiment": dataclasses.asdict(cfg),
    }
    _check_new_run_dir(run_dir)
    data, protocol = _protocol(run)
    mc = cfg.model_config(protocol.data.vocab)
    tc = cfg.train_config().replace(epochs=epochs)
    click.echo(f"{data!r}\npretraining on {len(protocol.data.source):,} source interactions...")
    model, fit = pretrain_model(protocol.data, model_config=mc, train_config=tc)
    run_dir.mkdir(parents=True, exist_ok=True)
    save(model, run_dir / "models" / "pretrained", extra={"strategy": "pretrained"})
    (run_dir / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    click.echo(f"saved {run_dir / 'models' / 'pretrained'} ({len(fit.history)} epochs)")


@click.command()
@click.option(
    "--run",
    "run_dir",
    type=click.Path(path_type=Path, exists=True),
    required=True,
    help="Run directory from `xcat pretrain`.",
)
@click.option(
    "--strategy",
    type=click.Choice(["scratch", "full", "freeze", "reinit", "mapping"]),
    required=True,
)
@click.option(
    "--freeze",
    "freeze_names",
    default=None,
    help="freeze: comma-separated parameter names/prefixes.",
)
@click.option(
    "--epochs",
    type=int,
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
    from xcat.models import load, save
    from xcat.transfer import transfer as transfer_model

    run = _read_run(run_dir)
    _, protocol = _protocol(run)
    pretrained = load(run_dir / "models" / "pretrained")
    tc = _experiment(run).train_config().replace(epochs=epochs)
    freeze = freeze_names.split(",") if freeze_names else None
    out = run_dir / "models" / strategy
    if strategy != "mapping":
        res = transfer_model(
            strategy, protocol.data, pretrained=pretrained, train_config=tc, freeze=freeze
        )
        save(res.model, out, extra={"strategy": strategy, "frozen": res.frozen})
        click.echo(f"{res.spec.describe()}\nsaved {out}")
        return
    if freeze is not None:
        raise click.BadParameter(
            "only the 'freeze' strategy takes a freeze list", param_hint="--freeze"
        )
    scratch_dir = run_dir / "models" / "scratch"
    if scratch_dir.is_dir():
        target_model = load(scratch_dir)
        click.echo(
            f"mapping: reusing the target-only model {scratch_dir} (--epochs does not apply: "
            "it is already trained)"
        )
    else:
        click.echo(
            f"mapping: {run_dir / 'models'} has no scratch model; training the target-only "
            f"model first (at most {epochs} epochs)..."
        )
        scratch = transfer_model("scratch", protocol.data, pretrained=pretrained, train_config=tc)
        target_model = scratch.model
        save(target_model, scratch_dir, extra={"strategy": "scratch", "frozen": scratch.frozen})
        click.echo(f"saved {scratch_dir}")
    res = transfer_model(
        "mapping",
        protocol.data,
        pretrained=pretrained,
        train_config=tc,
        target_model=target_model,
        mapper_epochs=mapper_epochs,
    )
    n_cold = int(res.model.cold.sum())
    save(res.model, out, extra={"strategy": "mapping", "target_model": "scratch"})
    click.echo(
        f"{res.spec.describe()}\n{n_cold:,} users without target history are scored through "
        f"the mapping\nsaved {out}"
    )


@click.command()
@click.option("--run", "run_dir", type=click.Path(path_type=Path, exists=True), required=True)
@click.option(
    "--k", "ks", default="5,10,20", show_default=True, callback=_cutoffs, help="Cut-offs."
)
def evaluate(run_dir, ks):
    """Evaluate every model of a run against popularity and scratch; write the report."""
    from xcat.evaluate import comparison_table, write_report
    from xcat.workflow.experiment import (
        SAMPLED_TITLE,
        TestEvaluator,
        format_info,
        format_table,
        sampled_table,
        sampled_to_json,
    )
    from xcat.models import load

    run = _read_run(run_dir)
    data, protocol = _protocol(run)
    cfg = _experiment(run)
    evaluator = TestEvaluator(
        protocol,
        ks,
        sampled_negatives=cfg.n_sampled_negatives,
        seed=cfg.seed,
    )
    cut = evaluator.ks
    results = {"popularity": evaluator.popularity()}
    sampled = {}
    if evaluator.negatives is not None:
        sampled["popularity"] = evaluator.sampled_popularity()
    # the baseline first, then the transfer strategies and updated models by name
    found = sorted(d for d in (run_dir / "models").iterdir() if d.name != "pretrained")
    for model_dir in sorted(found, key=lambda d: (d.name != "scratch", d.name)):
        if model_dir.is_dir():
            model = load(model_dir)
            results[model_dir.name] = evaluator.model(model)
            if evaluator.negatives is not None:
                sampled[model_dir.name] = evaluator.sampled(model)
    s_table = sampled_table(sampled) if sampled else None
    title = SAMPLED_TITLE.format(n=cfg.n_sampled_negatives)
    k_shown = 10 if 10 in cut else cut[-1]
    metrics = [f"{m}@{k_shown}" for m in ("HR", "NDCG", "Recall")]
    paths = write_report(
        run_dir,
        results,
        title=f"xcat transfer: {data.name}",
        config=run,
        metrics=metrics,
        notes=[
            f"- command: `{_command_line()}`",
            f"- data: {data!r}",
            f"- split ({cfg.protocol} protocol): {format_info(protocol.info)}",
        ],
        sections=[(title, s_table)] if s_table is not None else [],
        extra_metrics={"sampled": sampled_to_json(sampled)} if sampled else None,
    )
    click.echo(format_table(comparison_table(results, metrics)))
    if s_table is not None:
        click.echo(f"\n{title}:\n{format_table(s_table)}")
    click.echo(f"\nwrote {', '.join(str(p) for p in paths.values())}")


@click.command()
@click.option("--run", "run_dir", type=click.Path(path_type=Path, exists=True), required=True)
@click.option("--strategy", required=True, help="Which model of the run (a folder of RUN/models).")
@click.option(
    "--user", "users", multiple=True, required=True, help="Raw user id (repeat for several)."
)
@click.option("-n", "--top", "n", type=click.IntRange(min=1), default=10, show_default=True)
@click.option(
    "--category", default=None, help="Only items of this category [default: the target category]."
)
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
    from xcat.data.interactions import UnknownIdWarning
    from xcat.workflow.experiment import build_recommender
    from xcat.models import load

    run = _read_run(run_dir)
    available = sorted(p.name for p in (run_dir / "models").iterdir() if p.name != "pretrained")
    if strategy not in available:
        raise click.BadParameter(
            f"{strategy!r} is not in {run_dir / 'models'}; available: {available}",
            param_hint="--strategy",
        )
    _, protocol = _protocol(run)
    rec = build_recommender(load(run_dir / "models" / strategy), protocol.data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownIdWarning)
        out = rec.recommend(
            list(users),
            n=n,
            category=category or list(protocol.data.target_domain),
            explain=explain,
            unknown=unknown,
        )
    for w in caught:
        click.echo(f"note: {w.message}; they get the most popular items", err=True)
    click.echo(out.drop(columns=["user_row", "item_row"]).to_string(index=False))
