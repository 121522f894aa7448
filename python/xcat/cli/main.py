"""Top-level ``xcat`` command group; each subcommand lives in its own module."""

from __future__ import annotations

import click

from xcat import __version__
from xcat.cli.data import data
from xcat.cli.demo import demo
from xcat.cli.run import evaluate, pretrain, quickstart, recommend, transfer


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xcat")
def main() -> None:
    """Cross-category recommendation by transfer learning, with exact top-N retrieval."""


main.add_command(quickstart)
main.add_command(pretrain)
main.add_command(transfer)
main.add_command(evaluate)
main.add_command(recommend)
main.add_command(demo)
main.add_command(data)
