"""Provides :func:`closest`: the valid word a mistyped flag or command most likely meant."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.75
"""difflib's similarity ratio a candidate needs (0..1) to be suggested."""


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate most similar to ``word``, case ignored, or None when none is close.

    A word that begins a candidate (an abbreviation, which divepy does not accept: ``--lowest``)
    gets the first such candidate; otherwise similarity is :class:`difflib.SequenceMatcher`'s
    ratio, at least :data:`CUTOFF` (``--lowestEfficency`` -> ``--lowestEfficiency``, ``biuld``
    -> ``build``; ``--secret`` gets nothing). The candidate is returned as spelled in
    ``candidates``.
    """
    lowered = {candidate.lower(): candidate for candidate in candidates}
    stripped = word.lower().lstrip("-")
    if len(stripped) >= 2:
        for lower, candidate in lowered.items():
            if lower.startswith(word.lower()) and lower != word.lower():
                return candidate
    matches = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=CUTOFF)
    return lowered[matches[0]] if matches else None
