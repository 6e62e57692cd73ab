"""Provides :class:`ProgressListener`: how sources report pulling, saving and reading an image.

The domain never prints: the CLI passes a listener that draws on stderr, the TUI one that
updates its loading screen, tests one that records. Every method is optional to override.
"""

from __future__ import annotations


class ProgressListener:
    """Receives progress events; the base class ignores them all."""

    def message(self, text: str) -> None:
        """A phase started (``"Pulling python-hello-world"``, ``"Reading image"``)."""

    def pull(self, layer: str, status: str, current: int, total: int) -> None:
        """A pull progress line for one layer: bytes ``current`` of ``total`` (0 = unknown)."""

    def waiting(self, what: str) -> None:
        """The source waits before the first byte comes (``"the engine to export the image"``);
        the next :meth:`read` ends the wait."""

    def expect(self, total_bytes: int, total_layers: int) -> None:
        """What the read will take, when known before it starts: ``total_bytes`` (bytes of the
        archive or export stream, approximate for an engine: its image size; 0 = unknown) and
        ``total_layers`` (0 = unknown). It may come again with better figures (a source that
        learns the layer count from a manifest); each call replaces the last."""

    def read(self, bytes_read: int, layers_read: int) -> None:
        """Archive bytes read so far and layers parsed so far."""

    def done(self) -> None:
        """The image was read completely."""
