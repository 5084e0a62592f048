"""The ``tspcm`` command line.

Each subcommand lives in its own module under ``tspcm_lab.commands`` (or elsewhere) and exposes
``register(subparsers)``, which adds its parser and sets ``func=callable(args) -> int`` as the
parser default. Modules are imported lazily so that ``tspcm --help`` stays fast and a broken optional
piece (say, the GUI) does not take the whole CLI down.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tspcm_lab import __version__

#: subcommand name -> module that registers it
COMMANDS: dict[str, str] = {
    "bench": "tspcm_lab.commands.bench",
    "runs": "tspcm_lab.commands.store_runs",
    "repair": "tspcm_lab.commands.store_repair",
    "import": "tspcm_lab.commands.store_import",
    "sim": "tspcm_lab.commands.sim",
    "analyze": "tspcm_lab.commands.analyze",
}


class CliError(Exception):
    """A user-facing error: printed as one line, exit code ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tspcm", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tspcm-lab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"tspcm {args.command}: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"tspcm {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
