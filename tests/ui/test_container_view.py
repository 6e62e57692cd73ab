"""The explorer on a container: its read/write layer on top, labelled and with its copy-on-write
figures; image layers read-only with their sharing."""

from __future__ import annotations

from dive_py.domain.container_analysis import with_container
from dive_py.domain.container_layer import build_container_layer
from dive_py.domain.layer_sharing import OtherImage, measure_sharing
from dive_py.ui.app import make_app
from tests.domain.test_container_layer import CHANGES, INFO, _archive, _image
from tests.ui.conftest import screen_text, settle
from tests.ui.test_explorer import goto_layer, shown_paths

SIZE = (160, 48)


async def test_container_layer_is_labelled_and_shows_copy_on_write() -> None:
    image = _image()
    image.sharing = measure_sharing(
        [layer.diff_id for layer in image.image.layers],
        [layer.size_bytes for layer in image.image.layers],
        [OtherImage("sha256:9", "base:1", (image.image.layers[0].diff_id,))],
    )
    layer = build_container_layer(CHANGES, _archive(), image.final_state())
    app = make_app(with_container(image, INFO, layer))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Read-only image layer" in text
        assert "Shared with 1 image: base:1" in text
        await goto_layer(pilot, 2)
        text = screen_text(app)
        assert "container web (read/write)" in text
        assert "Read/write layer of container web (running)" in text
        assert "Copied up: 20 B" in text
        assert "/top" in shown_paths(app)
