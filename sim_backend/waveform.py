"""Voltage waveforms for the device model: piecewise-linear in time.

Every stimulus a bench can apply is piecewise linear to the precision that matters here: a DC level, a
staircase, trapezoidal pulses with finite rise and fall, and an AWG's sampled arbitrary waveform (played
with linear interpolation between samples, as the 33500B does with its filter off). Times are seconds
from the start of the waveform, volts at the source terminal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


class WaveformError(ValueError):
    """A waveform parameter is out of range (zero or negative duration, non-finite voltage, ...)."""


def _positive(name: str, value: float, allow_zero: bool = False) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        allowed = ">= 0 s" if allow_zero else "> 0 s"
        raise WaveformError(f"{name} must be a finite duration {allowed}, got {value!r}")
    return value


def _finite_volts(name: str, values) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(arr)):
        raise WaveformError(f"{name} must be finite voltages (V); got NaN or infinity")
    return arr


@dataclass(frozen=True)
class Waveform:
    """Knots ``times_s`` (non-decreasing, from 0) and ``volts_v``; linear in between.

    Equal consecutive times encode an instantaneous step (used for DC staircases).
    """

    times_s: np.ndarray
    volts_v: np.ndarray

    def __post_init__(self):
        t = np.asarray(self.times_s, dtype=float)
        v = _finite_volts("volts_v", self.volts_v)
        if t.ndim != 1 or t.shape != v.shape or t.size < 2:
            raise WaveformError("a waveform needs matching 1-D times_s and volts_v with at least 2 knots")
        if not np.all(np.isfinite(t)) or t[0] != 0 or np.any(np.diff(t) < 0):
            raise WaveformError("times_s must start at 0 s and never decrease")
        if t[-1] <= 0:
            raise WaveformError("a waveform must last longer than 0 s")
        object.__setattr__(self, "times_s", t)
        object.__setattr__(self, "volts_v", v)

    @property
    def duration_s(self) -> float:
        return float(self.times_s[-1])

    def value_at(self, t_s) -> np.ndarray:
        """Voltage at times ``t_s`` (right-continuous at steps)."""
        t = np.asarray(t_s, dtype=float)
        idx = np.searchsorted(self.times_s, t, side="right") - 1
        idx = np.clip(idx, 0, self.times_s.size - 2)
        t0, t1 = self.times_s[idx], self.times_s[idx + 1]
        v0, v1 = self.volts_v[idx], self.volts_v[idx + 1]
        span = t1 - t0
        frac = np.where(span > 0, (t - t0) / np.where(span > 0, span, 1.0), 1.0)
        return v0 + np.clip(frac, 0.0, 1.0) * (v1 - v0)

    # --- constructors --------------------------------------------------------------------------
    @classmethod
    def dc(cls, level_v: float, duration_s: float) -> Waveform:
        duration_s = _positive("duration_s", duration_s)
        level = float(level_v) if isinstance(level_v, (float, int)) else float(_finite_volts("level_v", level_v))
        if not math.isfinite(level):
            raise WaveformError("level_v must be finite voltages (V); got NaN or infinity")
        # both knots are valid by construction: skip __post_init__'s array checks (a DC level is built for
        # every SMU reading)
        wave = object.__new__(cls)
        object.__setattr__(wave, "times_s", np.array([0.0, duration_s]))
        object.__setattr__(wave, "volts_v", np.array([level, level]))
        return wave

    @classmethod
    def staircase(cls, levels_v, step_s: float) -> Waveform:
        """Each level held for ``step_s``; instantaneous steps between levels (an SMU sweep)."""
        step_s = _positive("step_s", step_s)
        levels = _finite_volts("levels_v", levels_v).ravel()
        if levels.size == 0:
            raise WaveformError("levels_v must not be empty")
        starts = np.arange(levels.size) * step_s
        times = np.empty(2 * levels.size)
        times[0::2] = starts
        times[1::2] = np.arange(1, levels.size + 1) * step_s
        return cls(times, np.repeat(levels, 2))

    @classmethod
    def pulses(
        cls,
        amplitude_v: float,
        width_s: float,
        period_s: float,
        count: int = 1,
        rise_s: float = 5e-9,
        fall_s: float = 5e-9,
        base_v: float = 0.0,
        delay_s: float = 0.0,
    ) -> Waveform:
        """``count`` trapezoidal pulses; ``width_s`` is the full width at half maximum, as on a 33500B.

        The waveform ends one full period after the last pulse starts (the generator idles at base).
        """
        width_s = _positive("width_s", width_s)
        period_s = _positive("period_s", period_s)
        rise_s = _positive("rise_s", rise_s)
        fall_s = _positive("fall_s", fall_s)
        delay_s = _positive("delay_s", delay_s, allow_zero=True)
        amp = float(_finite_volts("amplitude_v", amplitude_v))
        base = float(_finite_volts("base_v", base_v))
        count = int(count)
        if count < 1:
            raise WaveformError(f"count must be >= 1, got {count}")
        if width_s < (rise_s + fall_s) / 2:
            raise WaveformError(f"width_s = {width_s:g} s must be >= (rise_s + fall_s)/2 = {(rise_s + fall_s) / 2:g} s")
        if period_s < width_s + (rise_s + fall_s) / 2:
            raise WaveformError(
                f"period_s = {period_s:g} s must be >= width_s + (rise_s + fall_s)/2 = {width_s + (rise_s + fall_s) / 2:g} s"
            )
        # knots of one pulse relative to its start: base, top reached, top left, base again
        top_start = rise_s
        top_end = rise_s / 2 + width_s - fall_s / 2
        one_t = np.array([0.0, top_start, max(top_end, top_start), max(top_end, top_start) + fall_s])
        one_v = np.array([base, amp, amp, base])
        starts = delay_s + np.arange(count) * period_s
        times = (starts[:, None] + one_t[None, :]).ravel()
        volts = np.tile(one_v, count)
        end = delay_s + count * period_s
        times = np.concatenate([[0.0], times, [end]]) if delay_s > 0 else np.concatenate([times, [end]])
        volts = np.concatenate([[base], volts, [base]]) if delay_s > 0 else np.concatenate([volts, [base]])
        return cls(times, volts)

    @classmethod
    def samples(cls, volts_v, dt_s: float) -> Waveform:
        """An AWG arbitrary waveform: one sample every ``dt_s``, linearly interpolated; lasts n*dt."""
        dt_s = _positive("dt_s", dt_s)
        volts = _finite_volts("volts_v", volts_v).ravel()
        if volts.size == 0:
            raise WaveformError("volts_v must not be empty")
        times = np.arange(volts.size + 1) * dt_s
        return cls(times, np.concatenate([volts, volts[-1:]]))

    def then(self, other: Waveform) -> Waveform:
        """This waveform followed by ``other``."""
        return Waveform(
            np.concatenate([self.times_s, other.times_s + self.duration_s]),
            np.concatenate([self.volts_v, other.volts_v]),
        )
