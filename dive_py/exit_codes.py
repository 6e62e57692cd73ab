"""Provides the documented process exit codes of the ``divepy`` command."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses of ``divepy``; the README's "Exit codes" table lists the same values.

    dive 0.13.1 exits 1 for every failure; divepy keeps 1 for "a CI rule failed" so that
    pipelines testing for non-zero behave the same, and gives every other failure its own code.
    """

    OK = 0
    """Success: the analysis ran (and, in CI mode, every rule passed)."""
    RULE_FAILED = 1
    """CI mode: at least one rule failed."""
    USAGE = 2
    """Bad command line, bad flag value or misconfigured CI rules."""
    IMAGE_UNREADABLE = 3
    """The image could not be read: not found, pull failed, engine unreachable, corrupt archive."""
    OUTPUT_FAILED = 4
    """An output file (``--json``, ``--junit``) could not be written."""
    INTERNAL = 70
    """An unexpected internal error (a bug; ``--debug`` shows the traceback). BSD ``EX_SOFTWARE``."""
    INTERRUPTED = 130
    """Interrupted by Ctrl+C (128 + SIGINT)."""
    TERMINATED = 143
    """Stopped by SIGTERM (128 + 15), e.g. a cancelled CI job."""
