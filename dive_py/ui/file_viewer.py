"""Provides :class:`FileViewerScreen`: one layer's version of a file, and its diff to the version below.

Enter on a file in the tree opens it (:mod:`dive_py.domain.file_content` finds the version
and reads at most 1 MiB of it in a worker thread; Esc cancels a slow read). Text is shown in
Textual's read-only :class:`~textual.widgets.TextArea` (syntax highlighting chosen by name
and content: tree-sitter when installed, else Rich's Syntax up to
:data:`HIGHLIGHT_LIMIT` bytes), binary data as a hex dump, images and archives as their basic
facts (type, size, an image's dimensions). ``d`` shows the diff against the version below
(the same path in the layers under the one that wrote it): a unified diff for text, or
"same content, mode changed 0644 -> 0755" when only metadata changed.
"""

from __future__ import annotations

import difflib
import importlib.util
import struct
import time
from typing import ClassVar

from rich.segment import Segment
from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Footer, Static, TextArea
from textual.worker import get_current_worker

from dive_py.display_text import escape_text
from dive_py.domain.analysis import Analysis
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.compare import CompareMode
from dive_py.domain.compression import Compression
from dive_py.domain.file_content import (
    VIEW_LIMIT,
    CancelCheck,
    ContentCancelled,
    ContentError,
    ContentProgress,
    ContentReader,
    FileContent,
    FileVersion,
    locate_version,
)

HIGHLIGHT_LIMIT = 64 << 10
"""Text up to this many bytes is highlighted with Rich's Syntax when tree-sitter is missing."""
HEX_LIMIT = 64 << 10
"""Bytes of binary data shown as a hex dump."""
PROGRESS_AFTER = 0.5
"""Seconds a read may take before its progress is shown."""

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "PNG image"),
    (b"\xff\xd8\xff", 0, "JPEG image"),
    (b"GIF8", 0, "GIF image"),
    (b"WEBP", 8, "WebP image"),
    (b"\x1f\x8b", 0, "gzip archive"),
    (b"PK\x03\x04", 0, "zip archive"),
    (b"\x28\xb5\x2f\xfd", 0, "zstd archive"),
    (b"\xfd7zXZ\x00", 0, "xz archive"),
    (b"BZh", 0, "bzip2 archive"),
    (b"ustar", 257, "tar archive"),
)
_TREE_SITTER = importlib.util.find_spec("tree_sitter") is not None
_LANGUAGES = {
    ".py": "python",
    ".sh": "bash",
    ".bash": "bash",
    ".css": "css",
    ".go": "go",
    ".html": "html",
    ".java": "java",
    ".js": "javascript",
    ".json": "json",
    ".md": "markdown",
    ".rs": "rust",
    ".sql": "sql",
    ".toml": "toml",
    ".xml": "xml",
    ".yaml": "yaml",
    ".yml": "yaml",
}


def file_kind(data: bytes) -> str:
    """``"text"``, ``"binary"``, or an image/archive type name (``"PNG image"``) by magic bytes."""
    for magic, offset, name in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return name
    head = data[:8192]
    if b"\0" in head:
        return "binary"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end
            return "binary"
    return "text"


def facts(kind: str, content: FileContent) -> str:
    """The basic facts of an image or archive: type, size, and an image's dimensions."""
    lines = [f"type: {kind}", f"size: {content.size} bytes ({format_bytes(content.size)})"]
    data = content.data
    if kind == "PNG image" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        lines.append(f"dimensions: {width} x {height}")
    elif kind == "GIF image" and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        lines.append(f"dimensions: {width} x {height}")
    return "\n".join(lines)


def hex_dump(data: bytes) -> str:
    """``xxd``-style lines (offset, 16 bytes in hex, printable ASCII) of at most HEX_LIMIT bytes."""
    lines = []
    for offset in range(0, min(len(data), HEX_LIMIT), 16):
        chunk = data[offset : offset + 16]
        hexed = " ".join(chunk[i : i + 2].hex() for i in range(0, len(chunk), 2))
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:08x}: {hexed:<39}  {text}")
    return "\n".join(lines)


def describe_change(below: FileVersion, above: FileVersion) -> str | None:
    """ "same content, mode changed 0644 -> 0755" (and owner) when only metadata differs;
    None when the content differs."""
    old, new = below.data or below.entry, above.data or above.entry
    if old.digest != new.digest or old.size != new.size:
        return None
    changes = []
    if old.mode != new.mode:
        changes.append(f"mode changed {old.mode:04o} -> {new.mode:04o}")
    if (old.uid, old.gid) != (new.uid, new.gid):
        changes.append(f"owner changed {old.uid}:{old.gid} -> {new.uid}:{new.gid}")
    return "same content, " + (", ".join(changes) if changes else "written again unchanged")


def unified_diff(
    below: FileContent, above: FileContent, labels: tuple[str, str] | None = None
) -> str:
    """A unified diff of two text versions (binary: one line saying they differ).

    ``labels`` name the two sides in the diff's header lines; by default the path and the
    layer that wrote each version (``/app/app.py (layer 3)``)."""
    if file_kind(below.data) != "text" or file_kind(above.data) != "text":
        return "binary content differs"
    old = below.data.decode("utf-8", "replace").splitlines(keepends=True)
    new = above.data.decode("utf-8", "replace").splitlines(keepends=True)
    if labels is None:
        where = f"/{above.version.resolved}"
        labels = (
            f"{where} (layer {below.version.layer})",
            f"{where} (layer {above.version.layer})",
        )
    return "".join(difflib.unified_diff(old, new, *labels))


def content_widget(content: FileContent) -> Widget:
    """The viewer's body for one version: highlighted text (Rich's Syntax up to
    :data:`HIGHLIGHT_LIMIT` bytes, else tree-sitter or plain lines), a hex dump of binary
    data, or an image's or archive's facts."""
    kind = file_kind(content.data)
    if kind == "text":
        text = content.data.decode("utf-8", "replace")
        language = _LANGUAGES.get(_extension(content.version.resolved))
        if not _TREE_SITTER and len(content.data) <= HIGHLIGHT_LIMIT:
            lexer = Syntax.guess_lexer(content.version.resolved, text)
            syntax = Static(Syntax(text, lexer, line_numbers=True), classes="viewer-syntax")
            return VerticalScroll(syntax, can_focus=True)
        return text_area(text, language)
    if kind == "binary":
        note = "" if len(content.data) <= HEX_LIMIT else f"\n(first {format_bytes(HEX_LIMIT)})"
        return text_area(hex_dump(content.data) + note, None)
    return VerticalScroll(Static(Text(facts(kind, content)), classes="viewer-facts"))


def text_area(text: str, language: str | None) -> Widget:
    """A read-only view of ``text``: tree-sitter highlighting for ``language`` when installed
    and the text is small, else :class:`TextLines` (drawn only where on screen)."""
    if language is not None and _TREE_SITTER and len(text) <= HIGHLIGHT_LIMIT:
        area = TextArea(
            text, read_only=True, soft_wrap=False, show_line_numbers=True, classes="viewer-text"
        )
        area.language = language
        return area
    return TextLines(text, classes="viewer-text")


class TextLines(ScrollView, can_focus=True):
    """Lines of text with line numbers, drawn only where they are on screen (a 1 MiB file of
    30,000 lines shows at once; a ``TextArea`` first measures every line). Tabs become spaces
    and control characters are escaped, so a file cannot drive the terminal.

    Args:
        text: the text to show.
    """

    DEFAULT_CSS = """
    TextLines { background: $surface; }
    TextLines > .text-lines--gutter { color: $text-muted; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"text-lines--gutter"}

    def __init__(self, text: str, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.text = text
        self.lines = text.split("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self._gutter = len(str(len(self.lines))) + 3
        width = max((len(line) for line in self.lines), default=0)
        self.virtual_size = Size(width + self._gutter + 8, len(self.lines))

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = y + scroll_y
        width = self.scrollable_content_region.width
        if index >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        line = escape_text(self.lines[index].expandtabs(8))
        gutter = f"{index + 1:>{self._gutter - 3}} │ "
        style = self.rich_style
        visible = line[scroll_x : scroll_x + max(0, width - len(gutter))]
        strip = Strip(
            [
                Segment(gutter, style + self.get_component_rich_style("text-lines--gutter")),
                Segment(visible, style),
            ]
        )
        return strip.extend_cell_length(width, style)


class _NotSeekable(Exception):
    """A version needs more than a seek to read (the worker reads it instead)."""


def viewer_css(screen: str) -> str:
    """Return the modal viewer's stylesheet for the screen class named ``screen``: a bordered
    box of 96% x 94% with a header line and a body (the file viewer and the diff explorer's
    file diff look the same)."""
    return f"""
    {screen} {{
        align: center middle;
        & > #viewer {{ width: 96%; height: 94%; border: round $primary; background: $surface; }}
        & #viewer-header {{ height: auto; padding: 0 1; color: $text-muted; }}
        & #viewer-body {{ height: 1fr; }}
        & TextArea, & TextLines, & #viewer-body > VerticalScroll {{ height: 1fr; }}
    }}
    """


def viewer_bindings(diff_tooltip: str) -> list[BindingType]:
    """The bindings of a viewer screen (ids a user can remap): ``escape``/``q`` close it, ``d``
    switches to the diff and back (``diff_tooltip`` says against what). Each screen declares
    them itself: the help screen and the command palette list what a class declares.
    """
    return [
        Binding("escape,q", "close", "Close", id="close-viewer"),
        Binding("d", "toggle_diff", "Diff", id="toggle-file-diff", tooltip=diff_tooltip),
    ]


class ViewerFrame(ModalScreen[None]):
    """What the file viewer and the diff explorer's file diff share: a box with a header line
    (:meth:`_header`) over a body (``#viewer-body``), a footer, and closing (a read still
    under way stops: :attr:`_cancelled`). Subclasses declare their own bindings, with
    ``close`` among them, and their stylesheet (:func:`viewer_css`).

    Args:
        path: the path shown (absolute or not; kept without its leading ``/``).
    """

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path.strip("/")
        self._cancelled = False

    def compose(self) -> ComposeResult:
        with Vertical(id="viewer"):
            yield Static(f"/{escape_text(self.path)}: reading…", id="viewer-header", markup=False)
            yield Vertical(id="viewer-body")
        yield Footer()

    def _header(self, text: str) -> None:
        self.query_one("#viewer-header", Static).update(text)

    def action_close(self) -> None:
        self._cancelled = True
        self.dismiss(None)


class FileViewerScreen(ViewerFrame):
    """One layer's version of a file: text, hex dump or facts, and the diff to the version below.

    Args:
        analysis: the analysed image.
        index: the layer the tree shows (0 = the base layer).
        path: the path chosen in the tree.
        reader: reads the bytes (made for ``analysis`` when None).
    """

    BINDINGS: ClassVar[list[BindingType]] = viewer_bindings(
        "Show the diff against the version below"
    )

    DEFAULT_CSS = viewer_css("FileViewerScreen")

    def __init__(
        self, analysis: Analysis, index: int, path: str, reader: ContentReader | None = None
    ) -> None:
        super().__init__(path)
        self.analysis = analysis
        self.index = index
        self.reader = reader or ContentReader(analysis)
        self.content: FileContent | None = None
        self.below: FileContent | None = None
        self.change_note: str | None = None
        self.showing_diff = False
        self.removed = False
        """True when the path is gone at :attr:`index` (a removed row): the version shown is
        the one the layer :attr:`removed_by` removed (held by the layer below it)."""
        self.removed_by: int | None = None
        """The layer that removed the path, when :attr:`removed`: :attr:`index` itself in the
        layer-changes mode, possibly a lower layer in the aggregated mode."""

    def on_mount(self) -> None:
        self.query_one("#viewer").border_title = f"/{escape_text(self.path)}"
        if not self._read_at_once():
            self.load()

    def _read_at_once(self) -> bool:
        """Read on the event loop when it costs only seeks (the trees it needs are built and
        every version read lies in an uncompressed layer blob on disk): no thread hop before
        the first paint. False: the worker reads."""
        analysis = self.analysis
        last = len(analysis.image.layers) - 1
        if (
            analysis.cached_tree(self.index, CompareMode.LAYER) is None
            or analysis.cached_tree(last, CompareMode.LAYER) is None
        ):
            return False
        try:
            version = self._locate()
            if not self._seekable(version):
                return False
            if version.layer > 0:
                states = [version.layer - 1, last]
                if any(analysis.cached_tree(i, CompareMode.LAYER) is None for i in states):
                    return False
            content, below, note = self._read_versions(version, None, None, seek_only=True)
        except (ContentError, _NotSeekable):
            return False
        self._loaded(content, below, note)
        return True

    def _locate(self) -> FileVersion:
        """Find the version to show: layer :attr:`index`'s, or, when the path is a removed row
        of the tree, the version its removal took (:attr:`removed` and :attr:`removed_by` set;
        :func:`~dive_py.domain.extract.removing_layer`: the latest layer up to :attr:`index`
        that removed it, as the aggregated tree shows it).

        Raises:
            ContentError: no layer up to :attr:`index` holds or removed the path.
        """
        from dive_py.domain.extract import removing_layer

        try:
            return locate_version(self.analysis, self.index, self.path)
        except ContentError:
            remover = removing_layer(self.analysis, self.index, "/" + self.path.lstrip("/"))
            if remover is None:
                raise
            version = locate_version(self.analysis, remover - 1, self.path)
            self.removed, self.removed_by = True, remover
            return version

    def _seekable(self, version: FileVersion) -> bool:
        contents = self.analysis.image.layers[version.layer].contents
        return (
            version.data is not None
            and contents.blob is not None
            and contents.compression is Compression.NONE
            and version.data.path in contents.data_offsets
        )

    def _read_versions(
        self,
        version: FileVersion,
        cancel: CancelCheck | None,
        progress: ContentProgress | None,
        *,
        seek_only: bool = False,
    ) -> tuple[FileContent, FileContent | None, str | None]:
        """Read ``version`` and, when the layers below hold another version of it, either
        describe a metadata-only change or read that version too (for the diff).

        Raises:
            ContentError, ContentCancelled: as :meth:`ContentReader.read`.
            _NotSeekable: ``seek_only`` and the version below needs more than a seek.
        """
        content = self.reader.read(version, VIEW_LIMIT, cancel=cancel, progress=progress)
        below = None
        note = None
        if version.layer > 0 and version.data is not None:
            try:
                lower = locate_version(self.analysis, version.layer - 1, version.resolved)
            except ContentError:
                lower = None
            if lower is not None and lower.data is not None:
                note = describe_change(lower, version)
                if note is None:
                    if seek_only and not self._seekable(lower):
                        raise _NotSeekable
                    below = self.reader.read(lower, VIEW_LIMIT, cancel=cancel)
        return content, below, note

    @work(thread=True, exclusive=True, group="file-viewer")
    def load(self) -> None:
        """Find and read the version (and the one below) in a thread; Esc cancels."""
        worker = get_current_worker()
        started = time.monotonic()

        def cancel() -> bool:
            return self._cancelled or worker.is_cancelled

        def progress(done: int, total: int | None) -> None:
            if time.monotonic() - started > PROGRESS_AFTER:
                of = f" of {format_bytes(total)}" if total else ""
                self.app.call_from_thread(
                    self._header, f"/{escape_text(self.path)}: reading {format_bytes(done)}{of}…"
                )

        try:
            version = self._locate()
            content, below, note = self._read_versions(version, cancel, progress)
        except ContentCancelled:
            return
        except ContentError as exc:
            self.app.call_from_thread(
                self._header, f"cannot show /{escape_text(self.path)}: {exc.one_line()}"
            )
            return
        self.app.call_from_thread(self._loaded, content, below, note)

    def _loaded(self, content: FileContent, below: FileContent | None, note: str | None) -> None:
        self.content, self.below, self.change_note = content, below, note
        version = content.version
        parts = [f"layer {self.index}: written by layer {version.layer}"]
        if self.removed:
            parts = [
                f"removed by layer {self.removed_by}; this version written by layer {version.layer}"
            ]
        step = self.analysis.image.layers[version.layer].command
        if step:
            parts.append(escape_text(step if len(step) <= 60 else step[:59] + "…"))
        parts.append(f"{content.size} bytes ({format_bytes(content.size)})")
        if version.symlinks:
            chain = " -> ".join(f"/{escape_text(p)}" for p in (*version.symlinks, version.resolved))
            parts.append(f"symlink: {chain}")
        if version.data is not None and version.data.path != version.resolved:
            parts.append(f"hardlink to /{escape_text(version.data.path)}")
        if content.truncated:
            parts.append(f"showing the first {format_bytes(len(content.data))} only")
        if note is not None:
            parts.append(f"below: {note}")
        elif below is not None:
            parts.append("d: diff against the version below")
        self._header(" · ".join(parts))
        self._show()

    def _show(self) -> None:
        body = self.query_one("#viewer-body", Vertical)
        body.remove_children()
        content = self.content
        if content is None:
            return
        if self.showing_diff and self.below is not None:
            body.mount(text_area(unified_diff(self.below, content), "diff"))
            return
        body.mount(content_widget(content))

    def action_toggle_diff(self) -> None:
        if self.below is None:
            self.notify(self.change_note or "no other version below", timeout=3)
            return
        self.showing_diff = not self.showing_diff
        self._show()


def _extension(path: str) -> str:
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""
