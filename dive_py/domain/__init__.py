"""Provides divepy's domain core: image sources, layer parsing, file trees, efficiency, export.

Nothing in this package imports Textual; ``--ci`` and ``--json`` run on it alone.
"""
