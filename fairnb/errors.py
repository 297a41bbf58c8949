"""Errors that name what was wrong, the value given and what is allowed."""

from __future__ import annotations

from typing import Any, Iterable


class FairnbError(Exception):
    """Base class of every error fairnb raises on purpose."""


class ParameterError(FairnbError, ValueError):
    """A parameter has a bad name, type or value.

    The message is one line: ``parameter <name>=<value!r>: <problem>; allowed: <allowed>``.
    """

    def __init__(self, name: str, value: Any, allowed: str, problem: str = "not allowed"):
        self.name, self.value, self.allowed = name, value, allowed
        super().__init__(f"parameter {name}={value!r}: {problem}; allowed: {allowed}")


class DataNotFoundError(FairnbError, FileNotFoundError):
    """A dataset file that cannot be shipped is missing; the message says where to get it."""


class DataIntegrityError(FairnbError, ValueError):
    """A data file exists but is damaged or not what it should be (checksum, format, schema, types, row count);
    the message names the file and the check that failed."""


class RunStoreError(FairnbError, OSError):
    """The run store (executed pages, results records, failed runs) cannot be written, or holds no runs yet;
    the message names the folder and the reason."""


class TrainingDivergedError(FairnbError, FloatingPointError):
    """A loss became NaN or infinite; the message names the step and the loss."""


def one_of(values: Iterable[Any]) -> str:
    """Format allowed values for an error message: ``one of a, b, c``."""
    return "one of " + ", ".join(str(v) for v in values)
