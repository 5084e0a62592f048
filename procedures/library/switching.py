"""Threshold switching from I-V sweeps: Vth, Vhold, Ion/Ioff and on-resistance, per cycle and in statistics.

Units: voltages in V, currents in A, resistances in Ohm. Works on plain arrays from any instrument.

**Series-resistance correction.** A series resistor R_s (load resistor, source output resistance, line)
takes I*R_s of the applied voltage; the device sees V_dev = V_app - I*R_s (:func:`device_voltage`). All
voltages reported below are device voltages when ``series_resistance_ohm`` is given, applied voltages
otherwise (R_s = 0).

**Branches.** A sweep is cut into branches where the direction of |V| changes or the polarity of V flips:
an *up* branch (|V| rising, direction +1) carries the threshold event, a *down* branch (|V| falling,
direction -1) the hold event. The turning point belongs to both branches. Negative-polarity branches are
analysed on |V|, |I| and their voltages are reported with their sign.

**Events.** On a branch, every interval between consecutive points where log10|I| changes by at least
``min_jump_decades`` in the branch's sense (rising on up, falling on down) is a jump; consecutive jump
intervals merge into one event. Points at (near) zero applied voltage, within 0.1 % of the branch's largest |V|, are left out of event
detection: there log|I| is only the instrument's noise. All events are kept, so a stacked cell's two up-branch events (the
threshold switch firing, then the amorphous PCM switching) are both reported (:attr:`CycleSwitching.up_events`).
An event's voltage is the device voltage of the *last point before it* (the largest voltage the off state
was seen to hold, or the smallest at which the on state was seen): the true value lies between that point
and the next applied step, i.e. the resolution is one voltage step.

**Criteria** for the headline Vth (up branch) and Vhold (down branch):

- ``"jump"``: the event with the largest change in log10|I| (NaN when the branch has no event);
- ``"current"``: the crossing of a fixed current ``current_criterion_A`` (default 1 uA): up, the first
  time |I| reaches it; down, the last on-state point before |I| falls below it. Interpolated in log10|I|
  versus V when the device voltage is monotonic across the crossing, otherwise (snapback) the last point
  before the crossing;
- ``"slope"``: the interval with the largest d(log10|I|)/d|V_app| (on both branches |I| rises with |V|
  across an event); near-zero points are left out as for events;
  the applied voltage is used for dV because it is monotonic on a branch (the device voltage snaps back).

**Other quantities** (independent of the criterion, from the largest jump):
Ion/Ioff is the selectivity across the threshold event: Ioff = |I| at the last point before the largest
up-branch jump, Ion = the largest |I| on the up branch after it. The on-resistance and the fitted hold
voltage come from a straight-line fit V_dev = Vhold_fit + R_on * I over the down branch's on-state points
(from the turning point to the last point before the hold event), leaving out a compliance plateau
(points within 1 % of ``compliance_A``, or within 2 % of the branch's largest current when at least two sit
there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from procedures.library.fitting import linear_fit

CRITERIA = ("jump", "current", "slope")
#: currents below this are floored before taking log10 (an SMU's noise floor is far above it)
CURRENT_FLOOR_A = 1e-15


@dataclass(frozen=True)
class Branch:
    """Points ``start .. stop - 1`` of a sweep, with |V| rising (direction +1) or falling (-1)."""

    start: int
    stop: int
    direction: int
    polarity: int

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)


@dataclass(frozen=True)
class Event:
    """A jump in log10|I| on one branch; voltages are those of the last point before the jump."""

    index: int  # index (in the analysed arrays) of the last point before the jump
    voltage_V: float  # device voltage there (signed)
    applied_voltage_V: float
    current_before_A: float
    current_after_A: float
    size_decades: float  # change in log10|I| across the event (positive up, negative down)


@dataclass
class CycleSwitching:
    """One cycle and polarity of an I-V sweep."""

    cycle: int
    polarity: int
    vth_V: float
    vhold_V: float
    ion_A: float
    ioff_A: float
    r_on_ohm: float
    vhold_fit_V: float
    up_events: list[Event] = field(default_factory=list)
    down_events: list[Event] = field(default_factory=list)

    @property
    def on_off_ratio(self) -> float:
        return self.ion_A / self.ioff_A if self.ioff_A > 0 else math.nan

    @property
    def hold_below_threshold(self) -> bool:
        """Vhold < Vth in magnitude (False when either is missing): a threshold switch always has it."""
        return bool(abs(self.vhold_V) < abs(self.vth_V))


@dataclass(frozen=True)
class Stats:
    """n, mean, sample sigma (ddof=1) and CV = sigma / |mean| of the finite values."""

    n: int
    mean: float
    sigma: float
    cv: float


def _check_positive(name: str, value: float, allow_zero: bool = False) -> float:
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not (math.isfinite(value) and ok):
        rng = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {rng}, got {value!r}")
    return value


def device_voltage(
    voltage_V: npt.ArrayLike, current_A: npt.ArrayLike, series_resistance_ohm: float = 0.0
) -> np.ndarray:
    """V_dev = V_app - I * R_s (V): the voltage across the device behind a series resistance R_s (Ohm)."""
    r_s = _check_positive("series_resistance_ohm", series_resistance_ohm, allow_zero=True)
    return np.asarray(voltage_V, dtype=float) - np.asarray(current_A, dtype=float) * r_s


def split_branches(voltage_V: npt.ArrayLike) -> list[Branch]:
    """Cut a sweep into branches of constant |V| direction and polarity (turning points shared)."""
    v = np.asarray(voltage_V, dtype=float)
    if v.size < 2:
        return []
    mag = np.abs(v)
    step = np.sign(np.diff(mag))
    pol = np.sign(v[:-1] + v[1:])
    # repeated points (zero step) continue the branch they are in
    step = _fill_zeros(step)
    pol = _fill_zeros(pol)
    change = np.flatnonzero((step[1:] != step[:-1]) | (pol[1:] != pol[:-1])) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [step.size]])
    out = []
    for a, b in zip(starts, ends):
        out.append(Branch(int(a), int(b) + 1, int(step[a]) or 1, int(pol[a]) or 1))
    return out


def _fill_zeros(s: np.ndarray) -> np.ndarray:
    s = s.copy()
    nz = np.flatnonzero(s)
    if nz.size == 0:
        return np.ones_like(s)
    s[: nz[0]] = s[nz[0]]
    idx = np.maximum.accumulate(np.where(s != 0, np.arange(s.size), 0))
    return s[idx]


def detect_cycles(voltage_V: npt.ArrayLike) -> np.ndarray:
    """Cycle number (0, 1, ...) of each point: a new cycle starts at each up branch of the first polarity."""
    v = np.asarray(voltage_V, dtype=float)
    labels = np.zeros(v.size, dtype=int)
    branches = split_branches(v)
    if not branches:
        return labels
    first_pol = next((b.polarity for b in branches if b.direction > 0), branches[0].polarity)
    cycle = -1
    for b in branches:
        if b.direction > 0 and b.polarity == first_pol:
            cycle += 1
        # the turning point shared with the previous branch stays in the previous cycle
        labels[b.start + (1 if b.start > 0 else 0) : b.stop] = max(cycle, 0)
    return labels


def find_events(
    v_dev: np.ndarray, v_app: np.ndarray, current_A: np.ndarray, direction: int, min_jump_decades: float = 1.0
) -> list[Event]:
    """All jumps of at least ``min_jump_decades`` in log10|I| in the branch's sense (see module doc)."""
    _check_positive("min_jump_decades", min_jump_decades)
    logi = np.log10(np.maximum(np.abs(current_A), CURRENT_FLOOR_A))
    dy = np.diff(logi) * direction
    mag = np.abs(np.asarray(v_app, dtype=float))
    live = mag > 1e-3 * mag.max() if mag.size else mag.astype(bool)
    big = (dy >= min_jump_decades) & live[:-1] & live[1:]
    events = []
    k = 0
    n = big.size
    while k < n:
        if not big[k]:
            k += 1
            continue
        j = k
        while j + 1 < n and big[j + 1]:
            j += 1
        events.append(
            Event(
                index=k,
                voltage_V=float(v_dev[k]),
                applied_voltage_V=float(v_app[k]),
                current_before_A=float(abs(current_A[k])),
                current_after_A=float(abs(current_A[j + 1])),
                size_decades=float(logi[j + 1] - logi[k]),
            )
        )
        k = j + 1
    return events


def _current_crossing(v_dev: np.ndarray, i_abs: np.ndarray, direction: int, level_A: float) -> float:
    """Device voltage (magnitude) where |I| crosses ``level_A`` on a branch (see module doc)."""
    if direction > 0:
        above = np.flatnonzero(i_abs >= level_A)
        if above.size == 0 or above[0] == 0:
            return math.nan
        k1 = int(above[0])
        k0 = k1 - 1
    else:
        below = np.flatnonzero(i_abs < level_A)
        below = below[below > 0]
        if below.size == 0 or i_abs[below[0] - 1] < level_A:
            return math.nan
        k1 = int(below[0])
        k0 = k1 - 1
    # k0 is on the old side of the crossing, k1 on the new side
    v0, v1 = v_dev[k0], v_dev[k1]
    monotonic = (v1 - v0) * direction > 0
    if not monotonic:
        return float(v0)
    y0, y1 = np.log10(max(i_abs[k0], CURRENT_FLOOR_A)), np.log10(max(i_abs[k1], CURRENT_FLOOR_A))
    if y1 == y0:
        return float(v0)
    frac = (math.log10(level_A) - y0) / (y1 - y0)
    return float(v0 + frac * (v1 - v0))


def _steepest(v_dev: np.ndarray, v_app: np.ndarray, i_abs: np.ndarray) -> float:
    if v_app.size < 2:
        return math.nan
    logi = np.log10(np.maximum(i_abs, CURRENT_FLOOR_A))
    dv = np.diff(v_app)
    live = v_app > 1e-3 * v_app.max()
    with np.errstate(divide="ignore", invalid="ignore"):
        # |I| rises with |V| on both branches at a switching event, so the sign needs no flip
        slope = np.where((dv != 0) & live[:-1] & live[1:], np.diff(logi) / dv, np.nan)
    if not np.any(np.isfinite(slope)):
        return math.nan
    return float(v_dev[int(np.nanargmax(slope))])


def branch_voltage(
    v_dev: np.ndarray,
    v_app: np.ndarray,
    i_abs: np.ndarray,
    direction: int,
    events: list[Event],
    criterion: str,
    current_criterion_A: float,
) -> float:
    """Headline event voltage (magnitude) of one branch under ``criterion`` (one of :data:`CRITERIA`)."""
    if criterion == "jump":
        if not events:
            return math.nan
        return abs(max(events, key=lambda e: abs(e.size_decades)).voltage_V)
    if criterion == "current":
        return _current_crossing(v_dev, i_abs, direction, current_criterion_A)
    if criterion == "slope":
        return _steepest(v_dev, v_app, i_abs)
    raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")


def on_state_fit(v_dev: np.ndarray, i_abs: np.ndarray, stop: int, compliance_A: float | None) -> tuple[float, float]:
    """(R_on in Ohm, Vhold_fit in V) from V_dev = Vhold_fit + R_on*I over points ``0 .. stop`` of a down branch."""
    v = v_dev[: stop + 1]
    i = i_abs[: stop + 1]
    if i.size < 2:
        return math.nan, math.nan
    keep = np.ones(i.size, dtype=bool)
    if compliance_A is not None:
        keep &= i < 0.99 * compliance_A
    else:
        plateau = i >= 0.98 * i.max()
        if plateau.sum() >= 2:
            keep &= ~plateau
    fit = linear_fit(i[keep], v[keep])
    if fit.n < 2:
        return math.nan, math.nan
    return fit.slope, fit.intercept


def analyze_cycle(
    voltage_V: npt.ArrayLike,
    current_A: npt.ArrayLike,
    *,
    cycle: int = 0,
    series_resistance_ohm: float = 0.0,
    criterion: str = "jump",
    current_criterion_A: float = 1e-6,
    min_jump_decades: float = 1.0,
    compliance_A: float | None = None,
) -> list[CycleSwitching]:
    """Analyse one cycle of a (bidirectional) I-V sweep; one result per polarity present.

    ``voltage_V`` is the applied voltage, ``current_A`` the measured current, in the order measured.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {CRITERIA}, got {criterion!r}")
    _check_positive("current_criterion_A", current_criterion_A)
    if compliance_A is not None:
        compliance_A = _check_positive("compliance_A", compliance_A)
    v_app = np.asarray(voltage_V, dtype=float)
    i = np.asarray(current_A, dtype=float)
    if v_app.shape != i.shape:
        raise ValueError(f"voltage_V and current_A must have the same length, got {v_app.size} and {i.size}")
    v_dev = device_voltage(v_app, i, series_resistance_ohm)
    results: dict[int, CycleSwitching] = {}
    for br in split_branches(v_app):
        sl = br.slice
        vd, va, ia = np.abs(v_dev[sl]), np.abs(v_app[sl]), np.abs(i[sl])
        signed_vd = v_dev[sl]
        events = find_events(signed_vd, v_app[sl], i[sl], br.direction, min_jump_decades)
        events = [_shift(e, br.start) for e in events]
        res = results.setdefault(
            br.polarity,
            CycleSwitching(cycle, br.polarity, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan),
        )
        volt = branch_voltage(vd, va, ia, br.direction, events, criterion, current_criterion_A)
        if br.direction > 0 and not res.up_events and math.isnan(res.vth_V):
            res.up_events = events
            res.vth_V = br.polarity * volt
            if events:
                big = max(events, key=lambda e: abs(e.size_decades))
                k = big.index - br.start
                res.ioff_A = float(ia[k])
                res.ion_A = float(ia[k + 1 :].max())
        elif br.direction < 0 and not res.down_events and math.isnan(res.vhold_V):
            res.down_events = events
            res.vhold_V = br.polarity * volt
            if events:
                stop = max(events, key=lambda e: abs(e.size_decades)).index - br.start
            else:
                stop = ia.size - 1
            r_on, vh_fit = on_state_fit(vd, ia, stop, compliance_A)
            res.r_on_ohm = r_on
            res.vhold_fit_V = br.polarity * vh_fit
    return list(results.values())


def _shift(e: Event, offset: int) -> Event:
    return Event(
        e.index + offset, e.voltage_V, e.applied_voltage_V, e.current_before_A, e.current_after_A, e.size_decades
    )


def analyze_sweep(
    voltage_V: npt.ArrayLike,
    current_A: npt.ArrayLike,
    cycle: npt.ArrayLike | None = None,
    **kwargs: Any,
) -> list[CycleSwitching]:
    """Analyse every cycle of a multi-cycle sweep; ``cycle`` labels each point (detected when None).

    Keyword arguments are those of :func:`analyze_cycle`. Results are ordered by cycle, then polarity.
    """
    v = np.asarray(voltage_V, dtype=float)
    i = np.asarray(current_A, dtype=float)
    labels = detect_cycles(v) if cycle is None else np.asarray(cycle)
    if labels.shape != v.shape:
        raise ValueError(f"cycle must have one label per point ({v.size}), got {labels.size}")
    out = []
    for c in np.unique(labels):
        sel = labels == c
        out.extend(analyze_cycle(v[sel], i[sel], cycle=int(c), **kwargs))
    return sorted(out, key=lambda r: (r.cycle, -r.polarity))


def summarize(values: npt.ArrayLike) -> Stats:
    """Mean, sample sigma (ddof=1) and coefficient of variation sigma/|mean| of the finite values."""
    x = np.asarray(values, dtype=float).ravel()
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return Stats(0, math.nan, math.nan, math.nan)
    mean = float(x.mean())
    sigma = float(x.std(ddof=1)) if n > 1 else math.nan
    cv = sigma / abs(mean) if mean != 0 else math.nan
    return Stats(n, mean, sigma, cv)


@dataclass(frozen=True)
class Variability:
    """Cycle-to-cycle and device-to-device spread of one quantity (same units as the values).

    c2c_sigma: pooled within-device sample sigma, sqrt(sum((n_d - 1) s_d^2) / sum(n_d - 1)), over devices
    with at least two cycles; d2d_sigma: sample sigma of the per-device means; CVs divide by |grand mean|
    (the mean of all finite values).
    """

    n_devices: int
    n_values: int
    mean: float
    c2c_sigma: float
    c2c_cv: float
    d2d_sigma: float
    d2d_cv: float


def variability(values: npt.ArrayLike, device: npt.ArrayLike) -> Variability:
    """Cycle-to-cycle and device-to-device statistics of per-cycle ``values`` labelled by ``device``."""
    x = np.asarray(values, dtype=float).ravel()
    d = np.asarray(device).ravel()
    if x.shape != d.shape:
        raise ValueError(f"values and device must have the same length, got {x.size} and {d.size}")
    keep = np.isfinite(x)
    x, d = x[keep], d[keep]
    if x.size == 0:
        return Variability(0, 0, math.nan, math.nan, math.nan, math.nan, math.nan)
    grand = float(x.mean())
    ss, dof, means = 0.0, 0, []
    for dev in np.unique(d):
        xd = x[d == dev]
        means.append(xd.mean())
        if xd.size > 1:
            ss += float(np.sum((xd - xd.mean()) ** 2))
            dof += xd.size - 1
    c2c = math.sqrt(ss / dof) if dof > 0 else math.nan
    d2d = float(np.std(means, ddof=1)) if len(means) > 1 else math.nan
    denom = abs(grand) if grand != 0 else math.nan
    return Variability(len(means), int(x.size), grand, c2c, c2c / denom, d2d, d2d / denom)


# --------------------------------------------------------------------------- the on state's held segments
#: a held segment: its line's intercept lies at least this far above the TS's hold line (the voltage a switched
#: amorphous PCM part holds: a few tenths of a volt, ~0.5 V in the literature; docs/physics.md)
HELD_OFFSET_MIN_V = 0.3
#: a held segment has at least this many points, and its line fits them within this chi2/dof (the sweep's noise)
HELD_MIN_POINTS = 6
HELD_MAX_CHI2 = 3.0
#: ... and gives its slope within this relative standard error (a short piece across a transition does not)
HELD_MAX_REL_SE = 0.05
#: the held slope's error beyond its statistical standard error, relative (1 sigma): measured over the round trip's
#: devices (docs/scripts/held_on_state.py: the errors' sd over the cells with held segments), added in quadrature
HELD_SLOPE_SYSTEMATIC_REL = 0.015
#: a run of on-state points is cut in two where two lines fit it better than one by this many noise variances
SPLIT_CHI2 = 30.0


@dataclass(frozen=True)
class HeldFit:
    """The on branch's straight segments where a switched amorphous PCM part holds its own voltage:
    V_dev = V_TS,hold + V_PCM,hold + I (R_on + R_PCM,cryst) (the switched part holds a voltage, not a
    resistance), pooled into one line. ``slope_ohm`` is R_on + the PCM's crystalline series part."""

    slope_ohm: float
    slope_stderr_ohm: float
    intercept_V: float
    n_points: int
    n_segments: int
    current_span_A: float


def _sse_line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(sum of squared residuals, intercept, slope) of the least-squares line."""
    a = np.vstack([np.ones_like(x), x]).T
    c = np.linalg.lstsq(a, y, rcond=None)[0]
    r = y - a @ c
    return float(r @ r), float(c[0]), float(c[1])


def _split(
    x: np.ndarray, y: np.ndarray, noise2: float, lo: int, out: list[tuple[int, int, float, float, float]]
) -> None:
    """Cut a run of points recursively where two lines (each >= 4 points) fit it better than one by
    SPLIT_CHI2 noise variances: (start, length, sse, intercept, slope) of each piece."""
    n = x.size
    sse, c0, c1 = _sse_line(x, y)
    best = None
    for k in range(4, n - 3) if n >= 8 else ():
        s = _sse_line(x[:k], y[:k])[0] + _sse_line(x[k:], y[k:])[0]
        if best is None or s < best[0]:
            best = (s, k)
    if best is not None and (sse - best[0]) / noise2 > SPLIT_CHI2:
        k = best[1]
        _split(x[:k], y[:k], noise2, lo, out)
        _split(x[k:], y[k:], noise2, lo + k, out)
    else:
        out.append((lo, n, sse, c0, c1))


def held_on_state_fit(
    voltage_V: npt.ArrayLike,
    current_A: npt.ArrayLike,
    cycle: npt.ArrayLike,
    *,
    vhold_V: float,
    series_resistance_ohm: float = 0.0,
    compliance_A: float | None = None,
    least_ohmic_ohm: float = math.inf,
    min_current_A: float = 2e-6,
) -> HeldFit | None:
    """The on branch where the PCM's residual amorphous part is switched on and holds its voltage.

    A stack whose PCM still has an amorphous part conducts on its on branch either ohmically through it,
    V_dev = Vhold + I (R_on + R_PCM) with R_PCM = R_cryst + R_amorph, or, once the part has switched (the TS's
    firing lets go of Vth - Vhold onto it), V_dev = Vhold + V_h + I (R_on + R_cryst): a line whose intercept lies
    V_h above the TS's hold and whose slope leaves the amorphous part out. The first cycles, where the DC SET
    is still under way, show such segments between the ohmic ones; later cycles, and cells whose first SET left
    no amorphous part to switch, do not (None). Each branch's on-state points (below the compliance, above
    ``vhold_V``, in acquisition order) are cut where two lines fit better than one (SPLIT_CHI2 noise variances;
    noise: the scatter about the line of the later cycles' down branches, at most four times their point-to-point
    scatter); a piece is held when it has
    HELD_MIN_POINTS points, fits its line within HELD_MAX_CHI2, lies HELD_OFFSET_MIN_V or more above the hold
    line, is less steep than ``least_ohmic_ohm``, gives its slope within HELD_MAX_REL_SE, and passes through the
    anchor: the first cycle's first on-state point, where the TS has just fired onto the RESET PCM and the cascade
    switched its amorphous part (None when that firing went straight to the compliance). The held pieces are
    pooled into one line, from the longest, each while the joint line still fits within HELD_MAX_CHI2."""
    v_dev = np.abs(device_voltage(voltage_V, current_A, series_resistance_ohm))
    i = np.abs(np.asarray(current_A, dtype=float))
    labels = np.asarray(cycle)
    top = 0.99 * compliance_A if compliance_A is not None else math.inf
    runs: list[tuple[bool, int, np.ndarray]] = []  # (a later cycle's?, direction, points)
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        for br in split_branches(np.asarray(voltage_V, dtype=float)[rows]):
            idx = rows[br.slice]
            on = idx[(i[idx] >= min_current_A) & (i[idx] < top) & (v_dev[idx] > vhold_V)]
            if on.size < 4:
                continue
            for piece in np.split(on, np.flatnonzero(np.diff(on) > 1) + 1):
                if piece.size >= 4:
                    runs.append((c != labels[0], br.direction, piece))
    # the noise, from the down branches after the first cycle (ohmic, settled): the point-to-point scatter (each
    # point against the line through its two neighbours, median absolute deviation: robust to a state change)
    later = [p for lat, d, p in runs if lat and d < 0 and p.size >= 8]
    if not later:
        return None
    r = []
    for p in later:
        x, y = i[p], v_dev[p]
        dx = x[2:] - x[:-2]
        ok = np.abs(dx) > 0
        r.append((y[1:-1] - y[:-2] - (y[2:] - y[:-2]) * (x[1:-1] - x[:-2]) / np.where(ok, dx, 1.0))[ok])
    res = np.concatenate(r)
    robust = float((1.4826 * np.median(np.abs(res - np.median(res)))) ** 2 / 1.5) if res.size else 0.0
    # the scatter about each branch's line (median over the branches) is the noise a line fit meets (the reads'
    # noise grows with the current; the branches are not quite straight), unless a state change within a branch
    # makes it many times the point-to-point scatter: then at most four times that
    noise2 = min(float(np.median([_sse_line(i[p], v_dev[p])[0] / (p.size - 2) for p in later])), 4.0 * robust)
    if not noise2 > 0:
        return None
    # the anchor: the first cycle's first on-state point below the compliance, where the TS has just fired onto
    # the (as-measured RESET) PCM and the cascade has switched its amorphous part: a held point. None: the first
    # firing went straight to the compliance
    first = [p for lat, d, p in runs if not lat and d > 0]
    if not first:
        return None
    anchor = (float(i[first[0][0]]), float(v_dev[first[0][0]]))
    held = []
    for _, direction, p in runs:
        pieces: list[tuple[int, int, float, float, float]] = []
        _split(i[p], v_dev[p] - vhold_V, noise2, 0, pieces)
        for lo, n, sse, c0, c1 in pieces:
            x = i[p][lo : lo + n]
            xm, sxx = float(x.mean()), float(np.sum((x - x.mean()) ** 2))
            se = math.sqrt(sse / (n - 2) / sxx) if n > 2 else math.inf
            # the held line passes through the anchor (a straight piece of an ohmic branch that crystallizes as
            # it heats does not): within 3 sigma of the noise and of the piece's line extrapolated to it
            pred = math.sqrt(noise2 + sse / (n - 2) * (1.0 / n + (anchor[0] - xm) ** 2 / sxx)) if n > 2 else math.inf
            if (
                abs(anchor[1] - vhold_V - c0 - c1 * anchor[0]) <= 3.0 * pred
                and n >= HELD_MIN_POINTS
                and sse / noise2 / (n - 2) <= HELD_MAX_CHI2
                and c0 >= HELD_OFFSET_MIN_V
                and 0.0 < c1 < least_ohmic_ohm
                and se <= HELD_MAX_REL_SE * c1
            ):
                held.append(p[lo : lo + n])
    if not held:
        return None
    # one line for all: a held segment adds the same holding voltage and the same R_on + R_cryst. From the
    # longest, the others are pooled while the joint line still fits them (a straight ohmic piece that
    # crystallizes as it heats can pass the tests above with another line: it does not join)
    held.sort(key=lambda p: -p.size)
    pts, n_seg = held[0], 1
    for p in held[1:]:
        both = np.concatenate([pts, p])
        sse = _sse_line(i[both], v_dev[both])[0]
        if sse / noise2 / (both.size - 2) <= HELD_MAX_CHI2:
            pts, n_seg = both, n_seg + 1
    fit = linear_fit(i[pts], v_dev[pts])
    if not (fit.n >= HELD_MIN_POINTS and math.isfinite(fit.slope_stderr) and 0.0 < fit.slope < least_ohmic_ohm):
        return None
    return HeldFit(fit.slope, fit.slope_stderr, fit.intercept, fit.n, n_seg, float(np.ptp(i[pts])))
