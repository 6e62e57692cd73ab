"""Provides :func:`escape_text`: make untrusted text (file names, commands) safe to print on one line.

A file name in an image may hold any byte but ``/`` and NUL: newlines, ESC sequences that would
drive the terminal, bytes that are not UTF-8. Shown text escapes them the way Python's
``repr`` does (``\\n``, ``\\x1b``) and shows a non-UTF-8 byte (kept as a lone surrogate by
``surrogateescape`` decoding) as ``\\xNN`` — never as a lossy U+FFFD.

It imports nothing of divepy and sits at the bottom of the package, beside
:mod:`dive_py.errors` (whose one-line messages it escapes); the CLI, CI mode and the explorer
use it too.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\udc80-\udcff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def escape_text(text: str) -> str:
    """Return ``text`` with control characters and non-UTF-8 bytes escaped (one printable line).

    Ordinary text, including non-ASCII letters, is returned unchanged.
    """
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape, text)
