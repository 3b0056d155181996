"""Load errors: every problem in a tree file is reported as `file:line:col: path: message`."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a tree file, with where it is."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class LoadError(Exception):
    """One or more problems that stop a tree from loading (CLI: exit code 2)."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(map(str, self.problems)))

    @classmethod
    def one(cls, file: str, line: int, col: int, path: str, message: str) -> "LoadError":
        return cls([Problem(file, line, col, path, message)])


class UsageError(Exception):
    """A bad command-line option or environment variable (CLI: exit code 2)."""


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest option, or '' when nothing is close."""
    options = list(options)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        lowered = {o.lower(): o for o in options}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return f" (did you mean {close[0]!r}?)" if close else ""
