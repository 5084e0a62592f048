"""Errors of the run store, each with a one-line message meant for the user."""


class RunFileError(Exception):
    """A run file cannot be used; the message names the file and says why in one line."""


class NotARunError(RunFileError):
    """The path is not a readable tspcm run file (missing, not HDF5, truncated, another program's)."""


class RunBusyError(RunFileError):
    """The run file is held by a live writer in a way that forbids the requested operation."""


class CorruptRunError(RunFileError):
    """A run file whose structure opens but one of whose objects cannot be read (a checksum that does
    not match, a truncated or overwritten page); the message names the object."""


class RunWriteError(RunFileError):
    """Writing a run file failed; what was flushed before stays readable (see the message)."""


class DiskFullError(RunWriteError):
    """No room left for the run file (a full disk, a quota, a file size limit); the message starts
    with "disk full"."""
