"""Names, limits and small helpers shared by the run-file writer and reader.

Everything that defines the on-disk layout lives here so that `docs/file-format.md` has one place in the
code to match. The layout is described in full in that document.
"""

from __future__ import annotations

import os
import platform
import re
import socket
from datetime import UTC, datetime
from functools import lru_cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from pathlib import Path

#: Root attribute ``format``: how a reader recognises a run file.
FORMAT_NAME = "tspcm-run"
#: Root attribute ``format_version``: "major.minor"; readers refuse a newer major version.
FORMAT_VERSION = "1.1"
FORMAT_MAJOR = 1

#: HDF5 library version bounds: 1.10 format objects, the oldest that allows SWMR, so that the Debian
#: hdf5-tools 1.10 (h5dump, h5ls, h5clear) read every file we write.
LIBVER = ("v110", "v110")

#: Run statuses stored in the ``status`` root attribute.
RUNNING, COMPLETED, ABORTED, FAILED, INTERRUPTED, IMPORTED = (
    "running",
    "completed",
    "aborted",
    "failed",
    "interrupted",
    "imported",
)
FINAL_STATUSES = (COMPLETED, ABORTED, FAILED, INTERRUPTED, IMPORTED)

#: Elements per chunk of a streamed 1-D column (4096 float64 = 32 kB: small runs stay small, large
#: runs stream in reasonably sized pieces).
COLUMN_CHUNK = 4096
#: Chunk cache per dataset of a writer (bytes): four column chunks.
CHUNK_CACHE_BYTES = 4 * COLUMN_CHUNK * 8
#: Elements per chunk of the concatenated waveform samples.
WAVEFORM_CHUNK = 65536
#: Fixed byte lengths of the string datasets streamed in SWMR mode (SWMR cannot append variable-length
#: strings). Longer text is cut at a UTF-8 character boundary; the full error text of a failed run is
#: also kept in the root attribute ``error`` written at close.
LOG_MESSAGE_BYTES = 1024
LOG_LEVEL_BYTES = 16
WAVEFORM_NAME_BYTES = 64
WAVEFORM_LABEL_BYTES = 64
WAVEFORM_UNITS_BYTES = 32

#: A writer on another host whose heartbeat is older than this is taken as dead (s). The writer updates
#: the heartbeat at least every ``flush_interval_s`` (1 s by default).
HEARTBEAT_STALE_S = 15.0

#: Largest value stored in a dataset's object header (compact layout) rather than in a separate block:
#: the header carries a checksum, so a damaged parameter value reads as an error, not as another number.
COMPACT_BYTES = 16384

_LABEL_RE = re.compile(r"^(?P<name>.*?)\s*\((?P<units>[^()]*)\)\s*$")


def parse_label(label: str) -> tuple[str, str]:
    """Split a PyMeasure column label "Name (unit)" into ("Name", "unit"); no parentheses -> units "".

    >>> parse_label("Current (A)")
    ('Current', 'A')
    """
    match = _LABEL_RE.match(label)
    if match:
        return match.group("name"), match.group("units").strip()
    return label.strip(), ""


def _identifier(text: str) -> str:
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_")
    return text or "column"


def column_key(label: str) -> str:
    """HDF5 dataset name for a column label: snake case name + "_" + units, units kept in the name.

    "Current (A)" -> "current_A", "Conductance (A/V)" -> "conductance_A_per_V", "Cycle" -> "cycle".
    HDF5 names cannot hold "/", and a readable, unit-carrying name is what h5ls and h5dump show.
    """
    name, units = parse_label(label)
    key = _identifier(name).lower()
    if units:
        units_key = _identifier(units.replace("/", "_per_").replace("%", "percent"))
        key = f"{key}_{units_key}"
    return key


def unique_keys(labels: list[str]) -> list[str]:
    """`column_key` for each label, with "_2", "_3", ... appended where two labels map to one name."""
    keys: list[str] = []
    seen: set[str] = set()
    for label in labels:
        key = base = column_key(label)
        i = 2
        while key in seen:
            key = f"{base}_{i}"
            i += 1
        seen.add(key)
        keys.append(key)
    return keys


_COMPACT_DCPL = None


def create_small_dataset(group, name: str, data):
    """``group.create_dataset(name, data=data)``, in compact layout (inside the object header, under
    its checksum) when the value is small enough (`COMPACT_BYTES`). h5py's ``create_dataset`` ignores a
    layout for scalars, so the dataset is made with the low-level API (numbers written directly, text
    through h5py)."""
    import h5py
    import numpy as np

    global _COMPACT_DCPL
    if isinstance(data, h5py.Empty):
        return group.create_dataset(name, data=data)
    array = np.asarray(data)
    if array.nbytes > COMPACT_BYTES:
        return group.create_dataset(name, data=array)
    if _COMPACT_DCPL is None:
        _COMPACT_DCPL = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        _COMPACT_DCPL.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create(h5py.h5s.SCALAR) if array.shape == () else h5py.h5s.create_simple(array.shape)
    dsid = h5py.h5d.create(
        group.id, name.encode("utf-8"), h5py.h5t.py_create(array.dtype, logical=True), space, dcpl=_COMPACT_DCPL
    )
    if array.dtype.kind in "iuf":
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(array))
        return h5py.Dataset(dsid)
    ds = h5py.Dataset(dsid)
    ds[()] = array
    return ds


def hdf5_name(key: str) -> str:
    """A dict key usable as an HDF5 group/attribute name ("/" is the path separator, "." alone is the
    current group)."""
    key = str(key).replace("/", "_")
    return key if key not in ("", ".") else "_"


def utc_now_iso() -> str:
    """The current time as ISO 8601 UTC with milliseconds, e.g. 2026-05-09T07:35:25.123+00:00."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def iso_from_unix(t_s: float) -> str:
    """ISO 8601 UTC for a Unix time in seconds."""
    return datetime.fromtimestamp(t_s, UTC).isoformat(timespec="milliseconds")


def _dist(name: str) -> str:
    try:
        return _dist_version(name)
    except PackageNotFoundError:
        return ""


@lru_cache(maxsize=1)
def software_versions() -> dict[str, str]:
    """Versions of the software that wrote a run, as root attributes ``version_<name>``.

    Read from installed package metadata (no imports of PyMeasure or PyVISA are needed for this)."""
    import h5py
    import numpy

    from tspcm_lab import __version__

    return {
        "version_tspcm_lab": __version__,
        "version_pymeasure": _dist("pymeasure"),
        "version_pyvisa": _dist("pyvisa"),
        "version_numpy": numpy.__version__,
        "version_h5py": h5py.version.version,
        "version_hdf5": h5py.version.hdf5_version,
        "version_python": platform.python_version(),
    }


@lru_cache(maxsize=1)
def git_revision() -> str:
    """The commit of the source tree that tspcm_lab runs from, read from .git (no subprocess), or ""."""
    root = Path(__file__).resolve().parents[2]
    git = root / ".git"
    try:
        if git.is_file():  # a worktree: "gitdir: /path/to/.git/worktrees/name"
            text = git.read_text().strip()
            if text.startswith("gitdir:"):
                git = (root / text.split(":", 1)[1].strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head
        ref = head.split(":", 1)[1].strip()
        for base in (git, _common_dir(git)):
            ref_file = base / ref
            if ref_file.is_file():
                return ref_file.read_text().strip()
            packed = base / "packed-refs"
            if packed.is_file():
                for line in packed.read_text().splitlines():
                    if line.endswith(" " + ref):
                        return line.split(" ", 1)[0]
    except OSError:
        pass
    return ""


def _common_dir(git: Path) -> Path:
    common = git / "commondir"
    if common.is_file():
        return (git / common.read_text().strip()).resolve()
    return git


def process_start_ticks(pid: int) -> str:
    """Start time of process ``pid`` in clock ticks since boot (Linux /proc), "" when unknown.

    Stored with the writer's pid so that a reused pid is not mistaken for a live writer."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except OSError:
        return ""
    # the command name (field 2) may contain spaces and parentheses: split after its closing ")"
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else ""


def writer_identity() -> dict[str, object]:
    """Root attributes that let a reader tell a live writer from a dead one."""
    pid = os.getpid()
    return {
        "writer_host": socket.gethostname(),
        "writer_pid": pid,
        "writer_process_start": process_start_ticks(pid),
    }
