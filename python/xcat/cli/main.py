"""Top-level ``xcat`` command group; each subcommand lives in its own module."""

from __future__ import annotations

import click

from xcat import __version__
from xcat.cli.data import data
from xcat.cli.demo import demo
from xcat.cli.feedback import feedback
from xcat.cli.run import evaluate, pretrain, quickstart, recommend, similar, transfer
from xcat.cli.serve import serve


class _Group(click.Group):
    """A group that shows the library's input errors as one-line CLI errors."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (ValueError, FileNotFoundError) as e:
            # Bad data, paths or options: the message already names the culprit.
            raise click.ClickException(str(e)) from e


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xcat")
def main() -> None:
    """Cross-category recommendation by transfer learning, with exact top-N retrieval."""


main.add_command(quickstart)
main.add_command(pretrain)
main.add_command(transfer)
main.add_command(evaluate)
main.add_command(recommend)
main.add_command(similar)
main.add_command(serve)
main.add_command(feedback)
main.add_command(demo)
main.add_command(data)
