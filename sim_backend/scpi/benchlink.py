"""The only door from a virtual instrument to the physics: thin calls into the virtual bench.

Every action with a physical effect (an output turned on, a reading integrated, a burst played, a
relay closed) goes through these calls on ``sim_backend.bench`` objects, in virtual time. An
instrument built with ``bench=None`` is a *disconnected* instrument: settings, queries and errors
work, readings are 0 and no time passes (useful to test SCPI dialogue on its own; it is not a
physics shortcut, there is no physics at all).

Bench calls used (names from the bench API):
``now_s``, ``set_source``, ``measure``, ``sweep``, ``play``, ``arm_capture``, ``capture``,
``route``, ``wait``. ``measure`` returns a :class:`sim_backend.measurement.Measurement` (``current_a``,
``voltage_v``, ``compliance``, and ``start_s``, the virtual time it was asked for), the bench's own, passed
through. An SMU forcing current sets its output
with ``mode="current"`` (level in A, ``vlimit_v`` its voltage limit); ``compliance`` then means the voltage
limit was reached.
"""

from __future__ import annotations

import inspect

import numpy as np

from sim_backend.measurement import Measurement


def _field(obj, name: str, index: int):
    if hasattr(obj, name):
        return getattr(obj, name)
    if isinstance(obj, dict):
        return obj[name]
    return obj[index]


class BenchLink:
    """One instrument terminal's view of the bench: ``name`` is the bench's name for the terminal."""

    def __init__(self, bench, name: str | None):
        self.bench = bench if name is not None else None
        self.name = name
        self._clock_s = 0.0
        self._sweep_kwargs: set[str] | None = None

    @property
    def connected(self) -> bool:
        return self.bench is not None

    @property
    def now_s(self) -> float:
        """Virtual time (s): the bench's clock, or 0 for a disconnected instrument."""
        if self.bench is None:
            return self._clock_s
        return float(self.bench.now_s)

    def set_source(
        self,
        *,
        enabled: bool,
        level_v: float | None = None,
        ilimit_a: float | None = None,
        r_series_ohm: float | None = None,
        mode: str | None = None,
        vlimit_v: float | None = None,
    ) -> None:
        """A DC output's state (on/off, level, current limit, source resistance); ``mode="current"``:
        the level is in amperes and ``vlimit_v`` the voltage limit."""
        if self.bench is None:
            return
        extra = {} if mode is None else {"mode": mode, "vlimit_v": vlimit_v}
        self.bench.set_source(
            self.name, enabled=enabled, level_v=level_v, ilimit_a=ilimit_a, r_series_ohm=r_series_ohm, **extra
        )

    @property
    def seed(self) -> int:
        """The bench's seed (0 for a disconnected instrument): instrument noise draws from it."""
        config = getattr(self.bench, "config", None)
        return int(getattr(config, "seed", 0) or 0)

    def wait(self, duration_s: float) -> None:
        """Let ``duration_s`` of virtual time pass with the DC outputs as they are."""
        if duration_s <= 0:
            return
        if self.bench is None:
            self._clock_s += duration_s
            return
        self.bench.wait(duration_s)

    def measure(self, duration_s: float) -> Measurement:
        """Integrate the terminal current for ``duration_s`` (advances the clock): the bench's
        :class:`Measurement` as it is (its ``start_s``: the bench's time when it was asked for)."""
        if self.bench is None:
            start_s = self._clock_s
            self._clock_s += duration_s
            return Measurement(0.0, 0.0, False, start_s)
        return self.bench.measure(self.name, duration_s)

    def sweep_supports(self, keyword: str) -> bool:
        if self.bench is None:
            return False
        if self._sweep_kwargs is None:
            try:
                self._sweep_kwargs = set(inspect.signature(self.bench.sweep).parameters)
            except (TypeError, ValueError):
                self._sweep_kwargs = set()
        return keyword in self._sweep_kwargs

    def sweep(
        self,
        levels_v: np.ndarray,
        *,
        delay_s: float,
        aperture_s: float,
        ilimit_a: float,
        stop_on_compliance: bool = False,
    ):
        """A staircase of DC levels, one reading per step: arrays (current_a, voltage_v, compliance).

        With ``stop_on_compliance`` the arrays end at the first step that reached the limit; the
        bench must then support that keyword (check :meth:`sweep_supports`).
        """
        n = len(levels_v)
        if self.bench is None:
            self._clock_s += n * (delay_s + aperture_s)
            return np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
        kwargs = dict(delay_s=delay_s, aperture_s=aperture_s, ilimit_a=ilimit_a)
        if stop_on_compliance:
            kwargs["stop_on_compliance"] = True
        res = self.bench.sweep(self.name, np.asarray(levels_v, dtype=float), **kwargs)
        cur = np.asarray(_field(res, "current_a", 0), dtype=float)
        vol = np.asarray(_field(res, "voltage_v", 1), dtype=float)
        comp = np.asarray(_field(res, "compliance", 2), dtype=bool)
        return cur, vol, comp

    def play(self, times_s: np.ndarray, volts_v: np.ndarray, *, r_series_ohm: float) -> None:
        """A piecewise-linear waveform from now on (advances the clock by its length)."""
        if self.bench is None:
            self._clock_s += float(times_s[-1]) if len(times_s) else 0.0
            return
        self.bench.play(
            self.name, np.asarray(times_s, dtype=float), np.asarray(volts_v, dtype=float), r_series_ohm=r_series_ohm
        )

    def arm_capture(self, *, record_s: float, dt_s: float, pretrigger_s: float, trigger: str) -> None:
        if self.bench is None:
            return
        self.bench.arm_capture(self.name, record_s=record_s, dt_s=dt_s, pretrigger_s=pretrigger_s, trigger=trigger)

    def capture(self):
        """The last capture as (t_s, current_a) arrays, or None when nothing triggered."""
        if self.bench is None:
            return None
        return self.bench.capture(self.name)

    def route(self, closed: set[tuple[int, int]]) -> None:
        if self.bench is None:
            return
        self.bench.route(set(closed))
