"""No-transfer baselines of a transfer experiment: fit, select on validation, score at test.

:data:`BASELINES` is the registry (names in :data:`BASELINE_NAMES`):

==================  ============================================  ==========  ==============
name                model                                         fits on     grid
==================  ============================================  ==========  ==============
``popularity``      target popularity (distinct training users)   target      none
``ease-target``     EASE (Steck, WWW 2019)                        target      ``lam``
``ease-merged``     EASE                                          merged      ``lam``
``itemknn-target``  ItemKNN, cosine, every neighbour (Sarwar       target      ``shrink``
                    et al., WWW 2001)
``itemknn-merged``  ItemKNN                                       merged      ``shrink``
==================  ============================================  ==========  ==============

"target": the binary user x item matrix of the target training
interactions, restricted to the target items; "merged": source + target
training interactions over every item (a user's source history counts).
Models are :class:`xcat.models.EASE` and :class:`xcat.models.ItemKNN`.

**Search budget.** At most :data:`MAX_GRID` settings per baseline, the
grids of :data:`EASE_LAMBDAS` and :data:`ITEMKNN_SHRINKS`: the EASE grid
brackets what the Beauty -> Toys measurement found best (``lam`` 50 on all
validation users, 500-2000 on the cold-start ones).

**Selection, the same for every baseline** (:func:`run_baselines`):

1. fit each setting of the grid on the training matrix;
2. rank every validation user (full target catalogue, its training items
   excluded: :class:`~xcat.evaluate.ValidationSet`) and compute NDCG@10 per
   validation group (:class:`Selection`);
3. choose the setting with the best NDCG@10 on the *selection group*
   (ties: the first of the grid);
4. only then rank the test users, once, with the chosen setting.

Test items are never read before step 4, so the choice cannot depend on
them. A user's history is its row of the training matrix the baseline was
fitted on, at validation and at test (what the neural models' user tower
sees too). A user with no history in that matrix (a cold-start user of a
target-only model) gets the popularity ranking instead of arbitrary ties.

**Selection group** (``select_on``): ``cold-start`` (validation users
without any target training interaction), ``warm`` (the others), ``all``,
or ``auto``: ``cold-start`` when the protocol has such validation users
(the headline group), else ``all``. The experiment applies it to every
method: the baselines' grids here and the neural models' best epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

    from xcat.evaluate import RankingMetrics, TestEvaluator, ValidationSet

__all__ = [
    "BASELINES",
    "BASELINE_NAMES",
    "EASE_LAMBDAS",
    "ITEMKNN_SHRINKS",
    "MAX_GRID",
    "SELECTION_K",
    "SELECT_ON",
    "Baseline",
    "BaselineResult",
    "Selection",
    "check_baseline_names",
    "make_selection",
    "run_baselines",
]

#: Most settings a baseline may try (the documented search budget).
MAX_GRID = 4
#: EASE's L2 regularisation ``lam``, tried in this order.
EASE_LAMBDAS = (50.0, 200.0, 1000.0, 5000.0)
#: ItemKNN's shrinkage of the cosine denominator, tried in this order (every neighbour kept).
ITEMKNN_SHRINKS = (0.0, 10.0, 100.0, 1000.0)
#: Values of ``select_on``.
SELECT_ON = ("auto", "all", "cold-start", "warm")
#: Cut-off of the validation NDCG every method is selected on (the training default too).
SELECTION_K = 10


@dataclass(frozen=True)
class Baseline:
    """One registry entry: what a baseline fits, on which data, with which grid.

    Attributes
    ----------
    name : str
    description : str
        One line, for reports.
    kind : {"popularity", "ease", "itemknn"}
    fit_on : {"target", "merged"}
        Target training interactions over the target items, or source +
        target training interactions over every item.
    param : str or None
        The hyper-parameter the grid varies (``lam``, ``shrink``).
    grid : tuple of float
        Its values, tried in order (at most :data:`MAX_GRID`).
    """

    name: str
    description: str
    kind: str
    fit_on: str
    param: str | None = None
    grid: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if len(self.grid) > MAX_GRID:
            raise ValueError(f"grid: {len(self.grid)} settings, the budget is {MAX_GRID}")

    def settings(self) -> list[dict[str, float]]:
        """Return the settings tried, in order: ``[{"lam": 50.0}, ...]`` (``[{}]`` without grid)."""
        if self.param is None:
            return [{}]
        return [{self.param: float(v)} for v in self.grid]

    def make(self, setting: dict[str, float], *, max_items: int = 30_000) -> Any:
        """Return an unfitted model for ``setting`` (EASE or ItemKNN; not for popularity).

        ``max_items`` is EASE's limit on the items it fits.
        """
        from xcat.models.linear import EASE, ItemKNN

        if self.kind == "ease":
            return EASE(setting["lam"], max_items=max_items)
        if self.kind == "itemknn":
            return ItemKNN(None, shrink=setting["shrink"])
        raise ValueError(f"{self.name}: a {self.kind} baseline has no model to fit")


#: The baselines by name, in the order tables list them.
BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (
        Baseline(
            "popularity",
            "most popular target items (distinct target training users per item)",
            "popularity",
            "target",
        ),
        Baseline(
            "ease-target",
            "EASE (Steck, WWW 2019) on the target training interactions, target items only",
            "ease",
            "target",
            "lam",
            EASE_LAMBDAS,
        ),
        Baseline(
            "ease-merged",
            "EASE on the source + target training interactions, every item",
            "ease",
            "merged",
            "lam",
            EASE_LAMBDAS,
        ),
        Baseline(
            "itemknn-target",
            "ItemKNN (cosine, every neighbour, shrinkage) on the target training interactions",
            "itemknn",
            "target",
            "shrink",
            ITEMKNN_SHRINKS,
        ),
        Baseline(
            "itemknn-merged",
            "ItemKNN (cosine, every neighbour, shrinkage) on source + target training",
            "itemknn",
            "merged",
            "shrink",
            ITEMKNN_SHRINKS,
        ),
    )
}
#: Names of :data:`BASELINES`, in order.
BASELINE_NAMES: tuple[str, ...] = tuple(BASELINES)


def check_baseline_names(names: Sequence[str], argument: str = "baselines") -> tuple[str, ...]:
    """Return ``names`` as a tuple after checking each is in :data:`BASELINES`.

    Raises
    ------
    ValueError
        Naming ``argument`` and the unknown names, with the valid choices.
    """
    if isinstance(names, str):
        names = (names,)
    out = tuple(names)
    unknown = [n for n in out if n not in BASELINES]
    if unknown:
        raise ValueError(f"{argument}: unknown {unknown}; choose from {list(BASELINE_NAMES)}")
    return out


@dataclass(frozen=True)
class Selection:
    """The validation users every method is selected on, and NDCG@10 by validation group.

    Attributes
    ----------
    group : str
        The selection group, resolved (``all``, ``cold-start`` or ``warm``).
    valid : ValidationSet
        Every validation user (``protocol.data.validation()``).
    masks : dict of str to numpy.ndarray of bool, shape (U,)
        The validation groups over ``valid.users`` that have users:
        ``all``, ``cold-start`` (no target training interaction), ``warm``.
    """

    group: str
    valid: ValidationSet
    masks: dict[str, np.ndarray]

    @property
    def subset(self) -> ValidationSet:
        """The selection group's validation users (``valid`` itself for ``all``)."""
        if self.group == "all":
            return self.valid
        return self.valid.subset(self.masks[self.group])

    @property
    def n_users(self) -> int:
        """Validation users of the selection group."""
        return int(self.masks[self.group].sum())

    def scores(self, indices: np.ndarray) -> dict[str, float]:
        """NDCG@10 of top-10 rankings of every validation user, by validation group.

        Parameters
        ----------
        indices : numpy.ndarray of int, shape (U, n >= 10)
            One row per user of ``valid.users``, in that order.

        Returns
        -------
        dict of str to float
        """
        from xcat.evaluate import evaluate_groups

        res = evaluate_groups(indices, self.valid.truth, self.masks, (SELECTION_K,))
        return {g: float(r[f"NDCG@{SELECTION_K}"]) for g, r in res.items()}

    def model_scores(self, model: Any) -> dict[str, float]:
        """:meth:`scores` of a model with ``user_embeddings`` / ``item_embeddings``."""
        from xcat.evaluate import rank_embeddings

        top = rank_embeddings(
            model.user_embeddings(self.valid.users),
            model.item_embeddings(),
            SELECTION_K,
            exclude=self.valid.exclude,
            candidates=self.valid.candidates,
        )
        return self.scores(top)

    def to_json(self) -> dict[str, Any]:
        """``group`` and the users of each validation group."""
        return {
            "group": self.group,
            "users": {g: int(m.sum()) for g, m in self.masks.items()},
            "metric": f"NDCG@{SELECTION_K}",
        }


def make_selection(protocol: Any, select_on: str = "auto") -> Selection:
    """Resolve the selection group of a protocol.

    Parameters
    ----------
    protocol : xcat.transfer.protocol.TransferProtocol
        Read for ``data.validation()``, ``data.vocab`` and
        ``data.target_train``.
    select_on : {"auto", "all", "cold-start", "warm"}, default "auto"
        ``auto``: ``cold-start`` when some validation user has no target
        training interaction, else ``all``.

    Returns
    -------
    Selection

    Raises
    ------
    ValueError
        Naming ``select_on``: an unknown value, or a group without
        validation users; if the protocol has no validation set.
    """
    if select_on not in SELECT_ON:
        raise ValueError(f"select_on: expected one of {list(SELECT_ON)}, got {select_on!r}")
    tdata = protocol.data
    valid = tdata.validation()
    if valid is None or len(valid.users) == 0:
        raise ValueError(
            "protocol: has no validation users, so nothing can be selected on validation"
        )
    trained = np.zeros(tdata.vocab.n_users, dtype=bool)
    trained[tdata.vocab.encode(tdata.target_train).users] = True
    cold = ~trained[valid.users]
    masks = {"all": np.ones(len(valid.users), dtype=bool), "cold-start": cold, "warm": ~cold}
    masks = {g: m for g, m in masks.items() if m.any()}
    group = select_on
    if group == "auto":
        group = "cold-start" if "cold-start" in masks else "all"
    if group not in masks:
        raise ValueError(
            f"select_on: the protocol has no {group} validation users; choose from "
            f"{['auto', *masks]}"
        )
    return Selection(group, valid, masks)


@dataclass
class BaselineResult:
    """What :func:`run_baselines` did for one baseline.

    Attributes
    ----------
    baseline : Baseline
    selection_group : str
    settings : list of dict
        The grid, in the order tried.
    validation : list of dict of str to float
        Per setting, validation NDCG@10 by validation group.
    fit_seconds : list of float
        Per setting, fitting time.
    chosen : int or None
        Index of the chosen setting (None when skipped).
    test : dict of str to RankingMetrics or None
        Test metrics of the chosen setting by test group (None when skipped).
    test_seconds : float
        Time to rank the test users.
    skipped : str or None
        Why the baseline did not run (None when it ran).
    """

    baseline: Baseline
    selection_group: str
    settings: list[dict[str, float]] = field(default_factory=list)
    validation: list[dict[str, float]] = field(default_factory=list)
    fit_seconds: list[float] = field(default_factory=list)
    chosen: int | None = None
    test: dict[str, RankingMetrics] | None = None
    test_seconds: float = 0.0
    skipped: str | None = None

    @property
    def name(self) -> str:
        """The baseline's name."""
        return self.baseline.name

    @property
    def chosen_setting(self) -> dict[str, float] | None:
        """The setting chosen on validation (``{}`` for popularity; None when skipped)."""
        return None if self.chosen is None else self.settings[self.chosen]

    @property
    def chosen_validation(self) -> dict[str, float]:
        """Validation NDCG@10 of the chosen setting by validation group (empty when skipped)."""
        return {} if self.chosen is None else self.validation[self.chosen]

    def describe(self) -> str:
        """One line: the chosen setting and its validation score, or why it was skipped."""
        if self.skipped is not None:
            return f"{self.name}: skipped: {self.skipped}"
        setting = _format_setting(self.chosen_setting or {})
        score = self.chosen_validation.get(self.selection_group, math.nan)
        if self.baseline.param is None:
            return f"{self.name}: no grid ({self.selection_group} validation NDCG@10 {score:.4f})"
        tried = ", ".join(
            f"{_format_setting(s) or '-'} {v.get(self.selection_group, math.nan):.4f}"
            for s, v in zip(self.settings, self.validation, strict=True)
        )
        chosen = f"chose {setting} " if setting else ""
        return (
            f"{self.name}: {chosen}({self.selection_group} validation NDCG@10 {score:.4f}; "
            f"tried {tried}; fit {sum(self.fit_seconds):.1f} s)"
        )

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form of everything but the test metrics (those are in the results)."""
        return {
            "description": self.baseline.description,
            "fit_on": self.baseline.fit_on,
            "selection_group": self.selection_group,
            "skipped": self.skipped,
            "chosen": self.chosen_setting,
            "grid": [
                {"setting": s, "validation_ndcg@10": v, "fit_seconds": round(t, 3)}
                for s, v, t in zip(self.settings, self.validation, self.fit_seconds, strict=True)
            ],
            "test_seconds": round(self.test_seconds, 3),
        }


def _format_setting(setting: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in setting.items())


def _binary_matrix(users: np.ndarray, items: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Binary CSR of distinct (user, item) pairs (a repeated interaction is one entry)."""
    import scipy.sparse as sp

    m = sp.csr_matrix((np.ones(len(users)), (users, items)), shape=shape)
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def _local_exclude(exclude: sp.csr_matrix, position: np.ndarray, n_cols: int) -> sp.csr_matrix:
    """``exclude`` on the columns of a restricted item space (entries outside it dropped)."""
    import scipy.sparse as sp

    ex = exclude.tocoo()
    keep = position[ex.col] >= 0
    return sp.csr_matrix(
        (np.ones(int(keep.sum())), (ex.row[keep], position[ex.col[keep]])),
        shape=(ex.shape[0], n_cols),
    )


class _Ranker:
    """Ranks users with a fitted item-item model under a ranking set's rules.

    ``history`` is the matrix the model was fitted on; ``columns`` the item
    rows of its columns (None: every item).
    """

    def __init__(
        self,
        history: sp.csr_matrix,
        columns: np.ndarray | None,
        n_items: int,
        popularity: np.ndarray,
    ) -> None:
        self.history = history
        self.columns = columns
        self.popularity = popularity
        self.position: np.ndarray | None = None
        if columns is not None:
            self.position = np.full(n_items, -1, dtype=np.int64)
            self.position[columns] = np.arange(len(columns))

    def rank(self, model: Any, users: np.ndarray, n: int, exclude: Any, candidates: Any) -> Any:
        """Top-``n`` item rows (vocabulary rows) of ``users``, shape (U, n), ``-1`` padded."""
        from xcat.evaluate import popularity_topn

        x = self.history[users]
        if self.columns is None or self.position is None:
            top = model.topn(x, n, exclude=exclude, candidates=candidates).indices
        else:
            cand = self.position[np.asarray(candidates, dtype=np.int64)]
            if (cand < 0).any():
                raise ValueError("candidates: outside the item space this baseline was fitted on")
            full = len(cand) == len(self.columns) and (np.diff(cand) > 0).all()
            local = model.topn(
                x,
                n,
                exclude=_local_exclude(exclude, self.position, len(self.columns)),
                candidates=None if full else cand,
            ).indices
            top = np.where(local >= 0, self.columns[np.maximum(local, 0)], -1)
        # no history, no signal: every score is 0 and ties would rank by item row
        empty = np.diff(x.indptr) == 0
        if empty.any():
            top[empty] = popularity_topn(
                self.popularity,
                int(empty.sum()),
                n,
                exclude=exclude[empty],
                candidates=candidates,
            ).indices
        return top


def run_baselines(
    protocol: Any,
    evaluator: TestEvaluator,
    selection: Selection,
    names: Sequence[str] = BASELINE_NAMES,
    *,
    ease_max_items: int = 30_000,
    echo: Callable[[str], None] = print,
) -> dict[str, BaselineResult]:
    """Fit, select on validation and score at test each named baseline.

    The procedure of the module docstring: every setting of a baseline's
    grid is fitted and scored on the validation users; the one with the
    best NDCG@10 on ``selection.group`` is kept; the test users are ranked
    once, with it.

    Parameters
    ----------
    protocol : xcat.transfer.protocol.TransferProtocol
        Its ``data`` (vocabulary, source and target training) and test set.
    evaluator : TestEvaluator
        Scores the test rankings (its ``train_counts`` are the popularity).
    selection : Selection
        From :func:`make_selection` on the same protocol.
    names : sequence of str, default every baseline
        Names of :data:`BASELINES`, run in this order.
    ease_max_items : int, default 30000
        EASE baselines over more items are skipped (a dense float64 Gram
        matrix of ``I x I`` is needed), with the reason recorded.
    echo : callable, default print
        Progress lines (each setting, each choice, each skip).

    Returns
    -------
    dict of str to BaselineResult
        In the order of ``names``; a skipped baseline has ``skipped`` set
        and no test metrics.

    Raises
    ------
    ValueError
        Naming ``names`` when a name is unknown.
    """
    from xcat.evaluate import popularity_topn

    names = check_baseline_names(names, "names")
    tdata = protocol.data
    vocab = tdata.vocab
    valid, test = selection.valid, protocol.test_all
    n = evaluator.ks[-1]
    counts = evaluator.train_counts
    target = vocab.encode(tdata.target_train)
    target_items = tdata.target_items()
    shape = (vocab.n_users, vocab.n_items)
    matrices: dict[str, tuple[sp.csr_matrix, np.ndarray | None]] = {}

    def training(fit_on: str) -> tuple[sp.csr_matrix, np.ndarray | None]:
        if fit_on not in matrices:
            if fit_on == "target":
                x = _binary_matrix(target.users, target.items, shape)
                matrices[fit_on] = (x[:, target_items].tocsr(), target_items)
            else:
                source = vocab.encode(tdata.source)
                users = np.concatenate([source.users, target.users])
                items = np.concatenate([source.items, target.items])
                matrices[fit_on] = (_binary_matrix(users, items, shape), None)
        return matrices[fit_on]

    group = selection.group
    out: dict[str, BaselineResult] = {}
    for name in names:
        spec = BASELINES[name]
        res = BaselineResult(spec, group)
        out[name] = res
        if spec.kind == "popularity":
            res.settings = spec.settings()
            t = time.perf_counter()
            top = popularity_topn(
                counts,
                len(valid.users),
                SELECTION_K,
                exclude=valid.exclude,
                candidates=valid.candidates,
            ).indices
            res.validation = [selection.scores(top)]
            res.fit_seconds = [0.0]
            res.chosen = 0
            t = time.perf_counter()
            res.test = evaluator.popularity()
            res.test_seconds = time.perf_counter() - t
            echo(f"  {res.describe()}")
            continue
        history, columns = training(spec.fit_on)
        n_fit = history.shape[1]
        if spec.kind == "ease" and n_fit > ease_max_items:
            gib = n_fit * n_fit * 8 / 2**30
            res.skipped = (
                f"{n_fit:,} items to fit on, more than EASE's max_items={ease_max_items:,} "
                f"(a {n_fit:,} x {n_fit:,} float64 Gram matrix: {gib:.1f} GiB)"
            )
            echo(f"  {res.describe()}")
            continue
        ranker = _Ranker(history, columns, vocab.n_items, counts)
        best_model, best_score = None, -math.inf
        for i, setting in enumerate(spec.settings()):
            t = time.perf_counter()
            model = spec.make(setting, max_items=ease_max_items).fit(history)
            fit_s = time.perf_counter() - t
            scores = selection.scores(
                ranker.rank(model, valid.users, SELECTION_K, valid.exclude, valid.candidates)
            )
            res.settings.append(setting)
            res.validation.append(scores)
            res.fit_seconds.append(fit_s)
            score = scores.get(group, math.nan)
            echo(
                f"  {name} {_format_setting(setting)}: {group} validation NDCG@10 "
                f"{score:.4f}, fit {fit_s:.1f} s"
            )
            key = -math.inf if math.isnan(score) else score  # NaN never beats a number
            if best_model is None or key > best_score:  # ties: the first setting
                best_model, best_score, res.chosen = model, key, i
            del model  # only the best model is kept: EASE's weights are I x I
        t = time.perf_counter()
        top = ranker.rank(best_model, test.users, n, test.exclude, test.candidates)
        res.test = evaluator.topn_metrics(top)
        res.test_seconds = time.perf_counter() - t
        del best_model
        echo(f"  {res.describe()}")
    return out
