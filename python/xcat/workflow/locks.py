"""One writer at a time: the lock a workflow holds on a run or model directory while writing it.

Two ``xcat quickstart --out R`` (or two ``xcat feedback --out M``, or a
quickstart and an ``xcat evaluate`` of the same run) started together
would mix their files. Every workflow that writes a directory holds
:func:`writing` on it for the whole write; a second writer fails at once
with :class:`DirectoryBusyError` instead of waiting.

The lock is an OS file lock (:mod:`filelock`: ``flock`` on POSIX), so it
goes when its process does, even killed: a lock file left behind does not
block anyone. It lies beside the directory, as ``.<name>.lock`` in its
parent, so the directory holds only what the workflow writes, a run's
``models/`` lists only models (hidden names are skipped,
:meth:`~xcat.workflow.rundir.Run.model_names`), and a new run directory can
be locked before it exists. The lock file is not removed on release
(removing it would let a third process lock a new file while a second one
still holds the old one).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from xcat.workflow.errors import ArgumentError

__all__ = ["DirectoryBusyError", "lock_file", "writing"]


class DirectoryBusyError(ArgumentError):
    """Another process (or another call in this one) is writing the directory.

    An :class:`~xcat.workflow.errors.ArgumentError`, so the CLI shows it as
    a bad value of the option that names the directory.

    Attributes
    ----------
    argument : str
        The argument naming the directory (``"out"``, ``"run"``).
    message : str
    path : pathlib.Path
        The directory.
    """

    def __init__(self, argument: str, message: str, path: Path) -> None:
        super().__init__(argument, message)
        self.path = path


def lock_file(directory: str | Path) -> Path:
    """Return the lock file of ``directory``: ``.<name>.lock`` beside it.

    Parameters
    ----------
    directory : str or pathlib.Path
        A run or model directory; it need not exist. Symbolic links and
        ``..`` are resolved, so every path to one directory has one lock.

    Returns
    -------
    pathlib.Path
        Absolute.
    """
    d = Path(directory).resolve()
    if not d.name:  # the file system root: nothing beside it
        return d / ".xcat.lock"
    return d.parent / f".{d.name}.lock"


@contextmanager
def writing(directory: str | Path, argument: str = "out") -> Iterator[Path]:
    """Hold the exclusive write lock of ``directory`` for the ``with`` block.

    The lock is released when the block ends, by an exception too. It is
    not re-entrant: taking it again while held, in this process or another,
    fails.

    Parameters
    ----------
    directory : str or pathlib.Path
        The directory about to be written (created or not); its parent is
        created if missing, to hold the lock file (:func:`lock_file`).
    argument : str, default "out"
        The argument (CLI option) that names ``directory``, for the error.

    Yields
    ------
    pathlib.Path
        The lock file.

    Raises
    ------
    DirectoryBusyError
        (``argument``) At once, without waiting, if another xcat process
        holds the lock.
    ArgumentError
        (``argument``) If the lock file cannot be created (e.g. a read-only
        parent folder).
    """
    from filelock import FileLock, Timeout

    path = lock_file(directory)
    lock = FileLock(path, timeout=0)  # timeout 0: fail at once, never wait
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:
        raise DirectoryBusyError(
            argument,
            f"{directory}: another xcat process is writing this directory (it holds the lock "
            f"{path}); wait for it to finish, or choose another --{argument}",
            Path(directory),
        ) from None
    except OSError as e:
        raise ArgumentError(
            argument, f"{directory}: cannot create its lock file {path} ({e.strerror or e})"
        ) from e
    try:
        yield path
    finally:
        lock.release()
