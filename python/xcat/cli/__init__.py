"""The ``xcat`` command line (click)."""

from xcat.cli.main import main

__all__ = ["main"]
