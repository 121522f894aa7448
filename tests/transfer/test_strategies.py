"""The strategy registry and the declared weight moves (no training)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from xcat.transfer.strategies import (
    STRATEGIES,
    STRATEGY_NAMES,
    Phase,
    Strategy,
    StrategyDef,
    as_strategy,
    plan,
)


def test_plan_declares_what_each_strategy_freezes():
    pytest.importorskip("torch")  # the default freeze / reinit lists are the model's
    assert plan("full").freeze == () and plan("full").start_from_pretrained
    assert plan("freeze").freeze == _default_freeze()
    assert plan("freeze", freeze=["item_tower.mlp"]).freeze == ("item_tower.mlp",)
    assert plan("reinit").reinit == ("item_tower",)
    assert not plan("scratch").start_from_pretrained and not plan("scratch").source_history
    assert plan(Strategy.MAPPING).phases[-1].value == "map"
    assert "freezes ['user_tower.user_id', 'user_tower.mlp']" in plan("freeze").describe()
    with pytest.raises(ValueError, match="strategy"):
        plan("finetune")
    with pytest.raises(ValueError, match="freeze"):
        plan("full", freeze=["user_tower"])


def _default_freeze() -> tuple[str, ...]:
    from xcat.transfer import DEFAULT_FREEZE  # asked of the model layer

    return DEFAULT_FREEZE


def test_every_strategy_is_declared_once_in_the_registry():
    pytest.importorskip("torch")  # the runners are imported
    assert STRATEGY_NAMES == ("scratch", "full", "freeze", "reinit", "joint", "mapping")
    assert set(STRATEGIES) == {s.value for s in Strategy}
    for name, d in STRATEGIES.items():
        assert isinstance(d, StrategyDef) and d.name == name and d.description
        assert d.strategy is as_strategy(name)
        spec = plan(name)
        assert spec.definition is d
        assert spec.phases == d.phases and spec.source_history == d.source_history
        assert spec.start_from_pretrained == d.start_from_pretrained
        assert d.needs_pretrained == (Phase.PRETRAIN in d.phases)
        assert callable(d.run_function())  # every runner resolves
    assert not STRATEGIES["scratch"].needs_pretrained and STRATEGIES["mapping"].needs_pretrained
    assert [n for n, d in STRATEGIES.items() if d.takes_freeze] == ["freeze"]
    assert [n for n, d in STRATEGIES.items() if d.takes_reinit] == ["reinit"]
    with pytest.raises(TypeError):
        STRATEGIES["new"] = STRATEGIES["full"]  # type: ignore[index]
    with pytest.raises(ValueError, match=r"expected one of \['full', 'freeze'"):
        as_strategy("finetune")


def test_defaults_are_asked_of_the_model():
    pytest.importorskip("torch")  # plan("freeze", reinit=...) reads the default freeze list

    class Model:
        def default_freeze(self) -> tuple[str, ...]:
            return ("user_tower.gru",)

        def default_reinit(self) -> tuple[str, ...]:
            return ("item_tower.mlp",)

    assert plan("freeze", model=Model()).freeze == ("user_tower.gru",)
    assert plan("reinit", model=Model()).reinit == ("item_tower.mlp",)
    assert plan("freeze", freeze=["x"], model=Model()).freeze == ("x",)
    assert plan("full", model=Model()).freeze == ()
    with pytest.raises(ValueError, match="reinit: only the 'reinit' strategy"):
        plan("freeze", reinit=["x"])
    with pytest.raises(ValueError, match="give at least one name"):
        plan("freeze", freeze=[])


def test_strategy_names_import_without_torch():
    code = (
        "import sys\n"
        "from xcat.transfer import STRATEGY_NAMES, STRATEGIES, plan\n"
        "plan('full'); plan('scratch')\n"
        "print(list(STRATEGY_NAMES), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['scratch', 'full', 'freeze', 'reinit', 'joint', 'mapping'] False"
