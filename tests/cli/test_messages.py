"""CLI errors name the command's options (``--format``, ``--data-dir``), not Python arguments.

Each case provokes the error for real through click's CliRunner and needs
no training: it fails while reading the input or parsing the options.
"""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner
from xcat.cli import main
from xcat.cli.options import Command, cli_message


def run_cli(*args, code):
    result = CliRunner().invoke(main, [str(a) for a in args], prog_name="xcat")
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.output


@pytest.fixture
def tables(tmp_path):
    (tmp_path / "events.csv").write_text("user,item,category\nu1,i1,a\nu2,i2,b\n")
    (tmp_path / "events.txt").write_text("u1 i1 a\n")
    return tmp_path


def test_unknown_text_format_names_format_and_sep(tables):
    out = run_cli("data", "stats", tables / "events.txt", code=1)
    assert "pass --format csv|tsv|parquet or --sep" in out
    assert "format=" not in out and "sep=" not in out


def test_wrong_format_names_format_once(tables):
    out = run_cli("data", "stats", tables / "events.txt", "--format", "parquet", code=1)
    assert out.rstrip().endswith("if it is a text table pass --format csv or tsv")
    assert "format='csv'" not in out and "(CLI:" not in out


def test_missing_column_names_the_column_option(tables):
    out = run_cli("data", "stats", tables / "events.csv", "--user", "nope", code=1)
    assert "Error: --user nope: no such column" in out and "user='nope'" not in out


def test_k_core_below_one_is_refused_as_the_option(tables):
    out = run_cli("data", "stats", tables / "events.csv", "--k-core", "0", code=2)
    assert "Invalid value for '--k-core'" in out and "k_user" not in out


def test_no_data_directory_names_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("XCAT_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # no ../shared/data beside it
    out = run_cli("quickstart", "--data", "amazon5:beauty:toys", "--out", "run", code=1)
    assert "no data directory: pass --data-dir or set the environment variable" in out
    assert "root=" not in out


def test_missing_data_directory_is_a_bad_data_dir(tmp_path):
    missing = tmp_path / "nowhere"
    out = run_cli(
        "quickstart", "--data", "amazon5:beauty:toys", "--data-dir", missing, "--out",
        tmp_path / "run", code=2,
    )  # fmt: skip
    assert f"Invalid value for --data-dir: data directory {missing} does not exist" in out


@pytest.mark.parametrize(
    "args, option, message",
    [
        (["--strategies", "bogus"], "--strategies", "unknown ['bogus']"),
        (["--cold-views", "1"], "--cold-views", "--user-tower is 'mean'"),
    ],
)
def test_argument_errors_of_the_experiment_are_bad_options(tmp_path, args, option, message):
    out = run_cli("quickstart", "--out", tmp_path / "run", *args, code=2)
    assert f"Invalid value for {option}: " in out and message in out
    assert "cold_views" not in out and "user_tower" not in out


@pytest.mark.parametrize(
    "option, value",
    [
        ("--epochs", 0),
        ("--pretrain-epochs", 0),  # the library calls both "epochs"
        ("--dim", 0),
        ("--batch-size", 0),
        ("--lr", 0),
        ("--dropout", 1),
        ("--threads", 0),
        ("--sample-users", -1),
    ],
)
def test_out_of_range_numbers_are_refused_before_any_work(tmp_path, option, value):
    out = run_cli("quickstart", "--out", tmp_path / "run", option, value, code=2)
    assert f"Invalid value for '{option}'" in out and "data:" not in out
    assert not (tmp_path / "run").exists()


def test_threads_beyond_the_kernel_limit_name_threads():
    out = run_cli("demo", "--users", 2, "--items", 10, "--threads", 5000, code=2)
    assert "Invalid value for --threads: 5000 is more than the 1024 supported" in out
    assert "num_threads" not in out


# ------------------------------------------------------- the rewriting itself


@click.command(cls=Command)
@click.option("--data-dir")
@click.option("--format", "fmt")
@click.option("--drop-null-ids", is_flag=True)
@click.option("--strict/--no-strict")
@click.option("-n", "--top", "n", type=int)
@click.option("--user-tower")
def tool(**kwargs):
    """A command with the kinds of options the rewriting meets."""


@pytest.mark.parametrize(
    "message, expected, option",
    [
        ("pass root= or set X", "pass --data-dir or set X", None),
        ("pass format='csv'|'tsv' or sep=", "pass --format csv|tsv or sep=", None),
        ("pass fmt='my format'", "pass --format 'my format'", None),
        ("pass drop_null_ids=True to remove them", "pass --drop-null-ids to remove them", None),
        ("or strict=False", "or --no-strict", None),
        ("n: expected a non-negative integer", "expected a non-negative integer", "--top"),
        ("user_tower is 'mean'", "--user-tower is 'mean'", None),
        # names without an option, and quoted text (column names), are left alone
        ("use id_dtype='str'", "use id_dtype='str'", None),
        ("columns ['user_tower', 'data_dir']", "columns ['user_tower', 'data_dir']", None),
        ("/x/data_dir/user_tower.csv: empty", "/x/data_dir/user_tower.csv: empty", None),
        ("set user_tower.", "set --user-tower.", None),
        ("format='csv' (CLI: --format csv)", "--format csv", None),
        ("dates in format '%Y' (CLI: --format x)", "dates in format '%Y' (CLI: --format x)", None),
    ],
)
def test_cli_message(message, expected, option):
    assert cli_message(message, tool) == (expected, option)
