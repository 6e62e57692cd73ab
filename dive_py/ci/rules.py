"""Provides :func:`load_rules`: the CI thresholds from flags, the ``.dive-ci`` file and defaults.

The file is dive's format (YAML)::

    rules:
      lowestEfficiency: 0.95          # ratio 0..1; FAIL if efficiency < threshold
      highestWastedBytes: 20MB        # human size; FAIL if wastedBytes > threshold
      highestUserWastedPercent: 0.20  # ratio 0..1; FAIL if userWastedPercent > threshold
      highestReclaimableBytes: 10MB   # divepy's own; FAIL if reclaimableBytes > threshold

Rule keys are matched like dive's (viper's) keys, ignoring case, and may also be written in
kebab case (``lowest-efficiency``) or snake case. Other top-level keys (dive's ``plugins:``)
are ignored. Unlike dive, which silently applies the defaults, an unknown rule key is an error
that names the closest valid key. Precedence per rule: a flag given on the command line, then
the file, then the default (0.9, disabled, 0.1, disabled). ``disabled`` skips a rule.

A key given twice in one mapping (``lowestEfficiency`` twice under ``rules:``, or ``rules:``
twice) is an error naming the key and both lines: YAML requires unique keys, and PyYAML would
silently keep the last value (:mod:`dive_py.ci.yaml_keys`).

Every problem (unreadable file, bad YAML, unknown or repeated key, bad or empty value) is collected and
raised at once, as one :class:`~dive_py.errors.UsageError` (exit 2), before the image is read.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dive_py.ci.sizes import ValueProblem, parse_bytes, parse_ratio
from dive_py.ci.yaml_keys import DuplicateKey, duplicate_keys
from dive_py.display_text import escape_text
from dive_py.errors import UsageError

DEFAULT_CONFIG_NAME = ".dive-ci"
DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One CI rule.

    Attributes:
        name: dive's camelCase name (the flag without dashes, the key in ``.dive-ci``).
        kebab: the kebab-case spelling.
        kind: ``"ratio"`` (a number in [0, 1]) or ``"bytes"`` (a human size).
        default: the threshold when neither flag nor file sets it.
    """

    name: str
    kebab: str
    kind: str
    default: str

    @property
    def flag(self) -> str:
        """The command-line flag (camelCase, as dive spells it)."""
        return f"--{self.name}"


RULE_SPECS: tuple[RuleSpec, ...] = (
    RuleSpec("highestReclaimableBytes", "highest-reclaimable-bytes", "bytes", DISABLED),
    RuleSpec("highestUserWastedPercent", "highest-user-wasted-percent", "ratio", "0.1"),
    RuleSpec("highestWastedBytes", "highest-wasted-bytes", "bytes", DISABLED),
    RuleSpec("lowestEfficiency", "lowest-efficiency", "ratio", "0.9"),
)
"""The rules, sorted by name (dive lists results in that order)."""


def _normalise(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "")


_BY_NORMALISED = {_normalise(spec.name): spec for spec in RULE_SPECS}
_SPELLINGS = [spelling for spec in RULE_SPECS for spelling in (spec.name, spec.kebab)]


@dataclass(frozen=True, slots=True)
class Threshold:
    """A rule's effective threshold.

    Attributes:
        spec: the rule.
        text: the value as written (``"20MB"``, ``"0.95"``, ``"disabled"``).
        origin: where it came from: ``"default"``, ``"flag --lowestEfficiency"`` or
            ``"file PATH"`` (escaped for printing).
        value: the parsed threshold (a ratio, or bytes), or None when the rule is disabled.
    """

    spec: RuleSpec
    text: str
    origin: str
    value: float | int | None

    @property
    def disabled(self) -> bool:
        """True when the rule is skipped."""
        return self.value is None


@dataclass(frozen=True, slots=True)
class Rules:
    """The thresholds of every rule, and where the rules file was.

    Attributes:
        thresholds: one per rule, in :data:`RULE_SPECS` order.
        config_path: the rules file read (escaped for printing), or None when none was.
        note: one line for the report saying which configuration is in use.
    """

    thresholds: tuple[Threshold, ...]
    config_path: str | None
    note: str

    def get(self, name: str) -> Threshold:
        """Return the threshold of the rule called ``name``."""
        for threshold in self.thresholds:
            if threshold.spec.name == name:
                return threshold
        raise KeyError(name)


def _closest(key: str) -> str | None:
    matches = difflib.get_close_matches(key, _SPELLINGS, n=1, cutoff=0.5)
    if not matches:
        lowered = {spelling.lower(): spelling for spelling in _SPELLINGS}
        matches = [
            lowered[m]
            for m in difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.5)
        ]
    return matches[0] if matches else None


def _unknown_rule(key: str, where: str) -> str:
    closest = _closest(key)
    if closest is not None:
        return f"unknown rule {escape_text(key)!r} in {where} (did you mean {closest!r}?)"
    names = ", ".join(spec.name for spec in RULE_SPECS)
    return f"unknown rule {escape_text(key)!r} in {where} (valid rules: {names})"


def _yaml_text(value: Any) -> tuple[str | None, str | None]:
    """Return (text, None) for a scalar rule value, or (None, problem); (None, None) for null."""
    if isinstance(value, bool):
        return None, f"{str(value).lower()} is not a number"
    if value is None:
        return None, None
    if isinstance(value, (int, float, str)):
        return (repr(value) if isinstance(value, float) else str(value)), None
    return None, f"expected a single value, got a {type(value).__name__}"


def _duplicate_problem(duplicate: DuplicateKey, shown: str) -> str:
    """The problem of a key given twice (YAML keeps only the last value: never silently)."""
    lines = f"lines {duplicate.first_line} and {duplicate.line}"
    spec = _BY_NORMALISED.get(_normalise(duplicate.key))
    if spec is not None and [parent.lower() for parent in duplicate.parents] == ["rules"]:
        return f"rule {spec.name} is given twice in {shown} ({lines})"
    where = "".join(f"{escape_text(parent)}." for parent in duplicate.parents)
    return f"key {where}{escape_text(duplicate.key)!r} is given twice in {shown} ({lines})"


def _read_file(path: Path, shown: str, problems: list[str]) -> dict[str, str | None]:
    """Read the rule values of the file at ``path``: {rule name: text}; append problems.

    A rule written without a value (``lowestEfficiency:``, YAML null) maps to None: dive
    applies the default then, and so does divepy (saying so in the origin). An explicitly
    empty string (``lowestEfficiency: ""``) is kept, and is misconfigured, as in dive.
    """
    import yaml

    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        problems.append(f"cannot read {shown}: {reason}")
        return {}
    try:
        data = yaml.safe_load(raw)
        duplicates = duplicate_keys(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        problems.append(f"{shown} is not valid YAML{where}: {' '.join(str(problem).split())}")
        return {}
    problems.extend(_duplicate_problem(duplicate, shown) for duplicate in duplicates)
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.append(
            f"{shown} must be a YAML mapping with a 'rules:' key, not a {type(data).__name__}"
        )
        return {}
    rules: Any = None
    found_rules = False
    for key, value in data.items():
        text = str(key)
        if text.lower() == "rules":
            rules, found_rules = value, True
        elif _normalise(text) in _BY_NORMALISED:
            problems.append(
                f"rule {escape_text(text)!r} in {shown} must be indented under 'rules:'"
            )
    if not found_rules:
        for key in data:
            text = str(key)
            if difflib.get_close_matches(text.lower(), ["rules"], n=1, cutoff=0.7):
                problems.append(
                    f"unknown key {escape_text(text)!r} in {shown} (did you mean 'rules'?)"
                )
        return {}
    if rules is None:
        return {}
    if not isinstance(rules, dict):
        problems.append(
            f"'rules' in {shown} must be a mapping of rule names to values, "
            f"not a {type(rules).__name__}"
        )
        return {}
    values: dict[str, str | None] = {}
    given_as: dict[str, str] = {}
    for key, value in rules.items():
        text = str(key)
        spec = _BY_NORMALISED.get(_normalise(text))
        if spec is None:
            problems.append(_unknown_rule(text, shown))
            continue
        if spec.name in given_as:
            problems.append(
                f"rule {spec.name} is given twice in {shown} "
                f"(as {escape_text(given_as[spec.name])!r} and {escape_text(text)!r})"
            )
            continue
        given_as[spec.name] = text
        value_text, problem = _yaml_text(value)
        if problem is not None:
            problems.append(f"{spec.name} ({shown}): {problem}")
            continue
        values[spec.name] = value_text
    return values


def parse_threshold(spec: RuleSpec, text: str) -> float | int | None:
    """Parse a threshold value of ``spec``; None for ``disabled``.

    Raises:
        ValueProblem: an empty or malformed value.
    """
    stripped = text.strip()
    if not stripped:
        raise ValueProblem("empty value (give a threshold, or 'disabled' to skip the rule)")
    if stripped.lower() == DISABLED:
        return None
    if spec.kind == "ratio":
        return parse_ratio(stripped)
    return parse_bytes(stripped)


class RuleFlags(Protocol):
    """What :func:`load_rules` reads from the command line (a
    :class:`~dive_py.ci.options.CiOptions` is one)."""

    @property
    def config_path(self) -> str | None:
        """The ``--ci-config`` value as given, or None to look for ``.dive-ci``."""
        ...

    @property
    def rule_flags(self) -> Mapping[str, str]:
        """Rule name -> threshold text, for the rule flags given on the command line."""
        ...


def load_rules(flags: RuleFlags, cwd: str | os.PathLike[str] | None = None) -> Rules:
    """Return the effective CI rules, or raise one error listing every problem.

    Args:
        flags: the ``--ci-config`` value and the rule flags given (by rule name).
        cwd: the directory holding the default ``.dive-ci`` (the working directory by default).

    Raises:
        UsageError: a ``--ci-config`` file that does not exist, an unreadable file, bad YAML,
            an unknown rule key, a key given twice, or a bad or empty value (all problems in one line).
    """
    base = Path(os.getcwd() if cwd is None else cwd)
    problems: list[str] = []
    explicit = flags.config_path
    file_values: dict[str, str | None] = {}
    config_path: str | None = None
    if explicit is not None:
        shown = escape_text(explicit)
        path = base / explicit
        if not explicit.strip():
            problems.append("--ci-config is empty")
        elif not path.exists():
            problems.append(f"the CI config file {shown} (--ci-config) does not exist")
        elif path.is_dir():
            problems.append(f"the CI config file {shown} (--ci-config) is a directory")
        else:
            config_path = shown
            file_values = _read_file(path, shown, problems)
        note = f"Using CI config {shown}"
    else:
        path = base / DEFAULT_CONFIG_NAME
        if path.is_file():
            config_path = DEFAULT_CONFIG_NAME
            file_values = _read_file(path, DEFAULT_CONFIG_NAME, problems)
            note = f"Using CI config {DEFAULT_CONFIG_NAME}"
        else:
            note = f"Using default CI config (no {DEFAULT_CONFIG_NAME} in the working directory)"
    thresholds: list[Threshold] = []
    for spec in RULE_SPECS:
        flag_value = flags.rule_flags.get(spec.name)
        file_value = file_values.get(spec.name)
        if flag_value is not None:
            text, origin = flag_value, f"flag {spec.flag}"
        elif file_value is not None:
            text, origin = file_value, f"file {config_path}"
        elif spec.name in file_values:
            text, origin = spec.default, f"default; no value in file {config_path}"
        else:
            text, origin = spec.default, "default"
        try:
            value = parse_threshold(spec, text)
        except ValueProblem as exc:
            problems.append(f"{spec.name} ({origin}): {exc}")
            continue
        thresholds.append(Threshold(spec, text.strip(), origin, value))
    if problems:
        where = f"fix {config_path}" if config_path else "fix the flags or the rules file"
        raise UsageError(
            f"misconfigured CI rules: {'; '.join(problems)}",
            f"{where}: ratios lie between 0 and 1, byte sizes look like 20MB or "
            "20MiB, and 'disabled' skips a rule",
        )
    return Rules(tuple(thresholds), config_path, note)
