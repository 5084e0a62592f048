"""Agilent/Keysight 33500B (and 33521A) with spike-train upload, burst-of-arb play and sync control.

PyMeasure's ``Agilent33500`` can upload DAC codes and set burst parameters, but nothing turns
*sampled voltages* into an arbitrary waveform with the right amplitude and offset, the trigger
source is not per channel, and the sync output cannot be routed. After the 33500 Series
Operating and Service Guide (SCPI): DAC codes -32767..+32767 span the waveform's peak-to-peak
amplitude ``[SOURce[1|2]:]VOLTage`` around ``VOLTage:OFFSet``; ``DATA:ARBitrary:DAC <name>,
<codes>``, ``FUNCtion:ARBitrary <name>``, ``FUNCtion ARB``, ``FUNCtion:ARBitrary:SRATe``;
``TRIGger[1|2]:SOURce``; ``OUTPut:SYNC``, ``OUTPut:SYNC:SOURce CH1|CH2``; ``OUTPut[1|2]:LOAD``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pymeasure.instruments import Instrument
from pymeasure.instruments.agilent import Agilent33500
from pymeasure.instruments.agilent.agilent33500 import Agilent33500Channel
from pymeasure.instruments.validators import strict_discrete_set, strict_range

from ._attributes import ReservedNamesAsSet

#: full-scale DAC code of the 33500 series (16 bit, symmetric)
DAC_FULL_SCALE = 32767
#: arbitrary waveform length limits (points) without the memory option
ARB_POINTS = (8, 65536)
#: burst count limits of the 33500B series (BURSt:NCYCles, Operating and Service Guide)
BURST_CYCLES = (1, 100_000_000)


def _burst_ncycles_control(command_prefix: str) -> Any:
    """``burst_ncycles`` validated as a range: PyMeasure's passes ``range(1, 100000)`` to ``strict_range``,
    whose min()/max() walk the whole range on every set (~5 ms a set)."""
    return Instrument.control(
        f"{command_prefix}BURS:NCYC?",
        f"{command_prefix}BURS:NCYC %d",
        f"""Control the number of cycles output when a burst is triggered (int, {BURST_CYCLES[0]} to
        {BURST_CYCLES[1]:,}).""",
        validator=strict_range,
        values=BURST_CYCLES,
        cast=lambda v: int(float(v)),
        dynamic=True,
    )


@dataclass(frozen=True)
class ArbScaling:
    """How sampled voltages map onto DAC codes: v = offset_v + code / full_scale * amplitude_vpp / 2."""

    codes: np.ndarray
    amplitude_vpp: float
    offset_v: float


def scale_to_dac(samples_v: Sequence[float] | np.ndarray, full_scale: int) -> ArbScaling:
    """DAC codes, peak-to-peak amplitude (V) and offset (V) reproducing ``samples_v`` (V).

    The waveform's extremes map to -full_scale and +full_scale, so the DAC's full resolution is
    used. A constant waveform has no amplitude and is refused.
    """
    samples = np.asarray(samples_v, dtype=float)
    if samples.ndim != 1 or samples.size == 0 or not np.all(np.isfinite(samples)):
        raise ValueError("samples_v must be a non-empty 1-D sequence of finite voltages")
    v_min, v_max = float(samples.min()), float(samples.max())
    if v_max == v_min:
        raise ValueError(f"samples_v is constant ({v_min:g} V): an arbitrary waveform needs some amplitude")
    amplitude = v_max - v_min
    offset = (v_max + v_min) / 2
    codes = np.round((samples - offset) / (amplitude / 2) * full_scale).astype(int)
    return ArbScaling(np.clip(codes, -full_scale, full_scale), amplitude, offset)


class Agilent33500ExtChannel(ReservedNamesAsSet, Agilent33500Channel):
    """A 33500 channel with per-channel trigger source and sampled-voltage arb upload."""

    burst_ncycles = _burst_ncycles_control("SOUR{ch}:")

    trigger_source = Instrument.control(
        "TRIG{ch}:SOUR?",
        "TRIG{ch}:SOUR %s",
        """Control this channel's trigger source: 'IMM', 'EXT', 'TIM' or 'BUS'.""",
        validator=strict_discrete_set,
        values=("IMM", "EXT", "TIM", "BUS"),
    )

    arb_points = Instrument.measurement(
        "SOUR{ch}:FUNC:ARB:POIN?",
        """Get the number of points of the selected arbitrary waveform (int).""",
        cast=int,
    )

    def upload_arb_volts(
        self, name: str, samples_v: Sequence[float] | np.ndarray, sample_interval_s: float
    ) -> ArbScaling:
        """Upload sampled voltages (V) as arbitrary waveform ``name`` and select it for playing.

        Clears the channel's volatile waveform memory first (a name that already exists is an
        error on the instrument), then sets sample rate, amplitude (Vpp) and offset so that the
        output reproduces ``samples_v`` one sample every ``sample_interval_s``.
        """
        if not name.isidentifier() or len(name) > 12:
            raise ValueError(f"name {name!r}: use up to 12 letters, digits or underscores, starting with a letter")
        samples = np.asarray(samples_v, dtype=float)
        if not ARB_POINTS[0] <= samples.size <= ARB_POINTS[1]:
            raise ValueError(
                f"samples_v: the 33500 plays {ARB_POINTS[0]} to {ARB_POINTS[1]} points, got {samples.size}"
            )
        if not sample_interval_s > 0:
            raise ValueError(f"sample_interval_s must be > 0 s, got {sample_interval_s!r}")
        scaling = scale_to_dac(samples, DAC_FULL_SCALE)
        self.data_volatile_clear()
        self.data_arb(name, scaling.codes.tolist(), data_format="DAC")
        self.arb_file = name
        self.shape = "ARB"
        self.arb_srate = 1.0 / sample_interval_s
        self.arb_filter = "OFF"
        self.amplitude = scaling.amplitude_vpp
        self.offset = scaling.offset_v
        return scaling


class Agilent33500Ext(ReservedNamesAsSet, Agilent33500):
    """33500B-series function/arbitrary waveform generator (two channels) with the extensions."""

    burst_ncycles = _burst_ncycles_control("")

    ch_1 = Instrument.ChannelCreator(Agilent33500ExtChannel, 1)
    ch_2 = Instrument.ChannelCreator(Agilent33500ExtChannel, 2)

    sync_enabled = Instrument.control(
        "OUTP:SYNC?",
        "OUTP:SYNC %d",
        """Control whether the rear/front Sync output is on (bool).""",
        validator=strict_discrete_set,
        values={True: 1, False: 0},
        map_values=True,
    )

    sync_source = Instrument.control(
        "OUTP:SYNC:SOUR?",
        "OUTP:SYNC:SOUR %s",
        """Control which channel the Sync output follows: 'CH1' or 'CH2'.""",
        validator=strict_discrete_set,
        values=("CH1", "CH2"),
    )

    def abort(self) -> None:
        """Stop a burst or sweep in progress (``ABORt``)."""
        self.write("ABOR")


class Agilent33521AExt(Agilent33500Ext):
    """33521A: single-channel member of the family; same commands on channel 1."""

    ch_2 = None

    def __init__(
        self, adapter: Any, name: str = "Agilent 33521A Function/Arbitrary Waveform generator", **kwargs: Any
    ) -> None:
        super().__init__(adapter, name=name, **kwargs)
