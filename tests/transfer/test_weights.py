"""Weight moves as pure functions over state-dict keys; importing them needs no torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch", reason="the weight-move tests need the train extra (torch)")

from xcat.transfer.weights import copy_weights, match_names, reinit_weights  # noqa: E402


def test_match_names_prefixes_are_whole_components():
    keys = ["a.b.weight", "a.b.bias", "a.bc.weight", "c"]
    assert match_names(["a.b"], keys) == ["a.b.weight", "a.b.bias"]
    assert match_names(["c", "a.bc.weight"], keys) == ["a.bc.weight", "c"]
    with pytest.raises(ValueError, match="did you mean"):
        match_names(["a.bd"], keys)


def test_weight_moves_are_pure_functions():
    src = {"x": torch.ones(2), "y": torch.zeros(3)}
    dst = {"x": torch.zeros(2), "y": torch.ones(3)}
    out = copy_weights(src, dst, ["x"])
    assert torch.equal(out["x"], src["x"]) and out["y"] is dst["y"]
    assert torch.equal(dst["x"], torch.zeros(2))  # inputs untouched
    out["x"][0] = 5
    assert src["x"][0] == 1  # copies are clones
    with pytest.raises(ValueError, match="shapes differ"):
        copy_weights({"x": torch.ones(3)}, dst, ["x"])
    new, keys = reinit_weights(dst, src, ["y"])
    assert keys == ["y"] and torch.equal(new["y"], src["y"]) and torch.equal(new["x"], dst["x"])


def test_importing_the_weight_moves_imports_no_torch():
    code = "import sys, xcat.transfer.weights; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
