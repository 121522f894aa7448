"""The error a workflow raises for a bad argument, naming the argument."""

from __future__ import annotations

__all__ = ["ArgumentError"]


class ArgumentError(ValueError):
    """One argument of a workflow call is invalid (a path, a name, a combination).

    A :class:`ValueError`, so callers that catch ``ValueError`` still do; the
    CLI shows it as an invalid value of the option ``--<argument>`` (the
    workflows name their arguments as the CLI names its options), or, without
    an argument, as a usage error.

    Parameters
    ----------
    argument : str or None
        The argument at fault, e.g. ``"out"``, ``"run"``, ``"model"``,
        ``"events"``, ``"strategy"``, ``"freeze"``, ``"data"``; None when
        arguments do not go together (e.g. ``dedup`` with a saved table).
    message : str
        What is wrong; ``str(error)`` is this message.

    Attributes
    ----------
    argument : str or None
    message : str
    """

    def __init__(self, argument: str | None, message: str) -> None:
        super().__init__(message)
        self.argument = argument
        self.message = message
