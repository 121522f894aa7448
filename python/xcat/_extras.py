"""Optional dependencies: which extra installs which module, and the error that says so.

``import xcat`` needs NumPy only; training, transfer, model files and the
report's plot need the ``train`` extra (PyTorch, safetensors, tqdm,
matplotlib); ``xcat serve`` needs the ``serve`` extra (FastAPI, uvicorn).
Where such a module is missing, :func:`requires_extra` turns Python's bare
``ModuleNotFoundError`` into a :class:`MissingExtraError` whose one-line
message names the extra to install. This module imports nothing
of xcat, so every layer may use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["EXTRA_MODULES", "MissingExtraError", "missing_extra", "requires_extra"]

#: Top-level module -> (the extra that installs it, what to call it in a message).
EXTRA_MODULES: dict[str, tuple[str, str]] = {
    "torch": ("train", "PyTorch"),
    "safetensors": ("train", "safetensors"),
    "tqdm": ("train", "tqdm"),
    "matplotlib": ("train", "matplotlib"),
    "fastapi": ("serve", "FastAPI"),
    "uvicorn": ("serve", "uvicorn"),
}


class MissingExtraError(ModuleNotFoundError):
    """A module of an optional extra of xcat is not installed.

    A :class:`ModuleNotFoundError` (so an :class:`ImportError`): callers
    that catch those still do. The message is one line naming the extra, e.g.
    ``xcat.load needs PyTorch (module 'torch' is not installed): pip install
    "xcat[train]"``.

    Parameters
    ----------
    what : str
        What needs the module, e.g. ``"xcat.load"``, ``"xcat quickstart"``.
    module : str
        The missing top-level module, a key of :data:`EXTRA_MODULES`.

    Attributes
    ----------
    name : str
        ``module`` (as :class:`ImportError` has it).
    extra : str
        The extra that installs it, e.g. ``"train"``.
    """

    def __init__(self, what: str, module: str) -> None:
        extra, label = EXTRA_MODULES[module]
        super().__init__(
            f"{what} needs {label} (module {module!r} is not installed): "
            f'pip install "xcat[{extra}]"',
            name=module,
        )
        self.extra = extra


def missing_extra(error: BaseException, what: str) -> MissingExtraError | None:
    """Return the :class:`MissingExtraError` that ``error`` stands for, or None.

    Parameters
    ----------
    error : BaseException
        Any exception; only a :class:`ModuleNotFoundError` for a module of
        :data:`EXTRA_MODULES` (or one of its submodules) qualifies. Other
        import failures (an installed but broken PyTorch, a typo in our
        own imports) are not a missing extra and give None.
    what : str
        What needs the module, for the message.

    Returns
    -------
    MissingExtraError or None
        Not chained; the caller raises it ``from error``.
    """
    if not isinstance(error, ModuleNotFoundError) or not error.name:
        return None
    module = error.name.split(".")[0]
    return MissingExtraError(what, module) if module in EXTRA_MODULES else None


@contextmanager
def requires_extra(what: str) -> Iterator[None]:
    """Run the block; a missing module of an extra becomes a :class:`MissingExtraError`.

    Parameters
    ----------
    what : str
        What needs the extra, for the message (e.g. ``"xcat.load"``).

    Raises
    ------
    MissingExtraError
        Chained from the original ``ModuleNotFoundError``, when the block
        fails to import a module of :data:`EXTRA_MODULES`; every other
        exception passes through unchanged.
    """
    try:
        yield
    except ModuleNotFoundError as e:
        friendly = missing_extra(e, what)
        if friendly is None:
            raise
        raise friendly from e
