"""Keysight 81160A with sampled-voltage user-waveform upload (81150A/81160A Programming Guide).

PyMeasure's ``waveform_volatile`` scales every waveform to its own maximum and sends binary codes,
so the absolute levels are lost. A spike train needs them: DAC codes -8191..+8191 span the
peak-to-peak amplitude ``:VOLTage[1|2]`` around ``:VOLTage[1|2]:OFFSet``; the whole user waveform
plays at ``:FREQuency[1|2]`` = 1 / (points x sample interval). Commands: ``:DATA[1|2]:DAC
VOLATILE, <codes>``, ``:FUNCtion[1|2]:USER VOLATILE``, ``:FUNCtion[1|2] USER``; triggered bursts
with ``:ARM:SOURce[1|2] MANual`` and ``:TRIGger[1|2]:COUNt <n>``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.keysight import Keysight81160A
from pymeasure.instruments.keysight.keysight81160A import MAX_DAC_VALUE, Keysight81160AChannel

from ._attributes import ReservedNamesAsSet
from ._format import scpi_number
from .agilent33500 import ArbScaling, scale_to_dac

USER_POINTS = (2, 524288)


class Keysight81160AExtChannel(ReservedNamesAsSet, Keysight81160AChannel):
    """An 81160A channel with absolute-level user waveforms."""

    user_waveform = Instrument.control(
        ":FUNC{ch}:USER?",
        ":FUNC{ch}:USER %s",
        """Control which user waveform the USER shape plays (str, e.g. 'VOLATILE').""",
    )

    def upload_user_volts(self, samples_v: Sequence[float] | np.ndarray, sample_interval_s: float) -> ArbScaling:
        """Upload sampled voltages (V) to volatile memory and select them as the USER waveform."""
        samples = np.asarray(samples_v, dtype=float)
        if not USER_POINTS[0] <= samples.size <= USER_POINTS[1]:
            raise ValueError(
                f"samples_v: the 81160A plays {USER_POINTS[0]} to {USER_POINTS[1]} points, got {samples.size}"
            )
        if not sample_interval_s > 0:
            raise ValueError(f"sample_interval_s must be > 0 s, got {sample_interval_s!r}")
        scaling = scale_to_dac(samples, MAX_DAC_VALUE)
        codes = ", ".join(str(c) for c in scaling.codes.tolist())
        self.write(f":DATA{{ch}}:DAC VOLATILE, {codes}")
        self.user_waveform = "VOLATILE"
        self.shape = "USER"
        self.write(f":FREQ{{ch}} {scpi_number(1.0 / (samples.size * sample_interval_s))}")
        self.amplitude = scaling.amplitude_vpp
        self.offset = scaling.offset_v
        return scaling


class Keysight81160AExt(ReservedNamesAsSet, Keysight81160A):
    """Keysight 81160A pulse/function/arbitrary generator with the extensions."""

    ch_1 = Instrument.ChannelCreator(Keysight81160AExtChannel, 1)
    ch_2 = Instrument.ChannelCreator(Keysight81160AExtChannel, 2)
