"""Where runs are written: run file names that never overwrite an earlier run."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

RUN_SUFFIXES = (".h5", ".hdf5")


def timestamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


def unique_path(path: Path) -> Path:
    """``path``, or ``stem-2.h5``, ``stem-3.h5``... when it exists."""
    if not path.exists():
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return candidate
        n += 1


def run_paths(output: str | Path | None, name: str, count: int = 1, *, default_dir: str = "runs") -> list[Path]:
    """Run file paths for ``count`` runs of procedure ``name``.

    ``output`` ending in .h5/.hdf5 is a file (``stem_001.h5``... for several runs); anything else is a
    folder (created), where files are named ``<time>_<name>.h5`` (``..._001.h5`` for several). An explicit
    file that exists is refused (FileExistsError); generated names never overwrite."""
    target = Path(output) if output else Path(default_dir)
    safe = re.sub(r"[^\w.\-]+", "_", name) or "run"
    if target.suffix.lower() in RUN_SUFFIXES:
        if count == 1:
            if target.exists():
                raise FileExistsError(f"{target} already exists; choose another --output")
            return [target]
        paths = [target.with_name(f"{target.stem}_{i:03d}{target.suffix}") for i in range(1, count + 1)]
        existing = [str(p) for p in paths if p.exists()]
        if existing:
            raise FileExistsError(f"{existing[0]} already exists; choose another --output")
        return paths
    if target.exists() and not target.is_dir():
        raise FileExistsError(f"{target} exists and is not a folder; give a folder or a new .h5 file name")
    stem = f"{timestamp()}_{safe}"
    if count == 1:
        return [unique_path(target / f"{stem}.h5")]
    return [unique_path(target / f"{stem}_{i:03d}.h5") for i in range(1, count + 1)]
