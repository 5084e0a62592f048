"""Compilation switch for the device model's kernels.

The stepper and the element equations are written once, as plain Python on scalars and numpy arrays, and
compiled with numba (``nopython``, cached on disk, the GIL released). ``TSPCM_NO_JIT=1`` in the environment
runs the very same functions uncompiled: slow, but the reference the compiled path is tested against, and
a way to step through the physics in a debugger.
"""

from __future__ import annotations

import os

#: True when the kernels run as plain Python (``TSPCM_NO_JIT=1``).
DISABLED = os.environ.get("TSPCM_NO_JIT", "").strip().lower() not in ("", "0", "no", "false", "off")

if DISABLED:  # pragma: no cover - exercised by the equality test in a subprocess
    prange = range

    def njit(*args, **kwargs):
        """The identity decorator: ``@njit`` and ``@njit(...)`` both leave the function as it is."""
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda fn: fn

else:
    import numba

    prange = numba.prange

    def njit(*args, **kwargs):
        """``numba.njit`` with the model's defaults: cached on disk, GIL released, no fastmath (results
        must equal the uncompiled path's to rounding)."""
        options = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return numba.njit(**options)(args[0])
        options.update(kwargs)
        return numba.njit(**options)
