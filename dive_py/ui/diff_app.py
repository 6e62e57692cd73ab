"""Provides :class:`DiffApp`: the diff explorer's app (``divepy diff A B`` on a terminal).

The diff explorer is the explorer's app (:class:`~dive_py.ui.app.DiveApp`: its quit, help,
suspend and command palette keys, remappable through dive's config files, its crash
handling) showing :class:`~dive_py.ui.diff_screen.DiffScreen`. Both images are read before it
starts (with the progress on stderr, as the text report's run reads them). Quitting exits as
diff(1) does: 0 when the final file systems are identical, 1 when they differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from textual.binding import BindingType
from textual.screen import Screen

from dive_py.domain.analysis import Analysis
from dive_py.domain.image_diff import ImageDiff
from dive_py.exit_codes import ExitCode
from dive_py.explorer_config import ExplorerConfig
from dive_py.ui.app import DiveApp
from dive_py.ui.diff_screen import DiffScreen


class DiffApp(DiveApp):
    """The diff explorer of images A and B.

    Args:
        diff: the comparison of A with B (:func:`~dive_py.domain.image_diff.diff_images`).
        a, b: the two analysed images.
        names: the names A and B were given as.
        config: explorer settings (default: divepy's defaults, no config file read).
        env: the environment the ``docker`` source's engine is found from.
    """

    TITLE = "divepy diff"
    BINDINGS: ClassVar[list[BindingType]] = DiveApp.BINDINGS
    """The explorer's app keys (declared here too: the help screen and the command palette
    list the bindings a class declares itself)."""

    def __init__(
        self,
        diff: ImageDiff,
        a: Analysis,
        b: Analysis,
        *,
        names: tuple[str, str],
        config: ExplorerConfig | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(None, image_name=f"{names[0]} -> {names[1]}", config=config)
        self.diff = diff
        self.images = (a, b)
        self.names = names
        self._env = dict(env) if env is not None else None

    @property
    def exit_code(self) -> int:
        """0 when the final file systems are identical, 1 when they differ (as diff(1))."""
        return int(ExitCode.OK if self.diff.identical else ExitCode.RULE_FAILED)

    def get_default_screen(self) -> Screen[Any]:
        a, b = self.images
        return DiffScreen(self.diff, a, b, names=self.names, config=self.config, env=self._env)

    async def action_quit(self) -> None:
        """Quit with 0 (identical) or 1 (the images differ)."""
        self.exit(self.exit_code)
