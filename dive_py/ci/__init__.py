"""Provides CI mode: the rules (:mod:`.rules`), their evaluation (:mod:`.evaluate`), the text
report and exit code (:mod:`.report`) and the JUnit XML report (:mod:`.junit`).

Nothing here imports Textual: CI mode must run on machines without a terminal.
"""
