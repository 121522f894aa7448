"""Transfer strategies: the registry, and what each one copies, re-initialises and freezes.

Every strategy is declared once, in :data:`STRATEGIES` (name ->
:class:`StrategyDef`: what it does, its phases, which options it takes and
the function that runs it); :func:`plan` turns a definition into the
declared weight moves of one run (:class:`StrategySpec`), so what a
strategy freezes can be read, printed and tested without training
anything, and :func:`xcat.transfer.transfer` dispatches through the
registry. A new strategy is a member of :class:`Strategy`, an entry of
:data:`STRATEGIES` and its run function.

This module imports no PyTorch (the CLI builds its ``--strategy`` choices
from :data:`STRATEGY_NAMES`); the default freeze / reinit lists are asked of
the model layer when needed (:data:`DEFAULT_FREEZE`, :data:`DEFAULT_REINIT`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from xcat.transfer.weights import match_names

if TYPE_CHECKING:  # computed on first use by the module __getattr__ below
    DEFAULT_FREEZE: tuple[str, ...]
    DEFAULT_REINIT: tuple[str, ...]

__all__ = [
    "DEFAULT_FREEZE",
    "DEFAULT_REINIT",
    "STRATEGIES",
    "STRATEGY_NAMES",
    "ParameterDefaults",
    "Phase",
    "Strategy",
    "StrategyDef",
    "StrategySpec",
    "as_strategy",
    "frozen_parameters",
    "plan",
]


class Strategy(str, Enum):
    """Named transfer strategies from a source to a target domain (see :data:`STRATEGIES`)."""

    FULL = "full"
    FREEZE = "freeze"
    REINIT = "reinit"
    SCRATCH = "scratch"
    JOINT = "joint"
    MAPPING = "mapping"


class Phase(Enum):
    """Phases of a transfer run, in order."""

    PRETRAIN = "pretrain"  # train on the source domain
    TARGET = "target"  # train on the target domain (fine-tune or from scratch)
    MAP = "map"  # fit the source -> target user mapping (EMCDR)


@dataclass(frozen=True)
class StrategyDef:
    """How a strategy is declared in :data:`STRATEGIES`.

    Attributes
    ----------
    strategy : Strategy
    description : str
        One sentence for help texts.
    phases : tuple of Phase
        Phases the strategy runs; with :attr:`Phase.PRETRAIN` it needs the
        pretrained source model.
    start_from_pretrained : bool
        Whether the target model starts from the source model's weights.
    source_history : bool, default True
        Whether the user tower sees source-domain history during target
        training and scoring.
    takes_freeze, takes_reinit : bool, default False
        Whether the strategy takes a freeze / reinit list of parameter names.
    runner : str
        ``"module:function"`` of the function that runs it, called with a
        :class:`xcat.transfer.run.TransferJob` and returning a
        :class:`xcat.transfer.run.TransferResult`; imported on first use
        (it imports PyTorch).
    """

    strategy: Strategy
    description: str
    phases: tuple[Phase, ...]
    start_from_pretrained: bool
    runner: str
    source_history: bool = True
    takes_freeze: bool = False
    takes_reinit: bool = False

    @property
    def name(self) -> str:
        """The strategy's name, e.g. ``"freeze"``."""
        return self.strategy.value

    @property
    def needs_pretrained(self) -> bool:
        """Whether a run needs the pretrained source model."""
        return Phase.PRETRAIN in self.phases

    def run_function(self) -> Callable[[Any], Any]:
        """Import and return the function that runs the strategy (:attr:`runner`)."""
        module, _, name = self.runner.partition(":")
        fn: Callable[[Any], Any] = getattr(importlib.import_module(module), name)
        return fn


_RUN = "xcat.transfer.run"
_FINE = (Phase.PRETRAIN, Phase.TARGET)

#: Every strategy by name, in the order experiments run and report them
#: (the no-transfer baseline first).
STRATEGIES: Mapping[str, StrategyDef] = MappingProxyType(
    {
        d.name: d
        for d in (
            StrategyDef(
                Strategy.SCRATCH,
                "No transfer: a fresh model trained on the target only (the baseline).",
                (Phase.TARGET,),
                start_from_pretrained=False,
                source_history=False,
                runner=f"{_RUN}:run_scratch",
            ),
            StrategyDef(
                Strategy.FULL,
                "Start from the pretrained model, fine-tune every parameter on the target.",
                _FINE,
                start_from_pretrained=True,
                runner=f"{_RUN}:run_fine_tune",
            ),
            StrategyDef(
                Strategy.FREEZE,
                "Start from the pretrained model, keep named (default user-side) parameters fixed.",
                _FINE,
                start_from_pretrained=True,
                takes_freeze=True,
                runner=f"{_RUN}:run_fine_tune",
            ),
            StrategyDef(
                Strategy.REINIT,
                "Keep the pretrained user tower, re-draw the item tower (or named layers), "
                "train all.",
                _FINE,
                start_from_pretrained=True,
                takes_reinit=True,
                runner=f"{_RUN}:run_fine_tune",
            ),
            StrategyDef(
                Strategy.JOINT,
                "No pretraining: a fresh model trained on the merged source + target "
                "interactions at once (one shared representation of both categories).",
                (Phase.TARGET,),
                start_from_pretrained=False,
                runner=f"{_RUN}:run_joint",
            ),
            StrategyDef(
                Strategy.MAPPING,
                "EMCDR (Man et al., IJCAI 2017): separate source and target models and an MLP "
                "from source to target user embeddings, fitted on overlapping users and "
                "applied to cold-start users.",
                (Phase.PRETRAIN, Phase.TARGET, Phase.MAP),
                start_from_pretrained=False,
                source_history=False,
                runner=f"{_RUN}:run_mapping",
            ),
        )
    }
)

#: The strategy names, in registry order (choices of ``xcat transfer --strategy``).
STRATEGY_NAMES: tuple[str, ...] = tuple(STRATEGIES)

if set(STRATEGY_NAMES) != {s.value for s in Strategy}:  # pragma: no cover - a declaration bug
    raise RuntimeError("xcat.transfer.strategies: Strategy and STRATEGIES disagree")


@dataclass(frozen=True)
class StrategySpec:
    """A strategy's declared weight moves.

    Attributes
    ----------
    strategy : Strategy
    phases : tuple of Phase
        Phases the strategy runs.
    start_from_pretrained : bool
        Whether the target model starts from the source model's weights.
    reinit : tuple of str
        Parameter names/prefixes re-drawn after copying (``reinit`` only).
    freeze : tuple of str
        Parameter names/prefixes kept bit-identical during target training.
    source_history : bool
        Whether the user tower sees source-domain history during target
        training and scoring (False for ``scratch``: target only).
    """

    strategy: Strategy
    phases: tuple[Phase, ...]
    start_from_pretrained: bool
    reinit: tuple[str, ...] = ()
    freeze: tuple[str, ...] = ()
    source_history: bool = True

    @property
    def definition(self) -> StrategyDef:
        """The strategy's entry of :data:`STRATEGIES`."""
        return STRATEGIES[self.strategy.value]

    def describe(self) -> str:
        """One line saying what the strategy copies, re-draws and freezes."""
        parts = []
        parts.append(
            "starts from the pretrained model" if self.start_from_pretrained else "fresh model"
        )
        if self.reinit:
            parts.append(f"re-draws {list(self.reinit)}")
        parts.append(f"freezes {list(self.freeze)}" if self.freeze else "freezes nothing")
        parts.append("phases " + " -> ".join(p.value for p in self.phases))
        return f"{self.strategy.value}: " + ", ".join(parts)


class ParameterDefaults(Protocol):
    """A model that says which parameters the strategies freeze / re-draw by default."""

    def default_freeze(self) -> tuple[str, ...]:
        """Parameter prefixes ``freeze`` keeps fixed by default."""
        ...

    def default_reinit(self) -> tuple[str, ...]:
        """Parameter prefixes ``reinit`` re-draws by default."""
        ...


def as_strategy(strategy: str | Strategy) -> Strategy:
    """Return the :class:`Strategy` called ``strategy``.

    Raises
    ------
    ValueError
        If no strategy has that name (the names are listed).
    """
    try:
        return Strategy(strategy)
    except ValueError:
        names = [s.value for s in Strategy]
        raise ValueError(f"strategy: expected one of {names}, got {strategy!r}") from None


def _names(
    given: str | Iterable[str] | None, default: Callable[[], tuple[str, ...]], arg: str
) -> tuple[str, ...]:
    """Parameter names or prefixes given as one string or several; ``default()`` when None."""
    names = default() if given is None else tuple([given] if isinstance(given, str) else given)
    if not names:
        raise ValueError(f"{arg}: give at least one name (or use the 'full' strategy)")
    return names


def _default(kind: str, model: ParameterDefaults | None) -> tuple[str, ...]:
    if model is not None:
        return model.default_freeze() if kind == "freeze" else model.default_reinit()
    # the defaults of a model with the default user tower (imports the model layer)
    from xcat.models.two_tower import default_freeze_names, default_reinit_names

    return default_freeze_names() if kind == "freeze" else default_reinit_names()


def _only(flag: str) -> str:
    return " or ".join(repr(n) for n, d in STRATEGIES.items() if getattr(d, flag))


def plan(
    strategy: str | Strategy,
    *,
    freeze: Iterable[str] | None = None,
    reinit: Iterable[str] | None = None,
    model: ParameterDefaults | None = None,
) -> StrategySpec:
    """Return the declared weight moves of a strategy.

    Parameters
    ----------
    strategy : str or Strategy
        A name of :data:`STRATEGIES`: ``"scratch"``, ``"full"``, ``"freeze"``,
        ``"reinit"`` or ``"mapping"``.
    freeze : iterable of str, optional
        For ``"freeze"``: parameter names or dotted prefixes to keep fixed
        (default: the model's :meth:`~xcat.models.TwoTower.default_freeze`).
        Checked against a model by :func:`frozen_parameters`.
    reinit : iterable of str, optional
        For ``"reinit"``: names or prefixes to re-draw (default: the model's
        :meth:`~xcat.models.TwoTower.default_reinit`, the item tower).
    model : TwoTower, optional
        The model the defaults are asked of; without it, those of a model
        with the default user tower (:data:`DEFAULT_FREEZE`,
        :data:`DEFAULT_REINIT`).

    Returns
    -------
    StrategySpec

    Raises
    ------
    ValueError
        If the strategy is unknown, or ``freeze`` / ``reinit`` is given to a
        strategy that does not use it.
    """
    s = as_strategy(strategy)
    d = STRATEGIES[s.value]
    if freeze is not None and not d.takes_freeze:
        raise ValueError(
            f"freeze: only the {_only('takes_freeze')} strategy takes a freeze list, "
            f"not {s.value!r}"
        )
    if reinit is not None and not d.takes_reinit:
        raise ValueError(
            f"reinit: only the {_only('takes_reinit')} strategy takes a reinit list, "
            f"not {s.value!r}"
        )
    frozen: tuple[str, ...] = ()
    if d.takes_freeze:
        frozen = _names(freeze, lambda: _default("freeze", model), "freeze")
    redrawn: tuple[str, ...] = ()
    if d.takes_reinit:
        redrawn = _names(reinit, lambda: _default("reinit", model), "reinit")
    return StrategySpec(
        s,
        d.phases,
        d.start_from_pretrained,
        reinit=redrawn,
        freeze=frozen,
        source_history=d.source_history,
    )


def frozen_parameters(spec: StrategySpec, parameter_names: Sequence[str]) -> list[str]:
    """Exact parameter names a strategy freezes in a model.

    Parameters
    ----------
    spec : StrategySpec
    parameter_names : sequence of str
        ``[n for n, _ in model.named_parameters()]``.

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        If a name of ``spec.freeze`` matches no parameter (with the closest
        matches listed).
    """
    if not spec.freeze:
        return []
    return match_names(spec.freeze, parameter_names, what="freeze")


def __getattr__(name: str) -> tuple[str, ...]:
    """``DEFAULT_FREEZE`` and ``DEFAULT_REINIT``, asked of the model layer on first use.

    ``DEFAULT_FREEZE``: what ``freeze`` keeps fixed in a model with the
    default user tower, its user-id embedding and user MLP
    (``("user_tower.user_id", "user_tower.mlp")``). ``DEFAULT_REINIT``: what
    ``reinit`` re-draws, the item tower (``("item_tower",)``). Reading either
    imports PyTorch.
    """
    if name in ("DEFAULT_FREEZE", "DEFAULT_REINIT"):
        value = _default("freeze" if name == "DEFAULT_FREEZE" else "reinit", None)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
