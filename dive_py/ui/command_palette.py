"""Provides :class:`ExplorerPalette`: Textual's command palette, safe from its page keys.

Textual 8.2.8 (the newest 8.x) raises ``KeyError`` in ``OptionList._move_page`` when PageUp or
PageDown reaches the palette's command list before the list has been laid out: the palette
shows its list only once the first search finishes, and a search slower than its 0.25 s batch
time adds (and highlights) commands in between, so a quick PageDown after ``ctrl+p`` ended the
app. The option list maps options to lines only when it has a size, so a page move with no
size has nothing to move through; this palette skips it (the next key, once the list is
drawn, pages as usual). Every palette divepy opens (commands, themes) is this one.
"""

from __future__ import annotations

from textual.command import CommandList, CommandPalette

PAGE_ACTIONS = frozenset({"page_up", "page_down"})
"""The command list actions that need its lines laid out (``OptionList._move_page``)."""


class ExplorerPalette(CommandPalette):
    """The command palette, with page moves ignored while its list has no size."""

    def _action_command_list(self, action: str) -> None:
        """Pass ``action`` on to the command list, unless it is a page move the list cannot
        make yet (no size: not laid out, or hidden while the palette loads)."""
        if action in PAGE_ACTIONS and not self.query_one(CommandList).scrollable_content_region:
            return
        super()._action_command_list(action)
