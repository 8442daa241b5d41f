"""Errors that tell the user where the bad input is and what to do about it."""

from __future__ import annotations


class VocError(Exception):
    """Base class for every error voc raises on purpose."""


class InputError(VocError, ValueError):
    """Bad user input: names the file, the line (when known), the problem and the fix."""

    def __init__(self, path: str | None, line: int | None, problem: str, fix: str) -> None:
        self.path, self.line, self.problem, self.fix = path, line, problem, fix
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {problem}. Fix: {fix}")


class TaxonomyError(InputError):
    """The taxonomy CSV is malformed."""


class CommentError(InputError):
    """A comment record is malformed or uses labels outside the taxonomy."""


class MMLUError(InputError):
    """An MMLU source is incomplete or malformed."""


class ParamsError(InputError):
    """params.yaml holds a value the pipeline cannot use."""


class AssetHashError(VocError):
    """A downloaded asset does not match its pinned sha256."""

    def __init__(self, path: str, expected: str, actual: str) -> None:
        self.path, self.expected, self.actual = path, expected, actual
        super().__init__(
            f"{path}: sha256 mismatch: expected {expected}, got {actual}. "
            "Fix: re-download it, or if you changed the source on purpose, update the pinned hash in params.yaml."
        )


class UnsafeModelError(VocError):
    """A model directory holds pickled weights and the user did not allow them."""
