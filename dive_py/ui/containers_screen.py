"""Provides :class:`ContainersScreen`: the containers made from the explored image, each openable.

Only an engine knows containers: the explorer offers this screen when its source gave it a
:class:`ContainerCatalog` (the ``docker`` and ``container`` sources); for archives and OCI
layouts the key that opens it is hidden and does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol

import humanize
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from dive_py.display_text import escape_text
from dive_py.domain.analysis import Analysis
from dive_py.domain.container_layer import ContainerInfo
from dive_py.domain.progress import ProgressListener
from dive_py.ui import details

ContainerLoader = Callable[[ProgressListener], Analysis]
"""Reads and analyses a container (its image and read/write layer), reporting progress."""


class ContainerCatalog(Protocol):
    """The containers an engine holds, and how to open one (the command line provides it)."""

    def containers(self, image_id: str) -> Sequence[ContainerInfo]:
        """Return the containers made from ``image_id`` (running or not); may be slow (an
        engine call: the screen calls it in a thread).

        Raises:
            DivepyError: the engine could not tell (shown in the screen, one line).
        """
        ...

    def loader(self, name: str) -> ContainerLoader:
        """Return the loader of ``container://name`` (what the explorer runs behind its
        loading screen)."""
        ...


class ContainersScreen(ModalScreen[str | None]):
    """The containers of the image (name, state, created, ID); Enter opens one, Esc closes.

    Dismissed with the chosen container's name, or None.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open container", id="open-container"),
        Binding("escape", "dismiss_screen", "Close", id="close-containers"),
    ]

    DEFAULT_CSS = """
    ContainersScreen { align: center middle; }
    ContainersScreen > Vertical {
        width: 90%; max-width: 110; height: auto; max-height: 80%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    ContainersScreen #containers-status { color: $text-muted; }
    ContainersScreen DataTable { height: auto; max-height: 30; }
    """

    def __init__(self, catalog: ContainerCatalog, image_id: str, image_name: str) -> None:
        super().__init__()
        self.catalog = catalog
        self.image_id = image_id
        self.image_name = image_name
        self.found: list[ContainerInfo] = []
        """The containers listed (in table order) once the engine answered."""

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"Containers of {escape_text(self.image_name)}"
            yield Static("Asking the engine…", id="containers-status")
            table: DataTable[Text] = DataTable(cursor_type="row", id="containers")
            table.add_column("Name", key="name")
            table.add_column("State", key="state")
            table.add_column("Created", key="created")
            table.add_column("ID", key="id")
            yield table

    def on_mount(self) -> None:
        self._list()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _list(self) -> None:
        worker = get_current_worker()
        try:
            found = list(self.catalog.containers(self.image_id))
        except Exception as exc:  # noqa: BLE001 - any engine failure is shown as one line
            if not worker.is_cancelled:
                self.app.call_from_thread(self._show_error, str(exc))
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, found)

    def _show_error(self, reason: str) -> None:
        self.query_one("#containers-status", Static).update(
            Text(f"The engine could not list the containers: {reason}")
        )

    def _show(self, found: list[ContainerInfo]) -> None:
        self.found = found
        status = self.query_one("#containers-status", Static)
        if not found:
            status.update(Text("No container uses this image (docker run creates one)."))
            return
        open_keys = self.app.get_key_display(self._binding("open-container"))
        status.update(Text(f"{len(found)} container(s), running or not: {open_keys} opens one"))
        table = self.query_one("#containers", DataTable)
        for info in found:
            table.add_row(
                Text(escape_text(info.name)),
                Text(escape_text(info.state) or "unknown"),
                Text(_ago(info.created)),
                Text(info.id[:12]),
                key=info.name,
            )
        table.focus()

    def _binding(self, binding_id: str) -> Binding:
        return next(
            item for item in self.BINDINGS if isinstance(item, Binding) and item.id == binding_id
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        """Open the container under the cursor (dismiss with its name)."""
        table = self.query_one("#containers", DataTable)
        if 0 <= table.cursor_row < len(self.found):
            self.dismiss(self.found[table.cursor_row].name)

    def action_dismiss_screen(self) -> None:
        """Close without opening a container."""
        self.dismiss(None)


def _ago(created: str) -> str:
    """How long ago ``created`` (RFC 3339) was, as ``docker ps`` says it ("3 weeks ago")."""
    when = details.parse_created(created)
    return humanize.naturaltime(when, when=details.now_utc()) if when is not None else ""
