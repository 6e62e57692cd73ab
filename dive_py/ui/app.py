"""Provides :class:`DiveApp` and :func:`make_app`: the interactive explorer, built from an analysis.

The one factory, :func:`make_app`, is what the CLI (through :mod:`dive_py.ui.launch`), the tests
and the screenshot script use; it needs no container engine.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from dive_py.domain.analysis import Analysis
from dive_py.domain.progress import ProgressListener
from dive_py.explorer_config import ExplorerConfig
from dive_py.ui.commands import ExplorerCommands
from dive_py.ui.help_screen import HelpScreen
from dive_py.ui.loading_screen import LoadingScreen, LoadProgress
from dive_py.ui.main_screen import MainScreen

Loader = Callable[[ProgressListener], Analysis]


class DiveApp(App[int]):
    """The divepy explorer: layers, details and the file tree of one analysed image."""

    CSS_PATH = "app.tcss"
    TITLE = "divepy"
    COMMANDS = App.COMMANDS | {ExplorerCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit divepy"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="force-quit"),
        Binding(
            "question_mark",
            "help",
            "Help",
            id="help",
            key_display="?",
            tooltip="All keys and the marker legend",
        ),
        Binding("ctrl+z", "suspend_process", "Suspend", show=False, id="suspend"),
    ]

    def __init__(
        self,
        analysis: Analysis | None = None,
        *,
        image_name: str | None = None,
        config: ExplorerConfig | None = None,
        loader: Loader | None = None,
    ) -> None:
        super().__init__()
        self.analysis = analysis
        self.config = config or ExplorerConfig()
        self._image_name = image_name
        self.loader = loader
        self.load_error: BaseException | None = None
        """What the loader raised (re-raised by :func:`~dive_py.ui.launch.run_explorer`)."""
        self.quit_while_loading = False
        self._progress = LoadProgress()
        self.last_input = 0.0
        """``time.monotonic()`` of the last key or mouse event (background work yields to input)."""

    @property
    def image_name(self) -> str:
        """The name shown for the image: as given, else its first tag, else its reference."""
        if self._image_name:
            return self._image_name
        if self.analysis is not None:
            image = self.analysis.image
            return image.repo_tags[0] if image.repo_tags else image.reference
        return "image"

    @property
    def applied_keymap(self) -> Mapping[str, str]:
        """The keymap handed to :meth:`~textual.app.App.set_keymap` (binding id -> keys)."""
        return self.config.keymap

    def get_default_screen(self) -> Screen[Any]:
        if self.analysis is not None:
            return MainScreen(self.analysis, image_name=self.image_name, config=self.config)
        return super().get_default_screen()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(
            event, (events.Key, events.MouseDown, events.MouseScrollDown, events.MouseScrollUp)
        ):
            self.last_input = time.monotonic()
        await super().on_event(event)

    def on_mount(self) -> None:
        self.set_keymap(self.config.keymap)
        if self.analysis is None and self.loader is not None:
            self.push_screen(LoadingScreen(self._progress, self.image_name))
            thread = threading.Thread(target=self._load, name="divepy-load", daemon=True)
            thread.start()

    # -- loading ---------------------------------------------------------------------------
    def _load(self) -> None:
        """Run the loader (in a daemon thread, so quitting never waits for a slow pull)."""
        assert self.loader is not None
        try:
            analysis = self.loader(self._progress)
        except BaseException as exc:  # noqa: BLE001 - handed to run_explorer to re-raise
            self._call(self._load_failed, exc)
            return
        self._call(self._loaded, analysis)

    def _call(self, callback: Callable[..., object], *args: object) -> None:
        """Run ``callback(*args)`` on the app's thread (from the loading thread)."""
        with contextlib.suppress(RuntimeError):  # the app is gone (quit while loading)
            self.call_from_thread(callback, *args)

    def _load_failed(self, exc: BaseException) -> None:
        self.load_error = exc
        self.exit(1)

    def _loaded(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.switch_screen(MainScreen(analysis, image_name=self.image_name, config=self.config))

    # -- actions ---------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Quit with exit code 0 (noting when the image was still loading)."""
        if self.analysis is None:
            self.quit_while_loading = True
        self.exit(0)

    def action_help(self) -> None:
        """Show every key and the marker legend."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


def make_app(
    analysis: Analysis, *, image_name: str | None = None, config: ExplorerConfig | None = None
) -> DiveApp:
    """Return the explorer for ``analysis`` (no engine needed: tests and screenshots use this).

    Args:
        analysis: the analysed image.
        image_name: the name to show (default: the image's first tag, else its reference).
        config: explorer settings (default: divepy's defaults, no config file read).
    """
    return DiveApp(analysis, image_name=image_name, config=config)
