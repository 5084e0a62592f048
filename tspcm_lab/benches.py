"""Where the built-in bench files live (``data/benches/<name>.toml``), their names, and the command line's
bench arguments. Kept apart from :mod:`tspcm_lab.bench` (which imports every instrument driver) so that
registering a command and its help do not pay that cost."""

from __future__ import annotations

from pathlib import Path

import tspcm_data

#: where the built-in bench files live (``sim``, ``sim-4x4``, ``sim-tcp``): data/benches in the source tree
BUILTIN_DIR = tspcm_data.path("benches")


def builtin_benches() -> dict[str, Path]:
    """Names of the built-in bench files -> their paths."""
    return {p.stem: p for p in sorted(BUILTIN_DIR.glob("*.toml"), key=lambda p: p.stem)}


#: the roles ``tspcm bench check`` requires unless told otherwise (what TS-PCM procedures need)
DEFAULT_REQUIRED_ROLES: tuple[str, ...] = ("smu", "pulse", "scope")


def add_bench_arguments(parser) -> None:
    """Add ``BENCH`` / ``--sim`` to an argparse parser (shared by every command that opens a bench)."""
    parser.add_argument(
        "bench", nargs="?", metavar="BENCH", help=f"bench file, or a built-in name ({', '.join(builtin_benches())})"
    )
    parser.add_argument("--sim", action="store_true", help="use the built-in simulated bench (same as BENCH=sim)")
