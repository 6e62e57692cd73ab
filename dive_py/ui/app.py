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
from textual.command import CommandPalette
from textual.screen import Screen
from textual.theme import ThemeProvider

from dive_py.display_text import escape_text
from dive_py.domain.analysis import Analysis
from dive_py.domain.progress import ProgressListener
from dive_py.errors import DivepyError
from dive_py.explorer_config import ExplorerConfig
from dive_py.ui.command_palette import ExplorerPalette
from dive_py.ui.commands import ExplorerCommands
from dive_py.ui.containers_screen import ContainerCatalog, ContainersScreen
from dive_py.ui.help_screen import HelpScreen
from dive_py.ui.loading_screen import LoadingScreen, LoadProgress
from dive_py.ui.main_screen import MainScreen

Loader = Callable[[ProgressListener], Analysis]


class DiveApp(App[int], inherit_bindings=False):
    """The divepy explorer: layers, details and the file tree of one analysed image.

    Textual's own app bindings (``ctrl+q`` quit, ``ctrl+c`` quit help) are not inherited: the
    keys that quit are exactly dive's ``keybinding.quit`` (``q``, ``ctrl+c`` by default), so a
    remapped quit key is the only one. The command palette stays on ``ctrl+p``.

    An unhandled exception ends the app without Textual's traceback: it is kept in
    :attr:`crash` for :func:`~dive_py.ui.launch.run_explorer`, which reports it once the
    terminal is restored (one line and exit 70; the traceback with ``--debug``).
    """

    CSS_PATH = "app.tcss"
    TITLE = "divepy"
    COMMANDS = App.COMMANDS | {ExplorerCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit divepy"),
        Binding("ctrl+c", "force_quit", "Quit", show=False, priority=True, id="force-quit"),
        Binding(
            "question_mark",
            "help",
            "Help",
            id="help",
            key_display="?",
            tooltip="All keys and the marker legend",
        ),
        Binding("ctrl+z", "suspend_process", "Suspend", show=False, id="suspend"),
        Binding(
            "c",
            "containers",
            "Containers",
            id="containers",
            tooltip="The containers of this image (engine sources only); open one",
        ),
    ]

    def __init__(
        self,
        analysis: Analysis | None = None,
        *,
        image_name: str | None = None,
        config: ExplorerConfig | None = None,
        loader: Loader | None = None,
        containers: ContainerCatalog | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.env = dict(env) if env is not None else None
        """The environment the file viewer and extraction read with (the CLI's, with
        ``--insecure-registry`` hosts in ``DIVEPY_INSECURE_REGISTRIES``); None: ``os.environ``."""
        self.containers = containers
        """The engine's containers (the ``docker`` and ``container`` sources), else None: the
        ``containers`` key is then hidden and does nothing."""
        self._previous: tuple[Analysis, str | None] | None = None
        """The analysis (and name) shown before a container was opened: shown again when the
        container cannot be read."""
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
        self.crash: Exception | None = None
        """The first unhandled exception that ended the app (a bug), or None."""

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

    @property
    def disabled_bindings(self) -> frozenset[str]:
        """Binding ids the config left without a key (they trigger nothing)."""
        return self.config.disabled

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Disable ``force_quit`` when dive's ``keybinding.quit`` names no ctrl key; hide
        ``containers`` without an engine (or before an image is shown)."""
        if action == "containers":
            return self.containers is not None and self.analysis is not None
        return not (action == "force_quit" and "force-quit" in self.config.disabled)

    def get_default_screen(self) -> Screen[Any]:
        if self.analysis is not None:
            return MainScreen(
                self.analysis, image_name=self.image_name, config=self.config, env=self.env
            )
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
            self._start_loading()

    def _start_loading(self) -> None:
        thread = threading.Thread(target=self._load, name="divepy-load", daemon=True)
        thread.start()

    def open_container(self, name: str) -> None:
        """Reload the explorer on ``container://name`` through the loading screen.

        If it cannot be read, the image shown before comes back with the error in a
        notification (the app goes on).
        """
        if self.containers is None or self.analysis is None:
            return
        self._previous = (self.analysis, self._image_name)
        self.analysis = None
        self._image_name = f"container://{name}"
        self.loader = self.containers.loader(name)
        self._progress = LoadProgress()
        loading = LoadingScreen(self._progress, self.image_name)
        if len(self.screen_stack) > 1:
            self.switch_screen(loading)
        else:  # the explorer is the app's default screen (make_app): it cannot be switched
            self.push_screen(loading)
        self._start_loading()

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
        if self._previous is not None and isinstance(exc, Exception):
            analysis, self._image_name = self._previous
            self._previous = None
            self.analysis = analysis
            self.switch_screen(
                MainScreen(analysis, image_name=self.image_name, config=self.config, env=self.env)
            )
            self.notify(self._one_line(exc), severity="error", timeout=10)
            return
        self.load_error = exc
        self.exit(1)

    @staticmethod
    def _one_line(exc: Exception) -> str:
        """One line for a container that could not be opened (the CLI's line for it)."""
        if isinstance(exc, DivepyError):
            return exc.one_line()
        return escape_text(" ".join(str(exc).split()) or type(exc).__name__)

    def _loaded(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self._previous = None
        self.switch_screen(
            MainScreen(analysis, image_name=self.image_name, config=self.config, env=self.env)
        )

    # -- crashes ---------------------------------------------------------------------------
    def _handle_exception(self, error: Exception) -> None:
        """Keep the exception for :func:`~dive_py.ui.launch.run_explorer` and end the app
        without printing Textual's traceback (Textual's hook for unhandled exceptions)."""
        if self.crash is None:
            self.crash = error
        super()._handle_exception(error)
        # Textual would print its traceback after restoring the terminal; run_explorer
        # reports the crash instead (one line; the traceback with --debug).
        self._exit_renderables.clear()

    # -- command palettes ------------------------------------------------------------------
    def action_command_palette(self) -> None:
        """Show the command palette (:class:`ExplorerPalette`: its page keys cannot crash)."""
        if self.use_command_palette and not any(
            isinstance(screen, CommandPalette) for screen in self.screen_stack
        ):
            self.push_screen(ExplorerPalette(id="--command-palette"))

    def search_themes(self) -> None:
        """Show the theme picker (an :class:`ExplorerPalette` of themes; Textual's "Theme"
        command opens it; divepy shows no other list in a palette)."""
        self.push_screen(
            ExplorerPalette(providers=[ThemeProvider], placeholder="Search for themes…")
        )

    # -- actions ---------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Quit with exit code 0 (noting when the image was still loading)."""
        if self.analysis is None and self._previous is None:
            self.quit_while_loading = True
        self.exit(0)

    async def action_force_quit(self) -> None:
        """Quit from anywhere, the filter input included (the ctrl keys of ``quit``)."""
        await self.action_quit()

    def action_containers(self) -> None:
        """Show the containers of the image (engine sources); the one chosen is opened."""
        if self.containers is None or self.analysis is None:
            return
        if any(isinstance(screen, ContainersScreen) for screen in self.screen_stack):
            return
        image = self.analysis.image
        screen = ContainersScreen(self.containers, image.image_id, self.image_name)

        def chosen(name: str | None) -> None:
            if name:
                self.call_later(self.open_container, name)  # once the list is gone

        self.push_screen(screen, chosen)

    def action_help(self) -> None:
        """Show every key and the marker legend."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


def make_app(
    analysis: Analysis,
    *,
    image_name: str | None = None,
    config: ExplorerConfig | None = None,
    containers: ContainerCatalog | None = None,
    env: Mapping[str, str] | None = None,
) -> DiveApp:
    """Return the explorer for ``analysis`` (no engine needed: tests and screenshots use this).

    Args:
        analysis: the analysed image.
        image_name: the name to show (default: the image's first tag, else its reference).
        config: explorer settings (default: divepy's defaults, no config file read).
        containers: the engine's containers (a recorded or fake catalog in tests), or None.
        env: the environment file contents are read with (see :attr:`DiveApp.env`).
    """
    return DiveApp(analysis, image_name=image_name, config=config, containers=containers, env=env)
