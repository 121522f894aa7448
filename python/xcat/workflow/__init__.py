"""Workflows: the library calls behind each CLI command, one call each.

=================  ==========================================================
``xcat ...``       library call
=================  ==========================================================
``quickstart``     :func:`quickstart` (:func:`run_experiment` + ``run.json``)
``pretrain``       :func:`pretrain`: a new run directory, pretrained model
``transfer``       :func:`transfer`: one strategy on a run
``evaluate``       :func:`evaluate`: every model of a run, the report
``recommend``      :func:`recommend`: one model of a run
``similar``        :func:`similar`: items nearest to items, one model of a run
``feedback``       :func:`feedback`: new events into a saved model, measured
``data stats``     :func:`data_stats`: counts, overlap, density, removals
=================  ==========================================================

Modules: ``experiment`` (a whole transfer experiment: split, baselines,
pretrain, transfer, evaluate, report), ``baselines`` (the no-transfer
baselines' registry :data:`BASELINES`, their selection on validation and
test scores: :func:`run_baselines`; the selection group of every method:
:func:`make_selection`), ``rundir`` (the run directory, :class:`Run`:
``run.json``, ``models/<name>``, reopening a run and its split), ``steps``
(the step calls above), ``feedback`` (hold-out, trial update, update,
report), ``stats`` (reading any input and its statistics). Each CLI
command parses its options, calls one function here and prints the result.

``import xcat.workflow`` stays light (no PyTorch, no pandas): the calls
import what they need, and the names of :mod:`xcat.workflow.experiment`
load on first use. :data:`STRATEGY_NAMES` are the transfer strategies
(:data:`xcat.transfer.STRATEGY_NAMES`), for the CLI's choices, as are
:data:`BASELINE_NAMES` and :data:`SELECT_ON`.
"""

from __future__ import annotations

from typing import Any

from xcat.transfer import STRATEGY_NAMES  # the registry's names; imports no PyTorch
from xcat.workflow.baselines import (  # imports NumPy only (models and SciPy on first use)
    BASELINE_NAMES,
    BASELINES,
    SELECT_ON,
    Baseline,
    BaselineResult,
    Selection,
    make_selection,
    run_baselines,
)
from xcat.workflow.errors import ArgumentError
from xcat.workflow.feedback import FeedbackReport, feedback, read_events, split_holdout
from xcat.workflow.rundir import (
    USER_TOWERS,
    Run,
    check_new_run_dir,
    experiment_config,
    load_data,
)
from xcat.workflow.stats import data_stats, load_inputs
from xcat.workflow.steps import (
    Evaluation,
    Pretrained,
    Recommendations,
    Transferred,
    evaluate,
    mapping_target_model,
    pretrain,
    quickstart,
    recommend,
    similar,
    transfer,
)

__all__ = [
    "BASELINES",
    "BASELINE_NAMES",
    "BOOTSTRAP_RESAMPLES",
    "SELECT_ON",
    "STRATEGY_NAMES",
    "USER_TOWERS",
    "ArgumentError",
    "Baseline",
    "BaselineResult",
    "Evaluation",
    "ExperimentConfig",
    "ExperimentResult",
    "FeedbackReport",
    "Pretrained",
    "Recommendations",
    "Run",
    "Selection",
    "Transferred",
    "build_recommender",
    "check_new_run_dir",
    "data_stats",
    "evaluate",
    "experiment_config",
    "feedback",
    "format_comparison",
    "format_table",
    "load_data",
    "load_inputs",
    "make_selection",
    "mapping_target_model",
    "pretrain",
    "quickstart",
    "read_events",
    "recommend",
    "run_baselines",
    "run_experiment",
    "similar",
    "split_holdout",
    "transfer",
]

# loaded on first use: experiment.py imports pandas and SciPy
_EXPERIMENT = (
    "BOOTSTRAP_RESAMPLES",
    "ExperimentConfig",
    "ExperimentResult",
    "SAMPLED_TITLE",
    "build_recommender",
    "format_comparison",
    "format_table",
    "run_experiment",
)


def __getattr__(name: str) -> Any:
    if name in _EXPERIMENT:
        from xcat.workflow import experiment

        return getattr(experiment, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
