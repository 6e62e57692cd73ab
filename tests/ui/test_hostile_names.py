"""Hostile file names and commands in the explorer: shown escaped, one row each, never driving the terminal."""

from __future__ import annotations

from pathlib import Path

from dive_py.ui.app import make_app
from tests.image_builder import ImageSpec, Step, d, docker_archive, f
from tests.ui.conftest import screen_text, settle

RAW = b"evil\x1b[31mred\nline\xff"
NAME = RAW.decode("utf-8", "surrogateescape")


def _hostile(tmp_path: Path):  # type: ignore[no-untyped-def]
    from dive_py.domain.analysis import analyse
    from dive_py.domain.sources import open_image

    deep = "/".join(["d"] * 40) + "/" + "x" * 200
    spec = ImageSpec(
        layers=[[d("dir"), f(f"dir/{NAME}", "boom")], [f(deep, "deep")]],
        history=[
            Step("/bin/sh -c echo \x1b]0;pwned\x07 && printf 'a\\nb'"),
            Step("/bin/sh -c touch x\nRUN second line"),
        ],
    )
    path = tmp_path / "hostile.tar"
    path.write_bytes(docker_archive(spec))
    return analyse(open_image(str(path), source="docker-archive"))


async def test_names_and_commands_are_escaped_on_one_row(tmp_path: Path) -> None:
    app = make_app(_hostile(tmp_path), image_name="hostile\x1b[2J")
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "evil\\x1b[31mred\\nline\\xff" in text
        assert "\x1b" not in text and "\x07" not in text
        rows = [line for line in text.splitlines() if "evil" in line]
        assert len(rows) == 1  # the newline in the name did not split the row
        assert "echo \\x1b]0;pwned\\x07" in text
        assert "hostile\\x1b[2J" in text


async def test_tiny_terminal_with_deep_paths_does_not_crash(tmp_path: Path) -> None:
    app = make_app(_hostile(tmp_path), image_name="hostile")
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("down")
        await settle(pilot)
        await pilot.resize_terminal(20, 5)
        await settle(pilot)
        await pilot.press("tab", "ctrl+space", "end", "ctrl+o", "ctrl+b")
        await settle(pilot)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert app.is_running
