"""Options the commands share, and choices and help texts read from the library's registries.

The dataset and input-format registries (:mod:`xcat.data.datasets`,
:mod:`xcat.data.io`) import pandas, and ``import xcat.cli`` must not; so the
``--data`` help and the ``--format`` choices are read from them when click
needs them (to show help or parse a value, :class:`LazyHelpOption`,
:class:`LazyChoice`), not when the commands are declared.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from xcat.workflow.errors import ArgumentError

__all__ = [
    "Command",
    "LazyChoice",
    "LazyHelpOption",
    "command_line",
    "common_options",
    "dataset_spec_help",
    "input_formats",
]


def dataset_spec_help() -> str:
    """Return the ``--data`` specs (:data:`xcat.data.datasets.SPEC_HELP`)."""
    from xcat.data.datasets import SPEC_HELP

    return SPEC_HELP


class Command(click.Command):
    """A command that shows a workflow's :class:`~xcat.workflow.ArgumentError` as a bad option.

    The workflows name their arguments as the commands name their options
    (``out`` is ``--out``), so the error reads, with the command's usage, as
    click's own ``Invalid value for --out: ...`` (a usage error when it names
    no argument).
    """

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; an ArgumentError becomes a bad value of ``--<argument>``."""
        try:
            return super().invoke(ctx)
        except ArgumentError as e:
            if e.argument is None:  # options that do not go together
                raise click.UsageError(e.message, ctx=ctx) from e
            raise click.BadParameter(e.message, ctx=ctx, param_hint=f"--{e.argument}") from e


def input_formats() -> tuple[str, ...]:
    """Return ``auto`` and the input formats (:data:`xcat.data.io.FORMATS`), in order."""
    from xcat.data.io import FORMATS

    return ("auto", *FORMATS)


class LazyChoice(click.Choice):
    """A :class:`click.Choice` whose choices are read when first needed.

    Parameters
    ----------
    names : callable
        Returns the choices (a sequence of str).
    case_sensitive : bool, default True
    """

    def __init__(self, names: Callable[[], Sequence[str]], case_sensitive: bool = True) -> None:
        # not Choice.__init__, which would read the choices now
        self._names = names
        self.case_sensitive = case_sensitive

    @property
    def choices(self) -> Sequence[str]:  # type: ignore[override]
        """The choices, read from ``names()``."""
        return tuple(self._names())


class LazyHelpOption(click.Option):
    """A :class:`click.Option` whose help text is built when help is shown.

    Parameters
    ----------
    *args, **kwargs
        As :class:`click.Option`.
    lazy_help : callable
        Returns the help text.
    """

    def __init__(self, *args: Any, lazy_help: Callable[[], str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy_help = lazy_help

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        """Build the help text, then the help record as click does."""
        self.help = self._lazy_help()
        return super().get_help_record(ctx)


def common_options(f: Any) -> Any:
    """Add the options every run command takes: the data, the split and the machine."""
    options = [
        click.option(
            "--data",
            "data_spec",
            cls=LazyHelpOption,
            lazy_help=dataset_spec_help,
            default="synthetic",
            show_default=True,
        ),
        click.option("--data-dir", default=None, help="Folder of the shared datasets."),
        click.option(
            "--seed", default=0, show_default=True, help="Seed of the split and training."
        ),
        click.option(
            "--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N"
        ),
        click.option("--threads", type=int, default=None, help="CPU threads for PyTorch."),
        click.option(
            "--sample-users",
            type=int,
            default=None,
            help="Keep all overlapping users but only this many others per domain (quick runs).",
        ),
        click.option(
            "--protocol",
            type=click.Choice(["cold-start", "published"]),
            default="cold-start",
            show_default=True,
            help="cold-start: hold out overlapping users' target history (any data); "
            "published: the benchmark's own train/valid/test files (cdrib, disencdr).",
        ),
        click.option(
            "--sampled-negatives",
            type=click.IntRange(min=0),
            default=None,
            help="Also rank each test item against N seeded random negatives, as the "
            "DisenCDR/CDRIB papers do [default: 999 with --protocol published, else 0 = off].",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def command_line() -> str:
    """Return the command line as typed, for reports."""
    return "xcat " + " ".join(shlex.quote(a) for a in sys.argv[1:])
