"""Provides divepy's exception hierarchy: every expected failure carries its exit code and a hint.

An error holds its text as written (image names, paths, engine messages may hold any
character); :meth:`DivepyError.one_line` escapes it for printing. The escaping lives in
:mod:`dive_py.display_text`, beside this module at the bottom of the package, so errors never
reach up into the domain.
"""

from __future__ import annotations

from dive_py.display_text import escape_text
from dive_py.exit_codes import ExitCode


class DivepyError(Exception):
    """An expected failure, reported to the user as one line on stderr.

    Args:
        message: what went wrong, naming the thing (image, file, endpoint).
        hint: what the user can do about it; appended after " - " in the one-line report.

    Attributes:
        exit_code: the process exit status (an :class:`ExitCode`) the CLI uses for it.
    """

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """Return ``"message - hint"`` with control characters escaped, never spanning lines."""
        text = f"{self.message} - {self.hint}" if self.hint else self.message
        return escape_text(text)


class UsageError(DivepyError):
    """A bad command line or flag value (exit 2)."""

    exit_code = ExitCode.USAGE


class ImageError(DivepyError):
    """The image could not be obtained or read (exit 3)."""

    exit_code = ExitCode.IMAGE_UNREADABLE


class ImageNotFoundError(ImageError):
    """The named image is not in the local store and could not be pulled (exit 3)."""


class EngineUnreachableError(ImageError):
    """The container engine's API endpoint did not answer (exit 3)."""


class ArchiveError(ImageError):
    """An image archive or layer is corrupt, truncated or not an image at all (exit 3)."""


class PlatformError(ImageError):
    """No single platform could be chosen in a multi-platform image (exit 3)."""


class PlatformMissingError(PlatformError):
    """The image has no variant for the wanted platform, or its content is missing (exit 3).

    Args:
        message: what went wrong (says where: "in the archive").
        hint: what the user can do.
        wanted: the platform asked for (``"linux/arm64"``).
        available: the platforms whose content is complete, sorted.
        incomplete: the platforms the image lists but whose blobs are missing, sorted.
    """

    def __init__(
        self,
        message: str,
        hint: str,
        *,
        wanted: str,
        available: list[str],
        incomplete: list[str],
    ) -> None:
        super().__init__(message, hint)
        self.wanted = wanted
        self.available = available
        self.incomplete = incomplete


class OutputError(DivepyError):
    """An output file could not be written (exit 4)."""

    exit_code = ExitCode.OUTPUT_FAILED
