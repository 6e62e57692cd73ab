"""Tests of the streaming tar reader against archives written by CPython's tarfile."""

from __future__ import annotations

import io
import tarfile

import pytest

from dive_py.domain.tar_stream import TarFormatError, TarReader, TarTruncatedError


def _archive(fmt: int, names: list[str], data: bytes = b"payload", **kw: object) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(
        fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape", **kw
    ) as tar:  # type: ignore[arg-type]
        for name in names:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.uid, info.gid, info.mode = 1000, 50, 0o4755
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("link")
        link.type, link.linkname = tarfile.SYMTYPE, names[0]
        tar.addfile(link)
    return buf.getvalue()


def _read_all(data: bytes) -> list[tuple[str, bytes, int, bytes]]:
    reader = TarReader(io.BytesIO(data))
    out = []
    for member in reader:
        out.append((member.name, member.typeflag, member.size, reader.read()))
    return out


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_reads_names_sizes_types_and_data_in_every_format(fmt: int) -> None:
    names = ["a.txt", "dir/b.bin"]
    rows = _read_all(_archive(fmt, names))
    assert rows == [
        ("a.txt", b"0", 7, b"payload"),
        ("dir/b.bin", b"0", 7, b"payload"),
        ("link", b"2", 0, b""),
    ]


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_long_names_of_4096_characters(fmt: int) -> None:
    long_name = "/".join(["d" * 200] * 20)[:4096]
    rows = _read_all(_archive(fmt, [long_name]))
    assert rows[0][0] == long_name
    reader = TarReader(io.BytesIO(_archive(fmt, [long_name])))
    assert next(iter(reader)).linkname == ""


def test_owner_and_special_mode_bits() -> None:
    reader = TarReader(io.BytesIO(_archive(tarfile.PAX_FORMAT, ["x"])))
    member = next(iter(reader))
    assert (member.uid, member.gid, member.mode) == (1000, 50, 0o4755)


def test_repeated_modes_and_owners_are_one_object_each() -> None:
    """Issue 11 (memory): a million entries with mode 0o4755 hold one int, not a million."""
    reader = TarReader(io.BytesIO(_archive(tarfile.USTAR_FORMAT, ["a", "b", "c"])))
    members = [member for member in reader if member.typeflag == b"0"]
    assert [member.mode for member in members] == [0o4755] * 3
    assert members[0].mode is members[1].mode is members[2].mode
    assert members[0].uid is members[1].uid is members[2].uid == 1000


def test_non_utf8_name_survives_as_surrogates() -> None:
    raw = b"caf\xe9/\xff.txt"
    name = raw.decode("utf-8", "surrogateescape")
    rows = _read_all(_archive(tarfile.GNU_FORMAT, [name]))
    assert rows[0][0].encode("utf-8", "surrogateescape") == raw


def test_pax_global_header_does_not_abort() -> None:
    data = _archive(tarfile.PAX_FORMAT, ["a", "b"], pax_headers={"comment": "global"})
    assert [row[0] for row in _read_all(data)] == ["a", "b", "link"]


def test_base256_size_field() -> None:
    data = bytearray(_archive(tarfile.GNU_FORMAT, ["a"], data=b"x" * 10))
    field = bytearray(12)
    field[0] = 0x80
    field[-1] = 10
    data[124:136] = field
    # fix the checksum
    header = data[:512]
    header[148:156] = b" " * 8
    data[148:156] = f"{sum(header):06o}\0 ".encode()
    assert _read_all(bytes(data))[0][2] == 10


def test_checksum_mismatch_is_an_error() -> None:
    # A header without a ustar magic (damaged, or v7) must carry a correct checksum.
    data = bytearray(_archive(tarfile.USTAR_FORMAT, ["a"]))
    data[257:258] = b"X"
    with pytest.raises(TarFormatError, match="checksum"):
        _read_all(bytes(data))


def test_garbage_is_not_a_tar() -> None:
    with pytest.raises(TarFormatError):
        _read_all(b"this is not a tar archive" * 100)


def test_truncation_anywhere_before_the_end_marker_is_an_error() -> None:
    data = _archive(tarfile.PAX_FORMAT, ["a", "b/c"], data=b"z" * 1500)
    end_marker = data.index(b"\0" * 1024, 3 * 512)  # first zero block after the members
    # find the real end marker offset by reading
    reader = TarReader(io.BytesIO(data))
    for _ in reader:
        pass
    end = reader.position
    assert end >= end_marker
    for cut in range(0, end - 1024 + 1, 37):
        with pytest.raises(TarTruncatedError):
            _read_all(data[:cut])
    # a cut inside the trailing padding after the marker is fine
    assert len(_read_all(data[: end - 512])) == 3


def test_unread_data_is_skipped() -> None:
    reader = TarReader(io.BytesIO(_archive(tarfile.PAX_FORMAT, ["a", "b"], data=b"q" * 70000)))
    names = [member.name for member in reader]
    assert names == ["a", "b", "link"]


def test_hardlink_carries_no_data_even_with_a_size_field() -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("f")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
        link = tarfile.TarInfo("h")
        link.type, link.linkname = tarfile.LNKTYPE, "f"
        tar.addfile(link)
    rows = _read_all(buf.getvalue())
    assert rows == [("f", b"0", 3, b"abc"), ("h", b"1", 0, b"")]


def test_v7_header_without_magic_is_read_when_its_checksum_is_right() -> None:
    data = bytearray(_archive(tarfile.USTAR_FORMAT, ["a"]))
    header = data[:512]
    header[257:265] = b"\0" * 8
    header[148:156] = b" " * 8
    header[148:156] = f"{sum(header):06o}\0 ".encode()
    data[:512] = header
    assert _read_all(bytes(data))[0][:3] == ("a", b"0", 7)


class _Trickle(io.RawIOBase):
    """A stream that hands out at most ``step`` bytes per read (forces buffer boundaries)."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self._step if n < 0 else min(n, self._step)
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return chunk


@pytest.mark.parametrize("step", [1, 7, 511, 513, 1 << 20])
def test_feed_data_passes_every_byte_once_across_buffer_boundaries(step: int) -> None:
    payload = bytes(range(256)) * 40 + b"tail"
    reader = TarReader(_Trickle(_archive(tarfile.PAX_FORMAT, ["a", "b"], payload), step))
    seen = []
    for member in reader:
        pieces: list[bytes] = []
        reader.feed_data(lambda view: pieces.append(bytes(view)))  # noqa: B023 (called at once)
        assert all(pieces)  # never an empty piece
        seen.append((member.name, b"".join(pieces)))
        reader.feed_data(pieces.append)  # nothing left: no call
        assert len(pieces) == len([p for p in pieces if p])
    assert seen == [("a", payload), ("b", payload), ("link", b"")]


def test_feed_data_of_a_truncated_member_is_an_error() -> None:
    data = _archive(tarfile.PAX_FORMAT, ["a"], b"x" * 5000)
    cut = data.index(b"x" * 100) + 2000
    reader = TarReader(io.BytesIO(data[:cut]))
    next(reader)
    with pytest.raises(TarTruncatedError):
        reader.feed_data(lambda view: None)


def test_read_n_may_return_less_but_never_empty_before_the_end() -> None:
    payload = b"0123456789" * 300
    reader = TarReader(_Trickle(_archive(tarfile.PAX_FORMAT, ["a"], payload), 700))
    next(reader)
    got = b""
    while True:
        piece = reader.read(1000)
        if not piece:
            break
        assert len(piece) <= 1000
        got += piece
    assert got == payload
    reader2 = TarReader(_Trickle(_archive(tarfile.PAX_FORMAT, ["a"], payload), 700))
    next(reader2)
    assert reader2.read() == payload  # n < 0 still returns the whole rest


def test_strict_end_is_the_default_and_lenient_end_stops_at_a_member_boundary() -> None:
    whole = _archive(tarfile.USTAR_FORMAT, ["a", "b"], b"12345")
    body = whole.rstrip(b"\0")
    cut = body + b"\0" * (-len(body) % 512)  # after b's padded data, no end blocks
    with pytest.raises(TarTruncatedError, match="end-of-archive"):
        list(TarReader(io.BytesIO(cut)))
    assert [m.name for m in TarReader(io.BytesIO(cut), strict_end=False)] == ["a", "b", "link"]
    # an end inside a header or inside a member's data stays truncation
    for keep in (len(cut) - 1, 100, 512 + 3):
        with pytest.raises(TarTruncatedError):
            for _member in TarReader(io.BytesIO(cut[:keep]), strict_end=False):
                pass
