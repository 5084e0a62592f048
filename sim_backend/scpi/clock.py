"""An instrument's real-time clock: a settable epoch plus the bench's virtual time (UTC).

Timestamps, ``:SYSTem:DATE``/``:SYSTem:TIME`` and buffer time elements read this clock. It starts
at :data:`EPOCH_S` (2025-01-01 00:00:00 UTC) when the bench's virtual time is 0, so runs are
reproducible; setting the date or time moves the epoch, never the virtual clock.
"""

from __future__ import annotations

import calendar
import time as _time
from collections.abc import Callable

EPOCH_S = float(calendar.timegm((2025, 1, 1, 0, 0, 0)))


class Clock:
    def __init__(self, virtual_now: Callable[[], float]):
        self._virtual_now = virtual_now
        self.epoch_s = EPOCH_S

    @property
    def now_s(self) -> float:
        """UTC seconds now."""
        return self.epoch_s + self._virtual_now()

    def struct(self) -> _time.struct_time:
        return _time.gmtime(self.now_s)

    def _set(self, fields: list[int]) -> None:
        self.epoch_s = calendar.timegm(tuple(fields)) - self._virtual_now()

    def set_date(self, year: int, month: int, day: int) -> None:
        fields = list(self.struct()[:6])
        fields[0:3] = [year, month, day]
        self._set(fields)

    def set_time(self, hour: int, minute: int, second: int) -> None:
        fields = list(self.struct()[:6])
        fields[3:6] = [hour, minute, second]
        self._set(fields)

    def set_from(self, p, which: str) -> None:
        """``:SYSTem:DATE <y>, <m>, <d>`` (``which`` "DATE") or ``:SYSTem:TIME <h>, <m>, <s>``."""
        if which == "DATE":
            self.set_date(
                p.integer(0, lo=1970, hi=2099, name="year"),
                p.integer(1, lo=1, hi=12, name="month"),
                p.integer(2, lo=1, hi=31, name="day"),
            )
        else:
            self.set_time(
                p.integer(0, lo=0, hi=23, name="hour"),
                p.integer(1, lo=0, hi=59, name="minute"),
                int(p.number(2, lo=0, hi=59.999, name="second")),
            )
