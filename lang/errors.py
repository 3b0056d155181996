"""The project's one exception root, and load errors: every problem in a tree or scenario file is
reported as `file:line:col: path: message`.

MonerosimError
├── InputError          something the user gave is wrong: the CLIs exit 2
│   ├── LoadError       problems in a file, each with its line and column
│   └── UsageError      a bad command-line option or environment variable
└── (every other project error: the run could not go on; the CLIs exit 1)
"""
from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a tree file, with where it is (line 0: in a command-line option)."""

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        # line 0: a value given on the command line; `file` is the option that gave it
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class MonerosimError(Exception):
    """Root of every error the project raises on purpose; `exit_code` is what the CLIs return."""

    exit_code = 1
    # True when the message already says where, line by line: the CLIs print it without their name
    printed_as_is = False


class InputError(MonerosimError):
    """Something the user gave is wrong (CLI: exit code 2)."""

    exit_code = 2


class LoadError(InputError):
    """One or more problems that stop a tree from loading (CLI: exit code 2)."""

    printed_as_is = True

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(map(str, self.problems)))

    @classmethod
    def one(cls, file: str, line: int, col: int, path: str, message: str) -> "LoadError":
        return cls([Problem(file, line, col, path, message)])


class UsageError(InputError):
    """A bad command-line option or environment variable (CLI: exit code 2)."""


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest option, or '' when nothing is close."""
    options = list(options)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        lowered = {o.lower(): o for o in options}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return f" (did you mean {close[0]!r}?)" if close else ""


def kind_of(value: Any) -> str:
    """What a loaded value is, for messages: `nothing (null)`, `a boolean (true)`, `a mapping`,
    `a list`, `the number 1.5`, `the string 'abc'`."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return f"the string {brief(value)}"


def brief(value: Any) -> str:
    """`repr(value)`, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def exit_status(exc: MonerosimError, prog: str) -> int:
    """Say `exc` on stderr as every CLI does and return its exit code.

    A LoadError (or another error `printed_as_is`) is its lines as they are, e.g.
    `file:line:col: path: message`; anything else is one line after the program's name.
    """
    print(str(exc) if exc.printed_as_is else f"{prog}: {exc}", file=sys.stderr)
    return exc.exit_code
