"""Options the commands share, and choices and help texts read from the library's registries.

The dataset and input-format registries (:mod:`xcat.data.datasets`,
:mod:`xcat.data.io`) import pandas, and ``import xcat.cli`` must not; so the
``--data`` help and the ``--format`` choices are read from them when click
needs them (to show help or parse a value, :class:`LazyHelpOption`,
:class:`LazyChoice`), not when the commands are declared.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from xcat._extras import missing_extra
from xcat.workflow.errors import ArgumentError

__all__ = [
    "Command",
    "LazyChoice",
    "LazyHelpOption",
    "cli_message",
    "command_line",
    "common_options",
    "table_spec",
    "dataset_spec_help",
    "input_formats",
]


def dataset_spec_help() -> str:
    """Return the ``--data`` specs (:data:`xcat.data.datasets.SPEC_HELP`)."""
    from xcat.data.datasets import SPEC_HELP

    return SPEC_HELP


# Library argument names whose CLI option is named otherwise (argument -> click
# parameter name); used only where the command has that option.
_LIBRARY_NAMES = {
    "root": "data_dir",  # xcat.data.datasets.data_dir(root)
    "num_threads": "threads",
    "embedding_dim": "dim",
    "n_other": "sample_users",  # xcat.data.domains.sample_users
    "version": "amazon_version",  # xcat.data.io.amazon
}
# A value after ``name=`` in a message: a quoted or <placeholder> literal or a bare
# token, then more quoted alternatives (``'csv'|'tsv'``, ``'first' or 'last'``).
_QUOTED = r"'[^'\n]*'|\"[^\"\n]*\""
_VALUE = rf"(?:{_QUOTED}|<[^>\n]*>|[^\s,;:()'\"|]+)(?:(?:\||\s+or\s+)(?:{_QUOTED}))*"
_PLAIN = re.compile(r"[\w.:/@+-]+")  # needs no quotes in a shell


def _option_names(command: click.Command) -> dict[str, click.Option]:
    """Map every name a message may use for an option of ``command`` to that option.

    The click parameter name (``fmt``), each long option spelled as an
    identifier (``format`` for ``--format``, ``data_dir``) and the library
    names of :data:`_LIBRARY_NAMES` (``root`` for ``--data-dir``).
    """
    names: dict[str, click.Option] = {}
    for p in command.params:
        if isinstance(p, click.Option) and p.name:
            names[p.name] = p
            for opt in p.opts:
                if opt.startswith("--"):
                    names.setdefault(opt[2:].replace("-", "_"), p)
    for library, cli in _LIBRARY_NAMES.items():
        if cli in names:
            names.setdefault(library, names[cli])
    return names


def _option_label(option: click.Option) -> str:
    """Return the option as a user types it: its long form (``--top`` of ``-n/--top``)."""
    return next((o for o in option.opts if o.startswith("--")), option.opts[0])


def _render_assignment(option: click.Option, value: str | None) -> str:
    """``name=value`` of a library message as the option and value a user types."""
    label = _option_label(option)
    if not value:
        return label
    if option.is_flag:
        if value == "True":
            return label
        if value == "False" and option.secondary_opts:
            return option.secondary_opts[0]
    # unquote simple literals: 'csv'|'tsv' -> csv|tsv; keep quotes a shell would need
    pieces = re.split(rf"({_QUOTED})", value)
    text = "".join(
        piece[1:-1] if re.fullmatch(_QUOTED, piece) and _PLAIN.fullmatch(piece[1:-1]) else piece
        for piece in pieces
    )
    return f"{label} {text}"


def cli_message(message: str, command: click.Command) -> tuple[str, str | None]:
    """Rewrite a library error message in the option names of ``command``.

    Library messages name Python arguments: ``pass format='csv'`` becomes
    ``pass --format csv``, ``root=`` becomes ``--data-dir``, a code name
    such as ``user_tower`` becomes ``--user-tower``, and a leading
    ``epochs: ...`` (the argument at fault) is split off as the option to
    report the error on. A ``(CLI: ...)`` hint is dropped once the message
    itself names the option. Names the command has no option for, and
    anything inside quotes, are left as they are.

    Parameters
    ----------
    message : str
        The error message, e.g. ``str(ValueError)``.
    command : click.Command
        The command whose options the message is rewritten for.

    Returns
    -------
    message : str
        The rewritten message (without the leading option name, if any).
    option : str or None
        The option the message starts with (``"--epochs"``), else None.
    """
    names = _option_names(command)
    if not names:
        return message, None
    option = None
    alternation = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    lead = re.match(rf"({alternation}): (?=\S)", message)
    if lead:
        option = _option_label(names[lead.group(1)])
        message = message[lead.end() :]
    assignment = re.compile(rf"(?<![\w'\"./\\-])({alternation})=({_VALUE})?")
    rewritten = assignment.sub(lambda m: _render_assignment(names[m.group(1)], m.group(2)), message)
    if rewritten != message:
        rewritten = re.sub(r"\s*\(CLI: [^)]*\)", "", rewritten)
    code_names = [re.escape(n) for n in names if "_" in n]
    if code_names:
        # only identifiers with an underscore: plain words ("user", "data") are English too
        # not inside quotes or paths (a folder named data_dir, a file user_tower.csv)
        bare = re.compile(rf"(?<![\w'\".=/\\-])({'|'.join(code_names)})(?![\w'\"=/\\-]|\.\w)")
        rewritten = bare.sub(lambda m: _option_label(names[m.group(1)]), rewritten)
    return rewritten, option


def _path_option(message: str, ctx: click.Context) -> str | None:
    """Return the option whose value (a path) the message quotes; the longest of several."""
    found = []
    for p in ctx.command.params:
        if not isinstance(p, click.Option) or not p.name:
            continue
        value = ctx.params.get(p.name)
        if isinstance(value, (str, Path)) and str(value):
            if re.search(rf"(?<![\w./-]){re.escape(str(value))}(?![\w.-])", message):
                found.append((len(str(value)), _option_label(p)))
    return max(found)[1] if found else None


class Command(click.Command):
    """A command that shows the library's errors in its own option names.

    * A workflow's :class:`~xcat.workflow.ArgumentError` is a bad value of
      ``--<argument>`` (the workflows name their arguments as the commands
      name their options), read with the command's usage as click's own
      ``Invalid value for --out: ...``; a usage error when it names no
      argument.
    * Another ``ValueError`` or ``FileNotFoundError`` (from the data, model
      and training layers) is rewritten by :func:`cli_message`: Python
      argument names become option names, and an error that starts with
      an argument's name (``epochs: ...``), or a missing file that is an
      option's value (``--data-dir``), is reported on that option.
    * A missing module of an optional extra (PyTorch without ``xcat[train]``)
      is one line naming the extra (:class:`xcat._extras.MissingExtraError`),
      not a traceback.
    """

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, reporting the errors above as click errors (exit code 1 or 2)."""
        try:
            return super().invoke(ctx)
        except ArgumentError as e:
            message, _ = cli_message(e.message, self)
            if e.argument is None:  # options that do not go together
                raise click.UsageError(message, ctx=ctx) from e
            known = _option_names(self).get(e.argument)
            hint = _option_label(known) if known else f"--{e.argument}"
            raise click.BadParameter(message, ctx=ctx, param_hint=hint) from e
        except (ValueError, FileNotFoundError) as e:
            message, option = cli_message(str(e), self)
            if option is None and isinstance(e, FileNotFoundError):
                option = _path_option(message, ctx)
            if option is None:
                raise click.ClickException(message) from e
            raise click.BadParameter(message, ctx=ctx, param_hint=option) from e
        except ModuleNotFoundError as e:
            missing = missing_extra(e, ctx.command_path)
            if missing is None:
                raise
            raise click.ClickException(str(missing)) from e


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
            "--source",
            "sources",
            multiple=True,
            help="With --data FILE: source category value (repeatable).",
        ),
        click.option(
            "--target",
            "targets",
            multiple=True,
            help="With --data FILE: target category value (repeatable).",
        ),
        click.option(
            "--user-col", default=None, help="With --data FILE: user-id column [default: user]."
        ),
        click.option(
            "--item-col", default=None, help="With --data FILE: item-id column [default: item]."
        ),
        click.option(
            "--category-col",
            default=None,
            help="With --data FILE: category column [default: category].",
        ),
        click.option(
            "--timestamp-col",
            default=None,
            help="With --data FILE: timestamp column (epoch seconds or ISO 8601) [default: none].",
        ),
        click.option(
            "--seed", default=0, show_default=True, help="Seed of the split and training."
        ),
        click.option(
            "--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N"
        ),
        click.option(
            "--threads",
            type=click.IntRange(min=1),
            default=None,
            help="CPU threads for PyTorch.",
        ),
        click.option(
            "--sample-users",
            type=click.IntRange(min=0),
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


def table_spec(
    sources: tuple[str, ...],
    targets: tuple[str, ...],
    user_col: str | None,
    item_col: str | None,
    category_col: str | None,
    timestamp_col: str | None,
) -> dict[str, Any] | None:
    """Return the own-data options as :func:`xcat.workflow.load_data`'s ``table`` (or None)."""
    read = {
        "user": user_col,
        "item": item_col,
        "category": category_col,
        "timestamp": timestamp_col,
    }
    read = {k: v for k, v in read.items() if v is not None}
    if not (sources or targets or read):
        return None
    return {"source": list(sources), "target": list(targets), "read": read}


def command_line() -> str:
    """Return the command line as typed, for reports."""
    return "xcat " + " ".join(shlex.quote(a) for a in sys.argv[1:])
