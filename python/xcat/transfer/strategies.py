"""Transfer strategies: what each one copies, re-initialises and freezes.

A strategy is declared as data (:class:`StrategySpec`), so what it freezes
can be read, printed and tested without training anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from xcat.transfer.weights import match_names

__all__ = [
    "DEFAULT_FREEZE",
    "DEFAULT_REINIT",
    "Phase",
    "Strategy",
    "StrategySpec",
    "frozen_parameters",
    "plan",
]

#: What ``freeze`` keeps fixed by default: the shared user-side layers that
#: map a user to a vector (user-id embedding and user MLP). The history item
#: table stays trainable, because it holds rows for target-domain items that
#: pretraining on the source never saw.
DEFAULT_FREEZE: tuple[str, ...] = ("user_tower.user_id", "user_tower.mlp")
#: What ``reinit`` re-draws by default: the whole item tower.
DEFAULT_REINIT: tuple[str, ...] = ("item_tower",)


class Strategy(str, Enum):
    """Named transfer strategies from a source to a target domain."""

    #: Start from the pretrained model, fine-tune every parameter on the target.
    FULL = "full"
    #: Start from the pretrained model, keep named (default user-side) parameters fixed.
    FREEZE = "freeze"
    #: Keep the pretrained user tower, re-draw the item tower (or named layers), train all.
    REINIT = "reinit"
    #: No transfer: a fresh model trained on the target only (the baseline).
    SCRATCH = "scratch"
    #: EMCDR (Man et al., IJCAI 2017): separate source and target models and an
    #: MLP from source to target user embeddings, fitted on overlapping users and
    #: applied to cold-start users.
    MAPPING = "mapping"


class Phase(Enum):
    """Phases of a transfer run, in order."""

    PRETRAIN = "pretrain"  # train on the source domain
    TARGET = "target"  # train on the target domain (fine-tune or from scratch)
    MAP = "map"  # fit the source -> target user mapping (EMCDR)


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


def _as_strategy(strategy: str | Strategy) -> Strategy:
    try:
        return Strategy(strategy)
    except ValueError:
        names = [s.value for s in Strategy]
        raise ValueError(f"strategy: expected one of {names}, got {strategy!r}") from None


def _names(
    given: str | Iterable[str] | None, default: tuple[str, ...], arg: str
) -> tuple[str, ...]:
    """Parameter names or prefixes given as one string or several; ``default`` when None."""
    names = default if given is None else tuple([given] if isinstance(given, str) else given)
    if not names:
        raise ValueError(f"{arg}: give at least one name (or use the 'full' strategy)")
    return names


def plan(
    strategy: str | Strategy,
    *,
    freeze: Iterable[str] | None = None,
    reinit: Iterable[str] | None = None,
) -> StrategySpec:
    """Return the declared weight moves of a strategy.

    Parameters
    ----------
    strategy : str or Strategy
        ``"full"``, ``"freeze"``, ``"reinit"``, ``"scratch"`` or ``"mapping"``.
    freeze : iterable of str, optional
        For ``"freeze"``: parameter names or dotted prefixes to keep fixed
        (default :data:`DEFAULT_FREEZE`). Checked against a model by
        :func:`frozen_parameters`.
    reinit : iterable of str, optional
        For ``"reinit"``: names or prefixes to re-draw (default
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
    s = _as_strategy(strategy)
    if freeze is not None and s is not Strategy.FREEZE:
        raise ValueError(f"freeze: only the 'freeze' strategy takes a freeze list, not {s.value!r}")
    if reinit is not None and s is not Strategy.REINIT:
        raise ValueError(f"reinit: only the 'reinit' strategy takes a reinit list, not {s.value!r}")
    fine = (Phase.PRETRAIN, Phase.TARGET)
    if s is Strategy.FULL:
        return StrategySpec(s, fine, True)
    if s is Strategy.FREEZE:
        return StrategySpec(s, fine, True, freeze=_names(freeze, DEFAULT_FREEZE, "freeze"))
    if s is Strategy.REINIT:
        return StrategySpec(s, fine, True, reinit=_names(reinit, DEFAULT_REINIT, "reinit"))
    if s is Strategy.SCRATCH:
        return StrategySpec(s, (Phase.TARGET,), False, source_history=False)
    return StrategySpec(s, (Phase.PRETRAIN, Phase.TARGET, Phase.MAP), False, source_history=False)


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
