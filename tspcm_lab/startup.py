"""The garbage collector around a ``tspcm`` command's start-up, in its own process only.

Opening a run imports PyMeasure, pandas, pint, numba and the drivers: some 200 000 long-lived objects and next
to no garbage, yet the collector traverses them all several times as they pile up (4 full collections, about
0.2 s of a ``tspcm run``), and every later full collection would again. :func:`starting_up` keeps it out of
the way while they are created and freezes them afterwards (:func:`gc.freeze`).
"""

from __future__ import annotations

import contextlib
import gc

#: True once :func:`tspcm_lab.cli.main` runs as its process's own command line (argv from sys.argv: the
#: ``tspcm`` script, ``python -m tspcm_lab``), not called from other code (a test, a user's script)
own_process = False


@contextlib.contextmanager
def starting_up():
    """Around a command's imports and set-up, in ``tspcm``'s own process only: no automatic garbage collection
    inside, and what was created inside frozen at the end. Collection runs as usual after it. Called from other
    code (``main(argv)``), this does nothing: freezing would keep that process's garbage of the moment for good."""
    if not own_process or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
