"""The ``xcat`` command line (click)."""

import os

# PyTorch's OpenMP threads spin between parallel regions by default; on cores
# shared with other jobs that starves everyone (the synthetic quickstart took
# 357-547 s instead of 74-105 s with passive waits, same results; 42 s vs
# 47-61 s when idle). Set before any command imports torch; an explicit
# OMP_WAIT_POLICY is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from xcat.cli.main import main  # noqa: E402

__all__ = ["main"]
