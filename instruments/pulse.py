"""PulseGenerator role on Agilent/Keysight 33500B and 33521A, and Keysight 81160A.

Everything is played as a triggered burst: configure a pulse train or a spike train, turn the
output on, ``trigger()``. The output load is set to high impedance (a TS-PCM cell is far above
50 Ohm), so the programmed levels are the open-circuit voltages the cell sees through the
generator's 50 Ohm.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .base import OffStep, OutputRoleBase
from .safety import Limits, SafetyError

if TYPE_CHECKING:
    from .drivers.agilent33500 import ArbScaling


class PulseBase(OutputRoleBase):
    """Model-independent pulse-generator logic and safety checks."""

    role = "pulse"
    limits: Limits  # never None for a pulse generator (checked in __init__)
    #: fastest edge (s) and shortest width (s) the model produces
    MIN_EDGE_S = 8.4e-9
    MAX_EDGE_S = 1e-6
    MIN_WIDTH_S = 16e-9
    #: longest edge as a fraction of the width (33500: 0.625); None when the model has no such rule
    MAX_EDGE_TO_WIDTH: float | None = 0.625
    MAX_COUNT = 99999
    CHANNELS: tuple[int, ...] = (1, 2)

    def __init__(
        self, driver: Any, *, limits: Limits, channel: int = 1, resource: str = "", driver_name: str = ""
    ) -> None:
        if limits is None:
            raise ValueError("a pulse generator needs limits with max_voltage_v")
        if channel not in self.CHANNELS:
            raise ValueError(f"channel must be one of {self.CHANNELS} for {type(self).__name__}, got {channel!r}")
        super().__init__(driver, channel=int(channel), resource=resource, limits=limits, driver_name=driver_name)
        self._configured = False

    @property
    def _ch(self) -> Any:
        return getattr(self.driver, f"ch_{self.channel}")

    # ------------------------------------------------------------------ waveforms
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
        """``count`` pulses from ``base_v`` up to ``amplitude_v`` (V), ``width_s`` wide, one every
        ``period_s``, edges ``edge_s`` (None: the fastest), played on each trigger."""
        amplitude_v = self.limits.check_voltage(amplitude_v, "pulse amplitude")
        base_v = self.limits.check_voltage(base_v, "pulse base level")
        if not amplitude_v > base_v:
            raise ValueError(
                f"amplitude_v ({amplitude_v:g} V) must be above base_v ({base_v:g} V): pulses go up from the base level"
            )
        edge_s = self.MIN_EDGE_S if edge_s is None else float(edge_s)
        if not self.MIN_EDGE_S <= edge_s <= self.MAX_EDGE_S:
            raise ValueError(f"edge_s must be from {self.MIN_EDGE_S:g} s to {self.MAX_EDGE_S:g} s, got {edge_s!r}")
        if not width_s >= self.MIN_WIDTH_S:
            raise ValueError(f"width_s must be >= {self.MIN_WIDTH_S:g} s, got {width_s!r}")
        if self.MAX_EDGE_TO_WIDTH is not None and edge_s > self.MAX_EDGE_TO_WIDTH * width_s:
            raise ValueError(
                f"edge_s ({edge_s:g} s) must be <= {self.MAX_EDGE_TO_WIDTH:g} x width_s "
                f"({self.MAX_EDGE_TO_WIDTH * width_s:g} s) on {type(self).__name__}"
            )
        if not period_s > width_s + 2 * edge_s:
            raise ValueError(
                f"period_s must exceed width_s + 2 * edge_s = {width_s + 2 * edge_s:g} s, got {period_s!r}"
            )
        count = self._check_count(count)
        self._configured = False
        self._do_configure_pulse_train(amplitude_v, base_v, float(width_s), float(period_s), count, edge_s)
        self._configured = True
        self.settings.clear()
        self.settings.update(
            waveform="pulse_train",
            channel=self.channel,
            amplitude_v=amplitude_v,
            base_v=base_v,
            width_s=float(width_s),
            period_s=float(period_s),
            count=count,
            edge_s=edge_s,
            output=self.output_is_on,
        )

    def configure_single_pulse(
        self, amplitude_v: float, width_s: float, *, edge_s: float | None = None, base_v: float = 0.0
    ) -> None:
        """One pulse per trigger (a burst of one; the period only needs to hold the pulse)."""
        edge = self.MIN_EDGE_S if edge_s is None else float(edge_s)
        self.configure_pulse_train(
            amplitude_v, width_s, period_s=2 * (width_s + 2 * edge), count=1, edge_s=edge_s, base_v=base_v
        )

    def configure_spike_train(
        self, samples_v: Sequence[float], sample_interval_s: float, *, count: int = 1, name: str = "SPIKES"
    ) -> None:
        """Upload ``samples_v`` (V, one every ``sample_interval_s``) and play it ``count`` times
        per trigger. Every sample is checked against the bench limit before anything is sent."""
        samples = np.asarray(samples_v, dtype=float).ravel()
        if samples.size == 0 or not np.all(np.isfinite(samples)):
            raise ValueError("samples_v must be a non-empty sequence of finite voltages")
        worst = int(np.argmax(np.abs(samples)))
        self.limits.check_voltage(samples[worst], f"spike-train sample {worst}")
        if not sample_interval_s > 0:
            raise ValueError(f"sample_interval_s must be > 0 s, got {sample_interval_s!r}")
        count = self._check_count(count)
        self._configured = False
        scaling = self._do_configure_arb(samples, float(sample_interval_s), count, name)
        self._configured = True
        self.settings.clear()
        self.settings.update(
            waveform="spike_train",
            channel=self.channel,
            name=name,
            points=int(samples.size),
            sample_interval_s=float(sample_interval_s),
            duration_s=float(samples.size * sample_interval_s),
            count=count,
            min_v=float(samples.min()),
            max_v=float(samples.max()),
            amplitude_vpp=scaling.amplitude_vpp,
            offset_v=scaling.offset_v,
            output=self.output_is_on,
        )

    # ------------------------------------------------------------------ trigger and output
    def trigger(self) -> None:
        """Play the configured burst once (bus trigger)."""
        if not self._configured:
            raise SafetyError("pulse: trigger refused: no waveform configured; nothing was sent")
        self._do_trigger()

    def output_on(self) -> None:
        """Enable the output; refused (nothing sent) until a waveform was programmed by the role,
        so the levels on the output are known to be within the bench limits."""
        if not self._configured:
            raise SafetyError(
                "pulse: output_on refused: no waveform configured through the role "
                "(configure_pulse_train / configure_spike_train first); nothing was sent"
            )
        self.output_is_on = True
        self._ch.output = True
        self.settings["output"] = True

    def output_off(self) -> None:
        self._off_and_confirm()
        self.output_is_on = False
        self.settings["output"] = False

    def _off_and_confirm(self) -> None:
        """Output off, then read the state back: a write is not acknowledged, and over a LAN link
        another instrument's next command could otherwise reach the cell before this one."""
        self._ch.output = False
        if self._ch.output:
            raise SafetyError(f"pulse: channel {self.channel} still reports its output on after OUTP{self.channel} 0")

    def _off_steps(self) -> list[OffStep]:
        return [(f"output {self.channel} off", self._off_and_confirm)]

    def _check_count(self, count: int) -> int:
        if int(count) != count or not 1 <= count <= self.MAX_COUNT:
            raise ValueError(f"count must be an integer from 1 to {self.MAX_COUNT}, got {count!r}")
        return int(count)

    # ------------------------------------------------------------------ model hooks
    def _do_configure_pulse_train(
        self, high_v: float, low_v: float, width_s: float, period_s: float, count: int, edge_s: float
    ) -> None:
        raise NotImplementedError

    def _do_configure_arb(self, samples_v: np.ndarray, sample_interval_s: float, count: int, name: str) -> ArbScaling:
        raise NotImplementedError

    def _do_trigger(self) -> None:
        self.driver.trigger()


class Agilent33500Pulse(PulseBase):
    """PulseGenerator on a 33500B-series (or 33521A) generator: triggered bursts on the bus
    trigger, Sync output following this channel (for the scope's external trigger)."""

    def _setup_burst(self, count: int) -> None:
        ch, d = self._ch, self.driver
        ch.burst_mode = "TRIG"
        ch.burst_ncycles = count
        ch.burst_state = True
        ch.trigger_source = "BUS"
        d.sync_source = f"CH{self.channel}"
        d.sync_enabled = True

    def _do_configure_pulse_train(
        self, high_v: float, low_v: float, width_s: float, period_s: float, count: int, edge_s: float
    ) -> None:
        """Programs levels and timing in an order that is valid from any previous state.

        The 33500 refuses a high level at or below the low level, a width above period - 16 ns and
        an edge above 0.625 x width (and adjusts with "Settings conflict"). So: levels in the
        order the present low level allows; edges and width first to their minimum (valid for
        any period), then period, width and edges to their new values.
        """
        ch = self._ch
        timing = ("pulse_train", width_s, period_s, count, edge_s)
        known = self._programmed  # (timing, (high, low)) of the last pulse train, or None
        same_timing = known is not None and known[0] == timing
        self._programmed = None
        if not same_timing:
            ch.output_load = "INF"
            ch.shape = "PULS"
        if not same_timing or known[1] != (high_v, low_v):
            # the present low level: the one this role's last pulse train set, when it is known
            if high_v > (known[1][1] if same_timing else float(ch.voltage_low)):
                ch.voltage_high = high_v
                ch.voltage_low = low_v
            else:
                ch.voltage_low = low_v
                ch.voltage_high = high_v
        if not same_timing:
            ch.pulse_transition = self.MIN_EDGE_S
            ch.pulse_width = self.MIN_WIDTH_S
            ch.pulse_period = period_s
            ch.pulse_width = width_s
            ch.pulse_transition = edge_s
            self._setup_burst(count)
        # else: load, shape, timing and burst are as this role's last pulse train left them (only
        # levels, triggers and output switching sent since): the levels are all that may change, e.g.
        # between the steps of an amplitude calibration (the other 13 commands re-sent the values set),
        # and they are sent only when they change (without reading the low level back first)
        self._raise_on_errors("configuring the pulse train")
        self._programmed = (timing, (high_v, low_v))

    def _do_configure_arb(self, samples_v: np.ndarray, sample_interval_s: float, count: int, name: str) -> ArbScaling:
        self._programmed = None
        ch = self._ch
        ch.output_load = "INF"
        ch.offset = 0.0  # any amplitude up to the limit then fits, whatever the old offset was
        scaling: ArbScaling = ch.upload_arb_volts(name, samples_v, sample_interval_s)
        self._setup_burst(count)
        self._raise_on_errors("uploading the spike train")
        return scaling


class Agilent33521APulse(Agilent33500Pulse):
    """PulseGenerator on the single-channel 33521A."""

    CHANNELS = (1,)


class Keysight81160APulse(PulseBase):
    """PulseGenerator on a Keysight 81160A: manual arming (bus trigger), trigger count = burst."""

    MIN_EDGE_S = 1e-9
    MAX_EDGE_S = 1e3
    MIN_WIDTH_S = 1.5e-9
    MAX_EDGE_TO_WIDTH = None
    #: the 81160A's largest load setting, as close to an open circuit as it gets (Ohm)
    HIGH_Z_LOAD_OHM = 1e6

    def _setup_burst(self, count: int) -> None:
        ch = self._ch
        ch.trigger_mode = "MAN"
        ch.trigger_count = count

    def _do_configure_pulse_train(
        self, high_v: float, low_v: float, width_s: float, period_s: float, count: int, edge_s: float
    ) -> None:
        ch = self._ch
        ch.output_load = self.HIGH_Z_LOAD_OHM
        ch.shape = "PULS"
        ch.voltage_high = high_v
        ch.voltage_low = low_v
        ch.pulse_period = period_s
        ch.pulse_width = width_s
        ch.pulse_transition = edge_s
        self._setup_burst(count)
        self._raise_on_errors("configuring the pulse train")

    def _do_configure_arb(self, samples_v: np.ndarray, sample_interval_s: float, count: int, name: str) -> ArbScaling:
        ch = self._ch
        ch.output_load = self.HIGH_Z_LOAD_OHM
        scaling: ArbScaling = ch.upload_user_volts(samples_v, sample_interval_s)
        self._setup_burst(count)
        self._raise_on_errors("uploading the spike train")
        return scaling
