"""FileEntry pickles compactly and keeps what sizes depend on (``data`` of files and hardlinks)."""

from __future__ import annotations

import pickle

from dive_py.domain.entry import EntryType, FileEntry


def test_file_and_hardlink_data_survive_a_round_trip() -> None:
    target = FileEntry("data", EntryType.FILE, 4096, 0o644, 1, 2, "", 123)
    link = FileEntry("link", EntryType.HARDLINK, 0, 0o644, 1, 2, "data", 7)
    link.data = target
    dangling = FileEntry("gone", EntryType.HARDLINK, 0, 0o644, 0, 0, "missing", 7)
    dangling.data = None
    device = FileEntry("dev/null", EntryType.CHAR_DEVICE, 0, 0o666, 0, 0, "", 0, True, 1, 3)
    loaded = pickle.loads(pickle.dumps([target, link, dangling, device]))
    new_target, new_link, new_dangling, new_device = loaded
    assert new_target.data is new_target
    assert new_link.data is new_target  # the same object, as before
    assert new_dangling.data is None
    assert (new_device.devmajor, new_device.devminor, new_device.mode) == (1, 3, 0o666)
    for old, new in zip([target, link, dangling, device], loaded, strict=False):
        assert repr(old) == repr(new) and old.digest == new.digest and old.explicit == new.explicit
