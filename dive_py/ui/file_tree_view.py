"""Provides :class:`FileTreeView`: the virtualised file tree pane (Line API over :class:`TreeRows`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.cells import cell_len, chop_cells
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dive_py.domain.change_type import CONFIG_NAMES, DiffType
from dive_py.ui.list_bindings import LIST_MOVES
from dive_py.ui.tree_rows import SortOrder, TreeRows, attributes, display_name


def diff_class(diff: DiffType) -> str:
    """The component class a row of change type ``diff`` is coloured with
    (``file-tree--added``, ``file-tree--modified``, ``file-tree--removed``,
    ``file-tree--unmodified``)."""
    return f"file-tree--{diff.config_name}"


ATTRIBUTES_MIN_WIDTH = 50
"""Below this pane width the attribute column is left out (as dive does)."""
NAME_MIN_WIDTH = 20
"""The indent budget: deep rows indent less (see :meth:`TreeRows.guides`) so that at least this
many cells are left for the name (when the pane has them after the marker and attributes)."""
GUIDES_MIN_WIDTH = 8
"""The indent budget never goes below this (a narrow pane keeps some of the tree's shape)."""
HORIZONTAL_STEP = 8
"""Cells the tree (and the inefficient files list) move per horizontal scroll key."""


class FileTreeView(ScrollView, can_focus=True):
    """A file tree of any size: one widget, one cached strip per visible row.

    Every row carries a one-character change marker (``+`` added, ``~`` modified, ``-``
    removed, blank unchanged) as well as its colour.
    """

    HELP = """\
## File tree

Markers: `+` added, `~` modified, `-` removed, blank: unchanged.
Colours follow the theme: added = success, modified = warning, removed = error.
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        *LIST_MOVES,
        Binding("home", "cursor_home", "First row", show=False, id="home"),
        Binding("end", "cursor_end", "Last row", show=False, id="end"),
        Binding("right,l", "enter_dir", "Enter directory", show=False, id="right"),
        Binding("left,h", "parent_dir", "Parent directory", show=False, id="left"),
        Binding("shift+left", "scroll_columns(-1)", "Scroll left", show=False, id="scroll-left"),
        Binding("shift+right", "scroll_columns(1)", "Scroll right", show=False, id="scroll-right"),
        Binding(
            "space",
            "toggle_dir",
            "Collapse dir",
            id="toggle-collapse-dir",
            tooltip="Collapse or expand the directory under the cursor",
        ),
        Binding(
            "ctrl+space,ctrl+@",
            "toggle_all",
            "Collapse all",
            id="toggle-collapse-all-dir",
            key_display="^␣",
            tooltip="Collapse or expand every directory",
        ),
        Binding(
            "ctrl+o",
            "toggle_sort",
            "Sort",
            id="toggle-sort-order",
            tooltip="Sort by name, or by size (largest first)",
        ),
        Binding(
            "ctrl+b",
            "toggle_attributes",
            "Attributes",
            id="toggle-filetree-attributes",
            tooltip="Show or hide permissions, owner and size",
        ),
        Binding(
            "ctrl+a",
            "toggle_diff('added')",
            "Added",
            id="toggle-added-files",
            tooltip="Show or hide added files (+)",
        ),
        Binding(
            "ctrl+r",
            "toggle_diff('removed')",
            "Removed",
            id="toggle-removed-files",
            tooltip="Show or hide removed files (-)",
        ),
        Binding(
            "ctrl+n",
            "toggle_diff('modified')",
            "Modified",
            id="toggle-modified-files",
            tooltip="Show or hide modified files (~); dive's ctrl+m arrives as Enter",
        ),
        Binding(
            "enter",
            "view_file",
            "View",
            id="view-file",
            tooltip="Open this layer's version of the file",
        ),
        Binding(
            "ctrl+e",
            "extract_file",
            "Extract",
            id="extract-file",
            tooltip="Write this path as it is at this layer into the current directory",
        ),
        Binding(
            "ctrl+u",
            "toggle_diff('unmodified')",
            "Unmodified",
            id="toggle-unmodified-files",
            tooltip="Show or hide unchanged files",
        ),
        Binding(
            "w",
            "toggle_wrap",
            "Wrap",
            id="toggle-wrap-tree",
            tooltip="Wrap long rows onto more lines, or cut them (scroll with shift+arrows)",
        ),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *(diff_class(diff) for diff in DiffType),
        "file-tree--cursor",
        "file-tree--guides",
    }

    DEFAULT_CSS = """
    FileTreeView {
        background: $surface;
        & > .file-tree--added { color: $success; }
        & > .file-tree--removed { color: $error; }
        & > .file-tree--modified { color: $warning; }
        & > .file-tree--unmodified { }
        & > .file-tree--guides { color: $foreground-muted; }
        & > .file-tree--cursor { text-style: bold reverse; }
        &:focus > .file-tree--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: bold;
        }
    }
    """

    cursor_line: var[int] = var(0, always_update=True)
    """Index of the highlighted row."""
    show_attributes: var[bool] = var(True)
    """Show the permission / owner / size column (when the pane is wide enough)."""
    wrap: var[bool] = var(False)
    """Wrap rows wider than the pane onto further lines (else they are cut, and the pane
    scrolls sideways)."""

    class NodeHighlighted(Message):
        """The cursor moved to another row."""

        def __init__(self, view: FileTreeView, path: str | None) -> None:
            super().__init__()
            self.view = view
            self.path = path

        @property
        def control(self) -> FileTreeView:
            return self.view

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, FileTreeView.NodeHighlighted)

    class PathAction(Message):
        """Enter on a file (``extract`` False: view it) or ctrl+e on any path (extract it)."""

        def __init__(self, path: str, extract: bool) -> None:
            super().__init__()
            self.path = path
            self.extract = extract

    class SettingsChanged(Message):
        """Sort, hidden types, attributes or the filter changed (the pane title follows)."""

    def __init__(
        self,
        model: TreeRows,
        *,
        show_attributes: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.model = model
        self._cache: LRUCache[tuple[int, int, bool, bool, bool, int], list[Strip]] = LRUCache(1024)
        self._styles: dict[object, Style] | None = None
        self._widest = 0
        self._anchor: str | None = None
        """The path the user last put the cursor on: kept through settings changes that hide
        it for a while (an empty tree, a filter), so that the cursor comes back to it."""
        self._placing = False
        self._page: tuple[tuple[int, int, int, bool, int], list[tuple[int, int]]] | None = None
        self._tail_lines = 0
        self.set_reactive(FileTreeView.show_attributes, show_attributes)

    # -- model -----------------------------------------------------------------------------
    @property
    def attributes_shown(self) -> bool:
        """True when the attribute column is drawn (enabled and the pane is wide enough)."""
        return self.show_attributes and self.size.width >= ATTRIBUTES_MIN_WIDTH

    @property
    def cursor_path(self) -> str | None:
        """The path under the cursor, or None when the tree shows nothing."""
        if 0 <= self.cursor_line < len(self.model):
            return self.model.path_of(self.cursor_line)
        return None

    def _set_virtual_size(self, size: Size) -> None:
        """Set the scrollable size without a layout pass (which redraws the whole screen).

        ``virtual_size`` is a layout reactive; here only the scroll bars need to follow. When a
        scroll bar appears or goes, its own reactive still asks for the layout pass.
        """
        if size != self.virtual_size:
            self.set_reactive(ScrollView.virtual_size, size)
            self._scroll_update(size)
            self.refresh()

    @property
    def kept_path(self) -> str:
        """The path the cursor is kept on through a change of tree or settings: the one the
        user last chose (see :attr:`_anchor`), else the cursor's, else ``""``."""
        if self._anchor is not None:
            return self._anchor
        return self.cursor_path or ""

    def _rows_changed(self, keep_path: str | None = None) -> None:
        self._cache.clear()
        self._page = None
        self._widest = 0
        self._tail_lines = self._wrapped_tail() if self.wrap else 0
        self._set_virtual_size(
            Size(self.scrollable_content_region.width, len(self.model) + self._tail_lines)
        )
        self._placing = True
        try:
            if keep_path is not None:
                index = self.model.nearest_index(keep_path)
                self.cursor_line = index if index is not None else 0
            else:
                self.cursor_line = self.cursor_line
        finally:
            self._placing = False
        self.refresh()

    def set_model(self, model: TreeRows) -> None:
        """Show ``model`` (another layer), keeping the cursor on the same path when it exists.

        The repaint is handed to the screen at once (normally a widget does that when its own
        message queue is next idle): called from another widget's handler, e.g. the layers
        pane moving its cursor, the new tree is then drawn in the same frame as that cursor.
        """
        self.model = model
        self._rows_changed(self.kept_path)
        self._check_refresh()

    def select_path(self, path: str) -> bool:
        """Expand what hides ``path`` and move the cursor to it; False when it is not shown."""
        index = self.model.reveal(path)
        self._rows_changed()
        if index is None:
            return False
        self.cursor_line = index
        self.scroll_to(y=max(0, index - self.scrollable_content_region.height // 2), animate=False)
        self._anchor = path
        return True

    def rebuild(self, change: Callable[[TreeRows], object]) -> None:
        """Apply ``change(model)`` (a settings change) and keep the cursor on its path."""
        path = self.kept_path
        change(self.model)
        self._rows_changed(path)
        self.post_message(self.SettingsChanged())

    # -- cursor ----------------------------------------------------------------------------
    def validate_cursor_line(self, value: int) -> int:
        return max(0, min(value, len(self.model) - 1))

    def watch_cursor_line(self, old: int, new: int) -> None:
        self.scroll_cursor_into_view()
        self.refresh()
        path = self.cursor_path
        if not self._placing and path is not None:
            self._anchor = path
        self.post_message(self.NodeHighlighted(self, path))

    def scroll_cursor_into_view(self) -> None:
        """Scroll (vertically) so that the cursor row is one of the rows shown: all of its
        lines when rows wrap, never under the horizontal scroll bar."""
        new = self.cursor_line
        height = self.scrollable_content_region.height or 1
        y = int(self.scroll_offset.y)
        if new < y:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif self.wrap:
            top = y
            while top < new and self._lines_between(top, new) > height:
                top += 1
            if top != y:
                self.scroll_to(y=top, animate=False, immediate=True)
        elif new >= y + height:
            self.scroll_to(y=new - height + 1, animate=False, immediate=True)

    def watch_show_horizontal_scrollbar(self) -> None:
        # The scroll bar appears once wider rows are drawn, and takes the last line: the
        # cursor row scrolled into view a moment ago may sit there.
        self.call_after_refresh(self.scroll_cursor_into_view)

    def watch_show_attributes(self) -> None:
        self._rows_changed()

    def watch_wrap(self) -> None:
        self.scroll_to(x=0, animate=False, immediate=True)
        self._rows_changed()

    def on_resize(self, event: events.Resize) -> None:
        self._rows_changed()
        self.call_after_refresh(self.scroll_cursor_into_view)
        self.post_message(self.SettingsChanged())

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()
        self._styles = None

    def on_focus(self) -> None:
        self._cache.clear()
        self._styles = None
        self.refresh()

    def on_blur(self) -> None:
        self._cache.clear()
        self._styles = None
        self.refresh()

    # -- rendering -------------------------------------------------------------------------
    def _row_styles(self) -> dict[object, Style]:
        """The rich styles rows are drawn with, worked out once per theme and focus change.

        Keys: ``"base"``, ``"cursor"`` (the cursor row's fill), ``"guides"``,
        ``"cursor-guides"``, and each :class:`DiffType` with and without the cursor
        (``(diff, True)`` / ``(diff, False)``), all combined with the widget's base style.
        """
        styles = self._styles
        if styles is None:
            base = self.rich_style
            cursor = self.get_component_rich_style("file-tree--cursor", partial=True)
            styles = {
                "base": base,
                "cursor": base + cursor,
                "cursor-guides": base + cursor,
                "guides": base + self.get_component_rich_style("file-tree--guides", partial=True),
            }
            for diff in DiffType:
                own = self.get_component_rich_style(diff_class(diff), partial=True)
                styles[(diff, False)] = base + own
                styles[(diff, True)] = base + own + cursor
            self._styles = styles
        return styles

    def guide_budget(self, head: int) -> int:
        """The indent budget (cells) of a row whose marker and attributes take ``head`` cells:
        what the pane leaves after :data:`NAME_MIN_WIDTH` cells for the name, at least
        :data:`GUIDES_MIN_WIDTH`."""
        return max(GUIDES_MIN_WIDTH, self.scrollable_content_region.width - head - NAME_MIN_WIDTH)

    def _build_strips(self, index: int, cursor: bool, attrs: bool) -> list[Strip]:
        """The lines of row ``index``: one, or (wrapping) as many as its name needs."""
        model = self.model
        node = model.nodes[index]
        styles = self._row_styles()
        style = styles[(node.diff, cursor)]
        guide_style = styles["cursor-guides" if cursor else "guides"]
        head = f"{node.diff.marker} " + (attributes(node, model.shown_size(node)) if attrs else "")
        budget = self.guide_budget(len(head))
        guides = model.guides(index, budget)
        name = display_name(node)
        width = self.scrollable_content_region.width
        prefix = len(head) + len(guides)
        if not self.wrap or prefix + cell_len(name) <= width or width - prefix < 1:
            return [
                Strip([Segment(head, style), Segment(guides, guide_style), Segment(name, style)])
            ]
        chunks = chop_cells(name, width - prefix)
        lines = [
            Strip([Segment(head, style), Segment(guides, guide_style), Segment(chunks[0], style)])
        ]
        below = " " * len(head) + model.continuation_guides(index, budget)
        lines.extend(
            Strip([Segment(below, guide_style), Segment(chunk, style)]) for chunk in chunks[1:]
        )
        return lines

    def _strips(self, index: int) -> list[Strip]:
        attrs = self.attributes_shown
        cursor = index == self.cursor_line
        key = (index, self.model.generation, cursor, attrs, self.has_focus, self._draw_width)
        strips = self._cache.get(key)
        if strips is None:
            strips = self._build_strips(index, cursor, attrs)
            self._cache[key] = strips
            widest = max(strip.cell_length for strip in strips)
            if widest > self._widest and not self.wrap:  # widen the scroll range to the rows seen
                self._widest = widest
                if self._widest > self.virtual_size.width:
                    self.call_later(self._widen)
        return strips

    @property
    def _draw_width(self) -> int:
        """The pane width rows are drawn for (indent budget and wrapping depend on it)."""
        return self.scrollable_content_region.width

    def _line_count(self, index: int) -> int:
        """The lines row ``index`` takes (more than one only when rows wrap)."""
        return len(self._strips(index)) if self.wrap else 1

    def _lines_between(self, top: int, index: int) -> int:
        """The lines rows ``top`` to ``index`` (both included) take."""
        return sum(self._line_count(row) for row in range(top, index + 1))

    def _wrapped_tail(self) -> int:
        """Extra lines the last screenful of rows take when wrapped (the scroll range grows by
        as much, so that the last row can be brought into view)."""
        count = len(self.model)
        height = self.scrollable_content_region.height or 1
        return sum(self._line_count(row) - 1 for row in range(max(0, count - height), count))

    def _page_lines(self, top: int) -> list[tuple[int, int]]:
        """(row, line within the row) of each line shown from row ``top`` (rows wrap)."""
        height = self.scrollable_content_region.height
        key = (top, self.model.generation, self._draw_width, self.attributes_shown, height)
        if self._page is not None and self._page[0] == key:
            return self._page[1]
        lines: list[tuple[int, int]] = []
        row = top
        while len(lines) < height and row < len(self.model):
            lines.extend((row, part) for part in range(self._line_count(row)))
            row += 1
        self._page = (key, lines)
        return lines

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        styles = self._row_styles()
        base = styles["base"]
        if self.wrap:
            lines = self._page_lines(int(scroll_y))
            if y >= len(lines):
                return Strip.blank(width, base)
            index, part = lines[y]
            scroll_x = 0
        else:
            index, part = y + int(scroll_y), 0
            if index >= len(self.model):
                return Strip.blank(width, base)
        strip = self._strips(index)[part]
        cursor = index == self.cursor_line
        return strip.crop_extend(scroll_x, scroll_x + width, styles["cursor"] if cursor else base)

    def _widen(self) -> None:
        if self._widest > self.virtual_size.width:
            self._set_virtual_size(Size(self._widest, len(self.model) + self._tail_lines))

    # -- mouse -----------------------------------------------------------------------------
    def on_click(self, event: events.Click) -> None:
        index = event.y + int(self.scroll_offset.y)
        if self.wrap:
            lines = self._page_lines(int(self.scroll_offset.y))
            if not 0 <= event.y < len(lines):
                return
            index = lines[event.y][0]
        if not 0 <= index < len(self.model):
            return
        x = event.x + int(self.scroll_offset.x)
        start = 2 + (len(attributes(self.model.nodes[index])) if self.attributes_shown else 0)
        glyph = start + len(self.model.guides(index, self.guide_budget(start))) - 4
        self.cursor_line = index
        if (
            glyph <= x < glyph + 4
            and self.model.can_fold(index)
            or x < 1
            and self.model.can_fold(index)
        ):
            self.action_toggle_dir()

    # -- actions ---------------------------------------------------------------------------
    def action_cursor_up(self) -> None:
        self.cursor_line -= 1

    def action_cursor_down(self) -> None:
        self.cursor_line += 1

    def action_page_up(self) -> None:
        self.cursor_line -= max(1, self.scrollable_content_region.height)

    def action_page_down(self) -> None:
        self.cursor_line += max(1, self.scrollable_content_region.height)

    def action_cursor_home(self) -> None:
        self.cursor_line = 0

    def action_cursor_end(self) -> None:
        self.cursor_line = len(self.model) - 1

    def action_scroll_columns(self, step: int) -> None:
        """Scroll the rows sideways by :data:`HORIZONTAL_STEP` cells (``step`` -1 or 1)."""
        self.scroll_to(
            x=max(0, int(self.scroll_offset.x) + step * HORIZONTAL_STEP),
            animate=False,
            immediate=True,
        )

    def action_toggle_wrap(self) -> None:
        """Wrap long rows onto further lines, or cut them at the pane's edge."""
        self.wrap = not self.wrap
        self.post_message(self.SettingsChanged())

    def action_toggle_dir(self) -> None:
        """Collapse or expand the directory under the cursor."""
        if self.model.toggle(self.cursor_line):
            self._rows_changed()

    def action_view_file(self) -> None:
        path = self.cursor_path
        # (a directory: nothing; dive's ctrl+m arrives as Enter and must not fold anything)
        if path is not None and not self.model.is_dir(self.cursor_line):
            self.post_message(self.PathAction(path, extract=False))

    def action_extract_file(self) -> None:
        path = self.cursor_path
        if path is not None:
            self.post_message(self.PathAction(path, extract=True))

    def action_toggle_all(self) -> None:
        """Collapse every directory, or expand every directory if all are collapsed."""
        self.rebuild(lambda model: model.toggle_all())

    def action_toggle_sort(self) -> None:
        """Sort by name, or by size (largest first)."""
        self.rebuild(lambda model: model.toggle_sort())

    def action_toggle_attributes(self) -> None:
        """Show or hide the attribute column (it needs a pane of ATTRIBUTES_MIN_WIDTH cells)."""
        self.show_attributes = not self.show_attributes
        if self.show_attributes and not self.attributes_shown:
            self.notify(
                f"The attributes need a file tree pane of {ATTRIBUTES_MIN_WIDTH} columns: "
                "widen the terminal or the pane (filetree.pane-width)",
                severity="warning",
            )
        self.post_message(self.SettingsChanged())

    def action_toggle_diff(self, name: str) -> None:
        """Show or hide the rows of one change type (``name``: its config name, ``"added"``)."""
        diff = DiffType.from_config_name(name)
        self.rebuild(lambda model: model.toggle_hidden(diff))

    def action_enter_dir(self) -> None:
        """Expand the directory under the cursor and step onto its first child."""
        index = self.cursor_line
        if not 0 <= index < len(self.model) or not self.model.can_fold(index):
            return
        if self.model.expand(index):
            self._rows_changed()
        self.cursor_line = index + 1

    def action_parent_dir(self) -> None:
        """Move the cursor to the parent directory."""
        if not 0 <= self.cursor_line < len(self.model):
            return
        parent = self.model.parent_index(self.cursor_line)
        if parent is not None:
            self.cursor_line = parent

    def set_filter(self, text: str) -> bool:
        """Filter paths by a regular expression; False (and the old filter kept) when invalid."""
        path = self.cursor_path
        old = self.model.generation
        ok = self.model.set_filter(text)
        if self.model.generation != old:
            self._rows_changed(path if path is not None else "")
            self.post_message(self.SettingsChanged())
        return ok

    def describe_settings(self) -> str:
        """Return a short text of the active sort, hidden types and filter (for the pane title)."""
        parts = []
        if self.model.sort is SortOrder.SIZE:
            parts.append("by size")
        hidden = [
            name for name in CONFIG_NAMES if DiffType.from_config_name(name) in self.model.hidden
        ]
        if hidden:
            parts.append("hiding " + ", ".join(hidden))
        if self.model.pattern_text:
            parts.append(f"filter /{self.model.pattern_text}/")
        if self.wrap:
            parts.append("wrapped")
        return " · ".join(parts)
