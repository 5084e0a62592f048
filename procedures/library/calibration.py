"""The per-device spike-amplitude calibration: the ladder (:func:`calibrate_amplitude`), the confirmation
(:func:`confirm_amplitude`) and the procedure parameters for it (:class:`SpikeCalibrationMixin`)."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, cast

import numpy as np
from pymeasure.experiment import FloatParameter, IntegerParameter

from instruments.clock import StopCheck
from procedures.library.errors import ParameterError
from procedures.library.parameters import ParameterGroups
from procedures.library.spikes import Emitter, SpikeTrain, TrainResponse, capture_interval_s, check_spike_train

log = logging.getLogger(__name__)


@dataclass
class Calibration:
    """The spike-amplitude calibration of one cell: the ladder (:func:`calibrate_amplitude`), then the
    confirmation at the operating amplitude (:func:`confirm_amplitude`), every train in the order played."""

    amplitude_V: float  #: lowest ladder amplitude that met the criterion (V); NaN when none up to the stop
    spikes: int  #: spikes per ladder train
    min_fires: int  #: spikes of a ladder train that had to fire
    amplitudes_V: list[float] = field(default_factory=list)  #: every amplitude played, in order (V)
    fired: list[int] = field(default_factory=list)  #: spikes that fired in each train
    played: list[int] = field(default_factory=list)  #: spikes in each train
    operating_V: float = math.nan  #: the spike amplitude to use (V); NaN when none was confirmed
    stopped: bool = False  #: the stop check asked to stop

    @property
    def found(self) -> bool:
        return math.isfinite(self.amplitude_V)

    @property
    def confirmed(self) -> bool:
        return math.isfinite(self.operating_V)

    def record(self, amplitude_V: float, fired: int, played: int) -> None:
        self.amplitudes_V.append(float(amplitude_V))
        self.fired.append(int(fired))
        self.played.append(int(played))


def amplitude_ladder(start_v: float, stop_v: float, step_v: float) -> list[float]:
    """start, start + step, ... up to stop (V), rounded to 1 uV so that the values read back cleanly."""
    n = int(math.floor((stop_v - start_v) / step_v + 1e-9))
    return [round(start_v + k * step_v, 6) for k in range(max(n, 0) + 1)]


def calibrate_amplitude(
    fired_spikes: Callable[[float], int],
    *,
    start_v: float,
    stop_v: float,
    step_v: float,
    coarse_steps: int = 5,
    spikes: int = 20,
    min_fires: int = 2,
    trains: int = 1,
    should_stop: StopCheck = None,
) -> Calibration:
    """The lowest spike amplitude (V, to ``step_v``) at which a calibration train makes the cell fire on
    at least ``min_fires`` of its ``spikes`` spikes: "near threshold" for this device.

    ``fired_spikes(amplitude_V)`` plays one calibration train and returns the spikes that fired. The
    ladder goes as an experimenter's would, coarse (``coarse_steps`` steps at a time from ``start_v`` to
    ``stop_v``), then fine (one step at a time from just above the last coarse amplitude that did not
    fire, or below ``start_v`` when that one already fired): few trains, and the few firings on the way
    barely change the PCM. An amplitude passes when each of ``trains`` trains there meets the criterion.
    The result's ``operating_V`` is the amplitude found (see :func:`confirm_amplitude` for more)."""
    result = Calibration(math.nan, int(spikes), int(min_fires))

    def enough(amplitude: float) -> bool | None:
        for _ in range(max(int(trains), 1)):
            if should_stop is not None and should_stop():
                result.stopped = True
                return None
            n = int(fired_spikes(amplitude))
            result.record(amplitude, n, spikes)
            if n < min_fires:
                return False
        return True

    coarse = coarse_steps * step_v
    below = start_v - coarse
    for amplitude in amplitude_ladder(start_v, stop_v, coarse):
        hit = enough(amplitude)
        if hit is None:
            return result
        if hit:
            for fine in amplitude_ladder(max(below + step_v, step_v), amplitude - step_v, step_v):
                hit_fine = enough(fine)
                if hit_fine is None:
                    return result
                if hit_fine:
                    result.amplitude_V = result.operating_V = fine
                    return result
            result.amplitude_V = result.operating_V = amplitude
            return result
        below = amplitude
    return result


def confirm_amplitude(
    calibration: Calibration,
    play: Callable[[float, int], int],
    *,
    start_v: float,
    stop_v: float,
    step_v: float,
    spikes: int,
    min_fraction: float,
    should_stop: StopCheck = None,
) -> Calibration:
    """From ``start_v`` up in ``step_v`` steps to ``stop_v``: one train of ``spikes`` spikes
    (``play(amplitude_V, spikes)`` returns the spikes that fired) until one fires on at least
    ``min_fraction`` of them; that amplitude becomes ``calibration.operating_V`` (NaN: none).

    Why: a blank cell has a tail of rare firings (~5 % of spikes) some 50 mV below the steep rise of
    its firing probability, where a 20-spike train passes ">= 2 fired" by luck about one time in four;
    a longer train at the operating amplitude tells 5 % from 10 % far better (40 spikes, >= 4 fired:
    passed at 5 % one time in seven, at 20 % nineteen times in twenty)."""
    calibration.operating_V = math.nan
    need = max(int(math.ceil(min_fraction * spikes - 1e-9)), 1)
    for amplitude in amplitude_ladder(start_v, stop_v, step_v):
        if should_stop is not None and should_stop():
            calibration.stopped = True
            return calibration
        n = int(play(amplitude, spikes))
        calibration.record(amplitude, n, spikes)
        if n >= need:
            calibration.operating_V = amplitude
            return calibration
    return calibration


def emit_calibration(procedure: Emitter, calibration: Calibration, name: str = "calibration") -> None:
    """Store the calibration as a waveform: fraction of the spikes that fired against amplitude (V),
    every train in the order played (ladder, then confirmation)."""
    fraction = np.asarray(calibration.fired, dtype=float) / np.maximum(np.asarray(calibration.played, float), 1)
    procedure.emit(
        "waveform",
        {
            "name": name,
            "y": fraction,
            "x": np.asarray(calibration.amplitudes_V, dtype=float),
            "y_label": "Fraction of spikes fired",
            "x_label": "Spike amplitude (V)",
        },
    )


class SpikeCalibrationMixin:
    """``spike_amplitude_V = 0`` (the default): calibrate the amplitude on the device first, with trains
    of the run's own spikes, and use it for the whole run. Put it before SpikeParametersMixin. The
    amplitude used goes into the rows (``Spike amplitude (V)``), every calibration train into a waveform
    (``calibration``: fraction fired against amplitude).

    1. The ladder (:func:`calibrate_amplitude`): trains of ``calibration_spikes`` spikes from
       ``calibration_start_V`` up, ``calibration_coarse_steps`` x ``calibration_step_V`` at a time, then
       fine steps, to the lowest amplitude where >= ``calibration_min_fires`` spikes fire.
    2. The operating amplitude (:func:`confirm_amplitude`): from that amplitude + ``calibration_margin_V``
       up in fine steps, the first where a ``calibration_confirm_spikes`` spike train fires on at least
       the same fraction; 0 spikes = no confirmation.

    Why: near-threshold spikes are what makes the learning loop a loop (a spike that always fires
    saturates at once, one that never fires teaches nothing), and the threshold of a RESET cell varies
    from device to device more than the window in which the loop works; a short train cannot tell the
    rare-firing tail below the threshold from the threshold itself (see :func:`confirm_amplitude`), and a
    firing at the tail's amplitude does not heat the PCM into its crystallization window, hence the
    margin. docs/procedures.md gives the figures over many simulated devices (a script makes them)."""

    PARAMETER_GROUPS: ClassVar[ParameterGroups] = (
        ("Spikes", ("spike_amplitude_V",), False),
        ("Amplitude calibration", "*", True),
    )

    spike_amplitude_V = FloatParameter(
        "Spike amplitude (0 = calibrate on the device)", units="V", minimum=0.0, maximum=10.0, default=0.0
    )
    calibration_start_V = FloatParameter(
        "Calibration first amplitude", units="V", minimum=0.1, maximum=10.0, default=1.3
    )
    calibration_stop_V = FloatParameter(
        "Calibration last amplitude", units="V", minimum=0.1, maximum=10.0, default=1.85
    )
    calibration_step_V = FloatParameter("Calibration fine step", units="V", minimum=0.001, maximum=1.0, default=0.01)
    calibration_coarse_steps = IntegerParameter(
        "Calibration fine steps per coarse step", minimum=1, maximum=100, default=5
    )
    calibration_spikes = IntegerParameter("Calibration spikes per train", minimum=1, maximum=10_000, default=20)
    calibration_min_fires = IntegerParameter("Calibration spikes that must fire", minimum=1, maximum=10_000, default=2)
    calibration_margin_V = FloatParameter(
        "Calibration margin added to the amplitude found", units="V", minimum=0.0, maximum=1.0, default=0.05
    )
    calibration_confirm_spikes = IntegerParameter(
        "Calibration confirmation spikes (0 = none)", minimum=0, maximum=10_000, default=40
    )

    if TYPE_CHECKING:  # given by the procedure this mixes into (SpikeParametersMixin, TspcmProcedure)
        capture_interval_s: float
        spike_train: Callable[[], SpikeTrain]
        fire: Callable[..., TrainResponse]
        should_stop: Callable[[], bool]
        emit: Callable[[str, Any], None]

    @property
    def calibrating(self) -> bool:
        return cast(bool, self.spike_amplitude_V == 0)

    def highest_spike_amplitude_V(self) -> float:
        """The largest amplitude a spike of this run can have (V)."""
        return cast(
            float, self.calibration_stop_V + self.calibration_margin_V if self.calibrating else self.spike_amplitude_V
        )

    def check_calibration(self) -> None:
        """Relations of the calibration parameters (ParameterError naming the parameter)."""
        if 0 < self.spike_amplitude_V < 0.1:
            raise ParameterError(
                "spike_amplitude_V", f"must be 0 (calibrate) or from 0.1 V to 10 V, got {self.spike_amplitude_V:g} V"
            )
        if not self.calibrating:
            return
        if self.calibration_stop_V <= self.calibration_start_V:
            raise ParameterError(
                "calibration_stop_V",
                f"must be above calibration_start_V "
                f"({self.calibration_start_V:g} V), got {self.calibration_stop_V:g} V",
            )
        if self.calibration_min_fires > self.calibration_spikes:
            raise ParameterError(
                "calibration_min_fires",
                f"must be at most calibration_spikes ({self.calibration_spikes}), got {self.calibration_min_fires}",
            )
        for key in ("calibration_spikes", "calibration_confirm_spikes"):
            spikes = int(getattr(self, key))
            if spikes == 0:
                continue
            train = self.calibration_train(self.calibration_start_V, spikes)
            try:
                check_spike_train(train)
                capture_interval_s(train, self.capture_interval_s, train.period_s)
            except ValueError as exc:
                raise ParameterError(key, f"{exc}; allowed: fewer spikes") from None

    def calibration_train(self, amplitude_V: float, spikes: int | None = None) -> SpikeTrain:
        t = self.spike_train()
        return replace(t, amplitude_V=amplitude_V, count=int(self.calibration_spikes if spikes is None else spikes))

    def calibrate(self, play: Callable[[float, int], int] | None = None, *, name: str = "calibration") -> Calibration:
        """Calibrate (ladder, then confirmation) and store every train (waveform ``name``).
        ``play(amplitude_V, spikes)`` plays one train and returns the spikes that fired (default: on the
        connected cell)."""
        if play is None:

            def play(amplitude_V: float, spikes: int) -> int:
                return int(np.count_nonzero(self.fire(self.calibration_train(amplitude_V, spikes)).fired))

        spikes = int(self.calibration_spikes)
        result = calibrate_amplitude(
            lambda amplitude_V: play(amplitude_V, spikes),
            start_v=self.calibration_start_V,
            stop_v=self.calibration_stop_V,
            step_v=self.calibration_step_V,
            coarse_steps=int(self.calibration_coarse_steps),
            spikes=spikes,
            min_fires=int(self.calibration_min_fires),
            should_stop=self.should_stop,
        )
        if result.found and not result.stopped:
            start = round(result.amplitude_V + self.calibration_margin_V, 6)
            if self.calibration_confirm_spikes > 0:
                confirm_amplitude(
                    result,
                    play,
                    start_v=start,
                    stop_v=self.highest_spike_amplitude_V(),
                    step_v=self.calibration_step_V,
                    spikes=int(self.calibration_confirm_spikes),
                    min_fraction=self.calibration_min_fires / spikes,
                    should_stop=self.should_stop,
                )
            else:
                result.operating_V = start
        if not result.stopped:
            emit_calibration(self, result, name)
            log.info(
                "%s: ladder %s V, spikes at %s V (%d trains)",
                name,
                f"{result.amplitude_V:.3f}",
                f"{result.operating_V:.3f}",
                len(result.fired),
            )
        return result

    def calibration_failed_text(self) -> str:
        return (
            f"calibration: no spike amplitude from {self.calibration_start_V:g} V to "
            f"{self.highest_spike_amplitude_V():g} V made the cell fire on {self.calibration_min_fires} of "
            f"{self.calibration_spikes} spikes (and, with calibration_confirm_spikes, on the same fraction of "
            f"a longer train): raise calibration_stop_V, or give spike_amplitude_V"
        )
