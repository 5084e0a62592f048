"""The ``tspcm`` subcommands, one module each (``register(subparsers)`` and ``run(args)``)."""

from __future__ import annotations


def run_files_or_exit(paths: list[str], *, recursive: bool = True, required: bool = True) -> list[str]:
    """The run files named by ``paths`` (files as given, folders searched); a path that does not exist,
    or (``required``) no run file at all, is the user's input: CliError with exit code 2."""
    from tspcm_lab.cli import CliError
    from tspcm_lab.store.reader import find_run_files

    try:
        files = find_run_files(paths, recursive=recursive)
    except FileNotFoundError as exc:
        raise CliError(str(exc), 2) from None
    if required and not files:
        raise CliError("no .h5/.hdf5 run files under " + ", ".join(paths), 2)
    return files
