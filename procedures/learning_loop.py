"""learning-loop: the positive-feedback loop of one TS-PCM cell, trained, forgotten and retrained.

Calibration (``spike_amplitude_V = 0``, the default; procedures.library.SpikeCalibrationMixin): after a full
RESET, a ladder of short spike trains finds the lowest amplitude at which this device fires on >= 2 of
20 spikes, then from 30 mV above it the first amplitude where a 40-spike train fires on >= 10 % is
confirmed; then a full RESET again, so that training starts from a blank cell. Training: trains of
``spikes_per_train`` spikes at that amplitude until the firing probability within one train reaches
``criterion_probability``; the conductance is read after every train. Each firing pushes current
through the PCM and crystallizes a little of it, which lowers the cell threshold and makes the next
firing likelier: training accelerates itself. Forgetting: a partial
RESET (``forget_amplitude_V`` x ``forget_width_s`` on the pulse generator, 2.35 V x 50 ns: it melts and
quenches only part of the trained volume, so crystalline volume is left; a full RESET, >= 2.5 V, would
leave little to relearn from) or a wait. Retraining: the same trains until the same criterion. Pulses
to criterion both times, and the savings (N_first - N_retrain) / N_first, are logged and recomputed by
the analysis from the rows; after a first training that did not reach the criterion (its trains ran out) the
second training continues it: no retraining count, no savings (the analysis' first_reached is 0).

The conductance is read with the two-point ON-branch read (:mod:`procedures.library.read`).

Rows (docs/analysis.md): ``Stage`` (0 first training, 1 retraining), ``Train`` (from 1 within the
stage; 0 = the read at the start of the stage, no spikes), ``Pulse`` (spikes so far within the
stage), ``Firing probability`` (of that train; NaN on the start row), ``Conductance (S)`` (read after
the train), ``Firing events``, ``Spike amplitude (V)`` (the amplitude used, calibrated or given),
``Time (s)``. Waveform ``calibration``: spikes fired against amplitude, in the order played.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter, ListParameter

from procedures import library as lib
from procedures.base import ParameterError, TspcmProcedure, duration_text

log = logging.getLogger(__name__)

STAGE_FIRST, STAGE_RETRAIN = 0, 1


#: share of the progress bar for the amplitude calibration (the training's length is unknown ahead)
CALIBRATION_SHARE = 0.2


class LearningLoopProcedure(lib.TrainForgetRetrainMixin, TspcmProcedure):
    """Train to a firing criterion, forget, retrain; pulses to criterion and savings."""

    name = "learning-loop"
    REQUIRED_ROLES = ("smu", "pulse", "scope")
    KEY_PARAMETERS = ("spike_amplitude_V", "criterion_probability", "forget_mode", "forget_amplitude_V")
    DATA_COLUMNS = [
        "Stage",
        "Train",
        "Pulse",
        "Firing probability",
        "Conductance (S)",
        "Firing events",
        "Spike amplitude (V)",
        "Time (s)",
    ]
    VIEWS = (
        {
            "title": "Learning curve: firing probability vs pulses",
            "x": "Pulse",
            "y": "Firing probability",
            "series": "Stage",
            "labels": {"0": "first training", "1": "retraining"},
            "x_cumulative": True,
            "events": "Stage",
            "style": "both",
            "hlines": ["criterion_probability"],
            "features": ["first_reached", "pulses_first", "pulses_retrain", "savings"],
        },
        {
            "title": "Conductance during learning",
            "x": "Pulse",
            "y": "Conductance (S)",
            "series": "Stage",
            "labels": {"0": "first training", "1": "retraining"},
            "x_cumulative": True,
            "events": "Stage",
            "log_y": True,
            "style": "both",
        },
    )

    spike_period_s = FloatParameter("Spike period", units="s", minimum=50e-9, maximum=1.0, default=2e-6)
    # short trains: the criterion is met within a few trains (a RESET cell learns to fire within tens of firings)
    spikes_per_train = IntegerParameter("Spikes per train", minimum=1, maximum=10_000, default=5)
    criterion_probability = FloatParameter("Criterion firing probability", minimum=0.01, maximum=1.0, default=0.9)
    max_trains = IntegerParameter("Max trains per training", minimum=1, maximum=100_000, default=80)
    initial_reset = BooleanParameter("Full RESET before the first training", default=True)
    initial_conductance_S = FloatParameter(
        "Program to this conductance first (0 = no)", units="S", minimum=0.0, maximum=1e-2, default=0.0
    )
    forget_mode = ListParameter("Forget by", choices=["reset", "wait"], default="reset")
    forget_wait_s = FloatParameter("Forget wait", units="s", minimum=0.0, maximum=1e7, default=1e3)
    train_interval_s = FloatParameter("Wait between trains", units="s", minimum=0.0, maximum=1e4, default=1e-3)
    store_traces = BooleanParameter("Store captured traces", default=False)

    #: the spike amplitude of this run (V): spike_amplitude_V, or the calibrated one
    amplitude_V: float = math.nan

    def check_relations(self) -> None:
        self.check_spike_parameters()
        if self.initial_conductance_S and not self.initial_conductance_S >= 1e-7:
            raise ParameterError(
                "initial_conductance_S",
                f"must be 0 (no programming) or from 1e-07 S to 0.01 S, got {self.initial_conductance_S:g} S",
            )
        self.check_calibration()
        if self.forget_mode == "reset":
            self.check_forget_amplitude()

    # ------------------------------------------------------------------ steps
    def _row(
        self, stage: int, train: int, pulses: int, probability: float, g: float, events: float, t_s: float
    ) -> None:
        self.emit(
            "results",
            {
                "Stage": stage,
                "Train": train,
                "Pulse": pulses,
                "Firing probability": probability,
                "Conductance (S)": g,
                "Firing events": events,
                "Spike amplitude (V)": self.amplitude_V,
                "Time (s)": t_s,
            },
        )

    def train_to_criterion(self, stage: int, clock, phase: tuple[float, float]) -> float | None:
        """Trains until the criterion; returns the pulses to criterion (NaN: not reached) or None
        when asked to stop. Progress over ``phase`` (start, end): the trains used of max_trains, or
        the firing probability reached of the criterion, whichever is further."""
        train = replace(self.spike_train(), amplitude_V=self.amplitude_V)
        g0 = self.read().conductance_S
        self._row(stage, 0, 0, math.nan, g0, math.nan, clock.now_s())
        pulses, g = 0, g0
        for k in range(1, self.max_trains + 1):
            if self.should_stop():
                return None
            t_start = clock.now_s()
            response = self.fire(train, configure=(k == 1))
            pulses += train.count
            g = self.read().conductance_S
            self._row(stage, k, pulses, response.probability, g, response.events, t_start)
            if self.store_traces:
                lib.emit_trace(self, f"stage{stage}_train{k}", response)
            self.report_phase(*phase, max(k / self.max_trains, response.probability / self.criterion_probability))
            if response.probability >= self.criterion_probability:
                log.info(
                    "stage %d: criterion (firing probability %.2f >= %.2f) after %d trains, %d pulses; "
                    "G %.3g S -> %.3g S",
                    stage,
                    response.probability,
                    self.criterion_probability,
                    k,
                    pulses,
                    g0,
                    g,
                )
                return float(pulses)
            if self.train_interval_s > 0:
                clock.wait(self.train_interval_s, self.should_stop)
        log.warning(
            "stage %d: criterion (firing probability >= %.2f) not reached in %d trains (%d pulses); G %.3g S -> %.3g S",
            stage,
            self.criterion_probability,
            self.max_trains,
            pulses,
            g0,
            g,
        )
        return math.nan

    def forget(self, clock) -> None:
        if self.forget_mode == "reset":
            lib.reset_pulse(self.bench, self.forget_amplitude_V, self.forget_width_s)
        else:
            clock.wait(self.forget_wait_s, self.should_stop)

    def full_reset(self) -> None:
        lib.reset_pulse(self.bench, self.reset_amplitude_V, self.reset_width_s)

    def estimate(self) -> list[tuple[str, str]]:
        out = [
            ("Trains", f"up to {self.max_trains} per training, two trainings (each ends at the criterion)"),
            ("Spikes per train", str(self.spikes_per_train)),
        ]
        if self.calibrating:
            out.append(("First", "the spike amplitude is calibrated on the device"))
        if self.forget_mode == "wait":
            out.append(("Forgetting", f"waits {duration_text(self.forget_wait_s)}"))
        return out

    def execute(self) -> None:
        clock = self.bench.clock
        self.amplitude_V = self.spike_amplitude_V
        if self.initial_reset:
            self.full_reset()
        if self.calibrating:
            calibration = self.calibrate()
            if calibration.stopped:
                return
            if not calibration.confirmed:
                raise RuntimeError(self.calibration_failed_text())
            self.amplitude_V = calibration.operating_V
            self.report_phase(0.0, CALIBRATION_SHARE, 1.0)
            if self.initial_reset:
                self.full_reset()  # the calibration's few firings leave a trace: start training blank
        if self.initial_conductance_S > 0:
            result = self.program(self.initial_conductance_S)
            if result.stopped:
                return
            if not result.converged:
                log.warning(
                    "initial state: %.3g S read, target %.3g S not reached",
                    result.conductance_S,
                    self.initial_conductance_S,
                )
        first = CALIBRATION_SHARE if self.calibrating else 0.0
        n_first = self.train_to_criterion(STAGE_FIRST, clock, (first, first + (1 - first) * 0.6))
        if n_first is None or self.should_stop():
            return
        self.forget(clock)
        if self.should_stop():
            return
        n_retrain = self.train_to_criterion(STAGE_RETRAIN, clock, (first + (1 - first) * 0.6, 1.0))
        if n_retrain is None:
            return
        self.report_progress(1, 1)
        if math.isnan(n_first):  # the analysis reports no retraining count or savings then (first_reached 0)
            log.warning(
                "spike amplitude %.3f V; the first training did not reach the criterion: the second training "
                "(criterion after %s pulses) continued it, no retraining, no savings",
                self.amplitude_V,
                n_retrain,
            )
            return
        log.info(
            "spike amplitude %.3f V; pulses to criterion: first %s, retraining %s; savings %.3f",
            self.amplitude_V,
            n_first,
            n_retrain,
            lib.savings_or_nan(n_first, n_retrain),
        )
