"""Provides :class:`MainScreen`: layers, layer details, image details, the file tree and the filter bar."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape as escape_markup
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from dive_py.display_text import escape_text
from dive_py.domain.analysis import Analysis
from dive_py.domain.change_type import DiffType
from dive_py.domain.compare import CompareMode
from dive_py.domain.file_tree import BuildCancelled, FileNode
from dive_py.domain.waste import WasteExplanation
from dive_py.explorer_config import ExplorerConfig
from dive_py.ui.container_details import sharing_details
from dive_py.ui.details import (
    SUMMARY_FULL_MIN_HEIGHT,
    InefficientTable,
    image_summary,
    layer_details,
    tags_text,
)
from dive_py.ui.details_scroll import DetailsScroll
from dive_py.ui.explorer_footer import ExplorerFooter
from dive_py.ui.file_tree_view import FileTreeView
from dive_py.ui.layers_table import LayersTable
from dive_py.ui.tree_rows import TreeRows
from dive_py.ui.tree_screen import TreeScreen, tree_screen_bindings

if TYPE_CHECKING:
    from dive_py.domain.file_content import ContentReader

TREE_TITLES = {
    CompareMode.LAYER: "Current Layer Contents",
    CompareMode.AGGREGATED: "Aggregated Layer Contents",
}
MODE_NAMES = {CompareMode.LAYER: "layer changes", CompareMode.AGGREGATED: "aggregated changes"}
PREVIEW_NOTE = "this layer's own paths; the rest is on its way…"
"""The tree pane's subtitle while it shows a layer's preview (see :meth:`MainScreen._tree_worker`)."""
NEXT_LAYER_BEFORE_FIRST_PAINT = 60_000
"""Entries of a layer up to which its tree is built before the first screen is shown, for the
next layer and the top one (see :meth:`MainScreen._prepare_jump_targets`)."""
PREFETCH_IDLE_S = 0.08
"""Background tree building waits until no key or mouse event came for this many seconds."""
LOADING_AFTER_S = 0.15
"""A tree not ready after this many seconds gets the loading indicator (see :meth:`MainScreen.load_tree`)."""


class FilterInput(Input):
    """The path filter input: a regular expression applied as you type; Esc closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "close_filter",
            "Close filter",
            id="close-filter-files",
            tooltip="Close the filter and clear it",
        ),
    ]

    def action_close_filter(self) -> None:
        """Close the filter bar and clear the filter."""
        screen = self.screen
        if isinstance(screen, TreeScreen):
            screen.close_filter(clear=True)


class MainScreen(TreeScreen):
    """The explorer: a left column (layers, layer details, image details) and the file tree."""

    AUTO_FOCUS = "#layers"

    BINDINGS: ClassVar[list[BindingType]] = tree_screen_bindings(
        "Layers -> file tree -> inefficient files -> layer details"
    )

    def __init__(
        self,
        analysis: Analysis,
        *,
        image_name: str,
        config: ExplorerConfig,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.analysis = analysis
        self.env = dict(env) if env is not None else None
        """The environment file contents are read with (registry hosts given as insecure,
        engine endpoint); None: ``os.environ``."""
        self.image_name = image_name
        self.config = config
        hidden = [DiffType.from_config_name(name) for name in config.hide]
        self._empty_root = FileNode("", None, None, None)
        self._empty_root.children = {}
        self.model = TreeRows(self._empty_root, collapse_all=config.collapse_dir, hidden=hidden)
        self.mode = CompareMode.AGGREGATED if config.show_aggregated_changes else CompareMode.LAYER
        self.shown: tuple[int, CompareMode] | None = None
        """The (layer, mode) whose compared tree the pane currently shows."""
        self.previewed: tuple[int, CompareMode] | None = None
        """The (layer, mode) whose preview the pane shows while its compared tree is built
        (see :meth:`_tree_worker`), or None."""
        self._previewing = False
        """A tree worker is building a preview (the background worker waits meanwhile)."""
        self._preparing: tuple[int, CompareMode | None] | None = None
        """What the background worker is building (see :meth:`_prefetch`): ``(layer, mode)``
        for a compared tree, ``(layer, None)`` for a stacked state."""
        self._wanted: tuple[int, CompareMode] | None = None
        """The tree the user waits for (a tree worker is on it)."""
        self._wake = threading.Event()
        """Set when the background worker (:meth:`_prefetch`) should look again at once
        whether it may go on (a tree is awaited, or it was cancelled) instead of finishing its
        nap: it may hold the analysis lock meanwhile."""
        self._loading_timer: Timer | None = None
        """Puts up the loading indicator when the awaited tree is slow (see :meth:`load_tree`)."""
        self._titles: tuple[str, str, str] | None = None
        self._summary_form: tuple[bool, int] | None = None
        self._explanations: list[WasteExplanation] | None = None
        """The waste explanations, once asked for (explaining stacks every layer: it waits
        until the user looks at the inefficient files, so it never delays the first screens)."""
        self._explaining = False

    # -- widgets ---------------------------------------------------------------------------
    @property
    def layers_table(self) -> LayersTable:
        return self.query_one("#layers", LayersTable)

    @property
    def filter_input(self) -> FilterInput:
        return self.query_one("#filter", FilterInput)

    def compose(self) -> ComposeResult:
        width = self.config.pane_width
        container, sharing = self.analysis.container, self.analysis.sharing
        with Horizontal(id="main"):
            with Vertical(id="left") as left:
                left.styles.width = f"{round((1 - width) * 1000)}fr"
                table = LayersTable(
                    self.analysis.image,
                    mode=self.mode,
                    read_write_layer=container.layer_index if container else None,
                    shared_with=sharing.shared_with if sharing else (),
                    id="layers",
                )
                yield table
                with DetailsScroll(id="layer-details", classes="pane"):
                    yield Static(id="layer-details-text")
                with Vertical(id="image-details", classes="pane"):
                    with VerticalScroll(id="image-summary-scroll", can_focus=False):
                        summary = Static(
                            image_summary(self.analysis, self.image_name), id="image-summary"
                        )
                        summary.tooltip = (
                            f"Image ID: {escape_text(self.analysis.image.image_id)}\n"
                            f"Image name: {escape_text(self.image_name)}\n"
                            f"Tags: {tags_text(self.analysis.image.repo_tags)}"
                        )
                        yield summary
                    yield InefficientTable(self.analysis, id="inefficient")
                    yield Static("", id="waste-detail", markup=False)
            with Vertical(id="tree-pane", classes="pane") as right:
                right.styles.width = f"{round(width * 1000)}fr"
                yield from self.compose_tree(self.model, self.config.show_attributes)
        yield from self.compose_filter_bar(
            FilterInput(placeholder="regular expression, e.g. ^/usr/.*\\.py$", id="filter")
        )
        yield ExplorerFooter()

    def on_mount(self) -> None:
        self.layers_table.on_select = self._layer_selected
        self.query_one("#layers").border_title = "Layers"
        self.query_one("#layer-details").border_title = "Layer Details"
        image_pane = self.query_one("#image-details")
        image_pane.border_title = "Image Details"
        image_pane.border_subtitle = escape_markup(
            escape_text(self.image_name)
        )  # never scrolls away
        self._update_titles()
        self._show_layer_details(0)
        self.load_tree(0, self.mode)
        self.watch(self.query_one(InefficientTable), "cursor_row", self._show_waste_detail)

    # -- layer selection -------------------------------------------------------------------
    def _show_layer_details(self, index: int) -> None:
        layers = self.analysis.image.layers
        layer = layers[index] if 0 <= index < len(layers) else None
        static = self.query_one("#layer-details-text", Static)
        details = layer_details(layer, len(layers))
        details.append_text(sharing_details(self.analysis, index))  # containers, shared layers
        static.update(details, layout=False)
        # A layout pass redraws the whole screen: only when the new text needs another height.
        width = static.content_size.width
        if (
            not width
            or static.get_content_height(static.container_size, self.size, width)
            != static.content_size.height
        ):
            static.refresh(layout=True)

    @on(LayersTable.LayerSelected)
    def _layer_selected(self, event: LayersTable.LayerSelected) -> None:
        self.mode = event.mode
        self._show_layer_details(event.index)
        self._update_titles()
        self.load_tree(event.index, event.mode)

    def load_tree(self, index: int, mode: CompareMode) -> None:
        """Show the tree of layer ``index`` in ``mode``.

        A tree that is built already (see :meth:`_prefetch`) is shown at once; otherwise it is
        built in a thread worker while the pane shows a loading indicator, or the layer's
        preview when the worker makes one first (see :meth:`_tree_worker`).

        The indicator waits :data:`LOADING_AFTER_S`: with the stacked states ready (issue 11)
        most trees come sooner, and putting it up and taking it down again costs two redraws
        of the screen that the interface thread would do while the worker compares (one
        interpreter lock).
        """
        if not self.analysis.image.layers:
            return
        self.analysis.favour(mode)
        tree = self.analysis.cached_tree(index, mode)
        if tree is not None and not self.model.needs_visibility_pass:
            self._tree_ready(index, mode, self.model.copy_for(tree.root))
            return
        if self._loading_timer is None:
            self._loading_timer = self.set_timer(LOADING_AFTER_S, self._show_loading)
        self._wanted = (index, mode)
        if not self._helps_wanted():
            self.workers.cancel_group(self, "prefetch")  # this tree first
        self._wake.set()
        self._tree_worker(index, mode, self.model)

    @work(thread=True, exclusive=True, group="tree", name="compared-tree")
    def _tree_worker(self, index: int, mode: CompareMode, model: TreeRows) -> None:
        worker = get_current_worker()

        def stop() -> bool:
            return worker.is_cancelled

        try:
            if self._wants_preview(index, mode):
                self._previewing = True
                try:
                    preview = self.analysis.layer_preview(index, stop=stop)
                finally:
                    self._previewing = False
                shown = model.copy_for(preview.root)
                with contextlib.suppress(RuntimeError):  # the app has exited meanwhile
                    self.app.call_from_thread(self._preview_ready, index, mode, shown)
            while not self.analysis.prepare_state(index, stop=stop):
                pass
            tree = self.analysis.compared_tree(index, mode, stop=stop)
            if self.shown is None:  # the first screen: with the next and top layers ready too
                self._prepare_jump_targets(index, mode, stop)
        except BuildCancelled:
            return  # a newer selection is on its way
        if worker.is_cancelled:
            return
        new = model.copy_for(tree.root)
        with contextlib.suppress(RuntimeError):  # the app has exited meanwhile
            self.app.call_from_thread(self._tree_ready, index, mode, new)

    def _prepare_jump_targets(
        self, index: int, mode: CompareMode, stop: Callable[[], bool]
    ) -> None:
        """Build the trees of layer ``index + 1`` and of the top layer before the first tree is
        shown, each when its layer is small enough (:data:`NEXT_LAYER_BEFORE_FIRST_PAINT`
        entries): the first key a user presses in the layers pane is often ``↓``, or ``end``
        (``pagedown`` when the pane holds every layer) for the final image, and it may come
        right after the first screen, before the background work (:meth:`_prefetch`) could
        prepare anything. The next layer costs the first screen about 0.2 s at 50,000 entries
        when its state is stacked for it; the top layer only its comparison (about 60 ms of
        CPU for its 46,000 entries at 500,000; bench/README.md), so it is left to the
        background work when its state is not stacked yet (an analysis without its states:
        stacking every layer first would cost seconds; the explorer's load keeps them, from
        the cache too).
        """
        layers = self.analysis.image.layers
        last = len(layers) - 1
        for target in dict.fromkeys((index + 1, last)):
            if not index < target <= last:
                continue
            if len(layers[target].contents.entries) > NEXT_LAYER_BEFORE_FIRST_PAINT:
                continue
            if target != index + 1 and not self.analysis.state_ready(target):
                continue
            while not self.analysis.prepare_state(target, stop=stop):
                pass
            self.analysis.compared_tree(target, mode, stop=stop)

    def _wants_preview(self, index: int, mode: CompareMode) -> bool:
        """True when the layer's preview is worth showing first: layer-changes mode, and more
        than the layer's own stacked state is missing (a jump over layers not stacked yet,
        which costs a stacking step per layer before the tree: seconds at 500,000 entries).

        With only the layer's own state missing, stacking it and comparing costs about twice
        the preview (bench/README.md): the preview would come about a third sooner than the
        tree, and delay the tree by as much, so the tree is built at once.
        """
        return mode is CompareMode.LAYER and index > 1 and not self.analysis.state_ready(index - 1)

    def _show_loading(self) -> None:
        """Put up the loading indicator while a tree is awaited (the timer of :meth:`load_tree`)."""
        self._loading_timer = None
        if self._wanted is not None and self.previewed != self._wanted:
            self.tree_view.loading = True

    def _stop_loading(self) -> None:
        """Take the loading indicator down, or keep it from coming up."""
        if self._loading_timer is not None:
            self._loading_timer.stop()
            self._loading_timer = None
        self.tree_view.loading = False

    def _preview_ready(self, index: int, mode: CompareMode, model: TreeRows) -> None:
        """Show the preview of layer ``index`` (the paths it wrote) until its tree is ready."""
        layers = self.layers_table
        if (index, mode) != (layers.layer_index, layers.mode) or self._wanted != (index, mode):
            return  # a newer selection is on its way, or the tree came first
        self.model = model
        self.previewed = (index, mode)
        self.tree_view.set_model(model)
        self._stop_loading()
        self._update_titles()

    def _tree_ready(self, index: int, mode: CompareMode, model: TreeRows) -> None:
        layers = self.layers_table
        if (index, mode) != (layers.layer_index, layers.mode):
            return  # a newer selection is on its way
        self._wanted = None
        self.workers.cancel_group(self, "prefetch")  # stale plans: not while this tree draws
        self._wake.set()
        self.model = model
        self.shown = (index, mode)
        self.previewed = None
        self.tree_view.set_model(model)
        self._stop_loading()
        self._update_titles()
        self.call_after_refresh(self._prefetch, index, mode)

    @work(thread=True, exclusive=True, group="prefetch", name="prefetch-trees")
    def _prefetch(self, index: int, mode: CompareMode) -> None:
        """Build what the next moves will want, after the shown tree is drawn (a thread worker).

        Order: the neighbouring layers' trees in the current mode, then the remaining stacked
        states (so that any layer's tree is quick to make), then the other layers' trees,
        nearest first (as many as the analysis keeps: a few seconds for half a million entries,
        after which any layer shows at once), then this layer's tree in the other compare mode
        (for ctrl+l / ctrl+a).
        A newer selection cancels this worker: the tree or state being built stops within a
        millisecond or two. While keys or clicks arrive, the work pauses at the same points, so
        that it does not slow down the interface (the interpreter lock is shared).
        """
        worker = get_current_worker()
        analysis = self.analysis
        last = len(analysis.image.layers) - 1

        def proceed() -> bool:
            """Wait while keys or clicks come in; False once this worker is cancelled, or when
            a tree worker waits for a tree this build does not lead to (the analysis lock is
            not fair: this thread would take it again and again before the waiting one).

            Called every few hundred nodes inside each build (as its ``stop``), so a build
            leaves the interpreter lock to the interface within a millisecond when the user
            acts, and stops as soon as it is no longer wanted.
            """
            while not worker.is_cancelled:
                if self._previewing:  # a preview is on its way to the screen: it goes first
                    nap(PREFETCH_IDLE_S / 8)
                    continue
                if self._wanted is not None:  # the user waits for a tree:
                    return self._helps_wanted()  # build what it needs, or give way at once
                if time.monotonic() - self.last_input >= PREFETCH_IDLE_S:
                    return True
                nap(PREFETCH_IDLE_S / 4)
            return False

        def nap(seconds: float) -> None:
            """Sleep ``seconds``, or less when :meth:`load_tree` or a new tree wakes this worker
            (a nap inside a build holds the analysis lock: the awaited tree's worker waits)."""
            self._wake.wait(seconds)
            self._wake.clear()

        def stop() -> bool:
            return not proceed()

        def build(target: int, target_mode: CompareMode) -> None:
            self._preparing = (target, target_mode)
            try:
                if not proceed():  # (wait for a quiet moment before taking the analysis lock)
                    raise BuildCancelled
                analysis.compared_tree(target, target_mode, stop=stop)
            finally:
                self._preparing = None

        def stack(target: int) -> None:
            while True:
                self._preparing = (analysis.states_built, None)
                try:
                    if analysis.prepare_state(target, stop=stop):
                        return
                finally:
                    self._preparing = None

        try:
            for target in (index + 1, index - 1):
                if not 0 <= target <= last or analysis.cached_tree(target, mode) is not None:
                    continue
                stack(target)
                build(target, mode)
            stack(last)
            for target in sorted(range(last + 1), key=lambda i: abs(i - index)):
                if target != index and analysis.cached_tree(target, mode) is None:
                    build(target, mode)
            other = CompareMode.AGGREGATED if mode is CompareMode.LAYER else CompareMode.LAYER
            if analysis.cached_tree(index, other) is None:  # for the mode toggle
                build(index, other)
        except BuildCancelled:
            pass  # a newer selection started its own preparation

    def _helps_wanted(self) -> bool:
        """True when the background worker builds what the awaited tree needs: that tree, or a
        state it stands on (states are stacked in order, so any state up to its layer)."""
        wanted, preparing = self._wanted, self._preparing
        if wanted is None or preparing is None:
            return False
        if preparing[1] is None:
            return preparing[0] <= wanted[0]
        return preparing == wanted

    @property
    def last_input(self) -> float:
        """``time.monotonic()`` of the last key or mouse event (the app records it)."""
        return getattr(self.app, "last_input", 0.0)

    # -- titles ----------------------------------------------------------------------------
    def _update_titles(self) -> None:
        """Set the pane titles and the tree header (each only when it changes: a redraw)."""
        view = self.tree_view
        settings = escape_markup(escape_text(view.describe_settings()))
        if self.previewed is not None and self.previewed == self._wanted:
            settings = f"{PREVIEW_NOTE} {settings}".rstrip()
        titles = (TREE_TITLES[self.mode], settings, MODE_NAMES[self.mode])
        if titles != self._titles:
            self._titles = titles
            pane = self.query_one("#tree-pane")
            pane.border_title, pane.border_subtitle = titles[0], titles[1]
            self.query_one("#layers").border_subtitle = titles[2]
        self.update_tree_header()

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_image_summary)  # (the titles follow the tree's resize)

    def _fit_image_summary(self) -> None:
        """Choose the Image Details form for the pane's size: every figure on its own line
        under dive's label when the pane is tall enough, else the compact form (the name, ID
        and size first; the name left out when the pane's subtitle shows it whole)."""
        pane = self.query_one("#image-details")
        width, height = pane.content_size
        compact = height < SUMMARY_FULL_MIN_HEIGHT
        form = (compact, width)
        if form == self._summary_form or not width:
            return
        self._summary_form = form
        name = self.image_name
        shown_whole = len(escape_text(name)) + 6 <= pane.size.width

        cells = width - 2  # (the summary's padding)
        if compact:
            # The compact lines leave room for the scroll bar a long summary gets: with the
            # bar, a line cut to the full width wrapped inside a figure ("Reclaimable: 2.0" /
            # "kB"), and that extra line kept the bar there.
            scroll = self.query_one("#image-summary-scroll", VerticalScroll)
            cells -= scroll.styles.scrollbar_size_vertical
        text = image_summary(
            self.analysis,
            name,
            width=cells,
            compact=compact,
            with_name=not (compact and shown_whole),
        )
        self.query_one("#image-summary", Static).update(text)

    # -- a file's contents -----------------------------------------------------------------
    @on(FileTreeView.PathAction)
    def _path_action(self, event: FileTreeView.PathAction) -> None:
        index = self.shown[0] if self.shown is not None else self.layers_table.layer_index
        if event.extract:
            self._extract(index, event.path)
        else:
            from dive_py.ui.file_viewer import FileViewerScreen

            viewer = FileViewerScreen(self.analysis, index, event.path, self.content_reader())
            self.app.push_screen(viewer)

    def content_reader(self) -> ContentReader:
        """A reader of this image's file contents, made with :attr:`env` (so a registry
        image is read with the ``--insecure-registry`` hosts, as ``divepy diff`` reads it)."""
        from dive_py.domain.file_content import ContentReader

        return ContentReader(self.analysis, env=self.env)

    @work(thread=True, group="extract")
    def _extract(self, index: int, path: str) -> None:
        import os

        from dive_py.domain.extract import extract, removing_layer
        from dive_py.errors import DivepyError

        target = os.getcwd()
        what = f"layer {index}"
        try:
            remover = removing_layer(self.analysis, index, path)
            if remover is not None:
                # a removed row: the version its layer removed, as Enter shows it (in the
                # aggregated mode that layer may be below the selected one)
                what = f"removed by layer {remover}; the version of layer {remover - 1}"
                index = remover - 1
            report = extract(self.content_reader(), index, path, target)
        except DivepyError as exc:
            self.app.call_from_thread(self.notify, exc.one_line(), severity="error", timeout=8)
            return
        skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
        self.app.call_from_thread(
            self.notify,
            f"extracted {escape_text(path)} ({what}) into {escape_text(target)}: "
            f"{len(report.written)} entries{skipped}",
            timeout=8,
        )

    # -- inefficient files -----------------------------------------------------------------
    @work(thread=True, group="waste")
    def _waste_explanations(self) -> None:
        from dive_py.domain.waste import explain_waste

        explanations = explain_waste(self.analysis, self.analysis.dockerfile)
        self.app.call_from_thread(self._waste_ready, explanations)

    def _waste_ready(self, explanations: list[WasteExplanation]) -> None:
        self._explanations = explanations
        self._show_waste_detail(self.query_one(InefficientTable).cursor_row)

    @on(events.DescendantFocus)
    def _inefficient_files_focused(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, InefficientTable):
            self._show_waste_detail(event.widget.cursor_row)

    def _show_waste_detail(self, row: int) -> None:
        from dive_py.domain.waste import detail_line

        inefficient = self.analysis.efficiency.inefficient
        text = ""
        if self._explanations is None:
            if not self._explaining and self.query_one(InefficientTable).has_focus:
                self._explaining = True
                self._waste_explanations()
        elif 0 <= row < len(inefficient):
            text = escape_text(
                detail_line(self.analysis, self._explanations, inefficient[row].path)
            )
        self.query_one("#waste-detail", Static).update(text)

    @on(InefficientTable.PathChosen)
    def _jump(self, event: InefficientTable.PathChosen) -> None:
        self.jump_to(event.path)

    def jump_to(self, path: str) -> bool:
        """Show ``path`` in the file tree and focus it; False when this layer's tree lacks it."""
        view = self.tree_view
        if view.select_path(path):
            view.focus()
            return True
        if view.model.find_node(path) is not None:
            self.notify(
                f"{escape_markup(escape_text(path))} is hidden by the filter or the "
                "hidden change types",
                severity="warning",
            )
        else:
            self.notify(
                f"{escape_markup(escape_text(path))} is not in this layer's tree",
                severity="warning",
            )
        return False

    # -- panes ----------------------------------------------------------------------------
    PANE_ORDER: ClassVar[tuple[str, ...]] = (
        "#layers",
        "#file-tree",
        "#inefficient",
        "#layer-details",
    )
