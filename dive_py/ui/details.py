"""Provides the text of the Layer Details and Image Details panes, and the inefficient files table.

The table is a Line API :class:`~textual.scroll_view.ScrollView` (as the file tree is): an image
with a million entries can list a hundred thousand inefficient paths, and a ``DataTable`` builds
and measures every row up front (seconds at that size); this one renders only the rows on
screen.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import ClassVar

import humanize
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dive_py.display_text import escape_text
from dive_py.domain.analysis import Analysis
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.efficiency import InefficientPaths
from dive_py.domain.image import Layer
from dive_py.ui.list_bindings import LIST_MOVES

HORIZONTAL_STEP = 8
"""Cells the inefficient files list (and the file tree) move per horizontal scroll key."""


def _label(text: Text, label: str, value: str) -> None:
    text.append(f"{label:<9}", style="bold")
    text.append(value)
    text.append("\n")


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)")


def parse_created(created: str) -> datetime | None:
    """Return a history step's ``created`` time (RFC 3339, as Docker writes it: up to nine
    fraction digits, ``Z`` or an offset) as an aware datetime, or None when it is not one."""
    match = _RFC3339.fullmatch(created.strip())
    if match is None:
        return None
    day, clock, fraction, zone = match.groups()
    micro = f".{(fraction or '')[:6]:0<6}"
    offset = "+00:00" if zone in ("Z", "z") else zone
    try:
        return datetime.fromisoformat(f"{day}T{clock}{micro}{offset}")
    except ValueError:  # a day or hour out of range
        return None


def now_utc() -> datetime:
    """The current time, aware (UTC): what creation times are relative to in the explorer."""
    return datetime.now(timezone.utc)


def created_text(created: str, now: datetime | None = None) -> str:
    """Return ``created`` as a person reads it: the timestamp and how long ago it was, in
    ``docker image history``'s words (``"2024-05-01T12:00:00Z (3 weeks ago)"``, via
    :func:`humanize.naturaltime`); the text as written when it is not a time, ``"(unknown)"``
    when empty. ``now`` defaults to the current time."""
    text = escape_text(created)
    if not text:
        return "(unknown)"
    when = parse_created(created)
    if when is None:
        return text
    ago = humanize.naturaltime(when, when=now or now_utc())
    return f"{text} ({ago})"


def layer_details(layer: Layer | None, layer_count: int, now: datetime | None = None) -> Text:
    """Return the Layer Details text: index, diff ID, digest, size, the stored blob's size
    and media type when the source knows them (see :func:`blob_rows`), created, full command.

    ``now`` (default: the current time) is what the creation time is said to be relative to.
    """
    text = Text()
    if layer is None:
        text.append("(no layers)")
        return text
    _label(text, "Layer:", f"{layer.index + 1} of {layer_count} (index {layer.index})")
    _label(text, "Diff ID:", escape_text(layer.diff_id))
    _label(text, "Digest:", escape_text(layer.digest) or "(not recorded)")
    _label(text, "Size:", format_bytes(layer.size_bytes))
    for label, value in blob_rows(layer):
        text.append(label, style="bold")
        text.append(f" {value}\n")
    _label(text, "Created:", created_text(layer.step.created, now))
    text.append("Command:\n", style="bold")
    text.append(escape_text(layer.step.created_by or layer.step.command) or "(none)")
    return text


def blob_rows(layer: Layer) -> list[tuple[str, str]]:
    """The Layer Details lines only a registry-like source knows (issue 15): ``("Compressed:",
    bytes of the stored blob, what a pull downloads)`` and ``("Media type:", the blob's media
    type)``, each only when the source recorded it (registry; the engine hides both)."""
    rows = []
    if layer.compressed_size_bytes is not None:
        rows.append(("Compressed:", format_bytes(layer.compressed_size_bytes)))
    if layer.media_type:
        rows.append(("Media type:", escape_text(layer.media_type)))
    return rows


def short_image_id(image_id: str) -> str:
    """Return ``image_id`` as ``docker images`` shows it: the first 12 hex digits of the digest
    (``"sha256:4b2e9d0e1c3a…"`` -> ``"4b2e9d0e1c3a"``); a value that is not a digest as it is."""
    _, _, digest = image_id.rpartition(":")
    if len(digest) > 12 and all(char in "0123456789abcdef" for char in digest):
        return digest[:12]
    return image_id


def tags_text(tags: list[str], *, first: str = "", width: int | None = None) -> str:
    """Return an image's repo tags for Image Details: all of them, comma separated, or
    ``"(none)"``.

    Short form, when ``width`` (cells) is given: one tag (``first`` when it is one of them,
    else the first) and how many more (``"app:1 (+2 more)"``; the pane's tooltip has them all),
    the tag cut at its start (``"…/web:1.4.2 (+2 more)"``: the repository's end and the tag
    tell most) to fit ``width``.
    """
    if not tags:
        return "(none)"
    if width is None:
        return ", ".join(escape_text(tag) for tag in tags)
    shown = escape_text(first if first in tags else tags[0])
    more = f" (+{len(tags) - 1} more)" if len(tags) > 1 else ""
    room = width - len(more)
    if cell_len(shown) > room > 1:
        shown = "…" + shown[len(shown) - room + 1 :]
    return shown + more


SUMMARY_FULL_MIN_HEIGHT = 10
"""The Image Details pane's content height (lines) from which every figure gets its own line
under dive's label; in a smaller pane the figures share lines under short labels."""


def _sharing_rows(analysis: Analysis, *, short: bool = False) -> list[tuple[str, str]]:
    """The image's bytes split into shared (layers another local image holds too) and unique
    (what deleting the image frees); none when the source knows no other images."""
    sharing = analysis.sharing
    if sharing is None:
        return []
    return [
        ("Shared:" if short else "Shared with other images:", format_bytes(sharing.shared_bytes)),
        ("Unique:" if short else "Unique to this image:", format_bytes(sharing.unique_bytes)),
    ]


def _compressed_rows(analysis: Analysis, *, short: bool = False) -> list[tuple[str, str]]:
    """The bytes a pull downloads (every layer blob as stored), when the source knows every
    layer's (the registry source); none otherwise."""
    compressed = analysis.image.compressed_size_bytes
    if compressed is None:
        return []
    return [("Compressed:" if short else "Compressed size:", format_bytes(compressed))]


def image_summary(
    analysis: Analysis,
    image_name: str,
    *,
    width: int | None = None,
    compact: bool = False,
    with_name: bool = True,
) -> Text:
    """Return the Image Details figures: efficiency, wasted and reclaimable bytes, total size,
    the compressed total when the source knows it (what a pull downloads), image name, tags
    (the archive's or engine's repo tags, see :func:`tags_text`) and ID (the ID shortened to 12
    hex digits, as docker shows it; the full one is the pane's tooltip).

    Args:
        analysis: the analysed image.
        image_name: the name shown for it.
        width: the cells a line may take (compact form: where lines break); the caller
            leaves out the summary's padding and the scroll bar a long summary gets.
        compact: short labels, as many figures per line as fit ``width``, the name, ID and size
            first, so that in a 24-row terminal they show together with the efficiency.
        with_name: include the image name (compact form only; the pane's subtitle shows it).
            The compact form gives the tags last, shortened (:func:`tags_text`), first
            instead of the name when the name is one of several tags, and leaves them out
            when the only tag is the name.
    """
    image, eff = analysis.image, analysis.efficiency
    text = Text()
    short_id = escape_text(short_image_id(image.image_id))
    if not compact:
        rows = [
            ("Efficiency score:", f"{int(100 * eff.score)} %"),
            ("Potential wasted space:", format_bytes(eff.wasted_bytes)),
            ("Reclaimable bytes:", format_bytes(eff.reclaimable_bytes)),
            ("Total size:", format_bytes(eff.size_bytes)),
            *_compressed_rows(analysis),
            *_sharing_rows(analysis),
            ("Image name:", escape_text(image_name)),
            # A lone tag that is the image name is said once, as in the short form.
            *([] if image.repo_tags == [image_name] else [("Tags:", tags_text(image.repo_tags))]),
            ("Image ID:", short_id),
        ]
        for index, (label, value) in enumerate(rows):
            text.append(label, style="bold")
            text.append(f" {value}")
            if index < len(rows) - 1:
                text.append("\n")
        return text
    # The tags come last, shortened, and stand in for the name when it is one of several tags;
    # a lone tag that is the name is said once.
    tags = image.repo_tags
    room = (width or 80) - len("Tags: ")
    tag_cell = ("Tags:", tags_text(tags, first=image_name, width=room))
    name_cells: list[tuple[str, str]] = []
    if with_name:
        name_cells = (
            [tag_cell]
            if image_name in tags and len(tags) > 1
            else [("Image:", escape_text(image_name))]
        )
    cells = [
        *name_cells,
        ("ID:", short_id),
        ("Size:", format_bytes(eff.size_bytes)),
        *_compressed_rows(analysis, short=True),
        *_sharing_rows(analysis, short=True),
        ("Efficiency score:", f"{int(100 * eff.score)} %"),
        ("Wasted:", format_bytes(eff.wasted_bytes)),
        ("Reclaimable:", format_bytes(eff.reclaimable_bytes)),
    ]
    if tag_cell not in name_cells and tags != [image_name]:
        cells.append(tag_cell)
    used = 0
    for label, value in cells:
        cell = len(label) + 1 + cell_len(value)
        if used and (width is None or used + 2 + cell > width):
            text.append("\n")
            used = 0
        elif used:
            text.append("  ")
            used += 2
        text.append(label, style="bold")
        text.append(f" {value}")
        used += cell
    return text


_HEADERS = ("Count", "Total Space", "Path")
_CELL_META = tuple(Style.from_meta({"column": column}) for column in range(3))
"""Per-cell meta (as a DataTable's): keeps the cells separate segments, hence separate SVG texts."""


class InefficientTable(ScrollView, can_focus=True):
    """The inefficient files (count, wasted bytes, path), largest first; Enter jumps to a path.

    One header line, then one line per path; only the lines on screen are rendered. Columns
    are padded by one cell on each side, as a ``DataTable``'s.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *LIST_MOVES,
        Binding("home", "cursor_first", "First row", show=False, id="home"),
        Binding("end", "cursor_last", "Last row", show=False, id="end"),
        Binding("shift+left", "scroll_columns(-1)", "Scroll left", show=False, id="scroll-left"),
        Binding("shift+right", "scroll_columns(1)", "Scroll right", show=False, id="scroll-right"),
        Binding(
            "enter",
            "select_cursor",
            "Show in tree",
            id="jump-to-file",
            tooltip="Show this path in the file tree",
        ),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {"inefficient--header", "inefficient--cursor"}

    DEFAULT_CSS = """
    InefficientTable {
        background: $surface;
        color: $foreground;
        & > .inefficient--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .inefficient--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus {
            background-tint: $foreground 5%;
            & > .inefficient--header { background-tint: $foreground 5%; }
            & > .inefficient--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
    }
    """

    cursor_row: var[int] = var(0, always_update=True)
    """Index of the highlighted path (in ``analysis.efficiency.inefficient``)."""

    class PathChosen(Message):
        """A row was chosen: show ``path`` in the file tree."""

        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

    def __init__(self, analysis: Analysis, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.analysis = analysis
        items = analysis.efficiency.inefficient
        if isinstance(items, InefficientPaths):  # (no item made: issue 11)
            most, longest = items.max_count(), items.max_path_length()
        else:
            most = max((item.count for item in items), default=0)
            longest = max((len(item.path) for item in items), default=0)
        self._count_width = max(len(_HEADERS[0]), len(str(most)))
        self._space_width = max(len(_HEADERS[1]), 8)  # format_bytes gives at most "999.9 kB"
        self._path_width = max(len(_HEADERS[2]), longest)
        self._cache: LRUCache[tuple[int, bool, bool], Strip] = LRUCache(256)
        self._widest = 0

    @property
    def row_count(self) -> int:
        """The number of paths listed."""
        return len(self.analysis.efficiency.inefficient)

    def on_mount(self) -> None:
        self._sized()

    def _sized(self) -> None:
        self.virtual_size = Size(
            max(self._widest, self.scrollable_content_region.width), self.row_count + 1
        )

    def _cells(self, index: int | None) -> tuple[str, str, str]:
        """The three padded cells of row ``index`` (None: the header), as a DataTable pads them."""
        if index is None:
            count, space, path = _HEADERS
        else:
            item = self.analysis.efficiency.inefficient[index]
            count, space, path = (
                str(item.count),
                format_bytes(item.wasted_bytes),
                escape_text(item.path),
            )
        return (
            f" {count:>{self._count_width}} ",
            f" {space:>{self._space_width}} ",
            f" {path:<{self._path_width}} ",
        )

    # -- rendering -------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("inefficient--header")
            return Strip(
                [
                    Segment(cell, style + meta)
                    for cell, meta in zip(self._cells(None), _CELL_META, strict=False)
                ]
            ).crop_extend(scroll_x, scroll_x + width, style)
        index = y - 1 + scroll_y
        if index >= self.row_count:
            return Strip.blank(width, base)
        cursor = index == self.cursor_row
        key = (index, cursor, self.has_focus)
        strip = self._cache.get(key)
        style = base
        if cursor:
            style = base + self.get_component_rich_style("inefficient--cursor")
        if strip is None:
            strip = Strip(
                [
                    Segment(cell, style + meta)
                    for cell, meta in zip(self._cells(index), _CELL_META, strict=False)
                ]
            )
            self._cache[key] = strip
            if strip.cell_length > self._widest:
                self._widest = strip.cell_length
                if self._widest > self.virtual_size.width:
                    self.call_later(self._sized)
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def on_focus(self) -> None:
        self._cache.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._cache.clear()
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._sized()

    # -- cursor ----------------------------------------------------------------------------
    @property
    def _body_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def validate_cursor_row(self, value: int) -> int:
        return max(0, min(value, self.row_count - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        top = int(self.scroll_offset.y)
        height = self._body_height
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + height:
            self.scroll_to(y=new - height + 1, animate=False, immediate=True)
        self.refresh()

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_page_up(self) -> None:
        self.cursor_row -= self._body_height

    def action_page_down(self) -> None:
        self.cursor_row += self._body_height

    def action_cursor_first(self) -> None:
        self.cursor_row = 0

    def action_cursor_last(self) -> None:
        self.cursor_row = self.row_count - 1

    def action_scroll_columns(self, step: int) -> None:
        """Scroll the rows sideways by :data:`HORIZONTAL_STEP` cells (``step`` -1 or 1); the
        inherited left / right keys scroll too."""
        self.scroll_to(
            x=max(0, int(self.scroll_offset.x) + step * HORIZONTAL_STEP),
            animate=False,
            immediate=True,
        )

    def action_select_cursor(self) -> None:
        """Show the path under the cursor in the file tree."""
        items = self.analysis.efficiency.inefficient
        if 0 <= self.cursor_row < len(items):
            self.post_message(self.PathChosen(items[self.cursor_row].path))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        index = event.y - 1 + int(self.scroll_offset.y)
        if not 0 <= index < self.row_count:
            return
        if index == self.cursor_row:
            self.action_select_cursor()
        else:
            self.cursor_row = index
