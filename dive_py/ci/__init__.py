"""Provides CI mode: the rules (:mod:`.rules`), the command line's CI options (:mod:`.options`),
each rule's check (:mod:`.evaluate`), the one computed verdict (:mod:`.result`), its text
report (:mod:`.report`) and JUnit XML rendering (:mod:`.junit`), and :func:`.run.run_ci`,
which prints the one, writes the other and returns the exit code.

Nothing here imports Textual: CI mode must run on machines without a terminal.
"""
