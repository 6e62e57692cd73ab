"""FileEntry: its rarely set fields share one slot (issue 11: a million entries)."""

from __future__ import annotations

import pickle
import sys

import pytest

from dive_py.domain.entry import EntryType, FileEntry
from dive_py.domain.file_tree import synthetic_directory


def test_an_entry_is_96_bytes_whatever_its_rare_fields() -> None:
    """12 slots made 128 bytes per entry; 9 made 104 (112 in pymalloc's 16-byte size classes);
    8 make 96 (the GC header included)."""
    plain = FileEntry("usr/bin/env", EntryType.FILE, 10, 0o755, 0, 0, "", 7)
    device = FileEntry("dev/null", EntryType.CHAR_DEVICE, 0, 0o666, 0, 0, "", 0, True, 1, 3)
    link = FileEntry("usr/bin/x", EntryType.HARDLINK, 0, 0o755, 0, 0, "usr/bin/env", 0)
    link.data = plain
    assert all(sys.getsizeof(entry) <= 96 for entry in (plain, device, link))


def test_a_files_data_is_itself_and_a_hardlinks_is_kept_with_its_other_rare_fields() -> None:
    plain = FileEntry("usr/bin/env", EntryType.FILE, 10, 0o755, 0, 0, "", 7)
    assert plain.data is plain
    plain.data = plain
    with pytest.raises(ValueError, match="itself"):
        plain.data = None
    link = FileEntry("usr/bin/x", EntryType.HARDLINK, 0, 0o755, 0, 0, "usr/bin/env", 0)
    assert link.data is None
    link.data = plain
    link.linkname = "usr/bin/y"
    assert (link.data, link.linkname, link.explicit) == (plain, "usr/bin/y", True)
    link.data = None
    assert (link.data, link.linkname) == (None, "usr/bin/y")
    assert FileEntry("d", EntryType.DIR, 0, 0o755, 0, 0).data is None
    loaded = pickle.loads(pickle.dumps([plain, FileEntry("h", EntryType.HARDLINK, 0, 0, 0, 0)]))
    loaded[1].data = loaded[0]
    again = pickle.loads(pickle.dumps(loaded))
    assert again[1].data is again[0] and again[0].data is again[0]


def test_rare_fields_read_back_and_default() -> None:
    plain = FileEntry("a", EntryType.FILE, 1, 0o644, 1000, 50)
    assert (plain.linkname, plain.explicit, plain.devmajor, plain.devminor) == ("", True, 0, 0)
    link = FileEntry("l", EntryType.SYMLINK, 0, 0o777, 0, 0, "target")
    assert (link.linkname, link.explicit, link.devmajor, link.devminor) == ("target", True, 0, 0)
    dev = FileEntry("d", EntryType.BLOCK_DEVICE, 0, 0o600, 0, 6, "", 0, True, 8, 1)
    assert (dev.linkname, dev.explicit, dev.devmajor, dev.devminor) == ("", True, 8, 1)
    made = synthetic_directory("x/y")
    assert (made.linkname, made.explicit, made.is_dir) == ("", False, True)


def test_setting_the_link_name_keeps_the_other_rare_fields() -> None:
    made = FileEntry("x", EntryType.SYMLINK, 0, 0o777, 0, 0, "a", 0, False)
    made.linkname = "prefix/a"
    assert (made.linkname, made.explicit) == ("prefix/a", False)
    plain = FileEntry("y", EntryType.SYMLINK, 0, 0o777, 0, 0)
    plain.linkname = "b"
    assert (plain.linkname, plain.explicit, plain.devmajor) == ("b", True, 0)


def test_pickling_keeps_every_field() -> None:
    dev = FileEntry("d", EntryType.CHAR_DEVICE, 0, 0o620, 0, 5, "", 0, True, 4, 1)
    link = FileEntry("l", EntryType.SYMLINK, 0, 0o777, 1, 2, "../t", 9, False)
    for entry in (dev, link):
        back = pickle.loads(pickle.dumps(entry))
        assert (back.path, back.type, back.mode, back.uid, back.gid, back.digest) == (
            entry.path,
            entry.type,
            entry.mode,
            entry.uid,
            entry.gid,
            entry.digest,
        )
        assert (back.linkname, back.explicit, back.devmajor, back.devminor) == (
            entry.linkname,
            entry.explicit,
            entry.devmajor,
            entry.devminor,
        )


def test_unpickled_entries_share_their_mode_and_owner_ints() -> None:
    """The analysis cache: pickle makes a new int per entry; loading shares them again."""
    entries = [FileEntry(f"f{i}", EntryType.FILE, 1, 0o644, 1000, 1001) for i in range(3)]
    back = pickle.loads(pickle.dumps(entries))
    assert [entry.mode for entry in back] == [0o644] * 3
    assert back[0].mode is back[1].mode is back[2].mode
    assert back[0].uid is back[2].uid and back[0].gid is back[2].gid
