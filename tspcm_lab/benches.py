"""Where the built-in bench files live (``data/benches/<name>.toml``) and their names. Kept apart from
:mod:`tspcm_lab.bench` (which imports every instrument driver) so that the command line's help can list
them without that cost."""

from __future__ import annotations

from pathlib import Path

#: where the built-in bench files live (``sim``, ``sim-4x4``, ``sim-tcp``)
BUILTIN_DIR = Path(__file__).resolve().parent.parent / "data" / "benches"


def builtin_benches() -> dict[str, Path]:
    """Names of the built-in bench files -> their paths."""
    return {p.stem: p for p in sorted(BUILTIN_DIR.glob("*.toml"), key=lambda p: p.stem)}
