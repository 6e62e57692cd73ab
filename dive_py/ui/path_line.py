"""Provides :class:`PathLine`: the full path of the file tree's cursor row, under the tree.

A deep or long name is cut in the tree (or its outer levels elided, see the indent budget in
:meth:`~dive_py.ui.tree_rows.TreeRows.guides`); this line always shows the whole absolute
path, and where a symbolic or hard link points, wrapping onto more lines when it needs them.
A directory whose row shows fewer bytes than it holds (rows hidden below it by hidden change
types or a filter) gets its full size here: ``"12 kB shown of 48 MB"``.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from dive_py.display_text import escape_text
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.entry import EntryType
from dive_py.domain.file_tree import FileNode

LINK_WORDS = {EntryType.SYMLINK: "symlink", EntryType.HARDLINK: "hard link"}


def path_text(path: str | None, node: FileNode | None, shown_size: int | None = None) -> Text:
    """Return the line's text: ``path`` (escaped), then `` → target (symlink)`` or
    `` → target (hard link)`` for a link; ``"(no rows)"`` when ``path`` is None.

    ``shown_size`` (bytes) is what ``node``'s row shows; when it is not the node's full
    ``size`` (rows hidden below a directory), the line adds ``"  <shown> shown of <full>"``.
    """
    if path is None:
        return Text("(no rows)", style="italic")
    text = Text(escape_text(path))
    if node is not None:
        entry = node.shown_entry
        word = LINK_WORDS.get(entry.type)
        if word is not None:
            text.append(" → ", style="bold")
            text.append(escape_text(entry.linkname))
            text.append(f" ({word})", style="italic")
        if shown_size is not None and shown_size != node.size:
            text.append(
                f"  {format_bytes(shown_size)} shown of {format_bytes(node.size)}", style="italic"
            )
    return text


class PathLine(Static):
    """The cursor row's full path (and link target), wrapped when it is wider than the pane."""

    DEFAULT_CSS = """
    PathLine {
        height: auto;
        max-height: 6;
        padding: 0 1;
        background: $panel;
        color: $foreground;
    }
    """

    def show_path(
        self, path: str | None, node: FileNode | None, shown_size: int | None = None
    ) -> None:
        """Show ``path`` (and ``node``'s link target, and its full size when its row shows
        ``shown_size`` bytes of it); a layout pass only when the number of lines changes (a
        layout pass redraws the whole screen)."""
        self.update(path_text(path, node, shown_size), layout=False)
        width = self.content_size.width
        if (
            not width
            or self.get_content_height(self.container_size, self.app.size, width)
            != self.content_size.height
        ):
            self.refresh(layout=True)
