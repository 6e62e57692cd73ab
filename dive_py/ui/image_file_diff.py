"""Provides :class:`ImageFileDiffScreen`: one path of two images, A's version against B's.

The diff explorer's Enter on a file opens it. Each image's final version of the path is found
and read as the file viewer reads a layer's (:func:`~dive_py.domain.file_content.locate_version`
at the image's last layer, :class:`~dive_py.domain.file_content.ContentReader` from the
image's own source, at most 1 MiB, in a worker thread; Esc cancels a slow read):

* a path in both images whose bytes differ: the unified diff of A's text against B's
  (``--- A /path`` / ``+++ B /path``), or "binary content differs";
* the same bytes with other metadata: the header says so ("same content, mode changed 0644
  -> 0755", as the viewer does for a copy-up), and the body shows the file;
* a path in one image only (added, removed) or unchanged: that version, as the viewer shows a
  file (text, hex dump, facts).

``d`` switches between the diff and B's version (A's for a removed path).
"""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.binding import BindingType
from textual.containers import Vertical
from textual.worker import get_current_worker

from dive_py.display_text import escape_text
from dive_py.domain.analysis import Analysis
from dive_py.domain.byte_size import format_bytes
from dive_py.domain.entry import EntryType
from dive_py.domain.file_content import (
    VIEW_LIMIT,
    ContentCancelled,
    ContentError,
    ContentReader,
    FileContent,
    FileVersion,
    locate_version,
)
from dive_py.ui.file_viewer import (
    ViewerFrame,
    content_widget,
    describe_change,
    text_area,
    unified_diff,
    viewer_bindings,
    viewer_css,
)


class ImageFileDiffScreen(ViewerFrame):
    """A path of images A and B: the diff of their versions, or the one version there is.

    Args:
        a, b: the two analysed images.
        path: the path chosen in the diff explorer's tree (absolute or not).
        readers: the readers of A's and B's bytes (made for each analysis when None).
    """

    BINDINGS: ClassVar[list[BindingType]] = viewer_bindings(
        "Switch between the diff of A's and B's versions and B's version"
    )

    DEFAULT_CSS = viewer_css("ImageFileDiffScreen")

    def __init__(
        self,
        a: Analysis,
        b: Analysis,
        path: str,
        readers: tuple[ContentReader, ContentReader] | None = None,
    ) -> None:
        super().__init__(path)
        self.a = a
        self.b = b
        self.readers = readers or (ContentReader(a), ContentReader(b))
        self.before: FileContent | None = None
        """A's version (None when A has no file at the path)."""
        self.after: FileContent | None = None
        """B's version (None when B has no file at the path)."""
        self.note: str | None = None
        """What differs when the bytes are the same (metadata), or why nothing can be diffed."""
        self.showing_diff = True

    def on_mount(self) -> None:
        self.query_one("#viewer").border_title = f"/{escape_text(self.path)}: A → B"
        self.load()

    def _version(self, analysis: Analysis) -> FileVersion | None:
        """The image's final version of the path, or None when it has no file there."""
        last = len(analysis.image.layers) - 1
        if last < 0:
            return None
        try:
            return locate_version(analysis, last, self.path)
        except ContentError:
            return None

    def _link_target(self, analysis: Analysis) -> str:
        """Where the path points in ``analysis`` when it is a symlink there, else ``""``."""
        last = len(analysis.image.layers) - 1
        try:
            entry = locate_version(analysis, last, self.path, follow_last=False).entry
        except ContentError:
            return ""
        return entry.linkname if entry.type is EntryType.SYMLINK else ""

    @work(thread=True, exclusive=True, group="file-diff")
    def load(self) -> None:
        """Find and read both versions in a thread (only what the view needs); Esc cancels."""
        worker = get_current_worker()

        def cancel() -> bool:
            return self._cancelled or worker.is_cancelled

        try:
            a_version, b_version = self._version(self.a), self._version(self.b)
            note = None
            if (
                a_version is not None
                and b_version is not None
                and a_version.data is not None
                and b_version.data is not None
            ):
                note = describe_change(a_version, b_version)
            before = after = None
            if b_version is not None and b_version.data is not None:
                after = self.readers[1].read(b_version, VIEW_LIMIT, cancel=cancel)
            if (
                a_version is not None
                and a_version.data is not None
                and (note is None or after is None)
            ):
                before = self.readers[0].read(a_version, VIEW_LIMIT, cancel=cancel)
            links = (self._link_target(self.a), self._link_target(self.b))
            if links[0] != links[1]:
                moved = f"symlink target {escape_text(links[0]) or '(none)'} -> " + (
                    escape_text(links[1]) or "(none)"
                )
                note = f"{moved}; {note}" if note else moved
        except ContentCancelled:
            return
        except ContentError as exc:
            self.app.call_from_thread(self._header, f"cannot show /{self.path}: {exc.one_line()}")
            return
        self.app.call_from_thread(self._loaded, before, after, note)

    def _loaded(
        self, before: FileContent | None, after: FileContent | None, note: str | None
    ) -> None:
        self.before, self.after, self.note = before, after, note
        parts = []
        for name, content in (("A", before), ("B", after)):
            if content is None:
                continue
            size = f"{content.size} bytes ({format_bytes(content.size)})"
            cut = f", first {format_bytes(len(content.data))} shown" if content.truncated else ""
            parts.append(f"{name}: {size}{cut}")
        if before is None and after is None:
            parts.append("no file at this path in either image (a directory or a device)")
        elif before is None:
            parts.append("only in B (added)")
        elif after is None:
            parts.append("only in A (removed)")
        if note is not None:
            parts.append(note)
        elif before is not None and after is not None:
            parts.append("d: B's version")
        self._header(" · ".join(parts))
        self._show()

    @property
    def diffable(self) -> bool:
        """True when both versions were read (their bytes differ)."""
        return self.before is not None and self.after is not None

    def _show(self) -> None:
        body = self.query_one("#viewer-body", Vertical)
        body.remove_children()
        before, after = self.before, self.after
        if self.showing_diff and before is not None and after is not None:
            where = f"/{self.path}"
            body.mount(text_area(unified_diff(before, after, (f"A {where}", f"B {where}")), "diff"))
            return
        shown = after if after is not None else before
        if shown is not None:
            body.mount(content_widget(shown))

    def action_toggle_diff(self) -> None:
        """Switch between the diff and B's version (when both versions differ in bytes)."""
        if not self.diffable:
            self.notify(self.note or "nothing to compare: one version only", timeout=3)
            return
        self.showing_diff = not self.showing_diff
        self._show()
