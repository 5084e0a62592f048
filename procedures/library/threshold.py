"""The cell threshold: a compliance-limited SMU ramp (``measure_threshold``) or a single-pulse ladder with
scope capture (``measure_pulse_threshold``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from instruments.benchlike import BenchLike
from instruments.clock import StopCheck
from procedures.library import switching
from procedures.library.events import count_firing_events

#: threshold ramp: compliance low enough not to heat the PCM (10 uA: a few kelvin)
THRESHOLD_COMPLIANCE_A = 10e-6


@dataclass(frozen=True)
class ThresholdSweep:
    """A compliance-limited ramp and what it showed."""

    threshold_V: float  #: device voltage of the last point before the current jump (NaN: no jump)
    hold_V: float  #: device voltage of the last on-state point on the way down (NaN if not asked/seen)
    voltage_V: np.ndarray  #: applied voltage (source readback) of each point
    current_A: np.ndarray
    series_resistance_ohm: float

    @property
    def fired(self) -> bool:
        return math.isfinite(self.threshold_V)


def ramp_levels(start_v: float, stop_v: float, step_v: float, *, down: bool = False) -> np.ndarray:
    """start -> stop in steps of ``step_v`` (V), back to start when ``down``."""
    n = max(int(math.ceil(abs(stop_v - start_v) / step_v - 1e-9)), 1)
    up = np.linspace(start_v, stop_v, n + 1)
    return np.concatenate([up, up[-2::-1]]) if down else up


def measure_threshold(
    bench: BenchLike,
    *,
    start_voltage_v: float = 0.0,
    stop_voltage_v: float = 2.5,
    step_v: float = 0.01,
    compliance_a: float = THRESHOLD_COMPLIANCE_A,
    nplc: float = 0.01,
    hold: bool = False,
    series_resistance_ohm: float | None = None,
    min_jump_decades: float = 1.0,
) -> ThresholdSweep:
    """The cell threshold: a staircase from ``start_voltage_v`` to ``stop_voltage_v`` (and back when
    ``hold``) with the SMU's buffered sweep under ``compliance_a``; Vth (and Vhold) found by
    :func:`procedures.library.switching.analyze_cycle` with the "jump" criterion (largest step of at
    least ``min_jump_decades`` in log10|I|), reported as device voltage V_app - I R_s.
    Resolution: one ``step_v``. The SMU output is off afterwards."""
    smu = bench.smu
    r_s = bench.series_resistance_ohm("smu") if series_resistance_ohm is None else float(series_resistance_ohm)
    levels = ramp_levels(start_voltage_v, stop_voltage_v, step_v, down=hold)
    try:
        smu.configure_voltage_source(compliance_a=compliance_a, nplc=nplc)
        sweep = smu.sweep_voltage(levels)
    finally:
        smu.output_off()
    v = np.asarray(sweep.source_v, dtype=float)
    i = np.asarray(sweep.current_a, dtype=float)
    # branches are cut on the programmed levels (the readback folds back at compliance)
    results = switching.analyze_cycle(
        levels,
        i,
        series_resistance_ohm=r_s,
        criterion="jump",
        min_jump_decades=min_jump_decades,
        compliance_A=compliance_a,
    )
    head = next((r for r in results if r.polarity == (1 if stop_voltage_v >= start_voltage_v else -1)), None)
    vth = head.vth_V if head is not None else math.nan
    vhold = head.vhold_V if (head is not None and hold) else math.nan
    return ThresholdSweep(float(vth), float(vhold), v, i, r_s)


@dataclass(frozen=True)
class PulseThreshold:
    """A pulse-amplitude ladder and where the cell first fired."""

    threshold_V: float  #: amplitude of the first pulse that fired (V, open-circuit); NaN: none fired
    amplitudes_V: np.ndarray  #: the amplitudes tried, in order
    peak_current_A: np.ndarray  #: the largest captured current during each


def measure_pulse_threshold(
    bench: BenchLike,
    *,
    start_voltage_v: float = 0.8,
    stop_voltage_v: float = 2.2,
    step_v: float = 0.02,
    width_s: float = 50e-9,
    fire_current_a: float = 50e-6,
    sample_interval_s: float = 1e-9,
    should_stop: StopCheck = None,
) -> PulseThreshold:
    """The cell's firing threshold from single pulses of rising amplitude (pulse generator, scope
    capture on its sync): the amplitude of the first pulse during which the cell current rises
    through ``fire_current_a`` (A). Stops at that pulse, so only one pulse fires the cell (a firing
    heats the PCM a little). Resolution: ``step_v``. Needs the ``pulse`` and ``scope`` roles.

    Why pulses: after the TS fires the voltage in excess of its hold falls on the PCM; a large
    current (a firing event) needs the PCM's amorphous part to switch too, so this threshold
    follows the PCM state (more crystalline: lower), while a slow compliance-limited ramp
    (:func:`measure_threshold`) sees mostly the TS's own threshold."""
    scope, pulse = bench.scope, bench.pulse
    n = max(int(math.floor((stop_voltage_v - start_voltage_v) / step_v + 1e-9)) + 1, 1)
    ladder = start_voltage_v + step_v * np.arange(n)
    edge = getattr(pulse, "MIN_EDGE_S", 8.4e-9)
    record = width_s + 2 * edge + max(width_s, 100e-9)
    tried, peaks = [], []
    for amplitude in ladder:
        if should_stop is not None and should_stop():
            break
        pulse.configure_single_pulse(float(amplitude), width_s)
        scope.arm(
            record,
            sample_interval_s,
            trigger_level_v=1.0,
            pretrigger_s=0.0,
            full_scale_current_a=max(4 * fire_current_a, 1e-4),
        )
        try:
            pulse.output_on()
            pulse.trigger()
        finally:
            pulse.output_off()
        capture = scope.fetch(timeout_s=10.0)
        tried.append(float(amplitude))
        current = np.abs(np.asarray(capture.current_a, dtype=float))
        peaks.append(float(current.max()) if current.size else math.nan)
        if count_firing_events(current, fire_current_a) > 0:
            return PulseThreshold(float(amplitude), np.asarray(tried), np.asarray(peaks))
    return PulseThreshold(math.nan, np.asarray(tried), np.asarray(peaks))
