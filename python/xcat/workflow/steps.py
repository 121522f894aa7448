"""The steps of a run, one call each: what ``xcat quickstart``, ``pretrain``... run.

:func:`quickstart` runs a whole experiment into a new run directory.
Step by step, :func:`pretrain` creates a run directory and pretrains on the
source category, :func:`transfer` transfers its pretrained model with one
strategy, :func:`evaluate` scores every model of the run and writes the
report, :func:`recommend` recommends with one of its models. Each step
but :func:`recommend` reopens the run (:class:`~xcat.workflow.rundir.Run`):
it reloads the data and splits it again, exactly. :func:`recommend` loads
the model's saved recommender instead (``RUN/recommenders/<name>``, saved
by :func:`quickstart` and :func:`transfer`: :mod:`xcat.workflow.recommenders`).

Every step but :func:`recommend` holds the run's write lock
(:func:`xcat.workflow.locks.writing`) while it runs: a second step writing
the same run fails at once with :class:`~xcat.workflow.locks.DirectoryBusyError`.
Every model a step saves records its split (:func:`~xcat.workflow.rundir.split_identity`);
:func:`evaluate` refuses a model trained on another split.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from xcat.workflow.errors import ArgumentError
from xcat.workflow.locks import writing
from xcat.workflow.recommenders import save_recommender, saved_recommender
from xcat.workflow.rundir import (
    PRETRAINED,
    RUN_FILE,
    SCRATCH,
    SPLIT_KEY,
    Run,
    check_new_run_dir,
    check_split,
    experiment_config,
    load_data,
    split_identity,
)

if TYPE_CHECKING:
    import pandas as pd

    from xcat.workflow.experiment import ExperimentConfig, ExperimentResult

__all__ = [
    "Evaluation",
    "UncheckedSplitWarning",
    "Pretrained",
    "Recommendations",
    "Transferred",
    "evaluate",
    "mapping_target_model",
    "pretrain",
    "quickstart",
    "recommend",
    "transfer",
]


def _as_run(run: Run | str | Path) -> Run:
    return run if isinstance(run, Run) else Run.open(run)


def _run_path(run: Run | str | Path) -> Path:
    return run.path if isinstance(run, Run) else Path(run)


def quickstart(
    out: str | Path,
    data: str = "synthetic",
    *,
    data_dir: str | Path | None = None,
    sample_users: int | None = None,
    table: Mapping[str, Any] | None = None,
    config: ExperimentConfig | Mapping[str, Any] | None = None,
    echo: Callable[[str], None] = print,
    command: str = "",
) -> ExperimentResult:
    """Run a whole experiment into a new run directory (pretrain, transfer, evaluate, report).

    :func:`~xcat.workflow.experiment.run_experiment` on the data ``data``
    names, plus the ``run.json`` that makes ``out`` a run directory for the
    other steps.

    Parameters
    ----------
    out : str or pathlib.Path
        New run directory.
    data : str, default "synthetic"
        Dataset spec (see :func:`~xcat.workflow.rundir.load_data`).
    data_dir : str or pathlib.Path, optional
    sample_users : int, optional
    table : mapping, optional
        With ``data`` a file of interactions: the domains and columns (see
        :func:`~xcat.workflow.rundir.load_data`); recorded in ``run.json``.
    config : ExperimentConfig or mapping, optional
        See :func:`~xcat.workflow.rundir.experiment_config`.
    echo : callable, default print
        Where progress lines go.
    command : str
        The command line, recorded in the report.

    Returns
    -------
    ExperimentResult
        ``info["sampled_negatives"]`` is the sampled protocol's count (0: off).

    Raises
    ------
    ArgumentError
        ``out`` already holds a run or models; ``data`` is not a spec.
    DirectoryBusyError
        (``argument="out"``) Another xcat process is writing ``out``.
    ValueError
        From the configuration, the data or the split.
    ExperimentInterrupted
        (a KeyboardInterrupt) On Ctrl-C after pretraining began: the
        strategies trained to the end are saved and reported, the others
        are not run, and ``run.json``, ``metrics.json`` and the report say
        so under ``interrupted`` (see :func:`~xcat.workflow.experiment.run_experiment`).
    """
    from xcat.workflow.experiment import ExperimentInterrupted, run_experiment

    with writing(out, "out"):
        check_new_run_dir(out)
        cfg = experiment_config(config)
        loaded = load_data(data, data_dir, seed=cfg.seed, sample_users=sample_users, table=table)
        # a run directory like `pretrain` makes: evaluate / recommend / transfer work on it
        run = Run(out, Run.record_for(data, data_dir, sample_users, cfg, table=table))
        try:
            result = run_experiment(loaded, cfg, out_dir=out, echo=echo, command=command)
        except ExperimentInterrupted as stop:
            run.record["interrupted"] = stop.interrupted
            run.save()
            if run.model_path(PRETRAINED).is_dir():
                echo(
                    f"{run.path / RUN_FILE} records the interruption; to finish the run: `xcat "
                    f"transfer --run {out} --strategy NAME` for each strategy not run, then "
                    f"`xcat evaluate --run {out}`"
                )
            else:
                echo(f"{run.path / RUN_FILE} records the interruption; no model was saved")
            raise
        run.save()
    return result


@dataclass
class Pretrained:
    """What :func:`pretrain` made.

    Attributes
    ----------
    run : Run
        The new run directory (``run.json`` written).
    model : xcat.models.TwoTower
        The pretrained source model.
    fit : xcat.train.FitResult
    path : pathlib.Path
        ``RUN/models/pretrained``.
    """

    run: Run
    model: Any
    fit: Any
    path: Path

    def __str__(self) -> str:
        return f"saved {self.path} ({len(self.fit.history)} epochs)"


def pretrain(
    out: str | Path,
    data: str = "synthetic",
    *,
    data_dir: str | Path | None = None,
    sample_users: int | None = None,
    table: Mapping[str, Any] | None = None,
    config: ExperimentConfig | Mapping[str, Any] | None = None,
    echo: Callable[[str], None] = print,
) -> Pretrained:
    """Create a run directory, split the data and pretrain on the source category.

    Parameters
    ----------
    out : str or pathlib.Path
        New run directory.
    data : str, default "synthetic"
        Dataset spec (see :func:`~xcat.workflow.rundir.load_data`).
    data_dir : str or pathlib.Path, optional
    sample_users : int, optional
    table : mapping, optional
        As for :func:`quickstart`.
    config : ExperimentConfig or mapping, optional
        The split (``protocol``, ``seed``...), the model (``dim``) and the
        training; pretraining runs ``pretrain_epochs`` epochs.
    echo : callable, default print

    Returns
    -------
    Pretrained

    Raises
    ------
    ArgumentError
        ``out`` already holds a run or models; ``data`` is not a spec.
    DirectoryBusyError
        (``argument="out"``) Another xcat process is writing ``out``.
    ValueError
        From the configuration, the data or the split.
    """
    from xcat.transfer import pretrain as pretrain_model

    cfg = experiment_config(config)
    with writing(out, "out"):
        run = Run.create(
            out, data, data_dir=data_dir, sample_users=sample_users, table=table, config=cfg
        )
        loaded, protocol = run.load_split()
        mc = cfg.model_config(protocol.data.vocab)
        tc = cfg.train_config().replace(epochs=cfg.pretrain_epochs)
        echo(f"{loaded!r}\npretraining on {len(protocol.data.source):,} source interactions...")
        model, fit = pretrain_model(protocol.data, model_config=mc, train_config=tc)
        run.path.mkdir(parents=True, exist_ok=True)
        extra = {"strategy": PRETRAINED, SPLIT_KEY: split_identity(loaded, protocol, cfg)}
        path = run.save_model(model, PRETRAINED, extra=extra)
        run.save()
    return Pretrained(run, model, fit, path)


@dataclass
class Transferred:
    """What :func:`transfer` made.

    Attributes
    ----------
    result : xcat.transfer.TransferResult
        The strategy's spec and model.
    path : pathlib.Path
        ``RUN/models/<strategy>``.
    """

    result: Any
    path: Path

    def __str__(self) -> str:
        res = self.result
        lines = [res.spec.describe()]
        if res.spec.strategy.value == "mapping":
            lines.append(
                f"{int(res.model.cold.sum()):,} users without target history are scored "
                "through the mapping"
            )
        lines.append(f"saved {self.path}")
        return "\n".join(lines)


def mapping_target_model(
    run: Run,
    data: Any,
    pretrained: Any,
    train_config: Any,
    *,
    echo: Callable[[str], None] = print,
    split: Mapping[str, Any] | None = None,
) -> Any:
    """Return the target-only model EMCDR maps into: the run's ``scratch``, trained if missing.

    A run's ``RUN/models/scratch`` is reused as it is (the mapping is fitted
    against the baseline it is compared with); without one, a ``scratch``
    model is trained with ``train_config`` and saved there first, with its
    recommender (``RUN/recommenders/scratch``).

    Parameters
    ----------
    run : Run
    data : xcat.transfer.TransferData
        The run's split (``run.load_split()[1].data``).
    pretrained : xcat.models.TwoTower
        The run's pretrained model.
    train_config : xcat.train.TrainConfig
        Training of the scratch model when there is none.
    echo : callable, default print
    split : mapping, optional
        The split's identity (:func:`~xcat.workflow.rundir.split_identity`),
        recorded with a scratch model trained here.

    Returns
    -------
    xcat.models.TwoTower
    """
    from xcat.transfer import transfer as transfer_model

    scratch_dir = run.model_path(SCRATCH)
    if scratch_dir.is_dir():
        model = run.load_model(SCRATCH)
        echo(
            f"mapping: reusing the target-only model {scratch_dir} (--epochs does not apply: "
            "it is already trained)"
        )
        return model
    echo(
        f"mapping: {run.models_dir} has no scratch model; training the target-only "
        f"model first (at most {train_config.epochs} epochs)..."
    )
    scratch = transfer_model(SCRATCH, data, pretrained=pretrained, train_config=train_config)
    extra: dict[str, Any] = {"strategy": SCRATCH, "frozen": scratch.frozen}
    if split is not None:
        extra[SPLIT_KEY] = dict(split)
    run.save_model(scratch.model, SCRATCH, extra=extra)
    save_recommender(run.path, SCRATCH, scratch.model, data, split=split)
    echo(f"saved {scratch_dir}")
    return scratch.model


def transfer(
    run: Run | str | Path,
    strategy: str,
    *,
    freeze: Sequence[str] | None = None,
    epochs: int = 10,
    mapper_epochs: int = 200,
    echo: Callable[[str], None] = print,
) -> Transferred:
    """Transfer a run's pretrained model to the target category with one strategy.

    The model is saved as ``RUN/models/<strategy>``, its recommender as
    ``RUN/recommenders/<strategy>`` (what :func:`recommend` loads). ``mapping`` (EMCDR)
    maps pretrained source user vectors into a target-only model:
    :func:`mapping_target_model`.

    Parameters
    ----------
    run : Run, str or pathlib.Path
        A run directory from :func:`pretrain` (or :func:`quickstart`).
    strategy : str
        A name of :class:`xcat.transfer.Strategy`.
    freeze : sequence of str, optional
        ``freeze`` only: parameter names/prefixes to keep fixed.
    epochs : int, default 10
        Most target epochs (mapping: of the scratch model, when it is trained).
    mapper_epochs : int, default 200
        ``mapping``: epochs of the EMCDR mapping MLP.
    echo : callable, default print

    Returns
    -------
    Transferred

    Raises
    ------
    ArgumentError
        The run has no ``run.json``; ``freeze`` with ``mapping``.
    DirectoryBusyError
        (``argument="run"``) Another xcat process is writing the run.
    ValueError
        From :func:`xcat.transfer.transfer` (unknown strategy or names).
    """
    strategy = getattr(strategy, "value", strategy)
    if strategy == "mapping" and freeze is not None:
        raise ArgumentError("freeze", "only the 'freeze' strategy takes a freeze list")
    with writing(_run_path(run), "run"):
        return _transfer(_as_run(run), strategy, freeze, epochs, mapper_epochs, echo)


def _transfer(
    run: Run,
    strategy: str,
    freeze: Sequence[str] | None,
    epochs: int,
    mapper_epochs: int,
    echo: Callable[[str], None],
) -> Transferred:
    """:func:`transfer`, the run locked."""
    from xcat.transfer import transfer as transfer_model

    data, protocol = run.load_split()
    split = split_identity(data, protocol, run.config)
    pretrained = run.load_model(PRETRAINED)
    tc = run.config.train_config().replace(epochs=epochs)
    freeze = list(freeze) if freeze is not None else None
    if strategy != "mapping":
        res = transfer_model(
            strategy, protocol.data, pretrained=pretrained, train_config=tc, freeze=freeze
        )
        extra = {"strategy": strategy, "frozen": res.frozen, SPLIT_KEY: split}
        path = run.save_model(res.model, strategy, extra=extra)
        save_recommender(run.path, strategy, res.model, protocol.data, split=split)
        return Transferred(res, path)
    target_model = mapping_target_model(run, protocol.data, pretrained, tc, echo=echo, split=split)
    res = transfer_model(
        "mapping",
        protocol.data,
        pretrained=pretrained,
        train_config=tc,
        target_model=target_model,
        mapper_epochs=mapper_epochs,
    )
    extra = {"strategy": "mapping", "target_model": SCRATCH, SPLIT_KEY: split}
    path = run.save_model(res.model, "mapping", extra=extra)
    save_recommender(run.path, "mapping", res.model, protocol.data, split=split)
    return Transferred(res, path)


@dataclass
class Evaluation:
    """What :func:`evaluate` measured and wrote.

    Attributes
    ----------
    results : dict of method to dict of group to RankingMetrics
        ``popularity``, then ``scratch``, then the other models by name.
    table : pandas.DataFrame
        :func:`xcat.evaluate.comparison_table` of ``results`` on ``metrics``.
    metrics : list of str
        HR, NDCG and Recall at 10 (or the largest cut-off without 10).
    sampled : dict of str to SampledMetrics
        The sampled protocol per method (empty when the run has it off).
    sampled_table : pandas.DataFrame or None
    sampled_title : str
        Heading of the sampled table.
    paths : dict of str to pathlib.Path
        The report files written into the run directory.
    notes : list of str
        Warnings, also in the report: models that record no split (scored
        unchecked, :class:`UncheckedSplitWarning`), a run that quickstart did
        not finish, folders of ``models/`` skipped as not xcat models (no
        ``config.json``, or one of another format), one line each.
    """

    results: dict[str, Any]
    table: pd.DataFrame
    metrics: list[str]
    sampled: dict[str, Any] = field(default_factory=dict)
    sampled_table: pd.DataFrame | None = None
    sampled_title: str = ""
    paths: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class UncheckedSplitWarning(UserWarning):
    """:func:`evaluate` scores a model that does not record the split it was trained on."""


def evaluate(
    run: Run | str | Path, ks: Sequence[int] = (5, 10, 20), *, command: str = ""
) -> Evaluation:
    """Evaluate every model of a run against popularity and scratch; write the report.

    Full ranking of the target catalogue for the run's test users (all,
    cold-start, warm), plus the sampled protocol when the run records one;
    ``config.json``, ``metrics.json``, ``report.md`` and ``metrics.png`` are
    written into the run directory.

    Parameters
    ----------
    run : Run, str or pathlib.Path
    ks : sequence of int, default (5, 10, 20)
        Cut-offs.
    command : str
        The command line, recorded in the report.

    Returns
    -------
    Evaluation

    Raises
    ------
    ArgumentError
        The run has no ``run.json``.
    DirectoryBusyError
        (``argument="run"``) Another xcat process is writing the run.
    ValueError
        A model of the run was trained on another split or other data
        (:func:`~xcat.workflow.rundir.check_split`; nothing is written), or
        is damaged (a ``config.json`` that is not valid JSON, bad weights:
        see :func:`xcat.models.load`). Folders of ``models/`` that are not
        xcat models (no ``config.json``, or one without an ``xcat.``
        format) are skipped, each named in ``notes``.

    Warns
    -----
    UncheckedSplitWarning
        For each model that records no split (saved by an older xcat): it
        is scored unchecked, and the report says so.
    """
    with writing(_run_path(run), "run"):
        return _evaluate(_as_run(run), ks, command)


def _not_a_model(d: Path) -> str | None:
    """Why the folder ``d`` of a run's ``models/`` is no xcat model, or None when it is one.

    Not a model: no ``config.json``, or one that is a JSON object without
    an ``xcat.`` format (another tool's). A ``config.json`` that is not
    valid JSON, or of an ``xcat.`` format, is a model: if it is damaged,
    loading it raises (a broken model is an error, not skipped).
    """
    from xcat.models.io import CONFIG

    f = d / CONFIG
    if not f.is_file():
        return f"no {CONFIG}"
    try:
        meta = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(meta, dict):
        return None
    fmt = meta.get("format")
    if isinstance(fmt, str) and fmt.startswith("xcat."):
        return None
    return f"{CONFIG} has format {fmt!r}, not an xcat one"


def _evaluate(run: Run, ks: Sequence[int], command: str) -> Evaluation:
    """:func:`evaluate`, the run locked."""
    from xcat.evaluate import TestEvaluator, comparison_table, write_report
    from xcat.workflow.experiment import (
        SAMPLED_TITLE,
        format_info,
        interrupted_note,
        sampled_table,
        sampled_to_json,
    )

    data, protocol = run.load_split()
    cfg = run.config
    # the baseline first, then the transfer strategies and updated models by name
    names = [n for n in run.model_names() if run.model_path(n).is_dir()]
    names.sort(key=lambda n: (n != SCRATCH, n))
    warned = []
    for name in list(names):  # an empty folder, a notebook's, another tool's: said, not fatal
        why = _not_a_model(run.model_path(name))
        if why is not None:
            names.remove(name)
            warned.append(f"skipped {run.model_path(name)}: not an xcat model ({why})")
    split = split_identity(data, protocol, cfg)
    for name in names:  # every model checked before any is scored
        note = check_split(run.model_path(name), split)
        if note is not None:
            warnings.warn(note, UncheckedSplitWarning, stacklevel=3)
            warned.append(note)
    evaluator = TestEvaluator(
        protocol, ks, sampled_negatives=cfg.n_sampled_negatives, seed=cfg.seed
    )
    cut = evaluator.ks
    results = {"popularity": evaluator.popularity()}
    sampled = {}
    if evaluator.negatives is not None:
        sampled["popularity"] = evaluator.sampled_popularity()
    for name in names:
        model = run.load_model(name)
        results[name] = evaluator.model(model)
        if evaluator.negatives is not None:
            sampled[name] = evaluator.sampled(model)
    s_table = sampled_table(sampled) if sampled else None
    title = SAMPLED_TITLE.format(n=cfg.n_sampled_negatives)
    k_shown = 10 if 10 in cut else cut[-1]
    metrics = [f"{m}@{k_shown}" for m in ("HR", "NDCG", "Recall")]
    notes = [f"- command: `{command}`"] if command else []
    notes += [
        f"- data: {data!r}",
        f"- split ({cfg.protocol} protocol): {format_info(protocol.info)}",
    ]
    interrupted = run.record.get("interrupted")
    if interrupted:
        warned.insert(0, interrupted_note(interrupted))
    notes += [f"- warning: {note}" for note in warned]
    extra_metrics: dict[str, Any] = {"sampled": sampled_to_json(sampled)} if sampled else {}
    if interrupted:
        extra_metrics["interrupted"] = interrupted
    paths = write_report(
        run.path,
        results,
        title=f"xcat transfer: {data.name}",
        config=run.record,
        metrics=metrics,
        notes=notes,
        sections=[(title, s_table)] if s_table is not None else [],
        extra_metrics=extra_metrics or None,
    )
    return Evaluation(
        results,
        comparison_table(results, metrics),
        metrics,
        sampled,
        s_table,
        title,
        paths,
        warned,
    )


@dataclass
class Recommendations:
    """What :func:`recommend` returned.

    Attributes
    ----------
    table : pandas.DataFrame
        :meth:`xcat.recommend.Recommender.recommend`'s table (``user``,
        ``rank``, ``item``, ``score``, ``source``, ``because``... and the
        ``user_row`` / ``item_row`` positions).
    notes : list of str
        The warnings recommending raised (users the model does not know,
        :class:`xcat.data.UnknownIdWarning`), as messages.
    rebuilt : str
        Empty when the model's saved recommender answered; else one line
        saying why there was none to use, so the recommender was rebuilt
        from the run's data (reloaded and split again).
    """

    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    rebuilt: str = ""


def recommend(
    run: Run | str | Path,
    strategy: str,
    users: Sequence[Hashable],
    *,
    n: int = 10,
    category: Hashable | Sequence[Hashable] | None = None,
    explain: bool = True,
    unknown: Literal["popular", "raise"] = "popular",
) -> Recommendations:
    """Recommend items to users with one model of a run.

    The model's saved recommender (``RUN/recommenders/<strategy>``) answers,
    loaded without the data, PyTorch or the model. When there is none to
    use (a run made before xcat saved them, a model added by
    ``xcat feedback``, or one saved again since), the recommender is rebuilt
    from the model and the run's data, reloaded and split again, and
    ``rebuilt`` says why.

    Parameters
    ----------
    run : Run, str or pathlib.Path
    strategy : str
        Which model of the run (a folder of ``RUN/models``).
    users : sequence of hashable
        Raw user ids.
    n : int, default 10
        Items per user.
    category : category or list of categories, optional
        Only items of these categories; default the run's target categories.
    explain : bool, default True
        Add the nearest items of the user's other categories.
    unknown : {"popular", "raise"}, default "popular"
        Users the model does not know get the most popular items, or raise.

    Returns
    -------
    Recommendations

    Raises
    ------
    ArgumentError
        The run has no ``run.json``, or no model ``strategy``.
    ValueError
        With ``unknown="raise"``, when a user is not known.
    """
    from xcat.data import UnknownIdWarning

    rec, target, rebuilt = _run_recommender(run, strategy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownIdWarning)
        table = rec.recommend(
            list(users),
            n=n,
            category=category or target,
            explain=explain,
            unknown=unknown,
        )
    return Recommendations(table, [str(w.message) for w in caught], rebuilt)


def _run_recommender(run: Run | str | Path, strategy: str) -> tuple[Any, list[Hashable], str]:
    """Return a run model's recommender, its target categories, and why it was rebuilt ("")."""
    run = _as_run(run)
    run.check_model(strategy)
    rec, why = saved_recommender(run, strategy)
    if rec is not None:
        return rec, list(rec.metadata["extra"]["target"]), ""
    _, protocol = run.load_split()
    rec = run.recommender(strategy, protocol.data)
    return rec, list(protocol.data.target_domain), f"{why}; rebuilt it from the run's data"


def similar(
    run: Run | str | Path,
    strategy: str,
    items: Sequence[Hashable],
    *,
    n: int = 10,
    category: Hashable | Sequence[Hashable] | None = None,
) -> Recommendations:
    """Items nearest to given items with one model of a run (cross-category similar items).

    Parameters
    ----------
    run : Run, str or pathlib.Path
    strategy : str
        Which model of the run (a folder of ``RUN/models``).
    items : sequence of hashable
        Raw item ids, of any category (typically source-category items).
    n : int, default 10
        Similar items per item.
    category : category or list of categories, optional
        Only items of these categories; default the run's target categories.

    Returns
    -------
    Recommendations
        ``table`` is :meth:`xcat.recommend.Recommender.similar_items`'s
        (``item``, ``rank``, ``similar``, ``score``, ``category``);
        ``notes`` is empty; ``rebuilt`` as for :func:`recommend`.

    Raises
    ------
    ArgumentError
        The run has no ``run.json``, or no model ``strategy``.
    ValueError
        An item the model does not know, or an unknown category.
    """
    rec, target, rebuilt = _run_recommender(run, strategy)
    table = rec.similar_items(list(items), n, category=category or target)
    return Recommendations(table, [], rebuilt)
