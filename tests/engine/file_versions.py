"""The sample of file versions the engine and podman content tests read back and compare."""

from __future__ import annotations

from dive_py.domain.analysis import Analysis
from dive_py.domain.entry import EntryType
from dive_py.domain.file_content import FileVersion, locate_version

PER_LAYER = 4
"""Regular, non-empty files taken from each layer."""


def sample_versions(analysis: Analysis) -> list[FileVersion]:
    """Return the versions of the first :data:`PER_LAYER` non-empty regular files of every
    layer, bottom layer first (each located in ``analysis`` at its own layer)."""
    out = []
    for layer in analysis.image.layers:
        files = [e for e in layer.contents.entries.values() if e.type is EntryType.FILE and e.size][
            :PER_LAYER
        ]
        for entry in files:
            out.append(locate_version(analysis, layer.index, entry.path))
    return out
