"""Errors of the run store, each with a one-line message meant for the user."""


class RunFileError(Exception):
    """A run file cannot be used; the message names the file and says why in one line."""


class NotARunError(RunFileError):
    """The path is not a readable tspcm run file (missing, not HDF5, truncated, another program's)."""


class RunBusyError(RunFileError):
    """The run file is held by a live writer in a way that forbids the requested operation."""
