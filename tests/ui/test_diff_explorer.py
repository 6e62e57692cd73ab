"""The diff explorer (issue 15): ``divepy diff A B`` on a terminal.

Both layer lists side by side with the shared layers marked, the tree of the differences in
the explorer's tree pane, Enter on a file showing A's version against B's, exit 0/1 as
diff(1), and the CLI opening it only on a terminal.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from dive_py.domain.analysis import Analysis, analyse
from dive_py.domain.image_diff import diff_images
from dive_py.explorer_config import ExplorerConfig
from dive_py.ui.diff_app import DiffApp
from dive_py.ui.diff_layers import DiffLayersTable
from dive_py.ui.file_tree_view import FileTreeView
from dive_py.ui.image_file_diff import ImageFileDiffScreen
from tests.ui.conftest import screen_text, settle
from tests.ui.diff_pair import A_NAME, B_NAME, diff_pair, same_pair

SIZE = (160, 45)


def _app(pair: tuple[Analysis, Analysis], config: ExplorerConfig | None = None) -> DiffApp:
    a, b = pair
    return DiffApp(diff_images(a.image, b.image), a, b, names=(A_NAME, B_NAME), config=config)


async def _cursor_to(pilot, path: str) -> None:  # type: ignore[no-untyped-def]
    view = pilot.app.screen.query_one(FileTreeView)
    assert view.select_path(path), path
    await settle(pilot)


async def test_opens_on_the_differences_with_both_layer_lists(tmp_path: Path) -> None:
    app = _app(diff_pair(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert f"Layers: A {A_NAME}  ·  B {B_NAME}" in text
        assert "A command" in text and "B command" in text
        assert "B shares its first layer" in text
        table = app.screen.query_one(DiffLayersTable)
        assert table.row_count == 3  # A has 3 layers, B 2
        assert str(table.get_row_at(0)[3]).startswith("═ ")  # shared: the chain ID
        assert str(table.get_row_at(1)[3]) == "≠"
        assert str(table.get_row_at(2)[3]) == ""  # only A has a layer 2
        rows = [line.strip("│ ") for line in text.splitlines()]
        # the explorer's markers; unchanged paths hidden at first
        assert any(row.startswith("~ ") and "main.py" in row for row in rows)
        assert any(row.startswith("+ ") and "README.txt" in row for row in rows)
        assert any(row.startswith("- ") and "data.bin" in row for row in rows)
        assert any(row.startswith("- ") and ".cache" in row for row in rows)
        assert "busybox" not in text and "os-release" not in text
        assert "1 added, 3 modified, 2 removed" in text


async def test_moving_shows_the_path_and_ctrl_u_shows_unchanged_paths(tmp_path: Path) -> None:
    app = _app(diff_pair(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        view = app.screen.query_one(FileTreeView)
        assert view.has_focus
        first = view.cursor_path
        await pilot.press("down")
        await settle(pilot)
        assert view.cursor_path != first
        assert f"\n│ {view.cursor_path}" in screen_text(app)  # the path line
        await pilot.press("ctrl+u")
        await settle(pilot)
        assert "busybox" in screen_text(app)


async def test_enter_on_a_modified_text_file_shows_the_unified_diff(tmp_path: Path) -> None:
    app = _app(diff_pair(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _cursor_to(pilot, "/app/main.py")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ImageFileDiffScreen)
        text = screen_text(app)
        assert "--- A /app/main.py" in text and "+++ B /app/main.py" in text
        assert "-    print('hello')" in text
        assert "+    print(f'hello, {name}')" in text
        await pilot.press("d")  # B's version
        await settle(pilot)
        text = screen_text(app)
        assert "--- A" not in text and "print(f'hello, {name}')" in text
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ImageFileDiffScreen)


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/app/settings.ini", "same content, mode changed 0644 -> 0600"),
        ("/app/logo.png", "binary content differs"),
        ("/app/README.txt", "only in B (added)"),
        ("/app/data.bin", "only in A (removed)"),
    ],
)
async def test_other_changes_say_what_changed(tmp_path: Path, path: str, expected: str) -> None:
    app = _app(diff_pair(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _cursor_to(pilot, path)
        await pilot.press("enter")
        await settle(pilot)
        assert expected in screen_text(app)


async def test_q_quits_with_1_when_the_images_differ(tmp_path: Path) -> None:
    app = _app(diff_pair(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
    assert app.return_value == 1


async def test_q_quits_with_0_when_the_final_file_systems_are_identical(tmp_path: Path) -> None:
    app = _app(same_pair(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "the final file systems are identical" in screen_text(app)
        await pilot.press("q")
    assert app.return_value == 0


async def test_keys_are_remapped_by_the_explorer_config(tmp_path: Path) -> None:
    config = ExplorerConfig(keymap={"quit": "x", "toggle-unmodified-files": "ctrl+g"})
    app = _app(diff_pair(tmp_path), config)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert "busybox" in screen_text(app)
        await pilot.press("q")
        await settle(pilot)
        assert app.is_running
        await pilot.press("x")
    assert app.return_value == 1


async def test_the_command_palette_and_help_list_the_diff_explorer_actions(
    tmp_path: Path,
) -> None:
    from dive_py.ui.commands import explorer_actions

    app = _app(diff_pair(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        actions = {(e.pane, e.description) for e in explorer_actions(app, moves=False)}
        assert ("File tree", "View") in actions
        assert ("File tree", "Unmodified") in actions
        assert ("Screen", "Filter") in actions
        assert ("App", "Quit") in actions
        await pilot.press("question_mark")
        await settle(pilot)
        text = screen_text(app)
        assert "Unmodified" in text and "Shared column" in text
        assert "Compare bar" not in text  # (the explorer's layers pane only)


def _tty(stream: io.StringIO) -> io.StringIO:
    stream.isatty = lambda: True  # type: ignore[method-assign]
    return stream


def _archives(tmp_path: Path) -> list[str]:
    a, b = diff_pair(tmp_path)
    return [f"docker-archive://{a.image.reference}", f"docker-archive://{b.image.reference}"]


def test_the_cli_opens_the_explorer_only_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dive_py.commands.diff import run_diff
    from dive_py.ui import diff_launch

    opened: list[tuple[str, str]] = []

    def explorer(diff, a, b, names, env) -> int:  # type: ignore[no-untyped-def]
        opened.append(names)
        return 1

    monkeypatch.setattr(diff_launch, "run_diff_explorer", explorer)
    env = {"DIVEPY_CACHE_DIR": str(tmp_path / "cache")}
    names = _archives(tmp_path)
    stdin_tty = io.StringIO()
    stdin_tty.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stdin", stdin_tty)
    out, err = _tty(io.StringIO()), io.StringIO()
    assert run_diff(names, env, out, err) == 1
    assert opened == [tuple(names)] and out.getvalue() == ""
    # --report: the text report on the terminal
    out = _tty(io.StringIO())
    assert run_diff(["--report", *names], env, out, err) == 1
    assert "Modified:" in out.getvalue() and len(opened) == 1
    # stdin not a terminal: the text report
    monkeypatch.setattr(sys, "stdin", io.StringIO())
    out = _tty(io.StringIO())
    assert run_diff(names, env, out, err) == 1
    assert "Modified:" in out.getvalue() and len(opened) == 1
    # stdout not a terminal: the JSON, unchanged
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdin", stdin_tty)
    assert run_diff(names, env, out, err) == 1
    doc = json.loads(out.getvalue())
    assert [c["path"] for c in doc["added"]] == ["/app/README.txt"]
    assert len(opened) == 1
    # --json FILE on a terminal: the JSON file and the summary, no explorer
    out = _tty(io.StringIO())
    target = tmp_path / "d.json"
    assert run_diff(["--json", str(target), *names], env, out, err) == 1
    assert json.loads(target.read_text())["identical"] is False and len(opened) == 1


def test_snapshot_diff_explorer(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await _cursor_to(pilot, "/app/main.py")

    assert snap_compare(_app(diff_pair(tmp_path)), terminal_size=SIZE, run_before=run_before)


def test_snapshot_diff_explorer_small_terminal(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press("down", "down")
        await settle(pilot)

    assert snap_compare(_app(diff_pair(tmp_path)), terminal_size=(80, 24), run_before=run_before)


def test_snapshot_file_diff(snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await _cursor_to(pilot, "/app/main.py")
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(_app(diff_pair(tmp_path)), terminal_size=SIZE, run_before=run_before)


async def test_the_path_filter_narrows_the_tree_and_esc_clears_it(tmp_path: Path) -> None:
    app = _app(diff_pair(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"main")
        await settle(pilot)
        text = screen_text(app)
        assert "main.py" in text and "README.txt" not in text
        await pilot.press("escape")
        await settle(pilot)
        assert "README.txt" in screen_text(app)
        assert app.screen.query_one(FileTreeView).has_focus


async def test_ctrl_e_extracts_b_version_or_a_version_of_a_removed_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.ui.diff_pair import MAIN_2

    target = tmp_path / "out"
    target.mkdir()
    monkeypatch.chdir(target)
    app = _app(diff_pair(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for path in ("/app/main.py", "/app/data.bin"):
            await _cursor_to(pilot, path)
            await pilot.press("ctrl+e")
            await settle(pilot)
    assert (target / "main.py").read_text() == MAIN_2
    assert (target / "data.bin").read_bytes() == b"\0" * 2048


async def test_base_layers_are_labelled_as_in_the_explorer(tmp_path: Path) -> None:
    """Trial of this release: a base layer whose step has no command (``docker import``) read
    ``(no command)`` here while the explorer's Layers pane reads ``FROM <short id>``; a base
    the image names reads ``FROM <name>``."""
    from dive_py.domain.base_image import short_layer_id
    from dive_py.domain.sources import open_image
    from tests.image_builder import ImageSpec, Step, docker_archive, f

    def image(name: str, spec: ImageSpec) -> Analysis:
        path = tmp_path / f"{name}.tar"
        path.write_bytes(docker_archive(spec))
        return analyse(open_image(str(path), source="docker-archive"))

    base = [f("bin/busybox", b"\x7fELF" + b"b" * 100, 0o755)]
    a = image("a", ImageSpec(layers=[base, [f("a", "1")]], history=[Step(""), Step("echo 1")]))
    b = image(
        "b",
        ImageSpec(
            layers=[base, [f("a", "2")]],
            history=[Step(""), Step("echo 2")],
            labels={"org.opencontainers.image.base.name": "busybox:1.36"},
        ),
    )
    app = _app((a, b))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        row = [str(cell) for cell in app.screen.query_one(DiffLayersTable).get_row_at(0)]
        assert row[2] == f"FROM {short_layer_id(a.image)}"
        assert row[5] == "FROM busybox:1.36"
        assert "(no command)" not in screen_text(app)


async def test_the_path_line_gives_a_directorys_full_size_while_rows_are_hidden(
    tmp_path: Path,
) -> None:
    """Trial of this release: with unchanged rows hidden the diff explorer's ``/app`` row shows
    the bytes of its shown rows, but its path line did not say the full size as the
    explorer's does (``… shown of …``)."""
    from tests.image_builder import d, f
    from tests.ui.diff_pair import _analysis

    keep = f("app/keep.txt", "k" * 1000)
    a = _analysis(tmp_path, "a", [[d("app"), keep, f("app/x", "1")]])
    b = _analysis(tmp_path, "b", [[d("app"), keep, f("app/x", "22")]])
    app = _app((a, b))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await _cursor_to(pilot, "/app")
        assert "/app  2 B shown of 1.0 kB" in screen_text(app)
        await pilot.press("ctrl+u")  # every row shown: the row's size is the full size
        await settle(pilot)
        await _cursor_to(pilot, "/app")
        assert " shown of " not in screen_text(app)
