"""Firing events in a captured current trace: rising edges through a threshold, with hysteresis."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def rising_edges(current_a: Sequence[float], threshold_a: float, *, rearm_fraction: float = 0.5) -> np.ndarray:
    """Indices where |I| rises through ``threshold_a`` (A): one firing event each. After an event
    the detector re-arms only once |I| has fallen below ``rearm_fraction * threshold_a`` (hysteresis:
    noise on a plateau is not counted twice). A trace that starts above threshold does not count
    its first sample as an event."""
    if not threshold_a > 0:
        raise ValueError(f"threshold_a must be > 0 A, got {threshold_a!r}")
    if not 0 < rearm_fraction <= 1:
        raise ValueError(f"rearm_fraction must be in (0, 1], got {rearm_fraction!r}")
    i = np.abs(np.asarray(current_a, dtype=float))
    above = i >= threshold_a
    if not above.any():
        return np.zeros(0, dtype=np.int64)
    below = i < rearm_fraction * threshold_a
    # a state machine over the samples that are above or below (in between keeps the state): armed at
    # the start unless the first sample is above, re-armed by a sample below, disarmed by an event. So an
    # event is the first of each run of "above" among those samples that follows a "below" one (or that
    # starts them, when the trace does not start above)
    crossings = np.flatnonzero(above | below)
    up = above[crossings]
    first = np.empty(up.size, dtype=bool)
    first[0] = up[0] and crossings[0] != 0
    np.logical_and(up[1:], ~up[:-1], out=first[1:])
    return crossings[first].astype(np.int64)


def count_firing_events(current_a: Sequence[float], threshold_a: float, *, rearm_fraction: float = 0.5) -> int:
    """Number of firing events (rising edges through ``threshold_a``) in a current trace."""
    return int(rising_edges(current_a, threshold_a, rearm_fraction=rearm_fraction).size)


def firing_times_s(
    t_s: Sequence[float], current_a: Sequence[float], threshold_a: float, *, rearm_fraction: float = 0.5
) -> np.ndarray:
    """Times (s) of the firing events: the first sample at or above ``threshold_a`` of each."""
    t = np.asarray(t_s, dtype=float)
    times: np.ndarray = t[rising_edges(current_a, threshold_a, rearm_fraction=rearm_fraction)]
    return times


def events_per_window(
    t_s: Sequence[float],
    current_a: Sequence[float],
    threshold_a: float,
    starts_s: Sequence[float],
    length_s: float,
    *,
    rearm_fraction: float = 0.5,
) -> np.ndarray:
    """Firing events in each window [start, start + length_s) (e.g. one window per spike of a
    train): an int array with one count per start."""
    times = firing_times_s(t_s, current_a, threshold_a, rearm_fraction=rearm_fraction)
    starts = np.asarray(starts_s, dtype=float)
    return np.array([int(np.count_nonzero((times >= s) & (times < s + length_s))) for s in starts], dtype=np.int64)


def crossings_s(t_s: npt.ArrayLike, current_a: npt.ArrayLike, threshold_a: float) -> tuple[np.ndarray, np.ndarray]:
    """Where |I| rises through ``threshold_a`` (rising_edges, with hysteresis): (time of the
    first sample at or above it, crossing time linearly interpolated between the samples around it),
    both in s."""
    t = np.asarray(t_s, dtype=float)
    i = np.abs(np.asarray(current_a, dtype=float))
    idx = rising_edges(i, threshold_a)
    t_sample = t[idx]
    t_cross = t_sample.copy()
    prev = idx > 0
    j = idx[prev]
    i0, i1 = i[j - 1], i[j]
    frac = np.where(i1 > i0, (threshold_a - i0) / np.where(i1 > i0, i1 - i0, 1.0), 1.0)
    t_cross[prev] = t[j - 1] + np.clip(frac, 0.0, 1.0) * (t[j] - t[j - 1])
    return t_sample, t_cross


def first_after_s(t_cross_s: np.ndarray, starts_s: npt.ArrayLike, length_s: float) -> np.ndarray:
    """Per window [start, start + length): the time from ``start`` to the first crossing (s); NaN if none."""
    t = np.asarray(t_cross_s, dtype=float)
    starts = np.asarray(starts_s, dtype=float).ravel()
    out = np.full(starts.size, np.nan)
    if t.size > 1 and not (np.diff(t) >= 0).all():  # crossings come in time order; else the first listed
        for n, s in enumerate(starts):
            hit = t[(t >= s) & (t < s + length_s)]
            if hit.size:
                out[n] = hit[0] - s
        return out
    if t.size and starts.size:
        k = np.searchsorted(t, starts, side="left")  # the first crossing at or after each start
        ok = k < t.size
        hit = np.where(ok, t[np.minimum(k, t.size - 1)], np.inf)
        ok &= hit < starts + length_s
        out[ok] = hit[ok] - starts[ok]
    return out


def first_event_delays_s(
    t_s: npt.ArrayLike, current_a: npt.ArrayLike, threshold_a: float, starts_s: npt.ArrayLike, length_s: float
) -> np.ndarray:
    """Per window [start, start + length): time from ``start`` to the first rise through
    ``threshold_a``, linearly interpolated between the samples around it (s); NaN without one."""
    return first_after_s(crossings_s(t_s, current_a, threshold_a)[1], starts_s, length_s)
