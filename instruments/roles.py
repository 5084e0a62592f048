"""The instrument roles a procedure talks to: small, explicit interfaces.

A procedure says "sweep this cell to 2 V with 100 uA compliance", never "SOUR1:BURS:NCYC 10". It
is written against these protocols; which driver plays a role is chosen by the bench file
(:mod:`tspcm_lab.bench`). Every role has:

- ``identity``: the instrument's ``*IDN?`` reply (read once, when the bench opens),
- ``off()``: puts the instrument in its safe state; callable at any time, in any state, also when
  the connection is gone. It never raises: it returns the problems it met (empty when all is well),
- ``snapshot()``: identity, resource and present settings as plain data for the run file.

Units are SI throughout and are part of every parameter name.

The protocols are deliberately not ``runtime_checkable``: an ``isinstance`` check would read the
``identity`` property, i.e. talk to the instrument.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

#: role name -> attribute of :class:`tspcm_lab.bench.Bench`; also the table names of a bench file.
ROLE_NAMES: tuple[str, ...] = ("smu", "pulse", "scope", "matrix", "prober")


@dataclass(frozen=True)
class SweepResult:
    """A buffered sweep read back from the instrument: one source value and one reading per point."""

    source_v: np.ndarray  #: the source value the instrument applied at each point (V)
    current_a: np.ndarray  #: the current measured at each point (A)

    def __len__(self) -> int:
        return len(self.source_v)


@dataclass(frozen=True)
class Capture:
    """A captured current waveform: time since the trigger and the cell current."""

    t_s: np.ndarray  #: time of each sample relative to the trigger (s)
    current_a: np.ndarray  #: cell current, scope volts divided by the sense resistance (A)
    sense_resistance_ohm: float
    meta: dict[str, Any] = field(default_factory=dict)


class Role(Protocol):
    """What every role offers."""

    role: str  #: "smu", "pulse", "scope", "matrix" or "prober"
    resource: str  #: the VISA resource string it was opened on

    @property
    def identity(self) -> str: ...

    def off(self) -> list[str]: ...

    def snapshot(self) -> dict[str, Any]: ...


class SMU(Role, Protocol):
    """Source-measure unit: sources a voltage or current under a compliance limit, measures, sweeps.

    Safety: ``output_on()`` and ``sweep_*()`` are refused until a compliance has been set through
    ``configure_voltage_source``/``configure_current_source``; every level is checked against the
    bench limits before anything is sent; the compliance is always sent before the output is on.
    """

    def configure_voltage_source(self, compliance_a: float, *, nplc: float = 1.0) -> None:
        """Source voltage, measure current, with current compliance ``compliance_a`` (A)."""

    def configure_current_source(self, compliance_v: float, *, nplc: float = 1.0) -> None:
        """Source current, measure voltage, with voltage compliance ``compliance_v`` (V)."""

    def set_voltage(self, level_v: float) -> None: ...

    def set_current(self, level_a: float) -> None: ...

    def output_on(self) -> None: ...

    def output_off(self) -> None: ...

    def measure_current(self) -> float:
        """One current reading (A) at the present source level."""

    def measure_voltage(self) -> float:
        """One voltage reading (V) at the present source level."""

    def sweep_voltage(self, levels_v: Sequence[float], *, delay_s: float = 0.0) -> SweepResult:
        """Source each voltage in turn and measure the current, with the instrument's own buffered
        sweep where it has one (one exchange, not one per point). The output state is the same
        after the sweep as before it."""

    def sweep_voltage_linear(
        self, start_v: float, stop_v: float, points: int, *, delay_s: float = 0.0
    ) -> SweepResult: ...


class PulseGenerator(Role, Protocol):
    """Pulse/arbitrary waveform generator driving the cell's top electrode.

    Everything is played as a triggered burst: configure, ``output_on()``, then ``trigger()``.
    The sync output marks the start of each burst (the scope triggers on it). Every level and
    sample is checked against the bench voltage limit before anything is sent; ``output_on()`` is
    refused until a waveform has been programmed through the role.
    """

    def configure_pulse_train(
        self,
        amplitude_v: float,
        width_s: float,
        *,
        period_s: float,
        count: int = 1,
        edge_s: float | None = None,
        base_v: float = 0.0,
    ) -> None:
        """``count`` rectangular pulses from ``base_v`` to ``amplitude_v``, ``width_s`` long,
        every ``period_s``, with rise and fall times ``edge_s`` (None: the fastest)."""

    def configure_single_pulse(
        self, amplitude_v: float, width_s: float, *, edge_s: float | None = None, base_v: float = 0.0
    ) -> None: ...

    def configure_spike_train(
        self, samples_v: Sequence[float], sample_interval_s: float, *, count: int = 1, name: str = "SPIKES"
    ) -> None:
        """Upload sampled voltages (V, one every ``sample_interval_s``) as an arbitrary waveform and
        play it ``count`` times per trigger."""

    def trigger(self) -> None: ...

    def output_on(self) -> None: ...

    def output_off(self) -> None: ...


class Scope(Role, Protocol):
    """Oscilloscope capturing the cell current through the sense resistor."""

    sense_resistance_ohm: float

    def arm(
        self,
        record_length_s: float,
        sample_interval_s: float,
        *,
        trigger_level_v: float = 1.0,
        pretrigger_s: float = 0.0,
        full_scale_current_a: float | None = None,
    ) -> None:
        """Arm a single capture triggered by the pulse generator's sync output."""

    def fetch(self, timeout_s: float = 10.0) -> Capture:
        """Wait for the capture to complete and read it as (t_s, current_a)."""


class SwitchMatrix(Role, Protocol):
    """Connects the source (SMU/pulse) to array rows and the sense side (scope) to array columns."""

    rows: int
    cols: int

    def connect(self, cells: Sequence[tuple[int, int]]) -> None:
        """Connect the instruments to the given cells (row, col), zero-based. Disconnects the
        rest first. A set of cells must be a full rectangle rows x cols, since closing rows and
        columns of a crossbar connects every cell at their intersections."""

    def disconnect_all(self) -> None: ...

    def connected(self) -> list[tuple[int, int]]: ...


class Prober(Role, Protocol):
    """Wafer prober: move between dies and subsites, make and break contact."""

    def move_to_die(self, column: int, row: int, subsite: int | None = None) -> None: ...

    def contact(self) -> None: ...

    def separate(self) -> None: ...
