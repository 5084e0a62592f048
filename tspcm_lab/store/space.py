"""How much room a run file has left, and how much the next flush may take.

The writer checks before every flush that the bytes it is about to write, plus a reserve to end the run
cleanly (its final status), fit in the room left. HDF5 is never left to discover a full disk by itself:
a write that fails in the middle of a flush leaves its library state unusable (closing such a file
crashed the process). The room is the smaller of the free space of the file system (for an unprivileged
user) and, under a file size limit (``ulimit -f``, RLIMIT_FSIZE), what the limit leaves the file.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

try:
    import resource
except ImportError:  # not on Windows: no file size limits to honour
    resource = None

#: room kept free to end a run: the SWMR session's last metadata and the final root attributes (status,
#: end time, row count, error text) (bytes)
CLOSE_RESERVE_BYTES = 256 << 10
#: room a new run file needs before its first row: groups, parameters, bench snapshot, empty datasets
CREATE_BYTES = 256 << 10
#: metadata that one flush may add per dataset it extends (chunk index, object header) (bytes)
METADATA_BYTES_PER_DATASET = 2048
#: errno values that mean "no room" (ENOSPC full file system, EFBIG file size limit, EDQUOT quota)
NO_ROOM_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_NO_ROOM_TEXT = ("no space left", "file too large", "disk quota exceeded", "errno = 28", "errno = 27", "errno = 122")


def room_bytes(path: Path) -> int:
    """Bytes the file at ``path`` (existing or about to be created) may still grow by."""
    path = Path(path)
    try:
        st = os.statvfs(path.parent if not path.is_dir() else path)
        room = st.f_bavail * st.f_frsize
    except (OSError, AttributeError):  # no statvfs (Windows) or the folder vanished: no limit known
        room = 1 << 62
    if resource is not None:
        soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
        if soft != resource.RLIM_INFINITY:
            try:
                size = path.stat().st_size
            except OSError:
                size = 0
            room = min(room, soft - size)
    return int(room)


def append_bytes(length: int, added: int, chunk: int, itemsize: int) -> int:
    """Upper bound of the bytes that appending ``added`` elements to a chunked 1-D dataset of ``length``
    elements adds to the file: each chunk it starts, whole, with its checksum, plus index metadata. (A
    chunk that exists already is rewritten in place: its Fletcher-32 filter keeps its size.)"""
    if added <= 0:
        return 0
    first_new = -(-length // chunk)  # the first chunk that does not exist yet
    last = (length + added - 1) // chunk
    return max(0, last - first_new + 1) * (chunk * itemsize + 4) + METADATA_BYTES_PER_DATASET


def means_no_room(exc: BaseException) -> bool:
    """True when an error from the file system or from HDF5 says there is no room left."""
    if isinstance(exc, OSError) and exc.errno in NO_ROOM_ERRNOS:
        return True
    text = str(exc).lower()
    return any(marker in text for marker in _NO_ROOM_TEXT)


def describe_bytes(n: float) -> str:
    """1536 -> "1.5 KiB"."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"
