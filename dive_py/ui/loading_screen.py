"""Provides :class:`LoadingScreen` and :class:`LoadProgress`: progress while the image is read."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import humanize
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Footer, LoadingIndicator, ProgressBar, Static

from dive_py.display_text import escape_text
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.progress import ProgressListener


def _count(number: int, noun: str) -> str:
    """``"1 layer"``, ``"1,234 layers"``."""
    return f"{humanize.intcomma(number)} {noun}{'' if number == 1 else 's'}"


def _elapsed(seconds: float) -> str:
    """``"0:07"``, ``"12:30"``: minutes and seconds."""
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


class LoadProgress(ProgressListener):
    """Collects progress events from the loading thread; the screen polls it (no cross-thread calls).

    Args:
        clock: seconds, monotonic (the elapsed time is measured from the listener's creation).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.started = clock()
        self.messages: list[str] = []
        self.pulls: dict[str, str] = {}
        self.waiting_for = ""
        """What the source waits for before the first byte ("" when it does not)."""
        self.total_bytes = 0
        """Bytes the read will take (0 = unknown)."""
        self.total_layers = 0
        """Layers the image has (0 = unknown)."""
        self.bytes_read = 0
        self.layers_read = 0
        self.finished = False
        self.version = 0

    def waiting(self, what: str) -> None:
        with self._lock:
            self.waiting_for = escape_text(what)
            self.version += 1

    def expect(self, total_bytes: int, total_layers: int) -> None:
        with self._lock:
            self.total_bytes, self.total_layers = max(total_bytes, 0), max(total_layers, 0)
            self.version += 1

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
            self.waiting_for = ""
            self.version += 1

    def bar(self) -> tuple[float | None, float]:
        """Return (total, progress) for a progress bar: bytes when the total is known, else
        layers when their count is, else (None, 0): an indeterminate bar."""
        with self._lock:
            if self.finished:
                return 1.0, 1.0
            if self.total_bytes:
                return float(self.total_bytes), float(min(self.bytes_read, self.total_bytes))
            if self.total_layers:
                return float(self.total_layers), float(min(self.layers_read, self.total_layers))
            return None, 0.0

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
            text.append("\n")
            if self.waiting_for and not self.bytes_read:
                text.append(f"Waiting for {self.waiting_for} ...\n")
            read = format_bytes(self.bytes_read)
            if self.total_bytes:
                read += f" of {format_bytes(self.total_bytes)}"
            layers = _count(self.layers_read, "layer")
            if self.total_layers:
                layers = (
                    f"{humanize.intcomma(self.layers_read)} of {_count(self.total_layers, 'layer')}"
                )
            text.append(f"Read {read}, {layers}")
            text.append(f"\nElapsed {_elapsed(self._clock() - self.started)}")
            if self.finished:
                text.append("\nAnalysing ...")
            return text


class LoadingScreen(Screen[None]):
    """Shown while the image is pulled, saved and analysed."""

    DEFAULT_CSS = """
    LoadingScreen { align: center middle; }
    LoadingScreen #progress { width: auto; max-width: 100%; padding: 1 2; border: round $primary; }
    LoadingScreen LoadingIndicator { height: 3; }
    LoadingScreen #read-bar { width: auto; margin: 1 0 0 0; }
    """

    def __init__(self, progress: LoadProgress, image_name: str) -> None:
        super().__init__()
        self.progress = progress
        self.image_name = image_name
        self._seen: tuple[int, int] = (-1, -1)

    def compose(self) -> ComposeResult:
        with Middle():
            with Center():
                yield Static(self.progress.render(self.image_name), id="progress")
            with Center():
                yield ProgressBar(id="read-bar", show_eta=False)
            yield LoadingIndicator()
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(0.1, self._poll)

    def _poll(self) -> None:
        """Redraw on news, and every second for the elapsed time."""
        second = int(time.monotonic() - self.progress.started)
        if (self.progress.version, second) != self._seen:
            self._seen = (self.progress.version, second)
            self.query_one("#progress", Static).update(self.progress.render(self.image_name))
            total, done = self.progress.bar()
            self.query_one("#read-bar", ProgressBar).update(total=total, progress=done)
