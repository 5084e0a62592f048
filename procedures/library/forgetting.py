"""Train, forget by a partial RESET, retrain: what learning-loop and pattern share
(:class:`TrainForgetRetrainMixin`): the parameter mixins they both use, the forget parameters, their
check against the spikes and the bench limits of every pulse such a run plays."""

from __future__ import annotations

from typing import ClassVar

from pymeasure.experiment import FloatParameter

from procedures.library.calibration import SpikeCalibrationMixin
from procedures.library.errors import ParameterError
from procedures.library.program import ProgramParametersMixin
from procedures.library.pulses import RESET_WIDTH_S
from procedures.library.read import ConductanceReadMixin
from procedures.library.spikes import SpikeParametersMixin


class TrainForgetRetrainMixin(
    SpikeCalibrationMixin, SpikeParametersMixin, ProgramParametersMixin, ConductanceReadMixin
):
    """Spikes (calibrated per device), SET/RESET programming, the conductance read, and forgetting.

    Put it before TspcmProcedure. A partial RESET (``forget_amplitude_V`` x ``forget_width_s`` on the
    pulse generator) makes a trained cell forget: it re-melts a dome smaller than a full RESET's
    (procedures.library.RESET_AMPLITUDE_V), so crystalline volume is left to relearn from."""

    #: every pulse of a train-forget-retrain run: spikes (up to the calibration's top), SET/RESET, forget
    BENCH_LIMITS: ClassVar[dict[str, tuple[str, str]]] = {
        "spike_amplitude_V": ("pulse", "voltage"),
        "set_amplitude_V": ("pulse", "voltage"),
        "reset_amplitude_V": ("pulse", "voltage"),
        "forget_amplitude_V": ("pulse", "voltage"),
        "calibration_stop_V": ("pulse", "voltage"),
    }

    forget_amplitude_V = FloatParameter(
        "Forget (partial RESET) amplitude", units="V", minimum=0.1, maximum=10.0, default=2.15
    )
    forget_width_s = FloatParameter(
        "Forget (partial RESET) width", units="s", minimum=16e-9, maximum=1e-3, default=RESET_WIDTH_S
    )

    def check_forget_amplitude(self) -> None:
        """The partial RESET must be above every spike of the run, or a spike could reset the cell too."""
        top = self.highest_spike_amplitude_V()
        if self.forget_amplitude_V <= top:
            what = (
                "the highest calibration amplitude (calibration_stop_V + calibration_margin_V"
                if self.calibrating
                else "the spike amplitude (spike_amplitude_V"
            )
            raise ParameterError(
                "forget_amplitude_V",
                f"a partial RESET must be above {what} = {top:g} V), got {self.forget_amplitude_V:g} V",
            )
