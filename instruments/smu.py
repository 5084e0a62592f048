"""SMU role on Keithley source-measure units: 2450 (native sweep), 2400 (list sweep), 2600 (TSP).

The safety rules live in :class:`SmuBase` and hold for every model: a compliance is set (and
sent) before any level or output, every level is checked against the bench limits before the
first command of a request is written, and a sweep leaves the output as it found it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .base import OffStep, OutputRoleBase
from .roles import SweepResult
from .safety import Limits, SafetyError

#: power-line frequency used to estimate sweep durations for the VISA timeout (Hz, worst case)
_LINE_HZ = 50.0


class SmuBase(OutputRoleBase):
    """Model-independent SMU logic; subclasses implement the ``_do_*`` hooks for one model."""

    role = "smu"
    limits: Limits  # never None for an SMU (checked in __init__)
    NPLC_RANGE: tuple[float, float] = (0.01, 10.0)
    MAX_SWEEP_POINTS = 2500

    def __init__(
        self,
        driver: Any,
        *,
        limits: Limits,
        resource: str = "",
        driver_name: str = "",
        channel: str | int | None = None,
    ) -> None:
        if limits is None or limits.max_current_a is None:
            raise ValueError("an SMU needs limits with max_voltage_v and max_current_a")
        super().__init__(driver, channel=channel, resource=resource, limits=limits, driver_name=driver_name)
        self._mode: str | None = None  # "voltage" or "current"
        self._compliance: float | None = None
        #: (source function, nplc) of the last configuration this role sent in full and found error-free,
        #: kept while only levels, readings and output switching have been sent since (off() or a failure
        #: forgets it; a sweep too, unless the model says what it leaves: see _after_sweep): a model may
        #: then send just what changed (see Keithley2450SMU)
        self._programmed: tuple[Any, ...] | None = None

    # ------------------------------------------------------------------ configuration
    def configure_voltage_source(self, compliance_a: float, *, nplc: float = 1.0) -> None:
        """Source voltage and measure current, compliance ``compliance_a`` (A, > 0, within the
        bench limit). Sent in this order: source function, source range, compliance, sense."""
        compliance_a = self.limits.check_compliance_current(compliance_a)
        nplc = self._check_nplc(nplc)
        self._compliance = None
        self._do_configure_voltage_source(compliance_a, nplc)
        self._mode, self._compliance = "voltage", compliance_a
        self.settings.update(
            source_function="voltage", compliance_current_a=compliance_a, nplc=nplc, source_voltage_v=None
        )
        self.settings.pop("compliance_voltage_v", None)
        self.settings.pop("source_current_a", None)

    def configure_current_source(self, compliance_v: float, *, nplc: float = 1.0) -> None:
        """Source current and measure voltage, compliance ``compliance_v`` (V, > 0, within the
        bench limit)."""
        compliance_v = self.limits.check_compliance_voltage(compliance_v)
        nplc = self._check_nplc(nplc)
        self._compliance = None
        self._do_configure_current_source(compliance_v, nplc)
        self._mode, self._compliance = "current", compliance_v
        self.settings.update(
            source_function="current", compliance_voltage_v=compliance_v, nplc=nplc, source_current_a=None
        )
        self.settings.pop("compliance_current_a", None)
        self.settings.pop("source_voltage_v", None)

    def set_voltage(self, level_v: float) -> None:
        """Set the source voltage (V); needs configure_voltage_source first."""
        self._require_mode("voltage", "set_voltage")
        level_v = self.limits.check_voltage(level_v, "source voltage")
        self._do_set_voltage(level_v)
        self.settings["source_voltage_v"] = level_v

    def set_current(self, level_a: float) -> None:
        """Set the source current (A); needs configure_current_source first."""
        self._require_mode("current", "set_current")
        level_a = self.limits.check_current(level_a, "source current")
        self._do_set_current(level_a)
        self.settings["source_current_a"] = level_a

    # ------------------------------------------------------------------ output
    def output_on(self) -> None:
        """Enable the output; refused (nothing sent) until a compliance has been set."""
        if self._compliance is None:
            raise SafetyError(
                "smu: output_on refused: no compliance set; call configure_voltage_source("
                "compliance_a=...) or configure_current_source(compliance_v=...) first; nothing was sent"
            )
        self.output_is_on = True  # from the first byte on, the output may be on
        self._do_output(True)
        self.settings["output"] = True

    def output_off(self) -> None:
        self._do_output(False)
        self.output_is_on = False
        self.settings["output"] = False

    # ------------------------------------------------------------------ measurement
    def measure_current(self) -> float:
        """One current reading (A)."""
        return float(self._do_measure_current())

    def measure_voltage(self) -> float:
        """One voltage reading (V)."""
        return float(self._do_measure_voltage())

    # ------------------------------------------------------------------ sweeps
    def sweep_voltage(self, levels_v: Sequence[float], *, delay_s: float = 0.0) -> SweepResult:
        """Source each voltage of ``levels_v`` (V) and measure the current, as one buffered sweep.

        Every point is checked against the bench limit before anything is sent. The sweep runs
        under the compliance set by configure_voltage_source; the output is left as it was.
        """
        levels = self._check_sweep(levels_v, delay_s)
        return self._run_sweep(lambda: self._do_sweep_list(levels, delay_s), levels, delay_s)

    def sweep_voltage_linear(self, start_v: float, stop_v: float, points: int, *, delay_s: float = 0.0) -> SweepResult:
        """Linear sweep from ``start_v`` to ``stop_v`` (V) in ``points`` points (>= 2)."""
        if int(points) != points or not 2 <= points <= self.MAX_SWEEP_POINTS:
            raise ValueError(f"points must be an integer from 2 to {self.MAX_SWEEP_POINTS}, got {points!r}")
        levels = self._check_sweep(np.linspace(start_v, stop_v, int(points)), delay_s)
        return self._run_sweep(
            lambda: self._do_sweep_linear(levels[0], levels[-1], int(points), delay_s), levels, delay_s
        )

    def _check_sweep(self, levels_v: Sequence[float] | np.ndarray, delay_s: float) -> np.ndarray:
        self._require_mode("voltage", "sweep_voltage")
        levels = np.asarray(levels_v, dtype=float).ravel()
        if not 1 <= levels.size <= self.MAX_SWEEP_POINTS:
            raise ValueError(f"levels_v must have 1 to {self.MAX_SWEEP_POINTS} points, got {levels.size}")
        for i, level in enumerate(levels):
            self.limits.check_voltage(level, f"sweep point {i}")
        if not (np.isfinite(delay_s) and delay_s >= 0):
            raise ValueError(f"delay_s must be >= 0 s, got {delay_s!r}")
        return levels

    def _run_sweep(self, run: Callable[[], tuple[Any, Any]], levels: np.ndarray, delay_s: float) -> SweepResult:
        programmed, self._programmed = self._programmed, None  # a sweep programs the instrument's own source settings
        was_on = self.output_is_on
        self.output_is_on = True  # the instrument's sweep turns the source on
        with self._timeout_at_least(self._sweep_duration_s(levels.size, delay_s) * 2 + 10):
            source_v, current_a = run()
        self._programmed = self._after_sweep(programmed)
        if not was_on:
            self.output_off()
        self.settings["source_voltage_v"] = None  # the level is where the sweep left it
        self.settings["last_sweep"] = {
            "points": int(levels.size),
            "first_v": float(levels[0]),
            "last_v": float(levels[-1]),
            "delay_s": float(delay_s),
        }
        return SweepResult(np.asarray(source_v, dtype=float), np.asarray(current_a, dtype=float))

    def _after_sweep(self, programmed: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
        """What is known of the configuration after a sweep that completed, given ``programmed`` before it:
        nothing (None) unless a model knows what its sweep changes."""
        return None

    def _sweep_duration_s(self, points: int, delay_s: float) -> float:
        nplc = float(self.settings.get("nplc", 1.0))
        return points * (delay_s + nplc / _LINE_HZ + 1e-3)

    @contextlib.contextmanager
    def _timeout_at_least(self, seconds: float) -> Iterator[None]:
        """Raise the VISA timeout for a long blocking operation (a sweep ends with one query)."""
        connection: Any = getattr(getattr(self.driver, "adapter", None), "connection", None)
        old = getattr(connection, "timeout", None)
        if not isinstance(old, (int, float)) or old >= seconds * 1000:
            yield
            return
        connection.timeout = seconds * 1000
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                connection.timeout = old

    # ------------------------------------------------------------------ helpers
    def _require_mode(self, mode: str, what: str) -> None:
        if self._compliance is None or self._mode != mode:
            configure = (
                "configure_voltage_source(compliance_a=...)"
                if mode == "voltage"
                else "configure_current_source(compliance_v=...)"
            )
            raise SafetyError(
                f"smu: {what} refused: call {configure} first, so a compliance is set "
                f"before any level; nothing was sent"
            )

    def _check_nplc(self, nplc: float) -> float:
        low, high = self.NPLC_RANGE
        if not low <= float(nplc) <= high:
            raise ValueError(f"nplc must be from {low:g} to {high:g} power-line cycles, got {nplc!r}")
        return float(nplc)

    # ------------------------------------------------------------------ model hooks
    def _do_configure_voltage_source(self, compliance_a: float, nplc: float) -> None:
        raise NotImplementedError

    def _do_configure_current_source(self, compliance_v: float, nplc: float) -> None:
        raise NotImplementedError

    def _do_set_voltage(self, level_v: float) -> None:
        raise NotImplementedError

    def _do_set_current(self, level_a: float) -> None:
        raise NotImplementedError

    def _do_output(self, on: bool) -> None:
        raise NotImplementedError

    def _do_measure_current(self) -> float:
        raise NotImplementedError

    def _do_measure_voltage(self) -> float:
        raise NotImplementedError

    def _do_sweep_list(self, levels_v: np.ndarray, delay_s: float) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _do_sweep_linear(
        self, start_v: float, stop_v: float, points: int, delay_s: float
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._do_sweep_list(np.linspace(start_v, stop_v, points), delay_s)


class Keithley2450SMU(SmuBase):
    """SMU role on a Keithley 2450 (SCPI command set), native sweeps into defbuffer1."""

    #: per source function: (its SCPI node, the driver's compliance property, the sensed function, its NPLC property)
    _SOURCES = {
        "voltage": ("VOLT", "compliance_current", "CURR", "current_nplc"),
        "current": ("CURR", "compliance_voltage", "VOLT", "voltage_nplc"),
    }

    def _do_configure_voltage_source(self, compliance_a: float, nplc: float) -> None:
        self._configure_source("voltage", compliance_a, nplc)

    def _do_configure_current_source(self, compliance_v: float, nplc: float) -> None:
        self._configure_source("current", compliance_v, nplc)

    def _configure_source(self, mode: str, compliance: float, nplc: float) -> None:
        """Source ``mode`` with its compliance (A for a voltage source, V for a current source), auto ranges and
        the other quantity sensed at ``nplc``. When the last configuration was the same mode and NPLC (nothing but
        levels, readings and output switching sent since), the compliance is the one command that changes
        anything, e.g. between a read's firing and its sweep (the other five re-sent the values already set:
        ~10k commands of a demo); after a native sweep (see _after_sweep), the source range and the compliance
        (e.g. a read's firing after the previous read's sweep: ~4k commands of a demo)."""
        d = self.driver
        node, compliance_property, sense, nplc_property = self._SOURCES[mode]
        known = self._programmed
        self._programmed = None
        if known == (mode, nplc):
            setattr(d, compliance_property, compliance)
        elif known == (mode, nplc, "swept"):
            d.write(f":SOUR:{node}:RANG:AUTO 1")
            setattr(d, compliance_property, compliance)
        else:
            d.source_mode = mode
            d.write(f":SOUR:{node}:RANG:AUTO 1")
            setattr(d, compliance_property, compliance)
            d.sense_function = sense
            setattr(d, nplc_property, nplc)
            d.write(f":SENS:{sense}:RANG:AUTO 1")
        self._raise_on_errors(f"configuring the {mode} source")
        self._programmed = (mode, nplc)

    def _after_sweep(self, programmed: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
        """A native sweep (``:SOUR:SWE:VOLT:LIST``/``:LIN``) leaves the source function (the swept one, which
        the role configured), the sense function, its NPLC and range as they were; only its source range is
        fixed (the sweep's best range, autorange off: Reference Manual, "SWEep"), and its compliance is the
        one configured before it. So after a sweep from a known configuration, the source range and the
        compliance are what a configuration of the same mode and NPLC sends."""
        if programmed is None or programmed[0] != "voltage":
            return None
        return (programmed[0], programmed[1], "swept")

    def _do_set_voltage(self, level_v: float) -> None:
        self.driver.source_voltage = level_v

    def _do_set_current(self, level_a: float) -> None:
        self.driver.source_current = level_a

    def _do_output(self, on: bool) -> None:
        self.driver.write("OUTPUT ON" if on else "OUTPUT OFF")

    def _do_measure_current(self) -> float:
        return float(self.driver.current)

    def _do_measure_voltage(self) -> float:
        # :READ? returns the *measured* function: the voltage when sourcing current, but the current
        # when sourcing voltage; then the source readback element is the voltage at the terminals
        if self._mode == "current":
            return float(self.driver.voltage)
        return float(self.driver.ask(':READ? "defbuffer1", SOUR'))

    def _do_sweep_list(self, levels_v: np.ndarray, delay_s: float) -> tuple[Any, Any]:
        d = self.driver
        d.clear_buffer()
        d.set_voltage_list(levels_v.tolist())
        d.sweep_voltage_list(start_index=1, delay_s=delay_s, count=1, fail_abort=False)
        return self._run_native(len(levels_v))

    def _do_sweep_linear(self, start_v: float, stop_v: float, points: int, delay_s: float) -> tuple[Any, Any]:
        d = self.driver
        d.clear_buffer()
        d.sweep_voltage_linear(
            start_v, stop_v, points, delay_s=delay_s, count=1, range_type="BEST", fail_abort=False, dual=False
        )
        return self._run_native(points)

    def _run_native(self, points: int) -> tuple[Any, Any]:
        d = self.driver
        d.initiate()
        d.wait()
        readings, sources = d.buffer_readings(points)
        return sources, readings

    def _off_steps(self) -> list[OffStep]:
        return [
            ("abort the trigger model (:ABOR)", self.driver.abort),
            ("output off (OUTPUT OFF)", lambda: self.driver.write("OUTPUT OFF")),
        ]


class Keithley2400SMU(SmuBase):
    """SMU role on a Keithley 2400-series SourceMeter, list sweeps read with one :READ?."""

    def _do_configure_voltage_source(self, compliance_a: float, nplc: float) -> None:
        d = self.driver
        d.source_mode = "voltage"
        d.source_voltage_mode = "FIX"
        d.source_voltage_range_auto_enabled = True
        d.compliance_current = compliance_a
        d.write(":SENS:FUNC 'CURR'")
        d.current_nplc = nplc
        d.current_range_auto_enabled = True
        self._raise_on_errors("configuring the voltage source")

    def _do_configure_current_source(self, compliance_v: float, nplc: float) -> None:
        d = self.driver
        d.source_mode = "current"
        d.source_current_range_auto_enabled = True
        d.compliance_voltage = compliance_v
        d.write(":SENS:FUNC 'VOLT'")
        d.voltage_nplc = nplc
        d.voltage_range_auto_enabled = True
        self._raise_on_errors("configuring the current source")

    def _do_set_voltage(self, level_v: float) -> None:
        self.driver.source_voltage = level_v

    def _do_set_current(self, level_a: float) -> None:
        self.driver.source_current = level_a

    def _do_output(self, on: bool) -> None:
        self.driver.source_enabled = bool(on)

    def _do_measure_current(self) -> float:
        return float(self.driver.current)

    def _do_measure_voltage(self) -> float:
        return float(self.driver.voltage)

    def _do_sweep_list(self, levels_v: np.ndarray, delay_s: float) -> tuple[Any, Any]:
        d = self.driver
        d.source_voltage_mode = "LIST"
        d.set_voltage_list(levels_v.tolist())
        d.sweep_points = len(levels_v)
        d.source_delay_s = delay_s
        if not self.settings.get("output"):
            d.source_enabled = True  # the 2400 sources only with its output on
        try:
            voltage_v, current_a = d.read_points(len(levels_v))
        finally:
            d.source_voltage_mode = "FIX"
            d.sweep_points = 1
        return voltage_v, current_a

    def _off_steps(self) -> list[OffStep]:
        return [
            ("abort the trigger model (:ABORT)", self.driver.reset_trigger),
            ("output off (OUTPUT 0)", lambda: setattr(self.driver, "source_enabled", False)),
        ]


class Keithley2600SMU(SmuBase):
    """SMU role on one channel ('a' or 'b') of a Keithley 2600-series SourceMeter (TSP)."""

    NPLC_RANGE = (0.001, 25.0)

    def __init__(self, driver: Any, *, channel: str = "a", **kwargs: Any) -> None:
        channel = str(channel).lower()
        if channel not in ("a", "b"):
            raise ValueError(f"channel must be 'a' or 'b' for a 2600, got {channel!r}")
        super().__init__(driver, channel=channel, **kwargs)

    @property
    def _ch(self) -> Any:
        return self.driver.ChA if self.channel == "a" else self.driver.ChB

    @property
    def _smu(self) -> str:
        return f"smu{self.channel}"

    def _do_configure_voltage_source(self, compliance_a: float, nplc: float) -> None:
        ch = self._ch
        ch.source_mode = "voltage"
        ch.write("source.autorangev=1")
        ch.compliance_current = compliance_a
        ch.write(f"measure.nplc={nplc:g}")
        ch.write("measure.autorangei=1")
        self._raise_on_errors("configuring the voltage source")

    def _do_configure_current_source(self, compliance_v: float, nplc: float) -> None:
        ch = self._ch
        ch.source_mode = "current"
        ch.write("source.autorangei=1")
        ch.compliance_voltage = compliance_v
        ch.write(f"measure.nplc={nplc:g}")
        ch.write("measure.autorangev=1")
        self._raise_on_errors("configuring the current source")

    def _do_set_voltage(self, level_v: float) -> None:
        self._ch.source_voltage = level_v

    def _do_set_current(self, level_a: float) -> None:
        self._ch.source_current = level_a

    def _do_output(self, on: bool) -> None:
        self._ch.source_output = "ON" if on else "OFF"

    def _do_measure_current(self) -> float:
        return float(self._ch.current)

    def _do_measure_voltage(self) -> float:
        return float(self._ch.voltage)

    def _do_sweep_list(self, levels_v: np.ndarray, delay_s: float) -> tuple[Any, Any]:
        d = self.driver
        d.configure_voltage_list_sweep(self.channel, levels_v.tolist(), delay_s=delay_s)
        if not self.settings.get("output"):
            self._ch.source_output = "ON"  # the trigger model sources only with the output on
        voltage_v, current_a = d.run_sweep(self.channel, len(levels_v))
        return voltage_v, current_a

    def _off_steps(self) -> list[OffStep]:
        return [
            (f"abort ({self._smu}.abort())", lambda: self.driver.abort(self.channel)),
            (f"output off ({self._smu}.source.output=0)", lambda: setattr(self._ch, "source_output", "OFF")),
        ]
