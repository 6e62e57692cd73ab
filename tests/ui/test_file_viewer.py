"""Pilot tests of the file viewer (Enter on a file) and the extract key (ctrl+e)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from textual.widgets import Static

from dive_py.domain.analysis import Analysis
from dive_py.ui.app import DiveApp, make_app
from dive_py.ui.file_tree_view import FileTreeView
from dive_py.ui.file_viewer import FileViewerScreen, TextLines, file_kind, hex_dump
from dive_py.ui.layers_table import LayersTable
from dive_py.ui.main_screen import MainScreen
from tests.image_builder import d, f, sym
from tests.ui.conftest import archive_analysis, settle

SIZE = (140, 40)


def _png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + b"IHDR"
        + ihdr
        + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    )


LAYERS = [
    [
        d("etc"),
        f("etc/app.py", "print('base')\n"),
        f("etc/run.sh", "#!/bin/sh\necho hi\n", mode=0o644),
        f("etc/blob.bin", bytes(range(256))),
        f("etc/logo.png", _png(64, 32)),
        f("etc/big.txt", b"line\n" * 300_000),
        sym("etc/alias.py", "app.py"),
    ],
    [
        d("etc"),
        f("etc/app.py", "print('rewritten')\n"),
        f("etc/run.sh", "#!/bin/sh\necho hi\n", mode=0o755),
    ],
]


@pytest.fixture
def image(tmp_path: Path) -> Analysis:
    return archive_analysis(tmp_path, LAYERS)


async def open_viewer(pilot, layer: int, path: str) -> FileViewerScreen:  # type: ignore[no-untyped-def]
    app: DiveApp = pilot.app
    table = app.screen.query_one(LayersTable)
    table.focus()
    await pilot.press("home", *(["down"] * layer))
    await settle(pilot)
    tree = app.screen.query_one(FileTreeView)
    tree.focus()
    assert tree.select_path(path)
    await pilot.press("enter")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, FileViewerScreen)
    return screen


def extract_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """Make ``tmp_path/cwd`` the working directory (where ctrl+e writes) and record the
    explorer's notifications; return (that directory, the notifications' texts)."""
    out = tmp_path / "cwd"
    out.mkdir()
    monkeypatch.chdir(out)
    notes: list[str] = []
    monkeypatch.setattr(
        MainScreen, "notify", lambda self, message, **kw: notes.append(str(message))
    )
    return out, notes


async def extract_rows(pilot, paths: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    """Press ctrl+e on each of the tree's rows ``paths`` and wait for each extraction."""
    app: DiveApp = pilot.app
    tree = app.screen.query_one(FileTreeView)
    tree.focus()
    for path in paths:
        assert tree.select_path(path)
        await pilot.press("ctrl+e")
        await app.workers.wait_for_complete()
        await settle(pilot)


def body_text(screen: FileViewerScreen) -> str:
    lines = screen.query(TextLines)
    if lines:
        return lines.first().text
    static = screen.query_one("#viewer-body Static", Static)
    return str(static.render())


def header(screen: FileViewerScreen) -> str:
    return str(screen.query_one("#viewer-header", Static).render())


async def test_enter_shows_that_layers_version_and_d_the_diff(image: Analysis) -> None:
    app = make_app(image)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_viewer(pilot, 0, "/etc/app.py")
        assert screen.content is not None and screen.content.data == b"print('base')\n"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, MainScreen)
        screen = await open_viewer(pilot, 1, "/etc/app.py")
        assert screen.content is not None and screen.content.data == b"print('rewritten')\n"
        assert "d: diff" in header(screen)
        await pilot.press("d")
        await settle(pilot)
        diff = body_text(screen)
        assert "-print('base')" in diff and "+print('rewritten')" in diff


async def test_a_metadata_only_change_is_named(image: Analysis) -> None:
    app = make_app(image)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_viewer(pilot, 1, "/etc/run.sh")
        assert "same content, mode changed 0644 -> 0755" in header(screen)


async def test_binary_images_symlinks_and_truncation(image: Analysis) -> None:
    app = make_app(image)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_viewer(pilot, 0, "/etc/blob.bin")
        assert body_text(screen).startswith("00000000: 0001 0203")
        await pilot.press("escape")
        screen = await open_viewer(pilot, 0, "/etc/logo.png")
        text = body_text(screen)
        assert "PNG image" in text and "64 x 32" in text
        await pilot.press("escape")
        screen = await open_viewer(pilot, 0, "/etc/alias.py")
        assert "/etc/alias.py -> /etc/app.py" in header(screen)
        await pilot.press("escape")
        screen = await open_viewer(pilot, 0, "/etc/big.txt")
        assert screen.content is not None and screen.content.truncated
        assert len(screen.content.data) == 1 << 20
        assert "showing the first 1.0 MB only" in header(screen)
        assert screen.query_one(TextLines).lines[:2] == ["line", "line"]  # shown unhighlighted


async def test_ctrl_e_extracts_into_the_working_directory(
    image: Analysis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "cwd"
    out.mkdir()
    monkeypatch.chdir(out)
    app = make_app(image)
    async with app.run_test(size=SIZE) as pilot:
        tree = app.screen.query_one(FileTreeView)
        tree.focus()
        assert tree.select_path("/etc/app.py")
        await pilot.press("ctrl+e")
        await settle(pilot)
    assert (out / "app.py").read_bytes() == b"print('base')\n"


def test_kinds_and_hex_dump() -> None:
    assert file_kind(b"hello\n") == "text"
    assert file_kind(b"\x00\x01") == "binary"
    assert file_kind(b"\x1f\x8b\x08") == "gzip archive"
    assert file_kind(_png(1, 1)) == "PNG image"
    assert hex_dump(b"AB\x00") == f"00000000: {'4142 00':<39}  AB."


async def test_the_inefficient_pane_explains_the_highlighted_path(demo: Analysis) -> None:
    from dive_py.ui.details import InefficientTable

    app = make_app(demo)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        app.screen.query_one(InefficientTable).focus()
        await settle(pilot)
        detail = str(app.screen.query_one("#waste-detail", Static).render())
        assert detail.startswith("/usr/local/bin/pip: layer 0 wrote, layer 3 rewrote")
        assert "overwritten:" in detail and "saves 230 bytes" in detail


async def test_enter_on_a_removed_row_shows_the_version_that_layer_removed(
    tmp_path: Path,
) -> None:
    """Trial of this release: Enter on a removed (``-``) row said ``/etc/gone.txt does not
    exist at that layer - check the path``; it shows the version the layer removed."""
    from tests.image_builder import wh

    layers = [
        [d("etc"), f("etc/gone.txt", "bye\n"), d("var"), f("var/cache/x.bin", b"\0\1")],
        [d("etc"), wh("etc/gone.txt"), wh("var/cache")],
    ]
    image = archive_analysis(tmp_path, layers)
    app = make_app(image)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await open_viewer(pilot, 1, "/etc/gone.txt")
        text = header(screen)
        assert "removed by layer 1" in text and "written by layer 0" in text, text
        assert "does not exist" not in text
        assert screen.content is not None and screen.content.data == b"bye\n"
        await pilot.press("escape")
        await settle(pilot)
        screen = await open_viewer(pilot, 1, "/var/cache/x.bin")
        assert "removed by layer 1" in header(screen), header(screen)
        assert screen.content is not None and screen.content.data == b"\0\1"


async def test_ctrl_e_on_a_removed_row_extracts_the_version_that_layer_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trial of this release: ctrl+e on a removed (``-``) row said ``does not exist at layer
    1 - check the path``; it writes the version the layer removed, as Enter shows it."""
    from tests.image_builder import wh

    layers = [
        [d("etc"), f("etc/gone.txt", "bye\n"), d("var"), f("var/cache/x.bin", b"\0\1")],
        [d("etc"), wh("etc/gone.txt"), wh("var/cache")],
    ]
    image = archive_analysis(tmp_path, layers)
    out, notes = extract_here(tmp_path, monkeypatch)
    app = make_app(image)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(LayersTable)
        table.focus()
        await pilot.press("home", "down")
        await settle(pilot)
        await extract_rows(pilot, ("/etc/gone.txt", "/var/cache"))
    assert (out / "gone.txt").read_bytes() == b"bye\n"
    assert (out / "cache" / "x.bin").read_bytes() == b"\0\1"
    assert len(notes) == 2 and all("removed by layer 1" in n for n in notes), notes
    assert not any("does not exist" in n for n in notes)


async def test_a_removed_row_of_the_aggregated_mode_shows_and_extracts_what_an_earlier_layer_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trial of issue 11's last round: in the aggregated mode a removed row may be a removal of
    a layer below the selected one (added by layer 1, removed by layer 3, shown at layer 4);
    Enter and ctrl+e said ``/base/new does not exist at that layer`` (they looked at the
    selected layer and the one below it only). They show and write the version the latest
    removal took, as the tree's row does."""
    from tests.image_builder import wh

    layers = [
        [d("base"), f("base/keep", "k")],
        [d("tmp"), f("tmp/cache", b"c" * 300), f("base/new", b"n" * 20)],
        [f("base/other", "o")],
        [wh("tmp"), wh("base/new")],
        [f("base/keep", "k2")],
    ]
    image = archive_analysis(tmp_path, layers)
    out, notes = extract_here(tmp_path, monkeypatch)
    app = make_app(image)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.query_one(LayersTable).focus()
        await pilot.press("ctrl+a")
        await settle(pilot)
        screen = await open_viewer(pilot, 4, "/base/new")
        text = header(screen)
        assert "removed by layer 3" in text and "written by layer 1" in text, text
        assert screen.content is not None and screen.content.data == b"n" * 20
        await pilot.press("escape")
        await settle(pilot)
        await extract_rows(pilot, ("/base/new", "/tmp/cache"))
    assert (out / "new").read_bytes() == b"n" * 20
    assert (out / "cache").read_bytes() == b"c" * 300
    assert len(notes) == 2 and all("removed by layer 3" in n for n in notes), notes


async def test_the_viewer_and_extract_read_with_the_clis_environment(image: Analysis) -> None:
    """The explorer's reader gets the CLI's environment (``--insecure-registry`` hosts in
    ``DIVEPY_INSECURE_REGISTRIES``), as ``divepy diff`` passes it; before, the viewer read a
    registry image with ``os.environ`` only."""
    from dive_py.domain.sources.registry_client import insecure_hosts

    env = {"DIVEPY_INSECURE_REGISTRIES": "reg.test:5000"}
    app = make_app(image, env=env)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_viewer(pilot, 0, "/etc/app.py")
        assert screen.reader.env is not None
        assert insecure_hosts(screen.reader.env) == {"reg.test:5000"}
        main = app.screen_stack[-2]
        assert isinstance(main, MainScreen)
        assert main.content_reader().env == env
