"""Provides :class:`CiOptions`: what the command line asks of CI mode, as one typed value.

It is built once from the parsed flags (:meth:`CiOptions.from_arguments`) and handed to
:func:`~dive_py.ci.rules.load_rules` (which reads ``config_path`` and ``rule_flags``) and to
:func:`~dive_py.ci.run.run_ci`.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from dive_py.ci.rules import RULE_SPECS


@dataclass(frozen=True, slots=True)
class CiOptions:
    """The CI-mode flags of one ``divepy`` run.

    Attributes:
        config_path: the ``--ci-config`` value as given (relative to the working directory), or
            None to look for ``.dive-ci`` in the working directory.
        rule_flags: rule name (``lowestEfficiency``) -> threshold text as given on the command
            line (``"0.95"``, ``"20MB"``, ``"disabled"``), for the rule flags that were given.
        all_files: ``--ci-all-files``: the report lists every inefficient file.
        junit_path: ``--junit FILE``: also write the JUnit XML report there; None for none.
    """

    config_path: str | None = None
    rule_flags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    all_files: bool = False
    junit_path: str | None = None

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> CiOptions:
        """Return the CI options of ``divepy``'s parsed flags.

        Args:
            args: the namespace of :func:`dive_py.cli.build_parser`: ``ci_config``,
                ``ci_all_files``, ``junit`` and one attribute per rule name (None when that
                flag was not given).
        """
        given = vars(args)
        flags = {
            spec.name: str(given[spec.name])
            for spec in RULE_SPECS
            if given.get(spec.name) is not None
        }
        return cls(
            config_path=args.ci_config,
            rule_flags=MappingProxyType(flags),
            all_files=bool(args.ci_all_files),
            junit_path=args.junit,
        )
