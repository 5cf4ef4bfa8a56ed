"""Errors raised by asc-evidence: one base class, subclasses that carry their context."""

from __future__ import annotations


class AscEvidenceError(Exception):
    """Base class for every error this package raises on purpose."""


class ConfigError(AscEvidenceError, ValueError):
    """A setting (environment variable or config file) is invalid."""


class UnknownDatasetError(AscEvidenceError, KeyError):
    """A registry key that the registry does not list."""

    def __str__(self) -> str:  # KeyError would otherwise quote the whole message
        return str(self.args[0])


class MissingFileError(AscEvidenceError, FileNotFoundError):
    """An official file is in neither the mirror nor the cache and cannot be downloaded."""


class ChecksumError(AscEvidenceError, ValueError):
    """A file's sha256 differs from the registry: the file is not used."""


class SchemaChangedError(AscEvidenceError, ValueError):
    """A release's columns differ from those the parser was written for."""

    def __init__(self, file: str, expected: list[str], found: list[str]) -> None:
        missing = [c for c in expected if c not in found]
        extra = [c for c in found if c not in expected]
        msg = (
            f"{file}: the columns have changed, so it cannot be parsed safely.\n"
            f"  expected: {expected}\n  found:    {found}\n"
            f"  missing:  {missing}\n  unexpected: {extra}"
        )
        super().__init__(msg)
        self.file, self.expected, self.found = file, expected, found

    def __reduce__(self) -> tuple[type, tuple[str, list[str], list[str]]]:
        # rebuilt from its fields when a build worker process sends it back
        return type(self), (self.file, self.expected, self.found)


class UnknownCouncilError(AscEvidenceError, KeyError):
    """A council name or code that the register does not know; carries close suggestions."""

    def __init__(self, query: str, suggestions: list[str]) -> None:
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(
            f"Unknown council {query!r}.{hint} (`asc-evidence councils` lists them all.)"
        )
        self.query, self.suggestions = query, suggestions

    def __reduce__(self) -> tuple[type, tuple[str, list[str]]]:
        return type(self), (self.query, self.suggestions)

    def __str__(self) -> str:
        return str(self.args[0])


class DataNotBuiltError(AscEvidenceError, FileNotFoundError):
    """A processed table was asked for before `asc-evidence data build` made it."""


class UnsafeNameError(AscEvidenceError, ValueError):
    """An output name that could escape its folder or is not a plain file name."""


class NeighbourFileError(AscEvidenceError, ValueError):
    """A user-supplied neighbour list that cannot be used (bad layout or unknown codes)."""


class UserInputError(AscEvidenceError, ValueError):
    """Bad user input found before any work starts: says what, what was expected, what was found
    and what to do, in one paragraph."""

    def __init__(self, what: str, expected: str, found: str, todo: str) -> None:
        super().__init__(f"{what}: expected {expected}; found {found}. {todo}")
        self.what, self.expected, self.found, self.todo = what, expected, found, todo

    def __reduce__(self) -> tuple[type, tuple[str, str, str, str]]:
        return type(self), (self.what, self.expected, self.found, self.todo)


class InvalidYearError(UserInputError):
    """A ``--year`` that is not a financial year the processed tables hold."""


class AbolishedCouncilError(UserInputError):
    """A council that no longer exists; the message names its successor(s)."""


class InvalidOptionError(UserInputError):
    """A numeric or path option outside its valid range (e.g. ``--neighbours``, ``--out``)."""


class UnknownTableError(AscEvidenceError, KeyError):
    """A processed-table name (``data build --only``) that no source module defines."""

    def __str__(self) -> str:
        return str(self.args[0])


class ReportFailedError(AscEvidenceError, RuntimeError):
    """A report run failed after the inputs were accepted; any previous report is left unchanged."""
