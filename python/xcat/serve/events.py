"""A durable, append-only log of feedback events that ``xcat feedback --events`` reads.

The log is a CSV file with the header ``user,item,category,timestamp`` (the
columns :func:`xcat.workflow.read_events` reads). :meth:`EventLog.append`
returns only after the events' bytes are on disk (``fsync``), so a server
that answers 2xx after it has returned loses no acknowledged event to a
``kill -9`` or a power cut. Each call writes its lines with one ``write`` to
a file opened with ``O_APPEND``, under a thread lock and an exclusive
``flock``, so writers in several threads or processes never interleave or
drop lines; a write that fails part-way (a full disk) is cut back to the
last whole line before the error is raised.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import threading
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from xcat._atomic import fsync_dir

__all__ = ["EVENT_COLUMNS", "EventLog"]

#: The log's header, in order.
EVENT_COLUMNS = ("user", "item", "category", "timestamp")
_HEADER = (",".join(EVENT_COLUMNS) + "\n").encode()


class EventLog:
    """Append feedback events to a CSV file, durably.

    Parameters
    ----------
    path : str or pathlib.Path
        The log file. A new (or empty) file gets the header; an existing
        one must start with it. A last line without its newline (a write
        cut short by a crash, never acknowledged) is removed at open, with
        a :class:`RuntimeWarning` naming how many bytes.

    Attributes
    ----------
    path : pathlib.Path

    Raises
    ------
    ValueError
        Naming ``path``: a directory, or a file whose first line is not the
        header (nothing is written to it).
    OSError
        If the file cannot be opened for appending.

    Examples
    --------
    >>> log = EventLog(tmp / "events.csv")                     # doctest: +SKIP
    >>> log.append([{"user": "u1", "item": "i9", "category": "toys",
    ...              "timestamp": "2026-12-02T10:00:00+00:00"}])  # doctest: +SKIP
    1
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"path: {self.path} is a directory, expected an events file")
        self._lock = threading.Lock()
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            with self._locked():
                self._check_or_start()
        except BaseException:
            os.close(self._fd)
            raise

    def _locked(self) -> _Flock:
        return _Flock(self._lock, self._fd)

    def _check_or_start(self) -> None:
        size = os.fstat(self._fd).st_size
        if size == 0:
            self._write(_HEADER)
            fsync_dir(self.path.parent)  # the new file's directory entry, too
            return
        head = os.pread(self._fd, len(_HEADER), 0)
        if head != _HEADER:
            first = head.split(b"\n")[0][:80]
            raise ValueError(
                f"path: {self.path} is not an xcat events log: its first line is "
                f"{first!r}, expected {_HEADER.strip().decode()!r}"
            )
        last = os.pread(self._fd, 1, size - 1)
        if last != b"\n":
            # Find the end of the last whole line and cut the torn tail.
            pos, step = size, 4096
            while pos > 0:
                start = max(0, pos - step)
                chunk = os.pread(self._fd, pos - start, start)
                nl = chunk.rfind(b"\n")
                if nl >= 0:
                    cut = start + nl + 1
                    break
                pos = start
            else:  # pragma: no cover - the header ends with a newline
                cut = len(_HEADER)
            os.ftruncate(self._fd, cut)
            os.fsync(self._fd)
            warnings.warn(
                f"{self.path}: removed a torn last line of {size - cut} bytes "
                "(a write cut short by a crash; it was never acknowledged)",
                RuntimeWarning,
                stacklevel=3,
            )

    def _write(self, data: bytes) -> None:
        """Write ``data`` at the end and fsync; on failure cut back to the old end."""
        end = os.fstat(self._fd).st_size
        try:
            view = memoryview(data)
            while view:
                done = os.write(self._fd, view)
                view = view[done:]
            os.fsync(self._fd)
        except BaseException:
            os.ftruncate(self._fd, end)
            raise

    def append(self, events: Iterable[Mapping[str, Any]]) -> int:
        """Append events and return once they are on disk.

        Parameters
        ----------
        events : iterable of mapping
            Each with the keys of :data:`EVENT_COLUMNS` (``category`` and
            ``timestamp`` may be None: an empty field, a missing value for
            the reader). Values are written as text, quoted as CSV needs.

        Returns
        -------
        int
            Events written (all of them, or the call raises).

        Raises
        ------
        ValueError
            If an event lacks ``user`` or ``item`` (nothing is written).
        OSError
            If writing or syncing fails (a full disk); nothing of this call
            stays in the log.
        """
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        count = 0
        for i, event in enumerate(events):
            for key in ("user", "item"):
                if event.get(key) is None:
                    raise ValueError(f"events[{i}]: has no {key!r}")
            writer.writerow(["" if event.get(c) is None else event[c] for c in EVENT_COLUMNS])
            count += 1
        if count:
            with self._locked():
                self._write(buf.getvalue().encode())
        return count

    def close(self) -> None:
        """Close the file (appending afterwards raises ``OSError``)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Flock:
    """The thread lock, then an exclusive ``flock`` for other processes."""

    def __init__(self, lock: threading.Lock, fd: int) -> None:
        self._lock, self._fd = lock, fd

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()
