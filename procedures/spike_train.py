"""spike-train: the cell's firing response to a spike train from the pulse generator.

Each train is played as one triggered burst (a pulse train, or an uploaded arbitrary spike train);
the scope, triggered by the generator's sync output, captures the cell current through the sense
resistor; a firing event is the current rising through ``fire_current_A``. Per spike: the number of
events and the delay from the spike's leading edge to the first one; per train: the firing
probability (fraction of spikes with at least one event), the events and the rate (events per second
of train). Between trains the PCM conductance is read with the SMU (:mod:`procedures.library.read`). The
cell can first be programmed to one or several conductances (program-and-verify), several trains at
each, so that one run shows the firing response against the synaptic weight (intrinsic plasticity).

The conductance is read with the two-point ON-branch read (:mod:`procedures.library.read`): true from ~0.7 uS
up, NaN (with the reason) below.

The building blocks (:class:`~procedures.library.spikes.SpikeTrain`, :func:`~procedures.library.spikes.fire_train`,
:class:`~procedures.library.spikes.SpikeParametersMixin`, the per-device spike-amplitude calibration in
:mod:`procedures.library.calibration`) live in the procedure library, shared with learning-loop and pattern.
"""

from __future__ import annotations

import logging
import math

from pymeasure.experiment import BooleanParameter, FloatParameter, IntegerParameter, Parameter

from procedures import library as lib
from procedures.base import TspcmProcedure, duration_text

log = logging.getLogger(__name__)


class SpikeTrainProcedure(
    lib.SpikeParametersMixin, lib.ProgramParametersMixin, lib.ConductanceReadMixin, TspcmProcedure
):
    """Firing response to spike trains, with the conductance read between trains."""

    name = "spike-train"
    REQUIRED_ROLES = ("smu", "pulse", "scope")
    KEY_PARAMETERS = ("spike_amplitude_V", "spikes_per_train", "trains", "target_conductances_S")
    BENCH_LIMITS = {
        "spike_amplitude_V": ("pulse", "voltage"),
        "set_amplitude_V": ("pulse", "voltage"),
        "reset_amplitude_V": ("pulse", "voltage"),
    }
    DATA_COLUMNS = [
        "State",
        "Train",
        "Conductance (S)",
        "Firing probability",
        "Firing events",
        "Firing rate (Hz)",
        "Mean delay (s)",
        "Spikes",
        "Time (s)",
    ]
    VIEWS = (
        {
            "title": "Firing probability vs conductance",
            "x": "Conductance (S)",
            "y": "Firing probability",
            "series": "State",
            "log_x": True,
            "style": "points",
            "features": ["firing_probability_mean", "probability_spearman_rho"],
        },
        {"title": "Scope traces with detected events", "kind": "traces", "threshold_parameter": "fire_current_A"},
        {
            "title": "Firing rate vs conductance",
            "x": "Conductance (S)",
            "y": "Firing rate (Hz)",
            "series": "State",
            "log_x": True,
            "style": "points",
        },
    )

    trains = IntegerParameter("Trains per state", minimum=1, maximum=100_000, default=5)
    target_conductances_S = Parameter("Target conductances (S, comma-separated, empty = as found)", default="")
    read_every = IntegerParameter("Read the conductance every N trains", minimum=1, maximum=100_000, default=1)
    train_interval_s = FloatParameter("Wait between trains", units="s", minimum=0.0, maximum=1e4, default=1e-3)
    store_traces = BooleanParameter("Store captured traces", default=True)

    def check_relations(self) -> None:
        self.check_spike_parameters()
        lib.parse_conductances(self.target_conductances_S, "target_conductances_S")

    def estimate(self) -> list[tuple[str, str]]:
        states = len(lib.parse_conductances(self.target_conductances_S, "target_conductances_S")) or 1
        trains = states * self.trains
        least = trains * (self.spikes_per_train * self.spike_period_s + self.train_interval_s)
        return [
            ("Trains (rows)", f"{states} states x {self.trains} = {trains}"),
            ("Spikes", str(trains * self.spikes_per_train)),
            ("Time at least", duration_text(least)),
        ]

    def execute(self) -> None:
        targets = lib.parse_conductances(self.target_conductances_S, "target_conductances_S") or [math.nan]
        clock = self.bench.clock
        train = self.spike_train()
        total = len(targets) * self.trains
        done = 0
        for state, target in enumerate(targets):
            if math.isfinite(target):
                result = self.program(target)
                if result.stopped:
                    return
                log.info(
                    "state %d: programmed to %.3g S (target %.3g S, %s after %d pulses)",
                    state,
                    result.conductance_S,
                    target,
                    "converged" if result.converged else "NOT converged",
                    result.pulses,
                )
                if not result.converged:
                    log.warning(
                        "state %d: program-and-verify did not reach %.3g S within %.0f %% "
                        "(read %.3g S); the trains run at the state reached",
                        state,
                        target,
                        100 * self.program_tolerance,
                        result.conductance_S,
                    )
            configured = False
            for k in range(self.trains):
                if self.should_stop():
                    return
                g = self.read().conductance_S if k % self.read_every == 0 else math.nan
                t_start = clock.now_s()
                response = self.fire(train, configure=not configured)
                configured = True
                self.emit(
                    "results",
                    {
                        "State": state,
                        "Train": done,
                        "Conductance (S)": g,
                        "Firing probability": response.probability,
                        "Firing events": response.events,
                        "Firing rate (Hz)": response.rate_Hz,
                        "Mean delay (s)": response.mean_delay_s,
                        "Spikes": train.count,
                        "Time (s)": t_start,
                    },
                )
                if self.store_traces:
                    lib.emit_trace(self, f"state{state}_train{k}", response)
                done += 1
                self.report_progress(done, total)
                if self.train_interval_s > 0:
                    clock.wait(self.train_interval_s, self.should_stop)
