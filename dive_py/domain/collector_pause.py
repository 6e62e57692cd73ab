"""Provides :func:`collector_paused`: pause Python's cyclic garbage collector for a block.

Reading a layer or stacking a tree allocates one object per tar entry and creates no
reference cycles, yet every few thousand allocations the collector rescans all live objects:
about a tenth of the reading time at 200,000 entries (bench/README.md), and pauses of up to a
few hundred milliseconds in the explorer. Big results are then moved to the permanent
generation (``gc.freeze``), so later collections skip them. Both calls affect the whole
process.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused(freeze: bool = False) -> Iterator[None]:
    """Disable the cyclic collector for the block, then restore it as it was.

    Args:
        freeze: when the block ends (normally or not), move every live object to the
            permanent generation (``gc.freeze``): for a result that lives as long as the
            process, such as a whole analysis.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        if freeze:
            gc.freeze()
