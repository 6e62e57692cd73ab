"""The CI rule table: where thresholds come from, how they are validated, when a rule fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from dive_py.ci.evaluate import Status, evaluate
from dive_py.ci.rules import RULE_SPECS, load_rules
from dive_py.errors import UsageError
from tests.ci.helpers import ci_args, figures

ALL_RULES = [
    "highestReclaimableBytes",
    "highestUserWastedPercent",
    "highestWastedBytes",
    "lowestEfficiency",
]


def verdicts(rules, efficiency) -> dict[str, Status]:
    return {result.name: result.status for result in evaluate(rules, efficiency)}


def write(tmp_path: Path, text: str, name: str = ".dive-ci") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- sources and precedence -------------------------------------------------------------------


def test_missing_default_file_means_defaults(tmp_path: Path) -> None:
    rules = load_rules(ci_args(), cwd=tmp_path)
    assert [t.spec.name for t in rules.thresholds] == ALL_RULES
    assert {t.spec.name: (t.value, t.origin) for t in rules.thresholds} == {
        "highestReclaimableBytes": (None, "default"),
        "highestUserWastedPercent": (0.1, "default"),
        "highestWastedBytes": (None, "default"),
        "lowestEfficiency": (0.9, "default"),
    }
    assert rules.config_path is None
    assert "default CI config" in rules.note


def test_missing_explicit_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"nope\.yaml \(--ci-config\) does not exist") as info:
        load_rules(ci_args("--ci-config", "nope.yaml"), cwd=tmp_path)
    assert info.value.exit_code == 2


def test_file_values_and_overriding_flag(tmp_path: Path) -> None:
    write(
        tmp_path,
        "rules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n"
        "  highestUserWastedPercent: 0.2\n  highestReclaimableBytes: 1MiB\n",
    )
    rules = load_rules(ci_args("--lowestEfficiency", "0.5"), cwd=tmp_path)
    got = {t.spec.name: (t.value, t.origin) for t in rules.thresholds}
    assert got == {
        "highestReclaimableBytes": (1_048_576, "file .dive-ci"),
        "highestUserWastedPercent": (0.2, "file .dive-ci"),
        "highestWastedBytes": (20_000_000, "file .dive-ci"),
        "lowestEfficiency": (0.5, "flag --lowestEfficiency"),
    }
    assert rules.config_path == ".dive-ci"


def test_rule_missing_from_file_uses_default_and_says_so(tmp_path: Path) -> None:
    write(tmp_path, "rules:\n  # lowestEfficiency: 0.99\n  highestWastedBytes: 2KB\n")
    rules = load_rules(ci_args(), cwd=tmp_path)
    assert rules.get("lowestEfficiency").origin == "default"
    assert rules.get("lowestEfficiency").value == 0.9
    assert rules.get("highestWastedBytes").value == 2000


def test_flag_overrides_a_bad_file_value(tmp_path: Path) -> None:
    write(tmp_path, "rules:\n  lowestEfficiency: 7\n")
    rules = load_rules(ci_args("--lowest-efficiency", "0.8"), cwd=tmp_path)
    assert rules.get("lowestEfficiency").value == 0.8


def test_explicit_config_path(tmp_path: Path) -> None:
    write(tmp_path, "rules:\n  lowestEfficiency: 0.5\n", name="ci.yaml")
    write(tmp_path, "rules:\n  lowestEfficiency: 0.7\n")  # ignored: --ci-config wins
    rules = load_rules(ci_args("--ci-config", "ci.yaml"), cwd=tmp_path)
    assert rules.get("lowestEfficiency").value == 0.5
    assert rules.get("lowestEfficiency").origin == "file ci.yaml"


@pytest.mark.parametrize(
    "keys",
    [
        (
            "lowestEfficiency",
            "highestWastedBytes",
            "highestUserWastedPercent",
            "highestReclaimableBytes",
        ),
        (
            "lowest-efficiency",
            "highest-wasted-bytes",
            "highest-user-wasted-percent",
            "highest-reclaimable-bytes",
        ),
        (
            "LowestEfficiency",
            "HIGHESTWASTEDBYTES",
            "highest_user_wasted_percent",
            "highestreclaimablebytes",
        ),  # viper (dive) matches keys ignoring case
    ],
)
def test_camel_and_kebab_keys(tmp_path: Path, keys: tuple[str, ...]) -> None:
    write(
        tmp_path,
        "rules:\n"
        + "".join(
            f"  {key}: {value}\n"
            for key, value in zip(keys, ("0.91", "3kB", "0.33", "4KiB"), strict=False)
        ),
    )
    rules = load_rules(ci_args(), cwd=tmp_path)
    assert [t.value for t in rules.thresholds] == [4096, 0.33, 3000, 0.91]


@pytest.mark.parametrize("flag", ["--highestWastedBytes", "--highest-wasted-bytes"])
def test_camel_and_kebab_flags(tmp_path: Path, flag: str) -> None:
    rules = load_rules(ci_args(flag, "20MiB"), cwd=tmp_path)
    assert rules.get("highestWastedBytes").value == 20_971_520
    assert rules.get("highestWastedBytes").origin == "flag --highestWastedBytes"


def test_other_top_level_keys_are_ignored(tmp_path: Path) -> None:
    write(tmp_path, "plugins:\n  - name: x\nrules:\n  lowestEfficiency: 0.5\n")
    assert load_rules(ci_args(), cwd=tmp_path).get("lowestEfficiency").value == 0.5


@pytest.mark.parametrize("text", ["", "# nothing\n", "rules:\n", "rules: {}\n"])
def test_empty_file_or_rules_means_defaults(tmp_path: Path, text: str) -> None:
    write(tmp_path, text)
    rules = load_rules(ci_args(), cwd=tmp_path)
    assert [t.origin for t in rules.thresholds] == ["default"] * 4


# --- human sizes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2kB", 2_000),
        ("2KiB", 2_048),
        ("20MB", 20_000_000),
        ("20MiB", 20_971_520),
        ("1GB", 1_000_000_000),
        ("1234", 1234),
        ("disabled", None),
    ],
)
def test_human_byte_sizes_in_file_and_flags(
    tmp_path: Path, text: str, expected: int | None
) -> None:
    write(tmp_path, f"rules:\n  highestWastedBytes: {text}\n  highestReclaimableBytes: {text}\n")
    rules = load_rules(ci_args(), cwd=tmp_path)
    assert rules.get("highestWastedBytes").value == expected
    assert rules.get("highestReclaimableBytes").value == expected
    flagged = load_rules(ci_args("--highestReclaimableBytes", text), cwd=tmp_path / "..")
    assert flagged.get("highestReclaimableBytes").value == expected


# --- misconfiguration: every problem listed, exit 2 --------------------------------------------


def problems_of(tmp_path: Path, text: str, *argv: str) -> str:
    write(tmp_path, text)
    with pytest.raises(UsageError) as info:
        load_rules(ci_args(*argv), cwd=tmp_path)
    assert info.value.exit_code == 2
    line = info.value.one_line()
    assert "\n" not in line
    return line


def test_misconfigured_high_values_all_listed(tmp_path: Path) -> None:
    line = problems_of(
        tmp_path,
        "rules:\n  lowestEfficiency: 1.5\n  highestUserWastedPercent: 20\n"
        "  highestWastedBytes: 20XB\n  highestReclaimableBytes: lots\n",
    )
    assert "lowestEfficiency (file .dive-ci): '1.5' is not a ratio between 0 and 1" in line
    assert (
        "highestUserWastedPercent (file .dive-ci): '20' is not a ratio between 0 and 1 "
        "(write 0.2 for 20 %)" in line
    )
    assert "highestWastedBytes (file .dive-ci): '20XB' has an unknown size unit 'xb'" in line
    assert "highestReclaimableBytes (file .dive-ci): 'lots' is not a byte size" in line


def test_misconfigured_low_values(tmp_path: Path) -> None:
    line = problems_of(
        tmp_path,
        "rules:\n  lowestEfficiency: -0.1\n  highestUserWastedPercent: -1\n"
        "  highestWastedBytes: -5MB\n",
    )
    assert "lowestEfficiency (file .dive-ci): '-0.1' is not a ratio" in line
    assert "highestUserWastedPercent (file .dive-ci): '-1' is not a ratio" in line
    assert "highestWastedBytes (file .dive-ci): '-5MB' is not a byte size" in line


def test_rule_without_value_uses_the_default_as_dive_does(tmp_path: Path) -> None:
    """dive 0.13.1 applies the default to ``lowestEfficiency:`` (YAML null): keep parity, say so."""
    write(tmp_path, "rules:\n  lowestEfficiency:\n  highestWastedBytes: ~\n")
    rules = load_rules(ci_args(), cwd=tmp_path)
    assert rules.get("lowestEfficiency").value == 0.9
    assert rules.get("lowestEfficiency").origin == "default; no value in file .dive-ci"
    assert rules.get("highestWastedBytes").disabled


@pytest.mark.parametrize("value", ['""', "''", "'  '"])
def test_empty_value_is_misconfigured(tmp_path: Path, value: str) -> None:
    line = problems_of(tmp_path, f"rules:\n  lowestEfficiency: {value}\n")
    assert "lowestEfficiency (file .dive-ci): empty value" in line


def test_empty_flag_value_is_misconfigured(tmp_path: Path) -> None:
    with pytest.raises(
        UsageError,
        match=r"highestWastedBytes \(flag --highestWastedBytes\): "
        r"empty value",
    ):
        load_rules(ci_args("--highestWastedBytes", ""), cwd=tmp_path)


def test_bad_flag_values_are_listed_with_file_problems(tmp_path: Path) -> None:
    line = problems_of(
        tmp_path,
        "rules:\n  lowestEfficiency: 2\n",
        "--highestUserWastedPercent",
        "x",
        "--highest-reclaimable-bytes",
        "1QB",
    )
    assert "lowestEfficiency (file .dive-ci)" in line
    assert "highestUserWastedPercent (flag --highestUserWastedPercent): 'x' is not a number" in line
    assert "highestReclaimableBytes (flag --highestReclaimableBytes)" in line


@pytest.mark.parametrize(
    "key, closest",
    [
        ("lowestEfficency", "lowestEfficiency"),
        ("highestWastedByte", "highestWastedBytes"),
        ("highest-user-wasted-percentage", "highest-user-wasted-percent"),
        ("higestReclaimableBytes", "highestReclaimableBytes"),
    ],
)
def test_unknown_key_names_the_closest_valid_one(tmp_path: Path, key: str, closest: str) -> None:
    line = problems_of(tmp_path, f"rules:\n  {key}: 0.5\n")
    assert f"unknown rule '{key}' in .dive-ci (did you mean '{closest}'?)" in line


def test_unknown_key_far_from_any_lists_the_valid_ones(tmp_path: Path) -> None:
    line = problems_of(tmp_path, "rules:\n  colour: blue\n")
    assert "unknown rule 'colour'" in line and "valid rules: highestReclaimableBytes" in line


def test_rules_key_misspelled_or_rule_outside_rules(tmp_path: Path) -> None:
    assert "unknown key 'rule' in .dive-ci (did you mean 'rules'?)" in problems_of(
        tmp_path, "rule:\n  lowestEfficiency: 0.5\n"
    )
    assert "rule 'lowestEfficiency' in .dive-ci must be indented under 'rules:'" in problems_of(
        tmp_path, "lowestEfficiency: 0.5\n"
    )


def test_rule_given_twice(tmp_path: Path) -> None:
    line = problems_of(tmp_path, "rules:\n  lowestEfficiency: 0.5\n  lowest-efficiency: 0.6\n")
    assert "rule lowestEfficiency is given twice" in line


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("rules: [\n", "is not valid YAML at line"),
        ("rules:\n  lowestEfficiency: [0.5]\n", "expected a single value, got a list"),
        ("rules:\n  lowestEfficiency: yes\n", "true is not a number"),
        ("rules: 5\n", "'rules' in .dive-ci must be a mapping"),
        ("- a\n", "must be a YAML mapping"),
    ],
)
def test_bad_yaml_shapes(tmp_path: Path, text: str, fragment: str) -> None:
    assert fragment in problems_of(tmp_path, text)


def test_config_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(UsageError, match="is a directory"):
        load_rules(ci_args("--ci-config", "dir"), cwd=tmp_path)


# --- verdicts ---------------------------------------------------------------------------------


def all_rules(tmp_path: Path, **values: str):
    text = "rules:\n" + "".join(f"  {k}: {v}\n" for k, v in values.items())
    write(tmp_path, text)
    return load_rules(ci_args(), cwd=tmp_path)


def test_all_rules_pass(tmp_path: Path) -> None:
    rules = all_rules(
        tmp_path,
        lowestEfficiency="0.9",
        highestWastedBytes="1kB",
        highestUserWastedPercent="0.1",
        highestReclaimableBytes="500",
    )
    eff = figures(score=0.95, wasted=1000, user_wasted=0.05, reclaimable=500)
    assert set(verdicts(rules, eff).values()) == {Status.PASS}


def test_all_rules_fail(tmp_path: Path) -> None:
    rules = all_rules(
        tmp_path,
        lowestEfficiency="0.96",
        highestWastedBytes="999",
        highestUserWastedPercent="0.04",
        highestReclaimableBytes="499",
    )
    eff = figures(score=0.95, wasted=1000, user_wasted=0.05, reclaimable=500)
    assert set(verdicts(rules, eff).values()) == {Status.FAIL}


def test_all_rules_disabled(tmp_path: Path) -> None:
    rules = all_rules(
        tmp_path,
        lowestEfficiency="disabled",
        highestWastedBytes="disabled",
        highestUserWastedPercent="disabled",
        highestReclaimableBytes="disabled",
    )
    eff = figures(score=0.0, wasted=10**9, user_wasted=1.0, reclaimable=10**9)
    assert set(verdicts(rules, eff).values()) == {Status.SKIP}


def test_boundaries_are_dives(tmp_path: Path) -> None:
    """Equal to the threshold passes: dive fails on <, >, > and divepy's rule uses >."""
    rules = all_rules(
        tmp_path,
        lowestEfficiency="0.5",
        highestWastedBytes="1000",
        highestUserWastedPercent="0.25",
        highestReclaimableBytes="700",
    )
    eff = figures(score=0.5, wasted=1000, user_wasted=0.25, reclaimable=700)
    assert set(verdicts(rules, eff).values()) == {Status.PASS}
    eff = figures(score=0.4999, wasted=1001, user_wasted=0.2501, reclaimable=701)
    assert set(verdicts(rules, eff).values()) == {Status.FAIL}


def test_each_rule_measures_its_own_figure(tmp_path: Path) -> None:
    rules = all_rules(
        tmp_path,
        lowestEfficiency="0.9",
        highestWastedBytes="100",
        highestUserWastedPercent="0.5",
        highestReclaimableBytes="100",
    )
    cases = {
        "lowestEfficiency": figures(score=0.8, wasted=0, user_wasted=0.0, reclaimable=0),
        "highestWastedBytes": figures(score=1.0, wasted=101, user_wasted=0.0, reclaimable=0),
        "highestUserWastedPercent": figures(score=1.0, wasted=0, user_wasted=0.6, reclaimable=0),
        "highestReclaimableBytes": figures(score=1.0, wasted=0, user_wasted=0.0, reclaimable=101),
    }
    for name, eff in cases.items():
        got = verdicts(rules, eff)
        assert [n for n, s in got.items() if s is Status.FAIL] == [name]


def test_single_layer_passes_user_wasted_percent(tmp_path: Path) -> None:
    rules = all_rules(tmp_path, highestUserWastedPercent="0")
    [result] = [
        r
        for r in evaluate(rules, figures(user_wasted=None, user_size=0))
        if r.name == "highestUserWastedPercent"
    ]
    assert result.status is Status.PASS
    assert "single layer" in result.message and "nan" not in result.message.lower()


def test_results_name_value_threshold_and_origin(tmp_path: Path) -> None:
    write(tmp_path, "rules:\n  highestWastedBytes: 2KB\n")
    rules = load_rules(ci_args("--lowestEfficiency", "0.99"), cwd=tmp_path)
    messages = {
        r.name: (r.status, r.message)
        for r in evaluate(rules, figures(score=0.95, wasted=2506, user_wasted=0.05))
    }
    assert messages["highestWastedBytes"] == (
        Status.FAIL,
        "too many bytes wasted: wastedBytes=2506 (2.5 kB) > threshold=2000 (2KB) [file .dive-ci]",
    )
    assert messages["lowestEfficiency"] == (
        Status.FAIL,
        "image efficiency is too low: efficiency=0.95 (95.0000 %) < threshold=0.99 "
        "[flag --lowestEfficiency]",
    )
    assert messages["highestUserWastedPercent"] == (
        Status.PASS,
        "userWastedPercent=0.05 (5.0000 %) <= threshold=0.1 [default]",
    )
    assert messages["highestReclaimableBytes"] == (Status.SKIP, "rule disabled [default]")


def test_rule_specs_match_the_cli_flags() -> None:
    from dive_py.commands.explore import build_parser

    dests = {action.dest for action in build_parser()._actions}
    assert {spec.name for spec in RULE_SPECS} <= dests


# --- keys given twice (PyYAML would keep the last value silently) ------------------------------


@pytest.mark.parametrize(
    "text, fragment",
    [
        (
            "rules:\n  lowestEfficiency: 0.5\n  lowestEfficiency: 0.99\n",
            "rule lowestEfficiency is given twice in .dive-ci (lines 2 and 3)",
        ),
        (
            "rules:\n  highest-wasted-bytes: 1MB\n  lowestEfficiency: 0.5\n"
            "  highest-wasted-bytes: 2MB\n",
            "rule highestWastedBytes is given twice in .dive-ci (lines 2 and 4)",
        ),
        (
            "rules:\n  lowestEfficiency: 0.5\nrules:\n  highestWastedBytes: 1MB\n",
            "key 'rules' is given twice in .dive-ci (lines 1 and 3)",
        ),
        (
            "plugins:\n  a: 1\n  a: 2\nrules:\n  lowestEfficiency: 0.5\n",
            "key plugins.'a' is given twice in .dive-ci (lines 2 and 3)",
        ),
    ],
)
def test_a_key_given_twice_is_an_error_naming_it(tmp_path: Path, text: str, fragment: str) -> None:
    line = problems_of(tmp_path, text)
    assert fragment in line


def test_a_repeated_rule_is_reported_with_the_other_problems(tmp_path: Path) -> None:
    line = problems_of(
        tmp_path,
        "rules:\n  lowestEfficiency: 0.5\n  lowestEfficiency: 0.6\n  highestWastedBytes: lots\n",
    )
    assert "rule lowestEfficiency is given twice" in line
    assert "highestWastedBytes" in line  # one error lists every problem


def test_distinct_keys_that_load_the_same_are_not_duplicates(tmp_path: Path) -> None:
    """``1`` and ``"1"`` are different keys once loaded; aliases and merge keys repeat nothing."""
    write(
        tmp_path,
        "plugins:\n  1: a\n  '1': b\n  base: &base {x: 1}\n  other:\n    <<: *base\n"
        "    y: 2\n  again: *base\nrules:\n  lowestEfficiency: 0.5\n",
    )
    rules = load_rules(ci_args(), cwd=tmp_path)
    assert rules.get("lowestEfficiency").value == 0.5
