"""Without the ``train`` extra: one line naming it, from the CLI and from ``xcat.load``.

PyTorch is installed here, so each test blocks it in a fresh interpreter
(``sys.modules["torch"] = None`` makes ``import torch`` fail as if it were
missing).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from xcat._extras import MissingExtraError, missing_extra, requires_extra

HINT = 'pip install "xcat[train]"'


def run_without(module, code, cwd):
    prelude = f"import sys; sys.modules[{module!r}] = None\n"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, cwd=cwd, env=env
    )


@pytest.mark.parametrize(
    "args",
    [
        ["quickstart", "--epochs", "1", "--out", "run"],
        ["pretrain", "--out", "run"],
        ["feedback", "--model", ".", "--events", "events.csv", "--out", "new"],
    ],
    ids=lambda a: a[0],
)
def test_cli_without_torch_says_which_extra_to_install(tmp_path, args):
    (tmp_path / "events.csv").write_text("user,item\nu1,i1\n")
    code = f"from xcat.cli import main; main({args!r}, prog_name='xcat')"
    out = run_without("torch", code, tmp_path)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1] == (
        f"Error: xcat {args[0]} needs PyTorch (module 'torch' is not installed): {HINT}"
    )


def test_load_without_torch_raises_an_import_error_naming_the_extra(tmp_path):
    code = """
import xcat
try:
    xcat.load("nowhere")
except ImportError as e:
    cause = e.__cause__
    print(type(e).__name__, e.name, type(cause).__name__, cause.name, sep="|")
    print(e)
"""
    out = run_without("torch", code, tmp_path)
    assert out.returncode == 0, out.stderr
    kinds, message = out.stdout.strip().splitlines()
    # chained from Python's own error, which keeps the module name
    assert kinds == "MissingExtraError|torch|ModuleNotFoundError|torch"
    assert message == f"xcat.load needs PyTorch (module 'torch' is not installed): {HINT}"


@pytest.mark.parametrize("name", ["torch", "torch.nn.functional", "safetensors.torch", "tqdm"])
def test_a_missing_module_of_the_extra_becomes_missing_extra_error(name):
    with pytest.raises(MissingExtraError, match=r'needs .* pip install "xcat\[train\]"') as info:
        with requires_extra("this"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    assert isinstance(info.value, ImportError) and info.value.extra == "train"
    assert info.value.name == name.split(".")[0]
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


@pytest.mark.parametrize(
    "error",
    [
        ModuleNotFoundError("No module named 'pandas'", name="pandas"),
        ModuleNotFoundError("no name"),
        ImportError("libcudart.so.12: cannot open shared object file", name="torch"),
    ],
)
def test_other_import_errors_pass_through(error):
    assert missing_extra(error, "this") is None
    with pytest.raises(type(error)) as info:
        with requires_extra("this"):
            raise error
    assert info.value is error


def test_serve_without_fastapi_says_which_extra_to_install(tmp_path):
    # a saved recommender to serve, then fastapi blocked as if the serve extra were missing
    setup = (
        "import numpy as np, scipy.sparse as sp\n"
        "from xcat.data.idmap import IdMap\nfrom xcat.recommend import Recommender\n"
        "Recommender(np.ones((1, 2), np.float32), np.ones((2, 2), np.float32),"
        " user_ids=IdMap(['u'], name='user'), item_ids=IdMap(['a', 'b'], name='item'),"
        " item_categories=['c', 'c'], history=sp.csr_matrix((1, 2))).save('rec')\n"
    )
    subprocess.run([sys.executable, "-c", setup], cwd=tmp_path, check=True)
    code = "from xcat.cli import main; main(['serve', '--model', 'rec'], prog_name='xcat')"
    out = run_without("fastapi", code, tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.strip().splitlines()[-1] == (
        "Error: xcat serve needs FastAPI (module 'fastapi' is not installed): "
        'pip install "xcat[serve]"'
    )
