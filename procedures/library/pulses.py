"""Pulses from the pulse generator: ``apply_pulses``, the potentiation (SET) and depression (RESET)
pulses and their defaults."""

from __future__ import annotations

import time

from instruments.benchlike import BenchLike

#: potentiation pulse on the pulse generator (AWG path, 100 Ohm on the simulated bench): heats a firing
#: RESET-side cell into its crystallization window without melting it
SET_AMPLITUDE_V = 1.8
SET_WIDTH_S = 100e-9
#: depression pulse: melt-quench, fast fall; 2.5 V melts the whole dome of any state, below ~1600 K
RESET_AMPLITUDE_V = 2.5
RESET_WIDTH_S = 100e-9


def apply_pulses(
    bench: BenchLike,
    amplitude_v: float,
    width_s: float,
    *,
    count: int = 1,
    period_s: float | None = None,
    edge_s: float | None = None,
) -> None:
    """``count`` pulses of ``amplitude_v`` (V, open-circuit level of the generator), ``width_s`` wide,
    one every ``period_s`` (None: twice the pulse), edges ``edge_s`` (None: the fastest), as one
    triggered burst; the generator output is on only for the burst."""
    pulse = bench.pulse
    edge = getattr(pulse, "MIN_EDGE_S", 8.4e-9) if edge_s is None else edge_s
    if period_s is None:
        period_s = 2.0 * (width_s + 2.0 * edge)
    pulse.configure_pulse_train(amplitude_v, width_s, period_s=period_s, count=int(count), edge_s=edge_s)
    try:
        pulse.output_on()
        pulse.trigger()
        burst_s = count * period_s
        if burst_s > 1e-3 and not bench.clock.virtual:
            time.sleep(burst_s)  # let a long burst finish on a real generator before output off
    finally:
        pulse.output_off()


def set_pulse(
    bench: BenchLike,
    amplitude_v: float = SET_AMPLITUDE_V,
    width_s: float = SET_WIDTH_S,
    *,
    count: int = 1,
    period_s: float | None = None,
    edge_s: float | None = None,
) -> None:
    """Potentiation (SET): heat the PCM into its crystallization window through a firing TS."""
    apply_pulses(bench, amplitude_v, width_s, count=count, period_s=period_s, edge_s=edge_s)


def reset_pulse(
    bench: BenchLike,
    amplitude_v: float = RESET_AMPLITUDE_V,
    width_s: float = RESET_WIDTH_S,
    *,
    edge_s: float | None = None,
) -> None:
    """Depression (RESET): melt and quench part of the PCM; the fastest fall (``edge_s`` None)."""
    apply_pulses(bench, amplitude_v, width_s, count=1, edge_s=edge_s)
