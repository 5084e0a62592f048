"""The ``tspcm`` command line.

Each subcommand lives in its own module under ``tspcm_lab.commands`` (or elsewhere) and exposes
``register(subparsers)``, which adds its parser and sets ``func=callable(args) -> int`` as the
parser default. Modules are imported lazily so that ``tspcm --help`` stays fast and a broken optional
piece (say, the GUI) does not take the whole CLI down.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import difflib
import errno
import gc
import importlib
import os
import re
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
    "export": "tspcm_lab.commands.export",
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


def plain(text: str) -> str:
    """Help text as a terminal shows it: the reStructuredText markup of our docstrings dropped
    (``tspcm run`` and `tspcm run` both read tspcm run)."""
    return re.sub(r"``(.+?)``|`([^`]+)`", lambda m: m[1] or m[2], text or "")


def did_you_mean(word: str, choices) -> str:
    """ "; did you mean 'run'?" for the closest of ``choices``, or ""."""
    close = difflib.get_close_matches(word, list(choices), n=2, cutoff=0.6)
    if not close:
        return ""
    return "; did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


class PlainFormatter(argparse.HelpFormatter):
    """argparse's formatter on plain text (see :func:`plain`)."""

    def _format_text(self, text):
        return super()._format_text(plain(text))

    def _expand_help(self, action):
        return plain(super()._expand_help(action))


class PlainParser(argparse.ArgumentParser):
    """Every parser of the CLI: plain help text, and "did you mean" for a mistyped option."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", PlainFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        match = re.match(r"unrecognized arguments: (\S+)", message)
        if match:
            options = [o for action in self._actions for o in action.option_strings]
            message += did_you_mean(match[1].split("=")[0], options)
        super().error(message)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or (``only``) one whose only subcommand is that command, so that running one
    command imports one module. A module that fails to import leaves its command reporting why."""
    parser = PlainParser(prog="tspcm", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tspcm-lab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=PlainParser)
    parser.commands = subparsers.choices  # {name: its parser}, to point a mistyped option at the right one
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


class PipeSafeStream:
    """A text stream (stdout, stderr) that outlives its reader: once the other end of a pipe is gone
    (``tspcm run ... 2>&1 | tee log`` and tee is stopped by the same Ctrl-C), writes are dropped and the
    descriptor is pointed at /dev/null, instead of raising BrokenPipeError out of whatever was being
    reported (a run must still stop cleanly and close its file)."""

    def __init__(self, stream):
        self.stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self.stream.write(text)
            except OSError as exc:
                self._lost(exc)
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.stream.flush()
            except OSError as exc:
                self._lost(exc)

    def _lost(self, exc: OSError) -> None:
        if not isinstance(exc, BrokenPipeError) and exc.errno not in (errno.EPIPE, errno.EINVAL):
            raise exc
        self.broken = True
        try:  # the interpreter flushes the real stream once more at exit: let that succeed quietly
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self.stream.fileno())
            os.close(null)
        except (OSError, ValueError, AttributeError):
            pass

    def __getattr__(self, name):
        return getattr(self.stream, name)


#: True once :func:`main` runs as its process's own command line (argv from sys.argv: the ``tspcm`` script,
#: ``python -m tspcm_lab``), not called from other code (a test, a user's script)
_OWN_PROCESS = False


@contextlib.contextmanager
def starting_up():
    """Around a command's imports and set-up, in ``tspcm``'s own process only: no automatic garbage collection
    inside, and what was created inside frozen at the end (:func:`gc.freeze`).

    Opening a run imports PyMeasure, pandas, pint, numba and the drivers: some 200 000 long-lived objects and
    next to no garbage, yet the collector traverses them all several times as they pile up (4 full
    collections, about 0.2 s of a ``tspcm run``), and every later full collection would again. Frozen, they
    are out of its way; collection runs as usual from here on. Called from other code (``main(argv)``),
    this does nothing: freezing would keep that process's garbage of the moment for good."""
    if not _OWN_PROCESS or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def main(argv: list[str] | None = None) -> int:
    global _OWN_PROCESS
    if argv is None and not _OWN_PROCESS:
        _OWN_PROCESS = True
        # the process ends with the command: the interpreter's last collections at exit need not traverse the
        # objects of every imported module (about 0.35 s after a `tspcm run`); atexit handlers registered
        # later (h5py, pyvisa, logging) run before this one, and nothing is left unflushed
        atexit.register(gc.freeze)
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (s if isinstance(s, PipeSafeStream) else PipeSafeStream(s) for s in streams)
    try:
        return _run_command(argv)
    finally:
        sys.stdout, sys.stderr = streams


def _run_command(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    if chosen is not None and chosen not in COMMANDS and argv and argv[0] == chosen:
        print(
            f"tspcm: error: unknown command '{chosen}'{did_you_mean(chosen, COMMANDS)} "
            f"(tspcm --help lists the commands)",
            file=sys.stderr,
        )
        return 2
    parser = build_parser(chosen if chosen in COMMANDS else None)
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the command's own parser, which knows its options
        parser.commands.get(getattr(args, "command", None), parser).error(f"unrecognized arguments: {' '.join(extra)}")
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
