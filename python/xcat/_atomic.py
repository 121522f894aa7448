"""Replace a directory of files in one step: a synced temporary sibling, swapped into place.

The one implementation of the durable saves of :func:`xcat.models.save`
and :meth:`xcat.recommend.Recommender.save`; it imports no PyTorch and
nothing of xcat's layers, so that every layer can use it.
:func:`replace_dir` writes the new directory into a temporary sibling
``.<name>.xcat-tmp-<random>`` (same parent, so same filesystem), the
writer syncing each file and writing its marker file last; the directory
is synced, then swapped with the old one in one step (Linux
``renameat2(RENAME_EXCHANGE)``; elsewhere, or where the filesystem lacks
it, two renames, the old directory kept as ``.<name>.xcat-old-<random>``
until the new one is in place) and the old one deleted. A process killed
at any point leaves at ``path`` either the previous directory or the new
one, complete.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Collection
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "OLD_TAG",
    "TMP_TAG",
    "backups",
    "check_saved_dir",
    "current_umask",
    "fsync_dir",
    "fsync_file",
    "marker_check",
    "replace_dir",
    "unfinished",
    "write_npy",
    "write_text",
]

#: Infixes of the sibling directories of an unfinished replacement (".<name><tag><random>").
TMP_TAG = ".xcat-tmp-"
OLD_TAG = ".xcat-old-"
#: Characters of the directory's name kept in a sibling's name (NAME_MAX is 255 bytes).
_NAME_KEEP = 100


def fsync_file(path: Path) -> None:
    """Flush a file's content to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make a directory's entries (new names, renames) durable; POSIX only."""
    if os.name != "posix":  # pragma: no cover - Windows cannot open a directory
        return
    fsync_file(path)


def write_text(path: Path, text: str) -> None:
    """Write a new text file (UTF-8) and sync it; refuses an existing path."""
    # "x": a fresh file in a fresh directory, never through an existing link
    with open(path, "x", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def write_npy(path: Path, array: np.ndarray) -> None:
    """Write a new ``.npy`` file (no pickle) and sync it; refuses an existing path."""
    with open(path, "xb") as fh:
        np.save(fh, array, allow_pickle=False)
        fh.flush()
        os.fsync(fh.fileno())


def current_umask() -> int:
    """Return the process's umask (the permission bits new files do not get)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _discard(path: Path) -> None:
    """Delete a directory of this module's own making (a temporary one, or the replaced one)."""
    shutil.rmtree(path, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux ``renameat2``); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):  # pragma: no cover - glibc < 2.28, musl
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # kernel or filesystem lacks it
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _sibling(d: Path, tag: str) -> Path:
    return d.parent / f".{d.name[:_NAME_KEEP]}{tag}{secrets.token_hex(4)}"


def unfinished(d: Path, what: str) -> str | None:
    """Why ``d`` is a sibling left by an interrupted :func:`replace_dir`, or None.

    Parameters
    ----------
    d : pathlib.Path
    what : str
        What the directories hold, for the message (``"recommender"``).
    """
    name = d.name
    if not name.startswith("."):
        return None
    if TMP_TAG in name:
        return (
            f"{d} is the temporary directory of an interrupted xcat save, not a {what} (a save "
            f"puts a {what} at its path only once it is complete); delete it"
        )
    if OLD_TAG in name:
        original = name[1 : name.rindex(OLD_TAG)]
        return (
            f"{d} is the previous {what} kept by an interrupted xcat save of "
            f"{d.parent / original}; if that directory is missing, rename this one to it, else "
            "delete this one"
        )
    return None


def backups(d: Path) -> list[Path]:
    """Return the previous versions of ``d`` an interrupted :func:`replace_dir` kept, sorted."""
    if not d.name:
        return []
    return sorted(d.parent.glob(f".{glob_escape(d.name[:_NAME_KEEP])}{OLD_TAG}*"))


def marker_check(marker: str, formats: Collection[str]) -> Callable[[Path], str | None]:
    """Return a ``why_not_ours`` for :func:`replace_dir` that reads a JSON marker file.

    Parameters
    ----------
    marker : str
        The name of the JSON file a complete directory holds
        (``"recommender.json"``).
    formats : collection of str
        The values of its ``"format"`` key that make the directory ours.

    Returns
    -------
    callable
        ``check(d)``: None when ``d / marker`` is a JSON object whose
        ``"format"`` is one of ``formats``, else why not (the marker is
        missing, not readable JSON, or of another format).
    """
    accepted = sorted(formats)
    expected = repr(accepted[0]) if len(accepted) == 1 else f"one of {accepted}"

    def check(d: Path) -> str | None:
        f = d / marker
        if not f.is_file():
            return f"{marker} is missing"
        try:
            meta = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            return f"{marker} is not readable JSON ({e})"
        fmt = meta.get("format") if isinstance(meta, dict) else None
        # a list, not a set: an unhashable "format" (a garbled file) is "another format" too
        return None if fmt in accepted else f"{marker} has format {fmt!r}, not {expected}"

    return check


def read_json(f: Path, what: str) -> Any:
    """Parse the JSON metadata file ``f`` of a saved ``what`` (``"model"``, ``"recommender"``).

    Raises
    ------
    ValueError
        ``"<f>: not an xcat <what> (not valid JSON: ...)"``.
    """
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{f}: not an xcat {what} (not valid JSON: {e})") from None


def check_saved_dir(d: Path, what: str) -> None:
    """Refuse ``d`` unless it is a directory a :func:`replace_dir` save may have left there.

    Parameters
    ----------
    d : pathlib.Path
        The directory about to be read.
    what : str
        What the directories hold, for the messages (``"recommender"``).

    Raises
    ------
    ValueError
        If ``d`` is the temporary or backup sibling of an interrupted save
        (see :func:`unfinished`).
    FileNotFoundError
        If ``d`` is not a directory; when an interrupted save kept the
        previous version beside it (see :func:`backups`), the message names
        that backup and how to restore it.
    """
    why = unfinished(d, what)
    if why is not None:
        raise ValueError(why)
    if not d.is_dir():
        kept = backups(d)
        if kept:
            raise FileNotFoundError(
                f"{d}: no such {what} directory; an interrupted save kept the previous {what} "
                f"as {kept[-1]}: rename it to {d} to use it"
            )
        raise FileNotFoundError(f"{d}: no such {what} directory")


def _target_dir(path: Path, why_not_ours: Callable[[Path], str | None], what: str) -> Path:
    """Return the directory :func:`replace_dir` replaces, checked: new, empty or ours."""
    if path.is_symlink() and not path.exists():
        raise ValueError(f"path: {path} is a link to {os.readlink(path)}, which does not exist")
    # a link is kept and what it points to replaced; "." and ".." need a name to rename
    d = path.resolve() if path.is_symlink() or path.name in ("", ".", "..") else path
    if d.exists() and not d.is_dir():
        raise ValueError(f"path: {path} exists and is not a directory")
    if d.is_dir():
        entries = sorted(e.name for e in os.scandir(d))
        why = why_not_ours(d) if entries else None
        if why is not None:
            shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
            raise ValueError(
                f"path: {path} is not an xcat {what} directory ({why}; it holds "
                f"{len(entries)} entries: {shown}); save replaces only a saved {what} or an "
                "empty directory, so nothing was written: choose another path"
            )
    return d


def _carry(src: Path, dst: Path, own: Collection[str]) -> None:
    """Bring the entries of the old directory that are not in ``own`` into the new one.

    Files are hard-linked where the filesystem allows (no copy), else
    copied and synced; links are copied as links, never followed.
    """

    def link_or_copy(a: str, b: str) -> None:
        try:
            os.link(a, b, follow_symlinks=False)
        except OSError:
            shutil.copy2(a, b, follow_symlinks=False)
            if not os.path.islink(b):
                fsync_file(Path(b))

    for entry in os.scandir(src):
        if entry.name in own:
            continue
        target = dst / entry.name
        if entry.is_dir(follow_symlinks=False):
            shutil.copytree(entry.path, target, symlinks=True, copy_function=link_or_copy)
        else:
            link_or_copy(entry.path, str(target))


def replace_dir(
    path: str | Path,
    write: Callable[[Path], Any],
    *,
    why_not_ours: Callable[[Path], str | None],
    own: Collection[str],
    what: str,
) -> Path:
    """Write a directory with ``write(new_dir)`` and put it at ``path`` in one step.

    Parameters
    ----------
    path : str or pathlib.Path
        The directory: new (its parents are created), empty, or one that
        ``why_not_ours`` accepts, replaced as a whole. A symbolic link to a
        directory is followed (the link stays).
    write : callable
        Fills the new, empty directory it is given; it syncs its files (and
        the subdirectories it makes) and writes its marker file (the one
        that makes a directory complete) last. The directory itself is
        synced afterwards by ``replace_dir``.
    why_not_ours : callable
        ``why_not_ours(d)`` is None when the non-empty directory ``d`` is
        one this writer may replace, else the reason it is not.
    own : collection of str
        The names ``write`` makes; other entries of the old directory (a
        user's notes) are carried over to the new one.
    what : str
        What the directory holds, for messages (``"recommender"``).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        If ``path`` is a file, a dangling link, or a non-empty directory
        that ``why_not_ours`` refuses (left as it was).
    OSError
        If writing fails (a full disk); the previous directory at ``path``
        is then intact and the temporary one removed.
    """
    d = _target_dir(Path(path), why_not_ours, what)
    d.parent.mkdir(parents=True, exist_ok=True)
    old_exists = d.is_dir()
    new = Path(tempfile.mkdtemp(prefix=f".{d.name[:_NAME_KEEP]}{TMP_TAG}", dir=d.parent))
    swapped = False
    leftover: Path | None = None
    try:
        if old_exists:
            _carry(d, new, own)
        write(new)
        fsync_dir(new)
        # mkdtemp makes 0700; keep the old directory's mode, or what mkdir would give
        new.chmod(stat.S_IMODE(d.stat().st_mode) if old_exists else 0o777 & ~current_umask())
        if not old_exists:
            # fails, leaving what is there, if another process made a non-empty d meanwhile
            os.rename(new, d)
            swapped = True
        elif _exchange(new, d):
            swapped, leftover = True, new  # `new` now holds the previous directory
        else:
            # two renames; the previous directory stays beside `d` until the new one is in place
            leftover = _sibling(d, OLD_TAG)
            os.rename(d, leftover)
            try:
                os.rename(new, d)
            except BaseException:
                os.rename(leftover, d)
                raise
            swapped = True
        try:
            fsync_dir(d.parent)
        finally:
            if leftover is not None:
                _discard(leftover)
    except BaseException:
        if not swapped:
            _discard(new)
        raise
    return Path(path)
