"""Provides :class:`DiffScreen`: the diff explorer, two images' layers and how their files differ.

Top: both images' layers side by side (:class:`~dive_py.ui.diff_layers.DiffLayersTable`; the
layers B shares with A marked), the pane's subtitle saying what they share. Below: the file
tree of the differences between the two final file systems, in the explorer's own tree pane
(:class:`~dive_py.ui.file_tree_view.FileTreeView` over
:class:`~dive_py.ui.tree_rows.TreeRows`, the same markers and keys): the marked tree
:func:`~dive_py.domain.image_diff.compare_final_states` made, from which ``divepy diff``'s
lists are read too. Unchanged paths are hidden at first (the tree's ``ctrl+u`` shows them).
The path line under the tree shows the cursor row's full path. Enter on a file opens
:class:`~dive_py.ui.image_file_diff.ImageFileDiffScreen` (A's version against B's); ``ctrl+e``
extracts the path as B has it (A's version of a removed path) into the current directory.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.markup import escape as escape_markup

from dive_py.display_text import escape_text
from dive_py.domain.analysis import Analysis
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.change_type import DiffType
from dive_py.domain.file_content import ContentReader
from dive_py.domain.image_diff import ImageDiff
from dive_py.explorer_config import ExplorerConfig
from dive_py.ui.diff_layers import DiffLayersTable
from dive_py.ui.explorer_footer import ExplorerFooter
from dive_py.ui.file_tree_view import FileTreeView
from dive_py.ui.main_screen import FilterInput
from dive_py.ui.tree_rows import TreeRows
from dive_py.ui.tree_screen import TreeScreen, tree_screen_bindings


def shared_text(diff: ImageDiff) -> str:
    """What the two images share, for the layers pane's subtitle ("B shares its first 2
    layers, 9.0 MB, with A")."""
    if not diff.shared_layers:
        return "B shares no layer with A"
    layers = "layer" if diff.shared_layers == 1 else f"{diff.shared_layers} layers"
    return f"B shares its first {layers}, {format_bytes(diff.shared_bytes)}, with A"


def counts_text(diff: ImageDiff) -> str:
    """The differences in one line, for the tree pane's subtitle."""
    if diff.identical:
        return "the final file systems are identical"
    size = diff.bytes_difference
    sign = "+" if size > 0 else "-" if size < 0 else ""
    return (
        f"{len(diff.added)} added, {len(diff.modified)} modified, {len(diff.removed)} removed; "
        f"{sign}{format_bytes(abs(size))} ({format_bytes(diff.a_size_bytes)} -> "
        f"{format_bytes(diff.b_size_bytes)})"
    )


class DiffFilterInput(FilterInput):
    """The explorer's path filter input, closed by the diff explorer's screen (Esc)."""

    BINDINGS: ClassVar[list[BindingType]] = FilterInput.BINDINGS


class DiffScreen(TreeScreen):
    """The diff explorer (see the module's description).

    Args:
        diff: the comparison of A with B.
        a, b: the two analysed images (their sources give the files' bytes).
        names: the names A and B were given as.
        config: explorer settings (hidden change types, attributes, keys).
        env: the environment the ``docker`` source's engine is found from.
    """

    AUTO_FOCUS = "#file-tree"

    BINDINGS: ClassVar[list[BindingType]] = tree_screen_bindings("Layers -> file tree")

    PANE_ORDER: ClassVar[tuple[str, ...]] = ("#diff-layers", "#file-tree")

    def __init__(
        self,
        diff: ImageDiff,
        a: Analysis,
        b: Analysis,
        *,
        names: tuple[str, str],
        config: ExplorerConfig,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.diff = diff
        self.a = a
        self.b = b
        self.names = names
        self.config = config
        self._readers = (ContentReader(a, env=env), ContentReader(b, env=env))
        hidden = {DiffType.from_config_name(name) for name in config.hide}
        hidden.add(DiffType.UNMODIFIED)
        self.model = TreeRows(diff.tree.root, collapse_all=config.collapse_dir, hidden=hidden)

    @property
    def filter_input(self) -> DiffFilterInput:
        return self.query_one("#filter", DiffFilterInput)

    def compose(self) -> ComposeResult:
        layers = DiffLayersTable(
            self.a.image, self.b.image, self.diff.shared_layers, id="diff-layers"
        )
        layers.add_class("pane")
        layers.styles.height = "auto"  # (the app's .pane rule gives 1fr)
        layers.styles.max_height = "40%"
        layers.styles.min_height = 5
        yield layers
        with Vertical(id="tree-pane", classes="pane") as tree_pane:
            tree_pane.styles.height = "1fr"
            yield from self.compose_tree(self.model, self.config.show_attributes)
        yield from self.compose_filter_bar(
            DiffFilterInput(placeholder="regular expression, e.g. ^/usr/.*\\.py$", id="filter")
        )
        yield ExplorerFooter()

    def on_mount(self) -> None:
        a, b = (escape_markup(escape_text(name)) for name in self.names)
        layers = self.query_one("#diff-layers")
        layers.border_title = f"Layers: A {a}  ·  B {b}"
        layers.border_subtitle = escape_markup(shared_text(self.diff))
        self._update_titles()
        view = self.tree_view
        view.post_message(FileTreeView.NodeHighlighted(view, view.cursor_path))

    def _update_titles(self) -> None:
        view = self.tree_view
        pane = self.query_one("#tree-pane")
        pane.border_title = "Differences A -> B: " + escape_markup(counts_text(self.diff))
        pane.border_subtitle = escape_markup(escape_text(view.describe_settings()))
        self.update_tree_header()

    @on(FileTreeView.PathAction)
    def _path_action(self, event: FileTreeView.PathAction) -> None:
        if event.extract:
            self._extract(event.path)
            return
        from dive_py.ui.image_file_diff import ImageFileDiffScreen

        self.app.push_screen(ImageFileDiffScreen(self.a, self.b, event.path, self._readers))

    @work(thread=True, group="extract")
    def _extract(self, path: str) -> None:
        """Write ``path`` as B has it (A's version when B lacks it) into the current directory."""
        import os

        from dive_py.domain.extract import extract
        from dive_py.errors import DivepyError

        node = self.model.find_node(path)
        removed = node is not None and node.diff is DiffType.REMOVED
        side, reader = ("A", self._readers[0]) if removed else ("B", self._readers[1])
        last = len(reader.image.layers) - 1
        target = os.getcwd()
        try:
            report = extract(reader, last, path, target)
        except DivepyError as exc:
            self.app.call_from_thread(self.notify, exc.one_line(), severity="error", timeout=8)
            return
        self.app.call_from_thread(
            self.notify,
            f"extracted {escape_text(path)} (image {side}) into {escape_text(target)}: "
            f"{len(report.written)} entries",
            timeout=8,
        )
