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


@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_cli_makes_openmp_threads_wait_passively_unless_told(given, expected):
    import os

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given:
        env["OMP_WAIT_POLICY"] = given
    code = "import os, sys, xcat.cli; print(os.environ['OMP_WAIT_POLICY'], 'torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split() == [expected, "False"]  # set before anything loads torch
