"""Scope role on a Keysight DSOX1102G: one triggered capture of the cell current.

The scope input sees the cell current through the sense resistor of the bench wiring, so the
role divides the captured volts by ``sense_resistance_ohm`` (from the bench file) and returns
amperes. Capture is triggered by the pulse generator's sync output on the EXT input.
"""

from __future__ import annotations

import math
import time
from typing import Any

from .base import OffStep, RoleBase
from .roles import Capture

#: where :TIMebase:REFerence LEFT sits, as a fraction of the record from its left edge
LEFT_REFERENCE_FRACTION = 0.1
#: record lengths (points) the DSOX1102G transfers
RECORD_POINTS = (100, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 62500)


class DSOX1102GScope(RoleBase):
    """Scope role on a Keysight DSOX1102G (channel 1 or 2, external trigger)."""

    role = "scope"
    CHANNELS = (1, 2)
    #: interval between "is the capture done?" queries (s); the simulated bench answers at once
    POLL_S = 0.02
    #: how long arm() waits for the Run bit after :SINGle (s)
    ARM_TIMEOUT_S = 2.0

    def __init__(
        self, driver: Any, *, sense_resistance_ohm: float, channel: int = 1, resource: str = "", driver_name: str = ""
    ) -> None:
        if channel not in self.CHANNELS:
            raise ValueError(f"channel must be 1 or 2 for a DSOX1102G, got {channel!r}")
        if not sense_resistance_ohm > 0:
            raise ValueError(f"sense_resistance_ohm must be > 0 Ohm, got {sense_resistance_ohm!r}")
        super().__init__(driver, resource=resource, limits=None, driver_name=driver_name)
        self.channel = int(channel)
        self.sense_resistance_ohm = float(sense_resistance_ohm)
        self._points: int | None = None
        #: (source, points) of the :WAVeform transfer settings last sent, kept while the record arm() set up is
        #: unchanged (see fetch); None: unknown
        self._transfer: tuple[str, int] | None = None
        #: True from a fetch that saw its capture done (Run bit clear: the scope stopped after its single
        #: acquisition) to the next :SINGle
        self._stopped = False

    def arm(
        self,
        record_length_s: float,
        sample_interval_s: float,
        *,
        trigger_level_v: float = 1.0,
        pretrigger_s: float = 0.0,
        full_scale_current_a: float | None = None,
    ) -> None:
        """Arm one capture of ``record_length_s`` (s) starting ``pretrigger_s`` before the trigger,
        at least one sample every ``sample_interval_s`` (s), triggered by a rising edge through
        ``trigger_level_v`` (V) on EXT. ``full_scale_current_a`` (A) sets the vertical range for
        currents from 0 up to that value; None leaves it as it is."""
        if not record_length_s > 0:
            raise ValueError(f"record_length_s must be > 0 s, got {record_length_s!r}")
        if not sample_interval_s > 0:
            raise ValueError(f"sample_interval_s must be > 0 s, got {sample_interval_s!r}")
        if not 0 <= pretrigger_s < record_length_s:
            raise ValueError(
                f"pretrigger_s must be from 0 to record_length_s ({record_length_s:g} s), got {pretrigger_s!r}"
            )
        wanted = math.ceil(record_length_s / sample_interval_s - 1e-9)
        points = next((p for p in RECORD_POINTS if p >= wanted), None)
        if points is None:
            raise ValueError(
                f"record_length_s / sample_interval_s = {wanted} points exceeds the "
                f"DSOX1102G's {RECORD_POINTS[-1]}; lengthen sample_interval_s"
            )
        if full_scale_current_a is not None and not full_scale_current_a > 0:
            raise ValueError(f"full_scale_current_a must be > 0 A, got {full_scale_current_a!r}")
        d = self.driver
        if not (self._stopped and self._programmed is not None):
            d.stop()  # no acquisition in flight while reconfiguring; the :SINGle below is the only one
        # else: the last fetch saw its capture done and nothing but transfers was sent since: stopped already
        self._stopped = False
        programmed = (record_length_s, pretrigger_s, full_scale_current_a, trigger_level_v)
        if self._programmed != programmed:
            self._programmed = None
            self._transfer = None
            self._configure(d, record_length_s, pretrigger_s, full_scale_current_a, trigger_level_v)
        # else: the scope is set up as this role's last arm left it (only fetches, which change no
        # setting, since): a capture of the same train needs only the :SINGle below (a spike train's
        # 14 setup commands, ~7k of a demo's, re-sent the values already set)
        d.single()
        # Trigger only once the scope is armed: the pulse generator is another connection, and a
        # burst sent before the scope has processed :SINGle would go by unseen.
        deadline = time.monotonic() + self.ARM_TIMEOUT_S
        while not d.capture_running:
            if time.monotonic() > deadline:
                self._programmed = None
                raise TimeoutError(
                    f"scope ({self.resource}): not armed {self.ARM_TIMEOUT_S:g} s after :SINGle "
                    "(Run bit of :OPERegister:CONDition? still clear)"
                )
            time.sleep(self.POLL_S)
        self._programmed = programmed
        self._points = points
        self.settings.update(
            record_length_s=float(record_length_s),
            points=points,
            sample_interval_s=float(record_length_s) / points,
            pretrigger_s=float(pretrigger_s),
            trigger_source="EXT",
            trigger_level_v=float(trigger_level_v),
            channel=self.channel,
            sense_resistance_ohm=self.sense_resistance_ohm,
            full_scale_current_a=full_scale_current_a,
        )

    def _configure(
        self,
        d: Any,
        record_length_s: float,
        pretrigger_s: float,
        full_scale_current_a: float | None,
        trigger_level_v: float,
    ) -> None:
        """Timebase, vertical range and the external edge trigger of :meth:`arm`."""
        d.timebase_mode = "main"
        d.timebase_reference = "left"
        d.timebase_range_s = record_length_s
        # InfiniiVision: REFerence LEFT is one division (10 % of the record) from the left edge, and
        # POSition is the time from the trigger to that reference point
        d.timebase_position = round(LEFT_REFERENCE_FRACTION * record_length_s - pretrigger_s, 15)
        if full_scale_current_a is not None:
            range_v = full_scale_current_a * self.sense_resistance_ohm * 1.25
            channel = d.ch(self.channel)
            channel.probe_attenuation = 1
            channel.range = range_v
            channel.offset = 0.4 * range_v  # 0 A one division above the bottom of the screen
        d.trigger_mode = "EDGE"
        d.trigger_edge_source = "external"
        d.trigger_edge_level = trigger_level_v
        d.trigger_edge_slope = "positive"
        d.trigger_sweep = "normal"
        d.acquisition_type = "normal"

    def fetch(self, timeout_s: float = 10.0) -> Capture:
        """Wait (up to ``timeout_s``) for the armed capture to complete; return it in amperes."""
        if self._points is None:
            raise RuntimeError("scope: fetch() before arm(): nothing was captured")
        deadline = time.monotonic() + timeout_s
        while self.driver.capture_running:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"scope ({self.resource}): no trigger within {timeout_s:g} s; "
                    "is the pulse generator's sync cabled to EXT and triggered?"
                )
            time.sleep(self.POLL_S)
        transfer = (f"channel{self.channel}", self._points)
        if self._programmed is None or self._transfer != transfer:
            self._transfer = None
            self.driver.set_waveform_transfer(*transfer)
            self._transfer = transfer
        # else: source, record mode, points and format are as this role's last fetch of the same record left
        # them (only :stop, :SINGle and status queries sent since): a capture of the same train needs only the
        # preamble and the data (the six transfer settings, ~3k commands of a demo, re-sent the values set)
        try:
            t_s, volts, preamble = self.driver.fetch_waveform_volts()
        except BaseException:
            self._transfer = None
            raise
        self._points = None
        self._stopped = True
        return Capture(
            t_s=t_s,
            current_a=volts / self.sense_resistance_ohm,
            sense_resistance_ohm=self.sense_resistance_ohm,
            meta={"xincrement_s": preamble["xincrement"], "points": int(volts.size)},
        )

    def _off_steps(self) -> list[OffStep]:
        return []  # a scope has no output to turn off
