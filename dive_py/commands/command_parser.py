"""Provides :class:`CommandParser`: argparse for the subcommands, with divepy's error lines.

argparse prints usage and exits 2 on a bad argument, in its own words ("unrecognized
arguments: --jsn el:2", "invalid choice: 'inf' (choose from 'info', 'clear')"). Here the
error is a :class:`~dive_py.errors.UsageError` (one line, exit 2) that names the mistyped flag
or word alone, with the closest valid one (:func:`~dive_py.commands.suggestions.closest`), as
the main command does.
"""

from __future__ import annotations

import argparse
import re
from typing import Any, NoReturn

from dive_py.commands.suggestions import closest
from dive_py.errors import UsageError

_UNRECOGNIZED = re.compile(r"unrecognized arguments: (.*)")
_CHOICE = re.compile(r"argument (\S+): invalid choice: '(.*?)' \(choose from (.*)\)")
_REQUIRED = re.compile(r"the following arguments are required: (.*)")


class CommandParser(argparse.ArgumentParser):
    """An argparse parser whose errors are :class:`UsageError` in divepy's words.

    Args:
        hint: what an error line suggests (default: the command's ``--help``); other
            arguments as for :class:`argparse.ArgumentParser`.
    """

    def __init__(self, *args: Any, hint: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hint = hint or f"see '{self.prog} --help'"

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.reword(message), self.hint)

    def reword(self, message: str) -> str:
        """argparse's ``message`` as the line divepy prints after ``divepy: ``."""
        found = _UNRECOGNIZED.match(message)
        if found:
            tokens = found.group(1).split()
            flags = [token.partition("=")[0] for token in tokens if token.startswith("-")]
            if flags:
                options = [flag for action in self._actions for flag in action.option_strings]
                suggestion = closest(flags[0], options)
                hint = f" (did you mean {suggestion}?)" if suggestion else ""
                return f"unknown flag {flags[0]} for '{self.prog}'{hint}"
            return f"unexpected argument {tokens[0]!r} for '{self.prog}'"
        found = _CHOICE.match(message)
        if found:
            value, choices = found.group(2), re.findall(r"'([^']*)'", found.group(3))
            suggestion = closest(value, choices)
            hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
            return (
                f"unknown {found.group(1)} {value!r} for '{self.prog}'{hint}; "
                f"one of: {', '.join(choices)}"
            )
        found = _REQUIRED.match(message)
        if found:
            return f"'{self.prog}' needs {found.group(1)}"
        return f"'{self.prog}': {message}"
