"""Time as the cell experiences it: the wall clock, or the virtual clock of a simulated bench.

A bench hands its procedures a :class:`Clock` (``bench.clock``). On a real bench it is the wall clock;
a VISA library that simulates the instruments in-process offers its own clock as the library's
``clock`` attribute (``sim_backend``'s ``@tspcm`` does: its waits advance virtual time, so a 1e4 s
retention takes no wall time). Nothing here knows which library that is: any object with the
:class:`Clock` shape will do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

#: a procedure's stop request, asked between steps (None: never stop)
StopCheck = Callable[[], bool] | None


@runtime_checkable
class Clock(Protocol):
    """``now_s()`` (s, any origin) and ``wait(duration_s, should_stop)`` (False if stopped early);
    ``virtual`` True when waiting takes no wall time."""

    virtual: bool

    def now_s(self) -> float: ...

    def wait(self, duration_s: float, should_stop: StopCheck = None) -> bool: ...


class WallClock:
    """The wall clock (monotonic): waiting sleeps, in slices so that a stop request is seen."""

    virtual = False

    def now_s(self) -> float:
        return time.monotonic()

    def wait(self, duration_s: float, should_stop: StopCheck = None, *, slice_s: float = 0.2) -> bool:
        """Let ``duration_s`` pass with the outputs as they are; False if stopped early."""
        end = time.monotonic() + max(float(duration_s), 0.0)
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return True
            if should_stop is not None and should_stop():
                return False
            time.sleep(min(left, slice_s))


def visa_clock(driver: Any) -> Clock | None:
    """The clock the VISA library behind a PyMeasure ``driver`` offers (its ``clock`` attribute), or
    None when it offers none (every real VISA library)."""
    connection = getattr(getattr(driver, "adapter", None), "connection", None)
    clock = getattr(getattr(connection, "visalib", None), "clock", None)
    return clock if isinstance(clock, Clock) else None
