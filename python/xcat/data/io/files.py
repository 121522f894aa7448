"""Opening input files: existence checks and transparent decompression."""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path
from typing import IO

__all__ = ["COMPRESSION_SUFFIXES", "check_file", "open_text", "strip_compression"]

#: File suffixes read as compressed (pandas infers the codec from them too).
COMPRESSION_SUFFIXES: tuple[str, ...] = (".gz", ".bz2", ".xz", ".zip", ".zst")


def strip_compression(name: str) -> str:
    """``name`` without a compression suffix (``"a.csv.gz"`` -> ``"a.csv"``), case kept."""
    for ext in COMPRESSION_SUFFIXES:
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


def open_text(path: Path, encoding: str = "utf-8") -> IO[str]:
    """Open a possibly compressed text file; universal newlines (CRLF safe).

    Raises
    ------
    ValueError
        For ``.zip`` and ``.zst`` files, which cannot be read line by line.
    """
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rt", encoding=encoding)
    if name.endswith(".bz2"):
        return bz2.open(path, "rt", encoding=encoding)
    if name.endswith(".xz"):
        return lzma.open(path, "rt", encoding=encoding)
    if name.endswith((".zip", ".zst")):
        raise ValueError(
            f"{path}: line-by-line reading of {name.rsplit('.', 1)[1]} files is not "
            "supported; decompress it or use .gz"
        )
    return open(path, encoding=encoding)  # noqa: SIM115


def check_file(path: str | Path) -> Path:
    """``path`` as a Path.

    Raises
    ------
    FileNotFoundError
        If nothing exists at ``path`` (file or folder).
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such file or directory: {p}")
    return p
