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
    "fit": "tspcm_lab.commands.fit",
    "run": "tspcm_lab.commands.run",
    "procedures": "tspcm_lab.commands.procedures",
    "campaign": "tspcm_lab.commands.campaign",
    "demo": "tspcm_lab.commands.demo",
    "gui": "tspcm_lab.commands.gui",
}


class CliError(Exception):
    """A user-facing error: printed as one line, exit code ``code``."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or (``only``) one whose only subcommand is that command, so that running one
    command imports one module. A module that fails to import leaves its command reporting why."""
    parser = argparse.ArgumentParser(prog="tspcm", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tspcm-lab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in COMMANDS.items():
        if only is not None and name != only:
            continue
        try:
            importlib.import_module(module).register(subparsers)
        except Exception as exc:  # noqa: BLE001 -- one broken command must not take the others down
            broken = subparsers.add_parser(name, help=f"(unavailable: {exc})")
            broken.set_defaults(func=_unavailable(name, exc))
    return parser


def _unavailable(name: str, exc: Exception):
    def run(args) -> int:
        raise CliError(f"this command is unavailable: {type(exc).__name__}: {exc}")

    return run


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in COMMANDS else None)
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
    # run as a script this module is __main__, a second copy: use the importable one, whose CliError
    # is the class the commands raise
    from tspcm_lab.cli import main as _main

    sys.exit(_main())
