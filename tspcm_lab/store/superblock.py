"""The HDF5 superblock (versions 2 and 3, what our files and any HDF5 >= 1.8 file with new-style
metadata use): read it, and write a copy of a crashed file whose superblock is fixed.

A writer killed in the middle of a run leaves two things wrong in the superblock: the file consistency
flags still say "open for write" (HDF5 then refuses a normal open), and the end-of-file address is the
one of the last time the superblock was written (in SWMR mode: when the file went live), so every
object written later lies beyond it. ``h5clear -s`` clears the flags but keeps the stale address,
after which HDF5 truncates the file to it and the data is gone. `fixed_copy` clears the flags and sets
the address to the real end of the file, then checks the superblock checksum (Jenkins' lookup3, as
HDF5 computes it).

Layout (HDF5 file format specification 3.0, "Superblock version 2"): signature (8 bytes), version,
size of offsets, size of lengths, flags (1 byte each), base address, superblock extension address,
end-of-file address, root group object header address (size-of-offsets bytes each), checksum (4).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: where HDF5 looks for the superblock: 0, then 512, 1024, 2048 ... (after a user block)
_SEARCH = (0, 512, 1024, 2048, 4096, 8192)


@dataclass
class Superblock:
    offset: int  #: where the superblock starts in the file
    version: int
    flags: int
    eoa: int  #: end-of-file address (relative to the base address)
    base: int
    checksum_ok: bool


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & 0xFFFFFFFF


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle`` (HDF5's ``H5_checksum_lookup3``)."""
    m = 0xFFFFFFFF
    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & m
    i = 0
    while length > 12:
        a = (a + int.from_bytes(data[i : i + 4], "little")) & m
        b = (b + int.from_bytes(data[i + 4 : i + 8], "little")) & m
        c = (c + int.from_bytes(data[i + 8 : i + 12], "little")) & m
        # fmt: off
        a = (a - c) & m; a ^= _rot(c, 4); c = (c + b) & m  # noqa: E702 - the reference's layout
        b = (b - a) & m; b ^= _rot(a, 6); a = (a + c) & m  # noqa: E702
        c = (c - b) & m; c ^= _rot(b, 8); b = (b + a) & m  # noqa: E702
        a = (a - c) & m; a ^= _rot(c, 16); c = (c + b) & m  # noqa: E702
        b = (b - a) & m; b ^= _rot(a, 19); a = (a + c) & m  # noqa: E702
        c = (c - b) & m; c ^= _rot(b, 4); b = (b + a) & m  # noqa: E702
        # fmt: on
        i += 12
        length -= 12
    if length == 0:
        return c
    tail = data[i:] + bytes(12 - length)
    a = (a + int.from_bytes(tail[0:4], "little")) & m
    b = (b + int.from_bytes(tail[4:8], "little")) & m
    c = (c + int.from_bytes(tail[8:12], "little")) & m
    # fmt: off
    c ^= b; c = (c - _rot(b, 14)) & m  # noqa: E702
    a ^= c; a = (a - _rot(c, 11)) & m  # noqa: E702
    b ^= a; b = (b - _rot(a, 25)) & m  # noqa: E702
    c ^= b; c = (c - _rot(b, 16)) & m  # noqa: E702
    a ^= c; a = (a - _rot(c, 4)) & m  # noqa: E702
    b ^= a; b = (b - _rot(a, 14)) & m  # noqa: E702
    c ^= b; c = (c - _rot(b, 24)) & m  # noqa: E702
    # fmt: on
    return c


def _layout(head: bytes) -> tuple[int, int] | None:
    """(size of offsets, bytes covered by the checksum) of a version 2/3 superblock, else None."""
    if len(head) < 12 or head[8] not in (2, 3):
        return None
    offsets = head[9]
    if offsets not in (2, 4, 8):
        return None
    return offsets, 12 + 4 * offsets


def read_superblock(path: str | os.PathLike) -> Superblock | None:
    """The version 2/3 superblock of ``path``, or None (not HDF5, or an older superblock version)."""
    with open(path, "rb") as f:
        for offset in _SEARCH:
            f.seek(offset)
            head = f.read(12 + 4 * 8 + 4)
            if not head.startswith(SIGNATURE):
                continue
            layout = _layout(head)
            if layout is None:
                return None
            size, covered = layout
            if len(head) < covered + 4:
                return None
            fields = [int.from_bytes(head[12 + k * size : 12 + (k + 1) * size], "little") for k in range(4)]
            stored = int.from_bytes(head[covered : covered + 4], "little")
            return Superblock(
                offset=offset,
                version=head[8],
                flags=head[11],
                base=fields[0],
                eoa=fields[2],
                checksum_ok=lookup3(head[:covered]) == stored,
            )
    return None


def fixed_copy(path: str | os.PathLike, target: str | os.PathLike) -> Superblock:
    """Copy ``path`` to ``target`` with its superblock's flags cleared and its end-of-file address set
    to the real end of the file (never below the stored one), the checksum recomputed. The original is
    not touched. Raises ValueError when the file has no version 2/3 superblock with a valid checksum."""
    block = read_superblock(path)
    if block is None or not block.checksum_ok:
        raise ValueError("no HDF5 version 2/3 superblock with a valid checksum")
    shutil.copyfile(path, target)
    with open(target, "r+b") as f:
        f.seek(block.offset)
        head = bytearray(f.read(12 + 4 * 8 + 4))
        size, covered = _layout(bytes(head))
        end = os.fstat(f.fileno()).st_size - block.offset - block.base
        eoa = max(block.eoa, end)
        head[11] = 0
        head[12 + 2 * size : 12 + 3 * size] = eoa.to_bytes(size, "little")
        head[covered : covered + 4] = lookup3(bytes(head[:covered])).to_bytes(4, "little")
        f.seek(block.offset)
        f.write(head[: covered + 4])
    return block
