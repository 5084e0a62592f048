"""The conductance read: a two-point ON-branch read of the PCM through the SMU (see READ_METHOD_TEXT).

``read_conductance(bench, ...) -> ConductanceRead``; ``ConductanceReadMixin``: the read's PyMeasure
parameters and ``self.read()`` for a procedure. Units are SI and part of every name; the conductance is
spelt ``_S`` (siemens) so that it is never read as seconds (``_s``). Defaults are those that work on the
simulated bench and stay within what a TS-PCM cell tolerates: reads fire under 10 uA and read at tens of
uW at most.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pymeasure.experiment import FloatParameter

from instruments.benchlike import BenchLike
from procedures.library.errors import ParameterError
from procedures.library.parameters import ParameterGroups

#: read: fire the TS under a low compliance, then two ON-branch levels (see READ_METHOD_TEXT)
READ_FIRE_VOLTAGE_V = 2.0
READ_FIRE_COMPLIANCE_A = 10e-6
READ_LOW_VOLTAGE_V = 0.8
READ_HIGH_VOLTAGE_V = 0.9
READ_COMPLIANCE_A = 100e-6
READ_TS_ON_RESISTANCE_OHM = 5000.0
READ_MIN_CURRENT_A = 50e-9
READ_NPLC = 0.1

READ_METHOD_TEXT = (
    "Two-point ON-branch read with the SMU: (1) fire the threshold switch with one reading at "
    "read_fire_voltage_V under read_fire_compliance_A (a few uW: the PCM is neither heated nor "
    "programmed); (2) raise the compliance to read_compliance_A and, with the output still on, read at "
    "read_low_voltage_V and read_high_voltage_V (NPLC read_nplc), both above the TS's hold voltage and "
    "below the amorphous part's hold and threshold voltages, so the TS stays on and the PCM is ohmic. "
    "The slope gives the series resistance of the on branch, R = dV/dI; G = 1 / (R - R_series - R_on,TS) "
    "with R_series the SMU path (the bench file's [smu] series_resistance, or read_series_resistance_ohm) "
    "and R_on,TS = read_ts_on_resistance_ohm. The hold voltage cancels in the slope. Valid while the TS "
    "holds at the low level (current >= read_min_current_A): down to ~0.7 uS on the simulated cell; "
    "below, the read reports NaN (not a wrong number). Towards the crystalline end the PCM is a small "
    "part of R and the read's precision follows R_on,TS's (~5-10 % at 2 mS on the simulated cell)."
)


# ------------------------------------------------------------------------------------------ read
@dataclass(frozen=True)
class ConductanceRead:
    """One two-point ON-branch read of the PCM conductance through the SMU."""

    conductance_S: float  #: G (S); NaN when the TS did not hold at the low level or the slope is not usable
    current_low_A: float  #: SMU current at the low read level (A)
    current_high_A: float  #: SMU current at the high read level (A)
    voltage_low_V: float  #: SMU terminal voltage at the low read level (V, source readback)
    voltage_high_V: float
    series_resistance_ohm: float
    ts_on_resistance_ohm: float
    reason: str = ""  #: why the read is NaN ("" when valid)

    @property
    def resistance_ohm(self) -> float:
        return 1.0 / self.conductance_S if self.conductance_S > 0 else math.nan

    @property
    def current_A(self) -> float:
        """The SMU current at the high read level (A)."""
        return self.current_high_A

    @property
    def voltage_V(self) -> float:
        """The SMU terminal voltage at the high read level (V)."""
        return self.voltage_high_V


def conductance_from_read(
    voltages_v: Sequence[float],
    currents_a: Sequence[float],
    *,
    series_resistance_ohm: float,
    ts_on_resistance_ohm: float,
    min_current_a: float = READ_MIN_CURRENT_A,
    compliance_a: float | None = None,
) -> tuple[float, str]:
    """(G in S, reason) of a two-point ON-branch read: G = 1 / (dV/dI - R_series - R_on,TS).

    NaN with a reason when the low-level current is below ``min_current_a`` (the TS did not hold: the
    cell is below the read range), a level sat at the compliance (above the read range), or the slope is
    not positive or leaves no resistance for the PCM."""
    (v1, v2), (i1, i2) = voltages_v, currents_a
    if not (abs(i1) >= min_current_a):
        return (
            math.nan,
            f"below the read range: {abs(i1):.3g} A at the low level, under {min_current_a:g} A (the TS did not hold)",
        )
    if compliance_a is not None and max(abs(i1), abs(i2)) >= 0.98 * compliance_a:
        return math.nan, f"above the read range: the read reached its compliance {compliance_a:g} A"
    di, dv = i2 - i1, v2 - v1
    if not (di > 0 and dv > 0):
        return math.nan, f"no usable slope ({di:.3g} A over {dv:.3g} V)"
    r_pcm = dv / di - series_resistance_ohm - ts_on_resistance_ohm
    if not r_pcm > 0:
        return math.nan, f"the on-branch resistance {dv / di:.4g} Ohm leaves none for the PCM"
    return 1.0 / r_pcm, ""


def read_conductance(
    bench: BenchLike,
    *,
    fire_voltage_v: float = READ_FIRE_VOLTAGE_V,
    fire_compliance_a: float = READ_FIRE_COMPLIANCE_A,
    low_voltage_v: float = READ_LOW_VOLTAGE_V,
    high_voltage_v: float = READ_HIGH_VOLTAGE_V,
    compliance_a: float = READ_COMPLIANCE_A,
    ts_on_resistance_ohm: float = READ_TS_ON_RESISTANCE_OHM,
    min_current_a: float = READ_MIN_CURRENT_A,
    nplc: float = READ_NPLC,
    series_resistance_ohm: float | None = None,
) -> ConductanceRead:
    """Read the PCM conductance (see READ_METHOD_TEXT). ``series_resistance_ohm`` None: the SMU path
    resistance from the bench file. The SMU output is off afterwards."""
    smu = bench.smu
    r_s = bench.series_resistance_ohm("smu") if series_resistance_ohm is None else float(series_resistance_ohm)
    try:
        smu.configure_voltage_source(compliance_a=fire_compliance_a, nplc=nplc)
        smu.set_voltage(fire_voltage_v)
        smu.output_on()
        smu.measure_current()  # the TS fires; a few uW only
        smu.configure_voltage_source(compliance_a=compliance_a, nplc=nplc)
        sweep = smu.sweep_voltage([low_voltage_v, high_voltage_v])
    finally:
        smu.output_off()
    v = [float(x) for x in sweep.source_v]
    i = [float(x) for x in sweep.current_a]
    g, reason = conductance_from_read(
        v,
        i,
        series_resistance_ohm=r_s,
        ts_on_resistance_ohm=ts_on_resistance_ohm,
        min_current_a=min_current_a,
        compliance_a=compliance_a,
    )
    return ConductanceRead(g, i[0], i[1], v[0], v[1], r_s, float(ts_on_resistance_ohm), reason)


class ConductanceReadMixin:
    """The read's parameters for a procedure, and ``self.read()``.

    Put it before TspcmProcedure: ``class PulseTrain(ConductanceReadMixin, TspcmProcedure)``.
    ``read_series_resistance_ohm = -1`` (default) takes the SMU path resistance from the bench
    file during validate(), so the run file records the value used.
    """

    READ_METHOD = READ_METHOD_TEXT
    #: folded in the window: rarely changed (see tspcm_lab/gui/viewspec.py)
    PARAMETER_GROUPS: ClassVar[ParameterGroups] = (
        ("Conductance read", "*", True),
    )  # "*": every parameter this class declares

    read_fire_voltage_V = FloatParameter(
        "Read firing voltage", units="V", minimum=0.1, maximum=10.0, default=READ_FIRE_VOLTAGE_V
    )
    read_fire_compliance_A = FloatParameter(
        "Read firing compliance", units="A", minimum=1e-7, maximum=1e-4, default=READ_FIRE_COMPLIANCE_A
    )
    read_low_voltage_V = FloatParameter(
        "Read low level", units="V", minimum=0.05, maximum=5.0, default=READ_LOW_VOLTAGE_V
    )
    read_high_voltage_V = FloatParameter(
        "Read high level", units="V", minimum=0.05, maximum=5.0, default=READ_HIGH_VOLTAGE_V
    )
    read_compliance_A = FloatParameter(
        "Read compliance", units="A", minimum=1e-7, maximum=1e-3, default=READ_COMPLIANCE_A
    )
    read_ts_on_resistance_ohm = FloatParameter(
        "Read TS on-resistance", units="ohm", minimum=0.0, maximum=1e7, default=READ_TS_ON_RESISTANCE_OHM
    )
    read_min_current_A = FloatParameter(
        "Read least current", units="A", minimum=1e-12, maximum=1e-4, default=READ_MIN_CURRENT_A
    )
    read_nplc = FloatParameter("Read NPLC", minimum=0.01, maximum=10.0, default=READ_NPLC)
    read_series_resistance_ohm = FloatParameter(
        "Read series resistance (-1 = from bench file)", units="ohm", minimum=-1.0, maximum=1e6, default=-1.0
    )

    if TYPE_CHECKING:  # given by the procedure this mixes into (TspcmProcedure)
        bench: BenchLike

    def check_bench_limits(self, bench: BenchLike) -> None:
        super().check_bench_limits(bench)  # type: ignore[misc]  # TspcmProcedure's, after this mixin in the MRO
        for key in ("read_fire_voltage_V", "read_low_voltage_V", "read_high_voltage_V"):
            limit, where = bench.limit("smu", "voltage")
            value = getattr(self, key)
            if limit is not None and abs(value) > limit:
                raise ParameterError(
                    key,
                    f"{key} = {value:g} V exceeds the bench limit {limit:g} V ({where}); allowed: up to {limit:g} V",
                )
        limit, where = bench.limit("smu", "current")
        for key in ("read_fire_compliance_A", "read_compliance_A"):
            value = getattr(self, key)
            if limit is not None and value > limit:
                raise ParameterError(
                    key,
                    f"{key} = {value:g} A exceeds the bench limit {limit:g} A ({where}); allowed: up to {limit:g} A",
                )
        if self.read_series_resistance_ohm < 0:
            self.read_series_resistance_ohm = bench.series_resistance_ohm("smu")
        if not self.read_low_voltage_V < self.read_high_voltage_V < self.read_fire_voltage_V:
            raise ParameterError(
                "read_high_voltage_V",
                f"the read levels must rise: read_low_voltage_V "
                f"({self.read_low_voltage_V:g} V) < read_high_voltage_V ({self.read_high_voltage_V:g} V) "
                f"< read_fire_voltage_V ({self.read_fire_voltage_V:g} V)",
            )

    def read_settings(self) -> dict[str, Any]:
        """Keyword arguments of :func:`read_conductance` from the parameters."""
        r_s = self.read_series_resistance_ohm
        return dict(
            fire_voltage_v=self.read_fire_voltage_V,
            fire_compliance_a=self.read_fire_compliance_A,
            low_voltage_v=self.read_low_voltage_V,
            high_voltage_v=self.read_high_voltage_V,
            compliance_a=self.read_compliance_A,
            ts_on_resistance_ohm=self.read_ts_on_resistance_ohm,
            min_current_a=self.read_min_current_A,
            nplc=self.read_nplc,
            series_resistance_ohm=None if r_s is None or r_s < 0 else r_s,
        )

    def read(self) -> ConductanceRead:
        return read_conductance(self.bench, **self.read_settings())

    def describe_read_method(self) -> str:
        s = self.read_settings()
        r_s = s["series_resistance_ohm"]
        r_text = f"{r_s:g} Ohm" if r_s is not None else "from the bench file"
        return (
            f"{READ_METHOD_TEXT} Used: fire {s['fire_voltage_v']:g} V under {s['fire_compliance_a']:g} A; read at "
            f"{s['low_voltage_v']:g} V and {s['high_voltage_v']:g} V under {s['compliance_a']:g} A, NPLC "
            f"{s['nplc']:g}; R_series = {r_text}; R_on,TS = {s['ts_on_resistance_ohm']:g} Ohm."
        )
