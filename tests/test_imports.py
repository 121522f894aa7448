"""Import contracts checked at run time (the static ones are `lint-imports` in CI)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "modules",
    [
        "xcat",
        "xcat.recommend",
        "xcat.evaluate",
        "xcat.data",
        "xcat.cli",
        "xcat.workflow",
        "xcat.serve",
    ],
)
def test_light_layers_do_not_import_torch(modules):
    # A fresh interpreter: this test process has torch loaded already.
    code = f"import sys, {modules}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", f"importing {modules} loads torch"
