"""Provides :class:`LoadingScreen` and :class:`LoadProgress`: progress while the image is read."""

from __future__ import annotations

import threading

import humanize
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, LoadingIndicator, Static

from dive_py.display_text import escape_text
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.progress import ProgressListener


class LoadProgress(ProgressListener):
    """Collects progress events from the loading thread; the screen polls it (no cross-thread calls)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: list[str] = []
        self.pulls: dict[str, str] = {}
        self.bytes_read = 0
        self.layers_read = 0
        self.finished = False
        self.version = 0

    def message(self, text: str) -> None:
        with self._lock:
            self.messages.append(escape_text(text))
            self.version += 1

    def pull(self, layer: str, status: str, current: int, total: int) -> None:
        if not layer:
            return
        text = status if not total else f"{status} {format_bytes(current)} / {format_bytes(total)}"
        with self._lock:
            self.pulls[escape_text(layer[:12])] = escape_text(text)
            self.version += 1

    def read(self, bytes_read: int, layers_read: int) -> None:
        with self._lock:
            self.bytes_read, self.layers_read = bytes_read, layers_read
            self.version += 1

    def done(self) -> None:
        with self._lock:
            self.finished = True
            self.version += 1

    def render(self, image_name: str) -> Text:
        """Return the progress as text."""
        with self._lock:
            text = Text()
            text.append(f"Opening {escape_text(image_name)}\n\n", style="bold")
            for line in self.messages[-6:]:
                text.append(f"{line}\n")
            for layer, status in list(self.pulls.items())[-12:]:
                text.append(f"  {layer}: {status}\n")
            layers = humanize.intcomma(self.layers_read)
            text.append(f"\nRead {format_bytes(self.bytes_read)}, {layers} layers")
            if self.finished:
                text.append("\nAnalysing ...")
            return text


class LoadingScreen(Screen[None]):
    """Shown while the image is pulled, saved and analysed."""

    DEFAULT_CSS = """
    LoadingScreen { align: center middle; }
    LoadingScreen #progress { width: auto; max-width: 100%; padding: 1 2; border: round $primary; }
    LoadingScreen LoadingIndicator { height: 3; }
    """

    def __init__(self, progress: LoadProgress, image_name: str) -> None:
        super().__init__()
        self.progress = progress
        self.image_name = image_name
        self._seen = -1

    def compose(self) -> ComposeResult:
        with Middle():
            with Center():
                yield Static(self.progress.render(self.image_name), id="progress")
            yield LoadingIndicator()
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(0.1, self._poll)

    def _poll(self) -> None:
        if self.progress.version != self._seen:
            self._seen = self.progress.version
            self.query_one("#progress", Static).update(self.progress.render(self.image_name))
